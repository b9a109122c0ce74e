//! Queued weekly Pulse Reports: one job per (guild, week), queued by the
//! transaction that claims the weekly digest, claimed by a worker with
//! `for update skip locked` and a lease, and finished in the transaction
//! that stores the report and queues its post.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgExecutor;

use super::DbError;
use crate::ids::Snowflake;

/// A job to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub guild_id: Snowflake,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub channel_id: Snowflake,
    pub timezone: String,
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Job {
    pub guild_id: Snowflake,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub channel_id: Snowflake,
    pub timezone: String,
    /// Claims so far, this one included.
    pub attempts: i32,
}

/// A job as recorded (for tests and operators).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JobRecord {
    pub guild_id: Snowflake,
    pub period_start: DateTime<Utc>,
    pub state: String,
    pub attempts: i32,
    pub report_id: Option<i64>,
    pub outbox_id: Option<i64>,
    pub last_failure: Option<String>,
}

/// Queues the week's job unless one exists; `true` when this call queued
/// it. Run in the transaction that claims the weekly digest.
pub async fn queue<'e>(
    executor: impl PgExecutor<'e>,
    job: &NewJob,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "insert into pulse_report_jobs (guild_id, period_start, period_end, channel_id, timezone,
                                        created_at, lease_until)
         values ($1, $2, $3, $4, $5, $6, $6)
         on conflict (guild_id, period_start) do nothing",
    )
    .bind(job.guild_id)
    .bind(job.period_start)
    .bind(job.period_end)
    .bind(job.channel_id)
    .bind(&job.timezone)
    .bind(now)
    .execute(executor)
    .await?
    .rows_affected()
        == 1)
}

/// Claims up to `limit` pending jobs whose lease ended by `now`, oldest
/// first, leasing each until `now + lease` and counting the attempt. Jobs
/// another claimer holds locked are skipped, not waited for.
pub async fn claim<'e>(
    executor: impl PgExecutor<'e>,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Job>, DbError> {
    let mut jobs: Vec<Job> = sqlx::query_as(
        "with due as (
             select guild_id as due_guild, period_start as due_start from pulse_report_jobs
             where state = 'pending' and lease_until <= $1
             order by lease_until, guild_id, period_start
             limit $3
             for update skip locked
         )
         update pulse_report_jobs j set lease_until = $2, attempts = j.attempts + 1
         from due where j.guild_id = due.due_guild and j.period_start = due.due_start
         returning j.guild_id, j.period_start, j.period_end, j.channel_id, j.timezone, j.attempts",
    )
    .bind(now)
    .bind(now + lease)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    jobs.sort_by_key(|j| (j.period_start, j.guild_id));
    Ok(jobs)
}

/// Marks a claimed job done with its report and post, in the transaction
/// that stores them. `false` (the caller rolls back) when the job is no
/// longer this claim's: done already, or claimed again after the lease
/// ended.
pub async fn finish<'e>(
    executor: impl PgExecutor<'e>,
    job: &Job,
    report_id: i64,
    outbox_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "update pulse_report_jobs set state = 'done', done_at = $4, report_id = $5, outbox_id = $6
         where guild_id = $1 and period_start = $2 and state = 'pending' and attempts = $3",
    )
    .bind(job.guild_id)
    .bind(job.period_start)
    .bind(job.attempts)
    .bind(now)
    .bind(report_id)
    .bind(outbox_id)
    .execute(executor)
    .await?
    .rows_affected()
        == 1)
}

/// Records why an attempt failed; the job stays pending and is claimed
/// again when its lease ends.
pub async fn record_failure<'e>(
    executor: impl PgExecutor<'e>,
    job: &Job,
    failure: &str,
) -> Result<(), DbError> {
    sqlx::query(
        "update pulse_report_jobs set last_failure = $3
         where guild_id = $1 and period_start = $2",
    )
    .bind(job.guild_id)
    .bind(job.period_start)
    .bind(failure)
    .execute(executor)
    .await?;
    Ok(())
}

/// A guild's jobs, newest week first.
pub async fn of_guild<'e>(
    executor: impl PgExecutor<'e>,
    guild_id: Snowflake,
) -> Result<Vec<JobRecord>, DbError> {
    Ok(sqlx::query_as(
        "select guild_id, period_start, state, attempts, report_id, outbox_id, last_failure
         from pulse_report_jobs where guild_id = $1 order by period_start desc",
    )
    .bind(guild_id)
    .fetch_all(executor)
    .await?)
}
