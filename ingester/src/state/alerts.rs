//! Alert detection on the fold's ordered stream: join raids and mass
//! deletions (sliding windows of counted events) and voice surges (people
//! in voice against the usual peak). Activity drops are evaluated by the
//! flush (`flush.rs`), which reads the hour's rollups; this module only
//! hands it the hours that ended ([`DropEvaluation`]).
//!
//! Each guild has one [`CountWindow`] per kind: the recent events (a sliding
//! window by event time), the ongoing incident if any, and when the last
//! one ended (the cooldown). Every change it reports lands in the batch as
//! an [`IncidentWrite`], and the changed windows are saved with the batch
//! (`alert_windows`), so after a crash the loaded windows and the gateway's
//! replay from the checkpoint rebuild exactly the same incidents.
//!
//! Times: an incident's times are kept to the millisecond (what PostgreSQL
//! stores exactly and what the simulator sends), because the flush finds
//! the stored incident again by its `detected_at`.

use std::collections::{BTreeSet, HashMap, VecDeque};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use shared::Snowflake;
use shared::alerts::{
    AlertKind, AlertSettings, Delivery, Incident, IncidentDetail, surge_threshold,
};
use shared::db::alerts::AlertWindow;

use super::voice::GuildPeople;

/// A raid's context: the joins from this long before the crossing to the
/// start of the crossing window.
pub const JOINS_BEFORE: TimeDelta = TimeDelta::minutes(2);

/// An account younger than this at its join counts as young.
pub const YOUNG_ACCOUNT: TimeDelta = TimeDelta::days(7);

/// What one counted event says beyond its time and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Fact {
    /// A join (counted once).
    Join { young: bool, default_avatar: bool },
    /// Deleted messages of one channel (a single delete or one bulk).
    Deletion { channel: Snowflake, bulk: bool },
}

/// One event in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub at: DateTime<Utc>,
    /// Joins: 1. Deletions: messages deleted.
    pub n: u32,
    pub fact: Fact,
}

/// An incident while it goes on (and as it ended).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ongoing {
    pub started_at: DateTime<Utc>,
    pub detected_at: DateTime<Utc>,
    pub last_event_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub count: u32,
    pub detail: IncidentDetail,
}

impl Ongoing {
    /// The incident as the database stores it (id and delivery are the
    /// flush's to assign).
    pub fn incident(&self, guild_id: Snowflake, kind: AlertKind) -> Incident {
        Incident {
            guild_id,
            incident_id: 0,
            kind,
            started_at: self.started_at,
            detected_at: self.detected_at,
            last_event_at: self.last_event_at,
            ended_at: self.ended_at,
            count: i32::try_from(self.count).unwrap_or(i32::MAX),
            detail: self.detail.clone(),
            delivery: Delivery::NoChannel,
        }
    }

    fn absorb(&mut self, entry: &Entry) {
        self.count += entry.n;
        self.last_event_at = self.last_event_at.max(entry.at);
        add_to_detail(&mut self.detail, entry);
    }
}

/// What a window reports to the batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Opened(Ongoing),
    Grew(Ongoing),
    Ended(Ongoing),
}

/// A kind's sliding window in one guild.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CountWindow {
    /// Events of the last window (joins: plus [`JOINS_BEFORE`]), oldest first.
    pub entries: VecDeque<Entry>,
    pub ongoing: Option<Ongoing>,
    /// When the last incident of the kind ended (the cooldown starts there).
    pub last_ended_at: Option<DateTime<Utc>>,
    /// Voice surge: people in voice are at or above the threshold now (the
    /// incident cannot end while they are).
    #[serde(default)]
    pub above: bool,
}

/// To the millisecond (see the module's "Times").
pub fn to_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

impl CountWindow {
    /// Counts an event at `entry.at` (join time or arrival) with the
    /// ingester's clock at `clock`. A kind not active at the event's time
    /// counts nothing (not even later: a snooze's events never fire).
    pub fn record(
        &mut self,
        settings: &AlertSettings,
        mut entry: Entry,
        clock: DateTime<Utc>,
    ) -> Option<Change> {
        if entry.n == 0 || !settings.is_active(entry.at) {
            return None;
        }
        entry.at = to_ms(entry.at);
        let position = self.entries.partition_point(|e| e.at <= entry.at);
        self.entries.insert(position, entry);
        let newest = self.entries.back().map_or(entry.at, |e| e.at);
        // A raid's context reaches 2 minutes further back.
        let context = match entry.fact {
            Fact::Join { .. } => JOINS_BEFORE,
            Fact::Deletion { .. } => TimeDelta::zero(),
        };
        let keep_from = newest - settings.window() - context;
        while self.entries.front().is_some_and(|e| e.at < keep_from) {
            self.entries.pop_front();
        }
        if let Some(ongoing) = &mut self.ongoing {
            ongoing.absorb(&entry);
            return Some(Change::Grew(ongoing.clone()));
        }
        let clock = to_ms(clock);
        if self
            .last_ended_at
            .is_some_and(|ended| clock < ended + settings.cooldown())
        {
            return None;
        }
        // The window of `window_secs` that ends at this event: (t − window, t].
        let from = entry.at - settings.window();
        let window: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.at > from && e.at <= entry.at)
            .collect();
        let count: u32 = window.iter().map(|e| e.n).sum();
        if count < settings.count_threshold() {
            return None;
        }
        let started_at = window.first().map_or(entry.at, |e| e.at);
        let mut detail = empty_detail(&entry.fact);
        for e in &window {
            add_to_detail(&mut detail, e);
        }
        let detected_at = clock.max(started_at);
        if let IncidentDetail::JoinRaid { joins_before, .. } = &mut detail {
            *joins_before = self
                .entries
                .iter()
                .filter(|e| e.at >= detected_at - JOINS_BEFORE && e.at < started_at)
                .map(|e| e.n)
                .sum();
        }
        let ongoing = Ongoing {
            started_at,
            detected_at,
            last_event_at: entry.at,
            ended_at: None,
            count,
            detail,
        };
        self.ongoing = Some(ongoing.clone());
        Some(Change::Opened(ongoing))
    }

    /// Ends the ongoing incident once the clock is past a quiet period
    /// after its last event (`ended_at` = last event + quiet, the same under
    /// any replay), or at the clock when the kind was switched off or
    /// snoozed.
    pub fn tick(&mut self, settings: &AlertSettings, clock: DateTime<Utc>) -> Option<Change> {
        let ongoing = self.ongoing.as_ref()?;
        if self.above && settings.is_active(clock) {
            return None;
        }
        let quiet_end = ongoing.last_event_at + settings.quiet();
        // An event at the quiet period's last instant still belongs to it.
        let ended_at = if clock > quiet_end {
            quiet_end
        } else if !settings.is_active(clock) {
            to_ms(clock).max(ongoing.last_event_at)
        } else {
            return None;
        };
        let mut ongoing = self.ongoing.take()?;
        self.above = false;
        ongoing.ended_at = Some(ended_at);
        self.last_ended_at = Some(ended_at);
        // Its events never count toward the next incident.
        let last = ongoing.last_event_at;
        self.entries.retain(|e| e.at > last);
        Some(Change::Ended(ongoing))
    }
}

impl CountWindow {
    /// Voice surge: `people` in voice at instant `at`, against the usual
    /// peak of `at`'s hour. Starts an incident when they reach
    /// [`surge_threshold`]; it grows with a higher peak, and its last event
    /// is the last moment at or above the threshold.
    pub fn people(
        &mut self,
        settings: &AlertSettings,
        people: &GuildPeople,
        usual: f64,
        at: DateTime<Utc>,
    ) -> Option<Change> {
        if !settings.is_active(at) {
            return None;
        }
        let at = to_ms(at);
        let above =
            people.people > 0 && f64::from(people.people) >= surge_threshold(settings, usual);
        let detail = || IncidentDetail::VoiceSurge {
            people: people.people,
            usual,
            channels: people.channels.clone(),
        };
        match &mut self.ongoing {
            Some(ongoing) => {
                if above {
                    self.above = true;
                    ongoing.last_event_at = ongoing.last_event_at.max(at);
                    if people.people > ongoing.count {
                        ongoing.count = people.people;
                        ongoing.detail = detail();
                        return Some(Change::Grew(ongoing.clone()));
                    }
                    None
                } else if self.above {
                    // The last moment at or above the threshold.
                    self.above = false;
                    ongoing.last_event_at = ongoing.last_event_at.max(at);
                    Some(Change::Grew(ongoing.clone()))
                } else {
                    None
                }
            }
            None => {
                if !above
                    || self
                        .last_ended_at
                        .is_some_and(|ended| at < ended + settings.cooldown())
                {
                    return None;
                }
                let ongoing = Ongoing {
                    started_at: at,
                    detected_at: at,
                    last_event_at: at,
                    ended_at: None,
                    count: people.people,
                    detail: detail(),
                };
                self.above = true;
                self.ongoing = Some(ongoing.clone());
                Some(Change::Opened(ongoing))
            }
        }
    }
}

fn empty_detail(fact: &Fact) -> IncidentDetail {
    match fact {
        Fact::Join { .. } => IncidentDetail::JoinRaid {
            young_accounts: 0,
            default_avatars: 0,
            joins_before: 0,
        },
        Fact::Deletion { .. } => IncidentDetail::MassDelete {
            single: 0,
            bulk: 0,
            channels: Vec::new(),
        },
    }
}

fn add_to_detail(detail: &mut IncidentDetail, entry: &Entry) {
    match (detail, entry.fact) {
        (
            IncidentDetail::JoinRaid {
                young_accounts,
                default_avatars,
                ..
            },
            Fact::Join {
                young,
                default_avatar,
            },
        ) => {
            *young_accounts += u32::from(young);
            *default_avatars += u32::from(default_avatar);
        }
        (
            IncidentDetail::MassDelete {
                single,
                bulk,
                channels,
            },
            Fact::Deletion {
                channel,
                bulk: is_bulk,
            },
        ) => {
            if is_bulk {
                *bulk += entry.n;
            } else {
                *single += entry.n;
            }
            match channels.iter_mut().find(|(c, _)| *c == channel) {
                Some((_, n)) => *n += entry.n,
                None => channels.push((channel, entry.n)),
            }
            // Most first, then by id: the same order after any replay.
            channels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        _ => {}
    }
}

/// An incident to insert (`new`) or update, with the settings its message
/// is rendered with.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentWrite {
    pub guild_id: Snowflake,
    pub kind: AlertKind,
    pub new: bool,
    pub ongoing: Ongoing,
    pub settings: AlertSettings,
}

impl IncidentWrite {
    pub fn incident(&self) -> Incident {
        self.ongoing.incident(self.guild_id, self.kind)
    }
}

/// What a batch writes for alerts.
#[derive(Debug, Default)]
pub struct AlertWrites {
    /// In the order they happened; one per incident per batch.
    pub incidents: Vec<IncidentWrite>,
    /// Windows changed since the last seal.
    pub dirty: BTreeSet<(Snowflake, AlertKind)>,
    /// The changed windows, serialized at seal.
    pub windows: Vec<AlertWindow>,
    /// Hours that ended in this batch, for the activity-drop evaluation.
    pub drops: Option<DropEvaluation>,
}

/// Buckets to evaluate for activity drops, in the flush (after the batch's
/// rollups are written), per guild.
#[derive(Debug, Clone, PartialEq)]
pub struct DropEvaluation {
    pub guilds: Vec<DropGuild>,
}

/// A tracked guild as of the seal, with its buckets (local hours) that
/// ended in the batch.
#[derive(Debug, Clone, PartialEq)]
pub struct DropGuild {
    pub guild_id: Snowflake,
    pub since: Option<DateTime<Utc>>,
    pub settings: AlertSettings,
    pub bucketing: shared::bucketing::Bucketing,
    pub hours: Vec<shared::time::Hour>,
}

impl AlertWrites {
    pub fn is_empty(&self) -> bool {
        self.incidents.is_empty() && self.dirty.is_empty() && self.windows.is_empty()
    }

    /// Adds a change, merged into this batch's write of the same incident.
    fn push(
        &mut self,
        guild_id: Snowflake,
        kind: AlertKind,
        change: Change,
        settings: &AlertSettings,
    ) {
        let (new, ongoing) = match change {
            Change::Opened(o) => (true, o),
            Change::Grew(o) | Change::Ended(o) => (false, o),
        };
        if let Some(existing) = self.incidents.iter_mut().rev().find(|w| {
            w.guild_id == guild_id && w.kind == kind && w.ongoing.detected_at == ongoing.detected_at
        }) {
            existing.ongoing = ongoing;
            existing.settings = settings.clone();
            return;
        }
        self.incidents.push(IncidentWrite {
            guild_id,
            kind,
            new,
            ongoing,
            settings: settings.clone(),
        });
    }
}

/// The windows of a shard's guilds.
#[derive(Debug, Default)]
pub struct Detectors {
    windows: HashMap<(Snowflake, AlertKind), CountWindow>,
    /// Windows with an ongoing incident (checked as the clock moves).
    ongoing: BTreeSet<(Snowflake, AlertKind)>,
}

impl Detectors {
    /// A window as the last committed flush saved it.
    pub fn restore(&mut self, saved: &AlertWindow) {
        match serde_json::from_value::<CountWindow>(saved.state.clone()) {
            Ok(window) => {
                if window.ongoing.is_some() {
                    self.ongoing.insert((saved.guild_id, saved.kind));
                }
                self.windows.insert((saved.guild_id, saved.kind), window);
            }
            Err(error) => tracing::warn!(
                guild_id = %saved.guild_id, kind = %saved.kind, %error,
                "unreadable alert window; starting it empty"
            ),
        }
    }

    /// Feeds an event to a guild's window of `settings.kind`.
    pub fn record(
        &mut self,
        writes: &mut AlertWrites,
        guild_id: Snowflake,
        settings: &AlertSettings,
        entry: Entry,
        clock: DateTime<Utc>,
    ) {
        let key = (guild_id, settings.kind);
        if !settings.is_active(entry.at) && !self.windows.contains_key(&key) {
            return;
        }
        let window = self.windows.entry(key).or_default();
        let before = window.entries.len();
        let change = window.record(settings, entry, clock);
        if change.is_some() || window.entries.len() != before {
            writes.dirty.insert(key);
        }
        if window.ongoing.is_some() {
            self.ongoing.insert(key);
        }
        if let Some(change) = change {
            writes.push(guild_id, settings.kind, change, settings);
        }
    }

    /// Feeds the people in voice of a guild at `at` to its surge window.
    pub fn people(
        &mut self,
        writes: &mut AlertWrites,
        settings: &AlertSettings,
        people: &GuildPeople,
        usual: f64,
        at: DateTime<Utc>,
    ) {
        let key = (people.guild_id, AlertKind::VoiceSurge);
        if !self.windows.contains_key(&key) && people.people == 0 {
            return;
        }
        let window = self.windows.entry(key).or_default();
        let change = window.people(settings, people, usual, at);
        if window.ongoing.is_some() {
            self.ongoing.insert(key);
        }
        if let Some(change) = change {
            writes.dirty.insert(key);
            writes.push(key.0, key.1, change, settings);
        }
    }

    /// Ends the ongoing incidents that are over at `clock` (`settings_of`
    /// gives a guild's settings of a kind).
    pub fn tick(
        &mut self,
        writes: &mut AlertWrites,
        clock: DateTime<Utc>,
        mut settings_of: impl FnMut(Snowflake, AlertKind) -> AlertSettings,
    ) {
        if self.ongoing.is_empty() {
            return;
        }
        let keys: Vec<_> = self.ongoing.iter().copied().collect();
        for key in keys {
            let settings = settings_of(key.0, key.1);
            let Some(window) = self.windows.get_mut(&key) else {
                self.ongoing.remove(&key);
                continue;
            };
            if let Some(change) = window.tick(&settings, clock) {
                self.ongoing.remove(&key);
                writes.dirty.insert(key);
                writes.push(key.0, key.1, change, &settings);
            }
        }
    }

    /// Serializes the windows changed since the last seal into `writes`.
    pub fn seal(&self, writes: &mut AlertWrites) {
        for key in std::mem::take(&mut writes.dirty) {
            if let Some(window) = self.windows.get(&key) {
                match serde_json::to_value(window) {
                    Ok(state) => writes.windows.push(AlertWindow {
                        guild_id: key.0,
                        kind: key.1,
                        state,
                    }),
                    Err(error) => tracing::error!(%error, "cannot serialize an alert window"),
                }
            }
        }
    }

    /// A guild's window of a kind (tests, diagnostics).
    pub fn window(&self, guild_id: Snowflake, kind: AlertKind) -> Option<&CountWindow> {
        self.windows.get(&(guild_id, kind))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 10, m, s).unwrap()
    }

    fn raid() -> AlertSettings {
        AlertSettings::default_for(AlertKind::JoinRaid)
    }

    fn join(t: DateTime<Utc>, young: bool) -> Entry {
        Entry {
            at: t,
            n: 1,
            fact: Fact::Join {
                young,
                default_avatar: !young,
            },
        }
    }

    /// Joins at `t0 + i * step` seconds; returns the changes reported.
    fn joins(
        w: &mut CountWindow,
        s: &AlertSettings,
        t0: DateTime<Utc>,
        n: u32,
        step: i64,
    ) -> Vec<Change> {
        (0..n)
            .filter_map(|i| {
                let t = t0 + TimeDelta::seconds(i64::from(i) * step);
                w.record(s, join(t, i % 2 == 0), t)
            })
            .collect()
    }

    fn opened(changes: &[Change]) -> Vec<&Ongoing> {
        changes
            .iter()
            .filter_map(|c| match c {
                Change::Opened(o) => Some(o),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_raid_opens_at_the_threshold_with_its_context() {
        let s = raid();
        let mut w = CountWindow::default();
        let changes = joins(&mut w, &s, at(0, 0), 9, 3);
        assert!(changes.is_empty(), "9 joins are below 10");
        let change = w.record(&s, join(at(0, 27), false), at(0, 27));
        let Some(Change::Opened(o)) = change else {
            panic!("the 10th join within 60 s opens an incident: {change:?}");
        };
        assert_eq!(
            (o.started_at, o.detected_at, o.count),
            (at(0, 0), at(0, 27), 10)
        );
        assert_eq!(
            o.detail,
            IncidentDetail::JoinRaid {
                young_accounts: 5,
                default_avatars: 5,
                joins_before: 0,
            }
        );
    }

    #[test]
    fn the_window_slides_and_counts_the_joins_of_the_two_minutes_before() {
        let s = raid();
        let mut w = CountWindow::default();
        // 7 s apart: any 10 span 63 s, more than the 60 s window.
        assert!(joins(&mut w, &s, at(0, 0), 20, 7).is_empty());
        // Then 10 within 9 s: the window ending at the last holds them and
        // the slow joins of its last 60 s.
        let t0 = at(10, 0);
        let changes = joins(&mut w, &s, t0, 10, 1);
        let o = opened(&changes);
        assert_eq!(o.len(), 1);
        let o = o[0];
        // Slow joins at 0..=133 s (every 7 s) end 467 s before t0: none
        // in the window; the window starts at t0's first crossing.
        assert_eq!(o.started_at, t0);
        assert_eq!(o.count, 10);
        let IncidentDetail::JoinRaid { joins_before, .. } = o.detail else {
            panic!()
        };
        assert_eq!(joins_before, 0, "the slow joins ended 8 minutes earlier");

        let mut w = CountWindow::default();
        // 3 joins from 1 min 50 s before the crossing: before the window,
        // within the 2 minutes before the crossing; one earlier is not.
        joins(&mut w, &s, at(0, 0), 1, 1);
        joins(&mut w, &s, at(0, 40), 3, 10);
        let changes = joins(&mut w, &s, at(2, 30), 10, 1);
        let IncidentDetail::JoinRaid { joins_before, .. } = opened(&changes)[0].detail else {
            panic!()
        };
        assert_eq!(joins_before, 3);
    }

    #[test]
    fn an_incident_grows_then_ends_a_quiet_period_after_its_last_join() {
        let s = raid();
        let mut w = CountWindow::default();
        let changes = joins(&mut w, &s, at(0, 0), 12, 3);
        assert_eq!(opened(&changes).len(), 1, "one incident, not one per join");
        let Some(Change::Grew(last)) = changes.last() else {
            panic!("joins after the crossing grow it")
        };
        assert_eq!((last.count, last.last_event_at), (12, at(0, 33)));
        assert_eq!(w.tick(&s, at(5, 33)), None, "300 s after the last join");
        let Some(Change::Ended(o)) = w.tick(&s, at(5, 34)) else {
            panic!("over after 300 s")
        };
        assert_eq!(
            o.ended_at,
            Some(at(5, 33)),
            "last join + quiet, not the clock"
        );
        assert_eq!(o.count, 12);
    }

    #[test]
    fn no_new_incident_during_the_cooldown() {
        let s = raid();
        let mut w = CountWindow::default();
        joins(&mut w, &s, at(0, 0), 10, 1);
        w.tick(&s, at(6, 0)); // ended at 00:09 + 300 s = 05:09
        let during = joins(&mut w, &s, at(10, 0), 10, 1);
        assert!(
            during.is_empty(),
            "05:09 + 600 s = 15:09 is the cooldown's end"
        );
        let after = joins(&mut w, &s, at(15, 9), 10, 1);
        assert_eq!(opened(&after).len(), 1);
        assert_eq!(
            opened(&after)[0].count,
            10,
            "no join of the cooldown counts"
        );
    }

    #[test]
    fn a_kind_off_or_snoozed_detects_nothing_and_switching_off_ends_the_incident() {
        let mut off = raid();
        off.enabled = false;
        let mut w = CountWindow::default();
        assert!(joins(&mut w, &off, at(0, 0), 20, 1).is_empty());

        let mut snoozed = raid();
        snoozed.snoozed_until = Some(at(1, 0));
        let mut w = CountWindow::default();
        assert!(joins(&mut w, &snoozed, at(0, 0), 20, 1).is_empty());
        // The snooze is over: the joins made during it do not count.
        assert!(joins(&mut w, &snoozed, at(1, 0), 9, 1).is_empty());
        assert_eq!(opened(&joins(&mut w, &snoozed, at(1, 9), 1, 1)).len(), 1);

        let s = raid();
        let mut w = CountWindow::default();
        joins(&mut w, &s, at(0, 0), 10, 1);
        let Some(Change::Ended(o)) = w.tick(&off, at(0, 30)) else {
            panic!("switched off: ends at once")
        };
        assert_eq!(o.ended_at, Some(at(0, 30)));
    }

    #[test]
    fn deletions_count_per_message_by_channel_and_single_or_bulk() {
        let s = AlertSettings::default_for(AlertKind::MassDelete);
        let del = |t, n, channel, bulk| Entry {
            at: t,
            n,
            fact: Fact::Deletion {
                channel: Snowflake(channel),
                bulk,
            },
        };
        let mut w = CountWindow::default();
        let Some(Change::Opened(o)) = w.record(&s, del(at(0, 0), 24, 7, true), at(0, 0)) else {
            panic!("one bulk of 24 messages crosses 5")
        };
        assert_eq!(o.count, 24);

        let mut w = CountWindow::default();
        assert!(w.record(&s, del(at(0, 0), 1, 7, false), at(0, 0)).is_none());
        assert!(
            w.record(&s, del(at(0, 10), 1, 8, false), at(0, 10))
                .is_none()
        );
        assert!(
            w.record(&s, del(at(0, 20), 1, 8, false), at(0, 20))
                .is_none()
        );
        // 31 s after the first: it left the 30 s window.
        assert!(
            w.record(&s, del(at(0, 31), 1, 8, false), at(0, 31))
                .is_none()
        );
        let Some(Change::Opened(o)) = w.record(&s, del(at(0, 32), 2, 9, true), at(0, 32)) else {
            panic!("3 single + 2 bulk within 30 s")
        };
        assert_eq!((o.started_at, o.count), (at(0, 10), 5));
        assert!(o.detected_at == at(0, 32));
        assert_eq!(
            o.detail,
            IncidentDetail::MassDelete {
                single: 3,
                bulk: 2,
                channels: vec![(Snowflake(8), 3), (Snowflake(9), 2)],
            }
        );
    }

    #[test]
    fn a_saved_window_resumes_the_same_incident() {
        let s = raid();
        let mut w = CountWindow::default();
        joins(&mut w, &s, at(0, 0), 11, 3);
        let saved = serde_json::to_value(&w).unwrap();
        let mut restored: CountWindow = serde_json::from_value(saved).unwrap();
        assert_eq!(restored, w);
        let Some(Change::Grew(o)) = restored.record(&s, join(at(0, 33), true), at(0, 33)) else {
            panic!("the restored incident grows")
        };
        assert_eq!(o.count, 12);
    }
}

#[cfg(test)]
mod surge_tests {
    use chrono::TimeZone;

    use super::*;

    fn at(m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 20, m, 0).unwrap()
    }

    fn people(n: u32) -> GuildPeople {
        GuildPeople {
            guild_id: Snowflake(1),
            people: n,
            channels: vec![(Snowflake(9), n)],
        }
    }

    #[test]
    fn a_surge_starts_at_the_threshold_keeps_its_peak_and_ends_an_hour_after_it_fell() {
        let s = AlertSettings::default_for(AlertKind::VoiceSurge);
        let mut w = CountWindow::default();
        // Usual 2: the threshold is max(5, 3 × 2) = 6.
        assert_eq!(w.people(&s, &people(5), 2.0, at(0)), None);
        let Some(Change::Opened(o)) = w.people(&s, &people(6), 2.0, at(1)) else {
            panic!("6 people reach 3 × 2")
        };
        assert_eq!((o.started_at, o.count), (at(1), 6));
        assert!(
            matches!(w.people(&s, &people(9), 2.0, at(2)), Some(Change::Grew(o)) if o.count == 9)
        );
        assert_eq!(
            w.people(&s, &people(7), 2.0, at(3)),
            None,
            "below the peak, above the threshold"
        );
        assert_eq!(w.tick(&s, at(59)), None, "still at or above the threshold");
        let Some(Change::Grew(o)) = w.people(&s, &people(3), 2.0, at(10)) else {
            panic!("falling below records the last moment above")
        };
        assert_eq!((o.last_event_at, o.count), (at(10), 9));
        assert_eq!(w.tick(&s, at(59)), None);
        assert_eq!(w.tick(&s, at(10) + TimeDelta::hours(1)), None);
        let ended = w.tick(&s, at(10) + TimeDelta::seconds(3601));
        assert!(
            matches!(&ended, Some(Change::Ended(o)) if o.ended_at == Some(at(10) + TimeDelta::hours(1))),
            "{ended:?}"
        );
        // A small server: the minimum of 5 people holds even with usual 0.
        let mut w = CountWindow::default();
        assert_eq!(w.people(&s, &people(4), 0.0, at(0)), None);
        assert!(matches!(
            w.people(&s, &people(5), 0.0, at(1)),
            Some(Change::Opened(_))
        ));
    }
}
