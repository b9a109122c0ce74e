//! Bulk loading a large guild's history straight into the rollups
//! (their partitions must exist).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::copy::{CopyRows, copy_each};
use crate::db::DbError;
use crate::ids::Snowflake;
use crate::rollup::GuildHourly;

/// One `message_rollup` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageRollupRow {
    pub hour: DateTime<Utc>,
    pub channel_id: Snowflake,
    pub author_id: Snowflake,
    pub thread_parent_id: Option<Snowflake>,
    pub author_kind: i16,
    pub messages: i32,
    pub attachments: i32,
    pub embeds: i32,
    pub stickers: i32,
}

/// One `voice_rollup` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceRollupRow {
    pub hour: DateTime<Utc>,
    pub channel_id: Snowflake,
    pub user_id: Snowflake,
    pub seconds: i32,
}

/// One `reaction_rollup` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionRollupRow {
    pub hour: DateTime<Utc>,
    pub channel_id: Snowflake,
    pub user_id: Snowflake,
    pub receiver_id: Snowflake,
    pub emoji: &'static str,
    pub added: i32,
    pub removed: i32,
}

/// Starts a row of `fields` columns keyed, as every rollup is, by
/// `(guild_id, hour, ..)`.
fn hour_row(
    copy: &mut CopyRows,
    fields: i16,
    guild_id: Snowflake,
    hour: DateTime<Utc>,
) -> &mut CopyRows {
    copy.row(fields).i64(guild_id.to_db()).timestamp(hour)
}

/// `message_rollup` rows of one guild.
pub async fn copy_message_rollup(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    rows: &[MessageRollupRow],
) -> Result<u64, DbError> {
    copy_each(
        conn,
        "copy message_rollup (guild_id, hour, channel_id, author_id, thread_parent_id, author_kind,
                              messages, attachments, embeds, stickers) from stdin (format binary)",
        rows,
        |copy, r| {
            hour_row(copy, 10, guild_id, r.hour)
                .i64(r.channel_id.to_db())
                .i64(r.author_id.to_db())
                .opt_i64(r.thread_parent_id.map(Snowflake::to_db))
                .i16(r.author_kind)
                .i32(r.messages)
                .i32(r.attachments)
                .i32(r.embeds)
                .i32(r.stickers);
        },
    )
    .await
}

/// `voice_rollup` rows of one guild.
pub async fn copy_voice_rollup(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    rows: &[VoiceRollupRow],
) -> Result<u64, DbError> {
    copy_each(
        conn,
        "copy voice_rollup (guild_id, hour, channel_id, user_id, seconds) from stdin (format binary)",
        rows,
        |copy, r| {
            hour_row(copy, 5, guild_id, r.hour)
                .i64(r.channel_id.to_db())
                .i64(r.user_id.to_db())
                .i32(r.seconds);
        },
    )
    .await
}

/// `reaction_rollup` rows of one guild.
pub async fn copy_reaction_rollup(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    rows: &[ReactionRollupRow],
) -> Result<u64, DbError> {
    copy_each(
        conn,
        "copy reaction_rollup (guild_id, hour, channel_id, user_id, receiver_id, emoji, added, removed)
         from stdin (format binary)",
        rows,
        |copy, r| {
            hour_row(copy, 8, guild_id, r.hour)
                .i64(r.channel_id.to_db())
                .i64(r.user_id.to_db())
                .i64(r.receiver_id.to_db())
                .text(r.emoji)
                .i32(r.added)
                .i32(r.removed);
        },
    )
    .await
}

/// `voice_peak_rollup` rows `(hour, channel, peak)` of one guild. The
/// benchmark's voice users are all members, so the peak without bots is
/// the peak.
pub async fn copy_voice_peaks(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    rows: &[(DateTime<Utc>, Snowflake, i32)],
) -> Result<u64, DbError> {
    copy_each(
        conn,
        "copy voice_peak_rollup (guild_id, hour, channel_id, peak_concurrent, member_peak) from stdin (format binary)",
        rows,
        |copy, (hour, channel, peak)| {
            hour_row(copy, 5, guild_id, *hour)
                .i64(channel.to_db())
                .i32(*peak)
                .i32(*peak);
        },
    )
    .await
}

/// `guild_hourly` rows of one guild.
pub async fn copy_guild_hourly(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    rows: &[(DateTime<Utc>, GuildHourly)],
) -> Result<u64, DbError> {
    copy_each(
        conn,
        "copy guild_hourly (guild_id, hour, messages, member_messages, attachments, embeds, stickers,
                            thread_messages, reactions_added, reactions_removed, voice_seconds,
                            joins, rejoins, leaves, deletions, threads_created) from stdin (format binary)",
        rows,
        |copy, (hour, h)| {
            hour_row(copy, 16, guild_id, *hour)
                .i32(h.messages)
                .i32(h.member_messages)
                .i32(h.attachments)
                .i32(h.embeds)
                .i32(h.stickers)
                .i32(h.thread_messages)
                .i32(h.reactions_added)
                .i32(h.reactions_removed)
                .i64(h.voice_seconds)
                .i32(h.joins)
                .i32(h.rejoins)
                .i32(h.leaves)
                .i32(h.deletions)
                .i32(h.threads_created);
        },
    )
    .await
}
