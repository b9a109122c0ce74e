//! The fold: one gateway dispatch at a time, in order, into the shard's
//! state and batch. [`ShardState::apply`] dispatches on [`EventKind`] to one
//! function per event family; each parses its payload, moves the clock and
//! hands the event to the state types it concerns.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use shared::Snowflake;
use shared::alerts::AlertKind;
use shared::rollup::{
    AuthorKind, ChannelHourKey, MessageFacts, PreTrackingReactionKey, ReactionKey,
};

use super::alerts::{Entry, Fact, YOUNG_ACCOUNT};
use super::{Gap, ShardState};
use crate::events::*;

/// How one frame went.
#[derive(Debug)]
pub enum Outcome {
    Handled(EventKind),
    /// An event the ingester does not fold, or one outside any guild.
    Ignored,
    Malformed(PayloadError),
    /// Folded, but a time in it was unreadable or out of range (named by
    /// `field`) and was replaced by the arrival, or the event skipped
    /// (see the README's "Time"); counted as malformed.
    OutOfRange {
        kind: Option<EventKind>,
        field: &'static str,
    },
}

/// Whether an event concerned a guild (`false`: ignored, e.g. a DM).
type Folded = Result<bool, PayloadError>;

impl ShardState {
    /// Folds one gateway frame in. `arrival` is the envelope's `sim_time_ms`
    /// or the wall clock.
    pub fn apply(&mut self, t: &str, d: Option<&RawValue>, arrival: DateTime<Utc>) -> Outcome {
        let event = EventKind::parse(t).map(|kind| (kind, Payload::parse(kind, d)));
        self.apply_parsed(event, arrival)
    }

    /// [`ShardState::apply`] of a frame whose payload is already read
    /// (`None`: a `t` the ingester does not fold).
    pub fn apply_parsed(
        &mut self,
        event: Option<(EventKind, Result<Payload, PayloadError>)>,
        arrival: DateTime<Utc>,
    ) -> Outcome {
        self.pending.frames += 1;
        self.sync_settings();
        let kind = event.as_ref().map(|(kind, _)| *kind);
        let folded = match event {
            Some((kind, payload)) => payload.and_then(|payload| self.fold(kind, payload, arrival)),
            None => {
                self.advance(arrival);
                Ok(false)
            }
        };
        let out_of_range = self.out_of_range.take();
        match (folded, out_of_range) {
            (Err(error), _) => Outcome::Malformed(error),
            (Ok(handled), Some(field)) => Outcome::OutOfRange {
                kind: kind.filter(|_| handled),
                field,
            },
            (Ok(true), None) => Outcome::Handled(kind.expect("only known kinds are folded")),
            (Ok(false), None) => Outcome::Ignored,
        }
    }

    /// A time read from the frame being folded, if readable and within
    /// [`shared::time::wire_time`]'s window around the arrival `at`; else
    /// the frame is marked out of range and `None` returned.
    fn checked(
        &mut self,
        field: &'static str,
        t: WireTime,
        at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match t {
            WireTime::At(t) if shared::time::wire_time(t, at).is_ok() => Some(t),
            _ => {
                self.out_of_range.get_or_insert(field);
                None
            }
        }
    }

    /// Marks the frame out of range if a channel's id dates it outside the
    /// window; the catalogue then records the arrival as its creation.
    fn check_channel_ids<'c>(
        &mut self,
        channels: impl IntoIterator<Item = &'c ChannelPayload>,
        at: DateTime<Utc>,
    ) {
        for c in channels {
            self.checked("channel id", WireTime::At(c.id.created_at()), at);
        }
    }

    fn fold(&mut self, kind: EventKind, payload: Payload, arrival: DateTime<Utc>) -> Folded {
        use EventKind as E;
        match payload {
            Payload::Ready(ready) => self.ready(ready, arrival),
            Payload::Resumed => self.resumed(arrival),
            Payload::GuildCreate(g) => self.guild_create(*g, arrival),
            Payload::GuildUpdate(u) => self.guild_update(u, arrival),
            Payload::GuildDelete(u) => self.guild_delete(u, arrival),
            Payload::GuildRoleUpdate(u) => self.guild_role_update(u, arrival),
            Payload::Channel(c) => match kind {
                E::ChannelDelete | E::ThreadDelete => self.channel_delete(c, arrival),
                _ => self.channel_upsert(c, kind == E::ThreadCreate, arrival),
            },
            Payload::ThreadListSync(s) => self.thread_list_sync(s, arrival),
            Payload::MessageCreate(m) => self.message_create(m, arrival),
            Payload::MessageDelete(m) => self.deletion(m.guild_id, m.channel_id, 1, false, arrival),
            Payload::MessageDeleteBulk(m) => {
                self.deletion(m.guild_id, m.channel_id, m.ids.len() as i32, true, arrival)
            }
            Payload::Reaction(r) => self.reaction(r, kind == E::MessageReactionAdd, arrival),
            Payload::MemberAdd(m) => self.member_add(m, arrival),
            Payload::MemberRemove(m) => self.member_remove(m, arrival),
            Payload::VoiceState(v) => self.voice_state_update(v, arrival),
        }
    }

    // Session.

    fn ready(&mut self, ready: Ready, arrival: DateTime<Utc>) -> Folded {
        let at = self.clock.map_or(arrival, |c| c.max(arrival));
        // A new session: whatever happened since our clock is lost.
        if let Some(since) = self.clock {
            let mut guilds = self.guild_ids();
            guilds.extend(ready.guilds.iter().map(|g| g.id));
            self.pending.gaps.push(Gap {
                guilds: guilds.into_iter().collect(),
                start: since,
                end: at,
                reason: "new gateway session: events since the last one were not replayed",
            });
            metrics::counter!("serverpulse_ingester_gaps_total").increment(1);
            tracing::warn!(shard = self.shard_id, session = %ready.session_id, %since, until = %at, "resume impossible; recorded a coverage gap");
        }
        self.pending.urgent = true;
        self.advance(at);
        Ok(true)
    }

    fn resumed(&mut self, arrival: DateTime<Utc>) -> Folded {
        metrics::counter!("serverpulse_ingester_resumes_total").increment(1);
        self.advance(arrival);
        Ok(true)
    }

    // Guilds.

    fn guild_create(&mut self, g: GuildCreate, arrival: DateTime<Utc>) -> Folded {
        let at = self.advance(arrival);
        if g.unavailable == Some(true) {
            return Ok(true);
        }
        // Back in the same batch it left in: not removed after all.
        self.pending.guilds_left.remove(&g.id);
        self.check_channel_ids(g.channels.iter().chain(&g.threads), at);
        // A member's unreadable or implausible join time: a known present
        // member keeps theirs, anyone else joined at the arrival.
        let joins: Vec<Option<DateTime<Utc>>> = g
            .members
            .iter()
            .map(|m| {
                let joined = m.joined_at?;
                self.checked("joined_at", joined, at).or_else(|| {
                    let known = self.catalogue.member(g.id, m.user.id);
                    known.is_none_or(|k| k.left_at.is_some()).then_some(at)
                })
            })
            .collect();
        self.catalogue
            .guild_create(&mut self.pending.catalogue, &g, &joins, at);
        // Voice: GUILD_CREATE is the truth about who is in voice right now.
        let now_in: HashMap<Snowflake, Snowflake> = g
            .voice_states
            .iter()
            .filter_map(|v| v.channel_id.map(|c| (v.user_id, c)))
            .collect();
        let filter = self.filter(g.id);
        let catalogue = &self.catalogue;
        self.voice
            .replace_guild(&filter, &mut self.pending, g.id, &now_in, at, &|g, u| {
                catalogue.member(g, u).is_some_and(|m| m.is_bot)
            });
        Ok(true)
    }

    fn guild_update(&mut self, u: GuildUpdate, arrival: DateTime<Utc>) -> Folded {
        self.advance(arrival);
        self.catalogue
            .rename_guild(&mut self.pending.catalogue, u.id, u.name);
        self.catalogue
            .everyone_role(&mut self.pending.catalogue, u.id, &u.roles);
        Ok(true)
    }

    /// Only the @everyone role's permissions are kept (channel privacy).
    fn guild_role_update(&mut self, u: GuildRoleUpdate, arrival: DateTime<Utc>) -> Folded {
        self.advance(arrival);
        self.catalogue.everyone_role(
            &mut self.pending.catalogue,
            u.guild_id,
            std::slice::from_ref(&u.role),
        );
        Ok(true)
    }

    fn guild_delete(&mut self, u: GuildDelete, arrival: DateTime<Utc>) -> Folded {
        let at = self.advance(arrival);
        if u.unavailable != Some(true) {
            self.pending.guilds_left.entry(u.id).or_insert(at);
        }
        self.catalogue
            .guild_unavailable(&mut self.pending.catalogue, u.id);
        Ok(true)
    }

    // Channels and threads.

    /// CHANNEL_CREATE/UPDATE and THREAD_CREATE/UPDATE; `thread_create`
    /// counts a newly created thread.
    fn channel_upsert(
        &mut self,
        c: ChannelPayload,
        thread_create: bool,
        arrival: DateTime<Utc>,
    ) -> Folded {
        let at = self.advance(arrival);
        let Some(guild_id) = c.guild_id else {
            return Ok(false);
        };
        self.check_channel_ids([&c], at);
        self.catalogue
            .upsert_channel(&mut self.pending.catalogue, guild_id, &c, None, at);
        if thread_create && c.newly_created == Some(true) {
            let filter = self.filter(guild_id);
            if filter.counts_at(at) && filter.collects(c.id, c.parent_id) {
                self.pending
                    .rollups
                    .add_thread_created(guild_id, filter.bucket(at));
            }
        }
        Ok(true)
    }

    fn channel_delete(&mut self, c: ChannelPayload, arrival: DateTime<Utc>) -> Folded {
        let at = self.advance(arrival);
        let Some(guild_id) = c.guild_id else {
            return Ok(false);
        };
        self.check_channel_ids([&c], at);
        self.catalogue
            .upsert_channel(&mut self.pending.catalogue, guild_id, &c, Some(at), at);
        Ok(true)
    }

    fn thread_list_sync(&mut self, s: ThreadListSync, arrival: DateTime<Utc>) -> Folded {
        let at = self.advance(arrival);
        self.check_channel_ids(&s.threads, at);
        for c in &s.threads {
            self.catalogue
                .upsert_channel(&mut self.pending.catalogue, s.guild_id, c, None, at);
        }
        Ok(true)
    }

    // Messages and reactions.

    fn message_create(&mut self, m: MessageCreate, arrival: DateTime<Utc>) -> Folded {
        let arrived = self.advance(arrival);
        let Some(guild_id) = m.guild_id else {
            return Ok(false); // direct messages are not guild statistics
        };
        // A message counts at its id's time; an id dated outside the window
        // is no message Discord made, so it is skipped.
        let Some(at) = self.checked("message id", WireTime::At(m.id.created_at()), arrived) else {
            return Ok(true);
        };
        let filter = self.filter(guild_id);
        let parent = self.catalogue.thread_parent(guild_id, m.channel_id);
        if !filter.counts_at(at) || !filter.collects(m.channel_id, parent) {
            return Ok(true);
        }
        let (author_id, author_kind) = match m.webhook_id {
            Some(webhook) => (webhook, AuthorKind::Webhook),
            None if m.author.bot => (m.author.id, AuthorKind::Bot),
            None => (m.author.id, AuthorKind::Member),
        };
        self.pending.rollups.add_message(MessageFacts {
            guild_id,
            hour: filter.bucket(at),
            channel_id: m.channel_id,
            thread_parent_id: parent,
            author_id,
            author_kind,
            attachments: m.attachments.len() as i32,
            embeds: m.embeds.len() as i32,
            stickers: m.sticker_items.len() as i32,
        });
        if parent.is_some() {
            self.catalogue.thread_reply(
                &mut self.pending.catalogue,
                guild_id,
                m.channel_id,
                author_id,
                author_kind != AuthorKind::Member,
                at,
            );
        }
        if author_kind != AuthorKind::Webhook
            && let Some(joined) = self
                .catalogue
                .member(guild_id, author_id)
                .filter(|p| p.left_at.is_none())
                .and_then(|p| p.joined_at)
            && joined <= at
        {
            self.pending
                .catalogue
                .first_message(guild_id, author_id, joined, at);
        }
        Ok(true)
    }

    fn deletion(
        &mut self,
        guild_id: Option<Snowflake>,
        channel_id: Snowflake,
        count: i32,
        bulk: bool,
        arrival: DateTime<Utc>,
    ) -> Folded {
        let at = self.advance(arrival);
        let Some(guild_id) = guild_id else {
            return Ok(false);
        };
        let filter = self.filter(guild_id);
        let parent = self.catalogue.thread_parent(guild_id, channel_id);
        if filter.counts_at(at) && filter.collects(channel_id, parent) {
            let key = ChannelHourKey {
                guild_id,
                hour: filter.bucket(at),
                channel_id,
            };
            self.pending.rollups.add_deletions(key, count, bulk);
            let entry = Entry {
                at,
                n: u32::try_from(count).unwrap_or(0),
                fact: Fact::Deletion {
                    channel: channel_id,
                    bulk,
                },
            };
            self.alert_event(guild_id, &filter, AlertKind::MassDelete, entry);
        }
        Ok(true)
    }

    fn reaction(&mut self, r: Reaction, added: bool, arrival: DateTime<Utc>) -> Folded {
        let at = self.advance(arrival);
        let Some(guild_id) = r.guild_id else {
            return Ok(false);
        };
        let filter = self.filter(guild_id);
        let parent = self.catalogue.thread_parent(guild_id, r.channel_id);
        if filter.counts_at(at) && filter.collects(r.channel_id, parent) {
            // An add carries the reactor's member (with `user.bot`); a
            // remove does not, so the catalogue answers for it.
            let by_bot =
                r.member.as_ref().is_some_and(|m| m.user.bot) || self.is_bot(guild_id, r.user_id);
            let key = ReactionKey {
                guild_id,
                hour: filter.bucket(at),
                channel_id: r.channel_id,
                user_id: r.user_id,
                receiver_id: r.message_author_id.unwrap_or_default(),
                emoji: r.emoji.into_key(),
            };
            // History shows this reaction in the message's totals too: a
            // history import takes it out of them.
            if let (Some(message_id), Some(since)) = (r.message_id, filter.since)
                && message_id.created_at() < since
            {
                let pre = PreTrackingReactionKey {
                    guild_id,
                    channel_id: r.channel_id,
                    message_id,
                    emoji: key.emoji.clone(),
                };
                self.pending.rollups.add_pre_tracking_reaction(pre, added);
            }
            self.pending.rollups.add_reaction(key, added, by_bot);
        }
        Ok(true)
    }

    // Members.

    fn member_add(&mut self, m: MemberAdd, arrival: DateTime<Utc>) -> Folded {
        let at = self.advance(arrival);
        let joined = m
            .joined_at
            .and_then(|j| self.checked("joined_at", j, at))
            .unwrap_or(at);
        let filter = self.filter(m.guild_id);
        let previous_leave = self
            .catalogue
            .member(m.guild_id, m.user.id)
            .and_then(|p| p.left_at);
        let changes = &mut self.pending.catalogue;
        if self
            .catalogue
            .member_present(changes, m.guild_id, &m.user, joined)
        {
            self.catalogue.bump_member_count(changes, m.guild_id, 1);
            if filter.counts_at(joined) {
                // A rejoin follows a leave seen while tracking.
                let rejoin = previous_leave.is_some_and(|l| filter.since.is_none_or(|s| l >= s));
                self.pending.rollups.add_join(
                    m.guild_id,
                    filter.bucket(joined),
                    rejoin,
                    m.user.bot,
                );
                // Raids are people: bots joining (an admin adding several)
                // are no raid and are left out of its window.
                if !m.user.bot {
                    let entry = Entry {
                        at: joined,
                        n: 1,
                        fact: Fact::Join {
                            young: joined - m.user.id.created_at() < YOUNG_ACCOUNT,
                            default_avatar: m.user.avatar.is_none(),
                        },
                    };
                    self.alert_event(m.guild_id, &filter, AlertKind::JoinRaid, entry);
                }
            }
        }
        Ok(true)
    }

    fn member_remove(&mut self, m: MemberRemove, arrival: DateTime<Utc>) -> Folded {
        let at = self.advance(arrival);
        let filter = self.filter(m.guild_id);
        let bot = m.user.bot || self.is_bot(m.guild_id, m.user.id);
        let changes = &mut self.pending.catalogue;
        self.catalogue.member_left(changes, m.guild_id, &m.user, at);
        self.catalogue.bump_member_count(changes, m.guild_id, -1);
        if filter.counts_at(at) {
            self.pending
                .rollups
                .add_leave(m.guild_id, filter.bucket(at), bot);
        }
        Ok(true)
    }

    // Voice.

    fn voice_state_update(&mut self, v: VoiceStatePayload, arrival: DateTime<Utc>) -> Folded {
        let at = self.advance(arrival);
        let Some(guild_id) = v.guild_id else {
            return Ok(false);
        };
        let catalogue = &self.catalogue;
        let payload_bot = v.member.as_ref().is_some_and(|m| m.user.bot);
        self.voice.update(
            &mut self.settings,
            &mut self.pending,
            guild_id,
            v.user_id,
            v.channel_id,
            at,
            &|g, u| {
                (u == v.user_id && payload_bot) || catalogue.member(g, u).is_some_and(|m| m.is_bot)
            },
        );
        Ok(true)
    }
}
