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
//! Whether bots count is the guild's `count_bots` setting, passed to every
//! figure as [`Bots`]. Left out (the default): messages through
//! `author_kind = 0` (bots and webhooks out); voice, reactions and
//! membership by leaving out users the catalogue knows as bots (and, for
//! reactions received, authors seen writing as a bot or webhook);
//! guild-wide totals as the total less its `bot_*` share. Counted: every
//! author, reactor, voice user and member.

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
