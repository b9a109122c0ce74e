//! Who and what a guild is made of: its channel catalogue, emoji, stickers,
//! members, bots and webhook.

use super::model::{ChanM, GuildM, UserM};
use super::{DAY, Gen, HOUR, SEC};
use crate::ScenarioSize;

const UNICODE_EMOJI: [(&str, f64); 6] = [
    ("👍", 5.0),
    ("❤️", 3.0),
    ("😂", 3.0),
    ("🎉", 1.0),
    ("🔥", 1.0),
    ("👀", 0.5),
];
const CUSTOM_EMOJI: [(&str, f64); 3] = [("pulse", 1.0), ("kekw", 0.6), ("pog", 0.3)];
const TEXT_NAMES: [&str; 10] = [
    "general",
    "off-topic",
    "media",
    "memes",
    "dev",
    "music-chat",
    "gaming",
    "art",
    "support",
    "random",
];
const VOICE_NAMES: [&str; 5] = ["Lounge", "Gaming", "Music", "Study", "Late Night"];

impl Gen {
    /// Each guild has two categories, text channels (one of them `#general`,
    /// the busiest), `#bot-commands`, `#announcements`, a forum, voice
    /// channels and a stage, plus `#event-chat`, which lives only part of the
    /// scenario, and `#mod-only`, which @everyone cannot view; emoji and
    /// stickers; humans (a few of them moderators), two bots and a webhook.
    pub(super) fn community(
        &mut self,
        gi: u32,
        guild_id: u64,
        created: i64,
        size: ScenarioSize,
    ) -> GuildM {
        let n = size.members_per_guild as usize;
        let channels = self.channel_catalogue(created, n);
        let (emoji, stickers) = self.emoji_and_stickers(created);
        let humans = self.humans(gi, n);
        let bots = self.bots(created);
        let webhook = (self.id_at(created + 3 * DAY), "News Feed".to_owned());
        let mod_role = self.id_at(created + 4 * DAY);
        // Members 0 and 3 (voice regulars) and every 15th from 7 moderate.
        let moderators = humans
            .iter()
            .enumerate()
            .filter(|(k, _)| *k == 0 || *k == 3 || k % 15 == 7)
            .map(|(_, u)| u.id)
            .collect();

        GuildM {
            id: guild_id,
            humans,
            bots,
            webhook,
            channels,
            threads: Vec::new(),
            emoji,
            stickers,
            initial_voice: Vec::new(),
            mod_role,
            moderators,
        }
    }

    /// Categories, text, bots, announcements, forum, voice, stage, one
    /// channel that lives only part of the scenario, and a private one.
    fn channel_catalogue(&mut self, created: i64, n: usize) -> Vec<ChanM> {
        let (start, dur) = (self.start, self.end - self.start);
        let mut channels = Vec::new();
        let mut chan = |g: &mut Gen, kind, name: &str, parent, weight: f64, thread_parent| {
            let id = g.id_at(created + 1000 * (channels.len() as i64 + 1));
            channels.push(ChanM {
                id,
                kind,
                name: name.to_owned(),
                parent,
                created: None,
                deleted: None,
                weight,
                thread_parent,
                private: false,
            });
            id
        };
        let cat_text = chan(self, 4, "Text Channels", None, 0.0, false);
        let cat_voice = chan(self, 4, "Voice Channels", None, 0.0, false);
        let text_count = (3 + n / 40).min(TEXT_NAMES.len());
        for (k, name) in TEXT_NAMES.iter().take(text_count).enumerate() {
            let w = if k == 0 { 6.0 } else { self.pareto(1.1, 8.0) };
            chan(self, 0, name, Some(cat_text), w, true);
        }
        chan(self, 0, "bot-commands", Some(cat_text), 0.3, false);
        chan(self, 5, "announcements", Some(cat_text), 0.1, true);
        chan(self, 15, "help-forum", Some(cat_text), 0.0, true);
        let voice_count = (2 + n / 75).min(VOICE_NAMES.len());
        for name in VOICE_NAMES.iter().take(voice_count) {
            chan(self, 2, name, Some(cat_voice), 0.0, false);
        }
        chan(self, 13, "Town Hall", Some(cat_voice), 0.0, false);
        // Nobody but the moderators posts in `#mod-only`: weight 0 keeps the
        // others out, `moderator_messages` writes its activity.
        let mod_only = chan(self, 0, "mod-only", Some(cat_text), 0.0, false);
        chan(self, 0, "event-chat", Some(cat_text), 2.0, false);
        let (ev_created, ev_deleted) = (start + dur * 3 / 10, start + dur * 7 / 10);
        {
            let c = channels.last_mut().expect("just pushed");
            c.created = Some(ev_created - ev_created % SEC);
            c.deleted = Some(ev_deleted - ev_deleted % SEC);
        }
        for c in channels.iter_mut().filter(|c| c.id == mod_only) {
            c.private = true;
        }
        channels
    }

    /// `(name, id, weight)` of every emoji (unicode ones have id 0), and the
    /// stickers.
    #[allow(clippy::type_complexity)]
    fn emoji_and_stickers(
        &mut self,
        created: i64,
    ) -> (Vec<(String, u64, f64)>, Vec<(u64, String)>) {
        let mut emoji: Vec<(String, u64, f64)> = UNICODE_EMOJI
            .iter()
            .map(|(e, w)| ((*e).to_owned(), 0, *w))
            .collect();
        for (k, (name, w)) in CUSTOM_EMOJI.iter().enumerate() {
            let id = self.id_at(created + HOUR + k as i64 * SEC);
            emoji.push(((*name).to_owned(), id, *w));
        }
        let stickers = vec![
            (self.id_at(created + 2 * HOUR), "wave".to_owned()),
            (self.id_at(created + 2 * HOUR + SEC), "party".to_owned()),
        ];
        (emoji, stickers)
    }

    /// About 80% of `n` present at the start and 35% joining later; about
    /// 12% leave and a third of those come back.
    fn humans(&mut self, gi: u32, n: usize) -> Vec<UserM> {
        let (start, end) = (self.start, self.end);
        let dur = end - start;
        let n_init = ((n as f64) * 0.8).round().max(3.0) as usize;
        let n_join = ((n as f64) * 0.35).round().max(1.0) as usize;
        let mut humans = Vec::new();
        for k in 0..n_init + n_join {
            let account = start - self.between(30, 1500) * DAY;
            let id = self.id_at(account);
            let weight = if self.chance(0.4) {
                0.0
            } else {
                self.pareto(1.2, 40.0)
            };
            let voice_weight = if self.chance(0.6) {
                0.0
            } else {
                self.pareto(1.5, 10.0)
            };
            // Members 0 and 3 are regulars in voice, so even a tiny scenario
            // has sessions (some concurrent).
            let voice_weight = if k == 0 || k == 3 {
                voice_weight.max(2.5)
            } else {
                voice_weight
            };
            let join = if k < n_init {
                start - self.between(HOUR, 700 * DAY)
            } else {
                start + self.between(1, dur - HOUR)
            };
            let mut stints = vec![(join, None)];
            // Member 1 always leaves and comes back, member 2 always leaves:
            // even a tiny scenario has both.
            let leaves = k == 1 || k == 2 || self.chance(0.12);
            if leaves {
                let lo = join.max(start) + HOUR;
                if lo < end - 2 * HOUR {
                    let leave = self.between(lo, end - 2 * HOUR);
                    stints[0].1 = Some(leave);
                    if k == 1 || (k != 2 && self.chance(0.35)) {
                        let back = leave + self.between(HOUR, 5 * DAY);
                        let back = back.min(leave + (end - leave) / 2);
                        if back > leave && back < end {
                            stints.push((back, None));
                        }
                    }
                }
            }
            humans.push(UserM {
                id,
                name: format!("member{gi}_{k}"),
                bot: false,
                weight,
                voice_weight,
                stints,
            });
        }
        humans
    }

    fn bots(&mut self, created: i64) -> Vec<UserM> {
        let mut bots = Vec::new();
        for (k, name) in ["PulseBot", "Jukebox"].iter().enumerate() {
            let id = self.id_at(created + DAY + k as i64 * SEC);
            let joined = created + DAY + HOUR + k as i64 * SEC;
            bots.push(UserM {
                id,
                name: (*name).to_owned(),
                bot: true,
                weight: 0.0,
                voice_weight: 0.0,
                stints: vec![(joined, None)],
            });
        }
        bots
    }
}
