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
    // guild_hourly's primary key (guild_id, hour); thread messages as
    // whole local days of message_daily and hourly ends (`msg_rows!`);
    // channels_archived_idx (guild_id, parent_id, archived_at) the archives.
    Ok(sqlx::query_as(concat!(
        "with ",
        split_days!(),
        ", ",
        msg_rows!(),
        "
         select (select coalesce(sum(threads_created), 0) from guild_hourly
                  where guild_id = $1 and hour >= $2 and hour < $3)::bigint as created,
                (select count(*) from channels where guild_id = $1 and parent_id is not null
                   and archived_at >= $2 and archived_at < $3 and kind in (10, 11, 12))::bigint as archived,
                count(distinct m.channel_id)::bigint as active,
                coalesce(sum(m.messages), 0)::bigint as messages
         from msg_rows m
         where m.thread_parent_id is not null and (m.author_kind = 0 or $4) and m.messages > 0"
    ))
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(bots.counted())
    .fetch_one(executor)
    .await?)
}

/// The first replies of the threads created in a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, sqlx::FromRow)]
pub struct FirstReplies {
    /// Threads (and forum posts) created in the range, from the catalogue.
    pub opened: i64,
    /// Of them, those someone other than their owner has written in (by
    /// now, not only within the range).
    pub replied: i64,
    /// The median of `replied`'s times from creation to the first reply,
    /// in seconds; `None` without a reply.
    pub median_seconds: Option<f64>,
}

impl FirstReplies {
    /// Threads created in the range that nobody else has written in yet.
    pub fn unanswered(&self) -> i64 {
        self.opened - self.replied
    }
}

/// The median time from a thread's creation to the first message by
/// someone other than its owner, over the threads created in `[from, to)`,
/// and how many have no reply. A reply is a member's message; a bot's or
/// webhook's too when [`Bots::Counted`]. Only counted messages (collected
/// channels, tracking on) are replies, as the ingester records them; with
/// `collected` (an allow-list) only threads it collects (the thread or its
/// parent listed) count. Threads created before the time a history import
/// ends (`backfill_jobs.until_at`) are left out: the import finds them but
/// does not record replies, so they would read as unanswered.
pub async fn first_replies<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bots: Bots,
    collected: Option<&[Snowflake]>,
) -> Result<FirstReplies, DbError> {
    // channels_parent_idx (guild_id, parent_id, created_at) where parent_id is not null.
    Ok(sqlx::query_as(
        "select count(*)::bigint as opened, count(r)::bigint as replied,
                percentile_cont(0.5) within group (order by extract(epoch from r - created_at)::float8)
                    as median_seconds
         from (select created_at,
                      case when $4 then least(first_reply_at, first_bot_reply_at) else first_reply_at end as r
               from channels
               where guild_id = $1 and parent_id is not null and created_at >= $2 and created_at < $3
                 and kind in (10, 11, 12)
                 and created_at >= coalesce((select b.until_at from backfill_jobs b
                                             where b.guild_id = $1), '-infinity')
                 and ($5::bigint[] is null or channel_id = any($5) or parent_id = any($5))) t",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(bots.counted())
    .bind(collected.map(|c| c.iter().map(|s| s.to_db()).collect::<Vec<i64>>()))
    .fetch_one(executor)
    .await?)
}
