//! What Discord's message history shows at an instant: the messages posted
//! before it that were not deleted by then (in channels that still exist),
//! each with its reactions as they stand (adds less removes, per emoji, by
//! anyone), and the members present then with their `joined_at`. A
//! backfill reads exactly this, so its figures are compared with these.

use std::collections::BTreeMap;

use super::{GroundTruth, MembershipFact, MessageFact, Scope};

impl GroundTruth {
    /// Whether the channel (or, for a thread, its parent) was deleted
    /// before `at_ms`.
    fn channel_gone(&self, guild_id: u64, channel: u64, at_ms: i64) -> bool {
        self.channels.iter().any(|c| {
            c.guild_id == guild_id
                && c.channel_id == channel
                && c.deleted_ms.is_some_and(|d| d < at_ms)
        })
    }

    /// Messages passing `scope` that a channel's history shows at `at_ms`:
    /// posted before it, not deleted before it, in a channel (and thread
    /// parent) not deleted before it.
    pub fn history_messages(&self, scope: &Scope, at_ms: i64) -> Vec<&MessageFact> {
        let deleted: std::collections::BTreeSet<u64> = self
            .deletions
            .iter()
            .filter(|d| d.guild_id == scope.guild_id && d.at_ms < at_ms)
            .flat_map(|d| d.message_ids.iter().copied())
            .collect();
        self.messages
            .iter()
            .filter(|m| {
                m.at_ms < at_ms
                    && scope.admits_message(m)
                    && !deleted.contains(&m.message_id)
                    && !self.channel_gone(m.guild_id, m.channel_id, at_ms)
                    && m.thread_parent_id
                        .is_none_or(|p| !self.channel_gone(m.guild_id, p, at_ms))
            })
            .collect()
    }

    /// Reactions on the messages of [`Self::history_messages`] as history
    /// shows them at `at_ms`: per message and emoji, adds less removes made
    /// before `at_ms` (by anyone, bots included: history does not say who
    /// reacted); emoji at zero are left out.
    pub fn history_reactions(&self, scope: &Scope, at_ms: i64) -> BTreeMap<(u64, String), u64> {
        let shown: std::collections::BTreeSet<u64> = self
            .history_messages(scope, at_ms)
            .iter()
            .map(|m| m.message_id)
            .collect();
        let mut net: BTreeMap<(u64, String), i64> = BTreeMap::new();
        for r in self.reactions.iter().filter(|r| {
            r.guild_id == scope.guild_id && r.at_ms < at_ms && shown.contains(&r.message_id)
        }) {
            *net.entry((r.message_id, r.emoji.clone())).or_insert(0) +=
                if r.added { 1 } else { -1 };
        }
        net.into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| (k, n as u64))
            .collect()
    }

    /// The guild's members at `at_ms` (joined before it, not left before
    /// it), bots included: the member list as Discord lists it then.
    pub fn members_at(&self, guild_id: u64, at_ms: i64) -> Vec<&MembershipFact> {
        self.members
            .iter()
            .filter(|m| {
                m.guild_id == guild_id
                    && m.joined_ms < at_ms
                    && m.left_ms.is_none_or(|l| l >= at_ms)
            })
            .collect()
    }
}
