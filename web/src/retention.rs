//! The retention job in a long-running process: [`RetentionScheduler`]
//! calls [`shared::db::retention::run`] on the background tasks' tracker,
//! beside the digest scheduler. Every replica runs one; the run claims its
//! UTC day in `retention_runs`, so the job runs once a day across replicas
//! (the other replicas' attempts insert nothing and stop there). It is a
//! task of its own, so a long first trim never makes a digest late.

use chrono::Utc;
use shared::config::RetentionPolicy;
use shared::db::DbError;
use shared::db::retention::{self, RetentionReport};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often the scheduler tries to claim the day's run.
pub const RETENTION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

pub struct RetentionScheduler {
    pub pool: PgPool,
    pub policy: RetentionPolicy,
    pub interval: std::time::Duration,
}

impl RetentionScheduler {
    pub fn spawn(self, tracker: &TaskTracker, cancel: CancellationToken) {
        tracker.spawn(async move {
            loop {
                match retention::run(&self.pool, self.policy, Utc::now()).await {
                    Ok(Some(report)) => log(&report),
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "retention run failed"),
                }
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(self.interval) => {}
                }
            }
            tracing::info!("retention scheduler stopped");
        });
    }
}

fn log(report: &RetentionReport) {
    tracing::info!(
        partitions_dropped = report.partitions_dropped.len(),
        guilds_trimmed = report.trimmed.len(),
        rows_trimmed = report.rows_trimmed(),
        reports_deleted = report.reports_deleted,
        dashboard_deleted = report.dashboard_deleted,
        coverage_deleted = report.coverage_deleted,
        guilds_erased = report.erased.len(),
        failures = report.failures.len(),
        "retention run"
    );
}

/// The lines `serverpulse-web retention run` prints for a run at `at`.
pub fn describe(at: chrono::DateTime<Utc>, report: Option<&RetentionReport>) -> Vec<String> {
    let Some(report) = report else {
        return vec![format!(
            "the retention run of {} (UTC) was claimed before: nothing done",
            at.date_naive()
        )];
    };
    let mut lines: Vec<String> = report
        .partitions_dropped
        .iter()
        .map(|p| format!("dropped partition {p}"))
        .collect();
    lines.extend(report.trimmed.iter().map(|(guild, before, rows)| {
        format!(
            "guild {guild}: {rows} per-member rows before {} removed",
            before.to_rfc3339()
        )
    }));
    lines.extend(report.erased.iter().map(|guild| {
        format!("guild {guild}: every row deleted (bot removed past the grace period)")
    }));
    lines.extend(
        report
            .failures
            .iter()
            .map(|f| format!("failed, left for the next run: {f}")),
    );
    lines.push(format!(
        "at {}: {} partitions dropped, {} rows trimmed in {} guilds, {} stored reports deleted, {} coverage rows deleted, {} guilds erased",
        at.to_rfc3339(),
        report.partitions_dropped.len(),
        report.rows_trimmed(),
        report.trimmed.len(),
        report.reports_deleted,
        report.coverage_deleted,
        report.erased.len()
    ));
    lines
}

/// `retention run --at T`: the run of `T`'s UTC day, if no run claimed it.
pub async fn run_once(
    pool: &PgPool,
    policy: RetentionPolicy,
    at: chrono::DateTime<Utc>,
) -> Result<Option<RetentionReport>, DbError> {
    retention::run(pool, policy, at).await
}
