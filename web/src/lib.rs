//! `serverpulse-web`: answers Discord interactions from the rollup tables.
//!
//! # Figures
//! - **Activity score** (member analysis): `messages + 0.5 × reactions given
//!   + 0.5 × reactions received + voice minutes ÷ 10`, over the timeframe,
//!   of the member analysed ([`report::activity_score`]); messages by a
//!   bot account count only when the guild's `count_bots` is on.
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
//!
//! # Ports and limits
//! The public port (`PORT`) serves `/interactions`, `/healthz` and the
//! dashboard (`/g/<guild>…`, see [`dashboard`]);
//! `/readyz` and `/metrics` are on `OPS_PORT`, which a proxy must not
//! expose. On the public port a connection must send its request head
//! within the header timeout, a request must be answered within the
//! request timeout (503 otherwise), and at most `HTTP_MAX_CONNECTIONS`
//! connections are served at once; more wait in the listen backlog.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use metrics_exporter_prometheus::PrometheusHandle;
use shared::config::{HttpLimits, WebConfig};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// How long shutdown waits for deferred answers still being delivered.
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(20);

/// The longest a SIGTERM'd `serve` takes to stop with the default limits:
/// requests in flight (bounded by the request timeout), then the drain of
/// deferred answers and background work. A supervisor's kill timeout
/// (fly.toml, the systemd unit) must exceed it.
pub fn shutdown_budget(limits: &HttpLimits) -> Duration {
    limits.request_timeout + SHUTDOWN_DRAIN
}

pub mod answers;
pub mod backfill;
pub mod charts;
pub mod commands;
pub mod component;
pub mod context;
pub mod dashboard;
pub mod definitions;
pub mod delivery;
pub mod digest;
pub mod discord;
pub mod error;
pub mod export;
pub mod honest;
pub mod imported;
pub mod interactions;
pub mod period;
pub mod priority;
pub mod pulse;
pub mod reply;
pub mod report;
pub mod retention;
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
    /// The Pulse Report's AI providers (operator configuration only).
    pub providers: pulse::providers::Providers,
    /// The dashboard's signing key and rate limiter.
    pub dashboard: dashboard::SharedDashboard,
    /// Finished report answers of this process ([`answers`]).
    pub answers: Arc<answers::AnswerCache>,
    /// Answers being computed now: the backfill worker waits for them.
    pub commands_in_flight: priority::CommandsInFlight,
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
        let providers = pulse::providers::Providers::new(&config.ai);
        Ok(Self {
            pool,
            config: Arc::new(config),
            metrics,
            verifying_key,
            rest,
            clock: Arc::new(Utc::now),
            inline_budget: interactions::INLINE_BUDGET,
            deferred,
            providers,
            dashboard: Arc::default(),
            answers: Arc::default(),
            commands_in_flight: priority::CommandsInFlight::default(),
        })
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

/// The public surface: `/interactions`, `/healthz` and the dashboard's
/// pages under `/g/`. The request timeout bounds a slow client's body;
/// Discord's 3-second deadline is kept by the handler, which answers or
/// defers within [`interactions::INLINE_BUDGET`].
pub fn router(state: AppState) -> Router {
    let request_timeout = state.config.http.request_timeout;
    Router::new()
        .route("/interactions", post(interactions::handle))
        .layer(DefaultBodyLimit::max(MAX_INTERACTION_BODY))
        .route("/healthz", get(shared::ops::healthz))
        .merge(dashboard::routes())
        .with_state(state)
        // Spans name the path only: a dashboard link's query holds its token.
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            request_timeout,
        ))
}

/// The span of one request: method and path, never the query string.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        version = ?request.version(),
    )
}

/// The operational surface for `OPS_PORT`: `/healthz`, `/readyz`, `/metrics`.
pub fn ops_router(state: &AppState) -> Router {
    shared::ops::routes(state.pool.clone(), state.metrics.clone())
}

/// Connects and migrates the database, then serves the public routes on
/// `listener` and the operational ones on `ops_listener` until `shutdown`
/// resolves, finishing requests in flight.
pub async fn serve(
    config: WebConfig,
    listener: TcpListener,
    ops_listener: TcpListener,
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
    let ops_addr = ops_listener
        .local_addr()
        .context("reading the ops listening address")?;
    let mut limits = config.http;
    limits.max_connections = connections_within_open_file_limit(
        limits.max_connections,
        config.database.max_connections as usize,
    );
    tracing::info!(
        %addr,
        %ops_addr,
        api = %config.api_url,
        database = %config.database.redacted_url(),
        max_connections = limits.max_connections,
        "serverpulse-web listening"
    );
    let state = AppState::new(pool.clone(), config, metrics)?;
    // One owner for the deferred answers and the background work, and one
    // signal to stop the background work; shutdown drains them (bounded)
    // before the pools close. The background work has a small pool of its
    // own, so it never holds a connection a command needs.
    let background_pool = shared::db::connect(&background_database(&state.config.database))
        .await
        .context("connecting the digest scheduler's pool")?;
    let backfill_pool = shared::db::connect(&backfill_database(&state.config.database))
        .await
        .context("connecting the backfill worker's pool")?;
    let deferred = state.deferred.clone();
    let stop = CancellationToken::new();
    spawn_background(
        &state.config,
        &background_pool,
        &backfill_pool,
        &state.commands_in_flight,
        deferred.tracker(),
        &stop,
    );
    let ops = tokio::spawn(
        axum::serve(ops_listener, ops_router(&state))
            .with_graceful_shutdown(stop.clone().cancelled_owned())
            .into_future(),
    );
    let stopping = stop.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopping.cancel();
    });
    serve_public(listener, router(state), limits, stop.clone()).await;
    stop.cancel();
    // Answers deferred before the signal are still delivered, and the
    // scheduler and outbox worker finish their round (bounded).
    if !deferred.drain(SHUTDOWN_DRAIN).await {
        tracing::warn!(
            left = deferred.in_flight(),
            "stopped with deferred answers or background work unfinished"
        );
    }
    ops.await
        .context("ops server task")?
        .context("serving the ops port")?;
    background_pool.close().await;
    backfill_pool.close().await;
    pool.close().await;
    tracing::info!("serverpulse-web stopped");
    Ok(())
}

/// How often the outbox worker in `serve` looks for messages to post when
/// no notification woke it (retries falling due, a lost listener).
pub const OUTBOX_INTERVAL: Duration = Duration::from_secs(5);

/// Connections of the background work's own pool: one held by the outbox
/// worker's listener, three for the schedulers, the Pulse Report worker
/// and the deliveries.
pub const BACKGROUND_CONNECTIONS: u32 = 4;

/// The background pool's configuration: the same database,
/// [`BACKGROUND_CONNECTIONS`] connections, and the patient limits of batch work (a week's digest may
/// take longer than a command is allowed to).
pub fn background_database(
    database: &shared::config::DatabaseConfig,
) -> shared::config::DatabaseConfig {
    shared::config::DatabaseConfig {
        max_connections: BACKGROUND_CONNECTIONS,
        limits: shared::config::DatabaseLimits::INGESTER,
        ..database.clone()
    }
}

/// Connections of the backfill worker's own pool: one per channel read at
/// once ([`backfill::LANES`]) would be more than a page's commit needs;
/// two keep the imports from ever taking a connection of the schedulers.
pub const BACKFILL_CONNECTIONS: u32 = 2;

/// The backfill worker's pool: [`BACKFILL_CONNECTIONS`], batch limits.
pub fn backfill_database(
    database: &shared::config::DatabaseConfig,
) -> shared::config::DatabaseConfig {
    shared::config::DatabaseConfig {
        max_connections: BACKFILL_CONNECTIONS,
        ..background_database(database)
    }
}

/// The digest scheduler, the retention scheduler, the Pulse Report worker
/// and the outbox worker, on `tasks` until `stop`, querying through
/// `pool`, and the backfill worker on `backfill_pool`. Every replica runs
/// them: the digest claim, the report job's claim and the outbox lease
/// make each digest and report post once, the day's claim runs retention
/// once a day, and the backfill claim gives each import to one replica at
/// a time; it yields to the `commands` this replica is answering.
pub fn spawn_background(
    config: &WebConfig,
    pool: &PgPool,
    backfill_pool: &PgPool,
    commands: &priority::CommandsInFlight,
    tasks: &TaskTracker,
    stop: &CancellationToken,
) {
    digest::DigestScheduler {
        pool: pool.clone(),
        interval: digest::SCHEDULER_INTERVAL,
    }
    .spawn(tasks, stop.clone());
    retention::RetentionScheduler {
        pool: pool.clone(),
        policy: config.retention,
        interval: retention::RETENTION_INTERVAL,
    }
    .spawn(tasks, stop.clone());
    pulse::weekly::PulseJobWorker {
        pool: pool.clone(),
        providers: pulse::providers::Providers::new(&config.ai),
        interval: pulse::weekly::WORKER_INTERVAL,
    }
    .spawn(tasks, stop.clone());
    // One poster, so posts and backfill reads share the rate limits.
    let poster = delivery::Poster::new(&config.api_url, config.discord_token.clone());
    delivery::OutboxWorker {
        pool: pool.clone(),
        poster: poster.clone(),
        interval: OUTBOX_INTERVAL,
    }
    .spawn(tasks, stop.clone());
    let mut backfill = backfill::BackfillWorker::new(backfill_pool.clone(), poster);
    backfill.commands = commands.clone();
    backfill.spawn(tasks, stop.clone());
}

/// Descriptors kept for everything but client connections: the database
/// pool, Discord REST calls, listeners, logs.
const RESERVED_FILES: usize = 64;

/// Raises the open-file soft limit to the hard limit where allowed, and
/// lowers `wanted` connections to what the limit leaves room for, so a
/// flood of connections cannot starve the pool and REST calls of files.
fn connections_within_open_file_limit(wanted: usize, pool_size: usize) -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => usize::try_from(limit).unwrap_or(usize::MAX),
        Err(error) => {
            tracing::warn!(%error, "cannot read or raise the open-file limit");
            return wanted;
        }
    };
    let room = limit.saturating_sub(RESERVED_FILES + pool_size).max(1);
    if room < wanted {
        tracing::warn!(
            open_files = limit,
            wanted,
            serving = room,
            "the open-file limit leaves room for fewer connections than HTTP_MAX_CONNECTIONS"
        );
    }
    wanted.min(room)
}

/// Serves `app` over HTTP/1.1 on `listener` within `limits` until `stop`,
/// then lets requests in flight finish.
async fn serve_public(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    stop: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    loop {
        // A connection past the limit is not accepted: it waits in the
        // backlog until one closes (the header timeout sees to slow ones).
        let permit = tokio::select! {
            () = stop.cancelled() => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, remote) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, or the peer gave up: wait a little.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %remote, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
