//! What tests read of the gateway: sessions, their frames and connections.

use serde::{Deserialize, Serialize};

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
    /// When it was handed to the socket: Unix milliseconds, wall clock (for
    /// latency measurements such as event-to-alert).
    pub at_ms: i64,
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
