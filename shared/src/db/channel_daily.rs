//! Per-channel daily rows (`message_daily`, `reaction_daily`,
//! `voice_daily`): the flush's write, and reading them back for audits.
//!
//! Each is an hourly rollup summed by the guild's local day (the rule of
//! their migration, as for `member_daily`): reads take a period's whole
//! days from here and its ends from the hourly rows
//! ([`super::daily::full_days`]), so a channel figure is the hourly one to
//! the unit in O(days).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::DbError;
use crate::ids::Snowflake;
use crate::rollup::RollupBatch;

fn ids(values: impl Iterator<Item = Snowflake>) -> Vec<i64> {
    values.map(Snowflake::to_db).collect()
}

/// The guilds' local day of each (guild, hour) of `r`, from their zones in
/// `guild_settings` read `for share` (a `/setup` timezone change, which
/// rebuilds the guild's days, commits wholly before or after the flush).
/// `r` is the statement's own CTE of the batch rows.
macro_rules! with_days {
    ($rows:literal) => {
        concat!(
            "with r as (",
            $rows,
            "), zones as (
                 select guild_id, serverpulse_zone(timezone) as tz from guild_settings
                 where guild_id in (select guild_id from r)
                 for share
             ), days as (
                 select h.guild_id, h.hour, serverpulse_day_start(h.hour, coalesce(z.tz, 'UTC')) as day_start
                 from (select distinct guild_id, hour from r) h
                 left join zones z using (guild_id)
             ) "
        )
    };
}

/// Adds the batch's message, reaction and voice rows to the channel daily
/// tables, one upsert each, in the flush's transaction. The batch holds
/// one row per hourly key; SQL sums them per local day. Rows go in key
/// order, the one order for every writer, so two flushes of a guild wait
/// for each other and never deadlock.
pub(super) async fn add(conn: &mut PgConnection, batch: &RollupBatch) -> Result<(), DbError> {
    if !batch.messages.is_empty() {
        let rows: Vec<_> = batch.messages.iter().collect();
        sqlx::query(concat!(
            with_days!(
                "select * from unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::bigint[],
                                      $5::smallint[], $6::bigint[], $7::int[], $8::int[], $9::int[],
                                      $10::int[])
                     as r(guild_id, hour, channel_id, author_id, author_kind, thread_parent_id,
                          messages, attachments, embeds, stickers)"
            ),
            "insert into message_daily (guild_id, day_start, channel_id, author_id, author_kind,
                                        thread_parent_id, messages, attachments, embeds, stickers,
                                        last_hour)
             select r.guild_id, d.day_start, r.channel_id, r.author_id, r.author_kind,
                    max(r.thread_parent_id), sum(r.messages), sum(r.attachments), sum(r.embeds),
                    sum(r.stickers), max(r.hour) filter (where r.messages > 0)
             from r join days d using (guild_id, hour)
             group by r.guild_id, d.day_start, r.channel_id, r.author_id, r.author_kind
             order by r.guild_id, d.day_start, r.channel_id, r.author_id, r.author_kind
             on conflict (guild_id, day_start, channel_id, author_id, author_kind) do update set
                 messages = message_daily.messages + excluded.messages,
                 attachments = message_daily.attachments + excluded.attachments,
                 embeds = message_daily.embeds + excluded.embeds,
                 stickers = message_daily.stickers + excluded.stickers,
                 last_hour = greatest(message_daily.last_hour, excluded.last_hour)"
        ))
        .bind(ids(rows.iter().map(|(k, _)| k.guild_id)))
        .bind(rows.iter().map(|(k, _)| k.hour.start()).collect::<Vec<_>>())
        .bind(ids(rows.iter().map(|(k, _)| k.channel_id)))
        .bind(ids(rows.iter().map(|(k, _)| k.author_id)))
        .bind(
            rows.iter()
                .map(|(_, v)| v.author_kind.to_db())
                .collect::<Vec<_>>(),
        )
        .bind(
            rows.iter()
                .map(|(_, v)| v.thread_parent_id.map(Snowflake::to_db))
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|(_, v)| v.messages).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, v)| v.attachments).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, v)| v.embeds).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, v)| v.stickers).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }

    if !batch.reactions.is_empty() {
        let rows: Vec<_> = batch.reactions.iter().collect();
        sqlx::query(concat!(
            with_days!(
                "select * from unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::bigint[],
                                      $5::text[], $6::int[], $7::int[])
                     as r(guild_id, hour, channel_id, user_id, emoji, added, removed)"
            ),
            "insert into reaction_daily (guild_id, day_start, channel_id, user_id, emoji, added,
                                         removed, last_hour)
             select r.guild_id, d.day_start, r.channel_id, r.user_id, r.emoji, sum(r.added),
                    sum(r.removed), max(r.hour) filter (where r.added > 0 or r.removed > 0)
             from r join days d using (guild_id, hour)
             group by r.guild_id, d.day_start, r.channel_id, r.user_id, r.emoji
             order by r.guild_id, d.day_start, r.channel_id, r.user_id, r.emoji
             on conflict (guild_id, day_start, channel_id, user_id, emoji) do update set
                 added = reaction_daily.added + excluded.added,
                 removed = reaction_daily.removed + excluded.removed,
                 last_hour = greatest(reaction_daily.last_hour, excluded.last_hour)"
        ))
        .bind(ids(rows.iter().map(|(k, _)| k.guild_id)))
        .bind(rows.iter().map(|(k, _)| k.hour.start()).collect::<Vec<_>>())
        .bind(ids(rows.iter().map(|(k, _)| k.channel_id)))
        .bind(ids(rows.iter().map(|(k, _)| k.user_id)))
        .bind(
            rows.iter()
                .map(|(k, _)| k.emoji.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(rows.iter().map(|(_, v)| v.added).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, v)| v.removed).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }

    if !batch.voice_seconds.is_empty() {
        let rows: Vec<_> = batch.voice_seconds.iter().collect();
        sqlx::query(concat!(
            with_days!(
                "select * from unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::bigint[],
                                      $5::int[])
                     as r(guild_id, hour, channel_id, user_id, seconds)"
            ),
            "insert into voice_daily (guild_id, day_start, channel_id, user_id, seconds, last_hour)
             select r.guild_id, d.day_start, r.channel_id, r.user_id, sum(r.seconds),
                    max(r.hour) filter (where r.seconds > 0)
             from r join days d using (guild_id, hour)
             group by r.guild_id, d.day_start, r.channel_id, r.user_id
             order by r.guild_id, d.day_start, r.channel_id, r.user_id
             on conflict (guild_id, day_start, channel_id, user_id) do update set
                 seconds = voice_daily.seconds + excluded.seconds,
                 last_hour = greatest(voice_daily.last_hour, excluded.last_hour)"
        ))
        .bind(ids(rows.iter().map(|(k, _)| k.guild_id)))
        .bind(rows.iter().map(|(k, _)| k.hour.start()).collect::<Vec<_>>())
        .bind(ids(rows.iter().map(|(k, _)| k.channel_id)))
        .bind(ids(rows.iter().map(|(k, _)| k.user_id)))
        .bind(rows.iter().map(|(_, v)| **v).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// One stored day of one channel and author.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct MessageDay {
    pub day_start: DateTime<Utc>,
    pub channel_id: Snowflake,
    pub author_id: Snowflake,
    pub author_kind: i16,
    pub thread_parent_id: Option<Snowflake>,
    pub messages: i32,
    pub attachments: i32,
    pub embeds: i32,
    pub stickers: i32,
    pub last_hour: Option<DateTime<Utc>>,
}

/// One stored day of one channel, reactor and emoji.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReactionDay {
    pub day_start: DateTime<Utc>,
    pub channel_id: Snowflake,
    pub user_id: Snowflake,
    pub emoji: String,
    pub added: i32,
    pub removed: i32,
    pub last_hour: Option<DateTime<Utc>>,
}

/// One stored day of one voice channel and member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct VoiceDay {
    pub day_start: DateTime<Utc>,
    pub channel_id: Snowflake,
    pub user_id: Snowflake,
    pub seconds: i64,
    pub last_hour: Option<DateTime<Utc>>,
}

/// Every channel daily row of a guild.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelDays {
    pub messages: Vec<MessageDay>,
    pub reactions: Vec<ReactionDay>,
    pub voice: Vec<VoiceDay>,
}

/// Every channel daily row of a guild, in key order (tests and audits: it
/// reads all of the guild's rows).
pub async fn channel_days(
    conn: &mut PgConnection,
    guild_id: Snowflake,
) -> Result<ChannelDays, DbError> {
    Ok(ChannelDays {
        messages: sqlx::query_as(
            "select day_start, channel_id, author_id, author_kind, thread_parent_id, messages,
                    attachments, embeds, stickers, last_hour
             from message_daily where guild_id = $1
             order by day_start, channel_id, author_id, author_kind",
        )
        .bind(guild_id)
        .fetch_all(&mut *conn)
        .await?,
        reactions: sqlx::query_as(
            "select day_start, channel_id, user_id, emoji, added, removed, last_hour
             from reaction_daily where guild_id = $1
             order by day_start, channel_id, user_id, emoji collate \"C\"",
        )
        .bind(guild_id)
        .fetch_all(&mut *conn)
        .await?,
        voice: sqlx::query_as(
            "select day_start, channel_id, user_id, seconds, last_hour
             from voice_daily where guild_id = $1 order by day_start, channel_id, user_id",
        )
        .bind(guild_id)
        .fetch_all(&mut *conn)
        .await?,
    })
}
