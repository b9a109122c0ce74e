//! `serverpulse-ingester`: turns gateway events into rollup writes.
//!
//! A library with a thin `main`, so tests run it in-process.
//!
//! # Time
//! Messages count at their snowflake time and joins at `joined_at`. Events
//! that carry no time (reactions, deletions, voice updates, member removes,
//! thread creation) count at their arrival time. In production that is the
//! wall clock. The simulator (`discord-sim`) stamps every dispatch frame with
//! an extra envelope field `sim_time_ms`, the scenario time of the event,
//! which Discord never sends; when present it is the arrival time. So a
//! month replayed in seconds yields the rollups of living through it. The
//! clock never goes back: an event arriving "earlier" than the last one is
//! timed at the last one.
//!
//! # Exactly once
//! Each shard folds frames into a pre-aggregated batch and commits it with
//! its checkpoint (session id, sequence, resume URL, clock), the catalogue
//! changes and the open voice sessions in one transaction. On start a shard
//! loads that state and resumes the gateway session from the checkpoint, so
//! the gateway replays exactly what the last commit did not contain. A new
//! session (READY) after any earlier one means the events between the
//! checkpoint's clock and READY were not replayed: a `coverage_gaps` row is
//! written for every guild of the shard instead of pretending.
//!
//! # Voice
//! Sessions start on a join or move and end on a leave or move; mute and
//! deafen never split them. Seconds are split at UTC hours and credited when
//! a session ends and, for open sessions, at every flush up to the clock.
//! Peak concurrency per channel-hour is the occupancy at each instant after
//! all of that instant's updates (a leave and a join at the same instant
//! never overlap), including the occupancy at each hour's start. On a new
//! session, GUILD_CREATE's voice states replace what was open.
//!
//! # Alerts
//! The fold also feeds the alert detectors (`state::alerts`): joins of
//! people (bots left out) by `joined_at` to the join-raid window, deleted
//! messages by arrival (a bulk delete per message) to the mass-deletion
//! window, and the people in voice (bots left out) at every instant the
//! occupancy is observed to the voice-surge detector, against the usual
//! peak of that hour of the week (from `guild_hourly.voice_peak`, read
//! before the frame that needs it is folded). The flush evaluates the
//! hours a batch ended for activity drops, after writing its rollups.
//! Incidents, their outbox messages and the detectors' windows are written
//! in the batch's transaction, and the windows are loaded at start, so a
//! crash or a replay neither loses nor doubles an incident. A raid,
//! deletion or surge ends a quiet period after its last event, on the
//! shard's clock (the wall clock moves it between frames in production).

pub mod events;
pub mod flush;
pub mod identify;
pub mod settings;
pub mod shard;
pub mod startup;
pub mod state;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use metrics_exporter_prometheus::PrometheusHandle;
use shared::config::{IngesterConfig, LogFormat};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use shard::Tuning;

/// How long shutdown waits for the identify claims and the settings
/// listener after the shards stopped.
const SHUTDOWN_TASKS: Duration = Duration::from_secs(5);

/// The longest a SIGTERM'd ingester takes to stop with the default tuning:
/// the final flush, the resumable close, then the background tasks. A
/// supervisor's kill timeout (fly.toml, the systemd unit) must exceed it.
pub const SHUTDOWN_BUDGET: Duration = shard::SHUTDOWN_FLUSH_TIMEOUT
    .saturating_add(shard::CLOSE_TIMEOUT)
    .saturating_add(SHUTDOWN_TASKS);

/// `serverpulse-ingester run`: the configuration from the environment,
/// logging and metrics, the configured listening address, and [`run`] until
/// SIGTERM or Ctrl-C.
pub async fn run_from_env() -> anyhow::Result<()> {
    let config = IngesterConfig::from_env()?;
    // wss:// needs a crypto provider; ignore "already installed".
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    shared::telemetry::init_logging(config.log_format);
    let metrics = shared::telemetry::init_metrics("serverpulse-ingester");
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    run(
        config,
        listener,
        metrics,
        shared::telemetry::shutdown_signal(),
    )
    .await
}

/// `serverpulse-ingester migrate`: applies the migrations and exits.
pub async fn migrate_from_env() -> anyhow::Result<()> {
    let database = shared::config::database_from_env()?;
    shared::telemetry::init_logging(LogFormat::Text);
    shared::db::open(&database).await?;
    tracing::info!("migrations applied");
    Ok(())
}

/// Connects and migrates the database, serves health, readiness and metrics
/// on `listener`, runs the configured shards, and stops on `shutdown`.
pub async fn run(
    config: IngesterConfig,
    listener: TcpListener,
    metrics: PrometheusHandle,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let tuning = Tuning {
        stable_after: config.stable_after,
        ..Tuning::from_batching(config.batching)
    };
    run_with(config, tuning, listener, metrics, shutdown).await
}

/// [`run`] with batch and buffer sizes other than the configured ones.
pub async fn run_with(
    config: IngesterConfig,
    tuning: Tuning,
    listener: TcpListener,
    metrics: PrometheusHandle,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let pool = shared::db::open(&config.database).await?;
    let addr = listener
        .local_addr()
        .context("reading the listening address")?;
    let stop = CancellationToken::new();
    let stopping = stop.clone();
    let signal = tokio::spawn(async move {
        shutdown.await;
        stopping.cancel();
    });
    // Health and metrics answer while the start backs off.
    let ops = shared::ops::routes(pool.clone(), metrics);
    let ops_stop = stop.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, ops)
            .with_graceful_shutdown(async move { ops_stop.cancelled().await })
            .await
    });
    let name = startup::process_name(&config.shard_plan);
    let started = tokio::select! {
        () = stop.cancelled() => None,
        started = begin(&config, &pool, &name) => Some(started),
    };
    let start = match started {
        None => {
            finish(server, signal, &pool).await?;
            return Ok(());
        }
        Some(Err(error)) => {
            stop.cancel();
            finish(server, signal, &pool).await?;
            return Err(error);
        }
        Some(Ok(start)) => start,
    };
    tracing::info!(
        %addr,
        shards = ?start.shards,
        shard_total = start.total,
        max_concurrency = start.max_concurrency,
        database = %config.database.redacted_url(),
        "serverpulse-ingester started"
    );
    let tasks = TaskTracker::new();
    let settings = Arc::new(settings::SettingsCache::default());
    settings
        .reload_all(&pool)
        .await
        .context("loading guild settings")?;
    tasks.spawn(settings::listen(
        pool.clone(),
        Arc::clone(&settings),
        stop.clone(),
    ));
    let identified = Arc::new(AtomicU32::new(0));
    let ctx = Arc::new(shard::ShardContext {
        pool: pool.clone(),
        settings,
        token: config.discord_token.expose().to_owned(),
        gateway_url: config.gateway_url.clone().or(start.gateway_url.clone()),
        shard_total: start.total,
        tuning,
        queue: identify::PgIdentifyQueue::new(
            pool.clone(),
            start.max_concurrency,
            tuning.identify_spacing,
            tasks.clone(),
            stop.clone(),
        ),
        identified: Arc::clone(&identified),
    });
    let mut shards = tokio::task::JoinSet::new();
    for shard_id in start.shards.clone() {
        shards.spawn(shard::run(Arc::clone(&ctx), shard_id, stop.clone()));
    }
    let count = start.shards.clone().count() as u32;
    tasks.spawn(mark_stable_when_settled(
        pool.clone(),
        name.clone(),
        identified,
        count,
        tuning.stable_after,
        stop.clone(),
    ));

    let mut failure = None;
    tokio::select! {
        // A signal wakes both branches at once (each shard returns when it
        // sees `stop`): the signal must win, or a clean stop would read as
        // a shard failing.
        biased;
        () = stop.cancelled() => {}
        Some(result) = shards.join_next() => {
            failure = match result {
                Ok(Ok(())) if stop.is_cancelled() => None,
                Ok(Ok(())) => Some(anyhow::anyhow!("a shard stopped unexpectedly")),
                Ok(Err(error)) => Some(error),
                Err(error) => Some(anyhow::anyhow!("a shard task panicked: {error}")),
            };
        }
    }
    stop.cancel();
    while let Some(result) = shards.join_next().await {
        if let Ok(Err(error)) = result {
            tracing::error!(%error, "shard ended with an error");
        }
    }
    drop(ctx);
    tasks.close();
    if tokio::time::timeout(SHUTDOWN_TASKS, tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!(left = tasks.len(), "background tasks did not stop in time");
    }
    if failure.is_none() {
        // A deliberate stop is no failed start.
        if let Err(error) = shared::db::gateway::mark_stable(&pool, &name).await {
            tracing::warn!(%error, "could not record the clean stop");
        }
    }
    finish(server, signal, &pool).await?;
    match failure {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

type OpsServer = tokio::task::JoinHandle<std::io::Result<()>>;

/// Stops serving health and metrics, then closes the pool.
async fn finish(
    server: OpsServer,
    signal: tokio::task::JoinHandle<()>,
    pool: &sqlx::PgPool,
) -> anyhow::Result<()> {
    signal.abort();
    server
        .await
        .context("ops server task")?
        .context("serving health and metrics")?;
    pool.close().await;
    tracing::info!("serverpulse-ingester stopped");
    Ok(())
}

/// Backs off after repeated failed starts, records this start, and works
/// out the shards (asking Discord when `SHARD_TOTAL` is not set).
async fn begin(
    config: &IngesterConfig,
    pool: &sqlx::PgPool,
    name: &str,
) -> anyhow::Result<startup::ShardStart> {
    let history = shared::db::gateway::start_history(pool, name)
        .await
        .context("reading the ingester's start history")?;
    if let Some(history) = history {
        let delay = startup::restart_delay(history.unstable_starts);
        let wait = delay.saturating_sub(history.since_last_start);
        if !wait.is_zero() {
            tracing::warn!(
                failed_starts = history.unstable_starts,
                wait_seconds = wait.as_secs_f64(),
                "backing off before starting the gateway: the last starts did not run stably"
            );
            tokio::time::sleep(wait).await;
        }
    }
    shared::db::gateway::record_start(pool, name)
        .await
        .context("recording the ingester's start")?;
    match startup::ShardStart::fixed(&config.shard_plan) {
        Some(start) => Ok(start),
        None => {
            let bot = startup::gateway_bot(&config.api_url, &config.discord_token)
                .await
                .context("asking Discord for the recommended shards (SHARD_TOTAL is not set)")?;
            tracing::info!(
                shards = bot.shards,
                remaining = bot.session_start_limit.remaining,
                total = bot.session_start_limit.total,
                max_concurrency = bot.session_start_limit.max_concurrency,
                "Discord's recommendation"
            );
            Ok(startup::ShardStart::recommended(&bot)?)
        }
    }
}

/// Once all `count` shards have identified and run for `after`, the start
/// is stable: the next restart needs no back-off.
async fn mark_stable_when_settled(
    pool: sqlx::PgPool,
    name: String,
    identified: Arc<AtomicU32>,
    count: u32,
    after: Duration,
    stop: CancellationToken,
) {
    let settled = async {
        while identified.load(Ordering::Relaxed) < count {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(after).await;
    };
    tokio::select! {
        () = stop.cancelled() => return,
        () = settled => {}
    }
    match shared::db::gateway::mark_stable(&pool, &name).await {
        Ok(()) => tracing::info!("all shards identified and running; start marked stable"),
        Err(error) => tracing::warn!(%error, "could not mark the start stable"),
    }
}
