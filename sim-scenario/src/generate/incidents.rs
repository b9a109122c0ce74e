//! Planted incidents the product must detect: the join raid in the first
//! guild and the bulk deletion of the raid's messages.

use super::model::{Author, GuildM, UserM};
use super::{DAY, Gen, HOUR, MIN, SEC};
use crate::ScenarioSize;
use crate::truth::{JoinRaid, MassDeletion};

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
}
