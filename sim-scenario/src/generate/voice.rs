//! Voice: sessions on the evening rhythm, with moves and mute/deafen
//! toggles; a few users already in voice at the start.

use std::collections::BTreeSet;

use rand::Rng;

use super::model::{GuildM, UserM};
use super::rhythm::VOICE_HOURS;
use super::{DAY, Gen, HOUR, LONG_DAYS, MIN, SEC};
use crate::payload;
use crate::truth::VoiceInterval;

impl Gen {
    pub(super) fn voice(&mut self, gm: &mut GuildM) {
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
            if days >= LONG_DAYS {
                self.weekly_sessions(gm, u, &rooms, free_from);
                continue;
            }
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

    /// Voice by weekly habit, for scenarios of [`LONG_DAYS`] or more: the
    /// user has 1–4 weekly slots (weekday, a start on the evening rhythm,
    /// 15–180 minutes) and keeps each one 90% of the weeks, starting and
    /// ending within 5 minutes of it. People in voice at an hour of the week
    /// are then about the same from week to week, as in a community with
    /// regular voice nights.
    fn weekly_sessions(&mut self, gm: &mut GuildM, u: &UserM, rooms: &[(u64, u8)], free_from: i64) {
        let (start, end) = (self.start, self.end);
        let count = (u.voice_weight.round() as i64).clamp(1, 4);
        let mut slots: Vec<(i64, i64)> = (0..count)
            .map(|_| {
                let at = self.between(0, 7) * DAY
                    + self.pick(&VOICE_HOURS) as i64 * HOUR
                    + self.between(0, 60) * MIN;
                let minutes = (45.0 * (0.6 * self.normal()).exp()).clamp(15.0, 180.0) as i64;
                (at, minutes * MIN)
            })
            .collect();
        slots.sort_unstable();
        let mut free_from = free_from;
        let mut week_start = start;
        while week_start < end {
            for &(at, length) in &slots {
                if !self.chance(0.9) {
                    continue;
                }
                let s = week_start + at + self.between(-5, 6) * MIN;
                let e = s + length + self.between(-5, 6) * MIN;
                if s < start || s < free_from + MIN || e >= end - SEC {
                    continue;
                }
                if u.member_through(s, e + SEC).is_none() {
                    continue;
                }
                self.session(gm, u, rooms, s, e, false);
                free_from = e;
            }
            week_start += 7 * DAY;
        }
    }

    /// One voice session from `s` to `e` (whole seconds): join, moves, mute and
    /// deafen toggles, leave. `initial`: already in voice at the start.
    pub(super) fn session(
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
                user_bot: u.bot,
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
                self.voice_interval(gm.id, rooms[room].0, u, seg_start, *t);
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
        self.voice_interval(gm.id, rooms[room].0, u, seg_start, e);
        self.push(
            e,
            gm.id,
            "VOICE_STATE_UPDATE",
            state(None, self_mute, self_deaf),
        );
    }

    pub(super) fn voice_interval(
        &mut self,
        guild_id: u64,
        channel_id: u64,
        user: &UserM,
        start_ms: i64,
        end_ms: i64,
    ) {
        self.truth.voice.push(VoiceInterval {
            guild_id,
            channel_id,
            user_id: user.id,
            user_is_bot: user.bot,
            start_ms,
            end_ms,
        });
    }
}
