//! Faults a test schedules on a shard's connection or session.

use serde::{Deserialize, Serialize};

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
