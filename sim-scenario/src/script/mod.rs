//! Hand-written scenarios: a test states each event; the script emits the
//! same payloads as the generator and records the same facts, so expected
//! figures can be worked out by hand.
//!
//! [`Script`] keeps the guild's state (who is a member, which channels and
//! threads exist, who is in voice) so each method can write a complete
//! payload; the methods live by concern: [`catalogue`] (channels and
//! threads), [`members`] (joins and leaves), [`messages`] (posts, deletions,
//! reactions) and [`voice`].

mod catalogue;
mod members;
mod messages;
mod voice;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::payload;
use crate::truth::{AuthorKind, GroundTruth};
use crate::{Dispatch, Scenario, snowflake_at};

struct Person {
    name: String,
    bot: bool,
    /// `joined_at` of the current stint.
    joined: Option<i64>,
    /// Index of the open stint in `truth.members`.
    stint: Option<usize>,
    ever_left: bool,
}

struct InVoice {
    channel: u64,
    since: i64,
    session: String,
}

/// A one-guild scenario written event by event, in time order.
///
/// ```
/// use sim_scenario::Script;
/// let start = sim_scenario::DEFAULT_START_MS;
/// let mut s = Script::new(1, start, 1);
/// s.channel(10, 0, "general", None).member(100, "ann", false, start - 1);
/// s.member(101, "bob", false, start - 1);
/// let m = s.message(start + 5_000, 10, 100, 0, 0, 0);
/// s.react(start + 6_000, 101, m, "👍");
/// let (scenario, truth) = s.finish();
/// assert_eq!(scenario.events.len(), 2);
/// assert_eq!(truth.reactions.len(), 1);
/// ```
pub struct Script {
    guild_id: u64,
    start: i64,
    end: i64,
    next_low: u64,
    last_at: i64,
    people: BTreeMap<u64, Person>,
    /// channel id → (kind, name, parent)
    channel_info: BTreeMap<u64, (u8, String, Option<u64>)>,
    thread_parent: BTreeMap<u64, u64>,
    /// Channels whose @everyone overwrite denies VIEW_CHANNEL.
    private: BTreeSet<u64>,
    messages: BTreeMap<u64, (u64, AuthorKind, u64)>,
    initial_channels: Vec<Value>,
    initial_threads: Vec<Value>,
    initial_voice: Vec<Value>,
    voice: BTreeMap<u64, InVoice>,
    events: Vec<Dispatch>,
    truth: GroundTruth,
}

impl Script {
    /// An empty guild `guild_id`, scenario from `start_ms` (a UTC midnight)
    /// lasting `days`.
    pub fn new(guild_id: u64, start_ms: i64, days: u32) -> Self {
        let end_ms = start_ms + i64::from(days) * crate::truth::DAY_MS;
        Self {
            guild_id,
            start: start_ms,
            end: end_ms,
            next_low: 0,
            last_at: start_ms,
            people: BTreeMap::new(),
            channel_info: BTreeMap::new(),
            thread_parent: BTreeMap::new(),
            private: BTreeSet::new(),
            messages: BTreeMap::new(),
            initial_channels: Vec::new(),
            initial_threads: Vec::new(),
            initial_voice: Vec::new(),
            voice: BTreeMap::new(),
            events: Vec::new(),
            truth: GroundTruth::empty(0, start_ms, end_ms, vec![guild_id]),
        }
    }

    fn push(&mut self, at: i64, t: &str, d: Value) {
        assert!(
            at >= self.last_at,
            "script events must be written in time order ({t} at {at})"
        );
        assert!(at < self.end, "{t} at {at} is after the scenario end");
        self.last_at = at;
        self.events.push(Dispatch {
            at_ms: at,
            guild_id: self.guild_id,
            t: t.to_owned(),
            d,
        });
    }

    fn snowflake(&mut self, at: i64) -> u64 {
        self.next_low += 1;
        snowflake_at(at, self.next_low)
    }

    /// The scenario and its truth. Every voice session must have ended.
    pub fn finish(self) -> (Scenario, GroundTruth) {
        assert!(
            self.voice.is_empty(),
            "end every voice session before finishing"
        );
        let members: Vec<Value> = self
            .truth
            .members
            .iter()
            .filter(|m| m.initial)
            .map(|m| {
                payload::member(
                    m.user_id,
                    &self.people[&m.user_id].name,
                    m.is_bot,
                    m.joined_ms,
                )
            })
            .collect();
        let owner = self.truth.members.first().map_or(1, |m| m.user_id);
        let guild = json!({
            "id": self.guild_id.to_string(),
            "name": "Scripted guild",
            "icon": null, "splash": null, "discovery_splash": null, "banner": null,
            "description": null,
            "owner_id": owner.to_string(),
            "afk_channel_id": null, "afk_timeout": 300, "application_id": null,
            "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "features": [], "mfa_level": 0, "nsfw_level": 0,
            "premium_tier": 0, "premium_progress_bar_enabled": false,
            "preferred_locale": "en-US", "public_updates_channel_id": null,
            "rules_channel_id": null, "system_channel_id": null, "system_channel_flags": 0,
            "vanity_url_code": null,
            "roles": [payload::role_everyone(self.guild_id)],
            "emojis": [],
            "joined_at": payload::iso(self.start - 1),
            "large": false,
            "unavailable": false,
            "member_count": members.len(),
            "members": members,
            "channels": self.initial_channels,
            "threads": self.initial_threads,
            "voice_states": self.initial_voice,
            "presences": [],
        });
        let mut truth = self.truth;
        truth.sort();
        let days = ((self.end - self.start) / crate::truth::DAY_MS) as u32;
        let scenario = Scenario {
            seed: 0,
            start_ms: self.start,
            days,
            guilds: vec![guild],
            events: self.events,
        };
        (scenario, truth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = crate::DEFAULT_START_MS;

    fn base() -> Script {
        let mut s = Script::new(1, S, 1);
        s.channel(10, 0, "general", None)
            .channel(20, 2, "Lounge", None)
            .member(5, "ann", false, S - 1);
        s
    }

    #[test]
    #[should_panic(expected = "time order")]
    fn events_must_be_written_in_time_order() {
        let mut s = base();
        s.message(S + 2_000, 10, 5, 0, 0, 0);
        s.message(S + 1_000, 10, 5, 0, 0, 0);
    }

    #[test]
    #[should_panic(expected = "end every voice session")]
    fn open_voice_sessions_are_refused() {
        let mut s = base();
        s.voice(S + 1_000, 5, Some(20), false, false);
        let _ = s.finish();
    }

    #[test]
    fn a_rejoin_is_flagged_and_the_first_stint_closed() {
        let mut s = base();
        s.leave(S + 1_000, 5).join(S + 2_000, 5, "ann", false);
        let (_, t) = s.finish();
        let stints: Vec<(i64, Option<i64>, bool)> = t
            .members
            .iter()
            .map(|m| (m.joined_ms, m.left_ms, m.rejoin))
            .collect();
        assert_eq!(
            stints,
            vec![(S - 1, Some(S + 1_000), false), (S + 2_000, None, true)]
        );
    }
}
