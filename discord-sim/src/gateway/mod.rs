//! The gateway: a websocket that speaks Discord's API v10 JSON protocol.
//!
//! Every shard `[id, n]` a client identifies as gets its own timeline, the
//! scenario's dispatches of the guilds routed to it by `(guild_id >> 22) % n`,
//! with one cursor: each dispatch is handed to exactly one session of that
//! shard, the one whose connection is live when the dispatch comes due. Each
//! session keeps every frame it was given (its replay buffer) and a record of
//! when each frame went out, so tests can prove what a client received.

mod config;
mod connection;
mod fault;
mod handle;
pub mod intents;
pub(crate) mod live;
mod record;
mod session;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sim_scenario::Scenario;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::SimError;
use live::id_of;
use state::{GatewayState, Inner};

pub use config::{Compression, DAILY_SESSION_STARTS, GatewayConfig, Pacing, SESSION_START_PERIOD};
pub use fault::{Fault, FaultKind, FaultTrigger};
pub use handle::{GatewayHandle, SessionStartLimit};
pub use record::{ConnectionRecord, FrameRecord, FrameSend, SessionRecord, SessionStatus};
pub(crate) use session::{FrameSource, Session};

/// Binds the gateway listener and serves it until `cancel` fires.
pub(crate) async fn start(
    config: GatewayConfig,
    scenario: Arc<Scenario>,
    addr: SocketAddr,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) -> Result<GatewayHandle, SimError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr, source })?;
    let first_at_ms = scenario
        .events
        .iter()
        .map(|e| e.at_ms)
        .min()
        .unwrap_or(scenario.start_ms);
    let state = Arc::new(GatewayState {
        config,
        scenario,
        url: format!("ws://{addr}"),
        first_at_ms,
        inner: Mutex::new(Inner::default()),
    });
    let accept_state = Arc::clone(&state);
    let conn_tracker = tracker.clone();
    tracker.spawn(async move {
        let mut next_conn = 0u64;
        loop {
            let (stream, peer) = tokio::select! {
                () = cancel.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "gateway accept failed");
                        continue;
                    }
                },
            };
            next_conn += 1;
            let state = Arc::clone(&accept_state);
            let cancel = cancel.clone();
            let id = next_conn;
            conn_tracker.spawn(async move {
                if let Err(error) = connection::serve(state, stream, id, cancel).await {
                    tracing::debug!(%peer, %error, "gateway connection ended with an error");
                }
            });
        }
    });
    tracing::info!(url = %state.url, "gateway listening");
    Ok(GatewayHandle { state, addr })
}

pub(crate) fn guild_id_of(value: &Value) -> Option<u64> {
    id_of(value)
}
