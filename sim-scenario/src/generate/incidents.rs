//! Planted incidents the product must detect: the join raid in the first
//! guild and the bulk deletion of the raid's messages; in scenarios of 21
//! days or more also an activity drop and a voice surge (see
//! [`PlantedDrop`] and [`PlantedSurge`] for where and how big).

use super::model::{Author, GuildM, UserM};
use super::{DAY, Gen, HOUR, MIN, SEC};
use crate::ScenarioSize;
use crate::truth::{AuthorKind, JoinRaid, MassDeletion, PlantedDrop, PlantedSurge, hour_start};

/// Share of the member posts of the drop hour that never happen.
const DROP_SKIP: f64 = 0.9;
/// People beyond the surge threshold (`max(5, 3 × usual)`).
const SURGE_MARGIN: u32 = 5;
const WEEK: i64 = 7 * DAY;

impl Gen {
    pub(super) fn raid(&mut self, gm: &GuildM, size: ScenarioSize) {
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
            self.delete_bulk(gm.id, general, chunk, at);
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

    /// Picks the drop hour (20:00 UTC, two days before the end, an evening
    /// peak) before the members' posts are written.
    pub(super) fn plan_drop(&mut self, gm: &GuildM, size: ScenarioSize) {
        let hour = self.start + i64::from(size.days - 2) * DAY + 20 * HOUR;
        self.drop = Some((gm.id, hour, 0));
    }

    /// Whether a member post at `at` is one the drop hour skips (a draw is
    /// made only for posts inside that hour, so other scenarios are
    /// untouched).
    pub(super) fn skipped_by_drop(&mut self, guild_id: u64, at: i64) -> bool {
        let Some((g, hour, _)) = self.drop else {
            return false;
        };
        if g != guild_id || hour_start(at) != hour || !self.chance(DROP_SKIP) {
            return false;
        }
        if let Some(d) = self.drop.as_mut() {
            d.2 += 1;
        }
        true
    }

    /// Records the drop once every member post of the guild is written.
    pub(super) fn record_drop(&mut self) {
        let Some((guild_id, hour_ms, skipped)) = self.drop.take() else {
            return;
        };
        let messages = self
            .truth
            .messages
            .iter()
            .filter(|m| {
                m.guild_id == guild_id
                    && m.author_kind == AuthorKind::Member
                    && hour_start(m.at_ms) == hour_ms
            })
            .count() as u32;
        self.truth.activity_drop = Some(PlantedDrop {
            guild_id,
            hour_ms,
            messages,
            skipped,
        });
    }

    /// The voice surge at 10:05 UTC four days before the end: enough members
    /// who are neither in voice nor joining or leaving the guild around then
    /// (as many as there are, in a guild too small) join within a few
    /// minutes (one every 10 s), stay about 20–30 minutes and leave.
    /// Written after the guild's own voice sessions, whose peaks it is
    /// sized from.
    pub(super) fn surge(&mut self, gm: &mut GuildM, size: ScenarioSize) {
        let hour = self.start + i64::from(size.days - 4) * DAY + 10 * HOUR;
        let first = hour + 5 * MIN;
        let (quiet_from, quiet_to) = (first - 5 * MIN, first + 40 * MIN);
        let usual = self.usual_voice_peak(gm.id, hour);
        let already = self.people_in_voice(gm.id, first);
        let needed = (3.0 * usual).ceil().max(5.0) as u32 + SURGE_MARGIN;
        let extra = needed.saturating_sub(already) as usize;
        let busy: Vec<u64> = self
            .truth
            .voice
            .iter()
            .filter(|v| v.guild_id == gm.id && v.start_ms < quiet_to && quiet_from < v.end_ms)
            .map(|v| v.user_id)
            .collect();
        let crowd: Vec<UserM> = gm
            .humans
            .iter()
            .filter(|u| !busy.contains(&u.id) && u.member_through(quiet_from, quiet_to).is_some())
            .take(extra)
            .cloned()
            .collect();
        let rooms: Vec<(u64, u8)> = gm
            .channels
            .iter()
            .filter(|c| c.kind == 2 || c.kind == 13)
            .map(|c| (c.id, c.kind))
            .collect();
        let mut end_ms = first;
        let mut user_ids = Vec::new();
        for (i, u) in crowd.iter().enumerate() {
            let s = first + i as i64 * 10 * SEC;
            let e = first + 20 * MIN + self.between(0, 10 * 60) * SEC;
            self.session(gm, u, &rooms, s, e, false);
            end_ms = end_ms.max(e);
            user_ids.push(u.id);
        }
        let last_join_ms = first + (crowd.len() as i64 - 1).max(0) * 10 * SEC;
        let people = self.people_in_voice(gm.id, last_join_ms);
        self.truth.voice_surge = Some(PlantedSurge {
            guild_id: gm.id,
            start_ms: first,
            last_join_ms,
            end_ms,
            user_ids,
            people,
        });
    }

    /// Humans in voice in the guild at instant `t` (intervals are half-open).
    fn people_in_voice(&self, guild_id: u64, t: i64) -> u32 {
        self.truth
            .voice
            .iter()
            .filter(|v| v.guild_id == guild_id && !v.user_is_bot && v.start_ms <= t && t < v.end_ms)
            .count() as u32
    }

    /// Mean over the earlier weeks in the scenario (up to four) of the
    /// greatest number of humans in voice at once during the same hour.
    fn usual_voice_peak(&self, guild_id: u64, hour: i64) -> f64 {
        let peaks: Vec<f64> = (1..=4)
            .map(|k| hour - k * WEEK)
            .filter(|h| *h >= self.start)
            .map(|h| {
                // The count only rises at a start (or at the hour start).
                let starts = self
                    .truth
                    .voice
                    .iter()
                    .filter(|v| v.guild_id == guild_id && v.start_ms > h && v.start_ms < h + HOUR)
                    .map(|v| v.start_ms);
                std::iter::once(h)
                    .chain(starts)
                    .map(|t| self.people_in_voice(guild_id, t))
                    .max()
                    .unwrap_or(0) as f64
            })
            .collect();
        peaks.iter().sum::<f64>() / peaks.len().max(1) as f64
    }
}
