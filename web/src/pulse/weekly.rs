//! The weekly Pulse Report, written by the guild's provider. A provider
//! call may take a minute, so it stays out of the transaction that claims
//! the weekly digest: that transaction queues a job
//! ([`shared::db::pulse_jobs`], one per guild and week), and [`run_due`]
//! claims jobs (`for update skip locked`, leased), writes each report
//! outside any transaction through the fallback chain
//! ([`writer::write`]), then stores the report, queues its post in the
//! outbox and marks the job done in one transaction. So the post is queued
//! once (the outbox's identity, nonce and lease see to one post), and a
//! worker that dies mid-generation leaves the job to the next claim once
//! its lease ends.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures_util::StreamExt as _;
use shared::config::AiConfig;
use shared::db::DbError;
use shared::db::outbox::{self, NewOutboxItem, OutboxKind};
use shared::db::pulse::{self as stored, NewReport};
use shared::db::pulse_jobs::{self, Job};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::providers::Providers;
use super::writer::{self, Report};
use super::{PulseFigures, body_of, stored_embed};
use crate::reply::Message;

/// Jobs claimed per round.
pub const BATCH: i64 = 8;
/// Reports written at once.
pub const CONCURRENCY: usize = 2;
/// Claims after which providers are no longer asked: earlier attempts
/// did not finish (a process that died mid-generation, say), and the
/// built-in report must still be posted.
pub const MAX_PROVIDER_ATTEMPTS: i32 = 3;

/// How long a claimed job is held: longer than the slowest chain (the
/// guild's provider and the operator's, each within its total budget),
/// so no other worker claims a job still being written.
pub fn lease(ai: &AiConfig) -> chrono::Duration {
    let budget = chrono::Duration::from_std(ai.request_timeout)
        .unwrap_or_else(|_| chrono::Duration::minutes(1));
    budget * 2 + chrono::Duration::minutes(2)
}

/// The identity of a week's report post in the outbox.
pub fn identity(job: &Job) -> String {
    format!("report:{}:{}", job.guild_id, job.period_start.timestamp())
}

/// What one job became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Written now, by `builtin` or a provider's name.
    Written(String),
    /// A report stored for the same key was posted (no provider call).
    Reused(String),
    /// Another claim finished it first; nothing stored.
    Superseded,
}

/// What one [`run_due`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobsReport {
    pub done: Vec<(Job, JobOutcome)>,
    /// Jobs that failed (logged; claimed again after their lease).
    pub failed: Vec<Job>,
}

/// Claims the jobs due at `now` (up to [`BATCH`]) and finishes them, at
/// most [`CONCURRENCY`] at once.
pub async fn run_due(
    pool: &PgPool,
    providers: &Providers,
    now: DateTime<Utc>,
) -> Result<JobsReport, DbError> {
    let jobs = pulse_jobs::claim(pool, now, lease(providers.config()), BATCH).await?;
    let results: Vec<(Job, Result<JobOutcome, DbError>)> = futures_util::stream::iter(jobs)
        .map(|job| async move {
            let result = finish_job(pool, providers, &job, now).await;
            (job, result)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut report = JobsReport::default();
    for (job, result) in results {
        match result {
            Ok(outcome) => report.done.push((job, outcome)),
            Err(error) => {
                tracing::warn!(guild = %job.guild_id, %error, "weekly Pulse Report failed");
                if let Err(error) = pulse_jobs::record_failure(pool, &job, &error.to_string()).await
                {
                    tracing::warn!(%error, "recording a Pulse Report job's failure failed");
                }
                report.failed.push(job);
            }
        }
    }
    report
        .done
        .sort_by_key(|(j, _)| (j.period_start, j.guild_id));
    Ok(report)
}

async fn finish_job(
    pool: &PgPool,
    providers: &Providers,
    job: &Job,
    now: DateTime<Utc>,
) -> Result<JobOutcome, DbError> {
    let tz: Tz = job.timezone.parse().unwrap_or(Tz::UTC);
    let figures = {
        let mut conn = pool.acquire().await?;
        PulseFigures::load_period(
            &mut conn,
            job.guild_id,
            tz,
            job.period_start,
            job.period_end,
            now,
        )
        .await?
    };
    let report = if job.attempts > MAX_PROVIDER_ATTEMPTS {
        Report::Written(writer::fallback(
            &figures,
            Vec::new(),
            vec![format!(
                "{} earlier attempts to write this report did not finish, so no provider was asked.",
                job.attempts - 1
            )],
            (0, 0),
        ))
    } else {
        let guild = writer::guild_provider(pool, providers.config(), job.guild_id).await?;
        writer::write(pool, providers, &figures, guild).await?
    };
    let mut tx = pool.begin().await?;
    let (message, report_id, outcome) = match report {
        Report::Reused(stored) => (
            Message {
                embeds: vec![stored_embed(&stored.shown)],
                ..Message::default()
            },
            stored.report_id,
            JobOutcome::Reused(stored.provider),
        ),
        Report::Written(written) => {
            let message = super::message(&figures, &written.text);
            let report_id = stored::save(
                &mut *tx,
                &NewReport {
                    guild_id: job.guild_id,
                    period_start: job.period_start,
                    period_end: job.period_end,
                    provider: written.provider.clone(),
                    model: written.model,
                    prompt_version: written.prompt_version,
                    generated_at: now,
                    shown: body_of(&message),
                    tokens_in: writer::stored_tokens(written.tokens_in),
                    tokens_out: writer::stored_tokens(written.tokens_out),
                },
            )
            .await?;
            (message, report_id, JobOutcome::Written(written.provider))
        }
    };
    let item = NewOutboxItem {
        kind: OutboxKind::Report,
        identity_key: identity(job),
        guild_id: job.guild_id,
        channel_id: job.channel_id,
        payload: message.channel_post_payload(),
        files: Vec::new(),
        not_before: now,
    };
    let outbox_id = outbox::enqueue(&mut *tx, &item).await?;
    if !pulse_jobs::finish(&mut *tx, job, report_id, outbox_id, now).await? {
        tx.rollback().await?;
        return Ok(JobOutcome::Superseded);
    }
    tx.commit().await?;
    Ok(outcome)
}

/// How often the worker in `serve` looks for queued reports.
pub const WORKER_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// The Pulse Report worker of a long-running process: [`run_due`] now and
/// every `interval` until cancelled (every replica may run one; the claim
/// and the job's state make each report post once). Owned by `tracker`;
/// shutdown stops a round in flight (a provider call may take a minute)
/// and its jobs are claimed again when their lease ends.
pub struct PulseJobWorker {
    pub pool: PgPool,
    pub providers: Providers,
    pub interval: std::time::Duration,
}

impl PulseJobWorker {
    pub fn spawn(self, tracker: &TaskTracker, cancel: CancellationToken) {
        tracker.spawn(async move {
            loop {
                // A round cut short by shutdown leaves its claimed jobs to
                // the next claim after their lease.
                let round = tokio::select! {
                    () = cancel.cancelled() => break,
                    round = run_due(&self.pool, &self.providers, Utc::now()) => round,
                };
                match round {
                    Ok(report) if !report.done.is_empty() || !report.failed.is_empty() => {
                        tracing::info!(
                            done = report.done.len(),
                            failed = report.failed.len(),
                            "Pulse Report round"
                        );
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "Pulse Report round failed"),
                }
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(self.interval) => {}
                }
            }
            tracing::info!("Pulse Report worker stopped");
        });
    }
}
