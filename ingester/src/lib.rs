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
pub mod settings;
pub mod shard;
pub mod state;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use metrics_exporter_prometheus::PrometheusHandle;
use shared::config::{IngesterConfig, LogFormat};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use shard::Tuning;

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
    let tuning = Tuning::from_batching(config.batching);
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
    tracing::info!(
        %addr,
        shards = ?config.shards,
        shard_total = config.shard_total,
        database = %config.database.redacted_url(),
        "serverpulse-ingester started"
    );
    let stop = CancellationToken::new();
    let settings = Arc::new(settings::SettingsCache::default());
    settings
        .reload_all(&pool)
        .await
        .context("loading guild settings")?;
    let listener_task = tokio::spawn(settings::listen(
        pool.clone(),
        Arc::clone(&settings),
        stop.clone(),
    ));
    let ctx = Arc::new(shard::ShardContext {
        pool: pool.clone(),
        settings,
        token: config.discord_token.expose().to_owned(),
        gateway_url: config.gateway_url.clone(),
        shard_total: config.shard_total,
        tuning,
    });
    let mut shards = tokio::task::JoinSet::new();
    for shard_id in config.shards.clone() {
        shards.spawn(shard::run(Arc::clone(&ctx), shard_id, stop.clone()));
    }

    let ops = shared::ops::routes(pool.clone(), metrics);
    let ops_stop = stop.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, ops)
            .with_graceful_shutdown(async move { ops_stop.cancelled().await })
            .await
    });

    let mut failure = None;
    tokio::select! {
        () = shutdown => {}
        Some(result) = shards.join_next() => {
            failure = Some(match result {
                Ok(Ok(())) => anyhow::anyhow!("a shard stopped unexpectedly"),
                Ok(Err(error)) => error,
                Err(error) => anyhow::anyhow!("a shard task panicked: {error}"),
            });
        }
    }
    stop.cancel();
    while let Some(result) = shards.join_next().await {
        if let Ok(Err(error)) = result {
            tracing::error!(%error, "shard ended with an error");
        }
    }
    let _ = listener_task.await;
    server
        .await
        .context("ops server task")?
        .context("serving health and metrics")?;
    pool.close().await;
    tracing::info!("serverpulse-ingester stopped");
    match failure {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
