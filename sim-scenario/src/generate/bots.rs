//! What bots do besides posting: `Jukebox` plays music in voice most
//! evenings, `PulseBot` reacts to some member posts in `#general` (and
//! takes some of those reactions back), and a third bot, `Greeter`, is
//! added, removed and added again. Every figure of these has a "bots
//! counted" value that differs from its "bots left out" one, so a
//! product that counts bots the wrong way fails the ground-truth tests.
//!
//! The draws come from a stream of their own (seeded from the scenario's
//! seed and the guild), so the rest of the scenario is what it was before
//! bots did any of this.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::model::{GuildM, UserM};
use super::{DAY, Gen, HOUR, MIN, SEC};
use crate::payload::{self, EmojiRef};
use crate::truth::{AuthorKind, ReactionFact};

/// Mixed into the seed of the bots' own random stream.
const BOT_STREAM: u64 = 0xB075_B075_B075_B075;

impl Gen {
    pub(super) fn bot_activity(&mut self, gi: u32, gm: &mut GuildM) {
        let stream = ChaCha8Rng::seed_from_u64(self.seed ^ BOT_STREAM ^ u64::from(gi));
        let main = std::mem::replace(&mut self.rng, stream);
        self.bot_voice(gm);
        self.bot_reactions(gm);
        self.bot_added_and_removed(gm);
        self.rng = main;
    }

    /// `Jukebox` joins the first voice channel on 60% of the evenings, for
    /// 30 minutes to 3 hours.
    fn bot_voice(&mut self, gm: &mut GuildM) {
        let Some(jukebox) = gm.bots.iter().find(|b| b.name == "Jukebox").cloned() else {
            return;
        };
        let Some(room) = gm
            .channels
            .iter()
            .find(|c| c.kind == 2)
            .map(|c| (c.id, c.kind))
        else {
            return;
        };
        let days = (self.end - self.start) / DAY;
        for day in 0..days {
            if !self.chance(0.6) {
                continue;
            }
            let s = self.start + day * DAY + 19 * HOUR + self.between(0, 120) * MIN;
            let e = s + self.between(30, 180) * MIN;
            if e >= self.end - SEC || jukebox.member_through(s, e + SEC).is_none() {
                continue;
            }
            self.session(gm, &jukebox, &[room], s, e, false);
        }
    }

    /// `PulseBot` reacts with 👍 to 5% of the member posts in `#general`
    /// a second after them, and takes a fifth of those back a minute
    /// later.
    fn bot_reactions(&mut self, gm: &GuildM) {
        let Some(bot) = gm.bots.iter().find(|b| b.name == "PulseBot") else {
            return;
        };
        let general = gm.channel("general").id;
        let posts: Vec<(i64, u64, u64)> = self
            .truth
            .messages
            .iter()
            .filter(|m| {
                m.guild_id == gm.id
                    && m.channel_id == general
                    && m.author_kind == AuthorKind::Member
            })
            .map(|m| (m.at_ms, m.message_id, m.author_id))
            .collect();
        for (at, message_id, author) in posts {
            if !self.chance(0.05) {
                continue;
            }
            let r = at + SEC;
            let Some(joined) = bot.member_at(r) else {
                continue;
            };
            if r >= self.end {
                continue;
            }
            let mut shape = payload::ReactionShape {
                guild_id: gm.id,
                channel_id: general,
                message_id,
                user_id: bot.id,
                user_name: &bot.name,
                user_bot: true,
                user_joined_ms: joined,
                emoji: EmojiRef::Unicode("👍"),
                message_author_id: Some(author),
            };
            self.push(r, gm.id, "MESSAGE_REACTION_ADD", payload::reaction(&shape));
            let mut fact = ReactionFact {
                at_ms: r,
                guild_id: gm.id,
                channel_id: general,
                thread_parent_id: None,
                message_id,
                user_id: bot.id,
                user_is_bot: true,
                message_author_id: Some(author),
                message_author_kind: Some(AuthorKind::Member),
                emoji: "👍".to_owned(),
                added: true,
            };
            self.truth.reactions.push(fact.clone());
            let rr = r + MIN;
            if self.chance(0.2) && rr < self.end {
                shape.message_author_id = None;
                self.push(
                    rr,
                    gm.id,
                    "MESSAGE_REACTION_REMOVE",
                    payload::reaction(&shape),
                );
                fact.at_ms = rr;
                fact.added = false;
                fact.message_author_id = None;
                fact.message_author_kind = None;
                self.truth.reactions.push(fact);
            }
        }
    }

    /// `Greeter` is added at 20% of the scenario, removed at 50% and added
    /// again at 60% (a bot's join, leave and rejoin).
    fn bot_added_and_removed(&mut self, gm: &mut GuildM) {
        let (start, dur) = (self.start, self.end - self.start);
        let at = |share: i64| {
            let t = start + dur * share / 100;
            t - t % SEC
        };
        let id = self.id_at(start - 30 * DAY);
        let greeter = UserM {
            id,
            name: "Greeter".to_owned(),
            bot: true,
            weight: 0.0,
            voice_weight: 0.0,
            stints: vec![(at(20), Some(at(50))), (at(60), None)],
        };
        self.stint_events(gm.id, &greeter);
        gm.bots.push(greeter);
    }
}
