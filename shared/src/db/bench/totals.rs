//! Checking ingested rollups against ground truth, and the server the
//! report names.

use sqlx::{PgConnection, PgExecutor};

use crate::db::DbError;
use crate::ids::Snowflake;

/// Per-guild totals of everything ingested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct IngestedTotals {
    pub guild_id: Snowflake,
    /// From `guild_hourly`.
    pub messages: i64,
    pub member_messages: i64,
    pub reactions_added: i64,
    pub reactions_removed: i64,
    pub voice_seconds: i64,
    /// From `message_rollup` (must agree with `messages`).
    pub message_rows_total: i64,
    /// From `voice_rollup` (must agree with `voice_seconds`).
    pub voice_rows_total: i64,
}

/// [`IngestedTotals`] of every guild with any rollup.
pub async fn ingested_totals<'e>(
    executor: impl PgExecutor<'e>,
) -> Result<Vec<IngestedTotals>, DbError> {
    Ok(sqlx::query_as(
        "with h as (
             select guild_id, sum(messages)::bigint as messages, sum(member_messages)::bigint as member_messages,
                    sum(reactions_added)::bigint as reactions_added,
                    sum(reactions_removed)::bigint as reactions_removed,
                    sum(voice_seconds)::bigint as voice_seconds
             from guild_hourly group by guild_id),
         m as (select guild_id, sum(messages)::bigint as total from message_rollup group by guild_id),
         v as (select guild_id, sum(seconds)::bigint as total from voice_rollup group by guild_id)
         select h.guild_id, h.messages, h.member_messages, h.reactions_added, h.reactions_removed,
                h.voice_seconds, coalesce(m.total, 0) as message_rows_total,
                coalesce(v.total, 0) as voice_rows_total
         from h left join m using (guild_id) left join v using (guild_id)
         order by h.guild_id",
    )
    .fetch_all(executor)
    .await?)
}

/// `select version()`, for the report.
pub async fn server_version(conn: &mut PgConnection) -> Result<String, DbError> {
    Ok(sqlx::query_scalar("select version()")
        .fetch_one(conn)
        .await?)
}

/// Per guild with incidents: how many join raid incidents it has and the
/// count of its latest (the alert benchmark expects one each, exact).
pub async fn alert_incident_counts<'e>(
    executor: impl PgExecutor<'e>,
) -> Result<Vec<(Snowflake, i64)>, DbError> {
    let rows: Vec<(Snowflake, i64, i64)> = sqlx::query_as(
        "select guild_id, count(*)::bigint, max(count)::bigint from alert_incidents
         where kind = 'join_raid' group by guild_id",
    )
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(guild, incidents, count)| (guild, if incidents == 1 { count } else { -incidents }))
        .collect())
}
