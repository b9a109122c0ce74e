//! Membership figures: growth (joins, leaves, rejoins), member counts,
//! activation and retention of join cohorts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::calendar::local;
use super::{DAY_MS, GroundTruth, MembershipFact, Scope};

/// New-member activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activation {
    /// Joins (stints, rejoins included) in the range.
    pub joined: u64,
    /// Of those, joins followed by a counted message within 7 days.
    pub activated: u64,
}

/// Retention of a join cohort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// Joins (stints, rejoins included) in the range.
    pub cohort: u64,
    /// Joins with `joined + 7 days <= as_of_ms`.
    pub eligible_7d: u64,
    /// Of the eligible, users who were members at `joined + 7 days`.
    pub retained_7d: u64,
    pub eligible_30d: u64,
    pub retained_30d: u64,
}

/// Membership movements in a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Growth {
    /// `GUILD_MEMBER_ADD` events (rejoins included).
    pub joins: u64,
    /// `GUILD_MEMBER_REMOVE` events.
    pub leaves: u64,
    /// Joins of users who had left this guild earlier (a leave at or after
    /// the tracking start, if set, and before this join).
    pub rejoins: u64,
    /// `joins - leaves`.
    pub net: i64,
}

impl GroundTruth {
    pub(super) fn stints<'a>(
        &'a self,
        scope: &'a Scope,
    ) -> impl Iterator<Item = &'a MembershipFact> + 'a {
        self.members.iter().filter(move |m| {
            m.guild_id == scope.guild_id && scope.admits_actor(m.user_id, m.is_bot)
        })
    }

    /// Joins (`GUILD_MEMBER_ADD`, by `joined_at`), leaves and rejoins whose
    /// event time is in the effective range (a join exactly at `to_ms` belongs
    /// to the next range). Members present at the scenario start never
    /// "joined" in the stream and are not joins. Channel filters don't apply;
    /// the user filter does.
    pub fn growth(&self, scope: &Scope) -> Growth {
        let mut g = Growth::default();
        for m in self.stints(scope) {
            if !m.initial && scope.admits_time(m.joined_ms) {
                g.joins += 1;
                g.rejoins += u64::from(self.is_rejoin(m, scope));
            }
            if m.left_ms.is_some_and(|l| scope.admits_time(l)) {
                g.leaves += 1;
            }
        }
        g.net = g.joins as i64 - g.leaves as i64;
        g
    }

    /// [`Self::growth`]'s joins and leaves per local calendar day in `tz`
    /// (`net` per day; `rejoins` as in `growth`).
    pub fn growth_per_local_day(&self, scope: &Scope, tz: Tz) -> BTreeMap<NaiveDate, Growth> {
        let mut out: BTreeMap<NaiveDate, Growth> = BTreeMap::new();
        let empty = Growth::default();
        for m in self.stints(scope) {
            if !m.initial && scope.admits_time(m.joined_ms) {
                let day = local(m.joined_ms, tz).date_naive();
                let g = out.entry(day).or_insert(empty);
                g.joins += 1;
                g.rejoins += u64::from(self.is_rejoin(m, scope));
                g.net += 1;
            }
            if let Some(l) = m.left_ms.filter(|l| scope.admits_time(*l)) {
                let g = out.entry(local(l, tz).date_naive()).or_insert(empty);
                g.leaves += 1;
                g.net -= 1;
            }
        }
        out
    }

    /// The user left this guild before this join, at or after the tracking
    /// start when one is set.
    pub(super) fn is_rejoin(&self, join: &MembershipFact, scope: &Scope) -> bool {
        self.members.iter().any(|p| {
            p.guild_id == join.guild_id
                && p.user_id == join.user_id
                && p.left_ms.is_some_and(|l| {
                    l <= join.joined_ms && scope.tracking_since_ms.is_none_or(|t| l >= t)
                })
        })
    }

    /// Members at instant `t`: stints with `joined_ms <= t` and (`left_ms`
    /// `None` or `t < left_ms`). A join at `t` is in, a leave at `t` is out.
    /// Bots only when `include_bots`.
    pub fn member_count_at(&self, guild_id: u64, t: i64, include_bots: bool) -> u64 {
        self.members
            .iter()
            .filter(|m| m.guild_id == guild_id && (include_bots || !m.is_bot))
            .filter(|m| m.joined_ms <= t && m.left_ms.is_none_or(|l| t < l))
            .count() as u64
    }

    pub(super) fn is_member_at(&self, guild_id: u64, user_id: u64, t: i64) -> bool {
        self.members.iter().any(|m| {
            m.guild_id == guild_id
                && m.user_id == user_id
                && m.joined_ms <= t
                && m.left_ms.is_none_or(|l| t < l)
        })
    }

    /// Joins (as in [`Self::growth`], each stint separately) in the effective
    /// range; a join is
    /// activated when the same user has a message with
    /// `joined_ms <= at_ms < joined_ms + 7 days` that passes the scope's
    /// channel filters and tracking start (the 7-day window may run past
    /// `to_ms`; only data up to the scenario end exists).
    pub fn activation(&self, scope: &Scope) -> Activation {
        let joins: Vec<&MembershipFact> = self
            .stints(scope)
            .filter(|m| !m.initial && scope.admits_time(m.joined_ms))
            .collect();
        let joiners: BTreeSet<u64> = joins.iter().map(|m| m.user_id).collect();
        // Posts of the joiners that pass the channel filters and tracking start.
        let any_time = Scope {
            from_ms: i64::MIN,
            to_ms: i64::MAX,
            user: None,
            include_bots: true,
            ..scope.clone()
        };
        let mut posts: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
        for m in self
            .messages_in(&any_time)
            .filter(|m| joiners.contains(&m.author_id))
        {
            posts.entry(m.author_id).or_default().push(m.at_ms);
        }
        let activated = joins
            .iter()
            .filter(|m| {
                posts.get(&m.user_id).is_some_and(|times| {
                    times
                        .iter()
                        .any(|t| m.joined_ms <= *t && *t < m.joined_ms + 7 * DAY_MS)
                })
            })
            .count();
        Activation {
            joined: joins.len() as u64,
            activated: activated as u64,
        }
    }

    /// The cohort is the joins (as in [`Self::growth`], each stint) in the
    /// effective range, e.g. one week. A join is
    /// eligible for N days when `joined_ms + N days <= as_of_ms`, and retained
    /// when the user is a member (any stint) at instant `joined_ms + N days`.
    pub fn retention(&self, scope: &Scope, as_of_ms: i64) -> Retention {
        let mut r = Retention {
            cohort: 0,
            eligible_7d: 0,
            retained_7d: 0,
            eligible_30d: 0,
            retained_30d: 0,
        };
        for m in self
            .stints(scope)
            .filter(|m| !m.initial && scope.admits_time(m.joined_ms))
        {
            r.cohort += 1;
            let (t7, t30) = (m.joined_ms + 7 * DAY_MS, m.joined_ms + 30 * DAY_MS);
            if t7 <= as_of_ms {
                r.eligible_7d += 1;
                r.retained_7d += u64::from(self.is_member_at(m.guild_id, m.user_id, t7));
            }
            if t30 <= as_of_ms {
                r.eligible_30d += 1;
                r.retained_30d += u64::from(self.is_member_at(m.guild_id, m.user_id, t30));
            }
        }
        r
    }
}
