//! Seeding a large guild's catalogue: tracking, the guild and its channels,
//! membership spans and members.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::copy::copy_each;
use crate::db::DbError;
use crate::ids::Snowflake;

/// One channel of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRow {
    pub channel_id: Snowflake,
    pub kind: i16,
    pub name: String,
    pub parent_id: Option<Snowflake>,
    pub created_at: DateTime<Utc>,
}

/// One membership span (and, for the last span of a user, the member row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanRow {
    pub user_id: Snowflake,
    pub is_bot: bool,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub is_rejoin: bool,
    pub first_message_at: Option<DateTime<Utc>>,
}

/// Enables tracking for `guild_ids` as of `since` (the benchmark replays
/// history, so tracking must predate it), without an audit entry.
pub async fn enable_tracking(
    conn: &mut PgConnection,
    guild_ids: &[Snowflake],
    since: DateTime<Utc>,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into guild_settings (guild_id, tracking_enabled, tracking_since)
         select g, true, $2 from unnest($1::bigint[]) as g
         on conflict (guild_id) do update set tracking_enabled = true, tracking_since = $2",
    )
    .bind(guild_ids.iter().map(|g| g.to_db()).collect::<Vec<_>>())
    .bind(since)
    .execute(conn)
    .await?;
    Ok(())
}

/// The guild row and its channels.
pub async fn seed_catalogue(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    name: &str,
    member_count: i32,
    channels: &[ChannelRow],
) -> Result<(), DbError> {
    sqlx::query(
        "insert into guilds (guild_id, name, member_count) values ($1, $2, $3)
         on conflict (guild_id) do update set name = excluded.name, member_count = excluded.member_count",
    )
    .bind(guild_id)
    .bind(name)
    .bind(member_count)
    .execute(&mut *conn)
    .await?;
    copy_each(
        conn,
        "copy channels (guild_id, channel_id, kind, name, parent_id, created_at) from stdin (format binary)",
        channels,
        |copy, c| {
            copy.row(6)
                .i64(guild_id.to_db())
                .i64(c.channel_id.to_db())
                .i16(c.kind)
                .text(&c.name)
                .opt_i64(c.parent_id.map(Snowflake::to_db))
                .timestamp(c.created_at);
        },
    )
    .await?;
    Ok(())
}

/// `membership_spans` rows, and one `members` row per user from its last
/// span (join count = spans of the user).
pub async fn seed_members(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    spans: &[SpanRow],
) -> Result<(), DbError> {
    copy_each(
        &mut *conn,
        "copy membership_spans (guild_id, user_id, joined_at, left_at, is_rejoin, first_message_at) from stdin (format binary)",
        spans,
        |copy, s| {
            copy.row(6)
                .i64(guild_id.to_db())
                .i64(s.user_id.to_db())
                .timestamp(s.joined_at)
                .opt_timestamp(s.left_at)
                .bool(s.is_rejoin)
                .opt_timestamp(s.first_message_at);
        },
    )
    .await?;
    let mut last: HashMap<Snowflake, (SpanRow, i32)> = HashMap::new();
    for s in spans {
        let entry = last.entry(s.user_id).or_insert((*s, 0));
        if s.joined_at >= entry.0.joined_at {
            entry.0 = *s;
        }
        entry.1 += 1;
    }
    copy_each(
        conn,
        "copy members (guild_id, user_id, is_bot, joined_at, left_at, join_count) from stdin (format binary)",
        last.values(),
        |copy, (s, joins)| {
            copy.row(6)
                .i64(guild_id.to_db())
                .i64(s.user_id.to_db())
                .bool(s.is_bot)
                .timestamp(s.joined_at)
                .opt_timestamp(s.left_at)
                .i32(*joins);
        },
    )
    .await?;
    Ok(())
}

/// Refreshes planner statistics after a bulk load.
pub async fn analyze(conn: &mut PgConnection) -> Result<(), DbError> {
    sqlx::query("analyze").execute(conn).await?;
    Ok(())
}
