//! Open voice sessions and channel occupancy of a shard's guilds.
//!
//! A session runs from a join or move to a leave or move; its seconds are
//! credited to the batch, split at the guild's bucket edges (its local
//! hours; UTC hours in whole-hour zones), when it ends and, while it is
//! open, once a bucket it spans has ended (at the first seal after the
//! bucket's end) or the guild's settings change. An open session's row
//! (`voice_sessions`, with the instant it is credited until) is written
//! only when it opens or its credit moves, not at every seal: rewriting
//! every open session's rollup and session rows each second made the WAL
//! grow with the people in voice rather than with the events. A restart
//! resumes crediting from the stored instant, so nothing is lost or
//! counted twice. Occupancy is observed into the batch's peak concurrency
//! when the clock leaves an instant, so that all updates of one instant
//! net out first.

use std::collections::HashMap as StdHashMap;

use foldhash::HashMap;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use shared::Snowflake;
use shared::db::ingest::VoiceSessionRow;
use shared::rollup::{ChannelHourKey, GuildHourKey, RollupBatch, VoiceKey};

use super::batch::Pending;
use crate::settings::{Filter, ShardFilters};

pub fn floor_second(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::seconds(1)).unwrap_or(t)
}

#[derive(Debug, Clone, Copy)]
struct Session {
    channel: Snowflake,
    started: DateTime<Utc>,
    /// Seconds before this instant are in the rollups.
    credited: DateTime<Utc>,
    /// The user is a bot account: its seconds are the bots' share of the
    /// guild's voice time, and it counts only in peaks with bots.
    bot: bool,
    /// The stored row (`voice_sessions`) is not this session as it is now
    /// (new, moved, or credited further): the next seal writes it.
    unsaved: bool,
}

#[derive(Debug, Default)]
struct GuildVoice {
    sessions: HashMap<Snowflake, Session>,
    occupancy: HashMap<Snowflake, i32>,
    /// Observed with nobody in voice since its last session ended: until
    /// someone joins, observing it again adds nothing (no peak, and the
    /// surge detector already saw its zero), so [`VoiceSessions::observe`]
    /// skips it.
    observed_empty: bool,
}

/// People in voice in one guild at one instant (bots left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildPeople {
    pub guild_id: Snowflake,
    pub people: u32,
    /// People per channel, most first.
    pub channels: Vec<(Snowflake, u32)>,
}

#[derive(Debug, Default)]
pub struct VoiceSessions {
    guilds: HashMap<Snowflake, GuildVoice>,
    /// Occupancy changed at the clock's instant and is observed once time
    /// moves on (so simultaneous leaves and joins net out first).
    unobserved: bool,
    /// Bumped whenever a guild without anyone in voice gets someone.
    occupied_generation: u64,
}

impl VoiceSessions {
    /// A session open at the last committed flush; `bot`: the user is a
    /// bot account.
    pub fn restore(&mut self, row: &VoiceSessionRow, bot: bool) {
        self.open_session(
            row.guild_id,
            row.user_id,
            Session {
                channel: row.channel_id,
                started: row.started_at,
                credited: row.credited_until,
                bot,
                unsaved: false,
            },
        );
    }

    pub fn guild_ids(&self) -> impl Iterator<Item = Snowflake> + '_ {
        self.guilds.keys().copied()
    }

    /// Guilds with someone in voice.
    pub fn occupied_guild_ids(&self) -> impl Iterator<Item = Snowflake> + '_ {
        self.guilds
            .iter()
            .filter(|(_, g)| !g.sessions.is_empty())
            .map(|(id, _)| *id)
    }

    /// Moves whenever a guild without anyone in voice gets someone (so the
    /// set of [`VoiceSessions::occupied_guild_ids`] may have grown).
    pub fn occupied_generation(&self) -> u64 {
        self.occupied_generation
    }

    /// Occupancy at the clock's instant is to be observed when it moves on.
    pub fn mark_unobserved(&mut self) {
        self.unobserved = true;
    }

    /// Whether occupancy at the clock's instant awaits observation; clears it.
    pub fn take_unobserved(&mut self) -> bool {
        std::mem::take(&mut self.unobserved)
    }

    /// A VOICE_STATE_UPDATE: `channel` is where the user is now (`None`:
    /// left voice). Mute, deafen and streaming keep the session. `is_bot`
    /// tells bot accounts (of a guild) apart.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        settings: &mut ShardFilters,
        pending: &mut Pending,
        guild_id: Snowflake,
        user_id: Snowflake,
        channel: Option<Snowflake>,
        at: DateTime<Utc>,
        is_bot: &dyn Fn(Snowflake, Snowflake) -> bool,
    ) {
        let at = floor_second(at);
        let current = self
            .guilds
            .get(&guild_id)
            .and_then(|g| g.sessions.get(&user_id))
            .map(|s| s.channel);
        if current == channel {
            return; // mute, deafen, stream toggles: same session
        }
        if current.is_some() {
            self.close(&settings.get(guild_id), pending, guild_id, user_id, at);
        }
        if let Some(channel) = channel {
            // Keeps the guild's filter in the shard's copy: a settings
            // change credits its open sessions with the filter before it.
            settings.get(guild_id);
            self.open(guild_id, user_id, channel, at, is_bot(guild_id, user_id));
        }
    }

    /// GUILD_CREATE's voice states (user → channel) are the truth about who
    /// is in voice now: sessions that disagree end, missing ones open.
    pub fn replace_guild(
        &mut self,
        filter: &Filter,
        pending: &mut Pending,
        guild_id: Snowflake,
        now_in: &StdHashMap<Snowflake, Snowflake>,
        at: DateTime<Utc>,
        is_bot: &dyn Fn(Snowflake, Snowflake) -> bool,
    ) {
        let at = floor_second(at);
        let stale: Vec<Snowflake> = self
            .guilds
            .get(&guild_id)
            .map(|g| {
                g.sessions
                    .iter()
                    .filter(|(u, s)| now_in.get(u) != Some(&s.channel))
                    .map(|(u, _)| *u)
                    .collect()
            })
            .unwrap_or_default();
        for user in stale {
            self.close(filter, pending, guild_id, user, at);
        }
        for (user, channel) in now_in {
            let open = self
                .guilds
                .get(&guild_id)
                .is_some_and(|g| g.sessions.contains_key(user));
            if !open {
                self.open(guild_id, *user, *channel, at, is_bot(guild_id, *user));
            }
        }
    }

    fn open_session(&mut self, guild_id: Snowflake, user_id: Snowflake, session: Session) {
        let g = self.guilds.entry(guild_id).or_default();
        if g.sessions.is_empty() {
            self.occupied_generation += 1;
        }
        g.observed_empty = false;
        *g.occupancy.entry(session.channel).or_default() += 1;
        g.sessions.insert(user_id, session);
    }

    fn open(
        &mut self,
        guild_id: Snowflake,
        user_id: Snowflake,
        channel: Snowflake,
        at: DateTime<Utc>,
        bot: bool,
    ) {
        self.open_session(
            guild_id,
            user_id,
            Session {
                channel,
                started: at,
                credited: at,
                bot,
                unsaved: true,
            },
        );
        self.unobserved = true;
    }

    fn close(
        &mut self,
        filter: &Filter,
        pending: &mut Pending,
        guild_id: Snowflake,
        user_id: Snowflake,
        at: DateTime<Utc>,
    ) {
        let g = self.guilds.entry(guild_id).or_default();
        if let Some(session) = g.sessions.remove(&user_id) {
            if let Some(n) = g.occupancy.get_mut(&session.channel) {
                *n -= 1;
            }
            credit(
                &mut pending.rollups,
                filter,
                (guild_id, user_id, session.bot),
                session.channel,
                session.credited,
                at,
            );
            pending.voice_closed.insert((guild_id, user_id));
            self.unobserved = true;
        }
    }

    /// Records the occupancy of every collected, counted channel at `at`
    /// into the peak concurrency of its guild's bucket (with and without bots), and
    /// the people in voice in each guild (bots left out) into the guild's
    /// hourly peak. Returns the people of every counted guild at `at`, with
    /// the people per channel; a guild nobody is in voice in is returned
    /// once after it empties, not at every observation.
    pub fn observe(
        &mut self,
        settings: &mut ShardFilters,
        at: DateTime<Utc>,
        rollups: &mut RollupBatch,
    ) -> Vec<GuildPeople> {
        let mut out = Vec::new();
        for (guild_id, g) in &mut self.guilds {
            if g.observed_empty {
                continue;
            }
            let filter = settings.get(*guild_id);
            if !filter.counts_at(at) {
                continue;
            }
            g.observed_empty = g.sessions.is_empty();
            let hour = filter.bucket(at);
            let mut channels: HashMap<Snowflake, u32> = HashMap::default();
            for s in g.sessions.values() {
                if filter.collects(s.channel, None) && !s.bot {
                    *channels.entry(s.channel).or_default() += 1;
                }
            }
            for (channel, n) in g.occupancy.iter().filter(|(_, n)| **n > 0) {
                if filter.collects(*channel, None) {
                    let members = channels.get(channel).copied().unwrap_or(0);
                    rollups.observe_voice_concurrency(
                        ChannelHourKey {
                            guild_id: *guild_id,
                            hour,
                            channel_id: *channel,
                        },
                        *n,
                        members as i32,
                    );
                }
            }
            let people: u32 = channels.values().sum();
            if people > 0 {
                rollups.observe_guild_voice(
                    GuildHourKey {
                        guild_id: *guild_id,
                        hour,
                    },
                    people as i32,
                );
            }
            let mut channels: Vec<(Snowflake, u32)> = channels.into_iter().collect();
            channels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            out.push(GuildPeople {
                guild_id: *guild_id,
                people,
                channels,
            });
        }
        out
    }

    /// Credits every open session up to the start of its guild's bucket
    /// containing `clock` (whole seconds): the buckets that ended get
    /// their seconds, the one under way waits for its end or the
    /// session's.
    pub fn credit_ended_buckets(
        &mut self,
        settings: &mut ShardFilters,
        clock: DateTime<Utc>,
        rollups: &mut RollupBatch,
    ) {
        for (guild_id, g) in &mut self.guilds {
            if g.sessions.is_empty() {
                continue;
            }
            let filter = settings.get(*guild_id);
            let until = filter.bucket(clock).start();
            credit_sessions(rollups, &filter, *guild_id, g, until);
        }
    }

    /// Credits the open sessions of one guild up to `clock` (whole
    /// seconds) under `filter`: what applied until its settings changed.
    pub fn credit_guild(
        &mut self,
        guild_id: Snowflake,
        filter: &Filter,
        clock: DateTime<Utc>,
        rollups: &mut RollupBatch,
    ) {
        if let Some(g) = self.guilds.get_mut(&guild_id) {
            credit_sessions(rollups, filter, guild_id, g, clock);
        }
    }

    /// The open sessions whose stored row is out of date, as rows to store
    /// (then counted as stored).
    pub fn take_unsaved_rows(&mut self) -> Vec<VoiceSessionRow> {
        let mut rows = Vec::new();
        for (guild_id, g) in &mut self.guilds {
            for (user_id, s) in &mut g.sessions {
                if std::mem::take(&mut s.unsaved) {
                    rows.push(VoiceSessionRow {
                        guild_id: *guild_id,
                        user_id: *user_id,
                        channel_id: s.channel,
                        started_at: s.started,
                        credited_until: s.credited,
                    });
                }
            }
        }
        rows
    }
}

/// Credits a guild's open sessions up to `until`.
fn credit_sessions(
    rollups: &mut RollupBatch,
    filter: &Filter,
    guild_id: Snowflake,
    g: &mut GuildVoice,
    until: DateTime<Utc>,
) {
    for (user_id, s) in &mut g.sessions {
        if s.credited < until {
            credit(
                rollups,
                filter,
                (guild_id, *user_id, s.bot),
                s.channel,
                s.credited,
                until,
            );
            s.credited = until;
            s.unsaved = true;
        }
    }
}

/// Adds a voice session's seconds in `[from, to)`, split at the guild's
/// bucket edges (its local hours),
/// when the guild counts and the channel is collected. `who`: guild, user,
/// and whether the user is a bot account.
fn credit(
    rollups: &mut RollupBatch,
    filter: &Filter,
    (guild_id, user_id, bot): (Snowflake, Snowflake, bool),
    channel_id: Snowflake,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) {
    if !filter.tracked || !filter.collects(channel_id, None) {
        return;
    }
    let mut t = filter.since.map_or(from, |s| from.max(s));
    while t < to {
        let hour = filter.bucket(t);
        let end = to.min(filter.bucketing.end(hour));
        let seconds = (end - t).num_seconds() as i32;
        rollups.add_voice_seconds(
            VoiceKey {
                guild_id,
                hour,
                channel_id,
                user_id,
            },
            seconds,
            bot,
        );
        t = end;
    }
}
