//! In-memory rollup batches.
//!
//! The ingester aggregates events into a [`RollupBatch`] and flushes it with
//! one set-based statement per table ([`crate::db::rollups::flush_batch`]).
//! Because a batch is keyed exactly like the tables' primary keys, no flush
//! touches a row twice, and merging two batches gives the same rows as
//! flushing them one after the other.

// foldhash, not SipHash: the fold hashes every event's key into these maps,
// and the keys are ids, not attacker-chosen strings worth a DoS-resistant hash.
use foldhash::HashMap;

use serde::{Deserialize, Serialize};

use crate::ids::Snowflake;
use crate::time::Hour;

/// Who wrote a message. Member statistics count [`AuthorKind::Member`] only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum AuthorKind {
    #[default]
    Member,
    Bot,
    Webhook,
}

impl AuthorKind {
    pub fn to_db(self) -> i16 {
        match self {
            Self::Member => 0,
            Self::Bot => 1,
            Self::Webhook => 2,
        }
    }

    pub fn from_db(value: i16) -> Option<Self> {
        Some(match value {
            0 => Self::Member,
            1 => Self::Bot,
            2 => Self::Webhook,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageKey {
    pub guild_id: Snowflake,
    pub hour: Hour,
    pub channel_id: Snowflake,
    pub author_id: Snowflake,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MessageCounts {
    /// Parent channel when the message was posted in a thread.
    pub thread_parent_id: Option<Snowflake>,
    pub author_kind: AuthorKind,
    pub messages: i32,
    pub attachments: i32,
    pub embeds: i32,
    pub stickers: i32,
}

/// One message as the rollups see it (no content, ever).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageFacts {
    pub guild_id: Snowflake,
    pub hour: Hour,
    pub channel_id: Snowflake,
    pub thread_parent_id: Option<Snowflake>,
    pub author_id: Snowflake,
    pub author_kind: AuthorKind,
    pub attachments: i32,
    pub embeds: i32,
    pub stickers: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReactionKey {
    pub guild_id: Snowflake,
    pub hour: Hour,
    pub channel_id: Snowflake,
    /// Who reacted.
    pub user_id: Snowflake,
    /// Author of the message reacted to; `Snowflake(0)` when unknown.
    pub receiver_id: Snowflake,
    /// A unicode emoji, or `name:id` for a custom one.
    pub emoji: String,
}

/// A reaction added or removed live to a message posted before the guild's
/// tracking began: history will show it in the message's totals too, so a
/// history import takes it out of them (`pre_tracking_reactions`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PreTrackingReactionKey {
    pub guild_id: Snowflake,
    pub channel_id: Snowflake,
    pub message_id: Snowflake,
    /// As [`ReactionKey::emoji`].
    pub emoji: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReactionCounts {
    pub added: i32,
    pub removed: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VoiceKey {
    pub guild_id: Snowflake,
    pub hour: Hour,
    pub channel_id: Snowflake,
    pub user_id: Snowflake,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelHourKey {
    pub guild_id: Snowflake,
    pub hour: Hour,
    pub channel_id: Snowflake,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeletionCounts {
    pub deleted: i32,
    pub bulk_deleted: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GuildHourKey {
    pub guild_id: Snowflake,
    pub hour: Hour,
}

/// Guild-wide totals of one hour. Each figure counts everyone; the
/// `bot_*` fields are the bots' share of it (a reaction by a bot account,
/// a bot's voice time, a bot joining or leaving), so a figure with bots
/// left out is the difference. Messages split the same way by author:
/// `member_messages` against `messages` (bots and webhooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GuildHourly {
    pub messages: i32,
    pub member_messages: i32,
    pub attachments: i32,
    pub embeds: i32,
    pub stickers: i32,
    pub thread_messages: i32,
    pub reactions_added: i32,
    pub reactions_removed: i32,
    pub voice_seconds: i64,
    pub joins: i32,
    pub rejoins: i32,
    pub leaves: i32,
    pub deletions: i32,
    pub threads_created: i32,
    pub bot_reactions_added: i32,
    pub bot_reactions_removed: i32,
    pub bot_voice_seconds: i64,
    pub bot_joins: i32,
    pub bot_rejoins: i32,
    pub bot_leaves: i32,
}

impl GuildHourly {
    fn merge(&mut self, other: &Self) {
        self.messages += other.messages;
        self.member_messages += other.member_messages;
        self.attachments += other.attachments;
        self.embeds += other.embeds;
        self.stickers += other.stickers;
        self.thread_messages += other.thread_messages;
        self.reactions_added += other.reactions_added;
        self.reactions_removed += other.reactions_removed;
        self.voice_seconds += other.voice_seconds;
        self.joins += other.joins;
        self.rejoins += other.rejoins;
        self.leaves += other.leaves;
        self.deletions += other.deletions;
        self.threads_created += other.threads_created;
        self.bot_reactions_added += other.bot_reactions_added;
        self.bot_reactions_removed += other.bot_reactions_removed;
        self.bot_voice_seconds += other.bot_voice_seconds;
        self.bot_joins += other.bot_joins;
        self.bot_rejoins += other.bot_rejoins;
        self.bot_leaves += other.bot_leaves;
    }
}

/// Everything one flush writes, pre-aggregated by primary key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollupBatch {
    pub messages: HashMap<MessageKey, MessageCounts>,
    pub reactions: HashMap<ReactionKey, ReactionCounts>,
    pub voice_seconds: HashMap<VoiceKey, i32>,
    /// People in a voice channel at once, bots included: the hour's peak.
    pub voice_peaks: HashMap<ChannelHourKey, i32>,
    /// The same with bots left out (`voice_peak_rollup.member_peak`);
    /// a channel with only bots in it has no entry.
    pub member_voice_peaks: HashMap<ChannelHourKey, i32>,
    pub deletions: HashMap<ChannelHourKey, DeletionCounts>,
    pub guild_hourly: HashMap<GuildHourKey, GuildHourly>,
    /// People in voice in the guild at once (bots left out), the hour's
    /// peak: `guild_hourly.voice_peak`, the baseline of voice surges.
    pub guild_voice_peaks: HashMap<GuildHourKey, i32>,
    /// Live reactions to messages posted before tracking began, net (adds
    /// less removes) per message and emoji; also counted in `reactions`.
    pub pre_tracking_reactions: HashMap<PreTrackingReactionKey, i32>,
    /// Events folded into this batch (for metrics and flush triggers).
    pub events: u64,
}

impl RollupBatch {
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
            && self.reactions.is_empty()
            && self.voice_seconds.is_empty()
            && self.voice_peaks.is_empty()
            && self.member_voice_peaks.is_empty()
            && self.deletions.is_empty()
            && self.guild_hourly.is_empty()
            && self.guild_voice_peaks.is_empty()
            && self.pre_tracking_reactions.is_empty()
    }

    /// `people` in voice in a guild at one instant of the hour.
    pub fn observe_guild_voice(&mut self, key: GuildHourKey, people: i32) {
        let peak = self.guild_voice_peaks.entry(key).or_default();
        *peak = (*peak).max(people);
    }

    fn guild_hour(&mut self, guild_id: Snowflake, hour: Hour) -> &mut GuildHourly {
        self.guild_hourly
            .entry(GuildHourKey { guild_id, hour })
            .or_default()
    }

    pub fn add_message(&mut self, m: MessageFacts) {
        let key = MessageKey {
            guild_id: m.guild_id,
            hour: m.hour,
            channel_id: m.channel_id,
            author_id: m.author_id,
        };
        let row = self.messages.entry(key).or_insert_with(|| MessageCounts {
            thread_parent_id: m.thread_parent_id,
            author_kind: m.author_kind,
            ..MessageCounts::default()
        });
        row.messages += 1;
        row.attachments += m.attachments;
        row.embeds += m.embeds;
        row.stickers += m.stickers;
        let totals = self.guild_hour(m.guild_id, m.hour);
        totals.messages += 1;
        if m.author_kind == AuthorKind::Member {
            totals.member_messages += 1;
        }
        if m.thread_parent_id.is_some() {
            totals.thread_messages += 1;
        }
        totals.attachments += m.attachments;
        totals.embeds += m.embeds;
        totals.stickers += m.stickers;
        self.events += 1;
    }

    /// A reaction added or removed; `by_bot`: the reactor is a bot account.
    pub fn add_reaction(&mut self, key: ReactionKey, added: bool, by_bot: bool) {
        let (guild_id, hour) = (key.guild_id, key.hour);
        let row = self.reactions.entry(key).or_default();
        let totals_added = i32::from(added);
        let totals_removed = i32::from(!added);
        row.added += totals_added;
        row.removed += totals_removed;
        let totals = self.guild_hour(guild_id, hour);
        totals.reactions_added += totals_added;
        totals.reactions_removed += totals_removed;
        if by_bot {
            totals.bot_reactions_added += totals_added;
            totals.bot_reactions_removed += totals_removed;
        }
        self.events += 1;
    }

    /// A live reaction (already added with [`Self::add_reaction`]) to a
    /// message posted before the guild's tracking began.
    pub fn add_pre_tracking_reaction(&mut self, key: PreTrackingReactionKey, added: bool) {
        *self.pre_tracking_reactions.entry(key).or_default() += if added { 1 } else { -1 };
    }

    /// Voice time already split at hour boundaries by the caller; `bot`:
    /// the user is a bot account.
    pub fn add_voice_seconds(&mut self, key: VoiceKey, seconds: i32, bot: bool) {
        if seconds == 0 {
            return;
        }
        *self.voice_seconds.entry(key).or_default() += seconds;
        let totals = self.guild_hour(key.guild_id, key.hour);
        totals.voice_seconds += i64::from(seconds);
        if bot {
            totals.bot_voice_seconds += i64::from(seconds);
        }
    }

    /// Records that `everyone` people (bots included), `members` of them
    /// not bots, were in the channel at once during the hour; the stored
    /// peaks are the greatest such observations.
    pub fn observe_voice_concurrency(&mut self, key: ChannelHourKey, everyone: i32, members: i32) {
        let peak = self.voice_peaks.entry(key).or_default();
        *peak = (*peak).max(everyone);
        if members > 0 {
            let peak = self.member_voice_peaks.entry(key).or_default();
            *peak = (*peak).max(members);
        }
    }

    pub fn add_deletions(&mut self, key: ChannelHourKey, count: i32, bulk: bool) {
        let row = self.deletions.entry(key).or_default();
        if bulk {
            row.bulk_deleted += count;
        } else {
            row.deleted += count;
        }
        self.guild_hour(key.guild_id, key.hour).deletions += count;
        self.events += 1;
    }

    /// A member joined; `bot`: a bot account was added.
    pub fn add_join(&mut self, guild_id: Snowflake, hour: Hour, rejoin: bool, bot: bool) {
        let totals = self.guild_hour(guild_id, hour);
        totals.joins += 1;
        totals.rejoins += i32::from(rejoin);
        if bot {
            totals.bot_joins += 1;
            totals.bot_rejoins += i32::from(rejoin);
        }
        self.events += 1;
    }

    /// A member left; `bot`: a bot account was removed.
    pub fn add_leave(&mut self, guild_id: Snowflake, hour: Hour, bot: bool) {
        let totals = self.guild_hour(guild_id, hour);
        totals.leaves += 1;
        totals.bot_leaves += i32::from(bot);
        self.events += 1;
    }

    pub fn add_thread_created(&mut self, guild_id: Snowflake, hour: Hour) {
        self.guild_hour(guild_id, hour).threads_created += 1;
        self.events += 1;
    }

    /// The batch without per-member rows of the members `excluded` names
    /// (`/privacy delete`): their messages, reactions given and voice time
    /// leave the per-member rollups, reactions they received stay with an
    /// unknown receiver, and the guild-wide totals (`guild_hourly`, peaks,
    /// deletions) are untouched, so they still count anonymously.
    pub fn without_members(&self, excluded: impl Fn(Snowflake, Snowflake) -> bool) -> Self {
        let mut reactions: HashMap<ReactionKey, ReactionCounts> = HashMap::default();
        for (key, counts) in &self.reactions {
            if excluded(key.guild_id, key.user_id) {
                continue;
            }
            let mut key = key.clone();
            if key.receiver_id != Snowflake(0) && excluded(key.guild_id, key.receiver_id) {
                key.receiver_id = Snowflake(0);
            }
            let row = reactions.entry(key).or_default();
            row.added += counts.added;
            row.removed += counts.removed;
        }
        Self {
            messages: self
                .messages
                .iter()
                .filter(|(k, _)| !excluded(k.guild_id, k.author_id))
                .map(|(k, v)| (*k, *v))
                .collect(),
            reactions,
            voice_seconds: self
                .voice_seconds
                .iter()
                .filter(|(k, _)| !excluded(k.guild_id, k.user_id))
                .map(|(k, v)| (*k, *v))
                .collect(),
            ..self.clone()
        }
    }

    /// Folds `other` into `self`: the result flushes to the same rows as
    /// flushing both batches in turn.
    pub fn merge(&mut self, other: RollupBatch) {
        for (key, row) in other.messages {
            let mine = self.messages.entry(key).or_insert_with(|| MessageCounts {
                thread_parent_id: row.thread_parent_id,
                author_kind: row.author_kind,
                ..MessageCounts::default()
            });
            mine.messages += row.messages;
            mine.attachments += row.attachments;
            mine.embeds += row.embeds;
            mine.stickers += row.stickers;
        }
        for (key, row) in other.reactions {
            let mine = self.reactions.entry(key).or_default();
            mine.added += row.added;
            mine.removed += row.removed;
        }
        for (key, seconds) in other.voice_seconds {
            *self.voice_seconds.entry(key).or_default() += seconds;
        }
        for (key, peak) in other.voice_peaks {
            let mine = self.voice_peaks.entry(key).or_default();
            *mine = (*mine).max(peak);
        }
        for (key, peak) in other.member_voice_peaks {
            let mine = self.member_voice_peaks.entry(key).or_default();
            *mine = (*mine).max(peak);
        }
        for (key, row) in other.deletions {
            let mine = self.deletions.entry(key).or_default();
            mine.deleted += row.deleted;
            mine.bulk_deleted += row.bulk_deleted;
        }
        for (key, row) in other.guild_hourly {
            self.guild_hourly.entry(key).or_default().merge(&row);
        }
        for (key, peak) in other.guild_voice_peaks {
            self.observe_guild_voice(key, peak);
        }
        for (key, delta) in other.pre_tracking_reactions {
            *self.pre_tracking_reactions.entry(key).or_default() += delta;
        }
        self.events += other.events;
    }

    /// The distinct months the batch touches (each needs its partitions).
    pub fn months(&self) -> Vec<chrono::DateTime<chrono::Utc>> {
        let mut months: Vec<_> = self
            .guild_hourly
            .keys()
            .map(|k| k.hour.month_start())
            .collect();
        months.extend(self.voice_peaks.keys().map(|k| k.hour.month_start()));
        months.extend(self.guild_voice_peaks.keys().map(|k| k.hour.month_start()));
        months.sort_unstable();
        months.dedup();
        months
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn hour(h: u32) -> Hour {
        Hour::containing(Utc.with_ymd_and_hms(2026, 10, 1, h, 0, 0).unwrap())
    }

    fn message(h: u32, author: u64) -> MessageFacts {
        MessageFacts {
            guild_id: Snowflake(1),
            hour: hour(h),
            channel_id: Snowflake(10),
            thread_parent_id: None,
            author_id: Snowflake(author),
            author_kind: AuthorKind::Member,
            attachments: 1,
            embeds: 0,
            stickers: 2,
        }
    }

    #[test]
    fn messages_aggregate_by_key_and_feed_guild_totals() {
        let mut batch = RollupBatch::default();
        batch.add_message(message(3, 100));
        batch.add_message(message(3, 100));
        batch.add_message(MessageFacts {
            author_kind: AuthorKind::Bot,
            ..message(3, 200)
        });
        assert_eq!(batch.messages.len(), 2);
        let row = batch.messages[&MessageKey {
            guild_id: Snowflake(1),
            hour: hour(3),
            channel_id: Snowflake(10),
            author_id: Snowflake(100),
        }];
        assert_eq!((row.messages, row.attachments, row.stickers), (2, 2, 4));
        let totals = batch.guild_hourly[&GuildHourKey {
            guild_id: Snowflake(1),
            hour: hour(3),
        }];
        assert_eq!(
            (totals.messages, totals.member_messages, totals.attachments),
            (3, 2, 3)
        );
        assert_eq!(batch.events, 3);
    }

    #[test]
    fn merge_equals_adding_everything_to_one_batch() {
        let mut a = RollupBatch::default();
        let mut b = RollupBatch::default();
        let mut both = RollupBatch::default();
        let peak_key = ChannelHourKey {
            guild_id: Snowflake(1),
            hour: hour(5),
            channel_id: Snowflake(7),
        };
        for (target, author, peak) in [(&mut a, 100, 3), (&mut b, 101, 2)] {
            target.add_message(message(4, author));
            target.add_message(message(5, 100));
            target.observe_voice_concurrency(peak_key, peak, peak - 1);
            target.add_deletions(peak_key, 4, author == 101);
        }
        for (author, peak) in [(100, 3), (101, 2)] {
            both.add_message(message(4, author));
            both.add_message(message(5, 100));
            both.observe_voice_concurrency(peak_key, peak, peak - 1);
            both.add_deletions(peak_key, 4, author == 101);
        }
        a.merge(b);
        assert_eq!(a, both);
        assert_eq!(a.voice_peaks[&peak_key], 3, "peaks merge with max, not sum");
        assert_eq!(a.member_voice_peaks[&peak_key], 2);
        assert_eq!(
            a.deletions[&peak_key],
            DeletionCounts {
                deleted: 4,
                bulk_deleted: 4
            }
        );
    }
}
