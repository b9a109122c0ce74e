//! The gateway: a websocket that speaks Discord's API v10 JSON protocol.
//!
//! Every shard `[id, n]` a client identifies as gets its own timeline, the
//! scenario's dispatches of the guilds routed to it by `(guild_id >> 22) % n`,
//! with one cursor: each dispatch is handed to exactly one session of that
//! shard, the one whose connection is live when the dispatch comes due. Each
//! session keeps every frame it was given (its replay buffer) and a record of
//! when each frame went out, so tests can prove what a client received.

mod connection;
pub mod intents;
pub(crate) mod live;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sim_scenario::Scenario;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::SimError;
use live::{LiveGuild, id_of};

/// Later than any test or demo runs.
const FAR_FUTURE: Duration = Duration::from_secs(365 * 24 * 3600);

/// How the gateway behaves; [`GatewayConfig::new`] gives Discord's defaults.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The bot token IDENTIFY and RESUME must carry (with or without `Bot `).
    pub token: String,
    /// Sent in HELLO.
    pub heartbeat_interval: Duration,
    pub pacing: Pacing,
    /// How long a disconnected session stays resumable.
    pub resume_window: Duration,
    pub compression: Compression,
    pub application_id: u64,
    pub bot_user_id: u64,
    pub bot_username: String,
    /// Discord's `max_concurrency`: IDENTIFY buckets that may start at once.
    pub max_concurrency: u32,
    /// Enforce this spacing between IDENTIFYs of one bucket (Discord: 5 s),
    /// refusing early ones with op 9; `None` (the default) does not.
    pub identify_spacing: Option<Duration>,
    /// Privileged intents the application may use (set in the Developer
    /// Portal); identifying with others closes with 4014.
    pub allowed_privileged_intents: u64,
}

impl GatewayConfig {
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            heartbeat_interval: Duration::from_millis(41_250),
            pacing: Pacing::AsFastAsRead,
            resume_window: Duration::from_secs(180),
            compression: Compression::AsRequested,
            application_id: crate::DEFAULT_APPLICATION_ID,
            bot_user_id: crate::DEFAULT_APPLICATION_ID,
            bot_username: "ServerPulse".into(),
            allowed_privileged_intents: intents::PRIVILEGED,
            max_concurrency: 1,
            identify_spacing: None,
        }
    }
}

/// When dispatches go out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pacing {
    /// As fast as the client reads: each send waits for the socket to take it.
    AsFastAsRead,
    /// Following the scenario clock (`Dispatch::at_ms`), `speedup` times
    /// faster than real time, from the first identify on.
    ScenarioClock { speedup: f64 },
}

/// Transport compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// zstd-stream when the URL asks `compress=zstd-stream`, else text frames.
    AsRequested,
    /// Always text frames, whatever the client asks (twilight parses text
    /// frames as they are even in its zstd build).
    Never,
}

/// What to do to a shard's connection or session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Shut the TCP connection without a close frame; the session stays resumable.
    Drop,
    /// Send op 7 RECONNECT; the session stays resumable.
    Reconnect,
    /// Close with this code. 4007, 4009 and the fatal codes also end the session.
    Close { code: u16 },
    /// Send op 9 with `d: false` on the live connection and end the session.
    InvalidSession,
    /// End the session and drop the connection abnormally: the client's
    /// RESUME will get op 9 `false`.
    Expire,
}

/// When a fault fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultTrigger {
    /// At once (on the shard's live connection, or the next one to come up).
    Now,
    /// Once the shard has handed out this many of its dispatches.
    AfterEvent(usize),
}

/// A fault scheduled on a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub shard_id: u32,
    #[serde(flatten)]
    pub kind: FaultKind,
    pub trigger: FaultTrigger,
    /// Dispatches taken from the timeline into the session's buffer just
    /// before the fault but never written to the socket, as if lost in
    /// flight: a resume replays them, a refused resume loses them.
    #[serde(default)]
    pub lose_in_flight: usize,
}

impl Fault {
    pub fn new(shard_id: u32, kind: FaultKind, trigger: FaultTrigger) -> Self {
        Self {
            shard_id,
            kind,
            trigger,
            lose_in_flight: 0,
        }
    }

    pub fn losing(mut self, events: usize) -> Self {
        self.lose_in_flight = events;
        self
    }
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Connected,
    /// Resumable until the resume window passes.
    Disconnected,
    /// Ended by a refused resume, a fault or a session-ending close code.
    Expired,
    /// Ended by the client (close 1000 or 1001).
    Closed,
}

/// One transmission of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameSend {
    /// 1 for the IDENTIFY connection, 2 for the first resumed one, …
    pub connection: u32,
    /// Sent as part of a RESUME replay.
    pub replay: bool,
}

/// One frame of a session's buffer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameRecord {
    pub seq: u64,
    pub t: String,
    /// Index into `Scenario::events` for scenario dispatches; `None` for
    /// READY, GUILD_CREATE and RESUMED.
    pub event_index: Option<usize>,
    /// Every time the frame was written to a socket; empty if never.
    pub sends: Vec<FrameSend>,
}

/// What one session was given and sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub session_id: String,
    pub shard: [u32; 2],
    pub status: SessionStatus,
    pub connections: u32,
    /// The intents it identified with.
    pub intents: u64,
    /// Scenario events its intents kept from it (handed out, never framed).
    pub filtered_events: Vec<usize>,
    pub frames: Vec<FrameRecord>,
}

impl SessionRecord {
    /// Scenario events written to a socket at least once, in seq order.
    pub fn delivered_events(&self) -> Vec<usize> {
        self.events_where(|f| !f.sends.is_empty())
    }

    /// Scenario events handed to this session but never written to a socket:
    /// lost for good once the session has ended.
    pub fn undelivered_events(&self) -> Vec<usize> {
        self.events_where(|f| f.sends.is_empty())
    }

    /// Scenario events written as part of a RESUME replay.
    pub fn replayed_events(&self) -> Vec<usize> {
        self.events_where(|f| f.sends.iter().any(|s| s.replay))
    }

    /// Event names in seq order (READY, GUILD_CREATE, …, RESUMED included).
    pub fn frame_types(&self) -> Vec<&str> {
        self.frames.iter().map(|f| f.t.as_str()).collect()
    }

    fn events_where(&self, keep: impl Fn(&FrameRecord) -> bool) -> Vec<usize> {
        self.frames
            .iter()
            .filter(|f| keep(f))
            .filter_map(|f| f.event_index)
            .collect()
    }
}

/// A record of one websocket connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    pub id: u64,
    /// The query string the client connected with.
    pub query: String,
    pub zstd: bool,
    pub session_id: Option<String>,
}

pub(crate) enum FrameSource {
    /// A scenario dispatch; `strip_content` blanks what MESSAGE_CONTENT guards.
    Event {
        index: usize,
        strip_content: bool,
    },
    Payload(Value),
}

pub(crate) struct StoredFrame {
    seq: u64,
    /// Scenario time when the frame was made: the envelope's `sim_time_ms`.
    sim_time_ms: i64,
    t: String,
    source: FrameSource,
    sends: Vec<FrameSend>,
}

pub(crate) struct Session {
    id: String,
    shard: [u32; 2],
    intents: u64,
    /// Dispatches of the shard that went by while this session was live but
    /// that its intents do not cover.
    filtered: Vec<usize>,
    status: SessionStatus,
    connections: u32,
    frames: Vec<StoredFrame>,
    disconnected_at: Option<Instant>,
    live_conn: Option<u64>,
}

impl Session {
    /// Appends a frame stamped with the shard's scenario clock `sim_time_ms`.
    fn push(&mut self, t: impl Into<String>, source: FrameSource, sim_time_ms: i64) {
        let seq = self.frames.len() as u64 + 1;
        self.frames.push(StoredFrame {
            seq,
            sim_time_ms,
            t: t.into(),
            source,
            sends: Vec::new(),
        });
    }

    fn last_seq(&self) -> u64 {
        self.frames.len() as u64
    }

    fn record(&self) -> SessionRecord {
        SessionRecord {
            session_id: self.id.clone(),
            shard: self.shard,
            status: self.status,
            connections: self.connections,
            intents: self.intents,
            filtered_events: self.filtered.clone(),
            frames: self
                .frames
                .iter()
                .map(|f| FrameRecord {
                    seq: f.seq,
                    t: f.t.clone(),
                    event_index: match f.source {
                        FrameSource::Event { index, .. } => Some(index),
                        FrameSource::Payload(_) => None,
                    },
                    sends: f.sends.clone(),
                })
                .collect(),
        }
    }
}

pub(crate) struct ShardTimeline {
    shard: [u32; 2],
    /// Scenario time of the last dispatch handed out (the scenario start
    /// before the first): stamps frames that are not scenario events.
    clock_ms: i64,
    events: Vec<usize>,
    cursor: usize,
    guilds: Vec<LiveGuild>,
    live_conn: Option<u64>,
    notify: Arc<Notify>,
}

#[derive(Default)]
pub(crate) struct Inner {
    shards: HashMap<[u32; 2], ShardTimeline>,
    sessions: HashMap<String, Session>,
    session_order: Vec<String>,
    connections: Vec<ConnectionRecord>,
    faults: Vec<Fault>,
    clock_origin: Option<Instant>,
    identifies: u64,
    refused_identifies: u64,
    /// Last IDENTIFY per rate-limit bucket (`shard_id % max_concurrency`).
    last_identify: HashMap<u32, Instant>,
}

pub(crate) struct GatewayState {
    config: GatewayConfig,
    scenario: Arc<Scenario>,
    url: String,
    first_at_ms: i64,
    inner: Mutex<Inner>,
}

impl GatewayState {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn shard_of(guild_id: u64, shard: [u32; 2]) -> bool {
        (guild_id >> 22) % u64::from(shard[1]) == u64::from(shard[0])
    }

    fn timeline(&self, shard: [u32; 2]) -> ShardTimeline {
        let events = self
            .scenario
            .events
            .iter()
            .enumerate()
            .filter(|(_, e)| Self::shard_of(e.guild_id, shard))
            .map(|(i, _)| i)
            .collect();
        let guilds = self
            .scenario
            .guilds
            .iter()
            .filter_map(LiveGuild::new)
            .filter(|g| Self::shard_of(g.id, shard))
            .collect();
        ShardTimeline {
            shard,
            clock_ms: self.scenario.start_ms,
            events,
            cursor: 0,
            guilds,
            live_conn: None,
            notify: Arc::new(Notify::new()),
        }
    }

    fn render(&self, frame: &StoredFrame) -> String {
        /// A dispatch frame. `sim_time_ms` is the simulator's own envelope
        /// field (Discord never sends it): when the event happened on the
        /// scenario clock, so a client replaying a month in seconds can time
        /// events that carry no time of their own.
        #[derive(Serialize)]
        struct Dispatch<'a> {
            op: u8,
            s: u64,
            t: &'a str,
            d: &'a Value,
            sim_time_ms: i64,
        }
        let stripped;
        let d = match &frame.source {
            FrameSource::Event {
                index,
                strip_content: false,
            } => &self.scenario.events[*index].d,
            FrameSource::Event {
                index,
                strip_content: true,
            } => {
                stripped = intents::strip_content(&self.scenario.events[*index].d);
                &stripped
            }
            FrameSource::Payload(d) => d,
        };
        serde_json::to_string(&Dispatch {
            op: 0,
            s: frame.seq,
            t: &frame.t,
            d,
            sim_time_ms: frame.sim_time_ms,
        })
        .expect("JSON values serialize")
    }

    /// When the shard's next dispatch is due, under scenario-clock pacing.
    fn due_at(&self, origin: Instant, event_index: usize) -> Option<Instant> {
        let Pacing::ScenarioClock { speedup } = self.config.pacing else {
            return None;
        };
        let scenario_ms =
            (self.scenario.events[event_index].at_ms - self.first_at_ms).max(0) as f64;
        // A nonsensical speedup means real time rather than a panic.
        let speedup = if speedup.is_finite() && speedup > 0.0 {
            speedup
        } else {
            1.0
        };
        let wait =
            Duration::try_from_secs_f64(scenario_ms / speedup / 1000.0).unwrap_or(FAR_FUTURE);
        Some(
            origin
                .checked_add(wait)
                .unwrap_or_else(|| Instant::now() + FAR_FUTURE),
        )
    }

    /// Takes the shard's next dispatch into the session's buffer.
    fn take_next(&self, shard: &mut ShardTimeline, session: &mut Session) -> bool {
        let Some(&index) = shard.events.get(shard.cursor) else {
            return false;
        };
        shard.cursor += 1;
        let event = &self.scenario.events[index];
        shard.clock_ms = event.at_ms;
        if let Some(guild) = shard.guilds.iter_mut().find(|g| g.id == event.guild_id) {
            guild.apply(&event.t, &event.d);
        }
        if !intents::allows(&event.t, session.intents) {
            session.filtered.push(index);
            return true;
        }
        let strip_content =
            intents::needs_stripping(&event.t, &event.d, session.intents, self.config.bot_user_id);
        session.push(
            event.t.clone(),
            FrameSource::Event {
                index,
                strip_content,
            },
            event.at_ms,
        );
        true
    }

    fn ready_payload(&self, session_id: &str, shard: &ShardTimeline) -> Value {
        let guilds: Vec<Value> = shard
            .guilds
            .iter()
            .map(|g| json!({"id": g.id.to_string(), "unavailable": true}))
            .collect();
        json!({
            "v": 10,
            "user": {
                "id": self.config.bot_user_id.to_string(),
                "username": self.config.bot_username,
                "discriminator": "0000",
                "global_name": null,
                "avatar": null,
                "bot": true,
                "mfa_enabled": false,
                "verified": true,
                "flags": 0,
            },
            "guilds": guilds,
            "session_id": session_id,
            "resume_gateway_url": self.url,
            "shard": shard.shard,
            "application": {"id": self.config.application_id.to_string(), "flags": 0},
            "_trace": ["discord-sim"],
        })
    }
}

/// A running gateway; cheap to clone. Dropping it does not stop the server:
/// that is [`crate::SimHandle::shutdown`]'s job.
#[derive(Clone)]
pub struct GatewayHandle {
    state: Arc<GatewayState>,
    addr: SocketAddr,
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

    /// Successful IDENTIFYs so far.
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

    /// The scenario being served.
    pub fn scenario(&self) -> &Scenario {
        &self.state.scenario
    }
}

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
