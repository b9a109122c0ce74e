//! The baselines the ingester is measured against: a per-event table with
//! a key and an index (one `INSERT` per event), and the same columns with
//! neither (binary `COPY`, the raw ingest floor of the database).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use super::copy::copy_each;
use crate::db::DbError;
use crate::ids::Snowflake;

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
    copy_each(
        conn,
        "copy bench_event_copy (guild_id, channel_id, user_id, kind, at, target_id, amount) from stdin (format binary)",
        rows,
        |copy, row| {
            copy.row(7)
                .i64(row.guild_id.to_db())
                .i64(row.channel_id.to_db())
                .i64(row.user_id.to_db())
                .i16(row.kind as i16)
                .timestamp(row.at)
                .i64(row.target_id.to_db())
                .i32(row.amount);
        },
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
