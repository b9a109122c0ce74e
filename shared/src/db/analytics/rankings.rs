//! Leaderboards and a member's place on them.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::super::DbError;
use super::Bots;
use crate::ids::Snowflake;

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
    /// The member chose `/privacy hide` (only ever true in
    /// [`leaderboard_with_hidden`]: exports show them as "hidden member").
    pub hidden: bool,
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
/// Members who chose `/privacy hide` are left out (their activity still
/// counts in the guild's totals): every leaderboard, top list, digest and
/// Pulse Report reads this. Bots (and, for messages and reactions
/// received, webhooks) are ranked only when [`Bots::Counted`].
pub async fn leaderboard<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    query: LeaderboardQuery,
    bots: Bots,
) -> Result<LeaderboardPage, DbError> {
    ranked(executor, guild_id, from, to, query, bots, false).await
}

/// [`leaderboard`] with hidden members kept in their place, flagged
/// [`Ranked::hidden`] (exports name them "hidden member").
pub async fn leaderboard_with_hidden<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    query: LeaderboardQuery,
    bots: Bots,
) -> Result<LeaderboardPage, DbError> {
    ranked(executor, guild_id, from, to, query, bots, true).await
}

/// A leaderboard read by day: `$daily`, the value of a `d` row of the
/// daily table `$table` (`member_daily`, or `voice_daily` for voice: only
/// members who were in voice have rows there, so a year of a large guild
/// reads its voice days, not every active member's); `$hourly`, `(user,
/// value)` rows of an hourly rollup in the range's ends outside whole days
/// (an [`hourly_ends!`]). When the range covers all of the guild's
/// member-days ([`covers_all!`]): `$total`, the value of a `t` row of
/// `member_totals`, less `$outside`, the same `(user, value)` rows outside
/// the range (an [`hourly_outside!`]). `$filter`, which users `t` rank
/// (bots). Parameters as in [`ranked`]; `$4` (channel) is null.
macro_rules! by_day {
    ($daily:literal, $hourly:expr, $total:literal, $outside:expr, $filter:literal) => {
        by_day!($daily, "member_daily", $hourly, $total, $outside, $filter)
    };
    ($daily:literal, $table:literal, $hourly:expr, $total:literal, $outside:expr, $filter:literal) => {
        concat!(
            "with ",
            split_days!(),
            ", ",
            covers_all!(),
            ",
             totals as (
                 select user_id, sum(v)::bigint as value from (
                     select d.user_id, (",
            $daily,
            ")::bigint as v from ",
            $table,
            " d
                     where d.guild_id = $1 and d.day_start >= (select days_from from s)
                       and d.day_start < (select days_to from s) and not (select whole from w)
                     union all
                     select * from (",
            $hourly,
            ") h where not (select whole from w)
                     union all
                     select t.user_id, (",
            $total,
            ")::bigint from member_totals t where t.guild_id = $1 and (select whole from w)
                     union all
                     select o.user_id, -o.v from (",
            $outside,
            ") o (user_id, v) where (select whole from w)
                 ) x (user_id, v) group by user_id)
             select t.user_id, t.value, count(*) over ()::bigint as total,
                    exists (select 1 from member_privacy h where h.guild_id = $1 and h.user_id = t.user_id) as hidden
             from totals t
             where t.value > 0 and $4::bigint is null
               and ($7 or not exists (select 1 from member_privacy h where h.guild_id = $1 and h.user_id = t.user_id))
               and ",
            $filter,
            "
             order by t.value desc, (t.user_id::numeric + case when t.user_id < 0 then 18446744073709551616 else 0 end)
             limit $5 offset $6"
        )
    };
}

/// `(author, messages)` rows of `message_rollup` counted under `$8`
/// (bots), from `$rows` (`hourly_ends!` or `hourly_outside!`).
macro_rules! counted_messages {
    ($rows:ident) => {
        concat!(
            "select author_id, messages from (",
            $rows!(
                "m.author_id, m.messages, m.author_kind",
                "message_rollup",
                "m"
            ),
            ") m where author_kind = 0 or $8"
        )
    };
}

/// A leaderboard of one channel (`$4`, threads under it included), read by
/// day: `$rows`, one of the `*_rows!` CTEs (whole local days from a channel
/// daily table, the ends hourly); `$values`, `(user, value)` rows of it in
/// the channel; `$filter`, which users `t` rank (bots). Parameters as in
/// [`ranked`].
macro_rules! by_channel {
    ($rows:expr, $values:literal, $filter:literal) => {
        concat!(
            "with ",
            split_days!(),
            ", ",
            $rows,
            ",
             totals as (
                 select user_id, sum(v)::bigint as value from (",
            $values,
            ") x (user_id, v) group by user_id)
             select t.user_id, t.value, count(*) over ()::bigint as total,
                    exists (select 1 from member_privacy h where h.guild_id = $1 and h.user_id = t.user_id) as hidden
             from totals t
             where t.value > 0
               and ($7 or not exists (select 1 from member_privacy h where h.guild_id = $1 and h.user_id = t.user_id))
               and ",
            $filter,
            "
             order by t.value desc, (t.user_id::numeric + case when t.user_id < 0 then 18446744073709551616 else 0 end)
             limit $5 offset $6"
        )
    };
}

async fn ranked<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    query: LeaderboardQuery,
    bots: Bots,
    with_hidden: bool,
) -> Result<LeaderboardPage, DbError> {
    let LeaderboardQuery {
        metric,
        channel,
        limit,
        offset,
    } = query;
    // Ids are ordered as unsigned numbers: a BIGINT holding an id above
    // 2^63 is negative, so sort on the numeric value of the bits. Without a
    // channel, whole local days come from `member_daily` and the ends of
    // the range from the hourly rollups (see `by_day!`); per channel, the
    // channel daily tables the same way (`by_channel!`), but for reactions
    // received (`reaction_daily` has no receiver): the hourly rollup.
    let sql = match (metric, channel.is_some()) {
        (LeaderboardMetric::Messages, false) => by_day!(
            "d.messages + case when $8 then d.bot_messages else 0 end",
            counted_messages!(hourly_ends),
            "t.messages + case when $8 then t.bot_messages else 0 end",
            counted_messages!(hourly_outside),
            "true"
        ),
        (LeaderboardMetric::VoiceSeconds, false) => by_day!(
            "d.seconds",
            "voice_daily",
            hourly_ends!("v.user_id, v.seconds", "voice_rollup", "v"),
            "t.voice_seconds",
            hourly_outside!("v.user_id, v.seconds", "voice_rollup", "v"),
            "($8 or not exists (select 1 from members b where b.guild_id = $1 and b.user_id = t.user_id and b.is_bot))"
        ),
        (LeaderboardMetric::ReactionsGiven, false) => by_day!(
            "d.reactions_given",
            concat!(
                "select user_id, added from (",
                hourly_ends!("r.user_id, r.added", "reaction_rollup", "r"),
                ") r where user_id <> 0"
            ),
            "t.reactions_given",
            concat!(
                "select user_id, added from (",
                hourly_outside!("r.user_id, r.added", "reaction_rollup", "r"),
                ") r where user_id <> 0"
            ),
            "($8 or not exists (select 1 from members b where b.guild_id = $1 and b.user_id = t.user_id and b.is_bot))"
        ),
        (LeaderboardMetric::ReactionsReceived, false) => by_day!(
            "d.reactions_received",
            concat!(
                "select receiver_id, added from (",
                hourly_ends!("r.receiver_id, r.added", "reaction_rollup", "r"),
                ") r where receiver_id <> 0"
            ),
            "t.reactions_received",
            concat!(
                "select receiver_id, added from (",
                hourly_outside!("r.receiver_id, r.added", "reaction_rollup", "r"),
                ") r where receiver_id <> 0"
            ),
            "($8 or (not exists (select 1 from members b where b.guild_id = $1 and b.user_id = t.user_id and b.is_bot)
                    and not exists (select 1 from message_rollup w where w.guild_id = $1 and w.author_id = t.user_id
                                      and w.author_kind <> 0)))"
        ),
        (LeaderboardMetric::Messages, true) => by_channel!(
            msg_rows!(),
            "select author_id, messages from msg_rows
             where (author_kind = 0 or $8) and (channel_id = $4 or thread_parent_id = $4)",
            "true"
        ),
        (LeaderboardMetric::VoiceSeconds, true) => by_channel!(
            voice_rows!(),
            "select user_id, seconds from voice_rows where channel_id = $4",
            "($8 or not exists (select 1 from members b where b.guild_id = $1 and b.user_id = t.user_id and b.is_bot))"
        ),
        (LeaderboardMetric::ReactionsGiven, true) => by_channel!(
            reaction_rows!(),
            "select r.user_id, r.added from reaction_rows r
             where r.user_id <> 0
               and (r.channel_id = $4
                    or r.channel_id in (select channel_id from channels t where t.guild_id = $1 and t.parent_id = $4))",
            "($8 or not exists (select 1 from members b where b.guild_id = $1 and b.user_id = t.user_id and b.is_bot))"
        ),
        (LeaderboardMetric::ReactionsReceived, true) => {
            "select r.receiver_id as user_id, sum(r.added)::bigint as value, count(*) over ()::bigint as total,
                    exists (select 1 from member_privacy h where h.guild_id = $1 and h.user_id = r.receiver_id) as hidden
             from reaction_rollup r
             where r.guild_id = $1 and r.hour >= $2 and r.hour < $3 and r.receiver_id <> 0
               and ($7 or not exists (select 1 from member_privacy h where h.guild_id = $1 and h.user_id = r.receiver_id))
               and ($4::bigint is null or r.channel_id = $4
                    or r.channel_id in (select channel_id from channels t where t.guild_id = $1 and t.parent_id = $4))
               and ($8 or (not exists (select 1 from members b where b.guild_id = $1 and b.user_id = r.receiver_id and b.is_bot)
                           and not exists (select 1 from message_rollup w where w.guild_id = $1 and w.author_id = r.receiver_id
                                             and w.author_kind <> 0)))
             group by r.receiver_id having sum(r.added) > 0
             order by value desc, (r.receiver_id::numeric + case when r.receiver_id < 0 then 18446744073709551616 else 0 end)
             limit $5 offset $6"
        }
    };
    let rows: Vec<(Snowflake, i64, i64, bool)> = sqlx::query_as(sql)
        .bind(guild_id)
        .bind(from)
        .bind(to)
        .bind(channel)
        .bind(limit)
        .bind(offset)
        .bind(with_hidden)
        .bind(bots.counted())
        .fetch_all(executor)
        .await?;
    let total = rows.first().map_or(0, |r| r.2);
    Ok(LeaderboardPage {
        rows: rows
            .into_iter()
            .map(|(user_id, value, _, hidden)| Ranked {
                user_id,
                value,
                hidden,
            })
            .collect(),
        total,
    })
}

/// A user's place on a leaderboard: 1-based rank (ties broken by user id
/// like [`leaderboard`], hidden members other than the user left out like
/// there) and the user's value; `None` when the user has none.
pub async fn member_rank<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    user_id: Snowflake,
    bots: Bots,
) -> Result<Option<(i64, i64)>, DbError> {
    Ok(sqlx::query_as(concat!(
        "with ",
        split_days!(),
        ", ",
        covers_all!(),
        ",
         totals as (
             select author_id, sum(v)::bigint as value,
                    (author_id::numeric + case when author_id < 0 then 18446744073709551616 else 0 end) as id_order
             from (
                 select d.user_id, (d.messages + case when $5 then d.bot_messages else 0 end)::bigint
                 from member_daily d
                 where d.guild_id = $1 and d.day_start >= (select days_from from s)
                   and d.day_start < (select days_to from s) and not (select whole from w)
                 union all
                 select author_id, messages from (",
        hourly_ends!(
            "m.author_id, m.messages, m.author_kind",
            "message_rollup",
            "m"
        ),
        ") m where (author_kind = 0 or $5) and not (select whole from w)
                 union all
                 select t.user_id, t.messages + case when $5 then t.bot_messages else 0 end
                 from member_totals t where t.guild_id = $1 and (select whole from w)
                 union all
                 select author_id, -messages from (",
        hourly_outside!(
            "m.author_id, m.messages, m.author_kind",
            "message_rollup",
            "m"
        ),
        ") m where (author_kind = 0 or $5) and (select whole from w)
             ) x (author_id, v)
             where author_id = $4 or not exists (select 1 from member_privacy h
                                                 where h.guild_id = $1 and h.user_id = author_id)
             group by author_id having sum(v) > 0
         ), me as (select value, id_order from totals where author_id = $4)
         select (select count(*) from totals t where t.value > me.value
                    or (t.value = me.value and t.id_order < me.id_order))::bigint + 1,
                me.value
         from me"
    ))
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(user_id)
    .bind(bots.counted())
    .fetch_optional(executor)
    .await?)
}
