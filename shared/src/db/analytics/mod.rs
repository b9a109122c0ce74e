//! Read queries behind the slash commands, answered from rollups only.
//!
//! Every function reads one guild over a half-open UTC range `[from, to)`
//! whose edges are whole hours (rollups are hourly). Guild-wide totals and
//! series come from `guild_hourly` (O(hours)); per-channel and per-member
//! figures from the wide rollups through their `(guild_id, …, hour)`
//! indexes, with partition pruning on `hour`. Local days, weekdays and
//! hours are computed by the caller from the UTC hours returned here, so
//! daylight-saving changes are handled in one place (the web crate).
//!
//! Member statistics leave out bots and webhooks: messages through
//! `author_kind = 0`; voice and reactions by leaving out users the
//! catalogue knows as bots (and, for reactions received, authors seen
//! writing as a bot or webhook).

mod channels;
mod member;
mod membership;
mod rankings;

pub use channels::*;
pub use member::*;
pub use membership::*;
pub use rankings::*;

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::DbError;
use crate::ids::Snowflake;

/// Guild-wide sums of `guild_hourly` over a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct GuildTotals {
    /// Every message, bots and webhooks included.
    pub all_messages: i64,
    /// Messages by members (what member statistics count).
    pub messages: i64,
    pub attachments: i64,
    pub embeds: i64,
    pub stickers: i64,
    pub thread_messages: i64,
    pub reactions_added: i64,
    pub reactions_removed: i64,
    pub voice_seconds: i64,
    pub joins: i64,
    pub rejoins: i64,
    pub leaves: i64,
    pub deletions: i64,
    pub threads_created: i64,
    /// Hours with any row (0: nothing recorded in the range).
    pub hours_with_data: i64,
}

/// Sums of the guild's hourly totals in `[from, to)`.
pub async fn guild_totals<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<GuildTotals, DbError> {
    Ok(sqlx::query_as(
        "select coalesce(sum(messages), 0)::bigint as all_messages,
                coalesce(sum(member_messages), 0)::bigint as messages,
                coalesce(sum(attachments), 0)::bigint as attachments,
                coalesce(sum(embeds), 0)::bigint as embeds,
                coalesce(sum(stickers), 0)::bigint as stickers,
                coalesce(sum(thread_messages), 0)::bigint as thread_messages,
                coalesce(sum(reactions_added), 0)::bigint as reactions_added,
                coalesce(sum(reactions_removed), 0)::bigint as reactions_removed,
                coalesce(sum(voice_seconds), 0)::bigint as voice_seconds,
                coalesce(sum(joins), 0)::bigint as joins,
                coalesce(sum(rejoins), 0)::bigint as rejoins,
                coalesce(sum(leaves), 0)::bigint as leaves,
                coalesce(sum(deletions), 0)::bigint as deletions,
                coalesce(sum(threads_created), 0)::bigint as threads_created,
                count(*)::bigint as hours_with_data
         from guild_hourly where guild_id = $1 and hour >= $2 and hour < $3",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_one(executor)
    .await?)
}

/// One hour of guild-wide totals (for series, heatmaps and charts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct HourTotals {
    pub hour: DateTime<Utc>,
    pub messages: i64,
    pub voice_seconds: i64,
    pub reactions_added: i64,
    pub joins: i64,
    pub leaves: i64,
    pub threads_created: i64,
}

/// The guild's hours with data in `[from, to)`, oldest first.
pub async fn guild_hours<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<HourTotals>, DbError> {
    Ok(sqlx::query_as(
        "select hour, member_messages::bigint as messages, voice_seconds,
                reactions_added::bigint as reactions_added, joins::bigint as joins,
                leaves::bigint as leaves, threads_created::bigint as threads_created
         from guild_hourly where guild_id = $1 and hour >= $2 and hour < $3 order by hour",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_all(executor)
    .await?)
}

/// The first hour anything was recorded for the guild (the start of "all time").
pub async fn first_hour<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<Option<DateTime<Utc>>, DbError> {
    Ok(
        sqlx::query_scalar("select min(hour) from guild_hourly where guild_id = $1")
            .bind(guild_id)
            .fetch_one(executor)
            .await?,
    )
}
