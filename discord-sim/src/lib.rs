//! A local Discord for tests, the demo and benchmarks: a gateway websocket
//! ([`gateway`]) and the REST routes the product uses, both served from one
//! [`SimHandle`], started with [`start`].
//!
//! Only base URLs differ from the real thing: point twilight's shard at
//! [`GatewayHandle::url`] with `ConfigBuilder::proxy_url`.

pub mod gateway;
pub mod interactions;
pub mod rest;
pub mod scenario_file;

use std::net::SocketAddr;
use std::sync::Arc;

use sim_scenario::Scenario;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use gateway::{
    Compression, ConnectionRecord, Fault, FaultKind, FaultTrigger, FrameRecord, FrameSend,
    GatewayConfig, GatewayHandle, Pacing, SessionRecord, SessionStartLimit, SessionStatus,
};
pub use interactions::{
    CommandOption, Delivery, FinalMessage, InteractionClient, InteractionKeys, InteractionKind,
    InteractionOutcome, Invoker, OptionValue,
};
pub use rest::{
    BucketLimit, ChannelAccess, ForcedAnswer, InteractionRecord, RateLimitRule, RateLimitScope,
    RecordedFile, RecordedRequest, RestConfig, RestFault, RestHandle, StoredFile, StoredMessage,
};

/// The application (and bot user) id the simulator answers to by default.
pub const DEFAULT_APPLICATION_ID: u64 = 1_180_000_000_000_000_001;

/// Errors of the simulator library.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("binding {addr}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("opening the REST log {path}")]
    OpenLog {
        path: String,
        source: std::io::Error,
    },
    #[error("reading scenario file {path}")]
    ReadScenario {
        path: String,
        source: std::io::Error,
    },
    #[error("scenario file {path}, line {line}: {message}")]
    ParseScenario {
        path: String,
        line: usize,
        message: String,
    },
}

/// Everything [`start`] needs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub gateway: GatewayConfig,
    pub rest: RestConfig,
    /// Where the gateway listens; port 0 picks a free one.
    pub gateway_addr: SocketAddr,
    /// Where the REST API (and the `/_sim/` control routes) listen.
    pub rest_addr: SocketAddr,
}

impl SimConfig {
    /// Loopback on free ports, Discord's defaults, this bot token.
    pub fn new(token: impl Into<String>) -> Self {
        let token = token.into();
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            gateway: GatewayConfig::new(token.clone()),
            rest: RestConfig::new(token),
            gateway_addr: loopback,
            rest_addr: loopback,
        }
    }
}

/// A running simulator. Call [`SimHandle::shutdown`] to stop it.
#[derive(Debug)]
pub struct SimHandle {
    pub gateway: GatewayHandle,
    pub rest: RestHandle,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl SimHandle {
    /// Stops accepting, ends every connection and waits for the tasks.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// Starts the gateway serving `scenario`, and the REST API.
pub async fn start(config: SimConfig, scenario: Scenario) -> Result<SimHandle, SimError> {
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let scenario = Arc::new(scenario);
    let addr = config.gateway_addr;
    let gateway = gateway::start(config.gateway, scenario, addr, cancel.clone(), &tracker).await?;
    let rest = rest::start(
        config.rest,
        Some(gateway.clone()),
        config.rest_addr,
        cancel.clone(),
        &tracker,
    )
    .await;
    match rest {
        Ok(rest) => Ok(SimHandle {
            gateway,
            rest,
            cancel,
            tracker,
        }),
        Err(error) => {
            cancel.cancel();
            Err(error)
        }
    }
}
