//! Reactions given by members to a message, some removed later.

use std::collections::BTreeSet;

use super::model::{GuildM, UserM};
use super::{Gen, MIN, SEC};
use crate::payload::{self, EmojiRef};
use crate::truth::{AuthorKind, ReactionFact};

impl Gen {
    /// Reactions (added, sometimes removed) before `limit`. Givers are human
    /// members other than the author.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn reactions_after(
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
        limit: i64,
    ) {
        if self.chance(react_p) {
            let mut count = 1;
            while count < 6 && self.chance(0.45) {
                count += 1;
            }
            let weights: Vec<f64> = gm.emoji.iter().map(|e| e.2).collect();
            let mut given = BTreeSet::new();
            for _ in 0..count {
                let r = at + SEC + self.exp_ms(45.0 * MIN as f64);
                if r >= limit {
                    continue;
                }
                let giver = &humans[self.between(0, humans.len() as i64) as usize];
                if giver.id == author {
                    continue;
                }
                let Some(joined) = giver.member_at(r) else {
                    continue;
                };
                let e = self.pick(&weights);
                if !given.insert((giver.id, e)) {
                    continue;
                }
                let (name, eid, _) = &gm.emoji[e];
                let (eref, key) = if *eid == 0 {
                    (EmojiRef::Unicode(name), name.clone())
                } else {
                    (EmojiRef::Custom { id: *eid, name }, format!("{name}:{eid}"))
                };
                let mut shape = payload::ReactionShape {
                    guild_id: gm.id,
                    channel_id: channel,
                    message_id,
                    user_id: giver.id,
                    user_name: &giver.name,
                    user_bot: false,
                    user_joined_ms: joined,
                    emoji: eref,
                    message_author_id: Some(author),
                };
                self.push(r, gm.id, "MESSAGE_REACTION_ADD", payload::reaction(&shape));
                let mut fact = ReactionFact {
                    at_ms: r,
                    guild_id: gm.id,
                    channel_id: channel,
                    thread_parent_id: parent,
                    message_id,
                    user_id: giver.id,
                    user_is_bot: false,
                    message_author_id: Some(author),
                    message_author_kind: Some(author_kind),
                    emoji: key,
                    added: true,
                };
                self.truth.reactions.push(fact.clone());
                if self.chance(0.12) {
                    let rr = r + SEC + self.exp_ms(20.0 * MIN as f64);
                    if rr < limit && giver.member_through(r, rr).is_some() {
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
        }
    }
}
