//! Operational HTTP routes both binaries serve: liveness, readiness and
//! Prometheus metrics. They belong on a port a public proxy does not
//! expose (the web endpoint's `OPS_PORT`, the ingester's `INGESTER_PORT`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;

/// How long `/readyz` waits for the database before calling it unreachable.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one database check answers `/readyz`: a flood of readiness
/// probes costs at most one round trip per second.
pub const READINESS_CACHE: Duration = Duration::from_secs(1);

#[derive(Clone)]
struct OpsState {
    pool: PgPool,
    metrics: PrometheusHandle,
    readiness: Arc<tokio::sync::Mutex<Option<(Instant, bool)>>>,
}

/// `/healthz` (the process runs), `/readyz` (the database answered within
/// the last [`READINESS_CACHE`]) and `/metrics` (Prometheus text format).
pub fn routes(pool: PgPool, metrics: PrometheusHandle) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .with_state(OpsState {
            pool,
            metrics,
            readiness: Arc::default(),
        })
}

/// Liveness: the process runs and serves HTTP.
pub async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<OpsState>) -> impl IntoResponse {
    // Held across the check, so concurrent probes share one round trip.
    let mut cached = state.readiness.lock().await;
    let ready = match *cached {
        Some((checked, ready)) if checked.elapsed() < READINESS_CACHE => ready,
        _ => {
            let ready = match crate::db::ping(&state.pool, READINESS_TIMEOUT).await {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(%error, "readiness check failed");
                    false
                }
            };
            *cached = Some((Instant::now(), ready));
            ready
        }
    };
    drop(cached);
    if ready {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n")
    }
}

async fn render_metrics(State(state): State<OpsState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
