//! Thread figures: threads created and archived per parent channel.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{GroundTruth, Scope};

/// Threads created and archived under one parent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadCounts {
    pub created: u64,
    pub archived: u64,
}

impl GroundTruth {
    /// Per parent channel: `THREAD_CREATE` events and archiving
    /// `THREAD_UPDATE` events in the range. Threads already open at the
    /// scenario start were never "created" in the stream. A thread passes
    /// the channel filters through its parent.
    pub fn threads_per_parent(&self, scope: &Scope) -> BTreeMap<u64, ThreadCounts> {
        let mut out: BTreeMap<u64, ThreadCounts> = BTreeMap::new();
        for t in &self.threads {
            if t.guild_id != scope.guild_id || !scope.admits_channel(t.thread_id, Some(t.parent_id))
            {
                continue;
            }
            if t.created_ms.is_some_and(|c| scope.admits_time(c)) {
                out.entry(t.parent_id).or_default().created += 1;
            }
            if t.archived_ms.is_some_and(|a| scope.admits_time(a)) {
                out.entry(t.parent_id).or_default().archived += 1;
            }
        }
        out
    }
}
