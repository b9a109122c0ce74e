//! [`GatewayHandle`]: what tests and the REST side see of a running gateway.

use std::net::SocketAddr;
use std::sync::Arc;

use sim_scenario::Scenario;

use super::session::Session;
use super::state::GatewayState;
use super::{ConnectionRecord, Fault, FaultKind, FaultTrigger, SessionRecord, SessionStatus};

/// A running gateway; cheap to clone. Dropping it does not stop the server:
/// that is [`crate::SimHandle::shutdown`]'s job.
#[derive(Clone)]
pub struct GatewayHandle {
    pub(super) state: Arc<GatewayState>,
    pub(super) addr: SocketAddr,
}

impl std::fmt::Debug for GatewayHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayHandle")
            .field("url", &self.state.url)
            .finish()
    }
}

impl GatewayHandle {
    /// `ws://127.0.0.1:PORT`, without a trailing slash, as twilight's
    /// `proxy_url` wants it.
    pub fn url(&self) -> &str {
        &self.state.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Schedules a fault. `Expire` with `Now` on a shard with no live
    /// connection ends its latest session at once.
    pub fn inject(&self, fault: Fault) {
        let mut inner = self.state.lock();
        let live = inner
            .shards
            .values()
            .any(|s| s.shard[0] == fault.shard_id && s.live_conn.is_some());
        if fault.kind == FaultKind::Expire && fault.trigger == FaultTrigger::Now && !live {
            let latest = inner
                .session_order
                .iter()
                .rev()
                .find(|id| {
                    inner
                        .sessions
                        .get(*id)
                        .is_some_and(|s| s.shard[0] == fault.shard_id)
                })
                .cloned();
            if let Some(session) = latest.and_then(|id| inner.sessions.get_mut(&id))
                && matches!(
                    session.status,
                    SessionStatus::Connected | SessionStatus::Disconnected
                )
            {
                session.status = SessionStatus::Expired;
            }
            return;
        }
        inner.faults.push(fault);
        for shard in inner
            .shards
            .values()
            .filter(|s| s.shard[0] == fault.shard_id)
        {
            shard.notify.notify_one();
        }
    }

    /// Faults scheduled and not yet fired.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.state.lock().faults.clone()
    }

    /// Every session so far, in the order they were created.
    pub fn sessions(&self) -> Vec<SessionRecord> {
        let inner = self.state.lock();
        inner
            .session_order
            .iter()
            .filter_map(|id| inner.sessions.get(id))
            .map(Session::record)
            .collect()
    }

    pub fn session(&self, session_id: &str) -> Option<SessionRecord> {
        self.state
            .lock()
            .sessions
            .get(session_id)
            .map(Session::record)
    }

    /// Every websocket connection so far.
    pub fn connections(&self) -> Vec<ConnectionRecord> {
        self.state.lock().connections.clone()
    }

    /// How many of its dispatches shard `[id, n]` has handed out, and how many it has.
    pub fn shard_progress(&self, shard: [u32; 2]) -> Option<(usize, usize)> {
        self.state
            .lock()
            .shards
            .get(&shard)
            .map(|s| (s.cursor, s.events.len()))
    }

    /// Successful IDENTIFYs so far (the session starts spent).
    pub fn identify_count(&self) -> u64 {
        self.state.lock().identifies
    }

    /// IDENTIFYs refused by the rate limit (see `GatewayConfig::identify_spacing`).
    pub fn refused_identify_count(&self) -> u64 {
        self.state.lock().refused_identifies
    }

    pub fn max_concurrency(&self) -> u32 {
        self.state.config.max_concurrency
    }

    /// IDENTIFYs refused because the session-start budget was spent.
    pub fn over_budget_identify_count(&self) -> u64 {
        self.state.lock().over_budget_identifies
    }

    /// `session_start_limit` as `GET /gateway/bot` reports it: the budget,
    /// what is left of it, when it resets (from the first IDENTIFY), and
    /// `max_concurrency`.
    pub fn session_start_limit(&self) -> SessionStartLimit {
        let inner = self.state.lock();
        let total = self.state.config.session_start_limit;
        let period = super::config::SESSION_START_PERIOD;
        let reset_after = inner
            .clock_origin
            .map_or(period, |first| period.saturating_sub(first.elapsed()));
        SessionStartLimit {
            total,
            remaining: total.saturating_sub(inner.identifies),
            reset_after_ms: reset_after.as_millis() as u64,
            max_concurrency: self.state.config.max_concurrency,
        }
    }

    /// The scenario being served.
    pub fn scenario(&self) -> &Scenario {
        &self.state.scenario
    }
}

/// The `session_start_limit` object of `GET /gateway/bot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionStartLimit {
    pub total: u64,
    pub remaining: u64,
    pub reset_after_ms: u64,
    pub max_concurrency: u32,
}
