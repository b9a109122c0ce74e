//! Deterministic Discord community scenarios and their ground truth.
//!
//! A [`Scenario`] is what the simulator's gateway streams: the state of every
//! guild at the start (as `GUILD_CREATE` payloads) and a time-ordered list of
//! gateway dispatches. [`GroundTruth`] is computed beside the stream by code of
//! its own, sharing nothing with the product's aggregation, so end-to-end tests
//! can compare what ServerPulse says with what really happened.
//!
//! This file fixes the interface the simulator (`discord-sim`) builds on; the
//! generator and the truth queries live in the modules below.
//!
//! - [`generate`] / [`generate_from`]: a community of several guilds over N
//!   days from a seed (same seed, size and start: byte-identical output).
//! - [`Script`]: a hand-written scenario, event by event, for tests whose
//!   expected figures are worked out by hand.
//! - [`truth`]: the facts ([`GroundTruth`]) and the queries answering every
//!   figure the product reports; the module documentation states the shared
//!   conventions (half-open ranges, tracking start, collected channels, bots).
//!
//! ```
//! use sim_scenario::{ScenarioSize, generate, truth::Scope};
//! let (scenario, truth) = generate(1, ScenarioSize::TINY);
//! let guild = truth.guild_ids[0];
//! let all = Scope::new(guild, truth.start_ms, truth.end_ms);
//! let sent = scenario.events.iter().filter(|d| d.t == "MESSAGE_CREATE").count() as u64;
//! assert_eq!(truth.messages_total(&all.clone().including_bots()), sent);
//! ```

use serde::{Deserialize, Serialize};

mod generate;
mod payload;
mod script;
pub mod truth;

pub use generate::{DEFAULT_START_MS, generate, generate_from};
pub use script::Script;
pub use truth::GroundTruth;

/// Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds.
pub const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// A snowflake whose timestamp part is `unix_ms`; `low` fills the 22 low bits
/// (worker, process, increment) so ids made in the same millisecond differ.
pub fn snowflake_at(unix_ms: i64, low: u64) -> u64 {
    (((unix_ms - DISCORD_EPOCH_MS) as u64) << 22) | (low & 0x3f_ffff)
}

/// Unix milliseconds carried by a snowflake.
pub fn snowflake_ms(id: u64) -> i64 {
    (id >> 22) as i64 + DISCORD_EPOCH_MS
}

/// One gateway dispatch (op 0) as the gateway will send it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dispatch {
    /// Scenario time of the event, Unix milliseconds. Non-decreasing along
    /// [`Scenario::events`]. The gateway uses it only for paced streaming.
    pub at_ms: i64,
    /// The guild the event belongs to: decides which shard receives it.
    pub guild_id: u64,
    /// Event name, e.g. `MESSAGE_CREATE`.
    pub t: String,
    /// Event payload exactly as Discord sends it (ids as strings).
    pub d: serde_json::Value,
}

/// How big a scenario is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSize {
    pub guilds: u32,
    /// Members per guild at the end of the scenario (approximately).
    pub members_per_guild: u32,
    pub days: u32,
    /// Average messages per member per day (heavy-tailed around it).
    pub messages_per_member_day: f64,
}

impl ScenarioSize {
    /// A handful of events: for hand-checked ground truth.
    pub const TINY: Self = Self {
        guilds: 1,
        members_per_guild: 6,
        days: 2,
        messages_per_member_day: 3.0,
    };
    /// Fast tests (a few thousand events).
    pub const SMALL: Self = Self {
        guilds: 2,
        members_per_guild: 60,
        days: 7,
        messages_per_member_day: 4.0,
    };
    /// The ingester's acceptance run: 30 days, 500+ members, 200,000+ events.
    pub const MEDIUM: Self = Self {
        guilds: 4,
        members_per_guild: 150,
        days: 30,
        messages_per_member_day: 10.0,
    };
    /// 90 days for the `90d` timeframe (crosses the autumn DST changes from
    /// the default start).
    pub const QUARTER: Self = Self {
        guilds: 2,
        members_per_guild: 100,
        days: 90,
        messages_per_member_day: 5.0,
    };
}

/// A generated (or loaded) scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scenario {
    pub seed: u64,
    /// Unix milliseconds of the first instant of the scenario (UTC midnight).
    pub start_ms: i64,
    pub days: u32,
    /// `GUILD_CREATE` payloads describing each guild at `start_ms`: `id`,
    /// `name`, `channels`, `threads`, `members` (the generator lists every
    /// member present at the start, bots included; Discord may send only a
    /// subset for large guilds, so a gateway may trim it), `voice_states`,
    /// `member_count` (bots included), plus the fields twilight-model
    /// requires. The gateway keeps each guild's live state by
    /// applying the dispatches it has sent, so a later `GUILD_CREATE` (after a
    /// fresh identify) describes the guild as it is at that point.
    pub guilds: Vec<serde_json::Value>,
    /// Every dispatch, ordered by `at_ms`.
    pub events: Vec<Dispatch>,
}
