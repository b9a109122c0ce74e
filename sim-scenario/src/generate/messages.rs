//! Messages: members posting on the daily rhythm, bots in `#bot-commands`,
//! the webhook in `#announcements`, and what follows each post.

use super::model::{Author, GuildM, UserM};
use super::rhythm::{MESSAGE_HOURS, weekday_factor};
use super::{DAY, Gen, HOUR, SEC};
use crate::truth::{AuthorKind, MessageFact};
use crate::{ScenarioSize, payload};

impl Gen {
    /// Emits one `MESSAGE_CREATE` and records it; returns the message id.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn message(
        &mut self,
        guild_id: u64,
        channel_id: u64,
        thread_parent: Option<u64>,
        at: i64,
        author: &Author<'_>,
        attachments: u32,
        embeds: u32,
        stickers: &[(u64, &str)],
    ) -> u64 {
        let id = self.id_at(at);
        let att_ids: Vec<u64> = (0..attachments).map(|_| self.id_at(at)).collect();
        let (author_id, name, bot, webhook, joined, kind) = match author {
            Author::User(u, joined) => {
                let kind = if u.bot {
                    AuthorKind::Bot
                } else {
                    AuthorKind::Member
                };
                (u.id, u.name.as_str(), u.bot, None, Some(*joined), kind)
            }
            Author::Webhook(id, name) => (*id, *name, true, Some(*id), None, AuthorKind::Webhook),
        };
        let d = payload::message(&payload::MessageShape {
            id,
            guild_id,
            channel_id,
            at_ms: at,
            author_id,
            author_name: name,
            author_bot: bot,
            webhook_id: webhook,
            member_joined_ms: joined,
            attachments: &att_ids,
            embeds,
            stickers,
        });
        self.push(at, guild_id, "MESSAGE_CREATE", d);
        self.truth.messages.push(MessageFact {
            at_ms: at,
            message_id: id,
            guild_id,
            channel_id,
            thread_parent_id: thread_parent,
            author_id,
            author_kind: kind,
            attachments,
            embeds,
            stickers: stickers.len() as u32,
        });
        id
    }

    pub(super) fn human_messages(&mut self, gm: &mut GuildM, size: ScenarioSize) {
        let mean_weight =
            gm.humans.iter().map(|u| u.weight).sum::<f64>() / gm.humans.len().max(1) as f64;
        let mean_weight = if mean_weight > 0.0 { mean_weight } else { 1.0 };
        let humans = std::mem::take(&mut gm.humans);
        for u in &humans {
            if u.weight == 0.0 {
                continue;
            }
            let rate = size.messages_per_member_day * u.weight / mean_weight;
            for day in 0..size.days {
                let day_start = self.start + i64::from(day) * DAY;
                let n = self.poisson(rate * weekday_factor(day_start));
                for _ in 0..n {
                    let hour = self.pick(&MESSAGE_HOURS) as i64;
                    let at = day_start + hour * HOUR + self.between(0, HOUR);
                    let Some(joined) = u.member_at(at) else {
                        continue;
                    };
                    if at < joined + SEC || self.skipped_by_drop(gm.id, at) {
                        continue;
                    }
                    let (channel, parent) = self.choose_channel(gm, at);
                    let Some(channel) = channel else { continue };
                    let attachments = if self.chance(0.08) {
                        self.between(1, 4) as u32
                    } else {
                        0
                    };
                    let embeds = u32::from(self.chance(0.04));
                    let sticker = if self.chance(0.03) {
                        let s = &gm.stickers[self.between(0, 2) as usize];
                        vec![(s.0, s.1.as_str())]
                    } else {
                        Vec::new()
                    };
                    let author = Author::User(u, joined);
                    let id = self.message(
                        gm.id,
                        channel,
                        parent,
                        at,
                        &author,
                        attachments,
                        embeds,
                        &sticker,
                    );
                    if let Some(t) = gm
                        .threads
                        .iter_mut()
                        .find(|t| parent.is_some() && t.id == channel)
                    {
                        t.messages += 1;
                    }
                    self.follow_ups(
                        gm,
                        &humans,
                        channel,
                        parent,
                        id,
                        at,
                        u.id,
                        AuthorKind::Member,
                        0.3,
                    );
                }
            }
        }
        gm.humans = humans;
    }

    /// Moderators talk in the private channel; only other moderators react.
    pub(super) fn moderator_messages(&mut self, gm: &GuildM, size: ScenarioSize) {
        let Some(room) = gm.channels.iter().find(|c| c.private).map(|c| c.id) else {
            return;
        };
        let mods: Vec<UserM> = gm
            .humans
            .iter()
            .filter(|u| gm.moderators.contains(&u.id))
            .cloned()
            .collect();
        let rate = size.messages_per_member_day.min(4.0);
        for u in &mods {
            for day in 0..size.days {
                let day_start = self.start + i64::from(day) * DAY;
                let n = self.poisson(rate * weekday_factor(day_start));
                for _ in 0..n {
                    let at =
                        day_start + self.pick(&MESSAGE_HOURS) as i64 * HOUR + self.between(0, HOUR);
                    let Some(joined) = u.member_at(at) else {
                        continue;
                    };
                    if at < joined + SEC {
                        continue;
                    }
                    let author = Author::User(u, joined);
                    let id = self.message(gm.id, room, None, at, &author, 0, 0, &[]);
                    self.follow_ups(gm, &mods, room, None, id, at, u.id, AuthorKind::Member, 0.3);
                }
            }
        }
    }

    /// Picks where a human posts at `at`: an open thread now and then, else a
    /// channel by weight. Returns `(channel, thread parent)`.
    pub(super) fn choose_channel(&mut self, gm: &GuildM, at: i64) -> (Option<u64>, Option<u64>) {
        if self.chance(0.15) {
            let open: Vec<(u64, u64)> = gm
                .threads
                .iter()
                .filter(|t| t.open_at(at))
                .map(|t| (t.id, t.parent))
                .collect();
            if !open.is_empty() {
                let (id, parent) = open[self.between(0, open.len() as i64) as usize];
                return (Some(id), Some(parent));
            }
        }
        let weights: Vec<f64> = gm
            .channels
            .iter()
            .map(|c| if c.usable_at(at) { c.weight } else { 0.0 })
            .collect();
        if weights.iter().all(|w| *w == 0.0) {
            return (None, None);
        }
        (Some(gm.channels[self.pick(&weights)].id), None)
    }

    /// Reactions (added, sometimes removed) and maybe a deletion, after a
    /// message. Givers are human members other than the author.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn follow_ups(
        &mut self,
        gm: &GuildM,
        humans: &[UserM],
        channel: u64,
        parent: Option<u64>,
        message_id: u64,
        at: i64,
        author: u64,
        author_kind: AuthorKind,
        react_p: f64,
    ) {
        // Nothing happens to the message once its channel is deleted or its
        // thread archived.
        let horizon = gm
            .channels
            .iter()
            .find(|c| c.id == channel)
            .and_then(|c| c.deleted)
            .into_iter()
            .chain(
                gm.threads
                    .iter()
                    .find(|t| t.id == channel)
                    .and_then(|t| t.archived),
            )
            .fold(self.end, i64::min);
        let deleted = self.deletion_time(at, horizon);
        let limit = deleted.unwrap_or(horizon);
        self.reactions_after(
            gm,
            humans,
            channel,
            parent,
            message_id,
            at,
            author,
            author_kind,
            react_p,
            limit,
        );
        if let Some(t) = deleted {
            self.delete_message(gm.id, channel, parent, message_id, t);
        }
    }

    pub(super) fn bot_messages(&mut self, gm: &GuildM, size: ScenarioSize) {
        let bot_channel = gm.channel("bot-commands").id;
        let news = gm.channel("announcements").id;
        let per_bot_day = (f64::from(size.members_per_guild) / 8.0).max(1.0);
        for b in &gm.bots {
            for day in 0..size.days {
                let day_start = self.start + i64::from(day) * DAY;
                let n = self.poisson(per_bot_day * weekday_factor(day_start));
                for _ in 0..n {
                    let at =
                        day_start + self.pick(&MESSAGE_HOURS) as i64 * HOUR + self.between(0, HOUR);
                    let Some(joined) = b.member_at(at) else {
                        continue;
                    };
                    let embeds = u32::from(self.chance(0.7));
                    let id = self.message(
                        gm.id,
                        bot_channel,
                        None,
                        at,
                        &Author::User(b, joined),
                        0,
                        embeds,
                        &[],
                    );
                    self.follow_ups(
                        gm,
                        &gm.humans,
                        bot_channel,
                        None,
                        id,
                        at,
                        b.id,
                        AuthorKind::Bot,
                        0.05,
                    );
                }
            }
        }
        let (wid, wname) = (&gm.webhook.0, gm.webhook.1.as_str());
        for day in 0..size.days {
            let day_start = self.start + i64::from(day) * DAY;
            let n = self.poisson(4.0);
            for _ in 0..n {
                let at = day_start + self.between(6 * HOUR, 22 * HOUR);
                let attachments = u32::from(self.chance(0.3));
                let embeds = 1 + u32::from(self.chance(0.2));
                self.message(
                    gm.id,
                    news,
                    None,
                    at,
                    &Author::Webhook(*wid, wname),
                    attachments,
                    embeds,
                    &[],
                );
            }
        }
    }
}
