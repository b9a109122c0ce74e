//! Who is active, and the rankings (leaderboards).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{GroundTruth, Scope};

/// Active and total members for a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityRatio {
    /// [`GroundTruth::active_members`]: posted, reacted or sat in voice.
    pub active: u64,
    /// Distinct users who were members at some instant of the range.
    pub members: u64,
}

impl ActivityRatio {
    pub fn inactive(&self) -> u64 {
        self.members.saturating_sub(self.active)
    }
}

/// One leaderboard row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranked {
    pub user_id: u64,
    pub value: u64,
}

/// What a leaderboard ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaderboardMetric {
    /// [`GroundTruth::messages_per_member`].
    Messages,
    /// Whole seconds of [`GroundTruth::voice_ms_per_member`] (ms / 1000,
    /// rounded down after summing).
    VoiceSeconds,
    /// [`GroundTruth::reactions_given`] (adds only).
    ReactionsGiven,
    /// [`GroundTruth::reactions_received`] (adds only).
    ReactionsReceived,
}

impl GroundTruth {
    /// Active members, ServerPulse's one definition: distinct users who in
    /// the scope posted a counted message, added a reaction (adds only; a
    /// remove alone is not activity) or spent at least a whole second in
    /// voice (voice time is stored in seconds). Bots (and, for messages,
    /// webhooks) only with `include_bots`; the scope's channel filters
    /// apply to all three.
    pub fn active_members(&self, scope: &Scope) -> BTreeSet<u64> {
        let mut active: BTreeSet<u64> = self.messages_in(scope).map(|m| m.author_id).collect();
        active.extend(self.reactions_given(scope).into_keys());
        active.extend(
            self.voice_seconds(scope)
                .into_iter()
                .filter(|(_, seconds)| *seconds > 0)
                .map(|((_, user, _), _)| user),
        );
        active
    }

    /// `members`: distinct users (humans; bots too with `include_bots`) with
    /// a stint overlapping the effective range, i.e. `joined_ms < to_ms` and
    /// (`left_ms` is `None` or `left_ms > effective_from`): a member who
    /// joins exactly at `to_ms` or left exactly at the start is not counted.
    /// `active`: [`Self::active_members`] (always a subset). Inactive is
    /// `members - active`. The user filter of the scope is ignored here.
    pub fn activity_ratio(&self, scope: &Scope) -> ActivityRatio {
        let from = scope.effective_from();
        let members: BTreeSet<u64> = self
            .members
            .iter()
            .filter(|m| m.guild_id == scope.guild_id && (scope.include_bots || !m.is_bot))
            .filter(|m| m.joined_ms < scope.to_ms && m.left_ms.is_none_or(|l| l > from))
            .map(|m| m.user_id)
            .collect();
        let unscoped = Scope {
            user: None,
            ..scope.clone()
        };
        let active = self.active_members(&unscoped);
        ActivityRatio {
            active: active.len() as u64,
            members: members.len() as u64,
        }
    }

    /// [`Self::messages_per_member`] ranked (count desc, user id asc), first
    /// `limit` rows.
    pub fn top_messagers(&self, scope: &Scope, limit: usize) -> Vec<Ranked> {
        let mut rows = rank(self.messages_per_member(scope));
        rows.truncate(limit);
        rows
    }

    /// Full ranking for a metric (value desc, user id asc; zeros left out).
    pub fn leaderboard(&self, scope: &Scope, metric: LeaderboardMetric) -> Vec<Ranked> {
        match metric {
            LeaderboardMetric::Messages => rank(self.messages_per_member(scope)),
            LeaderboardMetric::VoiceSeconds => rank(
                self.voice_ms_per_member(scope)
                    .into_iter()
                    .map(|(u, ms)| (u, (ms / 1000) as u64))
                    .collect(),
            ),
            LeaderboardMetric::ReactionsGiven => rank(self.reactions_given(scope)),
            LeaderboardMetric::ReactionsReceived => rank(self.reactions_received(scope)),
        }
    }
}

fn rank(map: BTreeMap<u64, u64>) -> Vec<Ranked> {
    let mut rows: Vec<Ranked> = map
        .into_iter()
        .filter(|(_, v)| *v > 0)
        .map(|(user_id, value)| Ranked { user_id, value })
        .collect();
    rows.sort_by(|a, b| b.value.cmp(&a.value).then(a.user_id.cmp(&b.user_id)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking_breaks_ties_by_user_id_and_drops_zeros() {
        let rows = rank(BTreeMap::from([(5, 2), (3, 2), (9, 7), (1, 0)]));
        let pairs: Vec<(u64, u64)> = rows.iter().map(|r| (r.user_id, r.value)).collect();
        assert_eq!(pairs, vec![(9, 7), (3, 2), (5, 2)]);
    }
}
