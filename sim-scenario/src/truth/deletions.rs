//! Deletion figures: deleted messages per channel and hour, and delete
//! events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{DeletionFact, GroundTruth, Scope, bump, hour_start};

/// Deletion events in a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionSummary {
    /// `MESSAGE_DELETE` events.
    pub single_events: u64,
    /// `MESSAGE_DELETE_BULK` events.
    pub bulk_events: u64,
    /// Messages deleted: singles plus every id of every bulk event.
    pub messages: u64,
}

impl GroundTruth {
    pub(super) fn deletions_in<'a>(
        &'a self,
        scope: &'a Scope,
    ) -> impl Iterator<Item = &'a DeletionFact> + 'a {
        self.deletions.iter().filter(move |d| {
            d.guild_id == scope.guild_id
                && scope.admits_time(d.at_ms)
                && scope.admits_channel(d.channel_id, d.thread_parent_id)
        })
    }

    /// Messages deleted per `(channel, UTC hour start)`, counted at the time
    /// of the delete event (whenever the messages were sent), under the
    /// channel the event names (the thread, for thread messages); a bulk
    /// event counts each of its ids. Who wrote the deleted messages is
    /// unknown to a gateway client, so the user and bot filters don't apply.
    pub fn deletions_per_channel_hour(&self, scope: &Scope) -> BTreeMap<(u64, i64), u64> {
        let mut out = BTreeMap::new();
        for d in self.deletions_in(scope) {
            bump(
                &mut out,
                (d.channel_id, hour_start(d.at_ms)),
                u64::from(d.count),
            );
        }
        out
    }

    /// Delete events and deleted messages in the range (same rules as
    /// [`Self::deletions_per_channel_hour`]).
    pub fn deletion_summary(&self, scope: &Scope) -> DeletionSummary {
        let mut s = DeletionSummary::default();
        for d in self.deletions_in(scope) {
            if d.bulk {
                s.bulk_events += 1;
            } else {
                s.single_events += 1;
            }
            s.messages += u64::from(d.count);
        }
        s
    }
}
