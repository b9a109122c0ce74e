//! The alerts a tracker of the scenario should raise: the four detectors of
//! issue #11 (join raid, mass deletion, activity drop, voice surge),
//! implemented again from their definitions over the facts, with incident
//! grouping (quiet period, cooldown) and each incident's count and context.
//!
//! # The definitions, as implemented here
//! Tracking starts at the scenario start, every channel is collected, and
//! every kind uses the same [`KindParams`] fields.
//! - **Join raid**: joins are the membership stints of people (bots left
//!   out) that begin inside the scenario, timed by `joined_at`. At each join the
//!   window is the joins of `(t − window_secs, t]` (that join and those
//!   before it at the same instant included); the threshold is crossed when
//!   it holds `threshold` or more joins.
//! - **Mass deletion**: deletion events timed by arrival, each weighing the
//!   messages it deletes (a bulk event all its ids at once); the window is
//!   `(t − window_secs, t]` and the threshold a number of messages.
//! - Both: the incident starts at the first event of the crossing window
//!   (`started_ms`) and is detected at the crossing event; every later event
//!   at or before `last_event_ms + quiet_secs` belongs to it; it ends at
//!   `last_event_ms + quiet_secs`. A crossing starts a new incident only at
//!   or after the previous one's end plus `cooldown_secs`, and its window
//!   never reaches back into the previous incident's events.
//! - **Hours are the guild's buckets**: its local hours, cut where the UTC
//!   offset changes ([`GroundTruth::expected_alerts_in`]; UTC hours with
//!   [`GroundTruth::expected_alerts`]). Below, "hour" means bucket.
//! - **Activity drop**: see [`GroundTruth::member_messages_per_hour`] for the
//!   figure and [`GroundTruth::usual`] for the baseline. Hour `H` is
//!   evaluated at its end for every hour that ends by the scenario end; it
//!   is a drop when `usual >= min_volume` and `messages <= usual × (1 −
//!   threshold / 100)`. An evaluation at or before `last_event_ms +
//!   quiet_secs` that is a drop extends the open incident (its last event is
//!   the end of that hour); the incident ends at `last_event_ms +
//!   quiet_secs` (with the defaults: at the first evaluated hour that is not
//!   a drop).
//! - **Voice surge**: the figure is the humans in voice in the guild at an
//!   instant ([`GroundTruth::voice_peak_per_hour`] gives each hour's
//!   greatest); at instant `t` in hour `H` the threshold is
//!   `max(min_volume, threshold × usual(H))`, and there is none when `H`
//!   has fewer than two baseline weeks. The count changes only at voice
//!   events and the threshold only at hour starts, so the condition is
//!   evaluated at those instants. It fires at the first instant the people
//!   reach the threshold (and the cooldown allows); its last event is the
//!   instant the people last fell below the threshold; reaching it again at
//!   or before `last_event_ms + quiet_secs` extends the incident, which ends
//!   at `last_event_ms + quiet_secs`.
//! - An incident whose end falls after the scenario end has `ended_ms`
//!   `None` (still ongoing when the stream stops).

mod bursts;
mod hourly;

use serde::{Deserialize, Serialize};

use super::GroundTruth;

/// One week in milliseconds: the step between the hours a baseline averages.
pub const WEEK_MS: i64 = 7 * super::DAY_MS;

/// The settings of one alert kind, in plain numbers (the product's own
/// settings type lives in its crates; this one mirrors its fields).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KindParams {
    pub enabled: bool,
    /// Joins (raid), messages (deletion), percent below usual (drop) or a
    /// factor of usual (surge).
    pub threshold: f64,
    /// Sliding window of the raid and deletion detectors, seconds.
    pub window_secs: i64,
    /// Drop: the usual messages per hour needed; surge: the people needed.
    pub min_volume: i64,
    /// An incident ends this long after its last event, seconds.
    pub quiet_secs: i64,
    /// No new incident of the kind starts this long after one ends, seconds.
    pub cooldown_secs: i64,
}

/// The settings of all four kinds. [`Default`] gives the design's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlertParams {
    pub join_raid: KindParams,
    pub mass_delete: KindParams,
    pub activity_drop: KindParams,
    pub voice_surge: KindParams,
}

impl Default for AlertParams {
    /// Raid: 10 joins in 60 s; deletion: 5 messages in 30 s (quiet 300 s);
    /// drop: 50 % below a usual of at least 20 messages an hour; surge:
    /// 3 × usual and at least 5 people (quiet 3600 s); cooldown 600 s each.
    fn default() -> Self {
        let kind = |threshold, window_secs, min_volume, quiet_secs| KindParams {
            enabled: true,
            threshold,
            window_secs,
            min_volume,
            quiet_secs,
            cooldown_secs: 600,
        };
        Self {
            join_raid: kind(10.0, 60, 0, 300),
            mass_delete: kind(5.0, 30, 0, 300),
            activity_drop: kind(50.0, 3600, 20, 3600),
            voice_surge: kind(3.0, 3600, 5, 3600),
        }
    }
}

/// Which detector an incident comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AlertKind {
    JoinRaid,
    MassDelete,
    ActivityDrop,
    VoiceSurge,
}

/// What an incident's message reports beyond its count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum IncidentDetail {
    JoinRaid {
        /// Joins of the incident whose account (the user id's snowflake
        /// time) was less than 7 days old at the join.
        young_accounts: u32,
        /// Joins of the incident whose user has no avatar: every user the
        /// generator and [`crate::Script`] write has `avatar: null`, so this
        /// is every join of the incident.
        default_avatars: u32,
        /// Joins in `[detected_ms − 2 min, started_ms)`.
        joins_before: u32,
    },
    MassDelete {
        /// Messages deleted one by one (`MESSAGE_DELETE`).
        single: u32,
        /// Messages deleted by `MESSAGE_DELETE_BULK` events.
        bulk: u32,
        /// `(channel, messages)` per channel the events name (a thread for
        /// thread messages), by channel id.
        channels: Vec<(u64, u32)>,
    },
    ActivityDrop {
        /// Start of the hour with the fewest messages (the earliest of
        /// equals).
        hour_ms: i64,
        /// Member messages in that hour (the incident's count).
        messages: u32,
        /// That hour's usual.
        usual: f64,
        /// `(1 − messages / usual) × 100`.
        percent_below: f64,
        /// Drop hours in the incident.
        hours: u32,
    },
    VoiceSurge {
        /// The peak (the incident's count).
        people: u32,
        /// The usual of the hour the threshold was first reached in.
        usual: f64,
        /// `(channel, people)` at the first instant of the peak, by channel
        /// id (stage channels included).
        channels: Vec<(u64, u32)>,
    },
}

/// One incident the product should record, with the design's times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedIncident {
    pub guild_id: u64,
    pub kind: AlertKind,
    /// Raid: first `joined_at` of the crossing window; deletion: first
    /// arrival in it; drop: start of the first drop hour; surge: the
    /// instant the threshold was reached.
    pub started_ms: i64,
    /// The crossing: the join or deletion that reached the threshold, the
    /// end of the first drop hour, the surge's start.
    pub detected_ms: i64,
    /// The last join or deletion of the incident, the end of its last drop
    /// hour, or the instant the people in voice last fell below the
    /// threshold.
    pub last_event_ms: i64,
    /// `last_event_ms + quiet_secs`; `None` when that is after the
    /// scenario end.
    pub ended_ms: Option<i64>,
    /// Joins, messages deleted, the lowest hour's messages, or the peak of
    /// people in voice.
    pub count: u32,
    pub detail: IncidentDetail,
}

impl GroundTruth {
    /// Every incident of every guild under `params`, ordered by guild (as
    /// in [`GroundTruth::guild_ids`]), kind, then start.
    pub fn expected_alerts(&self, params: &AlertParams) -> Vec<ExpectedIncident> {
        self.expected_alerts_in(params, chrono_tz::Tz::UTC)
    }

    /// [`Self::expected_alerts`] of guilds in timezone `tz`: the hourly
    /// detectors (drop, surge) work on the guild's buckets, its local hours
    /// (cut where the UTC offset changes), as the product's rollups do: in
    /// Asia/Kolkata an "hour" runs from :30 to :30 UTC.
    pub fn expected_alerts_in(
        &self,
        params: &AlertParams,
        tz: chrono_tz::Tz,
    ) -> Vec<ExpectedIncident> {
        let mut out = Vec::new();
        for &g in &self.guild_ids {
            if params.join_raid.enabled {
                out.extend(self.expected_raids(g, &params.join_raid));
            }
            if params.mass_delete.enabled {
                out.extend(self.expected_mass_deletions(g, &params.mass_delete));
            }
            if params.activity_drop.enabled {
                out.extend(self.expected_drops(g, &params.activity_drop, tz));
            }
            if params.voice_surge.enabled {
                out.extend(self.expected_surges(g, &params.voice_surge, tz));
            }
        }
        out
    }

    /// `last + quiet` when the scenario reaches it.
    fn ended(&self, last_event_ms: i64, p: &KindParams) -> Option<i64> {
        Some(last_event_ms + p.quiet_secs * 1000).filter(|e| *e <= self.end_ms)
    }
}
