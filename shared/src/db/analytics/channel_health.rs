//! Per-channel figures beyond usage: who takes part, when a channel was
//! last active, deletions, and the guild's channels by type.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::super::DbError;
use super::Bots;
use crate::ids::Snowflake;

/// Who took part in one top-level channel (threads under it included).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelParticipation {
    pub channel_id: Snowflake,
    /// Counted messages (as [`super::channel_usage`]).
    pub messages: i64,
    /// Distinct authors of those messages.
    pub authors: i64,
    /// Distinct people who posted, added a reaction or spent time in voice
    /// in the channel (threads included): the guild's active member
    /// ([`super::active_members`]) restricted to the channel.
    pub active_members: i64,
    /// Reactions added in the channel, by members (bots too when counted).
    pub reactions: i64,
    /// Distinct people in voice in the channel.
    pub voice_users: i64,
    /// The last UTC hour in the range with a message, reaction or voice
    /// time in the channel.
    pub last_active: Option<DateTime<Utc>>,
}

/// Participation per top-level channel in `[from, to)`, for channels with
/// any message, reaction or voice time in it; bots as [`Bots`] says.
pub async fn channel_participation<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bots: Bots,
) -> Result<Vec<ChannelParticipation>, DbError> {
    // Whole local days from the channel daily tables, the ends from the
    // hourly rollups (`msg_rows!` and the like), each through its primary
    // key (guild_id, day or hour, …); the distinct counts are exact as a
    // member is in a day's rows of a channel exactly when they are in one
    // of its hours. A reaction or voice row in a thread counts under the
    // thread's parent (the catalogue's parent_id of a thread).
    Ok(sqlx::query_as(concat!(
        "with ",
        split_days!(),
        ", ",
        msg_rows!(),
        ", ",
        reaction_rows!(),
        ", ",
        voice_rows!(),
        ", counted_msgs as (
             select coalesce(thread_parent_id, channel_id) as channel_id, author_id, messages, hour
             from msg_rows where (author_kind = 0 or $4) and messages > 0
         ), msgs as (
             select channel_id, sum(messages)::bigint as messages,
                    count(distinct author_id)::bigint as authors, max(hour) as last_hour
             from counted_msgs
             group by 1
         ), counted_reactions as (
             select coalesce(t.parent_id, r.channel_id) as channel_id, r.user_id, r.added, r.removed, r.hour
             from reaction_rows r
             left join channels t on t.guild_id = $1 and t.channel_id = r.channel_id and t.kind in (10, 11, 12)
             where ($4 or not exists (select 1 from members b where b.guild_id = $1 and b.user_id = r.user_id and b.is_bot))
         ), reacts as (
             select channel_id, sum(added)::bigint as reactions,
                    max(hour) filter (where added > 0 or removed > 0) as last_hour
             from counted_reactions
             group by 1
         ), counted_voice as (
             select v.channel_id, v.user_id, v.hour
             from voice_rows v
             where v.seconds > 0
               and ($4 or not exists (select 1 from members b where b.guild_id = $1 and b.user_id = v.user_id and b.is_bot))
         ), voice as (
             select channel_id, count(distinct user_id)::bigint as voice_users, max(hour) as last_hour
             from counted_voice
             group by 1
         ), active as (
             -- the guild's active member (membership::active_members), per channel
             select channel_id, count(*)::bigint as active_members
             from (select channel_id, author_id as user_id from counted_msgs
                   union
                   select channel_id, user_id from counted_reactions where added > 0 and user_id <> 0
                   union
                   select channel_id, user_id from counted_voice) a
             group by 1
         )
         select channel_id, sum(messages)::bigint as messages, sum(authors)::bigint as authors,
                sum(active_members)::bigint as active_members,
                sum(reactions)::bigint as reactions, sum(voice_users)::bigint as voice_users,
                max(last_hour) as last_active
         from (select channel_id, messages, authors, 0::bigint as active_members, 0::bigint as reactions,
                      0::bigint as voice_users, last_hour from msgs
               union all
               select channel_id, 0, 0, 0, reactions, 0, last_hour from reacts
               union all
               select channel_id, 0, 0, 0, 0, voice_users, last_hour from voice
               union all
               select channel_id, 0, 0, active_members, 0, 0, null from active) a
         group by channel_id
         order by messages desc, channel_id"
    ))
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(bots.counted())
    .fetch_all(executor)
    .await?)
}

/// A channel of the catalogue that exists now (not deleted, not a thread).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LiveChannel {
    pub channel_id: Snowflake,
    pub name: String,
    /// Discord channel type.
    pub kind: i16,
    pub created_at: DateTime<Utc>,
}

/// The guild's channels that exist now, threads and categories left out,
/// by id.
pub async fn live_channels<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<Vec<LiveChannel>, DbError> {
    // The primary key (guild_id, channel_id): one guild's rows.
    Ok(sqlx::query_as(
        "select channel_id, name, kind, created_at from channels
         where guild_id = $1 and deleted_at is null and kind not in (4, 10, 11, 12)
         order by channel_id",
    )
    .bind(guild_id)
    .fetch_all(executor)
    .await?)
}

/// How many channels of each Discord type exist now; threads count while
/// they are not archived.
pub async fn channel_counts<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<Vec<(i16, i64)>, DbError> {
    Ok(sqlx::query_as(
        "select kind, count(*)::bigint from channels
         where guild_id = $1 and deleted_at is null
           and not (kind in (10, 11, 12) and (archived or archived_at is not null))
         group by kind order by kind",
    )
    .bind(guild_id)
    .fetch_all(executor)
    .await?)
}

/// Messages deleted in one channel (a thread is its own channel here).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelDeletions {
    pub channel_id: Snowflake,
    /// Every deleted message: single deletions and bulk deletions.
    pub deleted: i64,
    /// Of those, deleted in bulk (`MESSAGE_DELETE_BULK`, a moderator's purge).
    pub bulk: i64,
}

/// Deleted messages per channel in `[from, to)`, most first. Discord does
/// not say whose messages they were, so bots do not apply.
pub async fn deletions_per_channel<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ChannelDeletions>, DbError> {
    // deletion_rollup's primary key (guild_id, hour, channel_id).
    Ok(sqlx::query_as(
        "select channel_id, sum(deleted + bulk_deleted)::bigint as deleted, sum(bulk_deleted)::bigint as bulk
         from deletion_rollup
         where guild_id = $1 and hour >= $2 and hour < $3
         group by channel_id having sum(deleted + bulk_deleted) > 0
         order by deleted desc, channel_id",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_all(executor)
    .await?)
}
