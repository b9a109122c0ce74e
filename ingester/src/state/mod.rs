//! One shard's view of its guilds and the batch it is accumulating.
//!
//! Everything here is in memory and mirrors what the database holds as of
//! the last committed flush plus the events processed since; every change
//! also lands in [`Pending`], which commits in one transaction with the
//! shard's checkpoint. After a crash, loading from the database and
//! replaying the gateway from the checkpoint rebuilds the same state.
//!
//! [`ShardState`] owns the clock and one state type per concern
//! ([`Catalogue`], [`VoiceSessions`]); the fold (`fold.rs`) dispatches each
//! event to them and to the batch.

pub mod alerts;
mod batch;
mod catalogue;
mod fold;
mod voice;

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use shared::Snowflake;
use shared::db::ingest::ShardCheckpoint;
use shared::time::Hour;

pub use batch::{CatalogueChanges, Gap, Pending, Sealed};
pub use catalogue::Catalogue;
pub use fold::Outcome;
pub use voice::VoiceSessions;

use serde_json::value::RawValue;

use crate::events::{EventKind, Payload};
use crate::settings::{Filter, SettingsCache, ShardFilters};

/// A read from the database the fold needs first (see
/// [`ShardState::lookup_needed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Member(Snowflake, Snowflake),
    Guild(Snowflake),
}

pub struct ShardState {
    pub shard_id: u32,
    pub shard_total: u32,
    /// The shard's copy of the guilds' settings (no lock per event).
    settings: ShardFilters,
    catalogue: Catalogue,
    voice: VoiceSessions,
    detectors: alerts::Detectors,
    /// The usual people in voice of a guild's hour (`None`: too little
    /// history), read before the hour's first voice update is folded.
    voice_usual: foldhash::HashMap<(Snowflake, Hour), Option<f64>>,
    /// Buckets that end after this instant are still to be evaluated for
    /// activity drops (by the flush of the batch whose clock passes their
    /// end); those that ended by it were.
    drop_from: Option<DateTime<Utc>>,
    /// Time of the last event processed (scenario time when the gateway
    /// sends `sim_time_ms`, else the wall clock); never goes back.
    pub clock: Option<DateTime<Utc>>,
    /// `Some(true)` once frames are known to come without `sim_time_ms`
    /// (production): the wall clock then moves the clock between frames.
    pub wall_clock: Option<bool>,
    pub pending: Pending,
    /// The first time of the frame being folded that was unreadable or
    /// out of range (see [`ShardState::arrival`] and `fold.rs`).
    out_of_range: Option<&'static str>,
    /// Where the next edge after the clock is (see [`ShardState::edges`]),
    /// so that a frame that crosses none costs no walk over the guilds.
    quiet: Option<Quiet>,
}

/// No edge ([`ShardState::edges`]) lies after the clock and before `until`,
/// as long as the settings (`settings`, their version) and the guilds with
/// someone in voice (`occupied`, see [`VoiceSessions::occupied_generation`])
/// have not changed: guilds that empty only take edges away.
#[derive(Debug, Clone, Copy)]
struct Quiet {
    until: DateTime<Utc>,
    settings: u64,
    occupied: u64,
}

/// The most hour starts one frame's jump of the clock reads the usual
/// people in voice for (a longer jump is an outage: the hours past it are
/// not evaluated for surges at their start).
pub const SURGE_HOURS_AHEAD: u32 = 48;

/// How far ahead of the wall clock the simulator's `sim_time_ms` may be:
/// scenarios replay at most a year ahead (tests start them tomorrow).
const SIM_TIME_AHEAD: TimeDelta = TimeDelta::days(366);

impl ShardState {
    pub fn new(shard_id: u32, shard_total: u32, settings: Arc<SettingsCache>) -> Self {
        Self {
            shard_id,
            shard_total,
            settings: ShardFilters::new(settings),
            catalogue: Catalogue::default(),
            voice: VoiceSessions::default(),
            detectors: alerts::Detectors::default(),
            voice_usual: foldhash::HashMap::default(),
            drop_from: None,
            clock: None,
            wall_clock: None,
            pending: Pending::default(),
            out_of_range: None,
            quiet: None,
        }
    }

    /// Loads the shard's available guilds, their channels and present
    /// members, the open voice sessions and the alert windows as of the
    /// last committed flush.
    pub async fn load(
        &mut self,
        pool: &sqlx::PgPool,
        clock: Option<DateTime<Utc>>,
    ) -> Result<(), shared::db::DbError> {
        use shared::db::{catalogue, ingest};
        self.clock = clock;
        // Buckets that ended by the checkpoint were evaluated in its batch.
        self.drop_from = clock;
        if clock.is_some() {
            // Occupancy at the checkpoint's instant may not have been observed.
            self.voice.mark_unobserved();
        }
        let (guilds, away): (Vec<_>, Vec<_>) = catalogue::guilds(pool)
            .await?
            .into_iter()
            .filter(|g| g.guild_id.shard(self.shard_total) == self.shard_id)
            // Left or unavailable: read back if its GUILD_CREATE comes.
            .partition(|g| g.available);
        let ids: Vec<Snowflake> = guilds.iter().map(|g| g.guild_id).collect();
        for g in guilds {
            self.catalogue.restore_guild(g);
        }
        for c in catalogue::channels_of(pool, &ids).await? {
            self.catalogue.restore_channel(c);
        }
        for m in catalogue::members_of(pool, &ids).await? {
            // Members who left stay in the database until they come back.
            if m.left_at.is_none() {
                self.catalogue.restore_member(m);
            }
        }
        // Sessions of every guild: a GUILD_CREATE ends those that are over.
        let all: Vec<Snowflake> = ids
            .iter()
            .copied()
            .chain(away.iter().map(|g| g.guild_id))
            .collect();
        for v in ingest::voice_sessions_of(pool, &all).await? {
            let bot = self.is_bot(v.guild_id, v.user_id);
            self.voice.restore(&v, bot);
            // In the shard's copy: see `sync_settings`.
            self.settings.get(v.guild_id);
        }
        // Alert windows with their ongoing incidents and cooldowns, as
        // the checkpoint's flush left them (same transaction).
        for w in shared::db::alerts::windows_of(pool, &all).await? {
            self.detectors.restore(&w);
        }
        Ok(())
    }

    /// What the database must tell the fold before it folds this frame:
    /// the row of a member who joins or leaves and is not in memory (they
    /// may have left earlier and been dropped), or a guild's members and
    /// channels when a guild not in memory becomes available (the bot may
    /// have left it earlier and come back).
    pub fn lookup_needed(&self, t: &str, d: Option<&RawValue>) -> Option<Lookup> {
        match EventKind::parse(t)? {
            EventKind::GuildMemberAdd | EventKind::GuildMemberRemove => {
                let m: crate::events::MemberRemove = crate::events::payload(d).ok()?;
                self.member_lookup(m.guild_id, m.user.id)
            }
            EventKind::GuildCreate => {
                let g: crate::events::GuildDelete = crate::events::payload(d).ok()?;
                self.guild_lookup(g.id, g.unavailable)
            }
            _ => None,
        }
    }

    /// [`ShardState::lookup_needed`] of a payload already read.
    pub fn lookup_needed_for(&self, payload: &Payload) -> Option<Lookup> {
        match payload {
            Payload::MemberAdd(m) => self.member_lookup(m.guild_id, m.user.id),
            Payload::MemberRemove(m) => self.member_lookup(m.guild_id, m.user.id),
            Payload::GuildCreate(g) => self.guild_lookup(g.id, g.unavailable),
            _ => None,
        }
    }

    fn member_lookup(&self, guild_id: Snowflake, user_id: Snowflake) -> Option<Lookup> {
        self.catalogue
            .member(guild_id, user_id)
            .is_none()
            .then_some(Lookup::Member(guild_id, user_id))
    }

    fn guild_lookup(&self, guild_id: Snowflake, unavailable: Option<bool>) -> Option<Lookup> {
        (unavailable != Some(true) && !self.catalogue.has_guild(guild_id))
            .then_some(Lookup::Guild(guild_id))
    }

    /// Reads what [`ShardState::lookup_needed`] asked for into memory.
    pub async fn look_up(
        &mut self,
        pool: &sqlx::PgPool,
        lookup: Lookup,
    ) -> Result<(), shared::db::DbError> {
        use shared::db::catalogue;
        match lookup {
            Lookup::Member(guild_id, user_id) => {
                if let Some(row) = catalogue::member(pool, guild_id, user_id).await? {
                    self.catalogue.restore_member(row);
                }
            }
            Lookup::Guild(guild_id) => {
                for c in catalogue::channels_of(pool, &[guild_id]).await? {
                    self.catalogue.restore_channel(c);
                }
                for m in catalogue::members_of(pool, &[guild_id]).await? {
                    if m.left_at.is_none() {
                        self.catalogue.restore_member(m);
                    }
                }
            }
        }
        Ok(())
    }

    /// After `sealed` committed: members whose leave it holds and guilds the
    /// bot left are dropped from memory, unless they came back since.
    pub fn committed(&mut self, sealed: &Sealed) {
        for m in sealed.pending.catalogue.members.values() {
            if let Some(left_at) = m.left_at {
                self.catalogue
                    .forget_left_member(m.guild_id, m.user_id, left_at);
            }
        }
        for guild_id in sealed.pending.guilds_left.keys() {
            self.catalogue.forget_left_guild(*guild_id);
        }
    }

    /// Members held in memory, over all guilds.
    pub fn members_in_memory(&self) -> usize {
        self.catalogue.member_count()
    }

    fn filter(&mut self, guild_id: Snowflake) -> Arc<Filter> {
        self.settings.get(guild_id)
    }

    /// Whether the catalogue knows `user_id` as a bot account of the guild.
    fn is_bot(&self, guild_id: Snowflake, user_id: Snowflake) -> bool {
        self.catalogue
            .member(guild_id, user_id)
            .is_some_and(|m| m.is_bot)
    }

    /// Guilds of this shard the state knows, in order.
    pub fn guild_ids(&self) -> BTreeSet<Snowflake> {
        self.catalogue
            .guild_ids()
            .chain(self.voice.guild_ids())
            .collect()
    }

    /// The arrival time of the next frame: its `sim_time_ms` when the
    /// simulator sent one, else the wall clock `now`. A `sim_time_ms`
    /// before Discord's epoch or more than a year and a day after `now`
    /// marks the frame out of range, and the frame arrives at the shard's
    /// clock (`now` before the first frame): the clock never jumps to it.
    pub fn arrival(&mut self, sim_time_ms: Option<i64>, now: DateTime<Utc>) -> DateTime<Utc> {
        let Some(ms) = sim_time_ms else {
            return now;
        };
        let latest = now + SIM_TIME_AHEAD;
        match DateTime::from_timestamp_millis(ms)
            .and_then(|t| shared::time::wire_time(t, latest).ok())
        {
            Some(t) => t,
            None => {
                self.out_of_range = Some("sim_time_ms");
                self.clock.unwrap_or(now)
            }
        }
    }

    /// With a live session on the wall clock, time passes between frames:
    /// hours stay covered and voice occupancy at hour starts is observed
    /// even when nothing happens.
    pub fn touch(&mut self, now: DateTime<Utc>) {
        if self.wall_clock != Some(true) {
            return;
        }
        let Some(previous) = self.clock else {
            return;
        };
        self.sync_settings();
        if now > previous {
            let crossed = !self.edges(previous, now).is_empty();
            self.advance(now);
            self.pending.touched |= crossed;
        }
    }

    /// Moves the clock to `t` (never back), observing voice occupancy at the
    /// instants left behind. Returns the event time to use.
    fn advance(&mut self, t: DateTime<Utc>) -> DateTime<Utc> {
        let Some(previous) = self.clock else {
            self.clock = Some(t);
            self.drop_from = Some(t);
            self.pending.coverage.insert(Hour::containing(t));
            return t;
        };
        if t <= previous {
            return previous;
        }
        if self.voice.take_unobserved() {
            self.observe_voice(previous);
        }
        if self.no_edge_within(previous, t) {
            self.pending.coverage.insert(Hour::containing(t));
            self.clock = Some(t);
            self.end_alerts(t);
            return t;
        }
        // Edges strictly between: nothing changed, occupancy carries.
        let edges = self.edges(previous, t);
        for edge in edges.range(..t).copied() {
            self.observe_voice(edge);
            self.pending.coverage.insert(Hour::containing(edge));
        }
        if edges.contains(&t) {
            // Occupancy at a bucket's first instant, after that instant's events.
            self.voice.mark_unobserved();
        }
        self.pending.coverage.insert(Hour::containing(t));
        self.clock = Some(t);
        self.end_alerts(t);
        t
    }

    /// The instants in `(previous, t]` at which time passing matters: UTC
    /// hour starts (coverage is kept by UTC hour) and the bucket starts of
    /// guilds with someone in voice (each bucket's peak is observed at its
    /// start; a guild in a zone of :30 or :45 has its own).
    fn edges(&mut self, previous: DateTime<Utc>, t: DateTime<Utc>) -> BTreeSet<DateTime<Utc>> {
        let mut edges = BTreeSet::new();
        for bucketing in self.voice_bucketings() {
            let mut bucket = bucketing.next(bucketing.containing(previous));
            while bucket.start() <= t {
                edges.insert(bucket.start());
                bucket = bucketing.next(bucket);
            }
        }
        edges
    }

    /// UTC and the bucketings of the guilds with someone in voice, once each.
    fn voice_bucketings(&mut self) -> Vec<shared::bucketing::Bucketing> {
        let mut seen = vec![shared::bucketing::Bucketing::UTC];
        for guild_id in self.voice.occupied_guild_ids() {
            let bucketing = self.settings.get(guild_id).bucketing;
            if !seen.contains(&bucketing) {
                seen.push(bucketing);
            }
        }
        seen
    }

    /// Whether no edge ([`ShardState::edges`]) lies in `(previous, t]`,
    /// `previous` being the clock: answered from [`Quiet`] while it holds,
    /// so most frames cost no walk over the guilds in voice.
    fn no_edge_within(&mut self, previous: DateTime<Utc>, t: DateTime<Utc>) -> bool {
        let settings = self.settings.version();
        let occupied = self.voice.occupied_generation();
        let until = match self.quiet {
            Some(q) if q.settings == settings && q.occupied == occupied && previous < q.until => {
                q.until
            }
            _ => {
                let until = self
                    .voice_bucketings()
                    .into_iter()
                    .map(|b| b.next(b.containing(previous)).start())
                    .min()
                    .expect("UTC is always there");
                self.quiet = Some(Quiet {
                    until,
                    settings,
                    occupied,
                });
                until
            }
        };
        t < until
    }

    /// Observes voice occupancy at `at` (see [`VoiceSessions::observe`])
    /// and feeds the people in voice to the surge detector, when the usual
    /// of `at`'s hour is known (it is read before a voice update of the
    /// hour is folded: [`ShardState::voice_usual_needed`]).
    fn observe_voice(&mut self, at: DateTime<Utc>) {
        let people = self
            .voice
            .observe(&mut self.settings, at, &mut self.pending.rollups);
        for p in people {
            let filter = self.settings.get(p.guild_id);
            let hour = filter.bucket(at);
            let Some(Some(usual)) = self.voice_usual.get(&(p.guild_id, hour)).copied() else {
                continue;
            };
            self.detectors.people(
                &mut self.pending.alerts,
                filter.alerts.get(shared::alerts::AlertKind::VoiceSurge),
                &p,
                usual,
                at,
            );
        }
    }

    /// The guilds and hours whose usual people in voice must be read
    /// before folding this frame: a voice update's or a guild's voice
    /// states' hour, and the hour starts the frame moves the clock past in
    /// guilds with people in voice (the threshold changes there), up to
    /// [`SURGE_HOURS_AHEAD`] of them.
    pub fn voice_usual_needed(
        &mut self,
        t: &str,
        d: Option<&RawValue>,
        arrival: DateTime<Utc>,
    ) -> Vec<(Snowflake, Hour)> {
        let guild_id = match EventKind::parse(t) {
            Some(EventKind::VoiceStateUpdate) => {
                crate::events::payload::<crate::events::VoiceStatePayload>(d)
                    .ok()
                    .and_then(|v| v.guild_id)
            }
            Some(EventKind::GuildCreate) => crate::events::payload::<crate::events::GuildDelete>(d)
                .ok()
                .map(|g| g.id),
            _ => None,
        };
        self.voice_usual_needed_in(guild_id, arrival)
    }

    /// [`ShardState::voice_usual_needed`] of a payload already read.
    pub fn voice_usual_needed_for(
        &mut self,
        payload: Option<&Payload>,
        arrival: DateTime<Utc>,
    ) -> Vec<(Snowflake, Hour)> {
        let guild_id = match payload {
            Some(Payload::VoiceState(v)) => v.guild_id,
            Some(Payload::GuildCreate(g)) => Some(g.id),
            _ => None,
        };
        self.voice_usual_needed_in(guild_id, arrival)
    }

    /// The hours to read for a frame arriving at `arrival` that concerns
    /// the voice of `guild_id` (a voice update or a guild's voice states).
    fn voice_usual_needed_in(
        &mut self,
        guild_id: Option<Snowflake>,
        arrival: DateTime<Utc>,
    ) -> Vec<(Snowflake, Hour)> {
        let at = self.clock.map_or(arrival, |c| c.max(arrival));
        let mut needed = Vec::new();
        if let Some(guild_id) = guild_id {
            needed.push((guild_id, self.filter(guild_id).bucket(at)));
        }
        // No bucket of a guild in voice starts in (clock, at]: nothing more.
        if let Some(clock) = self.clock
            && !self.no_edge_within(clock, at)
        {
            let occupied: Vec<Snowflake> = self.voice.occupied_guild_ids().collect();
            for guild_id in occupied {
                let bucketing = self.settings.get(guild_id).bucketing;
                let mut bucket = bucketing.next(bucketing.containing(clock));
                let mut left = SURGE_HOURS_AHEAD;
                while bucket.start() <= at && left > 0 {
                    needed.push((guild_id, bucket));
                    bucket = bucketing.next(bucket);
                    left -= 1;
                }
            }
        }
        let settings = &mut self.settings;
        let usual = &self.voice_usual;
        needed.retain(|key| settings.get(key.0).tracked && !usual.contains_key(key));
        needed.sort();
        needed.dedup();
        needed
    }

    /// Reads the usual people in voice of guilds' hours (the mean peak of
    /// the same hour in up to 4 earlier weeks; see
    /// [`shared::alerts::usual`]): one query for all of them.
    pub async fn load_voice_usual(
        &mut self,
        pool: &sqlx::PgPool,
        needed: &[(Snowflake, Hour)],
    ) -> Result<(), shared::db::DbError> {
        if needed.is_empty() {
            return Ok(());
        }
        let wanted: Vec<(Snowflake, Hour, Vec<DateTime<Utc>>)> = needed
            .iter()
            .map(|(guild_id, hour)| {
                let filter = self.filter(*guild_id);
                let hours = shared::alerts::baseline_buckets(filter.bucketing, *hour, filter.since);
                (*guild_id, *hour, hours)
            })
            .collect();
        let mut guilds: Vec<Snowflake> = wanted.iter().map(|w| w.0).collect();
        guilds.sort_unstable();
        guilds.dedup();
        let mut hours: Vec<DateTime<Utc>> = wanted.iter().flat_map(|w| w.2.clone()).collect();
        hours.sort_unstable();
        hours.dedup();
        let peaks: HashMap<(Snowflake, DateTime<Utc>), i32> =
            shared::db::alerts::hour_figures(pool, &guilds, &hours)
                .await?
                .into_iter()
                .map(|r| ((r.guild_id, r.hour), r.voice_peak))
                .collect();
        // Only the buckets from the clock's on are ever needed again (a
        // bucket lasts an hour at most).
        if let Some(clock) = self.clock {
            self.voice_usual.retain(|(_, h), _| h.end() > clock);
        }
        for (guild_id, hour, baseline) in wanted {
            let figures: Vec<f64> = baseline
                .iter()
                .map(|h| f64::from(peaks.get(&(guild_id, *h)).copied().unwrap_or(0)))
                .collect();
            self.voice_usual
                .insert((guild_id, hour), shared::alerts::usual(&figures));
        }
        Ok(())
    }

    /// Hands each tracked guild's buckets that ended since the last seal,
    /// with its activity-drop settings, to the batch: its flush evaluates
    /// them after writing the batch's rollups.
    fn drop_hours_done(&mut self) {
        let (Some(from), Some(clock)) = (self.drop_from, self.clock) else {
            return;
        };
        if clock <= from {
            return;
        }
        self.drop_from = Some(clock);
        let ids = self.guild_ids();
        let gaps = &self.pending.gaps;
        let settings = &mut self.settings;
        let guilds: Vec<alerts::DropGuild> = ids
            .into_iter()
            .filter_map(|guild_id| {
                let filter = settings.get(guild_id);
                if !filter.tracked {
                    return None;
                }
                let bucketing = filter.bucketing;
                let mut hours = Vec::new();
                let mut bucket = bucketing.containing(from);
                loop {
                    let end = bucketing.end(bucket);
                    if end > clock {
                        break;
                    }
                    // A bucket that lost events (a coverage gap) is no
                    // evidence of a drop.
                    if !gaps.iter().any(|g| g.start < end && g.end > bucket.start()) {
                        hours.push(bucket);
                    }
                    bucket = Hour::at(end);
                }
                (!hours.is_empty()).then(|| alerts::DropGuild {
                    guild_id,
                    since: filter.since,
                    settings: filter
                        .alerts
                        .get(shared::alerts::AlertKind::ActivityDrop)
                        .clone(),
                    bucketing,
                    hours,
                })
            })
            .collect();
        if !guilds.is_empty() {
            self.pending.alerts.drops = Some(alerts::DropEvaluation { guilds });
        }
    }

    /// Ends the ongoing incidents that are over at `clock`.
    fn end_alerts(&mut self, clock: DateTime<Utc>) {
        let settings = &mut self.settings;
        self.detectors
            .tick(&mut self.pending.alerts, clock, |guild_id, kind| {
                settings.get(guild_id).alerts.get(kind).clone()
            });
    }

    /// Feeds an event to a guild's alert window of `kind`.
    fn alert_event(
        &mut self,
        guild_id: Snowflake,
        filter: &Filter,
        kind: shared::alerts::AlertKind,
        entry: alerts::Entry,
    ) {
        let clock = self.clock.unwrap_or(entry.at);
        self.detectors.record(
            &mut self.pending.alerts,
            guild_id,
            filter.alerts.get(kind),
            entry,
            clock,
        );
    }

    /// After a settings change: credits the open voice sessions of every
    /// guild whose filter changed up to the clock, under the filter that
    /// applied until then (a channel dropped from the allow-list keeps the
    /// seconds spent in it before), and puts the filters of the guilds with
    /// someone in voice in the shard's copy, so the next change finds them.
    /// Run before a frame is folded and at every seal.
    fn sync_settings(&mut self) {
        let Some(before) = self.settings.take_superseded() else {
            return;
        };
        let occupied: Vec<Snowflake> = self.voice.occupied_guild_ids().collect();
        let clock = self.clock.map(voice::floor_second);
        for guild_id in occupied {
            let now = self.settings.get(guild_id);
            if let (Some(clock), Some(old)) = (clock, before.get(&guild_id))
                && **old != *now
            {
                self.voice
                    .credit_guild(guild_id, old, clock, &mut self.pending.rollups);
            }
        }
    }

    /// Credits open voice sessions up to the start of their current
    /// bucket and takes the pending batch, with the checkpoint it brings
    /// the shard to.
    pub fn seal(&mut self, session: Option<(String, u64)>, resume_url: Option<String>) -> Sealed {
        self.sync_settings();
        if let Some(clock) = self.clock {
            // A kind switched off since the last event ends its incident.
            self.end_alerts(clock);
        }
        self.detectors.seal(&mut self.pending.alerts);
        self.drop_hours_done();
        if let Some(clock) = self.clock.map(voice::floor_second) {
            self.voice
                .credit_ended_buckets(&mut self.settings, clock, &mut self.pending.rollups);
        }
        let voice_open = self.voice.take_unsaved_rows();
        let mut pending = std::mem::take(&mut self.pending);
        if !pending.voice_closed.is_empty() {
            let open: HashSet<(Snowflake, Snowflake)> =
                voice_open.iter().map(|v| (v.guild_id, v.user_id)).collect();
            pending.voice_closed.retain(|key| !open.contains(key));
        }
        let (session_id, sequence) = match session {
            Some((id, seq)) => (Some(id), Some(seq as i64)),
            None => (None, None),
        };
        Sealed {
            pending,
            voice_open,
            checkpoint: ShardCheckpoint {
                shard_id: self.shard_id as i32,
                shard_total: self.shard_total as i32,
                session_id,
                sequence,
                resume_url,
            },
            last_event_at: self.clock,
        }
    }
}
