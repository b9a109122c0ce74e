//! Discord's REST API under `/api/v10`, as much of it as the product uses,
//! with Discord's limits, error shapes and rate-limit headers, plus the
//! simulator's own control routes under `/_sim/`.
//!
//! - `route` parses paths into the routes the simulator knows;
//!   `dispatch` runs every request through auth, rate limits, the route
//!   and the record; `body` reads bodies and shapes answers.
//! - `messages` builds message objects; `channels` serves the bot's
//!   channel messages; `webhooks` the interaction routes; `commands` the
//!   command registration.
//! - `rate_limit` counts the message buckets and forces 429s and 5xx;
//!   `record` holds what tests read through [`RestHandle`] (`handle`) or
//!   the `/_sim/` routes (`control`).

mod body;
mod channels;
mod commands;
mod control;
mod dispatch;
mod handle;
mod history;
mod messages;
mod rate_limit;
mod record;
mod route;
pub mod validate;
mod webhooks;

use std::collections::HashMap;
use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::SimError;
use crate::gateway::GatewayHandle;

pub use channels::{ChannelAccess, NONCE_WINDOW};
pub use handle::RestHandle;
pub use rate_limit::{BucketLimit, ForcedAnswer, RateLimitRule, RateLimitScope, RestFault};
pub use record::{InteractionRecord, RecordedFile, RecordedRequest, StoredFile, StoredMessage};

/// What axum reads at most; larger bodies get axum's bare 413. Discord's
/// own form limit is about 25 MiB; files are checked against
/// [`RestConfig::attachment_size_limit`] first.
const BODY_LIMIT: usize = 26 * 1024 * 1024;
/// Discord's upload limit for a bot in a guild without boosts: 10 MiB.
pub const DEFAULT_ATTACHMENT_SIZE_LIMIT: usize = 10 * 1024 * 1024;

/// How the REST side behaves.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// Bot routes demand `Authorization: Bot <token>`.
    pub token: String,
    pub application_id: u64,
    /// How long an interaction token works (Discord: 15 minutes).
    pub interaction_token_ttl: Duration,
    /// Append every request as a JSON line to this file.
    pub log_file: Option<PathBuf>,
    /// `shards` in `GET /gateway/bot`.
    pub recommended_shards: u32,
    /// The bucket creating and editing messages count against, one per
    /// channel (Discord: about 5 per 5 s); `None` switches it off.
    pub message_bucket: Option<BucketLimit>,
    /// Bytes of files one channel message request may carry; more is 413
    /// with code 40005. Discord's default for a guild without boosts.
    pub attachment_size_limit: usize,
    /// The bucket reading a channel's history counts against, one per
    /// channel; `None` switches it off.
    pub history_bucket: Option<BucketLimit>,
    /// Discord's global limit over every bot route (interaction routes
    /// exempt); `None` switches it off.
    pub global_limit: Option<BucketLimit>,
}

impl RestConfig {
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            application_id: crate::DEFAULT_APPLICATION_ID,
            interaction_token_ttl: Duration::from_secs(15 * 60),
            log_file: None,
            recommended_shards: 1,
            message_bucket: Some(BucketLimit::CHANNEL_MESSAGES),
            attachment_size_limit: DEFAULT_ATTACHMENT_SIZE_LIMIT,
            history_bucket: Some(BucketLimit::CHANNEL_HISTORY),
            global_limit: Some(BucketLimit::GLOBAL),
        }
    }
}

struct Interaction {
    record: InteractionRecord,
    created: Instant,
}

#[derive(Default)]
struct RestInner {
    requests: Vec<RecordedRequest>,
    interactions: HashMap<String, Interaction>,
    rate_limits: Vec<RateLimitRule>,
    faults: Vec<RestFault>,
    buckets: rate_limit::Buckets,
    channels: HashMap<u64, channels::Channel>,
    commands: HashMap<Option<u64>, Vec<Value>>,
    next_id: u64,
    /// The instant history is served at (`None`: the scenario's end).
    history_at: Option<i64>,
    /// History built for `history_at`, on first use.
    history: Option<Arc<history::History>>,
    /// Channels whose history the bot may not read (no Read Message History).
    history_denied: std::collections::HashSet<u64>,
    /// Guilds whose member list the bot may not read (no Server Members intent).
    members_denied: std::collections::HashSet<u64>,
    /// Channels where the bot lacks Manage Threads: their private threads
    /// are listed and readable only where it joined them.
    manage_threads_denied: std::collections::HashSet<u64>,
    /// Private threads the bot is a member of.
    joined_threads: std::collections::HashSet<u64>,
    /// Guild → the @everyone role's permissions, where a test changed them.
    everyone_permissions: HashMap<u64, u64>,
}

struct RestState {
    config: RestConfig,
    gateway: Option<GatewayHandle>,
    base_url: String,
    inner: Mutex<RestInner>,
    changed: Notify,
    log: Option<Mutex<File>>,
}

impl RestState {
    fn lock(&self) -> MutexGuard<'_, RestInner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn snowflake(&self) -> u64 {
        let mut inner = self.lock();
        inner.next_id += 1;
        sim_scenario::snowflake_at(chrono::Utc::now().timestamp_millis(), inner.next_id)
    }

    /// The history served now, built on first use.
    fn history(&self) -> Option<Arc<history::History>> {
        let scenario = self.gateway.as_ref()?.scenario();
        let at = {
            let inner = self.lock();
            let at = inner
                .history_at
                .unwrap_or(scenario.start_ms + i64::from(scenario.days) * 86_400_000);
            if let Some(h) = inner.history.as_ref().filter(|h| h.at_ms == at) {
                return Some(Arc::clone(h));
            }
            at
        };
        let built = Arc::new(history::History::build(scenario, at));
        self.lock().history = Some(Arc::clone(&built));
        Some(built)
    }

    fn interaction_live(&self, interaction: &Interaction) -> bool {
        !interaction.record.expired
            && interaction.created.elapsed() <= self.config.interaction_token_ttl
    }
}

pub(crate) async fn start(
    config: RestConfig,
    gateway: Option<GatewayHandle>,
    addr: SocketAddr,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) -> Result<RestHandle, SimError> {
    let log = match &config.log_file {
        Some(path) => Some(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| SimError::OpenLog {
                    path: path.display().to_string(),
                    source,
                })?,
        )),
        None => None,
    };
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr, source })?;
    let known_channels = channels::from_scenario(gateway.as_ref().map(GatewayHandle::scenario));
    let state = Arc::new(RestState {
        config,
        gateway,
        base_url: format!("http://{addr}"),
        inner: Mutex::new(RestInner {
            channels: known_channels,
            ..RestInner::default()
        }),
        changed: Notify::new(),
        log,
    });
    let app = router(Arc::clone(&state));
    tracker.spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(cancel.cancelled_owned())
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "REST server failed");
        }
    });
    tracing::info!(url = %state.base_url, "REST listening");
    Ok(RestHandle { state, addr })
}

fn router(state: Arc<RestState>) -> Router {
    Router::new()
        .merge(control::router())
        .fallback(dispatch::discord)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}
