//! Read queries behind the slash commands, answered from rollups only.
//!
//! Every function reads one guild over a half-open UTC range `[from, to)`
//! whose edges are whole hours (rollups are hourly). Guild-wide totals and
//! series come from `guild_hourly` (O(hours)); per-channel and per-member
//! figures over a period from the daily tables for its whole local days
//! (`member_daily`, `message_daily`, `reaction_daily`, `voice_daily`) and
//! from the wide rollups for its ends (through their `(guild_id, …, hour)`
//! indexes, with partition pruning on `hour`), and series per hour from
//! the wide rollups. Local days, weekdays and
//! hours are computed by the caller from the UTC hours returned here, so
//! daylight-saving changes are handled in one place (the web crate).
//!
//! Whether bots count is the guild's `count_bots` setting, passed to every
//! figure as [`Bots`]. Left out (the default): messages through
//! `author_kind = 0` (bots and webhooks out); voice, reactions and
//! membership by leaving out users the catalogue knows as bots (and, for
//! reactions received, authors seen writing as a bot or webhook);
//! guild-wide totals as the total less its `bot_*` share. Counted: every
//! author, reactor, voice user and member.

/// The CTE every O(days) read starts with: `s` (`days_from`, `days_to`),
/// the whole local days of guild `$1` inside `[$2, $3)`
/// (`serverpulse_full_days`); the range's two ends outside them,
/// `[$2, days_from)` and `[days_to, $3)`, are read from the hourly
/// rollups, each as a range scan of its own (a join with a table of the
/// two ranges lets the planner scan every partition instead).
macro_rules! split_days {
    () => {
        "s as (select days_from, days_to from serverpulse_full_days($1, $2, $3))"
    };
}

/// The rows of `$table` (aliased `$alias`, with `$columns` selected) of
/// guild `$1` whose `hour` meets `$first` or `$second` (two conditions on
/// `hour`, two disjoint ranges), as two range scans of the table's
/// `(guild_id, hour, …)` primary key, each pruned to its range's
/// partitions (one scan with `or` would read every partition).
macro_rules! hour_ranges {
    ($columns:literal, $table:literal, $alias:literal, $first:literal, $second:literal) => {
        concat!(
            "select ",
            $columns,
            " from ",
            $table,
            " ",
            $alias,
            " where ",
            $alias,
            ".guild_id = $1 and ",
            $first,
            " union all select ",
            $columns,
            " from ",
            $table,
            " ",
            $alias,
            " where ",
            $alias,
            ".guild_id = $1 and ",
            $second
        )
    };
}

/// The rows of `$table` (aliased `$alias`, with `$columns` selected) of
/// guild `$1` in the two ends of the range outside its whole days (after
/// [`split_days!`]) ([`hour_ranges!`]).
macro_rules! hourly_ends {
    ($columns:literal, $table:literal, $alias:literal) => {
        hour_ranges!(
            $columns,
            $table,
            $alias,
            "hour >= $2 and hour < (select days_from from s)",
            "hour >= (select days_to from s) and hour < $3"
        )
    };
}

/// The rows of `$table` (aliased `$alias`, with `$columns` selected) of
/// guild `$1` outside `[$2, $3)`: what a read from `member_totals`
/// subtracts (see [`covers_all!`]) ([`hour_ranges!`]).
macro_rules! hourly_outside {
    ($columns:literal, $table:literal, $alias:literal) => {
        hour_ranges!($columns, $table, $alias, "hour < $2", "hour >= $3")
    };
}

/// The CTE `w` (`whole`): whether the read of `[$2, $3)` of guild `$1`
/// takes `member_totals` less the hourly rows outside the range
/// ([`hourly_outside!`]) rather than its daily and hourly rows
/// (`serverpulse_covers_all`: the member-days outside the range span at
/// most a day on each side, as for "all time"). Branches are gated on it
/// with `(select whole from w)`, a one-time filter: the other branch's
/// scans do not run.
macro_rules! covers_all {
    () => {
        "w as (select serverpulse_covers_all($1, $2, $3) as whole)"
    };
}

/// The whole-day rows of `$table` (aliased `d`, with `$columns` selected)
/// of guild `$1` (after [`split_days!`]): a range scan of its
/// `(guild_id, day_start, …)` primary key.
macro_rules! whole_days {
    ($columns:literal, $table:literal) => {
        concat!(
            "select ",
            $columns,
            " from ",
            $table,
            " d
             where d.guild_id = $1 and d.day_start >= (select days_from from s)
               and d.day_start < (select days_to from s)"
        )
    };
}

/// `msg_rows`: the `message_rollup` rows of `[$2, $3)` of guild `$1` as
/// whole days of `message_daily` and hourly rows at the ends (after
/// [`split_days!`]). Columns: `channel_id, author_id, author_kind,
/// thread_parent_id, messages, attachments, embeds, stickers, hour` (a daily
/// row's `hour` is its last hour with messages). Sums, distinct authors
/// and channels, and the last hour are those of the hourly rows alone.
macro_rules! msg_rows {
    () => {
        concat!(
            "msg_rows as (",
            whole_days!(
                "d.channel_id, d.author_id, d.author_kind, d.thread_parent_id, d.messages,
                 d.attachments, d.embeds, d.stickers, d.last_hour as hour",
                "message_daily"
            ),
            " union all ",
            hourly_ends!(
                "m.channel_id, m.author_id, m.author_kind, m.thread_parent_id, m.messages,
                 m.attachments, m.embeds, m.stickers, m.hour",
                "message_rollup",
                "m"
            ),
            ")"
        )
    };
}

/// `reaction_rows`: `reaction_rollup` rows of the range like
/// [`msg_rows!`] (receivers summed). Columns: `channel_id, user_id, emoji,
/// added, removed, hour` (a daily row's last hour with an add or removal).
macro_rules! reaction_rows {
    () => {
        concat!(
            "reaction_rows as (",
            whole_days!(
                "d.channel_id, d.user_id, d.emoji, d.added, d.removed, d.last_hour as hour",
                "reaction_daily"
            ),
            " union all ",
            hourly_ends!(
                "r.channel_id, r.user_id, r.emoji, r.added, r.removed, r.hour",
                "reaction_rollup",
                "r"
            ),
            ")"
        )
    };
}

/// `voice_rows`: `voice_rollup` rows of the range like [`msg_rows!`].
/// Columns: `channel_id, user_id, seconds, hour` (a daily row's last hour
/// with voice time).
macro_rules! voice_rows {
    () => {
        concat!(
            "voice_rows as (",
            whole_days!(
                "d.channel_id, d.user_id, d.seconds, d.last_hour as hour",
                "voice_daily"
            ),
            " union all ",
            hourly_ends!(
                "v.channel_id, v.user_id, v.seconds::bigint, v.hour",
                "voice_rollup",
                "v"
            ),
            ")"
        )
    };
}

mod channel_health;
mod channels;
mod emoji;
mod health;
mod member;
mod membership;
mod presence;
mod rankings;
mod threads;

pub use channel_health::*;
pub use channels::*;
pub use emoji::*;
pub use health::*;
pub use member::*;
pub use membership::*;
pub use presence::*;
pub use rankings::*;
pub use threads::*;

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use super::DbError;
use crate::ids::Snowflake;

/// Whether bot accounts (and, for messages, webhooks) count in a figure:
/// the guild's `count_bots` setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Bots {
    /// Members only (the default).
    #[default]
    LeftOut,
    /// Bots and webhooks count like members.
    Counted,
}

impl Bots {
    /// From `guild_settings.count_bots`.
    pub fn from_setting(count_bots: bool) -> Self {
        if count_bots {
            Self::Counted
        } else {
            Self::LeftOut
        }
    }

    /// The value bound as a query's `count_bots` parameter.
    pub fn counted(self) -> bool {
        self == Self::Counted
    }
}

/// Guild-wide sums of `guild_hourly` over a range. Reactions, voice time,
/// joins, rejoins and leaves follow [`Bots`]; the content columns and
/// deletions count every author (a deletion event does not say whose
/// message it was).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct GuildTotals {
    /// Every message, bots and webhooks included.
    pub all_messages: i64,
    /// Messages counted: by members, and by bots and webhooks when
    /// [`Bots::Counted`].
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
    bots: Bots,
) -> Result<GuildTotals, DbError> {
    // $4 (count_bots): figures keep the bots' share, else subtract it.
    Ok(sqlx::query_as(
        "select coalesce(sum(messages), 0)::bigint as all_messages,
                coalesce(sum(case when $4 then messages else member_messages end), 0)::bigint as messages,
                coalesce(sum(attachments), 0)::bigint as attachments,
                coalesce(sum(embeds), 0)::bigint as embeds,
                coalesce(sum(stickers), 0)::bigint as stickers,
                coalesce(sum(thread_messages), 0)::bigint as thread_messages,
                coalesce(sum(reactions_added - case when $4 then 0 else bot_reactions_added end), 0)::bigint as reactions_added,
                coalesce(sum(reactions_removed - case when $4 then 0 else bot_reactions_removed end), 0)::bigint as reactions_removed,
                coalesce(sum(voice_seconds - case when $4 then 0 else bot_voice_seconds end), 0)::bigint as voice_seconds,
                coalesce(sum(joins - case when $4 then 0 else bot_joins end), 0)::bigint as joins,
                coalesce(sum(rejoins - case when $4 then 0 else bot_rejoins end), 0)::bigint as rejoins,
                coalesce(sum(leaves - case when $4 then 0 else bot_leaves end), 0)::bigint as leaves,
                coalesce(sum(deletions), 0)::bigint as deletions,
                coalesce(sum(threads_created), 0)::bigint as threads_created,
                count(*)::bigint as hours_with_data
         from guild_hourly where guild_id = $1 and hour >= $2 and hour < $3",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(bots.counted())
    .fetch_one(executor)
    .await?)
}

/// One hour of guild-wide totals (for series, heatmaps and charts), bots
/// counted as [`guild_totals`] counts them.
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
    bots: Bots,
) -> Result<Vec<HourTotals>, DbError> {
    Ok(sqlx::query_as(
        "select hour, (case when $4 then messages else member_messages end)::bigint as messages,
                voice_seconds - case when $4 then 0 else bot_voice_seconds end as voice_seconds,
                (reactions_added - case when $4 then 0 else bot_reactions_added end)::bigint as reactions_added,
                (joins - case when $4 then 0 else bot_joins end)::bigint as joins,
                (leaves - case when $4 then 0 else bot_leaves end)::bigint as leaves,
                threads_created::bigint as threads_created
         from guild_hourly where guild_id = $1 and hour >= $2 and hour < $3 order by hour",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .bind(bots.counted())
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
