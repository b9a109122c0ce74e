//! `serverpulse-ingester`: turns gateway events into rollup writes.
//!
//! A library with a thin `main`, so tests run it in-process.

use std::future::Future;

use anyhow::Context as _;
use metrics_exporter_prometheus::PrometheusHandle;
use shared::config::IngesterConfig;
use tokio::net::TcpListener;

/// Connects and migrates the database, serves health, readiness and metrics
/// on `listener`, and runs until `shutdown` resolves.
pub async fn run(
    config: IngesterConfig,
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
        "serverpulse-ingester started"
    );
    let ops = shared::ops::routes(pool.clone(), metrics);
    axum::serve(listener, ops)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving health and metrics")?;
    pool.close().await;
    tracing::info!("serverpulse-ingester stopped");
    Ok(())
}
