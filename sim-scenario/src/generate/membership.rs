//! Joins and leaves: `GUILD_MEMBER_ADD`/`REMOVE` for every stint, and the
//! membership facts.

use super::Gen;
use super::model::{GuildM, UserM};
use crate::payload;
use crate::truth::MembershipFact;

impl Gen {
    pub(super) fn membership_events(&mut self, gm: &GuildM) {
        for u in gm.humans.iter().chain(&gm.bots) {
            self.stint_events(gm.id, u);
        }
    }

    /// `GUILD_MEMBER_ADD`/`REMOVE` for a user's stints, and their facts.
    pub(super) fn stint_events(&mut self, guild_id: u64, u: &UserM) {
        {
            for (i, (joined, left)) in u.stints.iter().enumerate() {
                let initial = *joined < self.start;
                if !initial {
                    let d = payload::member_add(guild_id, u.id, &u.name, u.bot, *joined);
                    self.push(*joined, guild_id, "GUILD_MEMBER_ADD", d);
                }
                if let Some(l) = left {
                    let d = payload::member_remove(guild_id, u.id, &u.name, u.bot);
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
}
