//! SQL of the benchmarks (`serverpulse-bench`): the baseline tables a
//! typical bot would write, bulk loading of a large guild straight into the
//! rollups, and the summary reads the benchmark checks figures with.
//!
//! Nothing here runs in production. Bulk loads use binary `COPY`, encoded by
//! [`CopyRows`], because the seeder writes millions of rows in seconds.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use super::DbError;
use crate::ids::Snowflake;
use crate::rollup::GuildHourly;

/// What kind of gateway event a per-event row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i16)]
pub enum EventKind {
    Message = 1,
    MessageDelete = 2,
    MessageDeleteBulk = 3,
    ReactionAdd = 4,
    ReactionRemove = 5,
    MemberAdd = 6,
    MemberRemove = 7,
    VoiceState = 8,
    Channel = 9,
    Other = 10,
}

/// One gateway event as a per-event statistics table stores it: who did
/// what where and when (no content).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRow {
    pub guild_id: Snowflake,
    /// `Snowflake(0)` when the event has no channel.
    pub channel_id: Snowflake,
    /// `Snowflake(0)` when the event has no user.
    pub user_id: Snowflake,
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    /// The message (or channel) the event is about, else `Snowflake(0)`.
    pub target_id: Snowflake,
    /// Messages a bulk delete removed; 1 otherwise.
    pub amount: i32,
}

/// Creates the baseline tables:
/// - `bench_event_log`: one row per event, with the identity key and
///   `(guild_id, at)` index a typical statistics bot has (baseline (a));
/// - `bench_event_copy`: the same columns with no key or index, the raw
///   ingest floor of the database (baseline (b));
/// - `bench_message_log`: every message of the large guild, one row each,
///   for the naive command baseline (indexed by [`index_message_log`]).
pub async fn create_baseline_tables(conn: &mut PgConnection) -> Result<(), DbError> {
    for statement in [
        "create table if not exists bench_event_log (
             id         bigint generated always as identity primary key,
             guild_id   bigint not null,
             channel_id bigint not null,
             user_id    bigint not null,
             kind       smallint not null,
             at         timestamptz not null,
             target_id  bigint not null,
             amount     integer not null
         )",
        "create index if not exists bench_event_log_guild_at on bench_event_log (guild_id, at)",
        "create table if not exists bench_event_copy (
             guild_id   bigint not null,
             channel_id bigint not null,
             user_id    bigint not null,
             kind       smallint not null,
             at         timestamptz not null,
             target_id  bigint not null,
             amount     integer not null
         )",
        // Unlogged only to seed tens of millions of rows quickly; reads are
        // exactly as fast as from a logged table.
        "create unlogged table if not exists bench_message_log (
             guild_id   bigint not null,
             channel_id bigint not null,
             author_id  bigint not null,
             sent_at    timestamptz not null
         )",
    ] {
        sqlx::query(statement).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Baseline (a): one `INSERT` per event, autocommitted.
pub async fn insert_event<'e>(
    executor: impl PgExecutor<'e>,
    row: &EventRow,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into bench_event_log (guild_id, channel_id, user_id, kind, at, target_id, amount)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(row.guild_id)
    .bind(row.channel_id)
    .bind(row.user_id)
    .bind(row.kind as i16)
    .bind(row.at)
    .bind(row.target_id)
    .bind(row.amount)
    .execute(executor)
    .await?;
    Ok(())
}

/// Baseline (b): binary `COPY` of events into the unindexed table.
pub async fn copy_events(conn: &mut PgConnection, rows: &[EventRow]) -> Result<u64, DbError> {
    let mut copy = CopyRows::new();
    for row in rows {
        copy.row(7)
            .i64(row.guild_id.to_db())
            .i64(row.channel_id.to_db())
            .i64(row.user_id.to_db())
            .i16(row.kind as i16)
            .timestamp(row.at)
            .i64(row.target_id.to_db())
            .i32(row.amount);
    }
    copy_in(
        conn,
        "copy bench_event_copy (guild_id, channel_id, user_id, kind, at, target_id, amount) from stdin (format binary)",
        copy,
    )
    .await
}

/// Rows in `bench_event_log` and `bench_event_copy`.
pub async fn baseline_counts(conn: &mut PgConnection) -> Result<(i64, i64), DbError> {
    Ok(sqlx::query_as(
        "select (select count(*) from bench_event_log), (select count(*) from bench_event_copy)",
    )
    .fetch_one(conn)
    .await?)
}

/// Rows of PostgreSQL's binary `COPY` format, built in memory.
pub struct CopyRows {
    buffer: Vec<u8>,
}

impl Default for CopyRows {
    fn default() -> Self {
        Self::new()
    }
}

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

impl CopyRows {
    pub fn new() -> Self {
        let mut buffer = Vec::with_capacity(1 << 20);
        buffer.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buffer.extend_from_slice(&0i32.to_be_bytes()); // flags
        buffer.extend_from_slice(&0i32.to_be_bytes()); // header extension
        Self { buffer }
    }

    pub fn row(&mut self, fields: i16) -> &mut Self {
        self.buffer.extend_from_slice(&fields.to_be_bytes());
        self
    }

    fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.buffer
            .extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        self.buffer.extend_from_slice(bytes);
        self
    }

    pub fn null(&mut self) -> &mut Self {
        self.buffer.extend_from_slice(&(-1i32).to_be_bytes());
        self
    }

    pub fn i16(&mut self, value: i16) -> &mut Self {
        self.field(&value.to_be_bytes())
    }

    pub fn i32(&mut self, value: i32) -> &mut Self {
        self.field(&value.to_be_bytes())
    }

    pub fn i64(&mut self, value: i64) -> &mut Self {
        self.field(&value.to_be_bytes())
    }

    pub fn opt_i64(&mut self, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.i64(v),
            None => self.null(),
        }
    }

    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.field(&[u8::from(value)])
    }

    pub fn text(&mut self, value: &str) -> &mut Self {
        self.field(value.as_bytes())
    }

    pub fn timestamp(&mut self, at: DateTime<Utc>) -> &mut Self {
        self.i64(at.timestamp_micros() - PG_EPOCH_MICROS)
    }

    pub fn opt_timestamp(&mut self, at: Option<DateTime<Utc>>) -> &mut Self {
        match at {
            Some(at) => self.timestamp(at),
            None => self.null(),
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.buffer.extend_from_slice(&(-1i16).to_be_bytes());
        self.buffer
    }
}

async fn copy_in(conn: &mut PgConnection, statement: &str, rows: CopyRows) -> Result<u64, DbError> {
    let bytes = rows.finish();
    let mut copy = conn.copy_in_raw(statement).await?;
    for chunk in bytes.chunks(1 << 20) {
        copy.send(chunk).await?;
    }
    Ok(copy.finish().await?)
}

// ---------------------------------------------------------------------------
// Seeding a large guild straight into the rollups.
// ---------------------------------------------------------------------------

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
    let mut copy = CopyRows::new();
    for c in channels {
        copy.row(6)
            .i64(guild_id.to_db())
            .i64(c.channel_id.to_db())
            .i16(c.kind)
            .text(&c.name)
            .opt_i64(c.parent_id.map(Snowflake::to_db))
            .timestamp(c.created_at);
    }
    copy_in(
        conn,
        "copy channels (guild_id, channel_id, kind, name, parent_id, created_at) from stdin (format binary)",
        copy,
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
    let mut copy = CopyRows::new();
    for s in spans {
        copy.row(6)
            .i64(guild_id.to_db())
            .i64(s.user_id.to_db())
            .timestamp(s.joined_at)
            .opt_timestamp(s.left_at)
            .bool(s.is_rejoin)
            .opt_timestamp(s.first_message_at);
    }
    copy_in(
        &mut *conn,
        "copy membership_spans (guild_id, user_id, joined_at, left_at, is_rejoin, first_message_at) from stdin (format binary)",
        copy,
    )
    .await?;
    let mut last: std::collections::HashMap<Snowflake, (SpanRow, i32)> =
        std::collections::HashMap::new();
    for s in spans {
        let entry = last.entry(s.user_id).or_insert((*s, 0));
        if s.joined_at >= entry.0.joined_at {
            entry.0 = *s;
        }
        entry.1 += 1;
    }
    let mut copy = CopyRows::new();
    for (s, joins) in last.values() {
        copy.row(6)
            .i64(guild_id.to_db())
            .i64(s.user_id.to_db())
            .bool(s.is_bot)
            .timestamp(s.joined_at)
            .opt_timestamp(s.left_at)
            .i32(*joins);
    }
    copy_in(
        conn,
        "copy members (guild_id, user_id, is_bot, joined_at, left_at, join_count) from stdin (format binary)",
        copy,
    )
    .await?;
    Ok(())
}

/// `message_rollup` rows of one guild (partitions must exist).
pub async fn copy_message_rollup(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    rows: &[MessageRollupRow],
) -> Result<u64, DbError> {
    let mut copy = CopyRows::new();
    for r in rows {
        copy.row(10)
            .i64(guild_id.to_db())
            .timestamp(r.hour)
            .i64(r.channel_id.to_db())
            .i64(r.author_id.to_db())
            .opt_i64(r.thread_parent_id.map(Snowflake::to_db))
            .i16(r.author_kind)
            .i32(r.messages)
            .i32(r.attachments)
            .i32(r.embeds)
            .i32(r.stickers);
    }
    copy_in(
        conn,
        "copy message_rollup (guild_id, hour, channel_id, author_id, thread_parent_id, author_kind,
                              messages, attachments, embeds, stickers) from stdin (format binary)",
        copy,
    )
    .await
}

/// `voice_rollup` rows of one guild.
pub async fn copy_voice_rollup(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    rows: &[VoiceRollupRow],
) -> Result<u64, DbError> {
    let mut copy = CopyRows::new();
    for r in rows {
        copy.row(5)
            .i64(guild_id.to_db())
            .timestamp(r.hour)
            .i64(r.channel_id.to_db())
            .i64(r.user_id.to_db())
            .i32(r.seconds);
    }
    copy_in(
        conn,
        "copy voice_rollup (guild_id, hour, channel_id, user_id, seconds) from stdin (format binary)",
        copy,
    )
    .await
}

/// `reaction_rollup` rows of one guild.
pub async fn copy_reaction_rollup(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    rows: &[ReactionRollupRow],
) -> Result<u64, DbError> {
    let mut copy = CopyRows::new();
    for r in rows {
        copy.row(8)
            .i64(guild_id.to_db())
            .timestamp(r.hour)
            .i64(r.channel_id.to_db())
            .i64(r.user_id.to_db())
            .i64(r.receiver_id.to_db())
            .text(r.emoji)
            .i32(r.added)
            .i32(r.removed);
    }
    copy_in(
        conn,
        "copy reaction_rollup (guild_id, hour, channel_id, user_id, receiver_id, emoji, added, removed)
         from stdin (format binary)",
        copy,
    )
    .await
}

/// `voice_peak_rollup` rows `(hour, channel, peak)` of one guild.
pub async fn copy_voice_peaks(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    rows: &[(DateTime<Utc>, Snowflake, i32)],
) -> Result<u64, DbError> {
    let mut copy = CopyRows::new();
    for (hour, channel, peak) in rows {
        copy.row(4)
            .i64(guild_id.to_db())
            .timestamp(*hour)
            .i64(channel.to_db())
            .i32(*peak);
    }
    copy_in(
        conn,
        "copy voice_peak_rollup (guild_id, hour, channel_id, peak_concurrent) from stdin (format binary)",
        copy,
    )
    .await
}

/// `guild_hourly` rows of one guild.
pub async fn copy_guild_hourly(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    rows: &[(DateTime<Utc>, GuildHourly)],
) -> Result<u64, DbError> {
    let mut copy = CopyRows::new();
    for (hour, h) in rows {
        copy.row(16)
            .i64(guild_id.to_db())
            .timestamp(*hour)
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
    }
    copy_in(
        conn,
        "copy guild_hourly (guild_id, hour, messages, member_messages, attachments, embeds, stickers,
                            thread_messages, reactions_added, reactions_removed, voice_seconds,
                            joins, rejoins, leaves, deletions, threads_created) from stdin (format binary)",
        copy,
    )
    .await
}

/// Refreshes planner statistics after a bulk load.
pub async fn analyze(conn: &mut PgConnection) -> Result<(), DbError> {
    sqlx::query("analyze").execute(conn).await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The naive command baseline: the same messages, one row each.
// ---------------------------------------------------------------------------

/// Expands the guild's `message_rollup` rows of `[from, to)` into one
/// `bench_message_log` row per message, at a pseudo-random second of the
/// hour (so the per-event table holds exactly the messages the rollups
/// count). Returns the rows written.
pub async fn expand_message_log(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<u64, DbError> {
    let done = sqlx::query(
        "insert into bench_message_log (guild_id, channel_id, author_id, sent_at)
         select m.guild_id, m.channel_id, m.author_id,
                m.hour + make_interval(secs => ((m.author_id # (n * 7919)) & 4095) % 3600)
         from message_rollup m, generate_series(1, m.messages) as n
         where m.guild_id = $1 and m.hour >= $2 and m.hour < $3",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The index a bot storing messages one row each would have.
pub async fn index_message_log(conn: &mut PgConnection) -> Result<(), DbError> {
    sqlx::query(
        "create index bench_message_log_guild_sent on bench_message_log (guild_id, sent_at)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("analyze bench_message_log")
        .execute(conn)
        .await?;
    Ok(())
}

/// The overview's figures computed from the per-event table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaiveOverview {
    pub messages: i64,
    pub active_members: i64,
    /// Busiest channels, most messages first.
    pub top_channels: Vec<(Snowflake, i64)>,
    /// Messages per UTC day (the overview chart).
    pub per_day: Vec<(DateTime<Utc>, i64)>,
}

/// What a bot without rollups runs for an overview: every message of the
/// period is read (three times: totals, channels, days).
pub async fn naive_overview(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<NaiveOverview, DbError> {
    let (messages, active_members): (i64, i64) = sqlx::query_as(
        "select count(*), count(distinct author_id) from bench_message_log
         where guild_id = $1 and sent_at >= $2 and sent_at < $3",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_one(&mut *conn)
    .await?;
    let top_channels = sqlx::query_as(
        "select channel_id, count(*) as n from bench_message_log
         where guild_id = $1 and sent_at >= $2 and sent_at < $3
         group by channel_id order by n desc, channel_id limit 5",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let per_day = sqlx::query_as(
        "select date_trunc('day', sent_at, 'UTC'), count(*) from bench_message_log
         where guild_id = $1 and sent_at >= $2 and sent_at < $3
         group by 1 order by 1",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(NaiveOverview {
        messages,
        active_members,
        top_channels,
        per_day,
    })
}

/// The same overview figures from the rollups (the cross-check that the
/// naive table holds the same messages, and the rollup side of the ratio).
pub async fn rollup_overview(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<NaiveOverview, DbError> {
    let messages: i64 = sqlx::query_scalar(
        "select coalesce(sum(messages), 0)::bigint from guild_hourly
         where guild_id = $1 and hour >= $2 and hour < $3",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_one(&mut *conn)
    .await?;
    let active_members: i64 = sqlx::query_scalar(
        "select count(distinct author_id) from message_rollup
         where guild_id = $1 and hour >= $2 and hour < $3",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_one(&mut *conn)
    .await?;
    let top_channels = sqlx::query_as(
        "select channel_id, sum(messages)::bigint as n from message_rollup
         where guild_id = $1 and hour >= $2 and hour < $3
         group by channel_id order by n desc, channel_id limit 5",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let per_day = sqlx::query_as(
        "select date_trunc('day', hour, 'UTC'), sum(messages)::bigint from guild_hourly
         where guild_id = $1 and hour >= $2 and hour < $3
         group by 1 order by 1",
    )
    .bind(guild_id)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(NaiveOverview {
        messages,
        active_members,
        top_channels,
        per_day,
    })
}

// ---------------------------------------------------------------------------
// Checking ingested rollups against ground truth.
// ---------------------------------------------------------------------------

/// Per-guild totals of everything ingested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct IngestedTotals {
    pub guild_id: Snowflake,
    /// From `guild_hourly`.
    pub messages: i64,
    pub member_messages: i64,
    pub reactions_added: i64,
    pub reactions_removed: i64,
    pub voice_seconds: i64,
    /// From `message_rollup` (must agree with `messages`).
    pub message_rows_total: i64,
    /// From `voice_rollup` (must agree with `voice_seconds`).
    pub voice_rows_total: i64,
}

/// [`IngestedTotals`] of every guild with any rollup.
pub async fn ingested_totals<'e>(
    executor: impl PgExecutor<'e>,
) -> Result<Vec<IngestedTotals>, DbError> {
    Ok(sqlx::query_as(
        "with h as (
             select guild_id, sum(messages)::bigint as messages, sum(member_messages)::bigint as member_messages,
                    sum(reactions_added)::bigint as reactions_added,
                    sum(reactions_removed)::bigint as reactions_removed,
                    sum(voice_seconds)::bigint as voice_seconds
             from guild_hourly group by guild_id),
         m as (select guild_id, sum(messages)::bigint as total from message_rollup group by guild_id),
         v as (select guild_id, sum(seconds)::bigint as total from voice_rollup group by guild_id)
         select h.guild_id, h.messages, h.member_messages, h.reactions_added, h.reactions_removed,
                h.voice_seconds, coalesce(m.total, 0) as message_rows_total,
                coalesce(v.total, 0) as voice_rows_total
         from h left join m using (guild_id) left join v using (guild_id)
         order by h.guild_id",
    )
    .fetch_all(executor)
    .await?)
}

/// `select version()`, for the report.
pub async fn server_version(conn: &mut PgConnection) -> Result<String, DbError> {
    Ok(sqlx::query_scalar("select version()")
        .fetch_one(conn)
        .await?)
}
