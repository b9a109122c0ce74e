//! [`RestHandle`]: what tests and the binary hold of a running REST side.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::channels::{Channel, ChannelAccess};
use super::control;
use super::rate_limit::{RateLimitRule, RestFault};
use super::record::{InteractionRecord, RecordedRequest, StoredMessage};
use super::{Interaction, RestState};

/// A running REST side; cheap to clone.
#[derive(Clone)]
pub struct RestHandle {
    pub(super) state: Arc<RestState>,
    pub(super) addr: SocketAddr,
}

impl std::fmt::Debug for RestHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestHandle")
            .field("addr", &self.addr)
            .finish()
    }
}

impl RestHandle {
    /// `http://127.0.0.1:PORT`: the control routes live under `/_sim/`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/api/v10`, to put where `https://discord.com/api/v10` goes.
    pub fn api_url(&self) -> String {
        format!("http://{}/api/v10", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves message history, archived threads and member lists as the
    /// scenario's guilds stood at `at_ms` (Unix ms): every dispatch before
    /// it applied. Without a call: the scenario's end.
    pub fn set_history_at(&self, at_ms: i64) {
        let mut inner = self.state.lock();
        inner.history_at = Some(at_ms);
        inner.history = None;
    }

    /// The bot may not read `channel`'s history (no Read Message History):
    /// its history and archived threads answer 403 with code 50001.
    pub fn deny_history(&self, channel: u64) {
        self.state.lock().history_denied.insert(channel);
    }

    /// The bot lacks Manage Threads in `channel`: its archived private
    /// threads listing answers 403 with code 50013, and its private
    /// threads are listed (active, or archived through
    /// `/users/@me/threads/archived/private`) and readable only where the
    /// bot joined them ([`Self::join_thread`]); elsewhere 403 50001.
    pub fn deny_manage_threads(&self, channel: u64) {
        self.state.lock().manage_threads_denied.insert(channel);
    }

    /// The @everyone role of `guild` has `permissions` (bits) in `GET
    /// /guilds/{id}/roles` from now on (the gateway is not told).
    pub fn set_everyone_permissions(&self, guild: u64, permissions: u64) {
        self.state
            .lock()
            .everyone_permissions
            .insert(guild, permissions);
    }

    /// The bot is a member of the private thread `thread`.
    pub fn join_thread(&self, thread: u64) {
        self.state.lock().joined_threads.insert(thread);
    }

    /// The bot may not list `guild`'s members (no Server Members intent):
    /// 403 with code 50001.
    pub fn deny_members(&self, guild: u64) {
        self.state.lock().members_denied.insert(guild);
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.state.lock().requests.clear();
    }

    /// Waits (bounded) for a request that `matches`, recorded before or after the call.
    pub async fn wait_for_request(
        &self,
        timeout: Duration,
        matches: impl Fn(&RecordedRequest) -> bool,
    ) -> Option<RecordedRequest> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.state.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(found) = self.state.lock().requests.iter().find(|r| matches(r)) {
                return Some(found.clone());
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return None;
            }
        }
    }

    /// Makes an interaction token valid for the REST routes, as Discord does
    /// when it sends an interaction.
    pub fn register_interaction(&self, interaction_id: u64, token: &str) {
        register(&self.state, interaction_id, token);
    }

    /// Records the product's HTTP answer to an interaction, as Discord would
    /// see it: a body with a callback type acknowledges the interaction.
    /// Returns Discord's objection (its error body) if the answer is invalid.
    pub fn report_http_answer(
        &self,
        token: &str,
        status: u16,
        body: Option<Value>,
    ) -> Option<Value> {
        let answer = control::http_answer(&self.state, token, status, body);
        if answer.status.is_client_error() {
            answer.body
        } else {
            None
        }
    }

    /// Ends a token early (as if 15 minutes had passed).
    pub fn expire_interaction(&self, token: &str) {
        if let Some(interaction) = self.state.lock().interactions.get_mut(token) {
            interaction.record.expired = true;
        }
    }

    pub fn interaction(&self, token: &str) -> Option<InteractionRecord> {
        self.state
            .lock()
            .interactions
            .get(token)
            .map(|i| i.record.clone())
    }

    /// Waits (bounded) until the interaction's version passes `after`.
    pub async fn wait_for_interaction(
        &self,
        token: &str,
        after: u64,
        timeout: Duration,
    ) -> Option<InteractionRecord> {
        wait_for_interaction(&self.state, token, after, timeout).await
    }

    pub fn set_rate_limit(&self, rule: RateLimitRule) {
        self.state.lock().rate_limits.push(rule);
    }

    pub fn clear_rate_limits(&self) {
        self.state.lock().rate_limits.clear();
    }

    /// Forces the next `fault.count` answers of matching requests (429s,
    /// 500s, 502s), ahead of the buckets and of [`Self::set_rate_limit`] rules.
    pub fn inject_fault(&self, fault: RestFault) {
        self.state.lock().faults.push(fault);
    }

    /// Drops the forced answers not used up yet.
    pub fn clear_faults(&self) {
        self.state.lock().faults.clear();
    }

    /// Whether the bot may post in a channel; channels the scenario does
    /// not have are [`ChannelAccess::Unknown`] until set here.
    pub fn set_channel_access(&self, channel_id: u64, access: ChannelAccess) {
        let mut inner = self.state.lock();
        match inner.channels.get_mut(&channel_id) {
            Some(channel) => channel.access = access,
            None => {
                inner.channels.insert(channel_id, Channel::new(access));
            }
        }
    }

    /// The bot's messages in a channel as they are now (edits applied),
    /// oldest first, with their files' bytes.
    pub fn channel_messages(&self, channel_id: u64) -> Vec<StoredMessage> {
        self.state
            .lock()
            .channels
            .get(&channel_id)
            .map(|c| c.messages.clone())
            .unwrap_or_default()
    }

    /// Registered commands: global with `None`, else that guild's.
    pub fn commands(&self, guild_id: Option<u64>) -> Vec<Value> {
        self.state
            .lock()
            .commands
            .get(&guild_id)
            .cloned()
            .unwrap_or_default()
    }
}

pub(super) fn register(state: &RestState, interaction_id: u64, token: &str) {
    let record = InteractionRecord {
        interaction_id: interaction_id.to_string(),
        token: token.to_owned(),
        version: 0,
        callback_type: None,
        callback: None,
        original: None,
        original_edits: 0,
        followups: Vec::new(),
        expired: false,
        awaiting_http_answer: true,
        http_answer: None,
    };
    state.lock().interactions.insert(
        token.to_owned(),
        Interaction {
            record,
            created: Instant::now(),
        },
    );
}

pub(super) async fn wait_for_interaction(
    state: &RestState,
    token: &str,
    after: u64,
    timeout: Duration,
) -> Option<InteractionRecord> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let changed = state.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let record = state
            .lock()
            .interactions
            .get(token)
            .map(|i| i.record.clone())?;
        if record.version > after || tokio::time::timeout_at(deadline, changed).await.is_err() {
            return Some(record);
        }
    }
}
