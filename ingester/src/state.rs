//! One shard's view of its guilds and the batch it is accumulating.
//!
//! Everything here is in memory and mirrors what the database holds as of
//! the last committed flush plus the events processed since; every change
//! also lands in [`Pending`], which commits in one transaction with the
//! shard's checkpoint. After a crash, loading from the database and
//! replaying the gateway from the checkpoint rebuilds the same state.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use shared::Snowflake;
use shared::db::catalogue::{ChannelRow, FirstMessage, GuildRow, MemberRow, SpanRow};
use shared::db::ingest::{ShardCheckpoint, VoiceSessionRow};
use shared::rollup::{
    AuthorKind, ChannelHourKey, MessageFacts, ReactionKey, RollupBatch, VoiceKey,
};
use shared::time::Hour;

use crate::events::*;
use crate::settings::{Filter, SettingsCache};

const THREAD_KINDS: [u8; 3] = [10, 11, 12];

#[derive(Debug, Clone, Copy)]
struct ChannelInfo {
    kind: u8,
    parent: Option<Snowflake>,
}

impl ChannelInfo {
    fn thread_parent(self) -> Option<Snowflake> {
        if THREAD_KINDS.contains(&self.kind) {
            self.parent
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct VoiceSession {
    channel: Snowflake,
    started: DateTime<Utc>,
    credited: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct GuildState {
    row: Option<GuildRow>,
    channels: HashMap<Snowflake, (ChannelInfo, ChannelRow)>,
    members: HashMap<Snowflake, MemberRow>,
    voice: HashMap<Snowflake, VoiceSession>,
    occupancy: HashMap<Snowflake, i32>,
}

/// A gap to record: the shard's guilds lost events between the two instants.
#[derive(Debug, Clone)]
pub struct Gap {
    pub guilds: Vec<Snowflake>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub reason: &'static str,
}

/// Everything one flush commits, pre-aggregated by primary key.
#[derive(Debug, Default)]
pub struct Pending {
    pub rollups: RollupBatch,
    pub guilds: HashMap<Snowflake, GuildRow>,
    pub channels: HashMap<(Snowflake, Snowflake), ChannelRow>,
    pub members: HashMap<(Snowflake, Snowflake), MemberRow>,
    pub spans: HashMap<(Snowflake, Snowflake, DateTime<Utc>), SpanRow>,
    pub first_messages: HashMap<(Snowflake, Snowflake, DateTime<Utc>), DateTime<Utc>>,
    pub voice_closed: HashSet<(Snowflake, Snowflake)>,
    pub coverage: BTreeSet<Hour>,
    pub gaps: Vec<Gap>,
    /// Gateway frames folded in (what the bounded buffer counts).
    pub frames: u64,
    /// Holds a new session's READY: commit it at once, so a crash right
    /// after cannot hide that this session existed.
    pub urgent: bool,
    /// The wall clock entered a new hour without any frame (coverage).
    pub touched: bool,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.frames == 0 && self.gaps.is_empty() && !self.touched
    }
}

/// A sealed batch: ready to commit, with the checkpoint it brings the shard to.
#[derive(Debug)]
pub struct Sealed {
    pub pending: Pending,
    pub voice_open: Vec<VoiceSessionRow>,
    pub checkpoint: ShardCheckpoint,
    pub last_event_at: Option<DateTime<Utc>>,
}

/// How one frame went.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Handled(&'static str),
    Ignored,
    Malformed(String),
}

pub struct ShardState {
    pub shard_id: u32,
    pub shard_total: u32,
    settings: Arc<SettingsCache>,
    guilds: HashMap<Snowflake, GuildState>,
    /// Time of the last event processed (scenario time when the gateway
    /// sends `sim_time_ms`, else the wall clock); never goes back.
    pub clock: Option<DateTime<Utc>>,
    /// A voice change happened at `clock`: its occupancy is observed once
    /// time moves on (so simultaneous leaves and joins net out first).
    voice_dirty: bool,
    /// `Some(true)` once frames are known to come without `sim_time_ms`
    /// (production): the wall clock then moves the clock between frames.
    pub wall_clock: Option<bool>,
    pub pending: Pending,
}

fn floor_second(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::seconds(1)).unwrap_or(t)
}

fn parse<'a, T: serde::Deserialize<'a>>(
    d: Option<&'a serde_json::value::RawValue>,
) -> Result<T, String> {
    let raw = d.ok_or_else(|| "missing d".to_owned())?;
    serde_json::from_str(raw.get()).map_err(|e| e.to_string())
}

impl ShardState {
    pub fn new(shard_id: u32, shard_total: u32, settings: Arc<SettingsCache>) -> Self {
        Self {
            shard_id,
            shard_total,
            settings,
            guilds: HashMap::new(),
            clock: None,
            voice_dirty: false,
            wall_clock: None,
            pending: Pending::default(),
        }
    }

    /// Loads the shard's guilds, channels, members and open voice sessions
    /// as of the last committed flush.
    pub async fn load(
        &mut self,
        pool: &sqlx::PgPool,
        clock: Option<DateTime<Utc>>,
    ) -> Result<(), shared::db::DbError> {
        use shared::db::{catalogue, ingest};
        self.clock = clock;
        // Occupancy at the checkpoint's instant may not have been observed.
        self.voice_dirty = clock.is_some();
        let guilds: Vec<GuildRow> = catalogue::guilds(pool)
            .await?
            .into_iter()
            .filter(|g| g.guild_id.shard(self.shard_total) == self.shard_id)
            .collect();
        let ids: Vec<Snowflake> = guilds.iter().map(|g| g.guild_id).collect();
        for g in guilds {
            let guild_id = g.guild_id;
            self.guilds.entry(guild_id).or_default().row = Some(g);
        }
        for c in catalogue::channels_of(pool, &ids).await? {
            let info = ChannelInfo {
                kind: c.kind as u8,
                parent: c.parent_id,
            };
            self.guild(c.guild_id)
                .channels
                .insert(c.channel_id, (info, c));
        }
        for m in catalogue::members_of(pool, &ids).await? {
            self.guild(m.guild_id).members.insert(m.user_id, m);
        }
        for v in ingest::voice_sessions_of(pool, &ids).await? {
            let g = self.guild(v.guild_id);
            g.voice.insert(
                v.user_id,
                VoiceSession {
                    channel: v.channel_id,
                    started: v.started_at,
                    credited: v.credited_until,
                },
            );
            *g.occupancy.entry(v.channel_id).or_default() += 1;
        }
        Ok(())
    }

    fn guild(&mut self, guild_id: Snowflake) -> &mut GuildState {
        self.guilds.entry(guild_id).or_default()
    }

    fn filter(&self, guild_id: Snowflake) -> Arc<Filter> {
        self.settings.get(guild_id)
    }

    /// Guilds of this shard the state knows.
    pub fn guild_ids(&self) -> Vec<Snowflake> {
        let mut ids: Vec<_> = self.guilds.keys().copied().collect();
        ids.sort();
        ids
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
        if now > previous {
            let crossed = Hour::containing(now) != Hour::containing(previous);
            self.advance(now);
            self.pending.touched |= crossed;
        }
    }

    /// Moves the clock to `t` (never back), observing voice occupancy at the
    /// instants left behind. Returns the event time to use.
    fn advance(&mut self, t: DateTime<Utc>) -> DateTime<Utc> {
        let Some(previous) = self.clock else {
            self.clock = Some(t);
            self.pending.coverage.insert(Hour::containing(t));
            return t;
        };
        if t <= previous {
            return previous;
        }
        if self.voice_dirty {
            self.observe_occupancy(previous);
            self.voice_dirty = false;
        }
        // Hour starts strictly between: nothing changed, occupancy carries.
        let mut hour = Hour::containing(previous).next();
        while hour.start() < t {
            self.observe_occupancy(hour.start());
            self.pending.coverage.insert(hour);
            hour = hour.next();
        }
        if hour.start() == t {
            // Occupancy at an hour's first instant, after that instant's events.
            self.voice_dirty = true;
        }
        self.pending.coverage.insert(Hour::containing(t));
        self.clock = Some(t);
        t
    }

    fn observe_occupancy(&mut self, at: DateTime<Utc>) {
        let hour = Hour::containing(at);
        let mut observations = Vec::new();
        for (guild_id, g) in &self.guilds {
            let occupied: Vec<_> = g.occupancy.iter().filter(|(_, n)| **n > 0).collect();
            if occupied.is_empty() {
                continue;
            }
            let filter = self.settings.get(*guild_id);
            if !filter.counts_at(at) {
                continue;
            }
            for (channel, n) in occupied {
                if filter.collects(*channel, None) {
                    observations.push((*guild_id, *channel, *n));
                }
            }
        }
        for (guild_id, channel_id, n) in observations {
            self.pending.rollups.observe_voice_concurrency(
                ChannelHourKey {
                    guild_id,
                    hour,
                    channel_id,
                },
                n,
            );
        }
    }

    /// Adds a voice session's seconds in `[from, to)`, split at UTC hours,
    /// when the guild counts and the channel is collected.
    fn credit(
        pending: &mut RollupBatch,
        filter: &Filter,
        guild_id: Snowflake,
        user_id: Snowflake,
        channel_id: Snowflake,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) {
        if !filter.tracked || !filter.collects(channel_id, None) {
            return;
        }
        let mut t = filter.since.map_or(from, |s| from.max(s));
        while t < to {
            let hour = Hour::containing(t);
            let end = to.min(hour.end());
            let seconds = (end - t).num_seconds() as i32;
            pending.add_voice_seconds(
                VoiceKey {
                    guild_id,
                    hour,
                    channel_id,
                    user_id,
                },
                seconds,
            );
            t = end;
        }
    }

    fn close_voice(&mut self, guild_id: Snowflake, user_id: Snowflake, at: DateTime<Utc>) {
        let filter = self.filter(guild_id);
        let g = self.guilds.entry(guild_id).or_default();
        if let Some(session) = g.voice.remove(&user_id) {
            if let Some(n) = g.occupancy.get_mut(&session.channel) {
                *n -= 1;
            }
            Self::credit(
                &mut self.pending.rollups,
                &filter,
                guild_id,
                user_id,
                session.channel,
                session.credited,
                at,
            );
            self.pending.voice_closed.insert((guild_id, user_id));
            self.voice_dirty = true;
        }
    }

    fn open_voice(
        &mut self,
        guild_id: Snowflake,
        user_id: Snowflake,
        channel: Snowflake,
        at: DateTime<Utc>,
    ) {
        let g = self.guild(guild_id);
        g.voice.insert(
            user_id,
            VoiceSession {
                channel,
                started: at,
                credited: at,
            },
        );
        *g.occupancy.entry(channel).or_default() += 1;
        self.voice_dirty = true;
    }

    fn voice_update(
        &mut self,
        guild_id: Snowflake,
        user_id: Snowflake,
        channel: Option<Snowflake>,
        at: DateTime<Utc>,
    ) {
        let at = floor_second(at);
        let current = self
            .guilds
            .get(&guild_id)
            .and_then(|g| g.voice.get(&user_id))
            .map(|s| s.channel);
        if current == channel {
            return; // mute, deafen, stream toggles: same session
        }
        if current.is_some() {
            self.close_voice(guild_id, user_id, at);
        }
        if let Some(channel) = channel {
            self.open_voice(guild_id, user_id, channel, at);
        }
    }

    fn upsert_channel(
        &mut self,
        guild_id: Snowflake,
        c: &ChannelPayload,
        deleted: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) {
        let info = ChannelInfo {
            kind: c.kind,
            parent: c.parent_id,
        };
        let g = self.guild(guild_id);
        let previous = g.channels.get(&c.id).map(|(_, row)| row.clone());
        let archived = c.thread_metadata.as_ref().is_some_and(|m| m.archived);
        let row = ChannelRow {
            guild_id,
            channel_id: c.id,
            kind: i16::from(c.kind),
            name: c
                .name
                .clone()
                .or_else(|| previous.as_ref().map(|p| p.name.clone()))
                .unwrap_or_default(),
            parent_id: c.parent_id,
            archived,
            // Archived now, or still archived since an earlier update.
            archived_at: archived.then(|| {
                previous
                    .as_ref()
                    .filter(|p| p.archived)
                    .and_then(|p| p.archived_at)
                    .unwrap_or(at)
            }),
            created_at: c.id.created_at(),
            deleted_at: deleted.or_else(|| previous.and_then(|p| p.deleted_at)),
            everyone_allow: 0,
            everyone_deny: 0,
        };
        g.channels.insert(c.id, (info, row.clone()));
        self.pending.channels.insert((guild_id, c.id), row);
    }

    fn set_member(&mut self, row: MemberRow) {
        let key = (row.guild_id, row.user_id);
        self.guild(row.guild_id)
            .members
            .insert(row.user_id, row.clone());
        self.pending.members.insert(key, row);
    }

    fn set_span(&mut self, span: SpanRow) {
        let key = (span.guild_id, span.user_id, span.joined_at);
        match self.pending.spans.get_mut(&key) {
            // Keep the rejoin flag of the first write, as the table does.
            Some(existing) => existing.left_at = span.left_at,
            None => {
                self.pending.spans.insert(key, span);
            }
        }
    }

    /// A member is present (from GUILD_CREATE or GUILD_MEMBER_ADD); returns
    /// whether this is a rejoin (the member had left before).
    fn member_present(
        &mut self,
        guild_id: Snowflake,
        user: &UserRef,
        joined_at: DateTime<Utc>,
    ) -> Option<bool> {
        let previous = self
            .guilds
            .get(&guild_id)
            .and_then(|g| g.members.get(&user.id))
            .cloned();
        if let Some(p) = &previous
            && p.left_at.is_none()
            && p.joined_at == Some(joined_at)
        {
            return None; // already known as present
        }
        let had_left = previous.as_ref().and_then(|p| p.left_at);
        if let Some(p) = &previous
            && p.left_at.is_none()
            && let Some(old) = p.joined_at
        {
            // Present with another join time: the old span ended unseen.
            self.set_span(SpanRow {
                guild_id,
                user_id: user.id,
                joined_at: old,
                left_at: Some(joined_at.max(old)),
                is_rejoin: false,
            });
        }
        self.set_member(MemberRow {
            guild_id,
            user_id: user.id,
            is_bot: user.bot,
            joined_at: Some(joined_at),
            left_at: None,
            join_count: previous.as_ref().map_or(1, |p| p.join_count + 1),
        });
        self.set_span(SpanRow {
            guild_id,
            user_id: user.id,
            joined_at,
            left_at: None,
            is_rejoin: had_left.is_some(),
        });
        Some(had_left.is_some())
    }

    fn member_left(&mut self, guild_id: Snowflake, user: &UserRef, at: DateTime<Utc>) {
        let previous = self
            .guilds
            .get(&guild_id)
            .and_then(|g| g.members.get(&user.id))
            .cloned();
        if let Some(joined) = previous.as_ref().and_then(|p| p.joined_at)
            && previous.as_ref().is_some_and(|p| p.left_at.is_none())
        {
            self.set_span(SpanRow {
                guild_id,
                user_id: user.id,
                joined_at: joined,
                left_at: Some(at),
                is_rejoin: false,
            });
        }
        self.set_member(MemberRow {
            guild_id,
            user_id: user.id,
            is_bot: user.bot || previous.as_ref().is_some_and(|p| p.is_bot),
            joined_at: previous.as_ref().and_then(|p| p.joined_at),
            left_at: Some(at),
            join_count: previous.as_ref().map_or(0, |p| p.join_count),
        });
    }

    fn set_guild(&mut self, row: GuildRow) {
        self.guild(row.guild_id).row = Some(row.clone());
        self.pending.guilds.insert(row.guild_id, row);
    }

    fn bump_member_count(&mut self, guild_id: Snowflake, delta: i32) {
        if let Some(mut row) = self.guilds.get(&guild_id).and_then(|g| g.row.clone()) {
            row.member_count = (row.member_count + delta).max(0);
            self.set_guild(row);
        }
    }

    /// Folds one gateway frame in. `arrival` is the envelope's `sim_time_ms`
    /// or the wall clock.
    pub fn apply(
        &mut self,
        t: &str,
        d: Option<&serde_json::value::RawValue>,
        arrival: DateTime<Utc>,
    ) -> Outcome {
        match self.apply_inner(t, d, arrival) {
            Ok(true) => {
                self.pending.frames += 1;
                Outcome::Handled(event_label(t))
            }
            Ok(false) => {
                self.pending.frames += 1;
                Outcome::Ignored
            }
            Err(error) => {
                self.pending.frames += 1;
                Outcome::Malformed(error)
            }
        }
    }

    fn apply_inner(
        &mut self,
        t: &str,
        d: Option<&serde_json::value::RawValue>,
        arrival: DateTime<Utc>,
    ) -> Result<bool, String> {
        match t {
            "READY" => {
                let ready: Ready = parse(d)?;
                let at = self.clock.map_or(arrival, |c| c.max(arrival));
                // A new session: whatever happened since our clock is lost.
                if let Some(since) = self.clock {
                    let mut guilds: BTreeSet<Snowflake> = self.guilds.keys().copied().collect();
                    guilds.extend(ready.guilds.iter().map(|g| g.id));
                    self.pending.gaps.push(Gap {
                        guilds: guilds.into_iter().collect(),
                        start: since,
                        end: at,
                        reason: "new gateway session: events since the last one were not replayed",
                    });
                    metrics::counter!("serverpulse_ingester_gaps_total").increment(1);
                    tracing::warn!(shard = self.shard_id, session = %ready.session_id, %since, until = %at, "resume impossible; recorded a coverage gap");
                }
                self.pending.urgent = true;
                self.advance(at);
                Ok(true)
            }
            "RESUMED" => {
                metrics::counter!("serverpulse_ingester_resumes_total").increment(1);
                self.advance(arrival);
                Ok(true)
            }
            "GUILD_CREATE" => {
                let g: GuildCreate = parse(d)?;
                let at = self.advance(arrival);
                self.guild_create(g, at);
                Ok(true)
            }
            "GUILD_UPDATE" => {
                let u: GuildUpdate = parse(d)?;
                self.advance(arrival);
                let mut row = self
                    .guilds
                    .get(&u.id)
                    .and_then(|g| g.row.clone())
                    .unwrap_or(GuildRow {
                        guild_id: u.id,
                        name: String::new(),
                        member_count: 0,
                        available: true,
                        everyone_permissions: None,
                    });
                if let Some(name) = u.name {
                    row.name = name;
                }
                self.set_guild(row);
                Ok(true)
            }
            "GUILD_DELETE" => {
                let u: GuildDelete = parse(d)?;
                self.advance(arrival);
                if let Some(mut row) = self.guilds.get(&u.id).and_then(|g| g.row.clone()) {
                    row.available = false;
                    self.set_guild(row);
                }
                Ok(true)
            }
            "CHANNEL_CREATE" | "CHANNEL_UPDATE" | "THREAD_CREATE" | "THREAD_UPDATE" => {
                let c: ChannelPayload = parse(d)?;
                let at = self.advance(arrival);
                let Some(guild_id) = c.guild_id else {
                    return Ok(false);
                };
                self.upsert_channel(guild_id, &c, None, at);
                if t == "THREAD_CREATE" && c.newly_created == Some(true) {
                    let filter = self.filter(guild_id);
                    if filter.counts_at(at) && filter.collects(c.id, c.parent_id) {
                        self.pending
                            .rollups
                            .add_thread_created(guild_id, Hour::containing(at));
                    }
                }
                Ok(true)
            }
            "CHANNEL_DELETE" | "THREAD_DELETE" => {
                let c: ChannelPayload = parse(d)?;
                let at = self.advance(arrival);
                let Some(guild_id) = c.guild_id else {
                    return Ok(false);
                };
                self.upsert_channel(guild_id, &c, Some(at), at);
                Ok(true)
            }
            "THREAD_LIST_SYNC" => {
                let s: ThreadListSync = parse(d)?;
                let at = self.advance(arrival);
                for c in &s.threads {
                    self.upsert_channel(s.guild_id, c, None, at);
                }
                Ok(true)
            }
            "MESSAGE_CREATE" => {
                let m: MessageCreate = parse(d)?;
                self.advance(arrival);
                let Some(guild_id) = m.guild_id else {
                    return Ok(false); // direct messages are not guild statistics
                };
                self.message(guild_id, &m);
                Ok(true)
            }
            "MESSAGE_DELETE" | "MESSAGE_DELETE_BULK" => {
                let (guild_id, channel_id, count, bulk) = if t == "MESSAGE_DELETE" {
                    let m: MessageDelete = parse(d)?;
                    (m.guild_id, m.channel_id, 1, false)
                } else {
                    let m: MessageDeleteBulk = parse(d)?;
                    (m.guild_id, m.channel_id, m.ids.len() as i32, true)
                };
                let at = self.advance(arrival);
                let Some(guild_id) = guild_id else {
                    return Ok(false);
                };
                let filter = self.filter(guild_id);
                let parent = self.thread_parent(guild_id, channel_id);
                if filter.counts_at(at) && filter.collects(channel_id, parent) {
                    self.pending.rollups.add_deletions(
                        ChannelHourKey {
                            guild_id,
                            hour: Hour::containing(at),
                            channel_id,
                        },
                        count,
                        bulk,
                    );
                }
                Ok(true)
            }
            "MESSAGE_REACTION_ADD" | "MESSAGE_REACTION_REMOVE" => {
                let r: Reaction = parse(d)?;
                let at = self.advance(arrival);
                let Some(guild_id) = r.guild_id else {
                    return Ok(false);
                };
                let filter = self.filter(guild_id);
                let parent = self.thread_parent(guild_id, r.channel_id);
                if filter.counts_at(at) && filter.collects(r.channel_id, parent) {
                    self.pending.rollups.add_reaction(
                        ReactionKey {
                            guild_id,
                            hour: Hour::containing(at),
                            channel_id: r.channel_id,
                            user_id: r.user_id,
                            receiver_id: r.message_author_id.unwrap_or_default(),
                            emoji: r.emoji.key(),
                        },
                        t == "MESSAGE_REACTION_ADD",
                    );
                }
                Ok(true)
            }
            "GUILD_MEMBER_ADD" => {
                let m: MemberAdd = parse(d)?;
                let at = self.advance(arrival);
                let joined = m.joined_at.unwrap_or(at);
                let filter = self.filter(m.guild_id);
                let previous_leave = self
                    .guilds
                    .get(&m.guild_id)
                    .and_then(|g| g.members.get(&m.user.id))
                    .and_then(|p| p.left_at);
                if self.member_present(m.guild_id, &m.user, joined).is_some() {
                    self.bump_member_count(m.guild_id, 1);
                    if filter.counts_at(joined) {
                        // A rejoin follows a leave seen while tracking.
                        let rejoin =
                            previous_leave.is_some_and(|l| filter.since.is_none_or(|s| l >= s));
                        self.pending
                            .rollups
                            .add_join(m.guild_id, Hour::containing(joined), rejoin);
                    }
                }
                Ok(true)
            }
            "GUILD_MEMBER_REMOVE" => {
                let m: MemberRemove = parse(d)?;
                let at = self.advance(arrival);
                let filter = self.filter(m.guild_id);
                self.member_left(m.guild_id, &m.user, at);
                self.bump_member_count(m.guild_id, -1);
                if filter.counts_at(at) {
                    self.pending
                        .rollups
                        .add_leave(m.guild_id, Hour::containing(at));
                }
                Ok(true)
            }
            "VOICE_STATE_UPDATE" => {
                let v: VoiceStatePayload = parse(d)?;
                let at = self.advance(arrival);
                let Some(guild_id) = v.guild_id else {
                    return Ok(false);
                };
                self.voice_update(guild_id, v.user_id, v.channel_id, at);
                Ok(true)
            }
            _ => {
                self.advance(arrival);
                Ok(false)
            }
        }
    }

    fn thread_parent(&self, guild_id: Snowflake, channel_id: Snowflake) -> Option<Snowflake> {
        self.guilds
            .get(&guild_id)
            .and_then(|g| g.channels.get(&channel_id))
            .and_then(|(info, _)| info.thread_parent())
    }

    fn message(&mut self, guild_id: Snowflake, m: &MessageCreate) {
        let at = m.id.created_at();
        let filter = self.filter(guild_id);
        let parent = self.thread_parent(guild_id, m.channel_id);
        if !filter.counts_at(at) || !filter.collects(m.channel_id, parent) {
            return;
        }
        let (author_id, author_kind) = match m.webhook_id {
            Some(webhook) => (webhook, AuthorKind::Webhook),
            None if m.author.bot => (m.author.id, AuthorKind::Bot),
            None => (m.author.id, AuthorKind::Member),
        };
        self.pending.rollups.add_message(MessageFacts {
            guild_id,
            hour: Hour::containing(at),
            channel_id: m.channel_id,
            thread_parent_id: parent,
            author_id,
            author_kind,
            attachments: m.attachments.len() as i32,
            embeds: m.embeds.len() as i32,
            stickers: m.sticker_items.len() as i32,
        });
        if author_kind != AuthorKind::Webhook
            && let Some(joined) = self
                .guilds
                .get(&guild_id)
                .and_then(|g| g.members.get(&author_id))
                .filter(|p| p.left_at.is_none())
                .and_then(|p| p.joined_at)
            && joined <= at
        {
            let first = self
                .pending
                .first_messages
                .entry((guild_id, author_id, joined))
                .or_insert(at);
            *first = (*first).min(at);
        }
    }

    fn guild_create(&mut self, g: GuildCreate, at: DateTime<Utc>) {
        if g.unavailable == Some(true) {
            return;
        }
        let guild_id = g.id;
        let known = self.guilds.get(&guild_id).and_then(|s| s.row.clone());
        self.set_guild(GuildRow {
            guild_id,
            name: g
                .name
                .clone()
                .or_else(|| known.as_ref().map(|k| k.name.clone()))
                .unwrap_or_default(),
            member_count: g.member_count.map_or(g.members.len() as i32, |c| c as i32),
            available: true,
            everyone_permissions: None,
        });
        for c in g.channels.iter().chain(&g.threads) {
            self.upsert_channel(guild_id, c, None, at);
        }
        // Members: the list is complete only for small guilds.
        let complete = g
            .member_count
            .is_none_or(|count| g.members.len() as i64 >= count);
        let present: HashSet<Snowflake> = g.members.iter().map(|m| m.user.id).collect();
        for m in &g.members {
            if let Some(joined) = m.joined_at {
                self.member_present(guild_id, &m.user, joined);
            }
        }
        if complete {
            let gone: Vec<MemberRow> = self
                .guilds
                .get(&guild_id)
                .map(|s| {
                    s.members
                        .values()
                        .filter(|m| m.left_at.is_none() && !present.contains(&m.user_id))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            for m in gone {
                // Left while we were away: catalogue only, not a counted leave.
                let user = UserRef {
                    id: m.user_id,
                    bot: m.is_bot,
                };
                self.member_left(guild_id, &user, at);
            }
        }
        // Voice: GUILD_CREATE is the truth about who is in voice right now.
        let now_in: HashMap<Snowflake, Snowflake> = g
            .voice_states
            .iter()
            .filter_map(|v| v.channel_id.map(|c| (v.user_id, c)))
            .collect();
        let stale: Vec<Snowflake> = self
            .guilds
            .get(&guild_id)
            .map(|s| {
                s.voice
                    .iter()
                    .filter(|(u, v)| now_in.get(u) != Some(&v.channel))
                    .map(|(u, _)| *u)
                    .collect()
            })
            .unwrap_or_default();
        let at_second = floor_second(at);
        for user in stale {
            self.close_voice(guild_id, user, at_second);
        }
        for (user, channel) in now_in {
            let open = self
                .guilds
                .get(&guild_id)
                .is_some_and(|s| s.voice.contains_key(&user));
            if !open {
                self.open_voice(guild_id, user, channel, at_second);
            }
        }
    }

    /// Credits open voice sessions up to the clock and takes the pending
    /// batch, with the checkpoint it brings the shard to.
    pub fn seal(&mut self, session: Option<(String, u64)>, resume_url: Option<String>) -> Sealed {
        if let Some(clock) = self.clock.map(floor_second) {
            let mut credits = Vec::new();
            for (guild_id, g) in &mut self.guilds {
                for (user_id, v) in &mut g.voice {
                    if v.credited < clock {
                        credits.push((*guild_id, *user_id, v.channel, v.credited, clock));
                        v.credited = clock;
                    }
                }
            }
            for (guild_id, user_id, channel, from, to) in credits {
                let filter = self.filter(guild_id);
                Self::credit(
                    &mut self.pending.rollups,
                    &filter,
                    guild_id,
                    user_id,
                    channel,
                    from,
                    to,
                );
            }
        }
        let mut voice_open = Vec::new();
        for (guild_id, g) in &self.guilds {
            for (user_id, v) in &g.voice {
                voice_open.push(VoiceSessionRow {
                    guild_id: *guild_id,
                    user_id: *user_id,
                    channel_id: v.channel,
                    started_at: v.started,
                    credited_until: v.credited,
                });
            }
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending
            .voice_closed
            .retain(|key| !voice_open.iter().any(|v| (v.guild_id, v.user_id) == *key));
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

    /// First messages to record, as rows.
    pub fn first_message_rows(pending: &Pending) -> Vec<FirstMessage> {
        pending
            .first_messages
            .iter()
            .map(|((guild_id, user_id, joined_at), at)| FirstMessage {
                guild_id: *guild_id,
                user_id: *user_id,
                joined_at: *joined_at,
                at: *at,
            })
            .collect()
    }
}

/// A `'static` label for the events-by-type metric.
fn event_label(t: &str) -> &'static str {
    match t {
        "READY" => "READY",
        "RESUMED" => "RESUMED",
        "GUILD_CREATE" => "GUILD_CREATE",
        "GUILD_UPDATE" => "GUILD_UPDATE",
        "GUILD_DELETE" => "GUILD_DELETE",
        "CHANNEL_CREATE" => "CHANNEL_CREATE",
        "CHANNEL_UPDATE" => "CHANNEL_UPDATE",
        "CHANNEL_DELETE" => "CHANNEL_DELETE",
        "THREAD_CREATE" => "THREAD_CREATE",
        "THREAD_UPDATE" => "THREAD_UPDATE",
        "THREAD_DELETE" => "THREAD_DELETE",
        "THREAD_LIST_SYNC" => "THREAD_LIST_SYNC",
        "MESSAGE_CREATE" => "MESSAGE_CREATE",
        "MESSAGE_DELETE" => "MESSAGE_DELETE",
        "MESSAGE_DELETE_BULK" => "MESSAGE_DELETE_BULK",
        "MESSAGE_REACTION_ADD" => "MESSAGE_REACTION_ADD",
        "MESSAGE_REACTION_REMOVE" => "MESSAGE_REACTION_REMOVE",
        "GUILD_MEMBER_ADD" => "GUILD_MEMBER_ADD",
        "GUILD_MEMBER_REMOVE" => "GUILD_MEMBER_REMOVE",
        "VOICE_STATE_UPDATE" => "VOICE_STATE_UPDATE",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::value::RawValue;

    const GUILD: Snowflake = Snowflake(100);

    fn state() -> ShardState {
        let settings = Arc::new(SettingsCache::default());
        settings.set(
            GUILD,
            Filter {
                tracked: true,
                since: None,
                allow: None,
            },
        );
        ShardState::new(0, 1, settings)
    }

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, m, s).unwrap()
    }

    fn voice(state: &mut ShardState, user: u64, channel: Option<u64>, when: DateTime<Utc>) {
        let d = serde_json::json!({
            "guild_id": "100", "user_id": user.to_string(),
            "channel_id": channel.map(|c| c.to_string()),
            "session_id": "s", "deaf": false, "mute": false, "self_deaf": false,
            "self_mute": false, "self_video": false, "suppress": false,
        })
        .to_string();
        let raw = RawValue::from_string(d).unwrap();
        assert_eq!(
            state.apply("VOICE_STATE_UPDATE", Some(&raw), when),
            Outcome::Handled("VOICE_STATE_UPDATE")
        );
    }

    fn peak(state: &ShardState, channel: u64, hour: DateTime<Utc>) -> Option<i32> {
        state
            .pending
            .rollups
            .voice_peaks
            .get(&ChannelHourKey {
                guild_id: GUILD,
                hour: Hour::containing(hour),
                channel_id: Snowflake(channel),
            })
            .copied()
    }

    #[test]
    fn voice_seconds_split_at_hours_and_moves_end_sessions() {
        let mut s = state();
        voice(&mut s, 1, Some(7), at(10, 59, 30));
        voice(&mut s, 1, Some(7), at(11, 0, 10)); // mute toggle: same channel
        voice(&mut s, 1, Some(8), at(11, 0, 40)); // move
        voice(&mut s, 1, None, at(11, 1, 0));
        let seconds = |channel: u64, h: u32| {
            s.pending
                .rollups
                .voice_seconds
                .get(&VoiceKey {
                    guild_id: GUILD,
                    hour: Hour::containing(at(h, 0, 0)),
                    channel_id: Snowflake(channel),
                    user_id: Snowflake(1),
                })
                .copied()
        };
        assert_eq!(seconds(7, 10), Some(30));
        assert_eq!(seconds(7, 11), Some(40));
        assert_eq!(seconds(8, 11), Some(20));
    }

    #[test]
    fn a_leave_and_a_join_at_the_same_instant_never_overlap() {
        let mut s = state();
        voice(&mut s, 1, Some(7), at(10, 0, 5));
        voice(&mut s, 2, Some(7), at(10, 20, 0)); // joins first, same instant
        voice(&mut s, 1, None, at(10, 20, 0));
        voice(&mut s, 2, None, at(12, 30, 0));
        assert_eq!(peak(&s, 7, at(10, 0, 0)), Some(1));
        assert_eq!(
            peak(&s, 7, at(11, 0, 0)),
            Some(1),
            "present through an hour"
        );
        assert_eq!(peak(&s, 7, at(12, 0, 0)), Some(1));
        assert_eq!(peak(&s, 7, at(13, 0, 0)), None);
    }

    #[test]
    fn the_wall_clock_covers_quiet_hours_and_observes_who_stays_in_voice() {
        let mut s = state();
        s.wall_clock = Some(true);
        voice(&mut s, 1, Some(7), at(10, 50, 0));
        let _ = s.seal(None, None);
        s.touch(at(10, 55, 0));
        assert!(s.pending.is_empty(), "same hour, nothing to write");
        s.touch(at(12, 5, 0));
        assert!(!s.pending.is_empty());
        assert!(
            s.pending
                .coverage
                .contains(&Hour::containing(at(11, 30, 0)))
        );
        assert_eq!(peak(&s, 7, at(11, 0, 0)), Some(1));
        assert_eq!(peak(&s, 7, at(12, 0, 0)), Some(1));
        let mut replay = state();
        replay.touch(at(12, 0, 0));
        assert!(
            replay.pending.is_empty(),
            "simulated time is never moved by the wall clock"
        );
    }

    #[test]
    fn malformed_payloads_are_reported_and_the_state_goes_on() {
        let mut s = state();
        let raw = RawValue::from_string(r#"{"channel_id": 5}"#.to_owned()).unwrap();
        assert!(matches!(
            s.apply("MESSAGE_CREATE", Some(&raw), at(9, 0, 0)),
            Outcome::Malformed(_)
        ));
        assert!(matches!(
            s.apply("MESSAGE_DELETE", None, at(9, 0, 1)),
            Outcome::Malformed(_)
        ));
        voice(&mut s, 1, Some(7), at(9, 0, 2));
        assert_eq!(
            s.apply("SOMETHING_NEW", None, at(9, 0, 3)),
            Outcome::Ignored
        );
    }
}
