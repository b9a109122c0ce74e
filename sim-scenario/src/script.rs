//! Hand-written scenarios: a test states each event; the script emits the
//! same payloads as the generator and records the same facts, so expected
//! figures can be worked out by hand.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::payload::{self, EmojiRef};
use crate::truth::{
    AuthorKind, ChannelFact, DeletionFact, GroundTruth, MembershipFact, MessageFact, ReactionFact,
    ThreadFact, VoiceInterval,
};
use crate::{Dispatch, Scenario, snowflake_at};

struct Person {
    name: String,
    bot: bool,
    /// `joined_at` of the current stint.
    joined: Option<i64>,
    /// Index of the open stint in `truth.members`.
    stint: Option<usize>,
    ever_left: bool,
}

struct InVoice {
    channel: u64,
    since: i64,
    session: String,
}

/// A one-guild scenario written event by event, in time order.
///
/// ```
/// use sim_scenario::Script;
/// let start = sim_scenario::DEFAULT_START_MS;
/// let mut s = Script::new(1, start, 1);
/// s.channel(10, 0, "general", None).member(100, "ann", false, start - 1);
/// s.member(101, "bob", false, start - 1);
/// let m = s.message(start + 5_000, 10, 100, 0, 0, 0);
/// s.react(start + 6_000, 101, m, "👍");
/// let (scenario, truth) = s.finish();
/// assert_eq!(scenario.events.len(), 2);
/// assert_eq!(truth.reactions.len(), 1);
/// ```
pub struct Script {
    guild_id: u64,
    start: i64,
    end: i64,
    next_low: u64,
    last_at: i64,
    people: BTreeMap<u64, Person>,
    /// channel id → (kind, name, parent)
    channel_info: BTreeMap<u64, (u8, String, Option<u64>)>,
    thread_parent: BTreeMap<u64, u64>,
    messages: BTreeMap<u64, (u64, AuthorKind, u64)>,
    initial_channels: Vec<Value>,
    initial_threads: Vec<Value>,
    initial_voice: Vec<Value>,
    voice: BTreeMap<u64, InVoice>,
    events: Vec<Dispatch>,
    truth: GroundTruth,
}

impl Script {
    /// An empty guild `guild_id`, scenario from `start_ms` (a UTC midnight)
    /// lasting `days`.
    pub fn new(guild_id: u64, start_ms: i64, days: u32) -> Self {
        let end_ms = start_ms + i64::from(days) * crate::truth::DAY_MS;
        Self {
            guild_id,
            start: start_ms,
            end: end_ms,
            next_low: 0,
            last_at: start_ms,
            people: BTreeMap::new(),
            channel_info: BTreeMap::new(),
            thread_parent: BTreeMap::new(),
            messages: BTreeMap::new(),
            initial_channels: Vec::new(),
            initial_threads: Vec::new(),
            initial_voice: Vec::new(),
            voice: BTreeMap::new(),
            events: Vec::new(),
            truth: GroundTruth {
                seed: 0,
                start_ms,
                end_ms,
                guild_ids: vec![guild_id],
                channels: Vec::new(),
                threads: Vec::new(),
                members: Vec::new(),
                messages: Vec::new(),
                deletions: Vec::new(),
                reactions: Vec::new(),
                voice: Vec::new(),
                raid: None,
                mass_deletion: None,
            },
        }
    }

    fn push(&mut self, at: i64, t: &str, d: Value) {
        assert!(
            at >= self.last_at,
            "script events must be written in time order ({t} at {at})"
        );
        assert!(at < self.end, "{t} at {at} is after the scenario end");
        self.last_at = at;
        self.events.push(Dispatch {
            at_ms: at,
            guild_id: self.guild_id,
            t: t.to_owned(),
            d,
        });
    }

    fn snowflake(&mut self, at: i64) -> u64 {
        self.next_low += 1;
        snowflake_at(at, self.next_low)
    }

    fn channel_fact(
        &mut self,
        id: u64,
        kind: u8,
        name: &str,
        parent: Option<u64>,
        created: Option<i64>,
    ) {
        self.channel_info
            .insert(id, (kind, name.to_owned(), parent));
        self.truth.channels.push(ChannelFact {
            guild_id: self.guild_id,
            channel_id: id,
            kind,
            name: name.to_owned(),
            parent_id: parent,
            created_ms: created,
            deleted_ms: None,
        });
    }

    fn channel_payload(&self, id: u64) -> Value {
        let (kind, name, parent) = &self.channel_info[&id];
        payload::channel(&payload::ChannelShape {
            id,
            guild_id: self.guild_id,
            kind: *kind,
            name,
            parent_id: *parent,
            position: 0,
            topic: None,
        })
    }

    /// A channel (not a thread) that exists at the start.
    pub fn channel(&mut self, id: u64, kind: u8, name: &str, parent: Option<u64>) -> &mut Self {
        self.channel_fact(id, kind, name, parent, None);
        let p = self.channel_payload(id);
        self.initial_channels.push(p);
        self
    }

    /// A thread open at the start.
    pub fn thread_at_start(&mut self, id: u64, parent: u64, kind: u8, owner: u64) -> &mut Self {
        self.channel_fact(id, kind, &format!("thread-{id}"), Some(parent), None);
        self.thread_parent.insert(id, parent);
        self.truth.threads.push(ThreadFact {
            guild_id: self.guild_id,
            thread_id: id,
            parent_id: parent,
            kind,
            owner_id: owner,
            created_ms: None,
            archived_ms: None,
        });
        let name = format!("thread-{id}");
        let shape = thread_shape(
            self.guild_id,
            id,
            parent,
            kind,
            &name,
            owner,
            self.start - 1,
            None,
        );
        self.initial_threads.push(payload::thread(&shape, false));
        self
    }

    /// A member present at the start, who joined at `joined_ms` (< start).
    pub fn member(&mut self, user: u64, name: &str, bot: bool, joined_ms: i64) -> &mut Self {
        assert!(
            joined_ms < self.start,
            "initial members joined before the start"
        );
        self.truth.members.push(MembershipFact {
            guild_id: self.guild_id,
            user_id: user,
            is_bot: bot,
            joined_ms,
            left_ms: None,
            rejoin: false,
            initial: true,
        });
        self.people.insert(
            user,
            Person {
                name: name.to_owned(),
                bot,
                joined: Some(joined_ms),
                stint: Some(self.truth.members.len() - 1),
                ever_left: false,
            },
        );
        self
    }

    /// A user in `channel` when the scenario starts (a `GUILD_CREATE` voice state).
    pub fn voice_at_start(&mut self, user: u64, channel: u64) -> &mut Self {
        let session = format!("session-{user}-start");
        let v = self.voice_payload(user, Some(channel), &session, false, false);
        self.initial_voice.push(v);
        self.voice.insert(
            user,
            InVoice {
                channel,
                since: self.start,
                session,
            },
        );
        self
    }

    fn voice_payload(
        &self,
        user: u64,
        channel: Option<u64>,
        session: &str,
        mute: bool,
        deaf: bool,
    ) -> Value {
        let p = &self.people[&user];
        payload::voice_state(&payload::VoiceShape {
            guild_id: self.guild_id,
            channel_id: channel,
            user_id: user,
            user_name: &p.name,
            user_joined_ms: p.joined.expect("voice users are members"),
            session_id: session,
            self_mute: mute,
            self_deaf: deaf,
            suppress: channel.is_some_and(|c| self.channel_info[&c].0 == 13),
        })
    }

    /// `GUILD_MEMBER_ADD` (a rejoin if the user left before).
    pub fn join(&mut self, at: i64, user: u64, name: &str, bot: bool) -> &mut Self {
        let rejoin = self.people.get(&user).is_some_and(|p| p.ever_left);
        assert!(
            self.people.get(&user).is_none_or(|p| p.joined.is_none()),
            "already a member"
        );
        let mut d = payload::member(user, name, bot, at);
        d["guild_id"] = Value::String(self.guild_id.to_string());
        self.push(at, "GUILD_MEMBER_ADD", d);
        self.truth.members.push(MembershipFact {
            guild_id: self.guild_id,
            user_id: user,
            is_bot: bot,
            joined_ms: at,
            left_ms: None,
            rejoin,
            initial: false,
        });
        let stint = Some(self.truth.members.len() - 1);
        let p = self.people.entry(user).or_insert(Person {
            name: name.to_owned(),
            bot,
            joined: None,
            stint: None,
            ever_left: false,
        });
        p.joined = Some(at);
        p.stint = stint;
        self
    }

    /// `GUILD_MEMBER_REMOVE`.
    pub fn leave(&mut self, at: i64, user: u64) -> &mut Self {
        assert!(
            !self.voice.contains_key(&user),
            "leave voice before leaving the guild"
        );
        let (name, bot, stint) = {
            let p = self.people.get_mut(&user).expect("known member");
            p.joined = None;
            p.ever_left = true;
            (p.name.clone(), p.bot, p.stint.take().expect("a member"))
        };
        let d =
            json!({"guild_id": self.guild_id.to_string(), "user": payload::user(user, &name, bot)});
        self.push(at, "GUILD_MEMBER_REMOVE", d);
        self.truth.members[stint].left_ms = Some(at);
        self
    }

    /// `CHANNEL_CREATE` of a channel (not a thread).
    pub fn create_channel(
        &mut self,
        at: i64,
        id: u64,
        kind: u8,
        name: &str,
        parent: Option<u64>,
    ) -> &mut Self {
        self.channel_fact(id, kind, name, parent, Some(at));
        let d = self.channel_payload(id);
        self.push(at, "CHANNEL_CREATE", d);
        self
    }

    /// `CHANNEL_UPDATE` renaming a channel (not a thread).
    pub fn rename_channel(&mut self, at: i64, id: u64, name: &str) -> &mut Self {
        self.channel_info.get_mut(&id).expect("known channel").1 = name.to_owned();
        if let Some(c) = self.truth.channels.iter_mut().find(|c| c.channel_id == id) {
            c.name = name.to_owned();
        }
        let d = self.channel_payload(id);
        self.push(at, "CHANNEL_UPDATE", d);
        self
    }

    /// `CHANNEL_DELETE`.
    pub fn delete_channel(&mut self, at: i64, id: u64) -> &mut Self {
        let d = self.channel_payload(id);
        self.push(at, "CHANNEL_DELETE", d);
        if let Some(c) = self.truth.channels.iter_mut().find(|c| c.channel_id == id) {
            c.deleted_ms = Some(at);
        }
        self
    }

    /// `THREAD_CREATE`.
    pub fn create_thread(
        &mut self,
        at: i64,
        id: u64,
        parent: u64,
        kind: u8,
        owner: u64,
    ) -> &mut Self {
        let name = format!("thread-{id}");
        self.channel_fact(id, kind, &name, Some(parent), Some(at));
        self.thread_parent.insert(id, parent);
        self.truth.threads.push(ThreadFact {
            guild_id: self.guild_id,
            thread_id: id,
            parent_id: parent,
            kind,
            owner_id: owner,
            created_ms: Some(at),
            archived_ms: None,
        });
        let d = payload::thread(
            &thread_shape(self.guild_id, id, parent, kind, &name, owner, at, None),
            true,
        );
        self.push(at, "THREAD_CREATE", d);
        self
    }

    /// `THREAD_UPDATE` archiving the thread.
    pub fn archive_thread(&mut self, at: i64, id: u64) -> &mut Self {
        let t = self
            .truth
            .threads
            .iter_mut()
            .find(|t| t.thread_id == id)
            .expect("known thread");
        t.archived_ms = Some(at);
        let (parent, kind, owner) = (t.parent_id, t.kind, t.owner_id);
        let created = t.created_ms.unwrap_or(self.start - 1);
        let name = format!("thread-{id}");
        let d = payload::thread(
            &thread_shape(
                self.guild_id,
                id,
                parent,
                kind,
                &name,
                owner,
                created,
                Some(at),
            ),
            false,
        );
        self.push(at, "THREAD_UPDATE", d);
        self
    }

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
    fn post(
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
        let d = json!({
            "guild_id": self.guild_id.to_string(),
            "channel_id": channel.to_string(),
            "id": message.to_string(),
        });
        self.push(at, "MESSAGE_DELETE", d);
        self.deletion_fact(at, channel, 1, false);
        self
    }

    /// `MESSAGE_DELETE_BULK` of messages of one channel.
    pub fn bulk_delete(&mut self, at: i64, messages: &[u64]) -> &mut Self {
        let channel = self.messages[&messages[0]].2;
        assert!(
            messages.iter().all(|m| self.messages[m].2 == channel),
            "one channel per bulk delete"
        );
        let ids: Vec<String> = messages.iter().map(u64::to_string).collect();
        let d = json!({"guild_id": self.guild_id.to_string(), "channel_id": channel.to_string(), "ids": ids});
        self.push(at, "MESSAGE_DELETE_BULK", d);
        self.deletion_fact(at, channel, messages.len() as u32, true);
        self
    }

    fn deletion_fact(&mut self, at: i64, channel: u64, count: u32, bulk: bool) {
        self.truth.deletions.push(DeletionFact {
            at_ms: at,
            guild_id: self.guild_id,
            channel_id: channel,
            thread_parent_id: self.thread_parent.get(&channel).copied(),
            count,
            bulk,
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

    fn reaction(
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

    /// `VOICE_STATE_UPDATE`: `channel` `None` leaves voice. A different
    /// channel than the current one is a move (it ends one interval and
    /// starts the next); the same channel with other flags is a toggle and
    /// changes no interval.
    pub fn voice(
        &mut self,
        at: i64,
        user: u64,
        channel: Option<u64>,
        self_mute: bool,
        self_deaf: bool,
    ) -> &mut Self {
        let current = self
            .voice
            .get(&user)
            .map(|v| (v.channel, v.since, v.session.clone()));
        let session = current
            .as_ref()
            .map_or_else(|| format!("session-{user}-{at}"), |c| c.2.clone());
        let d = self.voice_payload(user, channel, &session, self_mute, self_deaf);
        self.push(at, "VOICE_STATE_UPDATE", d);
        let bot = self.people[&user].bot;
        match (current, channel) {
            (Some((c, _, _)), Some(n)) if c == n => {}
            (current, next) => {
                if let Some((c, since, _)) = current {
                    self.truth.voice.push(VoiceInterval {
                        guild_id: self.guild_id,
                        channel_id: c,
                        user_id: user,
                        user_is_bot: bot,
                        start_ms: since,
                        end_ms: at,
                    });
                    self.voice.remove(&user);
                }
                if let Some(n) = next {
                    self.voice.insert(
                        user,
                        InVoice {
                            channel: n,
                            since: at,
                            session,
                        },
                    );
                }
            }
        }
        self
    }

    /// The scenario and its truth. Every voice session must have ended.
    pub fn finish(self) -> (Scenario, GroundTruth) {
        assert!(
            self.voice.is_empty(),
            "end every voice session before finishing"
        );
        let members: Vec<Value> = self
            .truth
            .members
            .iter()
            .filter(|m| m.initial)
            .map(|m| {
                payload::member(
                    m.user_id,
                    &self.people[&m.user_id].name,
                    m.is_bot,
                    m.joined_ms,
                )
            })
            .collect();
        let owner = self.truth.members.first().map_or(1, |m| m.user_id);
        let guild = json!({
            "id": self.guild_id.to_string(),
            "name": "Scripted guild",
            "icon": null, "splash": null, "discovery_splash": null, "banner": null,
            "description": null,
            "owner_id": owner.to_string(),
            "afk_channel_id": null, "afk_timeout": 300, "application_id": null,
            "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "features": [], "mfa_level": 0, "nsfw_level": 0,
            "premium_tier": 0, "premium_progress_bar_enabled": false,
            "preferred_locale": "en-US", "public_updates_channel_id": null,
            "rules_channel_id": null, "system_channel_id": null, "system_channel_flags": 0,
            "vanity_url_code": null,
            "roles": [payload::role_everyone(self.guild_id)],
            "emojis": [],
            "joined_at": payload::iso(self.start - 1),
            "large": false,
            "unavailable": false,
            "member_count": members.len(),
            "members": members,
            "channels": self.initial_channels,
            "threads": self.initial_threads,
            "voice_states": self.initial_voice,
            "presences": [],
        });
        let mut truth = self.truth;
        truth.sort();
        let days = ((self.end - self.start) / crate::truth::DAY_MS) as u32;
        let scenario = Scenario {
            seed: 0,
            start_ms: self.start,
            days,
            guilds: vec![guild],
            events: self.events,
        };
        (scenario, truth)
    }
}

#[allow(clippy::too_many_arguments)]
fn thread_shape(
    guild_id: u64,
    id: u64,
    parent: u64,
    kind: u8,
    name: &str,
    owner: u64,
    created: i64,
    archived: Option<i64>,
) -> payload::ThreadShape<'_> {
    payload::ThreadShape {
        id,
        guild_id,
        parent_id: parent,
        kind,
        name,
        owner_id: owner,
        created_ms: created,
        archived_ms: archived,
        message_count: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = crate::DEFAULT_START_MS;

    fn base() -> Script {
        let mut s = Script::new(1, S, 1);
        s.channel(10, 0, "general", None)
            .channel(20, 2, "Lounge", None)
            .member(5, "ann", false, S - 1);
        s
    }

    #[test]
    #[should_panic(expected = "time order")]
    fn events_must_be_written_in_time_order() {
        let mut s = base();
        s.message(S + 2_000, 10, 5, 0, 0, 0);
        s.message(S + 1_000, 10, 5, 0, 0, 0);
    }

    #[test]
    #[should_panic(expected = "end every voice session")]
    fn open_voice_sessions_are_refused() {
        let mut s = base();
        s.voice(S + 1_000, 5, Some(20), false, false);
        let _ = s.finish();
    }

    #[test]
    fn a_rejoin_is_flagged_and_the_first_stint_closed() {
        let mut s = base();
        s.leave(S + 1_000, 5).join(S + 2_000, 5, "ann", false);
        let (_, t) = s.finish();
        let stints: Vec<(i64, Option<i64>, bool)> = t
            .members
            .iter()
            .map(|m| (m.joined_ms, m.left_ms, m.rejoin))
            .collect();
        assert_eq!(
            stints,
            vec![(S - 1, Some(S + 1_000), false), (S + 2_000, None, true)]
        );
    }
}
