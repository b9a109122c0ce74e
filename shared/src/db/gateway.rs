//! Gateway start-up across processes: the IDENTIFY spacing of each
//! rate-limit bucket, and the start history that backs a crash loop off.

use std::time::Duration;

use sqlx::PgPool;

use super::DbError;

/// First key of the advisory locks taken on `gateway_identify_buckets`
/// (the second is the bucket): "SPID" in ASCII.
const IDENTIFY_LOCK_CLASS: i32 = 0x5350_4944;

/// Claims the next IDENTIFY of `bucket` (of `max_concurrency`): waits under
/// the bucket's transaction-scoped advisory lock until `spacing` has passed
/// since the bucket's last recorded IDENTIFY (on the database's clock, so
/// processes on other hosts agree), records now, and returns. `None` when
/// another process holds the bucket: try again shortly. The lock is
/// transaction-scoped, so it is released even through a connection pooler.
pub async fn claim_identify(
    pool: &PgPool,
    max_concurrency: u32,
    bucket: u32,
    spacing: Duration,
) -> Result<Option<()>, DbError> {
    let mut tx = pool.begin().await?;
    let locked: bool = sqlx::query_scalar("select pg_try_advisory_xact_lock($1, $2)")
        .bind(IDENTIFY_LOCK_CLASS)
        .bind(bucket as i32)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        tx.rollback().await?;
        return Ok(None);
    }
    let wait_ms: Option<i64> = sqlx::query_scalar(
        "select greatest(0, ceil($3 - extract(epoch from clock_timestamp() - last_identify_at) * 1000))::bigint
         from gateway_identify_buckets where max_concurrency = $1 and bucket = $2",
    )
    .bind(max_concurrency as i32)
    .bind(bucket as i32)
    .bind(spacing.as_millis() as f64)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(wait_ms) = wait_ms.filter(|ms| *ms > 0) {
        tokio::time::sleep(Duration::from_millis(wait_ms as u64)).await;
    }
    sqlx::query(
        "insert into gateway_identify_buckets (max_concurrency, bucket, last_identify_at)
         values ($1, $2, clock_timestamp())
         on conflict (max_concurrency, bucket) do update set last_identify_at = excluded.last_identify_at",
    )
    .bind(max_concurrency as i32)
    .bind(bucket as i32)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(()))
}

/// What is known of a process's earlier starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StartHistory {
    /// Starts since the last stable run (the one being made not included).
    pub unstable_starts: u32,
    /// Time since the last start, on the database's clock.
    pub since_last_start: Duration,
}

/// The start history of the process named `shard_range`, if it started before.
pub async fn start_history(
    pool: &PgPool,
    shard_range: &str,
) -> Result<Option<StartHistory>, DbError> {
    let row: Option<(i32, f64)> = sqlx::query_as(
        "select unstable_starts, greatest(0, extract(epoch from clock_timestamp() - last_start_at))::float8
         from ingester_starts where shard_range = $1",
    )
    .bind(shard_range)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(starts, seconds)| StartHistory {
        unstable_starts: starts.max(0) as u32,
        since_last_start: Duration::from_secs_f64(seconds),
    }))
}

/// Records a start of `shard_range`: one more unstable start until
/// [`mark_stable`] says otherwise.
pub async fn record_start(pool: &PgPool, shard_range: &str) -> Result<(), DbError> {
    sqlx::query(
        "insert into ingester_starts (shard_range, unstable_starts, last_start_at)
         values ($1, 1, clock_timestamp())
         on conflict (shard_range) do update
         set unstable_starts = ingester_starts.unstable_starts + 1, last_start_at = excluded.last_start_at",
    )
    .bind(shard_range)
    .execute(pool)
    .await?;
    Ok(())
}

/// The process named `shard_range` ran stably (or stopped cleanly): the
/// next start needs no back-off.
pub async fn mark_stable(pool: &PgPool, shard_range: &str) -> Result<(), DbError> {
    sqlx::query("update ingester_starts set unstable_starts = 0 where shard_range = $1")
        .bind(shard_range)
        .execute(pool)
        .await?;
    Ok(())
}
