//! `serverpulse-web`: answers Discord interactions from the rollup tables.
//!
//! A library with a thin `main`, so tests start the whole app in-process on
//! port 0 (`router` for `oneshot` calls without a socket, `serve` for real).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use shared::config::WebConfig;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Discord waits 3 seconds for an interaction answer; nothing we serve may
/// take longer than this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<WebConfig>,
    pub metrics: PrometheusHandle,
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    shared::ops::routes(state.pool.clone(), state.metrics.clone())
        .layer(TraceLayer::new_for_http())
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
}

/// Connects and migrates the database, then serves on `listener` until
/// `shutdown` resolves, finishing requests in flight.
pub async fn serve(
    config: WebConfig,
    listener: TcpListener,
    metrics: PrometheusHandle,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let pool = shared::db::open(&config.database).await?;
    let addr = listener
        .local_addr()
        .context("reading the listening address")?;
    tracing::info!(%addr, api = %config.api_url, "serverpulse-web listening");
    let state = AppState {
        pool: pool.clone(),
        config: Arc::new(config),
        metrics,
    };
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    pool.close().await;
    tracing::info!("serverpulse-web stopped");
    Ok(())
}
