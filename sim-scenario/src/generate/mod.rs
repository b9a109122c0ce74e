//! The scenario generator: one model of each guild's life, from which both the
//! dispatch stream and the ground-truth facts are written.
//!
//! [`generate_from`] builds each guild in turn: [`community`] makes its
//! channels, emoji and people ([`model`]), then each concern writes its
//! events and facts: [`membership`] (joins and leaves), [`channels`]
//! (channel lifecycle), [`threads`], [`incidents`] (the join raid and mass
//! deletion), [`messages`] (posts, on the daily [`rhythm`]), [`reactions`]
//! and [`deletions`] (what happens to a message after it is posted),
//! [`voice`], [`bots`] (bots in voice, reacting, added and removed), and
//! finally [`snapshot`] (the `GUILD_CREATE` at the start).
//! The samplers are in [`sampling`]; all draws come from one seeded stream
//! (except [`bots`], which has its own, so that adding it changed nothing
//! else), so their order is the output and reordering calls changes every
//! scenario.

mod bots;
mod channels;
mod community;
mod deletions;
mod incidents;
mod membership;
mod messages;
mod model;
mod reactions;
mod rhythm;
mod sampling;
mod snapshot;
mod threads;
mod voice;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use crate::truth::GroundTruth;
use crate::{Dispatch, Scenario, ScenarioSize, snowflake_at};

const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// Scenarios at least this long are "long": their voice follows weekly
/// habits, and they get the planted activity drop and voice surge (the
/// alerts' baselines need the same hour of two earlier weeks). Shorter
/// scenarios keep the day-by-day voice model and no planted hour, so their
/// streams are what they were before alerts existed.
const LONG_DAYS: u32 = 21;

/// 2026-10-10T00:00:00Z. A 30-day run from here crosses the end of daylight
/// saving time in Europe/Berlin (2026-10-25) and America/New_York (2026-11-01).
pub const DEFAULT_START_MS: i64 = 1_791_590_400_000;

/// Generates the scenario starting at [`DEFAULT_START_MS`].
///
/// Each guild has two categories, 3–10 text channels (one of them
/// `#general`, the busiest), `#bot-commands`, `#announcements`, a forum,
/// 2–5 voice channels and a stage, plus `#event-chat`, created at 30% of the
/// scenario, updated two hours later and deleted at 70%, and `#mod-only`,
/// which @everyone may not view (an overwrite denies it VIEW_CHANNEL) and
/// only members with the Moderators role (members 0 and 3 and every 15th
/// from 7) post and react in. About 80% of
/// `members_per_guild` humans are present at the start and 35% join later;
/// about 12% leave and a third of those come back. Two bots post in
/// `#bot-commands`, one webhook in `#announcements`; one of the bots
/// (`Jukebox`) is in voice most evenings, the other (`PulseBot`) reacts to
/// some posts in `#general`, and a third (`Greeter`) is added, removed and
/// added again. Message activity is
/// Pareto-distributed over members (40% never post) and channels, with a
/// daily cycle (UTC evening peak) and busier weekends; 15% of posts go to
/// open threads. Reactions (unicode and custom emoji, some removed later),
/// single deletions, voice sessions with moves and mute/deafen toggles, and
/// threads opened and archived follow from the same model. Voice sessions
/// start on an evening rhythm: day by day at random in scenarios shorter
/// than 21 days, by weekly habit (the same slots each week, kept 90% of the
/// weeks) in longer ones. The first guild
/// has the join raid and mass deletion described by [`GroundTruth::raid`]
/// and [`GroundTruth::mass_deletion`]; in scenarios of 21 days or more it
/// also has an hour in which most members fall silent
/// ([`GroundTruth::activity_drop`]) and a crowd joining voice at a quiet
/// hour ([`GroundTruth::voice_surge`]).
///
/// Output depends only on the arguments (and the platform's `f64` math
/// functions, which may differ in the last bit across platforms).
pub fn generate(seed: u64, size: ScenarioSize) -> (Scenario, GroundTruth) {
    generate_from(seed, size, DEFAULT_START_MS)
}

/// Generates a scenario starting at `start_ms`, which must be a UTC midnight.
/// Same `(seed, size, start_ms)`, same output, byte for byte.
///
/// # Panics
/// If `start_ms` is not a UTC midnight, or unless `days >= 1`, `guilds >= 1`
/// and `members_per_guild >= 4`.
pub fn generate_from(seed: u64, size: ScenarioSize, start_ms: i64) -> (Scenario, GroundTruth) {
    assert_eq!(
        start_ms.rem_euclid(DAY),
        0,
        "start_ms must be a UTC midnight"
    );
    assert!(size.days >= 1 && size.guilds >= 1 && size.members_per_guild >= 4);
    let end_ms = start_ms + i64::from(size.days) * DAY;
    let mut g = Gen {
        seed,
        rng: ChaCha8Rng::seed_from_u64(seed),
        next_low: 0,
        seq: 0,
        start: start_ms,
        end: end_ms,
        events: Vec::new(),
        truth: GroundTruth::empty(seed, start_ms, end_ms, Vec::new()),
        drop: None,
    };
    let mut guilds = Vec::new();
    for gi in 0..size.guilds {
        guilds.push(g.guild(gi, size));
    }
    let Gen {
        mut events,
        mut truth,
        ..
    } = g;
    events.sort_by_key(|(at, seq, _)| (*at, *seq));
    let events = events.into_iter().map(|(_, _, d)| d).collect();
    truth.sort();
    let scenario = Scenario {
        seed,
        start_ms,
        days: size.days,
        guilds,
        events,
    };
    (scenario, truth)
}

/// The generator's state: the random stream, the id counter and what has
/// been written so far.
struct Gen {
    seed: u64,
    rng: ChaCha8Rng,
    next_low: u64,
    seq: u64,
    start: i64,
    end: i64,
    events: Vec<(i64, u64, Dispatch)>,
    truth: GroundTruth,
    /// The planted activity drop being written: `(guild, hour start, member
    /// posts skipped so far)`.
    drop: Option<(u64, i64, u32)>,
}

impl Gen {
    fn id_at(&mut self, ms: i64) -> u64 {
        self.next_low += 1;
        snowflake_at(ms, self.next_low)
    }

    fn push(&mut self, at_ms: i64, guild_id: u64, t: &str, d: Value) {
        debug_assert!(
            at_ms >= self.start && at_ms < self.end,
            "{t} at {at_ms} outside scenario"
        );
        self.seq += 1;
        self.events.push((
            at_ms,
            self.seq,
            Dispatch {
                at_ms,
                guild_id,
                t: t.to_owned(),
                d,
            },
        ));
    }

    /// One guild's whole life; returns its `GUILD_CREATE`.
    fn guild(&mut self, gi: u32, size: ScenarioSize) -> Value {
        // The odd millisecond offset spreads guilds over shards:
        // `(id >> 22) % n` would otherwise be 0 for every guild made at a
        // whole day.
        let created = self.start - (500 + 40 * i64::from(gi)) * DAY + i64::from(gi) * 1001;
        let guild_id = self.id_at(created);
        self.truth.guild_ids.push(guild_id);
        let mut gm = self.community(gi, guild_id, created, size);

        self.membership_events(&gm);
        self.channel_events(&gm);
        self.plan_threads(&mut gm, size);
        let planted = gi == 0 && size.days >= LONG_DAYS;
        if gi == 0 {
            self.raid(&gm, size);
        }
        if planted {
            self.plan_drop(&gm, size);
        }
        self.human_messages(&mut gm, size);
        self.moderator_messages(&gm, size);
        if planted {
            self.record_drop();
        }
        self.bot_messages(&gm, size);
        self.thread_archives(&gm);
        self.voice(&mut gm);
        if planted {
            self.surge(&mut gm, size);
        }
        self.bot_activity(gi, &mut gm);
        self.record_static_truth(&gm);
        self.guild_create(&gm, created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_start_is_a_utc_midnight_on_2026_10_10() {
        let dt = chrono::DateTime::from_timestamp_millis(DEFAULT_START_MS).unwrap();
        assert_eq!(dt.to_rfc3339(), "2026-10-10T00:00:00+00:00");
    }
}
