//! Stored Pulse Reports: the latest one answers a repeated `/pulse-report`.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::DbError;
use crate::ids::Snowflake;

/// A report as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredReport {
    pub guild_id: Snowflake,
    pub report_id: i64,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub provider: String,
    pub model: String,
    pub prompt_version: i32,
    pub generated_at: DateTime<Utc>,
    pub shown: serde_json::Value,
    pub tokens_in: i32,
    pub tokens_out: i32,
}

/// A report to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReport {
    pub guild_id: Snowflake,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub provider: String,
    pub model: String,
    pub prompt_version: i32,
    pub generated_at: DateTime<Utc>,
    pub shown: serde_json::Value,
    /// Tokens the provider counted for this report (0 for a built-in one).
    pub tokens_in: i32,
    pub tokens_out: i32,
}

/// Stores a generated report; returns its id.
pub async fn save<'e>(executor: impl PgExecutor<'e>, report: &NewReport) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "insert into pulse_reports (guild_id, period_start, period_end, provider, model,
                                    prompt_version, generated_at, shown, tokens_in, tokens_out)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         returning report_id",
    )
    .bind(report.guild_id)
    .bind(report.period_start)
    .bind(report.period_end)
    .bind(&report.provider)
    .bind(&report.model)
    .bind(report.prompt_version)
    .bind(report.generated_at)
    .bind(&report.shown)
    .bind(report.tokens_in)
    .bind(report.tokens_out)
    .fetch_one(executor)
    .await?)
}

/// The guild's most recently generated report.
pub async fn latest<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<Option<StoredReport>, DbError> {
    Ok(sqlx::query_as(
        "select guild_id, report_id, period_start, period_end, provider, model, prompt_version,
                generated_at, shown, tokens_in, tokens_out
         from pulse_reports where guild_id = $1 order by generated_at desc, report_id desc limit 1",
    )
    .bind(guild_id)
    .fetch_optional(executor)
    .await?)
}

/// What makes two reports the same: a report stored for this key is
/// reused instead of asking the provider again (kept 180 days, as every
/// stored report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey<'a> {
    pub guild_id: Snowflake,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub provider: &'a str,
    pub model: &'a str,
    pub prompt_version: i32,
}

/// The latest report stored for `key`.
pub async fn cached<'e>(
    executor: impl PgExecutor<'e>,
    key: &CacheKey<'_>,
) -> Result<Option<StoredReport>, DbError> {
    Ok(sqlx::query_as(
        "select guild_id, report_id, period_start, period_end, provider, model, prompt_version,
                generated_at, shown, tokens_in, tokens_out
         from pulse_reports
         where guild_id = $1 and period_start = $2 and period_end = $3 and provider = $4
           and model = $5 and prompt_version = $6
         order by generated_at desc limit 1",
    )
    .bind(key.guild_id)
    .bind(key.period_start)
    .bind(key.period_end)
    .bind(key.provider)
    .bind(key.model)
    .bind(key.prompt_version)
    .fetch_optional(executor)
    .await?)
}
