//! Daily totals (`member_daily`, and per channel `message_daily`,
//! `reaction_daily`, `voice_daily`): the rule they keep and the writes
//! other than the flush's.
//!
//! A `member_daily` row is the sum of one member's hourly rollup rows whose
//! `hour` lies in one local day of the guild (its timezone in
//! `guild_settings`), stored as that day's UTC `[day_start, day_end)`. The
//! day edges are computed by one SQL function (`serverpulse_day_start`, in
//! the `member_daily` migration) for every writer and reader, so reads that
//! take whole days from here and the ends of a period from the hourly rows
//! ([`super::analytics`]) give the hourly figure to the unit.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::DbError;
use crate::ids::Snowflake;

/// One stored day of one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberDay {
    pub day_start: DateTime<Utc>,
    pub day_end: DateTime<Utc>,
    pub user_id: Snowflake,
    /// Written as a member (author kind 0).
    pub messages: i32,
    /// Written as a bot or webhook.
    pub bot_messages: i32,
    pub reactions_given: i32,
    pub reactions_received: i32,
    pub voice_seconds: i64,
}

/// Rebuilds the guild's daily rows (every daily table) of the local days
/// overlapping `[from, to)` from its hourly rows (whole days: from the
/// start of `from`'s day). The timezone change rebuilds all of them; the
/// retention trim the day its horizon cuts.
pub async fn rebuild_daily<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(), DbError> {
    sqlx::query("select serverpulse_rebuild_daily($1, $2, $3)")
        .bind(guild_id)
        .bind(from)
        .bind(to)
        .execute(executor)
        .await?;
    Ok(())
}

/// All the daily rows of every local day, from the first hourly row on:
/// what a timezone change rebuilds (old days do not align with new ones).
pub async fn rebuild_all_daily<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<(), DbError> {
    sqlx::query(
        "select serverpulse_rebuild_daily($1, '1970-01-01T00:00:00Z', '9999-01-01T00:00:00Z')",
    )
    .bind(guild_id)
    .execute(executor)
    .await?;
    Ok(())
}

/// Every daily row of a guild, by day then member (tests and audits: it
/// reads all of the guild's rows).
pub async fn member_days<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<Vec<MemberDay>, DbError> {
    Ok(sqlx::query_as(
        "select day_start, day_end, user_id, messages, bot_messages, reactions_given,
                reactions_received, voice_seconds
         from member_daily where guild_id = $1 order by day_start, user_id",
    )
    .bind(guild_id)
    .fetch_all(executor)
    .await?)
}

/// The whole local days inside `[from, to)` for the guild, as the reads
/// split a period: `(days_from, days_to)`; equal (to `from`) when no whole
/// day fits.
pub async fn full_days<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), DbError> {
    Ok(
        sqlx::query_as("select days_from, days_to from serverpulse_full_days($1, $2, $3)")
            .bind(guild_id)
            .bind(from)
            .bind(to)
            .fetch_one(executor)
            .await?,
    )
}

/// Whether a read of `[from, to)` takes `member_totals` (less the hourly
/// rows outside the range) for per-member sums: the guild's member-days
/// outside it span at most a day on each side, as for "all time".
pub async fn covers_all<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<bool, DbError> {
    Ok(
        sqlx::query_scalar("select serverpulse_covers_all($1, $2, $3)")
            .bind(guild_id)
            .bind(from)
            .bind(to)
            .fetch_one(executor)
            .await?,
    )
}
