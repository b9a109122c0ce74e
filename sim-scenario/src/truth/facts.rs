//! What happened, recorded by the generator from its own model (never by
//! re-reading the JSON it emits).

use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AuthorKind {
    /// A human member (`author.bot` false, no `webhook_id`).
    Member,
    /// A bot account (`author.bot` true, no `webhook_id`).
    Bot,
    /// A webhook (`webhook_id` set; the author id is the webhook id).
    Webhook,
}

/// A guild channel or thread, as the scenario knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelFact {
    pub guild_id: u64,
    pub channel_id: u64,
    /// Discord channel type: 0 text, 2 voice, 4 category, 5 announcement,
    /// 10 announcement thread, 11 public thread, 12 private thread, 13 stage,
    /// 15 forum.
    pub kind: u8,
    pub name: String,
    /// Category for channels, parent channel for threads.
    pub parent_id: Option<u64>,
    /// Time of its `CHANNEL_CREATE`/`THREAD_CREATE` dispatch; `None` when it
    /// already existed at the scenario start (it is in `GUILD_CREATE`).
    pub created_ms: Option<i64>,
    /// Time of its `CHANNEL_DELETE` dispatch, if any.
    pub deleted_ms: Option<i64>,
    /// Whether @everyone may view it at the end of the scenario: a channel
    /// unless its @everyone overwrite denies VIEW_CHANNEL (the @everyone
    /// role itself has it); a thread when its parent is viewable and it is
    /// not a private thread (type 12).
    pub everyone_can_view: bool,
}

/// A thread: created (by `THREAD_CREATE`, or present at the start) and maybe
/// archived (by a `THREAD_UPDATE` with `thread_metadata.archived = true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadFact {
    pub guild_id: u64,
    pub thread_id: u64,
    pub parent_id: u64,
    /// 10 announcement thread, 11 public, 12 private (forum posts are public
    /// threads in a forum).
    pub kind: u8,
    pub owner_id: u64,
    /// Time of the `THREAD_CREATE` dispatch; `None` for threads already open
    /// in the first `GUILD_CREATE`.
    pub created_ms: Option<i64>,
    /// Time of the archiving `THREAD_UPDATE`, if any.
    pub archived_ms: Option<i64>,
}

/// One membership stint: from a join to a leave (or to the end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipFact {
    pub guild_id: u64,
    pub user_id: u64,
    pub is_bot: bool,
    /// `joined_at`. For members present at the start it is before the start
    /// and no `GUILD_MEMBER_ADD` was sent; otherwise it is the time of the
    /// `GUILD_MEMBER_ADD` dispatch (equal to its `joined_at`).
    pub joined_ms: i64,
    /// Time of the `GUILD_MEMBER_REMOVE` dispatch ending this stint.
    pub left_ms: Option<i64>,
    /// This stint follows an earlier stint of the same user in this guild.
    pub rejoin: bool,
    /// The member was present in the first `GUILD_CREATE`.
    pub initial: bool,
}

/// One `MESSAGE_CREATE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageFact {
    /// Snowflake time of the message id (equals the dispatch time).
    pub at_ms: i64,
    pub message_id: u64,
    pub guild_id: u64,
    /// The channel it was posted in (the thread, for thread messages).
    pub channel_id: u64,
    /// For a message in a thread: the thread's parent channel.
    pub thread_parent_id: Option<u64>,
    /// User id, or the webhook id for webhook messages.
    pub author_id: u64,
    pub author_kind: AuthorKind,
    pub attachments: u32,
    pub embeds: u32,
    pub stickers: u32,
}

/// One `MESSAGE_DELETE` (count 1, `bulk` false) or `MESSAGE_DELETE_BULK`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionFact {
    /// Time of the delete dispatch (not of the deleted messages).
    pub at_ms: i64,
    pub guild_id: u64,
    pub channel_id: u64,
    pub thread_parent_id: Option<u64>,
    /// Number of message ids in the event.
    pub count: u32,
    pub bulk: bool,
    /// The deleted messages' ids: a deleted message is absent from the
    /// channel's history from this event on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message_ids: Vec<u64>,
}

/// One `MESSAGE_REACTION_ADD` (`added` true) or `MESSAGE_REACTION_REMOVE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionFact {
    pub at_ms: i64,
    pub guild_id: u64,
    pub channel_id: u64,
    pub thread_parent_id: Option<u64>,
    pub message_id: u64,
    /// Who reacted.
    pub user_id: u64,
    pub user_is_bot: bool,
    /// Author of the reacted message when the event says so
    /// (`message_author_id`, carried by adds only; `None` for removes).
    pub message_author_id: Option<u64>,
    /// Kind of that author, when `message_author_id` is known.
    pub message_author_kind: Option<AuthorKind>,
    /// Unicode emoji itself (e.g. `"👍"`) or `name:id` for custom emoji.
    pub emoji: String,
    pub added: bool,
}

/// Time a user spent in one voice (or stage) channel without leaving it.
/// Mute/deafen toggles do not split an interval; a move ends one and starts
/// the next at the same instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceInterval {
    pub guild_id: u64,
    pub channel_id: u64,
    pub user_id: u64,
    pub user_is_bot: bool,
    /// Dispatch time of the join/move, or the scenario start for users already
    /// in voice in the first `GUILD_CREATE` (`voice_states`).
    pub start_ms: i64,
    /// Dispatch time of the move/leave. Every session ends inside the scenario.
    pub end_ms: i64,
}

/// A burst of joins by throwaway accounts, all removed soon after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRaid {
    pub guild_id: u64,
    /// First raid join.
    pub start_ms: i64,
    /// Last raid join.
    pub last_join_ms: i64,
    /// Last raider removal.
    pub end_ms: i64,
    pub user_ids: Vec<u64>,
    /// Channel the raiders spammed.
    pub channel_id: u64,
}

/// Moderators wiping the raid's messages with `MESSAGE_DELETE_BULK`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MassDeletion {
    pub guild_id: u64,
    pub channel_id: u64,
    /// Time of the first bulk-delete dispatch.
    pub at_ms: i64,
    /// Number of `MESSAGE_DELETE_BULK` dispatches (at most 100 ids each).
    pub events: u32,
    /// Messages deleted in all.
    pub messages: u32,
}

/// An hour of the first guild in which most members' posts never happen (a
/// planted activity drop): the model skips 90 % of the member posts it
/// would have written in that hour, in every channel except `#mod-only`
/// (the moderators keep talking there). Planted only in scenarios of at
/// least 21 days, at 20:00 UTC two days before the end, so the same hour of
/// two or more earlier weeks is in the scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlantedDrop {
    pub guild_id: u64,
    /// Start of the UTC hour, Unix ms.
    pub hour_ms: i64,
    /// Member messages (bots and webhooks left out) sent in that hour.
    pub messages: u32,
    /// Member posts the model skipped in that hour.
    pub skipped: u32,
}

/// Members of the first guild piling into voice at a quiet hour (a planted
/// voice surge): `user_ids` join within a few minutes from `start_ms`, stay
/// 20 to 30 minutes and leave by `end_ms`. Planted only in scenarios of at
/// least 21 days, at 10:05 UTC four days before the end. The generator
/// sizes it from the guild's own voice: at least
/// `max(5, 3 × usual peak of that hour of the week) + 5` people are in
/// voice at once after the last of them joins (unless the guild has too few
/// members free then).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlantedSurge {
    pub guild_id: u64,
    /// First surge join.
    pub start_ms: i64,
    /// Last surge join: from here until the first of them leaves, all of
    /// them are in voice.
    pub last_join_ms: i64,
    /// Last surge leave.
    pub end_ms: i64,
    /// The members who joined, in join order.
    pub user_ids: Vec<u64>,
    /// People in voice in the guild (bots left out) once the last of them
    /// joined, counting those already there.
    pub people: u32,
}
