//! Per-channel daily rows (`message_daily`, `reaction_daily`,
//! `voice_daily`): the flush's write, and reading them back for audits.
//!
//! Each is an hourly rollup summed by the guild's local day (the rule of
//! their migration, as for `member_daily`): reads take a period's whole
//! days from here and its ends from the hourly rows
//! ([`super::daily::full_days`]), so a channel figure is the hourly one to
//! the unit in O(days).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::DbError;
use crate::ids::Snowflake;
use crate::rollup::RollupBatch;
use crate::time::Hour;

fn ids(values: impl Iterator<Item = Snowflake>) -> Vec<i64> {
    values.map(Snowflake::to_db).collect()
}

/// The local day (its start) of each guild hour the batch touches, from
/// the guilds' zones in `guild_settings` read `for share` (a `/setup`
/// timezone change, which rebuilds the guild's days, commits wholly before
/// or after the flush): one statement for the three upserts, so each
/// guild's zone and each hour's day are computed once per flush.
async fn day_starts(
    conn: &mut PgConnection,
    batch: &RollupBatch,
) -> Result<HashMap<(Snowflake, Hour), DateTime<Utc>>, DbError> {
    let hours: BTreeSet<(Snowflake, Hour)> = batch
        .messages
        .keys()
        .map(|k| (k.guild_id, k.hour))
        .chain(batch.reactions.keys().map(|k| (k.guild_id, k.hour)))
        .chain(batch.voice_seconds.keys().map(|k| (k.guild_id, k.hour)))
        .collect();
    let rows: Vec<(Snowflake, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "with h as (select * from unnest($1::bigint[], $2::timestamptz[]) as h(guild_id, hour)),
         zones as (
             select guild_id, serverpulse_zone(timezone) as tz from guild_settings
             where guild_id in (select guild_id from h)
             order by guild_id
             for share
         )
         select h.guild_id, h.hour, serverpulse_day_start(h.hour, coalesce(z.tz, 'UTC'))
         from h left join zones z using (guild_id)",
    )
    .bind(ids(hours.iter().map(|(g, _)| *g)))
    .bind(hours.iter().map(|(_, h)| h.start()).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(guild, hour, day)| ((guild, Hour::at(hour)), day))
        .collect())
}

/// Adds the batch's message, reaction and voice rows to the channel daily
/// tables, one upsert each, in the flush's transaction. The batch holds
/// one row per hourly key, bound with its local day; SQL sums them per
/// day. Rows go in key order, the one order for every writer, so two
/// flushes of a guild wait for each other and never deadlock.
pub(super) async fn add(conn: &mut PgConnection, batch: &RollupBatch) -> Result<(), DbError> {
    if batch.messages.is_empty() && batch.reactions.is_empty() && batch.voice_seconds.is_empty() {
        return Ok(());
    }
    let days = day_starts(&mut *conn, batch).await?;
    let day = |guild: Snowflake, hour: Hour| days.get(&(guild, hour)).copied();

    if !batch.messages.is_empty() {
        let rows: Vec<_> = batch.messages.iter().collect();
        sqlx::query(
            "insert into message_daily (guild_id, day_start, channel_id, author_id, author_kind,
                                        thread_parent_id, messages, attachments, embeds, stickers,
                                        last_hour)
             select r.guild_id, r.day_start, r.channel_id, r.author_id, r.author_kind,
                    max(r.thread_parent_id), sum(r.messages), sum(r.attachments), sum(r.embeds),
                    sum(r.stickers), max(r.hour) filter (where r.messages > 0)
             from unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::bigint[],
                         $5::bigint[], $6::smallint[], $7::bigint[], $8::int[], $9::int[],
                         $10::int[], $11::int[])
                  as r(guild_id, hour, day_start, channel_id, author_id, author_kind,
                       thread_parent_id, messages, attachments, embeds, stickers)
             group by r.guild_id, r.day_start, r.channel_id, r.author_id, r.author_kind
             order by r.guild_id, r.day_start, r.channel_id, r.author_id, r.author_kind
             on conflict (guild_id, day_start, channel_id, author_id, author_kind) do update set
                 messages = message_daily.messages + excluded.messages,
                 attachments = message_daily.attachments + excluded.attachments,
                 embeds = message_daily.embeds + excluded.embeds,
                 stickers = message_daily.stickers + excluded.stickers,
                 last_hour = greatest(message_daily.last_hour, excluded.last_hour)",
        )
        .bind(ids(rows.iter().map(|(k, _)| k.guild_id)))
        .bind(rows.iter().map(|(k, _)| k.hour.start()).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|(k, _)| day(k.guild_id, k.hour))
                .collect::<Vec<_>>(),
        )
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
        sqlx::query(
            "insert into reaction_daily (guild_id, day_start, channel_id, user_id, emoji, added,
                                         removed, last_hour)
             select r.guild_id, r.day_start, r.channel_id, r.user_id, r.emoji, sum(r.added),
                    sum(r.removed), max(r.hour) filter (where r.added > 0 or r.removed > 0)
             from unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::bigint[],
                         $5::bigint[], $6::text[], $7::int[], $8::int[])
                  as r(guild_id, hour, day_start, channel_id, user_id, emoji, added, removed)
             group by r.guild_id, r.day_start, r.channel_id, r.user_id, r.emoji
             order by r.guild_id, r.day_start, r.channel_id, r.user_id, r.emoji
             on conflict (guild_id, day_start, channel_id, user_id, emoji) do update set
                 added = reaction_daily.added + excluded.added,
                 removed = reaction_daily.removed + excluded.removed,
                 last_hour = greatest(reaction_daily.last_hour, excluded.last_hour)",
        )
        .bind(ids(rows.iter().map(|(k, _)| k.guild_id)))
        .bind(rows.iter().map(|(k, _)| k.hour.start()).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|(k, _)| day(k.guild_id, k.hour))
                .collect::<Vec<_>>(),
        )
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
        sqlx::query(
            "insert into voice_daily (guild_id, day_start, channel_id, user_id, seconds, last_hour)
             select r.guild_id, r.day_start, r.channel_id, r.user_id, sum(r.seconds),
                    max(r.hour) filter (where r.seconds > 0)
             from unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::bigint[],
                         $5::bigint[], $6::int[])
                  as r(guild_id, hour, day_start, channel_id, user_id, seconds)
             group by r.guild_id, r.day_start, r.channel_id, r.user_id
             order by r.guild_id, r.day_start, r.channel_id, r.user_id
             on conflict (guild_id, day_start, channel_id, user_id) do update set
                 seconds = voice_daily.seconds + excluded.seconds,
                 last_hour = greatest(voice_daily.last_hour, excluded.last_hour)",
        )
        .bind(ids(rows.iter().map(|(k, _)| k.guild_id)))
        .bind(rows.iter().map(|(k, _)| k.hour.start()).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|(k, _)| day(k.guild_id, k.hour))
                .collect::<Vec<_>>(),
        )
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
