//! History read back from Discord, as the rollups see it: a message of a
//! channel's history (`GET /channels/{id}/messages`, without the
//! message-content intent) and a member of the member list, folded into a
//! [`RollupBatch`] with the batch's own methods and the guild's
//! [`Bucketing`] (its local hours), so the buckets and figures are those of
//! live ingestion.
//!
//! What history can tell: who wrote each message (bot, webhook or member),
//! when (its id), where (channel, thread and parent), stickers (attachments
//! and embeds come empty without the content intent, as on the gateway),
//! and each message's reactions as totals per emoji. Not who reacted: those
//! totals count as reactions received by the author (given by an unknown
//! member, [`UNKNOWN_REACTOR`]), never as reactions given, and with no
//! bots' share. Joins come from present members' `joined_at`; leaves,
//! voice and deletions are not in history.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::bucketing::Bucketing;
use crate::db::catalogue::ChannelRow;
use crate::ids::Snowflake;
use crate::rollup::{AuthorKind, MessageFacts, ReactionKey, RollupBatch};

/// The giver of reactions imported from history: Discord's totals do not
/// say who reacted. Rankings of reactions given leave it out.
pub const UNKNOWN_REACTOR: Snowflake = Snowflake(0);

#[derive(Debug, Clone, Deserialize)]
pub struct HistoryUser {
    pub id: Snowflake,
    #[serde(default)]
    pub bot: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HistoryEmoji {
    #[serde(default)]
    pub id: Option<Snowflake>,
    #[serde(default)]
    pub name: Option<String>,
}

impl HistoryEmoji {
    /// `"👍"` for a unicode emoji, `"name:id"` for a custom one: the key
    /// live ingestion stores.
    pub fn key(&self) -> String {
        match (&self.id, &self.name) {
            (Some(id), Some(name)) => format!("{name}:{id}"),
            (Some(id), None) => format!(":{id}"),
            (None, Some(name)) => name.clone(),
            (None, None) => String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct HistoryReaction {
    pub count: i32,
    pub emoji: HistoryEmoji,
}

/// A message of a channel's history: only what the rollups count (content
/// is never read).
#[derive(Debug, Clone, Deserialize)]
pub struct HistoryMessage {
    pub id: Snowflake,
    pub author: HistoryUser,
    #[serde(default)]
    pub webhook_id: Option<Snowflake>,
    #[serde(default)]
    pub attachments: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    pub embeds: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    pub sticker_items: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    pub reactions: Vec<HistoryReaction>,
}

impl HistoryMessage {
    /// When it was posted (its id's time).
    pub fn at(&self) -> DateTime<Utc> {
        self.id.created_at()
    }

    fn author(&self) -> (Snowflake, AuthorKind) {
        match self.webhook_id {
            Some(webhook) => (webhook, AuthorKind::Webhook),
            None if self.author.bot => (self.author.id, AuthorKind::Bot),
            None => (self.author.id, AuthorKind::Member),
        }
    }
}

/// Reactions live ingestion counted (after tracking began) on messages
/// posted before it, net per message and emoji (`pre_tracking_reactions`):
/// history's totals include them, the import takes them out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveReactions(HashMap<Snowflake, Vec<(String, i32)>>);

impl LiveReactions {
    /// Adds `delta` (adds less removes) of `emoji` on `message`.
    pub fn add(&mut self, message: Snowflake, emoji: String, delta: i32) {
        let emojis = self.0.entry(message).or_default();
        match emojis.iter_mut().find(|(e, _)| *e == emoji) {
            Some((_, d)) => *d += delta,
            None => emojis.push((emoji, delta)),
        }
    }

    fn of(&self, message: Snowflake) -> &[(String, i32)] {
        self.0.get(&message).map_or(&[], Vec::as_slice)
    }
}

/// A message's reactions per emoji key as they stood when tracking began:
/// history's totals (as they stand when the page is read) less what live
/// ingestion counted since (an emoji removed since is absent from history
/// and comes back from the live removals).
fn reactions_before_tracking(message: &HistoryMessage, live: &LiveReactions) -> Vec<(String, i32)> {
    let mut counts: Vec<(String, i32)> = message
        .reactions
        .iter()
        .map(|r| (r.emoji.key(), r.count.max(0)))
        .collect();
    for (emoji, delta) in live.of(message.id) {
        match counts.iter_mut().find(|(e, _)| e == emoji) {
            Some((_, count)) => *count -= delta,
            None => counts.push((emoji.clone(), -delta)),
        }
    }
    counts
}

/// Adds one history message of `channel_id` (a thread's messages carry
/// its `thread_parent_id`) to `batch`: the message as live ingestion
/// counts it, and its reactions as they stood when tracking began (less
/// the `live` ones, counted by live ingestion in their own hours) as
/// received by its author.
pub fn add_message(
    batch: &mut RollupBatch,
    bucketing: Bucketing,
    guild_id: Snowflake,
    channel_id: Snowflake,
    thread_parent_id: Option<Snowflake>,
    message: &HistoryMessage,
    live: &LiveReactions,
) {
    let hour = bucketing.containing(message.at());
    let (author_id, author_kind) = message.author();
    batch.add_message(MessageFacts {
        guild_id,
        hour,
        channel_id,
        thread_parent_id,
        author_id,
        author_kind,
        attachments: message.attachments.len() as i32,
        embeds: message.embeds.len() as i32,
        stickers: message.sticker_items.len() as i32,
    });
    for (emoji, count) in reactions_before_tracking(message, live) {
        let key = ReactionKey {
            guild_id,
            hour,
            channel_id,
            user_id: UNKNOWN_REACTOR,
            receiver_id: author_id,
            emoji,
        };
        for _ in 0..count.max(0) {
            batch.add_reaction(key.clone(), true, false);
        }
    }
}

/// A member of `GET /guilds/{id}/members`.
#[derive(Debug, Clone, Deserialize)]
pub struct ListedMember {
    pub user: HistoryUser,
    #[serde(default)]
    pub joined_at: Option<DateTime<Utc>>,
}

/// Adds the join of a present member who joined within `[from, until)`;
/// returns whether it did. Whether it was a rejoin is not known (history
/// keeps no leaves), so it counts as a first join.
pub fn add_join(
    batch: &mut RollupBatch,
    bucketing: Bucketing,
    guild_id: Snowflake,
    member: &ListedMember,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> bool {
    match member.joined_at {
        Some(joined) if joined >= from && joined < until => {
            batch.add_join(
                guild_id,
                bucketing.containing(joined),
                false,
                member.user.bot,
            );
            true
        }
        _ => false,
    }
}

/// A channel or thread as `GET /guilds/{id}/channels`, `GET
/// /guilds/{id}/threads/active` and the archived-threads listings show it:
/// what the catalogue keeps of it.
#[derive(Debug, Clone, Deserialize)]
pub struct ListedChannel {
    pub id: Snowflake,
    #[serde(rename = "type")]
    pub kind: i16,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub parent_id: Option<Snowflake>,
    #[serde(default)]
    pub permission_overwrites: Vec<ListedOverwrite>,
    #[serde(default)]
    pub thread_metadata: Option<ListedThreadMetadata>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ListedOverwrite {
    pub id: Snowflake,
    /// 0 a role, 1 a member.
    #[serde(rename = "type")]
    pub kind: u8,
    /// Permission bits as a decimal string.
    pub allow: String,
    pub deny: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ListedThreadMetadata {
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub archive_timestamp: Option<DateTime<Utc>>,
}

/// A page of a threads listing (`threads/active`, `threads/archived/…`).
#[derive(Debug, Clone, Deserialize)]
pub struct ThreadListing {
    pub threads: Vec<ListedChannel>,
    #[serde(default)]
    pub has_more: bool,
}

impl ListedChannel {
    pub fn is_thread(&self) -> bool {
        matches!(self.kind, 10..=12)
    }

    /// When an archived thread was archived.
    pub fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.thread_metadata
            .as_ref()
            .filter(|m| m.archived)
            .and_then(|m| m.archive_timestamp)
    }

    /// The catalogue row live ingestion would write for it (the @everyone
    /// overwrite as allow and deny bits, as the ingester keeps them, so
    /// whether it is private is decided the same way), seen at `now`.
    pub fn catalogue_row(&self, guild_id: Snowflake, now: DateTime<Utc>) -> ChannelRow {
        let bits = |text: &str| text.parse::<u64>().map_or(0, |b| b as i64);
        let (everyone_allow, everyone_deny) = self
            .permission_overwrites
            .iter()
            .find(|o| o.kind == 0 && o.id == guild_id)
            .map_or((0, 0), |o| (bits(&o.allow), bits(&o.deny)));
        let archived_at = self.archived_at();
        let created = self.id.created_at();
        ChannelRow {
            guild_id,
            channel_id: self.id,
            kind: self.kind,
            name: self.name.clone().unwrap_or_default(),
            parent_id: self.parent_id,
            archived: archived_at.is_some(),
            archived_at,
            created_at: crate::time::wire_time(created, now).unwrap_or(now),
            deleted_at: None,
            everyone_allow,
            everyone_deny,
            // History does not say who replied first; the figure leaves
            // out threads created before tracking began.
            owner_id: None,
            first_reply_at: None,
            first_bot_reply_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollup::GuildHourKey;
    use crate::time::Hour;

    #[test]
    fn a_listed_channel_keeps_the_everyone_overwrite_as_the_ingester_does() {
        let json = serde_json::json!({
            "id": "300", "type": 0, "name": "mods", "guild_id": "7",
            "permission_overwrites": [
                {"id": "99", "type": 0, "allow": "1024", "deny": "0"},
                {"id": "7", "type": 0, "allow": "0", "deny": "1024"},
                {"id": "7", "type": 1, "allow": "1024", "deny": "0"},
            ],
        });
        let listed: ListedChannel = serde_json::from_value(json).unwrap();
        let row = listed.catalogue_row(Snowflake(7), Utc::now());
        assert_eq!((row.everyone_allow, row.everyone_deny), (0, 1024));
        assert_eq!((row.name.as_str(), row.archived), ("mods", false));
    }

    #[test]
    fn a_history_message_counts_like_a_live_one_and_its_reactions_as_received() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-02T10:15:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = Snowflake::at(at).0 + 7;
        let json = serde_json::json!({
            "id": id.to_string(),
            "author": {"id": "42", "bot": false},
            "content": "",
            "attachments": [],
            "embeds": [],
            "sticker_items": [{"id": "1", "name": "s", "format_type": 1}],
            "reactions": [{"count": 3, "emoji": {"id": null, "name": "👍"}},
                          {"count": 1, "emoji": {"id": "9", "name": "party"}}],
        });
        let message: HistoryMessage = serde_json::from_value(json).unwrap();
        let mut batch = RollupBatch::default();
        add_message(
            &mut batch,
            Bucketing::UTC,
            Snowflake(1),
            Snowflake(10),
            None,
            &message,
            &LiveReactions::default(),
        );
        let totals = batch.guild_hourly[&GuildHourKey {
            guild_id: Snowflake(1),
            hour: Hour::containing(at),
        }];
        assert_eq!(
            (totals.messages, totals.member_messages, totals.stickers),
            (1, 1, 1)
        );
        assert_eq!((totals.reactions_added, totals.bot_reactions_added), (4, 0));
        let received: i32 = batch
            .reactions
            .iter()
            .filter(|(k, _)| k.receiver_id == Snowflake(42) && k.user_id == UNKNOWN_REACTOR)
            .map(|(_, v)| v.added)
            .sum();
        assert_eq!(received, 4);
        assert!(batch.reactions.keys().any(|k| k.emoji == "party:9"));
    }

    /// A 👍 added live and a 🎉 removed live (it was given before tracking
    /// began, so history no longer shows it) count as they stood then.
    #[test]
    fn live_reactions_come_out_of_history_totals() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-02T10:15:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = Snowflake(Snowflake::at(at).0 + 7);
        let json = serde_json::json!({
            "id": id.to_string(),
            "author": {"id": "42"},
            "reactions": [{"count": 3, "emoji": {"id": null, "name": "👍"}}],
        });
        let message: HistoryMessage = serde_json::from_value(json).unwrap();
        let mut live = LiveReactions::default();
        live.add(id, "👍".to_owned(), 1);
        live.add(id, "🎉".to_owned(), 1);
        live.add(id, "🎉".to_owned(), -2);
        live.add(Snowflake(id.0 + 1), "👍".to_owned(), 5);
        let mut counts = reactions_before_tracking(&message, &live);
        counts.sort();
        assert_eq!(counts, vec![("🎉".to_owned(), 1), ("👍".to_owned(), 2)]);
        let mut batch = RollupBatch::default();
        add_message(
            &mut batch,
            Bucketing::UTC,
            Snowflake(1),
            Snowflake(10),
            None,
            &message,
            &live,
        );
        let totals = batch.guild_hourly[&GuildHourKey {
            guild_id: Snowflake(1),
            hour: Hour::containing(at),
        }];
        assert_eq!(totals.reactions_added, 3);
    }
}
