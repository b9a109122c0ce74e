//! Ground truth: the facts of a scenario and straightforward queries over them.
//!
//! Everything here is deliberately naive (linear scans over fact lists) so
//! that it is obviously right and shares nothing with the product's rollups.
//!
//! # Conventions shared by every query
//! - Times are Unix milliseconds, UTC. A range is half-open: an event at
//!   exactly `from_ms` counts, one at exactly `to_ms` does not.
//! - The range actually used is [`Scope::effective_from`]..`to_ms`, where the
//!   effective start is the later of `from_ms` and `tracking_since_ms`: events
//!   before tracking was enabled never count.
//! - An event's time is its dispatch time, `Dispatch::at_ms`: for a message
//!   that is its snowflake time, for a join its `joined_at`; a deletion counts
//!   at its delete event (not when the deleted messages were sent), a
//!   reaction at its add/remove event, a leave at its remove event, voice at
//!   its state updates, an archive at its `THREAD_UPDATE`. Events that carry
//!   no time of their own are thus timed as a client living through the
//!   scenario would see them arrive; a fast replay has to give the client
//!   that clock (the scenario time of the dispatch) for hourly figures of
//!   those events to match.
//! - Channel filters (see [`Scope::admits_channel`]): a thread counts as
//!   collected, and as "in" a channel, when its parent is.
//! - Bots and webhooks are left out unless [`Scope::include_bots`] is set:
//!   as authors (messages, reactions received), reactors, voice users and
//!   members (joins, counts, activity).
//! - [`Scope::user`] selects the acting user: the author, the reactor (the
//!   author for reactions received), the voice user, the joining member.
//! - Deletions and thread counts ignore both the bot and the user filter (a
//!   gateway client isn't told who wrote a deleted message).
//! - "Hour" means a UTC clock hour `[h, h + 3_600_000)` keyed by its start in
//!   Unix ms; local days and weekday/hour cells use the given `chrono_tz::Tz`.
//! - Rankings sort by value descending, then user id ascending, and leave
//!   out zero values.

mod activity;
mod alerts;
mod calendar;
pub use calendar::{bucket_end, bucket_start};
mod deletions;
mod facts;
mod figures;
mod history;
mod membership;
mod messages;
mod reactions;
mod scope;
mod threads;
mod voice;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use activity::{ActivityRatio, LeaderboardMetric, Ranked};
pub use alerts::{AlertKind, AlertParams, ExpectedIncident, IncidentDetail, KindParams, WEEK_MS};
pub use deletions::DeletionSummary;
pub use facts::*;
pub use figures::{Concentration, FirstReplies, FirstReply, Participation};
pub use membership::{Activation, Growth, Retention};
pub use messages::ContentCounts;
pub use reactions::{EmojiCounts, ReactionCell};
pub use scope::Scope;
pub use threads::ThreadCounts;

/// One UTC hour in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// Start (Unix ms) of the UTC hour containing `t`.
pub fn hour_start(t: i64) -> i64 {
    t.div_euclid(HOUR_MS) * HOUR_MS
}

/// Everything that happened in a scenario, as the generator's model knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    pub seed: u64,
    pub start_ms: i64,
    /// End of the scenario (exclusive): `start_ms + days * DAY_MS`.
    pub end_ms: i64,
    pub guild_ids: Vec<u64>,
    /// Every channel and thread that ever existed.
    pub channels: Vec<ChannelFact>,
    pub threads: Vec<ThreadFact>,
    /// Membership stints, bots included.
    pub members: Vec<MembershipFact>,
    pub messages: Vec<MessageFact>,
    pub deletions: Vec<DeletionFact>,
    pub reactions: Vec<ReactionFact>,
    pub voice: Vec<VoiceInterval>,
    /// The join raid (in the first guild).
    pub raid: Option<JoinRaid>,
    /// The raid's messages wiped by bulk deletion.
    pub mass_deletion: Option<MassDeletion>,
    /// The planted activity drop (first guild, scenarios of 21 days or
    /// more). Left out of the serialized truth when absent, so shorter
    /// scenarios serialize as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_drop: Option<PlantedDrop>,
    /// The planted voice surge (first guild, scenarios of 21 days or more);
    /// serialized only when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_surge: Option<PlantedSurge>,
}

pub(super) fn bump<K: Ord>(map: &mut BTreeMap<K, u64>, key: K, by: u64) {
    *map.entry(key).or_insert(0) += by;
}

impl GroundTruth {
    /// No facts yet: what the generator and the script start from.
    pub(crate) fn empty(seed: u64, start_ms: i64, end_ms: i64, guild_ids: Vec<u64>) -> Self {
        Self {
            seed,
            start_ms,
            end_ms,
            guild_ids,
            channels: Vec::new(),
            threads: Vec::new(),
            members: Vec::new(),
            messages: Vec::new(),
            deletions: Vec::new(),
            reactions: Vec::new(),
            voice: Vec::new(),
            raid: None,
            mass_deletion: None,
            activity_drop: None,
            voice_surge: None,
        }
    }

    /// Orders every fact list by time (then id), as the generator leaves them.
    pub fn sort(&mut self) {
        self.channels.sort_by_key(|c| (c.guild_id, c.channel_id));
        self.threads.sort_by_key(|t| (t.guild_id, t.thread_id));
        self.members
            .sort_by_key(|m| (m.guild_id, m.joined_ms, m.user_id));
        self.messages.sort_by_key(|m| (m.at_ms, m.message_id));
        self.deletions.sort_by_key(|d| (d.at_ms, d.channel_id));
        self.reactions
            .sort_by_key(|r| (r.at_ms, r.message_id, r.user_id, r.added));
        self.voice
            .sort_by_key(|v| (v.start_ms, v.user_id, v.channel_id));
    }

    fn is_bot(&self, guild_id: u64, user_id: u64) -> bool {
        self.members
            .iter()
            .any(|m| m.guild_id == guild_id && m.user_id == user_id && m.is_bot)
    }

    /// The guild's channels and threads (every one that ever existed).
    pub fn channels_of(&self, guild_id: u64) -> Vec<&ChannelFact> {
        self.channels
            .iter()
            .filter(|c| c.guild_id == guild_id)
            .collect()
    }

    /// The guild's channels and threads that @everyone may not view (see
    /// [`ChannelFact::everyone_can_view`]).
    pub fn private_channels(&self, guild_id: u64) -> Vec<&ChannelFact> {
        self.channels_of(guild_id)
            .into_iter()
            .filter(|c| !c.everyone_can_view)
            .collect()
    }

    /// Whether `user_id` is a bot account in the guild.
    pub fn user_is_bot(&self, guild_id: u64, user_id: u64) -> bool {
        self.is_bot(guild_id, user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_start_floors_toward_the_past() {
        assert_eq!(hour_start(0), 0);
        assert_eq!(hour_start(HOUR_MS - 1), 0);
        assert_eq!(hour_start(HOUR_MS), HOUR_MS);
        assert_eq!(hour_start(-1), -HOUR_MS);
    }
}
