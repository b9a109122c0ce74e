//! Backfill jobs: importing a guild's past from Discord's message history
//! (migration `…_backfill`). A job covers `[from_at, until_at)`, where
//! `until_at` is the guild's `tracking_since` when the first import was
//! asked for: live ingestion counts everything from there on, so the two
//! never count the same message. Each channel keeps a cursor (the message
//! id the next page is read before) that [`commit_page`] moves in the same
//! transaction as the page's rollups.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, PgPool};

use super::DbError;
use super::settings::record_audit;
use crate::backfill::LiveReactions;
use crate::ids::Snowflake;
use crate::rollup::RollupBatch;

/// A guild's import as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BackfillJob {
    pub guild_id: Snowflake,
    pub until_at: DateTime<Utc>,
    pub from_at: DateTime<Utc>,
    pub state: String,
    pub requested_by: Snowflake,
    pub requested_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    pub discovered: bool,
    pub members_from: Option<DateTime<Utc>>,
    pub members_state: String,
    pub members_error: Option<String>,
    pub joins_imported: i32,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl BackfillJob {
    pub fn is_running(&self) -> bool {
        self.state == "running"
    }
}

/// One channel's (or thread's) import as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BackfillChannel {
    pub guild_id: Snowflake,
    pub channel_id: Snowflake,
    pub kind: i16,
    pub parent_id: Option<Snowflake>,
    pub cursor_id: Snowflake,
    pub covered_from: DateTime<Utc>,
    pub state: String,
    pub error: Option<String>,
    pub messages: i64,
    pub pages: i32,
    pub first_page_at: Option<DateTime<Utc>>,
    pub last_page_at: Option<DateTime<Utc>>,
}

/// The columns [`BackfillJob`] reads, as a literal so queries stay `&'static str`.
macro_rules! job_columns {
    () => {
        "guild_id, until_at, from_at, state, requested_by, requested_at, lease_until, \
         discovered, members_from, members_state, members_error, joins_imported, started_at, finished_at"
    };
}

/// The guild's job, if it ever had one.
pub async fn job<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<Option<BackfillJob>, DbError> {
    Ok(sqlx::query_as(concat!(
        "select ",
        job_columns!(),
        " from backfill_jobs where guild_id = $1"
    ))
    .bind(guild_id)
    .fetch_optional(executor)
    .await?)
}

/// The guild's channels, by channel id (primary key prefix).
pub async fn channels<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<Vec<BackfillChannel>, DbError> {
    Ok(sqlx::query_as(
        "select guild_id, channel_id, kind, parent_id, cursor_id, covered_from, state, error,
                messages, pages, first_page_at, last_page_at
         from backfill_channels where guild_id = $1 order by channel_id",
    )
    .bind(guild_id)
    .fetch_all(executor)
    .await?)
}

/// What [`request`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// A job runs (new, or extended further back) over `[from, until)`.
    Started {
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    },
    /// An import of this guild is still running.
    AlreadyRunning,
    /// Everything back to `from` was imported before.
    AlreadyCovered { from: DateTime<Utc> },
}

/// Asks for the guild's history back to `from` (the caller clamps it to the
/// retention window), up to `until` (the guild's `tracking_since`; an
/// earlier job's `until_at` is kept, so later requests extend the same
/// range further back). Channels already imported keep their cursors and
/// continue from them; channels that could not be read are tried again
/// (an admin may have granted the permission). Audited. Run in a
/// transaction.
pub async fn request(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    actor_id: Snowflake,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Requested, DbError> {
    let existing: Option<BackfillJob> = sqlx::query_as(concat!(
        "select ",
        job_columns!(),
        " from backfill_jobs where guild_id = $1 for update"
    ))
    .bind(guild_id)
    .fetch_optional(&mut *conn)
    .await?;
    let until = match &existing {
        Some(job) if job.is_running() => return Ok(Requested::AlreadyRunning),
        Some(job) if job.state == "done" && job.from_at <= from => {
            return Ok(Requested::AlreadyCovered { from: job.from_at });
        }
        Some(job) => job.until_at,
        None => until,
    };
    let from = from.min(until);
    sqlx::query(
        "insert into backfill_jobs (guild_id, until_at, from_at, state, requested_by, requested_at)
         values ($1, $2, $3, 'running', $4, $5)
         on conflict (guild_id) do update set
             from_at = excluded.from_at, state = 'running', requested_by = excluded.requested_by,
             requested_at = excluded.requested_at, lease_until = null, discovered = false,
             members_state = case when backfill_jobs.members_from is null
                                    or backfill_jobs.members_from > excluded.from_at
                                  then 'pending' else backfill_jobs.members_state end,
             members_error = null, started_at = null, finished_at = null, updated_at = now()",
    )
    .bind(guild_id)
    .bind(until)
    .bind(from)
    .bind(actor_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "update backfill_channels set state = 'pending', error = null
         where guild_id = $1 and (state = 'unreadable' or covered_from > $2)",
    )
    .bind(guild_id)
    .bind(from)
    .execute(&mut *conn)
    .await?;
    record_audit(
        &mut *conn,
        guild_id,
        actor_id,
        "backfill.start",
        serde_json::json!({ "from": from, "until": until }),
    )
    .await?;
    Ok(Requested::Started { from, until })
}

/// Stops the guild's running import (a page being read is not written).
/// Audited; returns whether one was running. Run in a transaction.
pub async fn cancel(
    conn: &mut PgConnection,
    guild_id: Snowflake,
    actor_id: Snowflake,
) -> Result<bool, DbError> {
    let cancelled = sqlx::query(
        "update backfill_jobs set state = 'cancelled', lease_until = null, finished_at = now(),
             updated_at = now()
         where guild_id = $1 and state = 'running'",
    )
    .bind(guild_id)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    if cancelled {
        record_audit(
            &mut *conn,
            guild_id,
            actor_id,
            "backfill.cancel",
            serde_json::json!({}),
        )
        .await?;
    }
    Ok(cancelled)
}

/// Claims one running job whose lease is free (or ran out), leasing it
/// until `now + lease`; `FOR UPDATE SKIP LOCKED`, so replicas claim
/// different jobs. Served by `backfill_jobs_claim_idx`.
pub async fn claim(
    pool: &PgPool,
    now: DateTime<Utc>,
    lease: chrono::Duration,
) -> Result<Option<BackfillJob>, DbError> {
    Ok(sqlx::query_as(concat!(
        "update backfill_jobs set lease_until = $2, started_at = coalesce(started_at, $1),
             updated_at = now()
         where guild_id = (
             select guild_id from backfill_jobs
             where state = 'running' and (lease_until is null or lease_until < $1)
             order by lease_until nulls first
             limit 1
             for update skip locked)
         returning ",
        job_columns!()
    ))
    .bind(now)
    .bind(now + lease)
    .fetch_optional(pool)
    .await?)
}

/// Extends the lease while the job is still running; `false` when it was
/// cancelled (or finished) meanwhile.
pub async fn renew<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    until: DateTime<Utc>,
) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "update backfill_jobs set lease_until = $2, updated_at = now()
         where guild_id = $1 and state = 'running'",
    )
    .bind(guild_id)
    .bind(until)
    .execute(executor)
    .await?
    .rows_affected()
        > 0)
}

/// A channel or thread to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    pub channel_id: Snowflake,
    pub kind: i16,
    pub parent_id: Option<Snowflake>,
}

/// Adds the channels found for the job (those known already keep their
/// cursor) and marks the listing done.
pub async fn record_discovered(
    conn: &mut PgConnection,
    job: &BackfillJob,
    found: &[Discovered],
) -> Result<(), DbError> {
    let cursor = Snowflake::at(job.until_at);
    sqlx::query(
        "insert into backfill_channels (guild_id, channel_id, kind, parent_id, cursor_id, covered_from, state)
         select $1, c, k, p, $5, $6, 'pending'
         from unnest($2::bigint[], $3::smallint[], $4::bigint[]) as t(c, k, p)
         on conflict (guild_id, channel_id) do nothing",
    )
    .bind(job.guild_id)
    .bind(found.iter().map(|d| d.channel_id.to_db()).collect::<Vec<_>>())
    .bind(found.iter().map(|d| d.kind).collect::<Vec<_>>())
    .bind(
        found
            .iter()
            .map(|d| d.parent_id.map(Snowflake::to_db))
            .collect::<Vec<_>>(),
    )
    .bind(cursor)
    .bind(job.until_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query("update backfill_jobs set discovered = true where guild_id = $1")
        .bind(job.guild_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records that a channel cannot be read (Discord's answer in `error`):
/// it is skipped, not asked again, until an admin starts a new import.
pub async fn mark_unreadable<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    channel_id: Snowflake,
    error: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "update backfill_channels set state = 'unreadable', error = $3
         where guild_id = $1 and channel_id = $2",
    )
    .bind(guild_id)
    .bind(channel_id)
    .bind(error)
    .execute(executor)
    .await?;
    Ok(())
}

/// One page read from a channel's history.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    pub guild_id: Snowflake,
    pub channel_id: Snowflake,
    /// The cursor the page was read before (the stored one).
    pub read_before: Snowflake,
    /// The next cursor: the page's oldest message id.
    pub next_cursor: Snowflake,
    /// Imported back to here after this page.
    pub covered_from: DateTime<Utc>,
    /// The last page of the channel (older messages are out of range).
    pub last: bool,
    /// The messages the page imports (their ids).
    pub message_ids: &'a [Snowflake],
    pub lease_until: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// What [`commit_page`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageOutcome {
    Committed,
    /// The job was cancelled (or taken over) meanwhile: nothing written.
    JobStopped,
    /// The cursor had moved (another worker wrote this page): nothing written.
    AlreadyWritten,
}

/// Writes a page's rollups through the ingester's flush
/// ([`super::rollups::flush_batch`]) and moves the channel's cursor, in ONE
/// transaction, and only if the job still runs and the cursor is still the
/// one the page was read before: a page is counted once, whatever crashes.
/// `rollups` makes them from the live reactions to the page's messages
/// ([`live_reactions`], read in that transaction), which history's totals
/// include and live ingestion counted already.
pub async fn commit_page(
    pool: &PgPool,
    page: &Page<'_>,
    rollups: impl FnOnce(&LiveReactions) -> RollupBatch,
) -> Result<PageOutcome, DbError> {
    let mut tx = pool.begin().await?;
    // As the ingester's flush, before this transaction writes anything:
    // members who chose `/privacy delete` get no per-member row from
    // imported history either. The shared lock comes first because an
    // erasure holds it exclusively while it updates `backfill_jobs` (the
    // row `renew` writes): the other order could deadlock.
    let opt_outs = super::privacy::opt_outs_for_flush(&mut tx, &[page.guild_id]).await?;
    if !renew(&mut *tx, page.guild_id, page.lease_until).await? {
        return Ok(PageOutcome::JobStopped);
    }
    let moved = sqlx::query(
        "update backfill_channels set cursor_id = $4, covered_from = $5,
             state = case when $6 then 'done' else 'pending' end,
             messages = messages + $7, pages = pages + 1,
             first_page_at = coalesce(first_page_at, $8), last_page_at = $8
         where guild_id = $1 and channel_id = $2 and cursor_id = $3 and state = 'pending'",
    )
    .bind(page.guild_id)
    .bind(page.channel_id)
    .bind(page.read_before)
    .bind(page.next_cursor)
    .bind(page.covered_from)
    .bind(page.last)
    .bind(page.message_ids.len() as i64)
    .bind(page.now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if moved == 0 {
        return Ok(PageOutcome::AlreadyWritten);
    }
    let live = live_reactions(&mut *tx, page.guild_id, page.message_ids).await?;
    let batch = rollups(&live);
    if opt_outs.is_empty() {
        super::rollups::flush_batch(&mut tx, &batch).await?;
    } else {
        let excluded = |guild, user| opt_outs.excludes(guild, user);
        super::rollups::flush_batch(&mut tx, &batch.without_members(excluded)).await?;
    }
    // As the ingester's flush: answers kept for the guild are stale now.
    super::data_version::bump(&mut *tx, &[page.guild_id]).await?;
    tx.commit().await?;
    Ok(PageOutcome::Committed)
}

/// The reactions live ingestion counted on `messages` of the guild (posted
/// before tracking began), net per message and emoji. Served by the
/// primary key's `(guild_id, message_id)` prefix.
pub async fn live_reactions<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    messages: &[Snowflake],
) -> Result<LiveReactions, DbError> {
    let mut live = LiveReactions::default();
    if messages.is_empty() {
        return Ok(live);
    }
    let rows: Vec<(Snowflake, String, i32)> = sqlx::query_as(
        "select message_id, emoji, delta from pre_tracking_reactions
         where guild_id = $1 and message_id = any($2::bigint[]) and delta <> 0",
    )
    .bind(guild_id)
    .bind(messages.iter().map(|m| m.to_db()).collect::<Vec<_>>())
    .fetch_all(executor)
    .await?;
    for (message, emoji, delta) in rows {
        live.add(message, emoji, delta);
    }
    Ok(live)
}

/// Writes the joins read from the member list (`rollups`, joins only) and
/// records that joins are imported back to `from`, in one transaction,
/// only if the job still runs. `members_from` is the job's as claimed:
/// a second writer finds it changed and writes nothing.
pub async fn commit_joins(
    pool: &PgPool,
    job: &BackfillJob,
    rollups: &RollupBatch,
    joins: i32,
    lease_until: DateTime<Utc>,
) -> Result<PageOutcome, DbError> {
    let mut tx = pool.begin().await?;
    if !renew(&mut *tx, job.guild_id, lease_until).await? {
        return Ok(PageOutcome::JobStopped);
    }
    let moved = sqlx::query(
        "update backfill_jobs set members_from = $2, members_state = 'done',
             joins_imported = joins_imported + $3
         where guild_id = $1 and members_from is not distinct from $4",
    )
    .bind(job.guild_id)
    .bind(job.from_at)
    .bind(joins)
    .bind(job.members_from)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if moved == 0 {
        return Ok(PageOutcome::AlreadyWritten);
    }
    super::rollups::flush_batch(&mut tx, rollups).await?;
    super::data_version::bump(&mut *tx, &[job.guild_id]).await?;
    tx.commit().await?;
    Ok(PageOutcome::Committed)
}

/// The member list cannot be read (no Server Members intent): joins are
/// not imported, and `/backfill status` says why.
pub async fn members_unavailable<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    error: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "update backfill_jobs set members_state = 'unavailable', members_error = $2
         where guild_id = $1",
    )
    .bind(guild_id)
    .bind(error)
    .execute(executor)
    .await?;
    Ok(())
}

/// Marks the job done when no channel is pending; returns whether it did.
pub async fn finish_if_done<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "update backfill_jobs set state = 'done', finished_at = $2, lease_until = null,
             updated_at = now()
         where guild_id = $1 and state = 'running' and discovered and members_state <> 'pending'
           and not exists (select 1 from backfill_channels
                           where guild_id = $1 and state = 'pending')",
    )
    .bind(guild_id)
    .bind(now)
    .execute(executor)
    .await?
    .rows_affected()
        > 0)
}

/// Releases the lease (the worker stops before the job is done).
pub async fn release<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<(), DbError> {
    sqlx::query(
        "update backfill_jobs set lease_until = null where guild_id = $1 and state = 'running'",
    )
    .bind(guild_id)
    .execute(executor)
    .await?;
    Ok(())
}

/// The period the guild's figures were imported from history for
/// (`[from, until)`), once an import started: reports covering it say that
/// reactions given are not in it.
pub async fn imported_range<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<Option<(DateTime<Utc>, DateTime<Utc>)>, DbError> {
    Ok(sqlx::query_as(
        "select from_at, until_at from backfill_jobs
         where guild_id = $1 and started_at is not null",
    )
    .bind(guild_id)
    .fetch_optional(executor)
    .await?)
}
