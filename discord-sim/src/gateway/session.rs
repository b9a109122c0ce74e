//! One session: its frames (the replay buffer) and where it stands.

use std::time::Instant;

use serde_json::Value;

use super::{FrameRecord, FrameSend, SessionRecord, SessionStatus};

pub(crate) enum FrameSource {
    /// A scenario dispatch; `strip_content` blanks what MESSAGE_CONTENT guards.
    Event {
        index: usize,
        strip_content: bool,
    },
    Payload(Value),
}

pub(crate) struct StoredFrame {
    pub(super) seq: u64,
    /// Scenario time when the frame was made: the envelope's `sim_time_ms`.
    pub(super) sim_time_ms: i64,
    pub(super) t: String,
    pub(super) source: FrameSource,
    pub(super) sends: Vec<FrameSend>,
}

pub(crate) struct Session {
    pub(super) id: String,
    pub(super) shard: [u32; 2],
    pub(super) intents: u64,
    /// Dispatches of the shard that went by while this session was live but
    /// that its intents do not cover.
    pub(super) filtered: Vec<usize>,
    pub(super) status: SessionStatus,
    pub(super) connections: u32,
    pub(super) frames: Vec<StoredFrame>,
    pub(super) disconnected_at: Option<Instant>,
    pub(super) live_conn: Option<u64>,
}

impl Session {
    /// Appends a frame stamped with the shard's scenario clock `sim_time_ms`.
    pub(super) fn push(&mut self, t: impl Into<String>, source: FrameSource, sim_time_ms: i64) {
        let seq = self.frames.len() as u64 + 1;
        self.frames.push(StoredFrame {
            seq,
            sim_time_ms,
            t: t.into(),
            source,
            sends: Vec::new(),
        });
    }

    pub(super) fn last_seq(&self) -> u64 {
        self.frames.len() as u64
    }

    pub(super) fn record(&self) -> SessionRecord {
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
