//! Threads over a range: created, archived, active, and their messages.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::super::DbError;
use super::Bots;
use crate::ids::Snowflake;

/// The guild's threads over a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct ThreadSummary {
    /// Threads (and forum posts) created in the range: the overview's
    /// "Threads created" (`THREAD_CREATE` events seen, from `guild_hourly`).
    pub created: i64,
    /// Threads archived in the range (the last time each was archived).
    pub archived: i64,
    /// Threads with at least one counted message in the range.
    pub active: i64,
    /// Counted messages in threads in the range.
    pub messages: i64,
}

impl ThreadSummary {
    /// Messages per active thread, `None` without one.
    pub fn messages_per_thread(&self) -> Option<f64> {
        (self.active > 0).then(|| self.messages as f64 / self.active as f64)
    }
}

/// Threads created, archived and active in `[from, to)`, and their counted
/// messages (members; bots and webhooks too when [`Bots::Counted`]).
pub async fn thread_summary<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bots: Bots,
) -> Result<ThreadSummary, DbError> {
    // guild_hourly's and message_rollup's primary keys (guild_id, hour, …);
    // channels_archived_idx (guild_id, parent_id, archived_at) the archives.
    Ok(sqlx::query_as(
        "select (select coalesce(sum(threads_created), 0) from guild_hourly
                  where guild_id = $1 and hour >= $2 and hour < $3)::bigint as created,
                (select count(*) from channels where guild_id = $1 and parent_id is not null
                   and archived_at >= $2 and archived_at < $3 and kind in (10, 11, 12))::bigint as archived,
                count(distinct m.channel_id)::bigint as active,
                coalesce(sum(m.messages), 0)::bigint as messages
         from message_rollup m
         where m.guild_id = $1 and m.hour >= $2 and m.hour < $3 and m.thread_parent_id is not null
           and (m.author_kind = 0 or $4) and m.messages > 0",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(bots.counted())
    .fetch_one(executor)
    .await?)
}
