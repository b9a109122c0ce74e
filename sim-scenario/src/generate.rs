//! The scenario generator: one model of each guild's life, from which both the
//! dispatch stream and the ground-truth facts are written.

use std::collections::BTreeSet;

use chrono::Datelike;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::payload::{self, EmojiRef};
use crate::truth::{
    AuthorKind, ChannelFact, DeletionFact, GroundTruth, JoinRaid, MassDeletion, MembershipFact,
    MessageFact, ReactionFact, ThreadFact, VoiceInterval,
};
use crate::{Dispatch, Scenario, ScenarioSize, snowflake_at};

const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// 2026-10-10T00:00:00Z. A 30-day run from here crosses the end of daylight
/// saving time in Europe/Berlin (2026-10-25) and America/New_York (2026-11-01).
pub const DEFAULT_START_MS: i64 = 1_791_590_400_000;

/// Relative message activity per UTC hour of the day.
const MESSAGE_HOURS: [f64; 24] = [
    0.6, 0.4, 0.3, 0.2, 0.15, 0.15, 0.2, 0.3, 0.45, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2,
    1.4, 1.6, 1.7, 1.6, 1.3, 0.9,
];
/// Relative voice session starts per UTC hour: evenings.
const VOICE_HOURS: [f64; 24] = [
    0.5, 0.3, 0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.5, 0.6, 0.7, 0.8, 1.0,
    1.4, 1.8, 2.0, 1.9, 1.5, 0.9,
];
const UNICODE_EMOJI: [(&str, f64); 6] = [
    ("👍", 5.0),
    ("❤️", 3.0),
    ("😂", 3.0),
    ("🎉", 1.0),
    ("🔥", 1.0),
    ("👀", 0.5),
];
const CUSTOM_EMOJI: [(&str, f64); 3] = [("pulse", 1.0), ("kekw", 0.6), ("pog", 0.3)];
const TEXT_NAMES: [&str; 10] = [
    "general",
    "off-topic",
    "media",
    "memes",
    "dev",
    "music-chat",
    "gaming",
    "art",
    "support",
    "random",
];
const VOICE_NAMES: [&str; 5] = ["Lounge", "Gaming", "Music", "Study", "Late Night"];

/// Generates the scenario starting at [`DEFAULT_START_MS`].
///
/// Each guild has two categories, 3–10 text channels (one of them
/// `#general`, the busiest), `#bot-commands`, `#announcements`, a forum,
/// 2–5 voice channels and a stage, plus `#event-chat`, created at 30% of the
/// scenario, updated two hours later and deleted at 70%. About 80% of
/// `members_per_guild` humans are present at the start and 35% join later;
/// about 12% leave and a third of those come back. Two bots post in
/// `#bot-commands`, one webhook in `#announcements`. Message activity is
/// Pareto-distributed over members (40% never post) and channels, with a
/// daily cycle (UTC evening peak) and busier weekends; 15% of posts go to
/// open threads. Reactions (unicode and custom emoji, some removed later),
/// single deletions, voice sessions with moves and mute/deafen toggles, and
/// threads opened and archived follow from the same model. The first guild
/// has the join raid and mass deletion described by [`GroundTruth::raid`]
/// and [`GroundTruth::mass_deletion`].
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
        rng: ChaCha8Rng::seed_from_u64(seed),
        next_low: 0,
        seq: 0,
        start: start_ms,
        end: end_ms,
        events: Vec::new(),
        truth: GroundTruth {
            seed,
            start_ms,
            end_ms,
            guild_ids: Vec::new(),
            channels: Vec::new(),
            threads: Vec::new(),
            members: Vec::new(),
            messages: Vec::new(),
            deletions: Vec::new(),
            reactions: Vec::new(),
            voice: Vec::new(),
            raid: None,
            mass_deletion: None,
        },
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

struct UserM {
    id: u64,
    name: String,
    bot: bool,
    /// Relative message activity (0 for lurkers).
    weight: f64,
    /// Relative voice activity (0 for users who never join voice).
    voice_weight: f64,
    /// `(joined, left)` stints, in order.
    stints: Vec<(i64, Option<i64>)>,
}

impl UserM {
    /// `joined_at` of the stint containing `t`.
    fn member_at(&self, t: i64) -> Option<i64> {
        self.stints
            .iter()
            .find(|(j, l)| *j <= t && l.is_none_or(|l| t < l))
            .map(|(j, _)| *j)
    }
    /// `joined_at` of a stint containing all of `[a, b]`.
    fn member_through(&self, a: i64, b: i64) -> Option<i64> {
        self.stints
            .iter()
            .find(|(j, l)| *j <= a && l.is_none_or(|l| b < l))
            .map(|(j, _)| *j)
    }
}

struct ChanM {
    id: u64,
    kind: u8,
    name: String,
    parent: Option<u64>,
    created: Option<i64>,
    deleted: Option<i64>,
    /// Relative share of human messages (0: nobody posts here).
    weight: f64,
    /// Threads may be opened under it.
    thread_parent: bool,
}

impl ChanM {
    fn usable_at(&self, t: i64) -> bool {
        self.created.is_none_or(|c| c + SEC <= t) && self.deleted.is_none_or(|d| t < d)
    }
}

struct ThreadM {
    id: u64,
    parent: u64,
    kind: u8,
    name: String,
    owner: u64,
    created: i64,
    archived: Option<i64>,
    messages: u32,
}

impl ThreadM {
    fn open_at(&self, t: i64) -> bool {
        self.created + SEC <= t && self.archived.is_none_or(|a| t < a)
    }
}

struct GuildM {
    id: u64,
    humans: Vec<UserM>,
    bots: Vec<UserM>,
    webhook: (u64, String),
    channels: Vec<ChanM>,
    threads: Vec<ThreadM>,
    /// `(name, id, weight)` of custom emoji; unicode ones have id 0.
    emoji: Vec<(String, u64, f64)>,
    stickers: Vec<(u64, String)>,
    initial_voice: Vec<Value>,
}

impl GuildM {
    fn channel(&self, kind_name: &str) -> &ChanM {
        self.channels
            .iter()
            .find(|c| c.name == kind_name)
            .expect("channel exists")
    }
}

enum Author<'a> {
    User(&'a UserM, i64),
    Webhook(u64, &'a str),
}

struct Gen {
    rng: ChaCha8Rng,
    next_low: u64,
    seq: u64,
    start: i64,
    end: i64,
    events: Vec<(i64, u64, Dispatch)>,
    truth: GroundTruth,
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

    fn unit(&mut self) -> f64 {
        self.rng.random::<f64>()
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.rng.random_range(lo..hi)
        }
    }

    fn exp_ms(&mut self, mean: f64) -> i64 {
        let u = self.unit();
        (-(1.0 - u).ln() * mean) as i64
    }

    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda > 30.0 {
            return (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u32;
        }
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p = self.unit();
        while p > limit {
            k += 1;
            p *= self.unit();
        }
        k
    }

    fn pareto(&mut self, alpha: f64, cap: f64) -> f64 {
        let u = self.unit();
        (1.0 - u).powf(-1.0 / alpha).min(cap)
    }

    fn pick(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
    }

    fn guild(&mut self, gi: u32, size: ScenarioSize) -> Value {
        let (start, end) = (self.start, self.end);
        let dur = end - start;
        let n = size.members_per_guild as usize;
        // The odd millisecond offset spreads guilds over shards:
        // `(id >> 22) % n` would otherwise be 0 for every guild made at a
        // whole day.
        let created = start - (500 + 40 * i64::from(gi)) * DAY + i64::from(gi) * 1001;
        let guild_id = self.id_at(created);
        self.truth.guild_ids.push(guild_id);

        // Channels: categories, text, bots, announcements, forum, voice, stage,
        // and one channel that lives only part of the scenario.
        let mut channels = Vec::new();
        let mut chan = |g: &mut Gen, kind, name: &str, parent, weight: f64, thread_parent| {
            let id = g.id_at(created + 1000 * (channels.len() as i64 + 1));
            channels.push(ChanM {
                id,
                kind,
                name: name.to_owned(),
                parent,
                created: None,
                deleted: None,
                weight,
                thread_parent,
            });
            id
        };
        let cat_text = chan(self, 4, "Text Channels", None, 0.0, false);
        let cat_voice = chan(self, 4, "Voice Channels", None, 0.0, false);
        let text_count = (3 + n / 40).min(TEXT_NAMES.len());
        for (k, name) in TEXT_NAMES.iter().take(text_count).enumerate() {
            let w = if k == 0 { 6.0 } else { self.pareto(1.1, 8.0) };
            chan(self, 0, name, Some(cat_text), w, true);
        }
        chan(self, 0, "bot-commands", Some(cat_text), 0.3, false);
        chan(self, 5, "announcements", Some(cat_text), 0.1, true);
        chan(self, 15, "help-forum", Some(cat_text), 0.0, true);
        let voice_count = (2 + n / 75).min(VOICE_NAMES.len());
        for name in VOICE_NAMES.iter().take(voice_count) {
            chan(self, 2, name, Some(cat_voice), 0.0, false);
        }
        chan(self, 13, "Town Hall", Some(cat_voice), 0.0, false);
        let event_chat = chan(self, 0, "event-chat", Some(cat_text), 2.0, false);
        let (ev_created, ev_deleted) = (start + dur * 3 / 10, start + dur * 7 / 10);
        {
            let c = channels.last_mut().expect("just pushed");
            c.created = Some(ev_created - ev_created % SEC);
            c.deleted = Some(ev_deleted - ev_deleted % SEC);
        }

        let mut emoji: Vec<(String, u64, f64)> = UNICODE_EMOJI
            .iter()
            .map(|(e, w)| ((*e).to_owned(), 0, *w))
            .collect();
        for (k, (name, w)) in CUSTOM_EMOJI.iter().enumerate() {
            let id = self.id_at(created + HOUR + k as i64 * SEC);
            emoji.push(((*name).to_owned(), id, *w));
        }
        let stickers = vec![
            (self.id_at(created + 2 * HOUR), "wave".to_owned()),
            (self.id_at(created + 2 * HOUR + SEC), "party".to_owned()),
        ];

        // Members.
        let n_init = ((n as f64) * 0.8).round().max(3.0) as usize;
        let n_join = ((n as f64) * 0.35).round().max(1.0) as usize;
        let mut humans = Vec::new();
        for k in 0..n_init + n_join {
            let account = start - self.between(30, 1500) * DAY;
            let id = self.id_at(account);
            let weight = if self.chance(0.4) {
                0.0
            } else {
                self.pareto(1.2, 40.0)
            };
            let voice_weight = if self.chance(0.6) {
                0.0
            } else {
                self.pareto(1.5, 10.0)
            };
            // Members 0 and 3 are regulars in voice, so even a tiny scenario
            // has sessions (some concurrent).
            let voice_weight = if k == 0 || k == 3 {
                voice_weight.max(2.5)
            } else {
                voice_weight
            };
            let join = if k < n_init {
                start - self.between(HOUR, 700 * DAY)
            } else {
                start + self.between(1, dur - HOUR)
            };
            let mut stints = vec![(join, None)];
            // Member 1 always leaves and comes back, member 2 always leaves:
            // even a tiny scenario has both.
            let leaves = k == 1 || k == 2 || self.chance(0.12);
            if leaves {
                let lo = join.max(start) + HOUR;
                if lo < end - 2 * HOUR {
                    let leave = self.between(lo, end - 2 * HOUR);
                    stints[0].1 = Some(leave);
                    if k == 1 || (k != 2 && self.chance(0.35)) {
                        let back = leave + self.between(HOUR, 5 * DAY);
                        let back = back.min(leave + (end - leave) / 2);
                        if back > leave && back < end {
                            stints.push((back, None));
                        }
                    }
                }
            }
            humans.push(UserM {
                id,
                name: format!("member{gi}_{k}"),
                bot: false,
                weight,
                voice_weight,
                stints,
            });
        }
        let mut bots = Vec::new();
        for (k, name) in ["PulseBot", "Jukebox"].iter().enumerate() {
            let id = self.id_at(created + DAY + k as i64 * SEC);
            let joined = created + DAY + HOUR + k as i64 * SEC;
            bots.push(UserM {
                id,
                name: (*name).to_owned(),
                bot: true,
                weight: 0.0,
                voice_weight: 0.0,
                stints: vec![(joined, None)],
            });
        }
        let webhook = (self.id_at(created + 3 * DAY), "News Feed".to_owned());

        let mut gm = GuildM {
            id: guild_id,
            humans,
            bots,
            webhook,
            channels,
            threads: Vec::new(),
            emoji,
            stickers,
            initial_voice: Vec::new(),
        };

        self.membership_events(&gm);
        self.channel_events(&gm, event_chat);
        self.plan_threads(&mut gm, size);
        if gi == 0 {
            self.raid(&gm, size);
        }
        self.human_messages(&mut gm, size);
        self.bot_messages(&gm, size);
        self.thread_archives(&gm);
        self.voice(&mut gm);
        self.record_static_truth(&gm);
        self.guild_create(&gm, created)
    }

    fn membership_events(&mut self, gm: &GuildM) {
        for u in gm.humans.iter().chain(&gm.bots) {
            self.stint_events(gm.id, u);
        }
    }

    /// `GUILD_MEMBER_ADD`/`REMOVE` for a user's stints, and their facts.
    fn stint_events(&mut self, guild_id: u64, u: &UserM) {
        {
            for (i, (joined, left)) in u.stints.iter().enumerate() {
                let initial = *joined < self.start;
                if !initial {
                    let mut d = payload::member(u.id, &u.name, u.bot, *joined);
                    d["guild_id"] = Value::String(guild_id.to_string());
                    self.push(*joined, guild_id, "GUILD_MEMBER_ADD", d);
                }
                if let Some(l) = left {
                    let d = json!({
                        "guild_id": guild_id.to_string(),
                        "user": payload::user(u.id, &u.name, u.bot),
                    });
                    self.push(*l, guild_id, "GUILD_MEMBER_REMOVE", d);
                }
                self.truth.members.push(MembershipFact {
                    guild_id,
                    user_id: u.id,
                    is_bot: u.bot,
                    joined_ms: *joined,
                    left_ms: *left,
                    rejoin: i > 0,
                    initial,
                });
            }
        }
    }

    fn channel_events(&mut self, gm: &GuildM, event_chat: u64) {
        for c in &gm.channels {
            let shape = |topic| payload::ChannelShape {
                id: c.id,
                guild_id: gm.id,
                kind: c.kind,
                name: &c.name,
                parent_id: c.parent,
                position: 0,
                topic,
            };
            if let Some(t) = c.created {
                self.push(t, gm.id, "CHANNEL_CREATE", payload::channel(&shape(None)));
                let upd = payload::channel(&shape(Some("Event of the month")));
                self.push(t + 2 * HOUR, gm.id, "CHANNEL_UPDATE", upd);
            }
            if let Some(t) = c.deleted {
                self.push(t, gm.id, "CHANNEL_DELETE", payload::channel(&shape(None)));
            }
            if c.name == "off-topic" {
                let t = self.start + (self.end - self.start) / 2 + 5 * MIN;
                let upd = payload::channel(&shape(Some("Anything goes")));
                self.push(t, gm.id, "CHANNEL_UPDATE", upd);
            }
        }
        debug_assert!(gm.channels.iter().any(|c| c.id == event_chat));
    }

    fn plan_threads(&mut self, gm: &mut GuildM, size: ScenarioSize) {
        let (start, end) = (self.start, self.end);
        let parents: Vec<(u64, u8)> = gm
            .channels
            .iter()
            .filter(|c| c.thread_parent)
            .map(|c| (c.id, c.kind))
            .collect();
        let forum = parents
            .iter()
            .find(|(_, k)| *k == 15)
            .map(|(id, _)| *id)
            .expect("forum");
        let general = gm.channel("general").id;
        let count = (size.days as usize * (1 + size.members_per_guild as usize / 50)).max(3);
        let mut plans: Vec<(u64, u8, i64)> = vec![
            (general, 11, start - 3 * HOUR),
            (forum, 11, start - 5 * HOUR),
        ];
        // One announcement thread and one private thread in every guild; the
        // rest at random.
        let news = gm.channel("announcements").id;
        for (parent, kind) in [(news, 10), (general, 12)] {
            let t = self.between(start + MIN, end - HOUR);
            plans.push((parent, kind, t - t % SEC));
        }
        for _ in 2..count {
            let (parent, pkind) = if self.chance(0.4) {
                (forum, 15)
            } else {
                parents[self.between(0, parents.len() as i64) as usize]
            };
            // Threads under announcement channels are announcement threads.
            let kind = match pkind {
                5 => 10,
                0 if self.chance(0.2) => 12,
                _ => 11,
            };
            let t = self.between(start + MIN, end - HOUR);
            plans.push((parent, kind, t - t % SEC));
        }
        for (k, (parent, kind, created)) in plans.into_iter().enumerate() {
            let probe = created.max(start);
            // Posters open threads; lurkers stay silent.
            let owners: Vec<(u64, i64)> = gm
                .humans
                .iter()
                .filter(|u| u.weight > 0.0)
                .filter_map(|u| u.member_through(probe, probe + 2 * SEC).map(|j| (u.id, j)))
                .collect();
            if owners.is_empty() {
                continue;
            }
            let (owner, _) = owners[self.between(0, owners.len() as i64) as usize];
            let life = self.between(2 * HOUR, 3 * DAY);
            let archived = Some(created.max(start) + life - life % SEC).filter(|a| *a < end);
            let id = self.id_at(created);
            gm.threads.push(ThreadM {
                id,
                parent,
                kind,
                name: format!("thread-{k}"),
                owner,
                created,
                archived,
                messages: 0,
            });
            if created >= start {
                let t = gm.threads.last().expect("just pushed");
                let d = payload::thread(&thread_shape(gm.id, t, None), true);
                self.push(created, gm.id, "THREAD_CREATE", d);
            }
        }
        // The opening post of each new thread, by its owner.
        for i in 0..gm.threads.len() {
            let (created, owner, id, parent) = {
                let t = &gm.threads[i];
                (t.created, t.owner, t.id, t.parent)
            };
            if created < start {
                continue;
            }
            let at = created + SEC;
            let Some(u) = gm.humans.iter().find(|u| u.id == owner) else {
                continue;
            };
            let Some(joined) = u.member_at(at) else {
                continue;
            };
            self.message(
                gm.id,
                id,
                Some(parent),
                at,
                &Author::User(u, joined),
                0,
                0,
                &[],
            );
            gm.threads[i].messages += 1;
        }
    }

    fn raid(&mut self, gm: &GuildM, size: ScenarioSize) {
        let raid_start = self.start + i64::from(size.days / 2) * DAY + 3 * HOUR + 17 * MIN;
        let raiders = (size.members_per_guild as usize / 5).clamp(4, 100);
        let general = gm.channel("general").id;
        let mut spam = Vec::new();
        let mut user_ids = Vec::new();
        let mut last_join = raid_start;
        let mut last_leave = raid_start;
        for i in 0..raiders {
            let join = raid_start + i as i64 * 3 * SEC;
            let leave = raid_start + 30 * MIN + i as i64 * 2 * SEC;
            let id = self.id_at(join - 2 * MIN);
            let user = UserM {
                id,
                name: format!("raider{i}"),
                bot: false,
                weight: 0.0,
                voice_weight: 0.0,
                stints: vec![(join, Some(leave))],
            };
            self.stint_events(gm.id, &user);
            for j in 0..2 {
                let at = join + 5 * SEC + j * 7 * SEC + self.between(0, SEC);
                spam.push(self.message(
                    gm.id,
                    general,
                    None,
                    at,
                    &Author::User(&user, join),
                    0,
                    0,
                    &[],
                ));
            }
            user_ids.push(id);
            last_join = join;
            last_leave = leave;
        }
        let wipe_at = raid_start + 20 * MIN;
        let mut events = 0;
        for (k, chunk) in spam.chunks(100).enumerate() {
            let at = wipe_at + k as i64 * SEC;
            let ids: Vec<String> = chunk.iter().map(u64::to_string).collect();
            let d = json!({"guild_id": gm.id.to_string(), "channel_id": general.to_string(), "ids": ids});
            self.push(at, gm.id, "MESSAGE_DELETE_BULK", d);
            self.truth.deletions.push(DeletionFact {
                at_ms: at,
                guild_id: gm.id,
                channel_id: general,
                thread_parent_id: None,
                count: chunk.len() as u32,
                bulk: true,
            });
            events += 1;
        }
        self.truth.raid = Some(JoinRaid {
            guild_id: gm.id,
            start_ms: raid_start,
            last_join_ms: last_join,
            end_ms: last_leave,
            user_ids,
            channel_id: general,
        });
        self.truth.mass_deletion = Some(MassDeletion {
            guild_id: gm.id,
            channel_id: general,
            at_ms: wipe_at,
            events,
            messages: spam.len() as u32,
        });
    }

    /// Emits one `MESSAGE_CREATE` and records it; returns the message id.
    #[allow(clippy::too_many_arguments)]
    fn message(
        &mut self,
        guild_id: u64,
        channel_id: u64,
        thread_parent: Option<u64>,
        at: i64,
        author: &Author<'_>,
        attachments: u32,
        embeds: u32,
        stickers: &[(u64, &str)],
    ) -> u64 {
        let id = self.id_at(at);
        let att_ids: Vec<u64> = (0..attachments).map(|_| self.id_at(at)).collect();
        let (author_id, name, bot, webhook, joined, kind) = match author {
            Author::User(u, joined) => {
                let kind = if u.bot {
                    AuthorKind::Bot
                } else {
                    AuthorKind::Member
                };
                (u.id, u.name.as_str(), u.bot, None, Some(*joined), kind)
            }
            Author::Webhook(id, name) => (*id, *name, true, Some(*id), None, AuthorKind::Webhook),
        };
        let d = payload::message(&payload::MessageShape {
            id,
            guild_id,
            channel_id,
            at_ms: at,
            author_id,
            author_name: name,
            author_bot: bot,
            webhook_id: webhook,
            member_joined_ms: joined,
            attachments: &att_ids,
            embeds,
            stickers,
        });
        self.push(at, guild_id, "MESSAGE_CREATE", d);
        self.truth.messages.push(MessageFact {
            at_ms: at,
            message_id: id,
            guild_id,
            channel_id,
            thread_parent_id: thread_parent,
            author_id,
            author_kind: kind,
            attachments,
            embeds,
            stickers: stickers.len() as u32,
        });
        id
    }

    fn human_messages(&mut self, gm: &mut GuildM, size: ScenarioSize) {
        let mean_weight =
            gm.humans.iter().map(|u| u.weight).sum::<f64>() / gm.humans.len().max(1) as f64;
        let mean_weight = if mean_weight > 0.0 { mean_weight } else { 1.0 };
        let humans = std::mem::take(&mut gm.humans);
        for u in &humans {
            if u.weight == 0.0 {
                continue;
            }
            let rate = size.messages_per_member_day * u.weight / mean_weight;
            for day in 0..size.days {
                let day_start = self.start + i64::from(day) * DAY;
                let n = self.poisson(rate * weekday_factor(day_start));
                for _ in 0..n {
                    let hour = self.pick(&MESSAGE_HOURS) as i64;
                    let at = day_start + hour * HOUR + self.between(0, HOUR);
                    let Some(joined) = u.member_at(at) else {
                        continue;
                    };
                    if at < joined + SEC {
                        continue;
                    }
                    let (channel, parent) = self.choose_channel(gm, at);
                    let Some(channel) = channel else { continue };
                    let attachments = if self.chance(0.08) {
                        self.between(1, 4) as u32
                    } else {
                        0
                    };
                    let embeds = u32::from(self.chance(0.04));
                    let sticker = if self.chance(0.03) {
                        let s = &gm.stickers[self.between(0, 2) as usize];
                        vec![(s.0, s.1.as_str())]
                    } else {
                        Vec::new()
                    };
                    let author = Author::User(u, joined);
                    let id = self.message(
                        gm.id,
                        channel,
                        parent,
                        at,
                        &author,
                        attachments,
                        embeds,
                        &sticker,
                    );
                    if let Some(t) = gm
                        .threads
                        .iter_mut()
                        .find(|t| parent.is_some() && t.id == channel)
                    {
                        t.messages += 1;
                    }
                    self.follow_ups(
                        gm,
                        &humans,
                        channel,
                        parent,
                        id,
                        at,
                        u.id,
                        AuthorKind::Member,
                        0.3,
                    );
                }
            }
        }
        gm.humans = humans;
    }

    /// Picks where a human posts at `at`: an open thread now and then, else a
    /// channel by weight. Returns `(channel, thread parent)`.
    fn choose_channel(&mut self, gm: &GuildM, at: i64) -> (Option<u64>, Option<u64>) {
        if self.chance(0.15) {
            let open: Vec<(u64, u64)> = gm
                .threads
                .iter()
                .filter(|t| t.open_at(at))
                .map(|t| (t.id, t.parent))
                .collect();
            if !open.is_empty() {
                let (id, parent) = open[self.between(0, open.len() as i64) as usize];
                return (Some(id), Some(parent));
            }
        }
        let weights: Vec<f64> = gm
            .channels
            .iter()
            .map(|c| if c.usable_at(at) { c.weight } else { 0.0 })
            .collect();
        if weights.iter().all(|w| *w == 0.0) {
            return (None, None);
        }
        (Some(gm.channels[self.pick(&weights)].id), None)
    }

    /// Reactions (added, sometimes removed) and maybe a deletion, after a
    /// message. Givers are human members other than the author.
    #[allow(clippy::too_many_arguments)]
    fn follow_ups(
        &mut self,
        gm: &GuildM,
        humans: &[UserM],
        channel: u64,
        parent: Option<u64>,
        message_id: u64,
        at: i64,
        author: u64,
        author_kind: AuthorKind,
        react_p: f64,
    ) {
        // Nothing happens to the message once its channel is deleted or its
        // thread archived.
        let horizon = gm
            .channels
            .iter()
            .find(|c| c.id == channel)
            .and_then(|c| c.deleted)
            .into_iter()
            .chain(
                gm.threads
                    .iter()
                    .find(|t| t.id == channel)
                    .and_then(|t| t.archived),
            )
            .fold(self.end, i64::min);
        let deleted = if self.chance(0.012) {
            Some(at + SEC + self.exp_ms(40.0 * MIN as f64)).filter(|t| *t < horizon)
        } else {
            None
        };
        let limit = deleted.unwrap_or(horizon);
        if self.chance(react_p) {
            let mut count = 1;
            while count < 6 && self.chance(0.45) {
                count += 1;
            }
            let weights: Vec<f64> = gm.emoji.iter().map(|e| e.2).collect();
            let mut given = BTreeSet::new();
            for _ in 0..count {
                let r = at + SEC + self.exp_ms(45.0 * MIN as f64);
                if r >= limit {
                    continue;
                }
                let giver = &humans[self.between(0, humans.len() as i64) as usize];
                if giver.id == author {
                    continue;
                }
                let Some(joined) = giver.member_at(r) else {
                    continue;
                };
                let e = self.pick(&weights);
                if !given.insert((giver.id, e)) {
                    continue;
                }
                let (name, eid, _) = &gm.emoji[e];
                let (eref, key) = if *eid == 0 {
                    (EmojiRef::Unicode(name), name.clone())
                } else {
                    (EmojiRef::Custom { id: *eid, name }, format!("{name}:{eid}"))
                };
                let mut shape = payload::ReactionShape {
                    guild_id: gm.id,
                    channel_id: channel,
                    message_id,
                    user_id: giver.id,
                    user_name: &giver.name,
                    user_joined_ms: joined,
                    emoji: eref,
                    message_author_id: Some(author),
                };
                self.push(r, gm.id, "MESSAGE_REACTION_ADD", payload::reaction(&shape));
                let mut fact = ReactionFact {
                    at_ms: r,
                    guild_id: gm.id,
                    channel_id: channel,
                    thread_parent_id: parent,
                    message_id,
                    user_id: giver.id,
                    user_is_bot: false,
                    message_author_id: Some(author),
                    message_author_kind: Some(author_kind),
                    emoji: key,
                    added: true,
                };
                self.truth.reactions.push(fact.clone());
                if self.chance(0.12) {
                    let rr = r + SEC + self.exp_ms(20.0 * MIN as f64);
                    if rr < limit && giver.member_through(r, rr).is_some() {
                        shape.message_author_id = None;
                        self.push(
                            rr,
                            gm.id,
                            "MESSAGE_REACTION_REMOVE",
                            payload::reaction(&shape),
                        );
                        fact.at_ms = rr;
                        fact.added = false;
                        fact.message_author_id = None;
                        fact.message_author_kind = None;
                        self.truth.reactions.push(fact);
                    }
                }
            }
        }
        if let Some(t) = deleted {
            let d = json!({
                "guild_id": gm.id.to_string(),
                "channel_id": channel.to_string(),
                "id": message_id.to_string(),
            });
            self.push(t, gm.id, "MESSAGE_DELETE", d);
            self.truth.deletions.push(DeletionFact {
                at_ms: t,
                guild_id: gm.id,
                channel_id: channel,
                thread_parent_id: parent,
                count: 1,
                bulk: false,
            });
        }
    }

    fn bot_messages(&mut self, gm: &GuildM, size: ScenarioSize) {
        let bot_channel = gm.channel("bot-commands").id;
        let news = gm.channel("announcements").id;
        let per_bot_day = (f64::from(size.members_per_guild) / 8.0).max(1.0);
        for b in &gm.bots {
            for day in 0..size.days {
                let day_start = self.start + i64::from(day) * DAY;
                let n = self.poisson(per_bot_day * weekday_factor(day_start));
                for _ in 0..n {
                    let at =
                        day_start + self.pick(&MESSAGE_HOURS) as i64 * HOUR + self.between(0, HOUR);
                    let Some(joined) = b.member_at(at) else {
                        continue;
                    };
                    let embeds = u32::from(self.chance(0.7));
                    let id = self.message(
                        gm.id,
                        bot_channel,
                        None,
                        at,
                        &Author::User(b, joined),
                        0,
                        embeds,
                        &[],
                    );
                    self.follow_ups(
                        gm,
                        &gm.humans,
                        bot_channel,
                        None,
                        id,
                        at,
                        b.id,
                        AuthorKind::Bot,
                        0.05,
                    );
                }
            }
        }
        let (wid, wname) = (&gm.webhook.0, gm.webhook.1.as_str());
        for day in 0..size.days {
            let day_start = self.start + i64::from(day) * DAY;
            let n = self.poisson(4.0);
            for _ in 0..n {
                let at = day_start + self.between(6 * HOUR, 22 * HOUR);
                let attachments = u32::from(self.chance(0.3));
                let embeds = 1 + u32::from(self.chance(0.2));
                self.message(
                    gm.id,
                    news,
                    None,
                    at,
                    &Author::Webhook(*wid, wname),
                    attachments,
                    embeds,
                    &[],
                );
            }
        }
    }

    fn thread_archives(&mut self, gm: &GuildM) {
        for t in &gm.threads {
            if let Some(a) = t.archived {
                let d = payload::thread(&thread_shape(gm.id, t, Some(a)), false);
                self.push(a, gm.id, "THREAD_UPDATE", d);
            }
        }
    }

    fn voice(&mut self, gm: &mut GuildM) {
        let (start, end) = (self.start, self.end);
        let rooms: Vec<(u64, u8)> = gm
            .channels
            .iter()
            .filter(|c| c.kind == 2 || c.kind == 13)
            .map(|c| (c.id, c.kind))
            .collect();
        let mut initial_left = 3;
        let humans = std::mem::take(&mut gm.humans);
        for u in &humans {
            if u.voice_weight == 0.0 {
                continue;
            }
            let mut free_from = start;
            if initial_left > 0 && u.member_at(start).is_some() {
                let e = start + self.between(20, 180) * MIN;
                if u.member_through(start, e + SEC).is_some() {
                    initial_left -= 1;
                    self.session(gm, u, &rooms, start, e, true);
                    free_from = e + MIN;
                }
            }
            let days = ((end - start) / DAY) as u32;
            for day in 0..days {
                if !self.chance((0.3 * u.voice_weight).min(0.85)) {
                    continue;
                }
                let day_start = start + i64::from(day) * DAY;
                let hour = self.pick(&VOICE_HOURS) as i64;
                let s = day_start + hour * HOUR + self.between(0, 3600) * SEC;
                let minutes = (45.0 * (0.9 * self.normal()).exp()).clamp(1.0, 300.0);
                let e = s + (minutes * 60.0) as i64 * SEC;
                if s < free_from + MIN || e >= end - SEC {
                    continue;
                }
                if u.member_through(s, e + SEC).is_none() {
                    continue;
                }
                self.session(gm, u, &rooms, s, e, false);
                free_from = e;
            }
        }
        gm.humans = humans;
    }

    /// One voice session from `s` to `e` (whole seconds): join, moves, mute and
    /// deafen toggles, leave. `initial`: already in voice at the start.
    fn session(
        &mut self,
        gm: &mut GuildM,
        u: &UserM,
        rooms: &[(u64, u8)],
        s: i64,
        e: i64,
        initial: bool,
    ) {
        let session_id = format!(
            "{:016x}{:016x}",
            self.rng.random::<u64>(),
            self.rng.random::<u64>()
        );
        let weights: Vec<f64> = (0..rooms.len()).map(|i| 1.0 / (i as f64 + 1.0)).collect();
        let mut room = self.pick(&weights);
        let (mut self_mute, mut self_deaf) = (false, false);
        let mut points = BTreeSet::new();
        let moves = if self.chance(0.3) {
            1 + u32::from(self.chance(0.3))
        } else {
            0
        };
        let toggles = self.poisson(1.2);
        let (lo, hi) = (s / SEC + 1, e / SEC);
        for _ in 0..moves + toggles {
            if hi > lo {
                points.insert(self.between(lo, hi) * SEC);
            }
        }
        let points: Vec<i64> = points.into_iter().collect();
        let mut kinds: Vec<bool> = (0..points.len()).map(|i| (i as u32) < moves).collect();
        // Shuffle which points are moves.
        for i in (1..kinds.len()).rev() {
            let j = self.between(0, i as i64 + 1) as usize;
            kinds.swap(i, j);
        }
        let joined = u.member_at(s).expect("member during session");
        let guild_id = gm.id;
        let state = |room: Option<usize>, self_mute, self_deaf| {
            payload::voice_state(&payload::VoiceShape {
                guild_id,
                channel_id: room.map(|r| rooms[r].0),
                user_id: u.id,
                user_name: &u.name,
                user_joined_ms: joined,
                session_id: &session_id,
                self_mute,
                self_deaf,
                suppress: room.is_some_and(|r| rooms[r].1 == 13),
            })
        };
        if initial {
            gm.initial_voice.push(state(Some(room), false, false));
        } else {
            self.push(
                s,
                gm.id,
                "VOICE_STATE_UPDATE",
                state(Some(room), false, false),
            );
        }
        let mut seg_start = s;
        for (t, is_move) in points.iter().zip(kinds) {
            if is_move && rooms.len() > 1 {
                let next =
                    (room + 1 + self.between(0, rooms.len() as i64 - 1) as usize) % rooms.len();
                self.voice_interval(gm.id, rooms[room].0, u.id, seg_start, *t);
                seg_start = *t;
                room = next;
            } else if self.chance(0.7) {
                self_mute = !self_mute;
                if !self_mute {
                    self_deaf = false;
                }
            } else {
                self_deaf = !self_deaf;
                self_mute = self_deaf;
            }
            self.push(
                *t,
                gm.id,
                "VOICE_STATE_UPDATE",
                state(Some(room), self_mute, self_deaf),
            );
        }
        self.voice_interval(gm.id, rooms[room].0, u.id, seg_start, e);
        self.push(
            e,
            gm.id,
            "VOICE_STATE_UPDATE",
            state(None, self_mute, self_deaf),
        );
    }

    fn voice_interval(
        &mut self,
        guild_id: u64,
        channel_id: u64,
        user_id: u64,
        start_ms: i64,
        end_ms: i64,
    ) {
        self.truth.voice.push(VoiceInterval {
            guild_id,
            channel_id,
            user_id,
            user_is_bot: false,
            start_ms,
            end_ms,
        });
    }

    fn record_static_truth(&mut self, gm: &GuildM) {
        for c in &gm.channels {
            self.truth.channels.push(ChannelFact {
                guild_id: gm.id,
                channel_id: c.id,
                kind: c.kind,
                name: c.name.clone(),
                parent_id: c.parent,
                created_ms: c.created,
                deleted_ms: c.deleted,
            });
        }
        for t in &gm.threads {
            let created_ms = Some(t.created).filter(|c| *c >= self.start);
            self.truth.channels.push(ChannelFact {
                guild_id: gm.id,
                channel_id: t.id,
                kind: t.kind,
                name: t.name.clone(),
                parent_id: Some(t.parent),
                created_ms,
                deleted_ms: None,
            });
            self.truth.threads.push(ThreadFact {
                guild_id: gm.id,
                thread_id: t.id,
                parent_id: t.parent,
                kind: t.kind,
                owner_id: t.owner,
                created_ms,
                archived_ms: t.archived,
            });
        }
    }

    fn guild_create(&mut self, gm: &GuildM, created: i64) -> Value {
        let start = self.start;
        let members: Vec<Value> = gm
            .humans
            .iter()
            .chain(&gm.bots)
            .filter_map(|u| {
                let joined = u.member_at(start)?;
                Some(payload::member(u.id, &u.name, u.bot, joined))
            })
            .collect();
        let channels: Vec<Value> = gm
            .channels
            .iter()
            .filter(|c| c.created.is_none())
            .enumerate()
            .map(|(pos, c)| {
                payload::channel(&payload::ChannelShape {
                    id: c.id,
                    guild_id: gm.id,
                    kind: c.kind,
                    name: &c.name,
                    parent_id: c.parent,
                    position: pos as i32,
                    topic: None,
                })
            })
            .collect();
        let threads: Vec<Value> = gm
            .threads
            .iter()
            .filter(|t| t.created < start)
            .map(|t| payload::thread(&thread_shape(gm.id, t, None), false))
            .collect();
        let emojis: Vec<Value> = gm
            .emoji
            .iter()
            .filter(|e| e.1 != 0)
            .map(|(name, id, _)| payload::guild_emoji(*id, name))
            .collect();
        let owner = gm.humans.first().map_or(gm.bots[0].id, |u| u.id);
        json!({
            "id": gm.id.to_string(),
            "name": format!("Pulse Community {}", gm.id % 1000),
            "icon": null,
            "splash": null,
            "discovery_splash": null,
            "banner": null,
            "description": null,
            "owner_id": owner.to_string(),
            "afk_channel_id": null,
            "afk_timeout": 300,
            "application_id": null,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "features": [],
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_progress_bar_enabled": false,
            "preferred_locale": "en-US",
            "public_updates_channel_id": null,
            "rules_channel_id": null,
            "system_channel_id": null,
            "system_channel_flags": 0,
            "vanity_url_code": null,
            "roles": [payload::role_everyone(gm.id)],
            "emojis": emojis,
            "joined_at": payload::iso(created + DAY + HOUR),
            "large": members.len() > 50,
            "unavailable": false,
            "member_count": members.len(),
            "members": members,
            "channels": channels,
            "threads": threads,
            "voice_states": gm.initial_voice,
            "presences": [],
        })
    }
}

fn thread_shape<'a>(
    guild_id: u64,
    t: &'a ThreadM,
    archived: Option<i64>,
) -> payload::ThreadShape<'a> {
    payload::ThreadShape {
        id: t.id,
        guild_id,
        parent_id: t.parent,
        kind: t.kind,
        name: &t.name,
        owner_id: t.owner,
        created_ms: t.created,
        archived_ms: archived,
        message_count: t.messages,
    }
}

/// Weekly cycle: busier weekends.
fn weekday_factor(day_start_ms: i64) -> f64 {
    let date = chrono::DateTime::from_timestamp_millis(day_start_ms).expect("in range");
    match date.weekday() {
        chrono::Weekday::Sat | chrono::Weekday::Sun => 1.35,
        chrono::Weekday::Fri => 1.1,
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen_with(seed: u64) -> Gen {
        let (_, truth) = crate::Script::new(1, DEFAULT_START_MS, 1).finish();
        Gen {
            rng: ChaCha8Rng::seed_from_u64(seed),
            next_low: 0,
            seq: 0,
            start: DEFAULT_START_MS,
            end: DEFAULT_START_MS + DAY,
            events: Vec::new(),
            truth,
        }
    }

    #[test]
    fn default_start_is_a_utc_midnight_on_2026_10_10() {
        let dt = chrono::DateTime::from_timestamp_millis(DEFAULT_START_MS).unwrap();
        assert_eq!(dt.to_rfc3339(), "2026-10-10T00:00:00+00:00");
    }

    #[test]
    fn samplers_have_the_intended_means() {
        let mut g = gen_with(1);
        let n = 20_000;
        for lambda in [0.7, 4.0, 80.0] {
            let mean = (0..n).map(|_| f64::from(g.poisson(lambda))).sum::<f64>() / f64::from(n);
            assert!(
                (mean - lambda).abs() < lambda * 0.05 + 0.05,
                "poisson({lambda}) mean {mean}"
            );
        }
        let picks = (0..n).filter(|_| g.pick(&[1.0, 0.0, 3.0]) == 2).count();
        assert!(
            (14_000..16_000).contains(&picks),
            "weight 3 of 4 picked {picks} times"
        );
        assert!((0..n).all(|_| g.pick(&[0.0, 1.0]) == 1));
        let p: Vec<f64> = (0..n).map(|_| g.pareto(1.2, 40.0)).collect();
        assert!(p.iter().all(|x| (1.0..=40.0).contains(x)));
        assert!(p.iter().filter(|x| **x > 10.0).count() > 100, "heavy tail");
    }

    #[test]
    fn membership_edges_are_half_open() {
        let u = UserM {
            id: 1,
            name: "u".into(),
            bot: false,
            weight: 1.0,
            voice_weight: 0.0,
            stints: vec![(10, Some(20)), (30, None)],
        };
        assert_eq!(u.member_at(9), None);
        assert_eq!(u.member_at(10), Some(10));
        assert_eq!(u.member_at(19), Some(10));
        assert_eq!(u.member_at(20), None);
        assert_eq!(u.member_at(30), Some(30));
        assert_eq!(u.member_through(10, 19), Some(10));
        assert_eq!(u.member_through(10, 20), None);
        assert_eq!(u.member_through(15, 35), None);
    }
}
