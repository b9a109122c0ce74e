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

/// Membership figures of a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct MembershipFigures {
    /// Human members now: the guild's member count less the bots known.
    pub members_now: Option<i64>,
    /// Human joins and leaves after the range (to walk back from now).
    pub joins_after: i64,
    pub leaves_after: i64,
    /// Distinct human users who joined in the range and were not members
    /// when it began.
    pub new_users: i64,
}

impl MembershipFigures {
    /// Members at the end of the range.
    pub fn members_at_end(&self) -> Option<i64> {
        self.members_now
            .map(|now| now - self.joins_after + self.leaves_after)
    }
}

/// Member counts around a range; see [`MembershipFigures`].
pub async fn membership<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<MembershipFigures, DbError> {
    Ok(sqlx::query_as(
        "select (select g.member_count::bigint
                        - (select count(*) from members b where b.guild_id = $1 and b.is_bot and b.left_at is null)
                 from guilds g where g.guild_id = $1) as members_now,
                (select coalesce(sum(joins), 0)::bigint from guild_hourly where guild_id = $1 and hour >= $3) as joins_after,
                (select coalesce(sum(leaves), 0)::bigint from guild_hourly where guild_id = $1 and hour >= $3) as leaves_after,
                (select count(distinct s.user_id) from membership_spans s
                  where s.guild_id = $1 and s.joined_at >= $2 and s.joined_at < $3
                    and not exists (select 1 from members b where b.guild_id = $1 and b.user_id = s.user_id and b.is_bot)
                    and not exists (select 1 from membership_spans p
                                     where p.guild_id = $1 and p.user_id = s.user_id
                                       and p.joined_at <= $2 and (p.left_at is null or p.left_at > $2)))::bigint as new_users",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_one(executor)
    .await?)
}

/// Distinct member authors of messages in the range.
pub async fn active_members<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "select count(distinct author_id) from message_rollup
         where guild_id = $1 and hour >= $2 and hour < $3 and author_kind = 0 and messages > 0",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_one(executor)
    .await?)
}

/// Activation and retention of the joins in a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct JoinCohort {
    /// Human joins (each membership span) in the range.
    pub joined: i64,
    /// Of those, spans whose first message came within 7 days of the join.
    pub activated: i64,
    /// Joins at least 7 days before `as_of`.
    pub eligible_7d: i64,
    /// Of those, users who were members (any span) 7 days after joining.
    pub retained_7d: i64,
    pub eligible_30d: i64,
    pub retained_30d: i64,
}

/// The join cohort of `[from, to)` as of instant `as_of`.
pub async fn join_cohort<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    as_of: DateTime<Utc>,
) -> Result<JoinCohort, DbError> {
    Ok(sqlx::query_as(
        "with cohort as (
             select s.user_id, s.joined_at, s.first_message_at from membership_spans s
             where s.guild_id = $1 and s.joined_at >= $2 and s.joined_at < $3
               and not exists (select 1 from members b where b.guild_id = $1 and b.user_id = s.user_id and b.is_bot)
         ), marked as (
             select c.*,
                    c.joined_at + interval '7 days' <= $4 as eligible_7d,
                    c.joined_at + interval '30 days' <= $4 as eligible_30d,
                    exists (select 1 from membership_spans m where m.guild_id = $1 and m.user_id = c.user_id
                              and m.joined_at <= c.joined_at + interval '7 days'
                              and (m.left_at is null or m.left_at > c.joined_at + interval '7 days')) as member_7d,
                    exists (select 1 from membership_spans m where m.guild_id = $1 and m.user_id = c.user_id
                              and m.joined_at <= c.joined_at + interval '30 days'
                              and (m.left_at is null or m.left_at > c.joined_at + interval '30 days')) as member_30d
             from cohort c
         )
         select count(*)::bigint as joined,
                count(*) filter (where first_message_at is not null
                                   and first_message_at < joined_at + interval '7 days')::bigint as activated,
                count(*) filter (where eligible_7d)::bigint as eligible_7d,
                count(*) filter (where eligible_7d and member_7d)::bigint as retained_7d,
                count(*) filter (where eligible_30d)::bigint as eligible_30d,
                count(*) filter (where eligible_30d and member_30d)::bigint as retained_30d
         from marked",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(as_of)
    .fetch_one(executor)
    .await?)
}

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

/// Member messages per top-level channel in the range, busiest first.
pub async fn channel_usage<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ChannelUsage>, DbError> {
    Ok(sqlx::query_as(
        "with usage as (
             select coalesce(thread_parent_id, channel_id) as channel_id,
                    sum(messages)::bigint as messages, sum(attachments)::bigint as attachments,
                    sum(embeds)::bigint as embeds, sum(stickers)::bigint as stickers,
                    (sum(messages) filter (where thread_parent_id is not null))::bigint as thread_messages
             from message_rollup
             where guild_id = $1 and hour >= $2 and hour < $3 and author_kind = 0
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
         order by messages desc, channel_id",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_all(executor)
    .await?)
}

/// Voice use of one channel.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VoiceUsage {
    pub channel_id: Snowflake,
    pub name: Option<String>,
    pub seconds: i64,
    /// Most people in the channel at once during the range.
    pub peak_concurrent: i64,
    /// When that peak was first reached (its UTC hour).
    pub peak_hour: Option<DateTime<Utc>>,
}

/// Member voice seconds and peak concurrency per channel, busiest first.
pub async fn voice_usage<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<VoiceUsage>, DbError> {
    Ok(sqlx::query_as(
        "with seconds as (
             select v.channel_id, sum(v.seconds)::bigint as seconds from voice_rollup v
             where v.guild_id = $1 and v.hour >= $2 and v.hour < $3
               and not exists (select 1 from members b where b.guild_id = $1 and b.user_id = v.user_id and b.is_bot)
             group by 1
         ), peaks as (
             select distinct on (channel_id) channel_id, peak_concurrent::bigint as peak_concurrent, hour as peak_hour
             from voice_peak_rollup
             where guild_id = $1 and hour >= $2 and hour < $3
             order by channel_id, peak_concurrent desc, hour
         )
         select coalesce(s.channel_id, p.channel_id) as channel_id, c.name,
                coalesce(s.seconds, 0) as seconds, coalesce(p.peak_concurrent, 0) as peak_concurrent,
                p.peak_hour
         from seconds s full join peaks p on p.channel_id = s.channel_id
         left join channels c on c.guild_id = $1 and c.channel_id = coalesce(s.channel_id, p.channel_id)
         order by seconds desc, channel_id",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_all(executor)
    .await?)
}

/// What a leaderboard ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeaderboardMetric {
    Messages,
    VoiceSeconds,
    ReactionsGiven,
    ReactionsReceived,
}

/// One leaderboard row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Ranked {
    pub user_id: Snowflake,
    pub value: i64,
}

/// A page of a leaderboard and how many ranked users there are in all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaderboardPage {
    pub rows: Vec<Ranked>,
    pub total: i64,
}

/// Which leaderboard page to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaderboardQuery {
    pub metric: LeaderboardMetric,
    /// Only this channel (threads under it included).
    pub channel: Option<Snowflake>,
    pub limit: i64,
    pub offset: i64,
}

/// Members ranked by the query's metric in the range (value descending,
/// then user id ascending; zeros left out), `limit` rows from `offset`.
pub async fn leaderboard<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    query: LeaderboardQuery,
) -> Result<LeaderboardPage, DbError> {
    let LeaderboardQuery {
        metric,
        channel,
        limit,
        offset,
    } = query;
    // Ids are ordered as unsigned numbers: a BIGINT holding an id above
    // 2^63 is negative, so sort on the numeric value of the bits.
    let sql = match metric {
        LeaderboardMetric::Messages => {
            "select author_id as user_id, sum(messages)::bigint as value, count(*) over ()::bigint as total
             from message_rollup
             where guild_id = $1 and hour >= $2 and hour < $3 and author_kind = 0
               and ($4::bigint is null or channel_id = $4 or thread_parent_id = $4)
             group by author_id having sum(messages) > 0
             order by value desc, (author_id::numeric + case when author_id < 0 then 18446744073709551616 else 0 end)
             limit $5 offset $6"
        }
        LeaderboardMetric::VoiceSeconds => {
            "select v.user_id, sum(v.seconds)::bigint as value, count(*) over ()::bigint as total
             from voice_rollup v
             where v.guild_id = $1 and v.hour >= $2 and v.hour < $3
               and ($4::bigint is null or v.channel_id = $4)
               and not exists (select 1 from members b where b.guild_id = $1 and b.user_id = v.user_id and b.is_bot)
             group by v.user_id having sum(v.seconds) > 0
             order by value desc, (v.user_id::numeric + case when v.user_id < 0 then 18446744073709551616 else 0 end)
             limit $5 offset $6"
        }
        LeaderboardMetric::ReactionsGiven => {
            "select r.user_id, sum(r.added)::bigint as value, count(*) over ()::bigint as total
             from reaction_rollup r
             where r.guild_id = $1 and r.hour >= $2 and r.hour < $3
               and ($4::bigint is null or r.channel_id = $4
                    or r.channel_id in (select channel_id from channels t where t.guild_id = $1 and t.parent_id = $4))
               and not exists (select 1 from members b where b.guild_id = $1 and b.user_id = r.user_id and b.is_bot)
             group by r.user_id having sum(r.added) > 0
             order by value desc, (r.user_id::numeric + case when r.user_id < 0 then 18446744073709551616 else 0 end)
             limit $5 offset $6"
        }
        LeaderboardMetric::ReactionsReceived => {
            "select r.receiver_id as user_id, sum(r.added)::bigint as value, count(*) over ()::bigint as total
             from reaction_rollup r
             where r.guild_id = $1 and r.hour >= $2 and r.hour < $3 and r.receiver_id <> 0
               and ($4::bigint is null or r.channel_id = $4
                    or r.channel_id in (select channel_id from channels t where t.guild_id = $1 and t.parent_id = $4))
               and not exists (select 1 from members b where b.guild_id = $1 and b.user_id = r.receiver_id and b.is_bot)
               and not exists (select 1 from message_rollup w where w.guild_id = $1 and w.author_id = r.receiver_id
                                 and w.author_kind <> 0)
             group by r.receiver_id having sum(r.added) > 0
             order by value desc, (r.receiver_id::numeric + case when r.receiver_id < 0 then 18446744073709551616 else 0 end)
             limit $5 offset $6"
        }
    };
    let rows: Vec<(Snowflake, i64, i64)> = sqlx::query_as(sql)
        .bind(guild_id)
        .bind(from)
        .bind(to)
        .bind(channel)
        .bind(limit)
        .bind(offset)
        .fetch_all(executor)
        .await?;
    let total = rows.first().map_or(0, |r| r.2);
    Ok(LeaderboardPage {
        rows: rows
            .into_iter()
            .map(|(user_id, value, _)| Ranked { user_id, value })
            .collect(),
        total,
    })
}

/// A user's place on a leaderboard: 1-based rank (ties broken by user id
/// like [`leaderboard`]) and the user's value; `None` when the user has none.
pub async fn member_rank<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    user_id: Snowflake,
) -> Result<Option<(i64, i64)>, DbError> {
    Ok(sqlx::query_as(
        "with totals as (
             select author_id, sum(messages)::bigint as value,
                    (author_id::numeric + case when author_id < 0 then 18446744073709551616 else 0 end) as id_order
             from message_rollup
             where guild_id = $1 and hour >= $2 and hour < $3 and author_kind = 0
             group by author_id having sum(messages) > 0
         ), me as (select value, id_order from totals where author_id = $4)
         select (select count(*) from totals t where t.value > me.value
                    or (t.value = me.value and t.id_order < me.id_order))::bigint + 1,
                me.value
         from me",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(user_id)
    .fetch_optional(executor)
    .await?)
}

/// Messages per UTC hour, optionally of one user and/or in one channel
/// (threads under it included); member messages only.
pub async fn message_hours<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    user: Option<Snowflake>,
    channel: Option<Snowflake>,
) -> Result<Vec<(DateTime<Utc>, i64)>, DbError> {
    Ok(sqlx::query_as(
        "select hour, sum(messages)::bigint from message_rollup
         where guild_id = $1 and hour >= $2 and hour < $3 and author_kind = 0
           and ($4::bigint is null or author_id = $4)
           and ($5::bigint is null or channel_id = $5 or thread_parent_id = $5)
         group by hour order by hour",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(user)
    .bind(channel)
    .fetch_all(executor)
    .await?)
}

/// One channel's share of a member's messages.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelCount {
    pub channel_id: Snowflake,
    pub name: Option<String>,
    pub messages: i64,
}

/// A member's messages per top-level channel (threads under their parent),
/// most first.
pub async fn member_channels<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    user_id: Snowflake,
) -> Result<Vec<ChannelCount>, DbError> {
    Ok(sqlx::query_as(
        "select m.channel_id, c.name, m.messages from (
             select coalesce(thread_parent_id, channel_id) as channel_id, sum(messages)::bigint as messages
             from message_rollup
             where guild_id = $1 and author_id = $4 and hour >= $2 and hour < $3 and author_kind = 0
             group by 1
         ) m left join channels c on c.guild_id = $1 and c.channel_id = m.channel_id
         order by m.messages desc, m.channel_id",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(user_id)
    .fetch_all(executor)
    .await?)
}

/// A member's voice seconds and reactions given and received in a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberInteractions {
    pub voice_seconds: i64,
    pub reactions_given: i64,
    pub reactions_received: i64,
}

pub async fn member_interactions<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    user_id: Snowflake,
) -> Result<MemberInteractions, DbError> {
    Ok(sqlx::query_as(
        "select (select coalesce(sum(seconds), 0)::bigint from voice_rollup
                  where guild_id = $1 and user_id = $4 and hour >= $2 and hour < $3) as voice_seconds,
                (select coalesce(sum(added), 0)::bigint from reaction_rollup
                  where guild_id = $1 and user_id = $4 and hour >= $2 and hour < $3) as reactions_given,
                (select coalesce(sum(added), 0)::bigint from reaction_rollup
                  where guild_id = $1 and receiver_id = $4 and hour >= $2 and hour < $3) as reactions_received",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(user_id)
    .fetch_one(executor)
    .await?)
}

/// Voice seconds per UTC hour, optionally in one channel (members only).
pub async fn voice_hours<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    channel: Option<Snowflake>,
) -> Result<Vec<(DateTime<Utc>, i64)>, DbError> {
    Ok(sqlx::query_as(
        "select v.hour, sum(v.seconds)::bigint from voice_rollup v
         where v.guild_id = $1 and v.hour >= $2 and v.hour < $3
           and ($4::bigint is null or v.channel_id = $4)
           and not exists (select 1 from members b where b.guild_id = $1 and b.user_id = v.user_id and b.is_bot)
         group by v.hour order by v.hour",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(channel)
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

/// Content of member messages in a range (guild_hourly's content columns
/// count bots and webhooks too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberContent {
    pub attachments: i64,
    pub embeds: i64,
    pub stickers: i64,
    /// Messages posted in threads.
    pub thread_messages: i64,
}

pub async fn member_content<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<MemberContent, DbError> {
    Ok(sqlx::query_as(
        "select coalesce(sum(attachments), 0)::bigint as attachments,
                coalesce(sum(embeds), 0)::bigint as embeds,
                coalesce(sum(stickers), 0)::bigint as stickers,
                coalesce(sum(messages) filter (where thread_parent_id is not null), 0)::bigint as thread_messages
         from message_rollup
         where guild_id = $1 and hour >= $2 and hour < $3 and author_kind = 0",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_one(executor)
    .await?)
}
