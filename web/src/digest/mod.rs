//! Scheduled digests: [`run_due`] claims every digest period due at an
//! instant exactly once and queues its message in the outbox (delivered
//! by [`crate::delivery`]); [`preview`] renders the next one without
//! claiming anything.
//!
//! Claiming, rendering and enqueueing happen in one transaction whose
//! first statement inserts the period's `digest_runs` row: a concurrent
//! claimer of the same period waits on that row's key and then inserts
//! nothing, so replicas and reruns post each digest once.

pub mod render;
pub mod schedule;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use shared::Snowflake;
use shared::db::DbError;
use shared::db::analytics::Bots;
use shared::db::digest_settings::{self, DigestFrequency, DigestSettings};
use shared::db::digests::{self, DigestKey, DigestOutcome};
use shared::db::outbox::{self, NewOutboxItem, OutboxFile, OutboxKind};
use sqlx::PgPool;

use render::DigestFigures;

use crate::honest::Comparison;
use schedule::DigestPeriod;

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("drawing the digest chart failed: {0}")]
    Chart(String),
}

impl From<sqlx::Error> for DigestError {
    fn from(error: sqlx::Error) -> Self {
        Self::Db(error.into())
    }
}

/// What one [`run_due`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Periods this run claimed, with their outcome.
    pub claimed: Vec<(DigestKey, DigestOutcome)>,
    /// Guilds whose digest failed (logged; retried by the next run, since
    /// nothing was claimed).
    pub failed: Vec<Snowflake>,
}

impl RunReport {
    /// Digests this run queued for posting.
    pub fn queued(&self) -> usize {
        self.claimed
            .iter()
            .filter(|(_, o)| matches!(o, DigestOutcome::Queued | DigestOutcome::QueuedLate))
            .count()
    }
}

/// The guild's timezone, or UTC when the stored name is unknown.
pub fn timezone(settings: &DigestSettings) -> Tz {
    settings.timezone.parse().unwrap_or(Tz::UTC)
}

/// Claims and queues every digest due at `now` that no run claimed before;
/// periods missed by a period or more are recorded as skipped.
pub async fn run_due(pool: &PgPool, now: DateTime<Utc>) -> Result<RunReport, DbError> {
    let guilds = digest_settings::guilds_with_digests(pool).await?;
    let mut report = RunReport::default();
    for guild in guilds {
        match run_guild(pool, &guild, now, &mut report).await {
            Ok(()) => {}
            Err(error) => {
                tracing::warn!(guild = %guild.guild_id, %error, "digest failed");
                report.failed.push(guild.guild_id);
            }
        }
    }
    Ok(report)
}

async fn run_guild(
    pool: &PgPool,
    guild: &DigestSettings,
    now: DateTime<Utc>,
    report: &mut RunReport,
) -> Result<(), DigestError> {
    let tz = timezone(guild);
    let since = guild.since.unwrap_or(now);
    let due = schedule::due(&guild.schedule, tz, since, now);
    for missed in &due.missed {
        let key = key_of(guild.guild_id, missed);
        // Newest first: once one is on record, the older ones are too.
        if !digests::claim(
            pool,
            key,
            missed.to,
            missed.scheduled_at,
            now,
            DigestOutcome::SkippedTooLate,
        )
        .await?
        {
            break;
        }
        report.claimed.push((key, DigestOutcome::SkippedTooLate));
    }
    let Some((period, late)) = due.post else {
        return Ok(());
    };
    let key = key_of(guild.guild_id, &period);
    let outcome = match (guild.update_channel_id, &guild.delivery_failure) {
        (None, _) => DigestOutcome::SkippedNoChannel,
        (Some(_), Some(_)) => DigestOutcome::SkippedChannelFailing,
        (Some(_), None) if late => DigestOutcome::QueuedLate,
        (Some(_), None) => DigestOutcome::Queued,
    };
    let mut tx = pool.begin().await?;
    if !digests::claim(&mut *tx, key, period.to, period.scheduled_at, now, outcome).await? {
        return Ok(());
    }
    let (Some(channel), DigestOutcome::Queued | DigestOutcome::QueuedLate) =
        (guild.update_channel_id, outcome)
    else {
        tx.commit().await?;
        report.claimed.push((key, outcome));
        return Ok(());
    };
    let previous = schedule::previous(period, &guild.schedule, tz);
    let bots = Bots::from_setting(guild.count_bots);
    let figures = render::gather(&mut tx, guild.guild_id, period, previous, tz, late, bots).await?;
    if period.frequency == DigestFrequency::Hourly && figures.is_empty() {
        digests::settle(&mut *tx, key, DigestOutcome::SkippedEmpty, None).await?;
        tx.commit().await?;
        report.claimed.push((key, DigestOutcome::SkippedEmpty));
        return Ok(());
    }
    let message = render_message(figures).await?;
    let item = NewOutboxItem {
        kind: OutboxKind::Digest,
        identity_key: key.identity(),
        guild_id: guild.guild_id,
        channel_id: channel,
        payload: message.channel_post_payload(),
        files: message
            .files
            .iter()
            .map(|f| OutboxFile {
                filename: f.filename.clone(),
                bytes: f.bytes.to_vec(),
            })
            .collect(),
        not_before: now,
    };
    let outbox_id = outbox::enqueue(&mut *tx, &item).await?;
    digests::settle(&mut *tx, key, outcome, outbox_id).await?;
    if period.frequency == DigestFrequency::Weekly {
        queue_pulse_report(&mut tx, guild.guild_id, channel, &period, tz, now).await?;
    }
    tx.commit().await?;
    report.claimed.push((key, outcome));
    Ok(())
}

/// The Pulse Report of a weekly digest's week, queued as a job in the
/// transaction that claims the digest (one per guild and week); the
/// Pulse Report worker writes and posts it ([`crate::pulse::weekly`]).
async fn queue_pulse_report(
    tx: &mut sqlx::PgConnection,
    guild_id: Snowflake,
    channel: Snowflake,
    period: &DigestPeriod,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<(), DigestError> {
    let job = shared::db::pulse_jobs::NewJob {
        guild_id,
        period_start: period.from,
        period_end: period.to,
        channel_id: channel,
        timezone: tz.name().to_owned(),
    };
    shared::db::pulse_jobs::queue(&mut *tx, &job, now).await?;
    Ok(())
}

fn key_of(guild_id: Snowflake, period: &DigestPeriod) -> DigestKey {
    DigestKey {
        guild_id,
        frequency: period.frequency,
        period_start: period.from,
    }
}

/// The message of a digest, its chart drawn off the async threads.
pub async fn render_message(figures: DigestFigures) -> Result<crate::reply::Message, DigestError> {
    tokio::task::spawn_blocking(move || {
        let chart = render::chart(&figures)
            .transpose()
            .map_err(|e| DigestError::Chart(e.to_string()))?;
        Ok(render::message(&figures, chart))
    })
    .await
    .map_err(|e| DigestError::Chart(e.to_string()))?
}

/// The next digest of `settings` as it would be posted, with the figures
/// of its period so far (the period after the latest one due at `now`,
/// compared with that one); claims nothing. For `/digest preview`.
pub async fn preview(
    pool: &PgPool,
    settings: &DigestSettings,
    now: DateTime<Utc>,
) -> Result<Option<crate::reply::Message>, DigestError> {
    let Some(frequency) = settings.schedule.frequency else {
        return Ok(None);
    };
    let tz = timezone(settings);
    let previous = schedule::latest(frequency, &settings.schedule, tz, now);
    let period = schedule::following(previous, &settings.schedule, tz);
    let mut conn = pool.acquire().await?;
    let bots = Bots::from_setting(settings.count_bots);
    let mut figures = render::gather(
        &mut conn,
        settings.guild_id,
        period,
        previous,
        tz,
        false,
        bots,
    )
    .await?;
    // The period is not over: its figures so far are no match for the
    // whole period before.
    if now < period.to {
        figures.comparison = Comparison::SoFar { until: now };
    }
    Ok(Some(render_message(figures).await?))
}

/// What [`run_and_deliver`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CliReport {
    pub run: RunReport,
    pub reports: crate::pulse::weekly::JobsReport,
    pub delivery: crate::delivery::DeliveryReport,
}

/// `digests run --at T`: claims every digest due at `at`, writes the
/// weekly Pulse Reports queued and due (with the guilds' providers), then
/// delivers the outbox items due at `at` until a round sends nothing new
/// (items left to retry stay in the outbox for the worker or the next
/// run).
pub async fn run_and_deliver(
    pool: &PgPool,
    poster: &crate::delivery::Poster,
    providers: &crate::pulse::providers::Providers,
    at: DateTime<Utc>,
) -> Result<CliReport, DbError> {
    let run = run_due(pool, at).await?;
    let reports = crate::pulse::weekly::run_due(pool, providers, at).await?;
    let mut delivery = crate::delivery::DeliveryReport::default();
    loop {
        let round = crate::delivery::deliver_due(pool, poster, at).await?;
        delivery.delivered += round.delivered;
        delivery.retrying += round.retrying;
        delivery.failed += round.failed;
        if round.delivered + round.failed == 0 {
            break;
        }
    }
    Ok(CliReport {
        run,
        reports,
        delivery,
    })
}

/// How often the scheduler in `serve` looks for due digests.
pub const SCHEDULER_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// The digest scheduler of a long-running process: [`run_due`] now and
/// every `interval` until cancelled (every replica may run one; the claim
/// makes each digest post once). Owned by `tracker`, so shutdown drains a
/// run in flight before the pool closes.
pub struct DigestScheduler {
    pub pool: PgPool,
    pub interval: std::time::Duration,
}

impl DigestScheduler {
    pub fn spawn(
        self,
        tracker: &tokio_util::task::TaskTracker,
        cancel: tokio_util::sync::CancellationToken,
    ) {
        tracker.spawn(async move {
            loop {
                match run_due(&self.pool, Utc::now()).await {
                    Ok(report) if !report.claimed.is_empty() || !report.failed.is_empty() => {
                        tracing::info!(
                            claimed = report.claimed.len(),
                            queued = report.queued(),
                            failed = report.failed.len(),
                            "digest run"
                        );
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "digest run failed"),
                }
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(self.interval) => {}
                }
            }
            tracing::info!("digest scheduler stopped");
        });
    }
}
