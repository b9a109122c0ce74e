//! Writing and reading rollups.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::DbError;
use crate::ids::Snowflake;
use crate::rollup::RollupBatch;

/// Creates the monthly partitions the given months need (idempotent).
pub async fn ensure_partitions(
    conn: &mut PgConnection,
    months: &[DateTime<Utc>],
) -> Result<(), DbError> {
    if months.is_empty() {
        return Ok(());
    }
    sqlx::query("select serverpulse_ensure_partitions(m) from unnest($1::timestamptz[]) as m")
        .bind(months)
        .execute(conn)
        .await?;
    Ok(())
}

fn ids(values: impl Iterator<Item = Snowflake>) -> Vec<i64> {
    values.map(Snowflake::to_db).collect()
}

/// Adds a batch to the rollup tables: one `INSERT .. SELECT FROM UNNEST ..
/// ON CONFLICT` per table, so the cost is a handful of statements whatever
/// the batch size. Counts add up; voice peaks keep the greatest. Run it in
/// the transaction that also commits the shard checkpoint.
pub async fn flush_batch(conn: &mut PgConnection, batch: &RollupBatch) -> Result<(), DbError> {
    ensure_partitions(&mut *conn, &batch.months()).await?;

    if !batch.messages.is_empty() {
        let rows: Vec<_> = batch.messages.iter().collect();
        sqlx::query(
            "insert into message_rollup
                 (guild_id, hour, channel_id, author_id, thread_parent_id, author_kind,
                  messages, attachments, embeds, stickers)
             select * from unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::bigint[],
                                  $5::bigint[], $6::smallint[], $7::int[], $8::int[], $9::int[], $10::int[])
             on conflict (guild_id, hour, channel_id, author_id) do update set
                 messages = message_rollup.messages + excluded.messages,
                 attachments = message_rollup.attachments + excluded.attachments,
                 embeds = message_rollup.embeds + excluded.embeds,
                 stickers = message_rollup.stickers + excluded.stickers",
        )
        .bind(ids(rows.iter().map(|(k, _)| k.guild_id)))
        .bind(rows.iter().map(|(k, _)| k.hour.start()).collect::<Vec<_>>())
        .bind(ids(rows.iter().map(|(k, _)| k.channel_id)))
        .bind(ids(rows.iter().map(|(k, _)| k.author_id)))
        .bind(rows.iter().map(|(_, v)| v.thread_parent_id.map(Snowflake::to_db)).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, v)| v.author_kind.to_db()).collect::<Vec<_>>())
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
            "insert into reaction_rollup
                 (guild_id, hour, channel_id, user_id, receiver_id, emoji, added, removed)
             select * from unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::bigint[],
                                  $5::bigint[], $6::text[], $7::int[], $8::int[])
             on conflict (guild_id, hour, channel_id, user_id, receiver_id, emoji) do update set
                 added = reaction_rollup.added + excluded.added,
                 removed = reaction_rollup.removed + excluded.removed",
        )
        .bind(ids(rows.iter().map(|(k, _)| k.guild_id)))
        .bind(rows.iter().map(|(k, _)| k.hour.start()).collect::<Vec<_>>())
        .bind(ids(rows.iter().map(|(k, _)| k.channel_id)))
        .bind(ids(rows.iter().map(|(k, _)| k.user_id)))
        .bind(ids(rows.iter().map(|(k, _)| k.receiver_id)))
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
            "insert into voice_rollup (guild_id, hour, channel_id, user_id, seconds)
             select * from unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::int[])
             on conflict (guild_id, hour, channel_id, user_id) do update set
                 seconds = voice_rollup.seconds + excluded.seconds",
        )
        .bind(ids(rows.iter().map(|(k, _)| k.guild_id)))
        .bind(rows.iter().map(|(k, _)| k.hour.start()).collect::<Vec<_>>())
        .bind(ids(rows.iter().map(|(k, _)| k.channel_id)))
        .bind(ids(rows.iter().map(|(k, _)| k.user_id)))
        .bind(rows.iter().map(|(_, v)| **v).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }

    if !batch.voice_peaks.is_empty() {
        // Every channel with members in it has people in it: the member
        // peaks' keys are a subset of the peaks' keys.
        let rows: Vec<_> = batch.voice_peaks.iter().collect();
        sqlx::query(
            "insert into voice_peak_rollup (guild_id, hour, channel_id, peak_concurrent, member_peak)
             select * from unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::int[], $5::int[])
             on conflict (guild_id, hour, channel_id) do update set
                 peak_concurrent = greatest(voice_peak_rollup.peak_concurrent, excluded.peak_concurrent),
                 member_peak = greatest(voice_peak_rollup.member_peak, excluded.member_peak)",
        )
        .bind(ids(rows.iter().map(|(k, _)| k.guild_id)))
        .bind(rows.iter().map(|(k, _)| k.hour.start()).collect::<Vec<_>>())
        .bind(ids(rows.iter().map(|(k, _)| k.channel_id)))
        .bind(rows.iter().map(|(_, v)| **v).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|(k, _)| batch.member_voice_peaks.get(*k).copied().unwrap_or(0))
                .collect::<Vec<_>>(),
        )
        .execute(&mut *conn)
        .await?;
    }

    if !batch.deletions.is_empty() {
        let rows: Vec<_> = batch.deletions.iter().collect();
        sqlx::query(
            "insert into deletion_rollup (guild_id, hour, channel_id, deleted, bulk_deleted)
             select * from unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::int[], $5::int[])
             on conflict (guild_id, hour, channel_id) do update set
                 deleted = deletion_rollup.deleted + excluded.deleted,
                 bulk_deleted = deletion_rollup.bulk_deleted + excluded.bulk_deleted",
        )
        .bind(ids(rows.iter().map(|(k, _)| k.guild_id)))
        .bind(rows.iter().map(|(k, _)| k.hour.start()).collect::<Vec<_>>())
        .bind(ids(rows.iter().map(|(k, _)| k.channel_id)))
        .bind(rows.iter().map(|(_, v)| v.deleted).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, v)| v.bulk_deleted).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }

    if !batch.guild_hourly.is_empty() {
        let rows: Vec<_> = batch.guild_hourly.iter().collect();
        let column = |f: fn(&crate::rollup::GuildHourly) -> i32| {
            rows.iter().map(|(_, v)| f(v)).collect::<Vec<_>>()
        };
        sqlx::query(
            "insert into guild_hourly
                 (guild_id, hour, messages, member_messages, attachments, embeds, stickers,
                  thread_messages, reactions_added, reactions_removed, voice_seconds,
                  joins, rejoins, leaves, deletions, threads_created,
                  bot_reactions_added, bot_reactions_removed, bot_voice_seconds,
                  bot_joins, bot_rejoins, bot_leaves)
             select * from unnest($1::bigint[], $2::timestamptz[], $3::int[], $4::int[], $5::int[],
                                  $6::int[], $7::int[], $8::int[], $9::int[], $10::int[], $11::bigint[],
                                  $12::int[], $13::int[], $14::int[], $15::int[], $16::int[],
                                  $17::int[], $18::int[], $19::bigint[], $20::int[], $21::int[], $22::int[])
             on conflict (guild_id, hour) do update set
                 messages = guild_hourly.messages + excluded.messages,
                 member_messages = guild_hourly.member_messages + excluded.member_messages,
                 attachments = guild_hourly.attachments + excluded.attachments,
                 embeds = guild_hourly.embeds + excluded.embeds,
                 stickers = guild_hourly.stickers + excluded.stickers,
                 thread_messages = guild_hourly.thread_messages + excluded.thread_messages,
                 reactions_added = guild_hourly.reactions_added + excluded.reactions_added,
                 reactions_removed = guild_hourly.reactions_removed + excluded.reactions_removed,
                 voice_seconds = guild_hourly.voice_seconds + excluded.voice_seconds,
                 joins = guild_hourly.joins + excluded.joins,
                 rejoins = guild_hourly.rejoins + excluded.rejoins,
                 leaves = guild_hourly.leaves + excluded.leaves,
                 deletions = guild_hourly.deletions + excluded.deletions,
                 threads_created = guild_hourly.threads_created + excluded.threads_created,
                 bot_reactions_added = guild_hourly.bot_reactions_added + excluded.bot_reactions_added,
                 bot_reactions_removed = guild_hourly.bot_reactions_removed + excluded.bot_reactions_removed,
                 bot_voice_seconds = guild_hourly.bot_voice_seconds + excluded.bot_voice_seconds,
                 bot_joins = guild_hourly.bot_joins + excluded.bot_joins,
                 bot_rejoins = guild_hourly.bot_rejoins + excluded.bot_rejoins,
                 bot_leaves = guild_hourly.bot_leaves + excluded.bot_leaves",
        )
        .bind(ids(rows.iter().map(|(k, _)| k.guild_id)))
        .bind(rows.iter().map(|(k, _)| k.hour.start()).collect::<Vec<_>>())
        .bind(column(|v| v.messages))
        .bind(column(|v| v.member_messages))
        .bind(column(|v| v.attachments))
        .bind(column(|v| v.embeds))
        .bind(column(|v| v.stickers))
        .bind(column(|v| v.thread_messages))
        .bind(column(|v| v.reactions_added))
        .bind(column(|v| v.reactions_removed))
        .bind(rows.iter().map(|(_, v)| v.voice_seconds).collect::<Vec<_>>())
        .bind(column(|v| v.joins))
        .bind(column(|v| v.rejoins))
        .bind(column(|v| v.leaves))
        .bind(column(|v| v.deletions))
        .bind(column(|v| v.threads_created))
        .bind(column(|v| v.bot_reactions_added))
        .bind(column(|v| v.bot_reactions_removed))
        .bind(rows.iter().map(|(_, v)| v.bot_voice_seconds).collect::<Vec<_>>())
        .bind(column(|v| v.bot_joins))
        .bind(column(|v| v.bot_rejoins))
        .bind(column(|v| v.bot_leaves))
        .execute(&mut *conn)
        .await?;
    }
    if !batch.guild_voice_peaks.is_empty() {
        let rows: Vec<_> = batch.guild_voice_peaks.iter().collect();
        sqlx::query(
            "insert into guild_hourly (guild_id, hour, voice_peak)
             select * from unnest($1::bigint[], $2::timestamptz[], $3::int[])
             on conflict (guild_id, hour) do update set
                 voice_peak = greatest(guild_hourly.voice_peak, excluded.voice_peak)",
        )
        .bind(ids(rows.iter().map(|(k, _)| k.guild_id)))
        .bind(rows.iter().map(|(k, _)| k.hour.start()).collect::<Vec<_>>())
        .bind(rows.iter().map(|(_, v)| **v).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    if !batch.pre_tracking_reactions.is_empty() {
        let rows: Vec<_> = batch.pre_tracking_reactions.iter().collect();
        sqlx::query(
            "insert into pre_tracking_reactions (guild_id, message_id, emoji, channel_id, delta)
             select * from unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::int[])
             on conflict (guild_id, message_id, emoji) do update set
                 delta = pre_tracking_reactions.delta + excluded.delta",
        )
        .bind(ids(rows.iter().map(|(k, _)| k.guild_id)))
        .bind(ids(rows.iter().map(|(k, _)| k.message_id)))
        .bind(
            rows.iter()
                .map(|(k, _)| k.emoji.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(ids(rows.iter().map(|(k, _)| k.channel_id)))
        .bind(rows.iter().map(|(_, v)| **v).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    add_member_daily(&mut *conn, batch).await?;
    super::channel_daily::add(&mut *conn, batch).await?;
    Ok(())
}

/// One member's hourly sums in a batch: what [`add_member_daily`] adds to
/// the member's local day.
#[derive(Default)]
struct MemberHour {
    messages: i64,
    bot_messages: i64,
    given: i64,
    received: i64,
    voice: i64,
}

/// Adds the batch's per-member rows to `member_daily` (one upsert): summed
/// per (guild, hour, member) here, then per local day in SQL, whose day
/// edges come from the guild's timezone in `guild_settings` (read `for
/// share`, so a concurrent `/setup` timezone change, which rebuilds the
/// guild's days, commits wholly before or after this flush). Keeps the
/// rule of the `member_daily` migration: a daily row is the sum of the
/// member's hourly rows of that day.
async fn add_member_daily(conn: &mut PgConnection, batch: &RollupBatch) -> Result<(), DbError> {
    use crate::rollup::AuthorKind;
    use crate::time::Hour;
    let mut sums: HashMap<(Snowflake, Hour, Snowflake), MemberHour> = HashMap::new();
    for (k, v) in &batch.messages {
        let s = sums.entry((k.guild_id, k.hour, k.author_id)).or_default();
        if v.author_kind == AuthorKind::Member {
            s.messages += i64::from(v.messages);
        } else {
            s.bot_messages += i64::from(v.messages);
        }
    }
    for (k, v) in &batch.reactions {
        if k.user_id != Snowflake(0) {
            sums.entry((k.guild_id, k.hour, k.user_id))
                .or_default()
                .given += i64::from(v.added);
        }
        if k.receiver_id != Snowflake(0) {
            sums.entry((k.guild_id, k.hour, k.receiver_id))
                .or_default()
                .received += i64::from(v.added);
        }
    }
    for (k, v) in &batch.voice_seconds {
        sums.entry((k.guild_id, k.hour, k.user_id))
            .or_default()
            .voice += i64::from(*v);
    }
    if sums.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = sums.into_iter().collect();
    let days: Vec<ActiveDay> = sqlx::query_as(
        "with r as (
             select * from unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::bigint[],
                                  $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])
                 as r(guild_id, hour, user_id, messages, bot_messages, given, received, voice)
         ), zones as (
             select guild_id, serverpulse_zone(timezone) as tz from guild_settings
             where guild_id in (select guild_id from r)
             for share
         ), days as (
             select h.guild_id, h.hour, serverpulse_day_start(h.hour, coalesce(z.tz, 'UTC')) as day_start,
                    coalesce(z.tz, 'UTC') as tz
             from (select distinct guild_id, hour from r) h
             left join zones z using (guild_id)
         )
         insert into member_daily (guild_id, day_start, day_end, user_id, messages, bot_messages,
                                   reactions_given, reactions_received, voice_seconds)
         select r.guild_id, d.day_start, serverpulse_day_end(d.day_start, min(d.tz)), r.user_id,
                sum(r.messages), sum(r.bot_messages), sum(r.given), sum(r.received), sum(r.voice)
         from r join days d using (guild_id, hour)
         group by r.guild_id, d.day_start, r.user_id
         -- one order for every writer: two flushes of a guild wait, never deadlock
         order by r.guild_id, d.day_start, r.user_id
         on conflict (guild_id, day_start, user_id) do update set
             messages = member_daily.messages + excluded.messages,
             bot_messages = member_daily.bot_messages + excluded.bot_messages,
             reactions_given = member_daily.reactions_given + excluded.reactions_given,
             reactions_received = member_daily.reactions_received + excluded.reactions_received,
             voice_seconds = member_daily.voice_seconds + excluded.voice_seconds
         returning guild_id, day_start, day_end, user_id,
                   serverpulse_active_flags(messages, bot_messages, reactions_given, voice_seconds)",
    )
    .bind(ids(rows.iter().map(|((g, _, _), _)| *g)))
    .bind(rows.iter().map(|((_, h, _), _)| h.start()).collect::<Vec<_>>())
    .bind(ids(rows.iter().map(|((_, _, u), _)| *u)))
    .bind(rows.iter().map(|(_, s)| s.messages).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, s)| s.bot_messages).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, s)| s.given).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, s)| s.received).collect::<Vec<_>>())
    .bind(rows.iter().map(|(_, s)| s.voice).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    add_member_totals(&mut *conn, &rows).await?;
    mark_active(conn, &days).await
}

/// Adds the batch's per-member sums to `member_totals` (one upsert, in
/// key order like every writer), keeping the rule of its migration: a row
/// is the sum of the member's `member_daily` rows.
async fn add_member_totals(
    conn: &mut PgConnection,
    rows: &[((Snowflake, crate::time::Hour, Snowflake), MemberHour)],
) -> Result<(), DbError> {
    let mut sums: HashMap<(Snowflake, Snowflake), MemberHour> = HashMap::new();
    for ((guild, _, user), hour) in rows {
        let s = sums.entry((*guild, *user)).or_default();
        s.messages += hour.messages;
        s.bot_messages += hour.bot_messages;
        s.given += hour.given;
        s.received += hour.received;
        s.voice += hour.voice;
    }
    let sums: Vec<_> = sums.into_iter().collect();
    sqlx::query(
        "insert into member_totals as t (guild_id, user_id, messages, bot_messages,
                                         reactions_given, reactions_received, voice_seconds)
         select * from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],
                              $5::bigint[], $6::bigint[], $7::bigint[])
         order by 1, 2
         on conflict (guild_id, user_id) do update set
             messages = t.messages + excluded.messages,
             bot_messages = t.bot_messages + excluded.bot_messages,
             reactions_given = t.reactions_given + excluded.reactions_given,
             reactions_received = t.reactions_received + excluded.reactions_received,
             voice_seconds = t.voice_seconds + excluded.voice_seconds",
    )
    .bind(ids(sums.iter().map(|((g, _), _)| *g)))
    .bind(ids(sums.iter().map(|((_, u), _)| *u)))
    .bind(sums.iter().map(|(_, s)| s.messages).collect::<Vec<_>>())
    .bind(sums.iter().map(|(_, s)| s.bot_messages).collect::<Vec<_>>())
    .bind(sums.iter().map(|(_, s)| s.given).collect::<Vec<_>>())
    .bind(sums.iter().map(|(_, s)| s.received).collect::<Vec<_>>())
    .bind(sums.iter().map(|(_, s)| s.voice).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// A member's day after the flush's upsert: guild, day start and end,
/// member, and the `serverpulse_active_flags` of their row.
type ActiveDay = (Snowflake, DateTime<Utc>, DateTime<Utc>, Snowflake, i32);

/// Sets the bits of the members the batch made active in `active_daily`
/// (the rule of its migration: a bit is set exactly when the member's
/// `member_daily` row of that day has the flag), numbering new members.
async fn mark_active(conn: &mut PgConnection, days: &[ActiveDay]) -> Result<(), DbError> {
    let active: Vec<_> = days.iter().filter(|d| d.4 != 0).collect();
    if active.is_empty() {
        return Ok(());
    }
    sqlx::query("select serverpulse_mark_active($1, $2, $3, $4, $5)")
        .bind(ids(active.iter().map(|d| d.0)))
        .bind(active.iter().map(|d| d.1).collect::<Vec<_>>())
        .bind(active.iter().map(|d| d.2).collect::<Vec<_>>())
        .bind(ids(active.iter().map(|d| d.3)))
        .bind(active.iter().map(|d| d.4).collect::<Vec<_>>())
        .execute(conn)
        .await?;
    Ok(())
}

/// Reads every rollup row of one guild back into a batch (without the event
/// count): what end-to-end tests compare with ground truth, and a way to
/// audit a guild's stored numbers. Served by the primary keys' leading
/// `guild_id`; it reads all partitions, so it is for tests and audits, not
/// for commands.
pub async fn load_guild(
    conn: &mut PgConnection,
    guild_id: Snowflake,
) -> Result<RollupBatch, DbError> {
    use crate::rollup::*;
    use crate::time::Hour;
    let mut batch = RollupBatch::default();

    let rows: Vec<MessageRow> = sqlx::query_as(
        "select hour, channel_id, author_id, thread_parent_id, author_kind, messages, attachments, embeds, stickers
         from message_rollup where guild_id = $1",
    )
    .bind(guild_id)
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        batch.messages.insert(
            MessageKey {
                guild_id,
                hour: Hour::at(row.hour),
                channel_id: row.channel_id,
                author_id: row.author_id,
            },
            MessageCounts {
                thread_parent_id: row.thread_parent_id,
                author_kind: AuthorKind::from_db(row.author_kind).unwrap_or_default(),
                messages: row.messages,
                attachments: row.attachments,
                embeds: row.embeds,
                stickers: row.stickers,
            },
        );
    }

    let rows: Vec<ReactionRow> = sqlx::query_as(
        "select hour, channel_id, user_id, receiver_id, emoji, added, removed
         from reaction_rollup where guild_id = $1",
    )
    .bind(guild_id)
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        batch.reactions.insert(
            ReactionKey {
                guild_id,
                hour: Hour::at(row.hour),
                channel_id: row.channel_id,
                user_id: row.user_id,
                receiver_id: row.receiver_id,
                emoji: row.emoji,
            },
            ReactionCounts {
                added: row.added,
                removed: row.removed,
            },
        );
    }

    let rows: Vec<(DateTime<Utc>, Snowflake, Snowflake, i32)> = sqlx::query_as(
        "select hour, channel_id, user_id, seconds from voice_rollup where guild_id = $1",
    )
    .bind(guild_id)
    .fetch_all(&mut *conn)
    .await?;
    for (hour, channel_id, user_id, seconds) in rows {
        batch.voice_seconds.insert(
            VoiceKey {
                guild_id,
                hour: Hour::at(hour),
                channel_id,
                user_id,
            },
            seconds,
        );
    }

    let rows: Vec<(DateTime<Utc>, Snowflake, i32, i32)> = sqlx::query_as(
        "select hour, channel_id, peak_concurrent, member_peak from voice_peak_rollup where guild_id = $1",
    )
    .bind(guild_id)
    .fetch_all(&mut *conn)
    .await?;
    for (hour, channel_id, peak, member_peak) in rows {
        let key = ChannelHourKey {
            guild_id,
            hour: Hour::at(hour),
            channel_id,
        };
        batch.voice_peaks.insert(key, peak);
        if member_peak > 0 {
            batch.member_voice_peaks.insert(key, member_peak);
        }
    }

    let rows: Vec<(DateTime<Utc>, Snowflake, i32, i32)> = sqlx::query_as(
        "select hour, channel_id, deleted, bulk_deleted from deletion_rollup where guild_id = $1",
    )
    .bind(guild_id)
    .fetch_all(&mut *conn)
    .await?;
    for (hour, channel_id, deleted, bulk_deleted) in rows {
        batch.deletions.insert(
            ChannelHourKey {
                guild_id,
                hour: Hour::at(hour),
                channel_id,
            },
            DeletionCounts {
                deleted,
                bulk_deleted,
            },
        );
    }

    let rows: Vec<GuildHourlyRow> = sqlx::query_as(
        "select hour, messages, member_messages, attachments, embeds, stickers, thread_messages,
                reactions_added, reactions_removed, voice_seconds, joins, rejoins, leaves, deletions,
                threads_created, voice_peak, bot_reactions_added, bot_reactions_removed,
                bot_voice_seconds, bot_joins, bot_rejoins, bot_leaves
         from guild_hourly where guild_id = $1",
    )
    .bind(guild_id)
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let key = GuildHourKey {
            guild_id,
            hour: Hour::at(row.hour),
        };
        if row.voice_peak > 0 {
            batch.guild_voice_peaks.insert(key, row.voice_peak);
        }
        batch.guild_hourly.insert(key, row.totals());
    }
    Ok(batch)
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    hour: DateTime<Utc>,
    channel_id: Snowflake,
    author_id: Snowflake,
    thread_parent_id: Option<Snowflake>,
    author_kind: i16,
    messages: i32,
    attachments: i32,
    embeds: i32,
    stickers: i32,
}

#[derive(sqlx::FromRow)]
struct ReactionRow {
    hour: DateTime<Utc>,
    channel_id: Snowflake,
    user_id: Snowflake,
    receiver_id: Snowflake,
    emoji: String,
    added: i32,
    removed: i32,
}

#[derive(sqlx::FromRow)]
struct GuildHourlyRow {
    hour: DateTime<Utc>,
    messages: i32,
    member_messages: i32,
    attachments: i32,
    embeds: i32,
    stickers: i32,
    thread_messages: i32,
    reactions_added: i32,
    reactions_removed: i32,
    voice_seconds: i64,
    joins: i32,
    rejoins: i32,
    leaves: i32,
    deletions: i32,
    threads_created: i32,
    voice_peak: i32,
    bot_reactions_added: i32,
    bot_reactions_removed: i32,
    bot_voice_seconds: i64,
    bot_joins: i32,
    bot_rejoins: i32,
    bot_leaves: i32,
}

impl GuildHourlyRow {
    fn totals(&self) -> crate::rollup::GuildHourly {
        crate::rollup::GuildHourly {
            messages: self.messages,
            member_messages: self.member_messages,
            attachments: self.attachments,
            embeds: self.embeds,
            stickers: self.stickers,
            thread_messages: self.thread_messages,
            reactions_added: self.reactions_added,
            reactions_removed: self.reactions_removed,
            voice_seconds: self.voice_seconds,
            joins: self.joins,
            rejoins: self.rejoins,
            leaves: self.leaves,
            deletions: self.deletions,
            threads_created: self.threads_created,
            bot_reactions_added: self.bot_reactions_added,
            bot_reactions_removed: self.bot_reactions_removed,
            bot_voice_seconds: self.bot_voice_seconds,
            bot_joins: self.bot_joins,
            bot_rejoins: self.bot_rejoins,
            bot_leaves: self.bot_leaves,
        }
    }
}
