//! `serverpulse-web`: answers Discord interactions from the rollup tables.
//!
//! # Figures
//! - **Activity score** (member analysis): `messages + 0.5 × reactions given
//!   + 0.5 × reactions received + voice minutes ÷ 10`, over the timeframe,
//!   bots and webhooks left out ([`report::activity_score`]).
//! - **Forecast** (trends): an ordinary least-squares line through the daily
//!   totals of the timeframe (local days), extended over the next period
//!   (as many days as the timeframe, 1–30); the 95% band is ±1.96 residual
//!   standard deviations per day and ±1.96·s·√days for the total, floored
//!   at zero ([`period::forecast`]). At least 3 days are needed.
//! - Every figure of a period is compared with the previous period of equal
//!   length (↑/↓ %); "all time" has none. Hours and days are local to the
//!   guild's timezone, so a day across a daylight-saving change has 23 or
//!   25 hours. Hours the ingester recorded as lost are shown as gaps.
//!
//! A library with a thin `main`, so tests start the whole app in-process on
//! port 0 (`router` for `oneshot` calls without a socket, `serve` for real).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use metrics_exporter_prometheus::PrometheusHandle;
use shared::config::WebConfig;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Discord waits 3 seconds for an interaction answer; nothing we serve may
/// take longer than this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long shutdown waits for deferred answers still being delivered.
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(20);

pub mod charts;
pub mod commands;
pub mod component;
pub mod context;
pub mod definitions;
pub mod discord;
pub mod error;
pub mod interactions;
pub mod period;
pub mod reply;
pub mod report;
pub mod signature;
pub mod view;

/// Largest interaction body accepted; Discord's are a few kilobytes, even
/// with resolved data.
pub const MAX_INTERACTION_BODY: usize = 256 * 1024;

/// The current time (tests pin it to a scenario's end).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<WebConfig>,
    pub metrics: PrometheusHandle,
    /// The application's public key, decoded once at start.
    pub verifying_key: VerifyingKey,
    pub rest: discord::DiscordRest,
    pub clock: Clock,
    /// How long to wait for an answer before deferring it
    /// ([`interactions::INLINE_BUDGET`]; tests shorten it).
    pub inline_budget: std::time::Duration,
    /// Deferred answers in flight: bounded, with a deadline, drained at
    /// shutdown.
    pub deferred: interactions::Deferred,
}

impl AppState {
    /// State for `config`; fails when the public key is not a valid point.
    pub fn new(pool: PgPool, config: WebConfig, metrics: PrometheusHandle) -> anyhow::Result<Self> {
        let verifying_key = VerifyingKey::from_bytes(&config.public_key)
            .context("DISCORD_PUBLIC_KEY is not a valid Ed25519 public key")?;
        let deferred = interactions::Deferred::new(config.deferred_limit, config.deferred_deadline);
        let rest = discord::DiscordRest::new(
            &config.api_url,
            config.discord_token.clone(),
            config.application_id,
        );
        Ok(Self {
            pool,
            config: Arc::new(config),
            metrics,
            verifying_key,
            rest,
            clock: Arc::new(Utc::now),
            inline_budget: interactions::INLINE_BUDGET,
            deferred,
        })
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let interactions = Router::new()
        .route("/interactions", post(interactions::handle))
        .layer(DefaultBodyLimit::max(MAX_INTERACTION_BODY))
        .with_state(state.clone());
    shared::ops::routes(state.pool.clone(), state.metrics.clone())
        .merge(interactions)
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
    // The key is checked before anything else, so a bad one fails fast.
    VerifyingKey::from_bytes(&config.public_key)
        .context("DISCORD_PUBLIC_KEY is not a valid Ed25519 public key")?;
    let pool = shared::db::open(&config.database).await?;
    let addr = listener
        .local_addr()
        .context("reading the listening address")?;
    tracing::info!(%addr, api = %config.api_url, "serverpulse-web listening");
    let state = AppState::new(pool.clone(), config, metrics)?;
    let deferred = state.deferred.clone();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    // Answers deferred before the signal are still delivered (bounded).
    if !deferred.drain(SHUTDOWN_DRAIN).await {
        tracing::warn!(
            left = deferred.in_flight(),
            "stopped with deferred answers undelivered"
        );
    }
    pool.close().await;
    tracing::info!("serverpulse-web stopped");
    Ok(())
}
