//! Per-channel usage: messages, threads, voice, and the catalogue's name of a channel.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::super::DbError;
use super::Bots;
use crate::ids::Snowflake;

/// Messages and content of one top-level channel (thread messages counted
/// under their parent), with thread engagement.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelUsage {
    pub channel_id: Snowflake,
    pub name: Option<String>,
    /// Discord channel type, when the catalogue knows the channel.
    pub kind: Option<i16>,
    pub messages: i64,
    pub attachments: i64,
    pub embeds: i64,
    pub stickers: i64,
    /// Messages posted in threads under this channel.
    pub thread_messages: i64,
    /// Threads created under this channel in the range.
    pub threads_created: i64,
}

/// Counted messages (members; bots and webhooks too when
/// [`Bots::Counted`]) per top-level channel in the range, busiest first.
pub async fn channel_usage<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bots: Bots,
) -> Result<Vec<ChannelUsage>, DbError> {
    // Whole local days from message_daily, the ends from message_rollup
    // (`msg_rows!`), each a range scan of its primary key (guild_id, day
    // or hour, …); threads from channels_parent_idx.
    Ok(sqlx::query_as(concat!(
        "with ",
        split_days!(),
        ", ",
        msg_rows!(),
        ", usage as (
             select coalesce(thread_parent_id, channel_id) as channel_id,
                    sum(messages)::bigint as messages, sum(attachments)::bigint as attachments,
                    sum(embeds)::bigint as embeds, sum(stickers)::bigint as stickers,
                    (sum(messages) filter (where thread_parent_id is not null))::bigint as thread_messages
             from msg_rows
             where author_kind = 0 or $4
             group by 1
         ), threads as (
             select parent_id as channel_id, count(*)::bigint as threads_created from channels
             where guild_id = $1 and parent_id is not null and created_at >= $2 and created_at < $3
               and kind in (10, 11, 12)
             group by 1
         )
         select coalesce(u.channel_id, t.channel_id) as channel_id, c.name, c.kind,
                coalesce(u.messages, 0) as messages, coalesce(u.attachments, 0) as attachments,
                coalesce(u.embeds, 0) as embeds, coalesce(u.stickers, 0) as stickers,
                coalesce(u.thread_messages, 0) as thread_messages,
                coalesce(t.threads_created, 0) as threads_created
         from usage u full join threads t on t.channel_id = u.channel_id
         left join channels c on c.guild_id = $1 and c.channel_id = coalesce(u.channel_id, t.channel_id)
         order by messages desc, channel_id"
    ))
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(bots.counted())
    .fetch_all(executor)
    .await?)
}

/// Voice use of one channel.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VoiceUsage {
    pub channel_id: Snowflake,
    pub name: Option<String>,
    pub seconds: i64,
    /// Most people in the channel at once during the range (bots among
    /// them only when counted).
    pub peak_concurrent: i64,
    /// When that peak was first reached (its UTC hour).
    pub peak_hour: Option<DateTime<Utc>>,
}

/// Voice seconds and peak concurrency per channel, busiest first (bots
/// only when [`Bots::Counted`]; a channel only bots used is left out
/// otherwise).
pub async fn voice_usage<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bots: Bots,
) -> Result<Vec<VoiceUsage>, DbError> {
    // Seconds: whole local days from voice_daily, the ends from
    // voice_rollup (`voice_rows!`); peaks (per hour): voice_peak_rollup's
    // primary key (guild_id, hour, channel_id).
    Ok(sqlx::query_as(concat!(
        "with ",
        split_days!(),
        ", ",
        voice_rows!(),
        ", seconds as (
             select v.channel_id, sum(v.seconds)::bigint as seconds from voice_rows v
             where ($4 or not exists (select 1 from members b where b.guild_id = $1 and b.user_id = v.user_id and b.is_bot))
             group by 1
         ), peaks as (
             select distinct on (channel_id) channel_id, peak::bigint as peak_concurrent, hour as peak_hour
             from (select channel_id, hour, case when $4 then peak_concurrent else member_peak end as peak
                   from voice_peak_rollup
                   where guild_id = $1 and hour >= $2 and hour < $3) p
             where peak > 0
             order by channel_id, peak desc, hour
         )
         select coalesce(s.channel_id, p.channel_id) as channel_id, c.name,
                coalesce(s.seconds, 0) as seconds, coalesce(p.peak_concurrent, 0) as peak_concurrent,
                p.peak_hour
         from seconds s full join peaks p on p.channel_id = s.channel_id
         left join channels c on c.guild_id = $1 and c.channel_id = coalesce(s.channel_id, p.channel_id)
         order by seconds desc, channel_id"
    ))
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(bots.counted())
    .fetch_all(executor)
    .await?)
}

/// Name and type of a channel the catalogue knows.
pub async fn channel_info<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    channel_id: Snowflake,
) -> Result<Option<(String, i16)>, DbError> {
    Ok(
        sqlx::query_as("select name, kind from channels where guild_id = $1 and channel_id = $2")
            .bind(guild_id)
            .bind(channel_id)
            .fetch_optional(executor)
            .await?,
    )
}
