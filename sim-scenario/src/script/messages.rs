//! Messages (by members, bots and webhooks), their deletion and reactions.

use super::Script;
use crate::payload::{self, EmojiRef};
use crate::truth::{AuthorKind, DeletionFact, MessageFact, ReactionFact};

impl Script {
    /// `MESSAGE_CREATE` by member or bot `author`; returns the message id
    /// (a snowflake of `at`).
    pub fn message(
        &mut self,
        at: i64,
        channel: u64,
        author: u64,
        attachments: u32,
        embeds: u32,
        stickers: u32,
    ) -> u64 {
        let (name, bot, joined) = {
            let p = &self.people[&author];
            (
                p.name.clone(),
                p.bot,
                p.joined.expect("authors are members"),
            )
        };
        let kind = if bot {
            AuthorKind::Bot
        } else {
            AuthorKind::Member
        };
        self.post(
            at,
            channel,
            author,
            &name,
            kind,
            Some(joined),
            attachments,
            embeds,
            stickers,
        )
    }

    /// `MESSAGE_CREATE` by a webhook (`webhook_id` set, author id = webhook id).
    pub fn webhook_message(
        &mut self,
        at: i64,
        channel: u64,
        webhook: u64,
        attachments: u32,
        embeds: u32,
    ) -> u64 {
        self.post(
            at,
            channel,
            webhook,
            "Webhook",
            AuthorKind::Webhook,
            None,
            attachments,
            embeds,
            0,
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn post(
        &mut self,
        at: i64,
        channel: u64,
        author: u64,
        name: &str,
        kind: AuthorKind,
        joined: Option<i64>,
        attachments: u32,
        embeds: u32,
        stickers: u32,
    ) -> u64 {
        let id = self.snowflake(at);
        let att: Vec<u64> = (0..attachments).map(|_| self.snowflake(at)).collect();
        let sticker_ids: Vec<u64> = (0..stickers).map(|_| self.snowflake(at)).collect();
        let st: Vec<(u64, &str)> = sticker_ids.iter().map(|s| (*s, "sticker")).collect();
        let d = payload::message(&payload::MessageShape {
            id,
            guild_id: self.guild_id,
            channel_id: channel,
            at_ms: at,
            author_id: author,
            author_name: name,
            author_bot: kind != AuthorKind::Member,
            webhook_id: (kind == AuthorKind::Webhook).then_some(author),
            member_joined_ms: joined,
            attachments: &att,
            embeds,
            stickers: &st,
        });
        self.push(at, "MESSAGE_CREATE", d);
        let parent = self.thread_parent.get(&channel).copied();
        self.truth.messages.push(MessageFact {
            at_ms: at,
            message_id: id,
            guild_id: self.guild_id,
            channel_id: channel,
            thread_parent_id: parent,
            author_id: author,
            author_kind: kind,
            attachments,
            embeds,
            stickers,
        });
        self.messages.insert(id, (author, kind, channel));
        id
    }

    /// `MESSAGE_DELETE` of one message.
    pub fn delete(&mut self, at: i64, message: u64) -> &mut Self {
        let channel = self.messages[&message].2;
        let d = payload::message_delete(self.guild_id, channel, message);
        self.push(at, "MESSAGE_DELETE", d);
        self.deletion_fact(at, channel, &[message], false);
        self
    }

    /// `MESSAGE_DELETE_BULK` of messages of one channel.
    pub fn bulk_delete(&mut self, at: i64, messages: &[u64]) -> &mut Self {
        let channel = self.messages[&messages[0]].2;
        assert!(
            messages.iter().all(|m| self.messages[m].2 == channel),
            "one channel per bulk delete"
        );
        let d = payload::message_delete_bulk(self.guild_id, channel, messages);
        self.push(at, "MESSAGE_DELETE_BULK", d);
        self.deletion_fact(at, channel, messages, true);
        self
    }

    pub(super) fn deletion_fact(&mut self, at: i64, channel: u64, message_ids: &[u64], bulk: bool) {
        self.truth.deletions.push(DeletionFact {
            at_ms: at,
            guild_id: self.guild_id,
            channel_id: channel,
            thread_parent_id: self.thread_parent.get(&channel).copied(),
            count: message_ids.len() as u32,
            bulk,
            message_ids: message_ids.to_vec(),
        });
    }

    /// `MESSAGE_REACTION_ADD`. `emoji` is a unicode emoji or `name:id`.
    pub fn react(&mut self, at: i64, user: u64, message: u64, emoji: &str) -> &mut Self {
        self.reaction(at, user, message, emoji, true)
    }

    /// `MESSAGE_REACTION_REMOVE` (no `message_author_id`, as on Discord).
    pub fn unreact(&mut self, at: i64, user: u64, message: u64, emoji: &str) -> &mut Self {
        self.reaction(at, user, message, emoji, false)
    }

    pub(super) fn reaction(
        &mut self,
        at: i64,
        user: u64,
        message: u64,
        emoji: &str,
        added: bool,
    ) -> &mut Self {
        let (author, author_kind, channel) = self.messages[&message];
        let (name, bot, joined) = {
            let p = &self.people[&user];
            (
                p.name.clone(),
                p.bot,
                p.joined.expect("reacting users are members"),
            )
        };
        let eref = match emoji.rsplit_once(':') {
            Some((n, id)) => EmojiRef::Custom {
                id: id.parse().expect("custom emoji id"),
                name: n,
            },
            None => EmojiRef::Unicode(emoji),
        };
        let d = payload::reaction(&payload::ReactionShape {
            guild_id: self.guild_id,
            channel_id: channel,
            message_id: message,
            user_id: user,
            user_name: &name,
            user_bot: bot,
            user_joined_ms: joined,
            emoji: eref,
            message_author_id: added.then_some(author),
        });
        self.push(
            at,
            if added {
                "MESSAGE_REACTION_ADD"
            } else {
                "MESSAGE_REACTION_REMOVE"
            },
            d,
        );
        self.truth.reactions.push(ReactionFact {
            at_ms: at,
            guild_id: self.guild_id,
            channel_id: channel,
            thread_parent_id: self.thread_parent.get(&channel).copied(),
            message_id: message,
            user_id: user,
            user_is_bot: bot,
            message_author_id: added.then_some(author),
            message_author_kind: added.then_some(author_kind),
            emoji: emoji.to_owned(),
            added,
        });
        self
    }
}
