//! The outbox: every message ServerPulse posts on its own (digests,
//! alerts, reports). Producers enqueue in the transaction that decides to
//! post; the delivery worker claims due items with `FOR UPDATE SKIP
//! LOCKED`, sends them and records the outcome. A claim leases the item
//! (pushes `next_attempt_at` forward) and commits at once, so no
//! transaction stays open across a request to Discord; a sender that dies
//! leaves the item to be claimed again when the lease ends, and the same
//! `nonce` makes Discord return the first message instead of a second one.
//!
//! An item whose message exists (`discord_message_id` set) and is pending
//! again is an edit: [`request_edit`] replaces the payload of a delivered
//! alert as its incident grows.

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgExecutor};

use super::DbError;
use crate::ids::Snowflake;

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxKind {
    Digest,
    Alert,
    Report,
}

impl OutboxKind {
    pub fn key(self) -> &'static str {
        match self {
            Self::Digest => "digest",
            Self::Alert => "alert",
            Self::Report => "report",
        }
    }

    fn from_key(key: &str) -> Self {
        match key {
            "alert" => Self::Alert,
            "report" => Self::Report,
            _ => Self::Digest,
        }
    }
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    Pending,
    Delivered,
    /// Permanently: not retried.
    Failed,
}

impl OutboxState {
    fn from_key(key: &str) -> Self {
        match key {
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }
}

/// A file sent with a message (`files[n]` of a multipart request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxFile {
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// A message to post.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutboxItem {
    pub kind: OutboxKind,
    /// Unique per item, e.g. `digest:<guild>:daily:<period start>`.
    pub identity_key: String,
    pub guild_id: Snowflake,
    pub channel_id: Snowflake,
    /// Discord's create-message JSON (no `attachments`: added when sent).
    pub payload: serde_json::Value,
    pub files: Vec<OutboxFile>,
    /// Not claimed before this instant.
    pub not_before: DateTime<Utc>,
}

/// An item as the worker sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub outbox_id: i64,
    pub kind: OutboxKind,
    pub identity_key: String,
    pub guild_id: Snowflake,
    pub channel_id: Snowflake,
    pub payload: serde_json::Value,
    pub files: Vec<OutboxFile>,
    pub nonce: String,
    pub state: OutboxState,
    pub revision: i32,
    /// Claims so far, this one included.
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// Set once the message exists: a pending item with it is an edit.
    pub discord_message_id: Option<Snowflake>,
    pub last_error: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    outbox_id: i64,
    kind: String,
    identity_key: String,
    guild_id: Snowflake,
    channel_id: Snowflake,
    payload: serde_json::Value,
    file_names: Vec<String>,
    file_bytes: Vec<Vec<u8>>,
    nonce: String,
    state: String,
    revision: i32,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    discord_message_id: Option<Snowflake>,
    last_error: Option<String>,
}

impl From<Row> for OutboxItem {
    fn from(row: Row) -> Self {
        Self {
            outbox_id: row.outbox_id,
            kind: OutboxKind::from_key(&row.kind),
            identity_key: row.identity_key,
            guild_id: row.guild_id,
            channel_id: row.channel_id,
            payload: row.payload,
            files: row
                .file_names
                .into_iter()
                .zip(row.file_bytes)
                .map(|(filename, bytes)| OutboxFile { filename, bytes })
                .collect(),
            nonce: row.nonce,
            state: OutboxState::from_key(&row.state),
            revision: row.revision,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            discord_message_id: row.discord_message_id,
            last_error: row.last_error,
        }
    }
}

macro_rules! outbox_columns {
    () => {
        "outbox_id, kind, identity_key, guild_id, channel_id, payload, file_names, file_bytes, nonce, \
         state, revision, attempts, next_attempt_at, discord_message_id, last_error"
    };
}

/// Discord's `nonce` for an identity: `sp` and 16 hex digits of its 64-bit
/// FNV-1a hash (18 characters; Discord allows 25). Stable across builds and
/// processes, so a re-sent item carries the nonce of its first send.
pub fn nonce_for(identity_key: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in identity_key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("sp{hash:016x}")
}

/// Adds an item unless one with its identity exists; returns the new id
/// (`None`: already there). Run in the producer's transaction.
pub async fn enqueue<'e>(
    executor: impl PgExecutor<'e>,
    item: &NewOutboxItem,
) -> Result<Option<i64>, DbError> {
    let (names, bytes): (Vec<String>, Vec<Vec<u8>>) = item
        .files
        .iter()
        .map(|f| (f.filename.clone(), f.bytes.clone()))
        .unzip();
    Ok(sqlx::query_scalar(
        "insert into outbox (kind, identity_key, guild_id, channel_id, payload, file_names, file_bytes,
                             nonce, next_attempt_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (identity_key) do nothing
         returning outbox_id",
    )
    .bind(item.kind.key())
    .bind(&item.identity_key)
    .bind(item.guild_id)
    .bind(item.channel_id)
    .bind(&item.payload)
    .bind(&names)
    .bind(&bytes)
    .bind(nonce_for(&item.identity_key))
    .bind(item.not_before)
    .fetch_optional(executor)
    .await?)
}

/// Replaces an item's payload (an alert whose incident grew). A delivered
/// item becomes pending again and is sent as an edit of its message; a
/// pending one sends the new payload. Failed items stay failed. Returns
/// whether an item was changed.
pub async fn request_edit<'e>(
    executor: impl PgExecutor<'e>,
    identity_key: &str,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "update outbox set payload = $2, revision = revision + 1, state = 'pending',
                next_attempt_at = least(next_attempt_at, $3)
         where identity_key = $1 and state <> 'failed'",
    )
    .bind(identity_key)
    .bind(payload)
    .bind(now)
    .execute(executor)
    .await?
    .rows_affected()
        > 0)
}

/// Claims up to `limit` pending items due at `now`, oldest first, leasing
/// each for `lease` (not claimable again before `now + lease`) and counting
/// the attempt. Items locked by another claimer are skipped, not waited for.
pub async fn claim_due<'e>(
    executor: impl PgExecutor<'e>,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i64,
) -> Result<Vec<OutboxItem>, DbError> {
    let rows: Vec<Row> = sqlx::query_as(concat!(
        "with due as (
             select outbox_id as due_id from outbox
             where state = 'pending' and next_attempt_at <= $1
             order by next_attempt_at, outbox_id
             limit $3
             for update skip locked
         )
         update outbox o set next_attempt_at = $2, attempts = o.attempts + 1
         from due where o.outbox_id = due.due_id
         returning ",
        outbox_columns!()
    ))
    .bind(now)
    .bind(now + lease)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    let mut items: Vec<OutboxItem> = rows.into_iter().map(OutboxItem::from).collect();
    items.sort_by_key(|i| (i.next_attempt_at, i.outbox_id));
    Ok(items)
}

/// Records a successful send of `revision`: the item is delivered with
/// Discord's message id, unless an edit was requested meanwhile (then it
/// stays pending, due now, and the next claim sends the edit). Returns
/// whether the item is now delivered.
pub async fn complete<'e>(
    executor: impl PgExecutor<'e>,
    outbox_id: i64,
    revision: i32,
    message_id: Snowflake,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let state: Option<String> = sqlx::query_scalar(
        "update outbox set discord_message_id = $3, last_error = null,
                state = case when revision = $2 then 'delivered' else 'pending' end,
                next_attempt_at = case when revision = $2 then next_attempt_at else $4 end,
                delivered_at = coalesce(delivered_at, $4)
         where outbox_id = $1 and state = 'pending'
         returning state",
    )
    .bind(outbox_id)
    .bind(revision)
    .bind(message_id)
    .bind(now)
    .fetch_optional(executor)
    .await?;
    Ok(state.as_deref() == Some("delivered"))
}

/// A failure worth retrying: the item stays pending until `retry_at`.
pub async fn retry_later<'e>(
    executor: impl PgExecutor<'e>,
    outbox_id: i64,
    error: &str,
    retry_at: DateTime<Utc>,
) -> Result<(), DbError> {
    sqlx::query(
        "update outbox set next_attempt_at = $3, last_error = $2
         where outbox_id = $1 and state = 'pending'",
    )
    .bind(outbox_id)
    .bind(error)
    .bind(retry_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// A permanent failure of the channel: this item and every other pending
/// item for the same channel of the guild become failed (a channel that
/// answers 403 must not be tried again). Returns how many items failed.
pub async fn fail_channel(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    channel_id: Snowflake,
    error: &str,
) -> Result<u64, DbError> {
    Ok(sqlx::query(
        "update outbox set state = 'failed', last_error = $3
         where guild_id = $1 and channel_id = $2 and state = 'pending'",
    )
    .bind(guild_id)
    .bind(channel_id)
    .bind(error)
    .execute(conn)
    .await?
    .rows_affected())
}

/// A permanent failure of one item that says nothing about the channel
/// (e.g. 400 Invalid Form Body, or 404 Unknown Message on an edit).
pub async fn fail_item<'e>(
    executor: impl PgExecutor<'e>,
    outbox_id: i64,
    error: &str,
) -> Result<(), DbError> {
    sqlx::query("update outbox set state = 'failed', last_error = $2 where outbox_id = $1")
        .bind(outbox_id)
        .bind(error)
        .execute(executor)
        .await?;
    Ok(())
}

/// One item by identity.
pub async fn find<'e>(
    executor: impl PgExecutor<'e>,
    identity_key: &str,
) -> Result<Option<OutboxItem>, DbError> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "select ",
        outbox_columns!(),
        " from outbox where identity_key = $1"
    ))
    .bind(identity_key)
    .fetch_optional(executor)
    .await?;
    Ok(row.map(OutboxItem::from))
}

/// A guild's items, newest first (for listings and tests).
pub async fn of_guild<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    limit: i64,
) -> Result<Vec<OutboxItem>, DbError> {
    let rows: Vec<Row> = sqlx::query_as(concat!(
        "select ",
        outbox_columns!(),
        " from outbox where guild_id = $1 order by outbox_id desc limit $2"
    ))
    .bind(guild_id)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(OutboxItem::from).collect())
}
