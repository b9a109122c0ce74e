//! Reaction figures: given, received, removed, per emoji, per local day,
//! and the finest grain.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::calendar::local;
use super::{AuthorKind, GroundTruth, ReactionFact, Scope, bump, hour_start};

/// Reaction adds and removes for one emoji.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmojiCounts {
    pub added: u64,
    pub removed: u64,
}

/// Reactions of one user in one channel and hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionCell {
    /// Adds by the user.
    pub given: u64,
    /// Removes by the user.
    pub removed: u64,
    /// Adds on the user's messages.
    pub received: u64,
}

impl GroundTruth {
    pub(super) fn reactions_in<'a>(
        &'a self,
        scope: &'a Scope,
    ) -> impl Iterator<Item = &'a ReactionFact> + 'a {
        self.reactions.iter().filter(move |r| {
            r.guild_id == scope.guild_id
                && scope.admits_time(r.at_ms)
                && scope.admits_channel(r.channel_id, r.thread_parent_id)
        })
    }

    /// Reaction adds per giver (removes are not subtracted). The user filter
    /// selects the giver; bot givers only with `include_bots`.
    pub fn reactions_given(&self, scope: &Scope) -> BTreeMap<u64, u64> {
        let mut out = BTreeMap::new();
        for r in self.reactions_in(scope).filter(|r| r.added) {
            if scope.admits_actor(r.user_id, r.user_is_bot) {
                bump(&mut out, r.user_id, 1);
            }
        }
        out
    }

    /// Reaction adds per message author, from `message_author_id` (removes
    /// carry no author and are not subtracted). The user filter selects the
    /// author; bot and webhook authors only with `include_bots`.
    pub fn reactions_received(&self, scope: &Scope) -> BTreeMap<u64, u64> {
        let mut out = BTreeMap::new();
        for r in self.reactions_in(scope).filter(|r| r.added) {
            let (Some(a), Some(kind)) = (r.message_author_id, r.message_author_kind) else {
                continue;
            };
            if scope.admits_actor(a, kind != AuthorKind::Member) {
                bump(&mut out, a, 1);
            }
        }
        out
    }

    /// Reaction adds per local calendar day in `tz`, by givers passing the
    /// user and bot filters.
    pub fn reactions_per_local_day(&self, scope: &Scope, tz: Tz) -> BTreeMap<NaiveDate, u64> {
        let mut out = BTreeMap::new();
        for r in self.reactions_in(scope).filter(|r| r.added) {
            if scope.admits_actor(r.user_id, r.user_is_bot) {
                bump(&mut out, local(r.at_ms, tz).date_naive(), 1);
            }
        }
        out
    }

    /// The finest reaction grain, per `(channel, user, UTC hour start)` of
    /// the reaction event: `given` and `removed` count the user's own adds
    /// and removes (as [`Self::reactions_given`] and
    /// [`Self::reactions_removed`]), `received` the adds on the user's
    /// messages (as [`Self::reactions_received`]).
    pub fn reaction_cells(&self, scope: &Scope) -> BTreeMap<(u64, u64, i64), ReactionCell> {
        let mut out: BTreeMap<(u64, u64, i64), ReactionCell> = BTreeMap::new();
        for r in self.reactions_in(scope) {
            let hour = hour_start(r.at_ms);
            if scope.admits_actor(r.user_id, r.user_is_bot) {
                let cell = out.entry((r.channel_id, r.user_id, hour)).or_default();
                if r.added {
                    cell.given += 1;
                } else {
                    cell.removed += 1;
                }
            }
            if let (true, Some(a), Some(kind)) =
                (r.added, r.message_author_id, r.message_author_kind)
                && scope.admits_actor(a, kind != AuthorKind::Member)
            {
                out.entry((r.channel_id, a, hour)).or_default().received += 1;
            }
        }
        out
    }

    /// Reaction removes per remover (the user who had reacted).
    pub fn reactions_removed(&self, scope: &Scope) -> BTreeMap<u64, u64> {
        let mut out = BTreeMap::new();
        for r in self.reactions_in(scope).filter(|r| !r.added) {
            if scope.admits_actor(r.user_id, r.user_is_bot) {
                bump(&mut out, r.user_id, 1);
            }
        }
        out
    }

    /// Adds and removes per emoji key (unicode text, or `name:id` for custom
    /// emoji), by givers passing the user and bot filters.
    pub fn reactions_per_emoji(&self, scope: &Scope) -> BTreeMap<String, EmojiCounts> {
        let mut out: BTreeMap<String, EmojiCounts> = BTreeMap::new();
        for r in self.reactions_in(scope) {
            if scope.admits_actor(r.user_id, r.user_is_bot) {
                let e = out.entry(r.emoji.clone()).or_default();
                if r.added {
                    e.added += 1;
                } else {
                    e.removed += 1;
                }
            }
        }
        out
    }
}
