//! Voice figures: time per channel, user and hour (and their sums), per
//! local day, and peak concurrency.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::calendar::{local, next_local_midnight};
use super::{GroundTruth, HOUR_MS, Scope, VoiceInterval, hour_start};

impl GroundTruth {
    /// Voice time in ms per `(channel, user, UTC hour start)`. Each interval
    /// is clipped to the effective range, then split exactly at UTC hour
    /// boundaries; a session open at a range edge contributes only its part
    /// inside. Generated voice events fall on whole seconds, so the values
    /// are whole seconds whenever the range edges are.
    pub fn voice_ms(&self, scope: &Scope) -> BTreeMap<(u64, u64, i64), i64> {
        let mut out = BTreeMap::new();
        for (v, s, e) in self.voice_clipped(scope) {
            let mut t = s;
            while t < e {
                let h = hour_start(t);
                let piece_end = e.min(h + HOUR_MS);
                *out.entry((v.channel_id, v.user_id, h)).or_insert(0) += piece_end - t;
                t = piece_end;
            }
        }
        out
    }

    pub(super) fn voice_clipped<'a>(
        &'a self,
        scope: &'a Scope,
    ) -> impl Iterator<Item = (&'a VoiceInterval, i64, i64)> + 'a {
        let from = scope.effective_from();
        self.voice
            .iter()
            .filter(move |v| {
                v.guild_id == scope.guild_id
                    && scope.admits_channel(v.channel_id, None)
                    && scope.admits_actor(v.user_id, v.user_is_bot)
            })
            .map(move |v| (v, v.start_ms.max(from), v.end_ms.min(scope.to_ms)))
            .filter(|(_, s, e)| s < e)
    }

    /// [`Self::voice_ms`] in whole seconds (each cell's ms / 1000, rounded
    /// down; exact whenever the range edges are whole seconds, since every
    /// voice event and hour boundary is).
    pub fn voice_seconds(&self, scope: &Scope) -> BTreeMap<(u64, u64, i64), i64> {
        self.voice_ms(scope)
            .into_iter()
            .map(|(k, ms)| (k, ms.div_euclid(1000)))
            .collect()
    }

    /// Voice time in ms per local calendar day in `tz`: clipped like
    /// [`Self::voice_ms`], then split exactly at local midnights (a local day
    /// across a DST change is 23 or 25 hours long).
    pub fn voice_ms_per_local_day(&self, scope: &Scope, tz: Tz) -> BTreeMap<NaiveDate, i64> {
        let mut out = BTreeMap::new();
        for (_, s, e) in self.voice_clipped(scope) {
            let mut t = s;
            while t < e {
                let date = local(t, tz).date_naive();
                let piece_end = e.min(next_local_midnight(date, tz));
                *out.entry(date).or_insert(0) += piece_end - t;
                t = piece_end;
            }
        }
        out
    }

    /// Sum of [`Self::voice_ms`] per user.
    pub fn voice_ms_per_member(&self, scope: &Scope) -> BTreeMap<u64, i64> {
        let mut out = BTreeMap::new();
        for ((_, u, _), ms) in self.voice_ms(scope) {
            *out.entry(u).or_insert(0) += ms;
        }
        out
    }

    /// Sum of [`Self::voice_ms`] per channel.
    pub fn voice_ms_per_channel(&self, scope: &Scope) -> BTreeMap<u64, i64> {
        let mut out = BTreeMap::new();
        for ((c, _, _), ms) in self.voice_ms(scope) {
            *out.entry(c).or_insert(0) += ms;
        }
        out
    }

    /// Peak concurrent users per `(channel, UTC hour start)`: the largest
    /// number of (clipped) intervals containing one instant of the hour.
    /// Intervals are half-open, so someone leaving at `t` and someone joining
    /// at `t` are never simultaneous; users already present when the hour
    /// starts count. Only hours with a peak of at least 1 appear.
    pub fn peak_concurrent(&self, scope: &Scope) -> BTreeMap<(u64, i64), u32> {
        let mut pieces: BTreeMap<(u64, i64), Vec<(i64, i64)>> = BTreeMap::new();
        for (v, s, e) in self.voice_clipped(scope) {
            let mut h = hour_start(s);
            while h < e {
                pieces
                    .entry((v.channel_id, h))
                    .or_default()
                    .push((s.max(h), e.min(h + HOUR_MS)));
                h += HOUR_MS;
            }
        }
        let mut out = BTreeMap::new();
        for (key, list) in pieces {
            // Ends sort before starts at the same instant (-1 < +1).
            let mut edges: Vec<(i64, i32)> =
                list.iter().flat_map(|(s, e)| [(*s, 1), (*e, -1)]).collect();
            edges.sort();
            let (mut now, mut peak) = (0i32, 0i32);
            for (_, d) in edges {
                now += d;
                peak = peak.max(now);
            }
            out.insert(key, peak as u32);
        }
        out
    }
}
