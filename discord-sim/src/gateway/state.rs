//! The gateway's shared state: shard timelines, sessions, and turning a
//! stored frame or a scenario dispatch into what goes on the wire.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};
use sim_scenario::Scenario;
use tokio::sync::Notify;

use super::live::LiveGuild;
use super::session::{FrameSource, Session, StoredFrame};
use super::{ConnectionRecord, Fault, GatewayConfig, Pacing, intents};

/// Later than any test or demo runs.
const FAR_FUTURE: Duration = Duration::from_secs(365 * 24 * 3600);

pub(crate) struct ShardTimeline {
    pub(super) shard: [u32; 2],
    /// Scenario time of the last dispatch handed out (the scenario start
    /// before the first): stamps frames that are not scenario events.
    pub(super) clock_ms: i64,
    pub(super) events: Vec<usize>,
    pub(super) cursor: usize,
    pub(super) guilds: Vec<LiveGuild>,
    pub(super) live_conn: Option<u64>,
    pub(super) notify: Arc<Notify>,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub(super) shards: HashMap<[u32; 2], ShardTimeline>,
    pub(super) sessions: HashMap<String, Session>,
    pub(super) session_order: Vec<String>,
    pub(super) connections: Vec<ConnectionRecord>,
    pub(super) faults: Vec<Fault>,
    pub(super) clock_origin: Option<Instant>,
    pub(super) identifies: u64,
    pub(super) refused_identifies: u64,
    /// IDENTIFYs past `GatewayConfig::session_start_limit` (closed with 4004).
    pub(super) over_budget_identifies: u64,
    /// Last IDENTIFY per rate-limit bucket (`shard_id % max_concurrency`).
    pub(super) last_identify: HashMap<u32, Instant>,
}

pub(crate) struct GatewayState {
    pub(super) config: GatewayConfig,
    pub(super) scenario: Arc<Scenario>,
    pub(super) url: String,
    pub(super) first_at_ms: i64,
    pub(super) inner: Mutex<Inner>,
}

impl GatewayState {
    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn shard_of(guild_id: u64, shard: [u32; 2]) -> bool {
        (guild_id >> 22) % u64::from(shard[1]) == u64::from(shard[0])
    }

    pub(super) fn timeline(&self, shard: [u32; 2]) -> ShardTimeline {
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

    pub(super) fn render(&self, frame: &StoredFrame) -> String {
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
    pub(super) fn due_at(&self, origin: Instant, event_index: usize) -> Option<Instant> {
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
    pub(super) fn take_next(&self, shard: &mut ShardTimeline, session: &mut Session) -> bool {
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

    pub(super) fn ready_payload(&self, session_id: &str, shard: &ShardTimeline) -> Value {
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
