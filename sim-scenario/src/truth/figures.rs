//! Channel participation, thread activity, deletions per channel, channel
//! counts by type, message concentration, who is in voice at an instant and
//! when a member was first and last seen.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{GroundTruth, Scope, bump, hour_start};

/// Who took part in one top-level channel (threads under their parent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participation {
    /// Counted messages ([`GroundTruth::messages_per_parent_channel`]).
    pub messages: u64,
    /// Distinct authors of those messages.
    pub authors: u64,
    /// Reaction adds by admitted givers.
    pub reactions: u64,
    /// Distinct admitted voice users with at least one whole second in the
    /// channel in some hour ([`GroundTruth::voice_seconds`]).
    pub voice_users: u64,
    /// Distinct users who posted, added a reaction or had a voice second in
    /// the channel (threads included): the guild's active-member definition
    /// ([`GroundTruth::active_members`]) restricted to the channel.
    pub active_members: u64,
    /// Start (Unix ms) of the last UTC hour with a counted message, a
    /// reaction event (add or remove) by an admitted giver, or a voice second.
    pub last_active_hour: Option<i64>,
}

/// When a thread first had a reply: by a member, and by a bot or webhook.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstReply {
    pub member_ms: Option<i64>,
    pub bot_ms: Option<i64>,
}

/// The first replies of the threads created in a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct FirstReplies {
    pub opened: u64,
    pub replied: u64,
    pub median_ms: Option<f64>,
}

/// How concentrated the counted messages are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Concentration {
    pub authors: u64,
    /// `ceil(authors / 10)`.
    pub top_authors: u64,
    /// Messages by the `top_authors` authors with the most messages.
    pub top_messages: u64,
    pub messages: u64,
}

impl GroundTruth {
    /// Participation per top-level channel: a message or reaction in a
    /// thread counts under the thread's parent.
    pub fn participation_per_parent(&self, scope: &Scope) -> BTreeMap<u64, Participation> {
        let mut out: BTreeMap<u64, Participation> = BTreeMap::new();
        let mut authors: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        let mut voice_users: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        let mut active: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        let seen = |out: &mut BTreeMap<u64, Participation>, channel: u64, hour: i64| {
            let p = out.entry(channel).or_default();
            p.last_active_hour = Some(p.last_active_hour.map_or(hour, |h| h.max(hour)));
        };
        for m in self.messages_in(scope) {
            let parent = m.thread_parent_id.unwrap_or(m.channel_id);
            out.entry(parent).or_default().messages += 1;
            authors.entry(parent).or_default().insert(m.author_id);
            active.entry(parent).or_default().insert(m.author_id);
            seen(&mut out, parent, hour_start(m.at_ms));
        }
        for r in self.reactions_in(scope) {
            if !scope.admits_actor(r.user_id, r.user_is_bot) {
                continue;
            }
            let parent = r.thread_parent_id.unwrap_or(r.channel_id);
            if r.added {
                out.entry(parent).or_default().reactions += 1;
                active.entry(parent).or_default().insert(r.user_id);
            }
            seen(&mut out, parent, hour_start(r.at_ms));
        }
        for ((channel, user, hour), seconds) in self.voice_seconds(scope) {
            if seconds > 0 {
                voice_users.entry(channel).or_default().insert(user);
                active.entry(channel).or_default().insert(user);
                seen(&mut out, channel, hour);
            }
        }
        for (channel, set) in authors {
            out.entry(channel).or_default().authors = set.len() as u64;
        }
        for (channel, set) in voice_users {
            out.entry(channel).or_default().voice_users = set.len() as u64;
        }
        for (channel, set) in active {
            out.entry(channel).or_default().active_members = set.len() as u64;
        }
        out
    }

    /// Per thread of the guild: when someone other than its owner first
    /// wrote in it, a member and a bot or webhook (`(member, bot)`, Unix
    /// ms), over every message of the scenario the ingester counts
    /// (tracking since `tracking_since_ms`, collected channels), as the
    /// catalogue records them.
    pub fn thread_first_replies(&self, scope: &Scope) -> BTreeMap<u64, FirstReply> {
        let owners: BTreeMap<u64, (u64, i64)> = self
            .threads
            .iter()
            .filter(|t| t.guild_id == scope.guild_id)
            .map(|t| (t.thread_id, (t.owner_id, t.created_ms.unwrap_or(i64::MIN))))
            .collect();
        let mut out: BTreeMap<u64, FirstReply> = BTreeMap::new();
        for m in &self.messages {
            let Some((owner, created)) = owners.get(&m.channel_id) else {
                continue;
            };
            if m.guild_id != scope.guild_id
                || m.author_id == *owner
                || m.at_ms < *created
                || scope.tracking_since_ms.is_some_and(|t| m.at_ms < t)
                || !scope.admits_channel(m.channel_id, m.thread_parent_id)
            {
                continue;
            }
            let r = out.entry(m.channel_id).or_default();
            let slot = if m.author_kind == super::AuthorKind::Member {
                &mut r.member_ms
            } else {
                &mut r.bot_ms
            };
            *slot = Some(slot.map_or(m.at_ms, |t| t.min(m.at_ms)));
        }
        out
    }

    /// The threads created in the scope's range (`THREAD_CREATE`, in an
    /// admitted channel), how many have a reply by now (a member's; a bot's
    /// too with `include_bots`), and the median time to it in ms (the mean
    /// of the middle two for an even count).
    pub fn first_replies(&self, scope: &Scope) -> FirstReplies {
        let replies = self.thread_first_replies(scope);
        let mut waits: Vec<i64> = Vec::new();
        let mut opened = 0;
        for t in &self.threads {
            let Some(created) = t.created_ms else {
                continue;
            };
            if t.guild_id != scope.guild_id
                || !scope.admits_time(created)
                || !scope.admits_channel(t.thread_id, Some(t.parent_id))
            {
                continue;
            }
            opened += 1;
            let r = replies.get(&t.thread_id).copied().unwrap_or_default();
            let first = if scope.include_bots {
                [r.member_ms, r.bot_ms].into_iter().flatten().min()
            } else {
                r.member_ms
            };
            if let Some(at) = first {
                waits.push(at - created);
            }
        }
        waits.sort_unstable();
        let n = waits.len();
        let median_ms = match n {
            0 => None,
            _ if n % 2 == 1 => Some(waits[n / 2] as f64),
            _ => Some((waits[n / 2 - 1] + waits[n / 2]) as f64 / 2.0),
        };
        FirstReplies {
            opened,
            replied: n as u64,
            median_ms,
        }
    }

    /// Distinct threads with a counted message in the range.
    pub fn active_threads(&self, scope: &Scope) -> u64 {
        self.messages_in(scope)
            .filter(|m| m.thread_parent_id.is_some())
            .map(|m| m.channel_id)
            .collect::<BTreeSet<u64>>()
            .len() as u64
    }

    /// Deleted messages per channel the delete event names (a thread under
    /// its own id): `(all, in bulk)`, counted as
    /// [`Self::deletions_per_channel_hour`] counts them.
    pub fn deletions_per_channel(&self, scope: &Scope) -> BTreeMap<u64, (u64, u64)> {
        let mut out: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        for d in self.deletions_in(scope) {
            let e = out.entry(d.channel_id).or_default();
            e.0 += u64::from(d.count);
            if d.bulk {
                e.1 += u64::from(d.count);
            }
        }
        out
    }

    /// Channels of the guild that exist at instant `t` (created by then, not
    /// yet deleted), per Discord channel type; threads (10, 11, 12) only
    /// while not archived.
    pub fn channel_counts_at(&self, guild_id: u64, t: i64) -> BTreeMap<u8, u64> {
        let archived: BTreeSet<u64> = self
            .threads
            .iter()
            .filter(|th| th.guild_id == guild_id && th.archived_ms.is_some_and(|a| a <= t))
            .map(|th| th.thread_id)
            .collect();
        let mut out = BTreeMap::new();
        for c in self.channels_of(guild_id) {
            let exists = c.created_ms.is_none_or(|c| c <= t) && c.deleted_ms.is_none_or(|d| d > t);
            let open = !matches!(c.kind, 10..=12) || !archived.contains(&c.channel_id);
            if exists && open {
                bump(&mut out, c.kind, 1);
            }
        }
        out
    }

    /// The share of counted messages written by the top 10 % of authors
    /// (rounded up; ranked by messages, ties by user id).
    pub fn message_concentration(&self, scope: &Scope) -> Concentration {
        let ranked = self.top_messagers(scope, usize::MAX);
        let authors = ranked.len() as u64;
        let top_authors = authors.div_ceil(10);
        Concentration {
            authors,
            top_authors,
            top_messages: ranked
                .iter()
                .take(top_authors as usize)
                .map(|r| r.value)
                .sum(),
            messages: ranked.iter().map(|r| r.value).sum(),
        }
    }

    /// Who is in which voice channel at instant `t`: `(user, channel,
    /// since)`, bots only when `include_bots`.
    pub fn in_voice_at(&self, guild_id: u64, t: i64, include_bots: bool) -> Vec<(u64, u64, i64)> {
        let mut out: Vec<(u64, u64, i64)> = self
            .voice
            .iter()
            .filter(|v| v.guild_id == guild_id && (include_bots || !v.user_is_bot))
            .filter(|v| v.start_ms <= t && t < v.end_ms)
            .map(|v| (v.user_id, v.channel_id, v.start_ms))
            .collect();
        out.sort();
        out
    }

    /// The first and last UTC hour (start, Unix ms) in which `user_id`
    /// posted (any author kind), added a reaction or had a whole second in
    /// voice, over the whole scenario.
    pub fn first_and_last_seen(&self, guild_id: u64, user_id: u64) -> Option<(i64, i64)> {
        let all = Scope::new(guild_id, i64::MIN / 2, i64::MAX / 2)
            .including_bots()
            .user(user_id);
        let messages = self
            .messages
            .iter()
            .filter(|m| m.guild_id == guild_id && m.author_id == user_id)
            .map(|m| hour_start(m.at_ms));
        let reactions = self
            .reactions
            .iter()
            .filter(|r| r.guild_id == guild_id && r.user_id == user_id && r.added)
            .map(|r| hour_start(r.at_ms));
        let voice = self
            .voice_seconds(&all)
            .into_iter()
            .filter(|(_, s)| *s > 0)
            .map(|((_, _, h), _)| h);
        let hours: Vec<i64> = messages.chain(reactions).chain(voice).collect();
        Some((*hours.iter().min()?, *hours.iter().max()?))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AuthorKind, DeletionFact, MessageFact, VoiceInterval};
    use super::*;

    fn message(at_ms: i64, author_id: u64, channel_id: u64, parent: Option<u64>) -> MessageFact {
        MessageFact {
            at_ms,
            message_id: at_ms as u64,
            guild_id: 1,
            channel_id,
            thread_parent_id: parent,
            author_id,
            author_kind: AuthorKind::Member,
            attachments: 0,
            embeds: 0,
            stickers: 0,
        }
    }

    #[test]
    fn concentration_participation_deletions_and_voice_by_hand() {
        let mut t = GroundTruth::empty(0, 0, 100 * HOUR, vec![1]);
        // Eleven authors: author 1 writes 10 messages, the others one each;
        // two of author 1's are in a thread (30) under channel 10.
        for i in 0..10 {
            let (channel, parent) = if i < 2 { (30, Some(10)) } else { (10, None) };
            t.messages.push(message(i * 1000, 1, channel, parent));
        }
        for author in 2..=11 {
            t.messages
                .push(message(5 * HOUR + author as i64, author, 20, None));
        }
        let all = Scope::new(1, 0, 100 * HOUR);
        let c = t.message_concentration(&all);
        // ceil(11 / 10) = 2 top authors: 10 messages and one of the others.
        assert_eq!(
            (c.authors, c.top_authors, c.top_messages, c.messages),
            (11, 2, 11, 20)
        );
        let p = t.participation_per_parent(&all);
        assert_eq!(
            (p[&10].messages, p[&10].authors, p[&10].last_active_hour),
            (10, 1, Some(0))
        );
        assert_eq!(
            (p[&20].authors, p[&20].last_active_hour),
            (10, Some(5 * HOUR))
        );
        assert_eq!(t.active_threads(&all), 1);
        for (count, bulk) in [(1, false), (5, true)] {
            t.deletions.push(DeletionFact {
                at_ms: HOUR,
                guild_id: 1,
                channel_id: 10,
                thread_parent_id: None,
                count,
                bulk,
                message_ids: Vec::new(),
            });
        }
        assert_eq!(t.deletions_per_channel(&all)[&10], (6, 5));
        t.voice.push(VoiceInterval {
            guild_id: 1,
            channel_id: 40,
            user_id: 70,
            user_is_bot: false,
            start_ms: HOUR,
            end_ms: 2 * HOUR,
        });
        assert_eq!(t.in_voice_at(1, HOUR, false), vec![(70, 40, HOUR)]);
        assert!(
            t.in_voice_at(1, 2 * HOUR, false).is_empty(),
            "the end is exclusive"
        );
        assert_eq!(t.participation_per_parent(&all)[&40].voice_users, 1);
        assert_eq!(t.first_and_last_seen(1, 70), Some((HOUR, HOUR)));
        assert_eq!(t.first_and_last_seen(1, 7), Some((5 * HOUR, 5 * HOUR)));
    }

    const HOUR: i64 = super::super::HOUR_MS;
}
