//! The hourly detectors, against each hour's usual for its hour of the
//! week: activity drops (member messages) and voice surges (people in
//! voice).

use std::collections::BTreeMap;

use chrono_tz::Tz;

use super::{AlertKind, ExpectedIncident, IncidentDetail, KindParams, WEEK_MS};
use crate::truth::calendar::{bucket_end, bucket_start};
use crate::truth::{AuthorKind, GroundTruth};

/// An activity drop while it lasts: its first hour, the end of its last
/// drop hour, how many drop hours, and its worst hour `(start, messages,
/// usual)`.
struct DropRun {
    started_ms: i64,
    last_ms: i64,
    hours: u32,
    worst: (i64, u32, f64),
}

/// A stretch of time with the same people in voice, inside one bucket.
struct Segment {
    from: i64,
    to: i64,
    people: u32,
    /// `(channel, people)` of the channels anyone is in, by channel id.
    channels: Vec<(u64, u32)>,
}

impl GroundTruth {
    /// Member messages (bots and webhooks left out, every channel, deleted
    /// ones included: a message counts when it is sent) per UTC hour start
    /// of `guild_id`; hours without any are left out. This is the figure
    /// the activity drop watches.
    pub fn member_messages_per_hour(&self, guild_id: u64) -> BTreeMap<i64, u32> {
        self.member_messages_per_bucket(guild_id, Tz::UTC)
    }

    /// [`Self::member_messages_per_hour`] per bucket of a guild in `tz`
    /// (its local hours, cut where the offset changes; keyed by start).
    pub fn member_messages_per_bucket(&self, guild_id: u64, tz: Tz) -> BTreeMap<i64, u32> {
        let mut out = BTreeMap::new();
        for m in &self.messages {
            if m.guild_id == guild_id
                && m.author_kind == AuthorKind::Member
                && m.at_ms >= self.start_ms
            {
                *out.entry(bucket_start(m.at_ms, tz)).or_insert(0) += 1;
            }
        }
        out
    }

    /// The greatest number of humans in voice (any voice or stage channel)
    /// in `guild_id` at one instant of each UTC hour; people already in
    /// voice when the hour starts count, and someone leaving at `t` is not
    /// with someone joining at `t`. Hours with nobody are left out. This is
    /// the figure whose usual the voice surge compares with.
    pub fn voice_peak_per_hour(&self, guild_id: u64) -> BTreeMap<i64, u32> {
        self.voice_peak_per_bucket(guild_id, Tz::UTC)
    }

    /// [`Self::voice_peak_per_hour`] per bucket of a guild in `tz`.
    pub fn voice_peak_per_bucket(&self, guild_id: u64, tz: Tz) -> BTreeMap<i64, u32> {
        let mut out = BTreeMap::new();
        for s in self.voice_segments(guild_id, tz) {
            if s.people > 0 {
                let peak = out.entry(bucket_start(s.from, tz)).or_insert(0);
                *peak = s.people.max(*peak);
            }
        }
        out
    }

    /// The usual figure for hour `hour_ms`: the mean of `per_hour` (missing
    /// hours are 0) over the weeks `k` in 1..=4 whose hour `hour_ms − k
    /// weeks` starts at or after the scenario start (tracking starts with the
    /// scenario); `None` with fewer than two such weeks.
    pub fn usual(&self, per_hour: &BTreeMap<i64, u32>, hour_ms: i64) -> Option<f64> {
        self.usual_in(per_hour, hour_ms, Tz::UTC)
    }

    /// [`Self::usual`] of the bucket starting at `bucket_ms` in `tz`: the
    /// buckets holding the instant 1 to 4 weeks before its start.
    pub fn usual_in(&self, per_hour: &BTreeMap<i64, u32>, bucket_ms: i64, tz: Tz) -> Option<f64> {
        let weeks: Vec<f64> = (1..=4)
            .map(|k| bucket_start(bucket_ms - k * WEEK_MS, tz))
            .filter(|h| *h >= self.start_ms)
            .map(|h| f64::from(per_hour.get(&h).copied().unwrap_or(0)))
            .collect();
        (weeks.len() >= 2).then(|| weeks.iter().sum::<f64>() / weeks.len() as f64)
    }

    pub(super) fn expected_drops(
        &self,
        guild_id: u64,
        p: &KindParams,
        tz: Tz,
    ) -> Vec<ExpectedIncident> {
        let per_hour = self.member_messages_per_bucket(guild_id, tz);
        let (quiet, cooldown) = (p.quiet_secs * 1000, p.cooldown_secs * 1000);
        let finish = |run: DropRun| ExpectedIncident {
            guild_id,
            kind: AlertKind::ActivityDrop,
            started_ms: run.started_ms,
            detected_ms: bucket_end(run.started_ms, tz),
            last_event_ms: run.last_ms,
            ended_ms: self.ended(run.last_ms, p),
            count: run.worst.1,
            detail: IncidentDetail::ActivityDrop {
                hour_ms: run.worst.0,
                messages: run.worst.1,
                usual: run.worst.2,
                percent_below: (1.0 - f64::from(run.worst.1) / run.worst.2) * 100.0,
                hours: run.hours,
            },
        };
        let mut out = Vec::new();
        let mut open: Option<DropRun> = None;
        let mut allowed_from = i64::MIN;
        // The first bucket that starts in the scenario (tracking starts
        // with it).
        let mut hour = bucket_start(self.start_ms, tz);
        if hour < self.start_ms {
            hour = bucket_end(hour, tz);
        }
        while bucket_end(hour, tz) <= self.end_ms {
            // Bucket `hour` is judged at `at`, when it is over.
            let at = bucket_end(hour, tz);
            let messages = per_hour.get(&hour).copied().unwrap_or(0);
            let is_drop = self.usual_in(&per_hour, hour, tz).filter(|u| {
                *u >= p.min_volume as f64 && f64::from(messages) <= u * (1.0 - p.threshold / 100.0)
            });
            if let Some(run) = open.as_mut() {
                match is_drop {
                    Some(usual) if at <= run.last_ms + quiet => {
                        run.last_ms = at;
                        run.hours += 1;
                        if messages < run.worst.1 {
                            run.worst = (hour, messages, usual);
                        }
                        hour = at;
                        continue;
                    }
                    _ if at >= run.last_ms + quiet => {
                        allowed_from = run.last_ms + quiet + cooldown;
                        out.extend(open.take().map(finish));
                    }
                    _ => {}
                }
            }
            if let (Some(usual), None, true) = (is_drop, &open, at >= allowed_from) {
                open = Some(DropRun {
                    started_ms: hour,
                    last_ms: at,
                    hours: 1,
                    worst: (hour, messages, usual),
                });
            }
            hour = at;
        }
        out.extend(open.map(finish));
        out
    }

    /// Humans in voice in `guild_id`, as stretches split at every voice
    /// event and every bucket start (in `tz`), covering the scenario.
    fn voice_segments(&self, guild_id: u64, tz: Tz) -> Vec<Segment> {
        let mut edges: Vec<(i64, i32, u64)> = Vec::new();
        for v in &self.voice {
            if v.guild_id == guild_id && !v.user_is_bot && v.start_ms < v.end_ms {
                edges.push((v.start_ms.max(self.start_ms), 1, v.channel_id));
                edges.push((v.end_ms, -1, v.channel_id));
            }
        }
        edges.sort_unstable();
        let mut times: Vec<i64> = edges.iter().map(|e| e.0).collect();
        let mut edge = bucket_start(self.start_ms, tz);
        while edge < self.end_ms {
            times.push(edge);
            edge = bucket_end(edge, tz);
        }
        times.retain(|t| *t >= self.start_ms && *t < self.end_ms);
        times.sort_unstable();
        times.dedup();
        let mut in_room: BTreeMap<u64, i32> = BTreeMap::new();
        let mut next_edge = 0;
        let mut out = Vec::with_capacity(times.len());
        for (k, &t) in times.iter().enumerate() {
            // Every edge at `t` applies before the stretch from `t`: a
            // leave and a join at the same instant are never together.
            while next_edge < edges.len() && edges[next_edge].0 <= t {
                let (_, d, c) = edges[next_edge];
                *in_room.entry(c).or_insert(0) += d;
                next_edge += 1;
            }
            in_room.retain(|_, n| *n != 0);
            let channels: Vec<(u64, u32)> = in_room.iter().map(|(c, n)| (*c, *n as u32)).collect();
            out.push(Segment {
                from: t,
                to: times.get(k + 1).copied().unwrap_or(self.end_ms),
                people: channels.iter().map(|(_, n)| n).sum(),
                channels,
            });
        }
        out
    }

    pub(super) fn expected_surges(
        &self,
        guild_id: u64,
        p: &KindParams,
        tz: Tz,
    ) -> Vec<ExpectedIncident> {
        let segments = self.voice_segments(guild_id, tz);
        let mut peaks: BTreeMap<i64, u32> = BTreeMap::new();
        for s in &segments {
            let peak = peaks.entry(bucket_start(s.from, tz)).or_insert(0);
            *peak = s.people.max(*peak);
        }
        let (quiet, cooldown) = (p.quiet_secs * 1000, p.cooldown_secs * 1000);
        let mut out = Vec::new();
        let mut open: Option<ExpectedIncident> = None;
        let mut allowed_from = i64::MIN;
        for s in &segments {
            if let Some(inc) = open.as_ref()
                && s.from > inc.last_event_ms + quiet
            {
                allowed_from = inc.last_event_ms + quiet + cooldown;
                out.extend(open.take());
            }
            let usual = self.usual_in(&peaks, bucket_start(s.from, tz), tz);
            let Some(usual) = usual else { continue };
            let needed = (p.min_volume as f64).max(p.threshold * usual);
            if f64::from(s.people) < needed {
                continue;
            }
            if let Some(inc) = open.as_mut() {
                inc.last_event_ms = s.to;
                inc.ended_ms = self.ended(s.to, p);
                if s.people > inc.count {
                    inc.count = s.people;
                    if let IncidentDetail::VoiceSurge {
                        people, channels, ..
                    } = &mut inc.detail
                    {
                        *people = s.people;
                        channels.clone_from(&s.channels);
                    }
                }
            } else if s.from >= allowed_from {
                open = Some(ExpectedIncident {
                    guild_id,
                    kind: AlertKind::VoiceSurge,
                    started_ms: s.from,
                    detected_ms: s.from,
                    last_event_ms: s.to,
                    ended_ms: self.ended(s.to, p),
                    count: s.people,
                    detail: IncidentDetail::VoiceSurge {
                        people: s.people,
                        usual,
                        channels: s.channels.clone(),
                    },
                });
            }
        }
        out.extend(open);
        out
    }
}
