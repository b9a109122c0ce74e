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

mod facts;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, TimeZone, Timelike};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use facts::*;

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
}

/// Which events a query looks at. Build with [`Scope::new`] and the builder
/// methods.
///
/// The allow-list is fixed for the whole range. When the settings change at
/// `t`, query `[from, t)` and `[t, to)` with their own lists and add the
/// results (exact for every additive figure: counts, voice time, per-hour
/// and per-day maps; not for distinct-member counts or peaks within the
/// hour containing `t`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub guild_id: u64,
    /// Inclusive start, Unix ms.
    pub from_ms: i64,
    /// Exclusive end, Unix ms.
    pub to_ms: i64,
    /// Collected channels (the guild's allow-list); `None`: all channels.
    pub collected: Option<BTreeSet<u64>>,
    /// When tracking was enabled; nothing earlier counts.
    pub tracking_since_ms: Option<i64>,
    /// Only this channel (and threads whose parent it is).
    pub channel: Option<u64>,
    /// Only this user's own actions (author, reaction giver, voice user).
    pub user: Option<u64>,
    /// Count bots and webhooks in member statistics.
    pub include_bots: bool,
}

impl Scope {
    /// All channels, tracking since forever, bots excluded.
    pub fn new(guild_id: u64, from_ms: i64, to_ms: i64) -> Self {
        Self {
            guild_id,
            from_ms,
            to_ms,
            collected: None,
            tracking_since_ms: None,
            channel: None,
            user: None,
            include_bots: false,
        }
    }
    pub fn collected(mut self, channels: impl IntoIterator<Item = u64>) -> Self {
        self.collected = Some(channels.into_iter().collect());
        self
    }
    pub fn tracking_since(mut self, t: i64) -> Self {
        self.tracking_since_ms = Some(t);
        self
    }
    pub fn channel(mut self, channel: u64) -> Self {
        self.channel = Some(channel);
        self
    }
    pub fn user(mut self, user: u64) -> Self {
        self.user = Some(user);
        self
    }
    pub fn including_bots(mut self) -> Self {
        self.include_bots = true;
        self
    }
    /// `max(from_ms, tracking_since_ms)`.
    pub fn effective_from(&self) -> i64 {
        self.tracking_since_ms
            .map_or(self.from_ms, |t| t.max(self.from_ms))
    }
    /// `effective_from() <= t < to_ms`.
    pub fn admits_time(&self, t: i64) -> bool {
        t >= self.effective_from() && t < self.to_ms
    }
    /// A channel passes when it (or, for a thread, its parent) is in the
    /// allow-list, and it is (or its parent is) the filtered channel. The
    /// allow-list names channels (or threads) themselves: a category in it
    /// does not admit the channels under it.
    pub fn admits_channel(&self, channel: u64, thread_parent: Option<u64>) -> bool {
        let is = |c: u64| channel == c || thread_parent == Some(c);
        self.collected
            .as_ref()
            .is_none_or(|set| set.iter().any(|c| is(*c)))
            && self.channel.is_none_or(is)
    }
    fn admits_user(&self, user: u64) -> bool {
        self.user.is_none_or(|u| u == user)
    }
    /// The message passes the time, channel, user and bot filters.
    fn admits_message(&self, m: &MessageFact) -> bool {
        m.guild_id == self.guild_id
            && self.admits_time(m.at_ms)
            && self.admits_channel(m.channel_id, m.thread_parent_id)
            && self.admits_user(m.author_id)
            && (self.include_bots || m.author_kind == AuthorKind::Member)
    }
}

/// Content carried by the counted messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentCounts {
    pub messages: u64,
    /// Sum of attachments over messages.
    pub attachments: u64,
    pub embeds: u64,
    /// Sum of `sticker_items`.
    pub stickers: u64,
    pub messages_with_attachments: u64,
    pub messages_with_embeds: u64,
    pub messages_with_stickers: u64,
}

/// Active and total members for a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityRatio {
    /// Distinct authors of counted messages.
    pub active: u64,
    /// Distinct users who were members at some instant of the range.
    pub members: u64,
}

impl ActivityRatio {
    pub fn inactive(&self) -> u64 {
        self.members - self.active
    }
}

/// One leaderboard row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranked {
    pub user_id: u64,
    pub value: u64,
}

/// What a leaderboard ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaderboardMetric {
    /// [`GroundTruth::messages_per_member`].
    Messages,
    /// Whole seconds of [`GroundTruth::voice_ms_per_member`] (ms / 1000,
    /// rounded down after summing).
    VoiceSeconds,
    /// [`GroundTruth::reactions_given`] (adds only).
    ReactionsGiven,
    /// [`GroundTruth::reactions_received`] (adds only).
    ReactionsReceived,
}

/// Reaction adds and removes for one emoji.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmojiCounts {
    pub added: u64,
    pub removed: u64,
}

/// Reactions of one user in one channel and hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionCell {
    /// Adds by the user.
    pub given: u64,
    /// Removes by the user.
    pub removed: u64,
    /// Adds on the user's messages.
    pub received: u64,
}

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

/// Threads created and archived under one parent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadCounts {
    pub created: u64,
    pub archived: u64,
}

/// New-member activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activation {
    /// Joins (stints, rejoins included) in the range.
    pub joined: u64,
    /// Of those, joins followed by a counted message within 7 days.
    pub activated: u64,
}

/// Retention of a join cohort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// Joins (stints, rejoins included) in the range.
    pub cohort: u64,
    /// Joins with `joined + 7 days <= as_of_ms`.
    pub eligible_7d: u64,
    /// Of the eligible, users who were members at `joined + 7 days`.
    pub retained_7d: u64,
    pub eligible_30d: u64,
    pub retained_30d: u64,
}

/// Membership movements in a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Growth {
    /// `GUILD_MEMBER_ADD` events (rejoins included).
    pub joins: u64,
    /// `GUILD_MEMBER_REMOVE` events.
    pub leaves: u64,
    /// Joins of users who had left this guild earlier (a leave at or after
    /// the tracking start, if set, and before this join).
    pub rejoins: u64,
    /// `joins - leaves`.
    pub net: i64,
}

fn bump<K: Ord>(map: &mut BTreeMap<K, u64>, key: K, by: u64) {
    *map.entry(key).or_insert(0) += by;
}

fn rank(map: BTreeMap<u64, u64>) -> Vec<Ranked> {
    let mut rows: Vec<Ranked> = map
        .into_iter()
        .filter(|(_, v)| *v > 0)
        .map(|(user_id, value)| Ranked { user_id, value })
        .collect();
    rows.sort_by(|a, b| b.value.cmp(&a.value).then(a.user_id.cmp(&b.user_id)));
    rows
}

fn local(t: i64, tz: Tz) -> chrono::DateTime<Tz> {
    tz.timestamp_millis_opt(t)
        .single()
        .expect("UTC instants map to one local time")
}

/// First instant (Unix ms) of the local day after `date` in `tz`. Where that
/// midnight falls in a DST gap, the day starts at the first local time that
/// exists.
fn next_local_midnight(date: NaiveDate, tz: Tz) -> i64 {
    let next = date
        .succ_opt()
        .expect("date in range")
        .and_hms_opt(0, 0, 0)
        .expect("midnight");
    (0..=24 * 4)
        .find_map(|quarter| {
            let wall = next + chrono::Duration::minutes(15 * quarter);
            tz.from_local_datetime(&wall).earliest()
        })
        .expect("a local day starts within a day")
        .timestamp_millis()
}

impl GroundTruth {
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

    fn messages_in<'a>(&'a self, scope: &'a Scope) -> impl Iterator<Item = &'a MessageFact> + 'a {
        self.messages
            .iter()
            .filter(move |m| scope.admits_message(m))
    }

    // ----- messages -----

    /// Counted messages: in the guild, at a time in the effective range, in
    /// an admitted channel (thread messages pass when their parent does), by
    /// the scope's user if set, and by a member (bots and webhooks only with
    /// `include_bots`). Deleted messages still count: they were sent.
    pub fn messages_total(&self, scope: &Scope) -> u64 {
        self.messages_in(scope).count() as u64
    }

    /// Counted messages by the channel they were posted in: a thread message
    /// is counted under the thread's id (not the parent's).
    pub fn messages_per_channel(&self, scope: &Scope) -> BTreeMap<u64, u64> {
        let mut out = BTreeMap::new();
        for m in self.messages_in(scope) {
            bump(&mut out, m.channel_id, 1);
        }
        out
    }

    /// Counted messages attributed to top-level channels: a thread message is
    /// counted under its parent, a channel message under its channel.
    pub fn messages_per_parent_channel(&self, scope: &Scope) -> BTreeMap<u64, u64> {
        let mut out = BTreeMap::new();
        for m in self.messages_in(scope) {
            bump(&mut out, m.thread_parent_id.unwrap_or(m.channel_id), 1);
        }
        out
    }

    /// Counted messages posted in threads, keyed by the thread's parent
    /// (thread engagement per channel; forum posts' replies under the forum).
    pub fn thread_messages_per_parent(&self, scope: &Scope) -> BTreeMap<u64, u64> {
        let mut out = BTreeMap::new();
        for m in self.messages_in(scope) {
            if let Some(parent) = m.thread_parent_id {
                bump(&mut out, parent, 1);
            }
        }
        out
    }

    /// Counted messages per author id (webhook id for webhook messages, when
    /// bots are included).
    pub fn messages_per_member(&self, scope: &Scope) -> BTreeMap<u64, u64> {
        let mut out = BTreeMap::new();
        for m in self.messages_in(scope) {
            bump(&mut out, m.author_id, 1);
        }
        out
    }

    /// Counted messages per UTC hour (key: hour start, Unix ms). Hours with
    /// none are absent.
    pub fn messages_per_utc_hour(&self, scope: &Scope) -> BTreeMap<i64, u64> {
        let mut out = BTreeMap::new();
        for m in self.messages_in(scope) {
            bump(&mut out, hour_start(m.at_ms), 1);
        }
        out
    }

    /// Counted messages per local calendar day in `tz`. The range is still
    /// the UTC instant range of the scope; a local day is 23 or 25 hours long
    /// across a daylight-saving change. Days with none are absent.
    pub fn messages_per_local_day(&self, scope: &Scope, tz: Tz) -> BTreeMap<NaiveDate, u64> {
        let mut out = BTreeMap::new();
        for m in self.messages_in(scope) {
            bump(&mut out, local(m.at_ms, tz).date_naive(), 1);
        }
        out
    }

    /// Counted messages by `[weekday][hour]` of local time in `tz`: weekday 0
    /// is Monday, hour 0..24 is the local wall-clock hour. On the autumn DST
    /// change the repeated hour receives both real hours; on the spring change
    /// the skipped hour receives nothing.
    pub fn message_heatmap(&self, scope: &Scope, tz: Tz) -> [[u64; 24]; 7] {
        let mut out = [[0u64; 24]; 7];
        for m in self.messages_in(scope) {
            let l = local(m.at_ms, tz);
            out[l.weekday().num_days_from_monday() as usize][l.hour() as usize] += 1;
        }
        out
    }

    /// Attachments, embeds and stickers of the counted messages.
    pub fn content_counts(&self, scope: &Scope) -> ContentCounts {
        let mut c = ContentCounts::default();
        for m in self.messages_in(scope) {
            c.messages += 1;
            c.attachments += u64::from(m.attachments);
            c.embeds += u64::from(m.embeds);
            c.stickers += u64::from(m.stickers);
            c.messages_with_attachments += u64::from(m.attachments > 0);
            c.messages_with_embeds += u64::from(m.embeds > 0);
            c.messages_with_stickers += u64::from(m.stickers > 0);
        }
        c
    }

    /// The finest message grain: counted messages and their content per
    /// `(channel, author, UTC hour start)`, the channel being the one posted
    /// in (the thread for thread messages). Every other message figure is a
    /// sum over these cells.
    pub fn message_cells(&self, scope: &Scope) -> BTreeMap<(u64, u64, i64), ContentCounts> {
        let mut out: BTreeMap<(u64, u64, i64), ContentCounts> = BTreeMap::new();
        for m in self.messages_in(scope) {
            let c = out
                .entry((m.channel_id, m.author_id, hour_start(m.at_ms)))
                .or_default();
            c.messages += 1;
            c.attachments += u64::from(m.attachments);
            c.embeds += u64::from(m.embeds);
            c.stickers += u64::from(m.stickers);
            c.messages_with_attachments += u64::from(m.attachments > 0);
            c.messages_with_embeds += u64::from(m.embeds > 0);
            c.messages_with_stickers += u64::from(m.stickers > 0);
        }
        out
    }

    // ----- members and activity -----

    /// Distinct authors of counted messages.
    pub fn active_members(&self, scope: &Scope) -> BTreeSet<u64> {
        self.messages_in(scope).map(|m| m.author_id).collect()
    }

    /// `members`: distinct users (humans; bots too with `include_bots`) with
    /// a stint overlapping the effective range, i.e. `joined_ms < to_ms` and
    /// (`left_ms` is `None` or `left_ms > effective_from`): a member who
    /// joins exactly at `to_ms` or left exactly at the start is not counted.
    /// `active`: [`Self::active_members`] (always a subset). Inactive is
    /// `members - active`. The user filter of the scope is ignored here.
    pub fn activity_ratio(&self, scope: &Scope) -> ActivityRatio {
        let from = scope.effective_from();
        let members: BTreeSet<u64> = self
            .members
            .iter()
            .filter(|m| m.guild_id == scope.guild_id && (scope.include_bots || !m.is_bot))
            .filter(|m| m.joined_ms < scope.to_ms && m.left_ms.is_none_or(|l| l > from))
            .map(|m| m.user_id)
            .collect();
        let unscoped = Scope {
            user: None,
            ..scope.clone()
        };
        let active = self.active_members(&unscoped);
        ActivityRatio {
            active: active.len() as u64,
            members: members.len() as u64,
        }
    }

    /// [`Self::messages_per_member`] ranked (count desc, user id asc), first
    /// `limit` rows.
    pub fn top_messagers(&self, scope: &Scope, limit: usize) -> Vec<Ranked> {
        let mut rows = rank(self.messages_per_member(scope));
        rows.truncate(limit);
        rows
    }

    /// Full ranking for a metric (value desc, user id asc; zeros left out).
    pub fn leaderboard(&self, scope: &Scope, metric: LeaderboardMetric) -> Vec<Ranked> {
        match metric {
            LeaderboardMetric::Messages => rank(self.messages_per_member(scope)),
            LeaderboardMetric::VoiceSeconds => rank(
                self.voice_ms_per_member(scope)
                    .into_iter()
                    .map(|(u, ms)| (u, (ms / 1000) as u64))
                    .collect(),
            ),
            LeaderboardMetric::ReactionsGiven => rank(self.reactions_given(scope)),
            LeaderboardMetric::ReactionsReceived => rank(self.reactions_received(scope)),
        }
    }

    // ----- membership -----

    fn stints<'a>(&'a self, scope: &'a Scope) -> impl Iterator<Item = &'a MembershipFact> + 'a {
        self.members.iter().filter(move |m| {
            m.guild_id == scope.guild_id
                && (scope.include_bots || !m.is_bot)
                && scope.admits_user(m.user_id)
        })
    }

    /// Joins (`GUILD_MEMBER_ADD`, by `joined_at`), leaves and rejoins whose
    /// event time is in the effective range (a join exactly at `to_ms` belongs
    /// to the next range). Members present at the scenario start never
    /// "joined" in the stream and are not joins. Channel filters don't apply;
    /// the user filter does.
    pub fn growth(&self, scope: &Scope) -> Growth {
        let mut g = Growth {
            joins: 0,
            leaves: 0,
            rejoins: 0,
            net: 0,
        };
        for m in self.stints(scope) {
            if !m.initial && scope.admits_time(m.joined_ms) {
                g.joins += 1;
                g.rejoins += u64::from(self.is_rejoin(m, scope));
            }
            if m.left_ms.is_some_and(|l| scope.admits_time(l)) {
                g.leaves += 1;
            }
        }
        g.net = g.joins as i64 - g.leaves as i64;
        g
    }

    /// [`Self::growth`]'s joins and leaves per local calendar day in `tz`
    /// (`net` per day; `rejoins` as in `growth`).
    pub fn growth_per_local_day(&self, scope: &Scope, tz: Tz) -> BTreeMap<NaiveDate, Growth> {
        let mut out: BTreeMap<NaiveDate, Growth> = BTreeMap::new();
        let empty = Growth {
            joins: 0,
            leaves: 0,
            rejoins: 0,
            net: 0,
        };
        for m in self.stints(scope) {
            if !m.initial && scope.admits_time(m.joined_ms) {
                let day = local(m.joined_ms, tz).date_naive();
                let g = out.entry(day).or_insert(empty);
                g.joins += 1;
                g.rejoins += u64::from(self.is_rejoin(m, scope));
                g.net += 1;
            }
            if let Some(l) = m.left_ms.filter(|l| scope.admits_time(*l)) {
                let g = out.entry(local(l, tz).date_naive()).or_insert(empty);
                g.leaves += 1;
                g.net -= 1;
            }
        }
        out
    }

    /// The user left this guild before this join, at or after the tracking
    /// start when one is set.
    fn is_rejoin(&self, join: &MembershipFact, scope: &Scope) -> bool {
        self.members.iter().any(|p| {
            p.guild_id == join.guild_id
                && p.user_id == join.user_id
                && p.left_ms.is_some_and(|l| {
                    l <= join.joined_ms && scope.tracking_since_ms.is_none_or(|t| l >= t)
                })
        })
    }

    /// Members at instant `t`: stints with `joined_ms <= t` and (`left_ms`
    /// `None` or `t < left_ms`). A join at `t` is in, a leave at `t` is out.
    /// Bots only when `include_bots`.
    pub fn member_count_at(&self, guild_id: u64, t: i64, include_bots: bool) -> u64 {
        self.members
            .iter()
            .filter(|m| m.guild_id == guild_id && (include_bots || !m.is_bot))
            .filter(|m| m.joined_ms <= t && m.left_ms.is_none_or(|l| t < l))
            .count() as u64
    }

    fn is_member_at(&self, guild_id: u64, user_id: u64, t: i64) -> bool {
        self.members.iter().any(|m| {
            m.guild_id == guild_id
                && m.user_id == user_id
                && m.joined_ms <= t
                && m.left_ms.is_none_or(|l| t < l)
        })
    }

    /// Joins (as in [`Self::growth`], each stint separately) in the effective
    /// range; a join is
    /// activated when the same user has a message with
    /// `joined_ms <= at_ms < joined_ms + 7 days` that passes the scope's
    /// channel filters and tracking start (the 7-day window may run past
    /// `to_ms`; only data up to the scenario end exists).
    pub fn activation(&self, scope: &Scope) -> Activation {
        let joins: Vec<&MembershipFact> = self
            .stints(scope)
            .filter(|m| !m.initial && scope.admits_time(m.joined_ms))
            .collect();
        let joiners: BTreeSet<u64> = joins.iter().map(|m| m.user_id).collect();
        // Posts of the joiners that pass the channel filters and tracking start.
        let any_time = Scope {
            from_ms: i64::MIN,
            to_ms: i64::MAX,
            user: None,
            include_bots: true,
            ..scope.clone()
        };
        let mut posts: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
        for m in self
            .messages_in(&any_time)
            .filter(|m| joiners.contains(&m.author_id))
        {
            posts.entry(m.author_id).or_default().push(m.at_ms);
        }
        let activated = joins
            .iter()
            .filter(|m| {
                posts.get(&m.user_id).is_some_and(|times| {
                    times
                        .iter()
                        .any(|t| m.joined_ms <= *t && *t < m.joined_ms + 7 * DAY_MS)
                })
            })
            .count();
        Activation {
            joined: joins.len() as u64,
            activated: activated as u64,
        }
    }

    /// The cohort is the joins (as in [`Self::growth`], each stint) in the
    /// effective range, e.g. one week. A join is
    /// eligible for N days when `joined_ms + N days <= as_of_ms`, and retained
    /// when the user is a member (any stint) at instant `joined_ms + N days`.
    pub fn retention(&self, scope: &Scope, as_of_ms: i64) -> Retention {
        let mut r = Retention {
            cohort: 0,
            eligible_7d: 0,
            retained_7d: 0,
            eligible_30d: 0,
            retained_30d: 0,
        };
        for m in self
            .stints(scope)
            .filter(|m| !m.initial && scope.admits_time(m.joined_ms))
        {
            r.cohort += 1;
            let (t7, t30) = (m.joined_ms + 7 * DAY_MS, m.joined_ms + 30 * DAY_MS);
            if t7 <= as_of_ms {
                r.eligible_7d += 1;
                r.retained_7d += u64::from(self.is_member_at(m.guild_id, m.user_id, t7));
            }
            if t30 <= as_of_ms {
                r.eligible_30d += 1;
                r.retained_30d += u64::from(self.is_member_at(m.guild_id, m.user_id, t30));
            }
        }
        r
    }

    // ----- voice -----

    /// Voice time in ms per `(channel, user, UTC hour start)`. Each interval
    /// is clipped to the effective range, then split exactly at UTC hour
    /// boundaries; a session open at a range edge contributes only its part
    /// inside. Generated voice events fall on whole seconds, so the values
    /// are whole seconds whenever the range edges are.
    pub fn voice_ms(&self, scope: &Scope) -> BTreeMap<(u64, u64, i64), i64> {
        let mut out = BTreeMap::new();
        for (v, s, e) in self.voice_clipped(scope) {
            let mut t = s;
            while t < e {
                let h = hour_start(t);
                let piece_end = e.min(h + HOUR_MS);
                *out.entry((v.channel_id, v.user_id, h)).or_insert(0) += piece_end - t;
                t = piece_end;
            }
        }
        out
    }

    fn voice_clipped<'a>(
        &'a self,
        scope: &'a Scope,
    ) -> impl Iterator<Item = (&'a VoiceInterval, i64, i64)> + 'a {
        let from = scope.effective_from();
        self.voice
            .iter()
            .filter(move |v| {
                v.guild_id == scope.guild_id
                    && scope.admits_channel(v.channel_id, None)
                    && scope.admits_user(v.user_id)
                    && (scope.include_bots || !v.user_is_bot)
            })
            .map(move |v| (v, v.start_ms.max(from), v.end_ms.min(scope.to_ms)))
            .filter(|(_, s, e)| s < e)
    }

    /// [`Self::voice_ms`] in whole seconds (each cell's ms / 1000, rounded
    /// down; exact whenever the range edges are whole seconds, since every
    /// voice event and hour boundary is).
    pub fn voice_seconds(&self, scope: &Scope) -> BTreeMap<(u64, u64, i64), i64> {
        self.voice_ms(scope)
            .into_iter()
            .map(|(k, ms)| (k, ms.div_euclid(1000)))
            .collect()
    }

    /// Voice time in ms per local calendar day in `tz`: clipped like
    /// [`Self::voice_ms`], then split exactly at local midnights (a local day
    /// across a DST change is 23 or 25 hours long).
    pub fn voice_ms_per_local_day(&self, scope: &Scope, tz: Tz) -> BTreeMap<NaiveDate, i64> {
        let mut out = BTreeMap::new();
        for (_, s, e) in self.voice_clipped(scope) {
            let mut t = s;
            while t < e {
                let date = local(t, tz).date_naive();
                let piece_end = e.min(next_local_midnight(date, tz));
                *out.entry(date).or_insert(0) += piece_end - t;
                t = piece_end;
            }
        }
        out
    }

    /// Sum of [`Self::voice_ms`] per user.
    pub fn voice_ms_per_member(&self, scope: &Scope) -> BTreeMap<u64, i64> {
        let mut out = BTreeMap::new();
        for ((_, u, _), ms) in self.voice_ms(scope) {
            *out.entry(u).or_insert(0) += ms;
        }
        out
    }

    /// Sum of [`Self::voice_ms`] per channel.
    pub fn voice_ms_per_channel(&self, scope: &Scope) -> BTreeMap<u64, i64> {
        let mut out = BTreeMap::new();
        for ((c, _, _), ms) in self.voice_ms(scope) {
            *out.entry(c).or_insert(0) += ms;
        }
        out
    }

    /// Peak concurrent users per `(channel, UTC hour start)`: the largest
    /// number of (clipped) intervals containing one instant of the hour.
    /// Intervals are half-open, so someone leaving at `t` and someone joining
    /// at `t` are never simultaneous; users already present when the hour
    /// starts count. Only hours with a peak of at least 1 appear.
    pub fn peak_concurrent(&self, scope: &Scope) -> BTreeMap<(u64, i64), u32> {
        let mut pieces: BTreeMap<(u64, i64), Vec<(i64, i64)>> = BTreeMap::new();
        for (v, s, e) in self.voice_clipped(scope) {
            let mut h = hour_start(s);
            while h < e {
                pieces
                    .entry((v.channel_id, h))
                    .or_default()
                    .push((s.max(h), e.min(h + HOUR_MS)));
                h += HOUR_MS;
            }
        }
        let mut out = BTreeMap::new();
        for (key, list) in pieces {
            // Ends sort before starts at the same instant (-1 < +1).
            let mut edges: Vec<(i64, i32)> =
                list.iter().flat_map(|(s, e)| [(*s, 1), (*e, -1)]).collect();
            edges.sort();
            let (mut now, mut peak) = (0i32, 0i32);
            for (_, d) in edges {
                now += d;
                peak = peak.max(now);
            }
            out.insert(key, peak as u32);
        }
        out
    }

    // ----- reactions -----

    fn reactions_in<'a>(&'a self, scope: &'a Scope) -> impl Iterator<Item = &'a ReactionFact> + 'a {
        self.reactions.iter().filter(move |r| {
            r.guild_id == scope.guild_id
                && scope.admits_time(r.at_ms)
                && scope.admits_channel(r.channel_id, r.thread_parent_id)
        })
    }

    /// Reaction adds per giver (removes are not subtracted). The user filter
    /// selects the giver; bot givers only with `include_bots`.
    pub fn reactions_given(&self, scope: &Scope) -> BTreeMap<u64, u64> {
        let mut out = BTreeMap::new();
        for r in self.reactions_in(scope).filter(|r| r.added) {
            if scope.admits_user(r.user_id) && (scope.include_bots || !r.user_is_bot) {
                bump(&mut out, r.user_id, 1);
            }
        }
        out
    }

    /// Reaction adds per message author, from `message_author_id` (removes
    /// carry no author and are not subtracted). The user filter selects the
    /// author; bot and webhook authors only with `include_bots`.
    pub fn reactions_received(&self, scope: &Scope) -> BTreeMap<u64, u64> {
        let mut out = BTreeMap::new();
        for r in self.reactions_in(scope).filter(|r| r.added) {
            let (Some(a), Some(kind)) = (r.message_author_id, r.message_author_kind) else {
                continue;
            };
            if scope.admits_user(a) && (scope.include_bots || kind == AuthorKind::Member) {
                bump(&mut out, a, 1);
            }
        }
        out
    }

    /// Reaction adds per local calendar day in `tz`, by givers passing the
    /// user and bot filters.
    pub fn reactions_per_local_day(&self, scope: &Scope, tz: Tz) -> BTreeMap<NaiveDate, u64> {
        let mut out = BTreeMap::new();
        for r in self.reactions_in(scope).filter(|r| r.added) {
            if scope.admits_user(r.user_id) && (scope.include_bots || !r.user_is_bot) {
                bump(&mut out, local(r.at_ms, tz).date_naive(), 1);
            }
        }
        out
    }

    /// The finest reaction grain, per `(channel, user, UTC hour start)` of
    /// the reaction event: `given` and `removed` count the user's own adds
    /// and removes (as [`Self::reactions_given`] and
    /// [`Self::reactions_removed`]), `received` the adds on the user's
    /// messages (as [`Self::reactions_received`]).
    pub fn reaction_cells(&self, scope: &Scope) -> BTreeMap<(u64, u64, i64), ReactionCell> {
        let mut out: BTreeMap<(u64, u64, i64), ReactionCell> = BTreeMap::new();
        for r in self.reactions_in(scope) {
            let hour = hour_start(r.at_ms);
            if scope.admits_user(r.user_id) && (scope.include_bots || !r.user_is_bot) {
                let cell = out.entry((r.channel_id, r.user_id, hour)).or_default();
                if r.added {
                    cell.given += 1;
                } else {
                    cell.removed += 1;
                }
            }
            if let (true, Some(a), Some(kind)) =
                (r.added, r.message_author_id, r.message_author_kind)
                && scope.admits_user(a)
                && (scope.include_bots || kind == AuthorKind::Member)
            {
                out.entry((r.channel_id, a, hour)).or_default().received += 1;
            }
        }
        out
    }

    /// Reaction removes per remover (the user who had reacted).
    pub fn reactions_removed(&self, scope: &Scope) -> BTreeMap<u64, u64> {
        let mut out = BTreeMap::new();
        for r in self.reactions_in(scope).filter(|r| !r.added) {
            if scope.admits_user(r.user_id) && (scope.include_bots || !r.user_is_bot) {
                bump(&mut out, r.user_id, 1);
            }
        }
        out
    }

    /// Adds and removes per emoji key (unicode text, or `name:id` for custom
    /// emoji), by givers passing the user and bot filters.
    pub fn reactions_per_emoji(&self, scope: &Scope) -> BTreeMap<String, EmojiCounts> {
        let mut out: BTreeMap<String, EmojiCounts> = BTreeMap::new();
        for r in self.reactions_in(scope) {
            if scope.admits_user(r.user_id) && (scope.include_bots || !r.user_is_bot) {
                let e = out.entry(r.emoji.clone()).or_default();
                if r.added {
                    e.added += 1;
                } else {
                    e.removed += 1;
                }
            }
        }
        out
    }

    // ----- deletions and threads -----

    fn deletions_in<'a>(&'a self, scope: &'a Scope) -> impl Iterator<Item = &'a DeletionFact> + 'a {
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

    /// The guild's channels and threads (every one that ever existed).
    pub fn channels_of(&self, guild_id: u64) -> Vec<&ChannelFact> {
        self.channels
            .iter()
            .filter(|c| c.guild_id == guild_id)
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

    #[test]
    fn scope_filters() {
        let s = Scope::new(1, 100, 200).tracking_since(150).collected([10]);
        assert_eq!(s.effective_from(), 150);
        assert!(
            !s.admits_time(149) && s.admits_time(150) && s.admits_time(199) && !s.admits_time(200)
        );
        assert!(s.admits_channel(10, None));
        assert!(
            s.admits_channel(99, Some(10)),
            "a thread is collected with its parent"
        );
        assert!(!s.admits_channel(11, None));
        assert!(
            !s.admits_channel(12, Some(11)),
            "a thread follows its parent"
        );
        let c = Scope::new(1, 0, 1).channel(10);
        assert!(
            c.admits_channel(10, None)
                && c.admits_channel(12, Some(10))
                && !c.admits_channel(11, None)
        );
        assert_eq!(
            Scope::new(1, 100, 200).tracking_since(50).effective_from(),
            100
        );
    }

    #[test]
    fn local_midnights_across_dst_and_gaps() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        // Berlin's 2026-10-25 lasts 25 hours: from 22:00Z on the 24th to 23:00Z.
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(
            next_local_midnight(d(2026, 10, 24), berlin),
            1_792_879_200_000
        );
        assert_eq!(
            next_local_midnight(d(2026, 10, 25), berlin) - 1_792_879_200_000,
            25 * HOUR_MS
        );
        // Santiago skips midnight on 2026-09-06: the day begins at 01:00 local.
        let santiago = chrono_tz::America::Santiago;
        assert_eq!(
            next_local_midnight(d(2026, 9, 5), santiago),
            1_788_667_200_000
        );
    }

    #[test]
    fn ranking_breaks_ties_by_user_id_and_drops_zeros() {
        let rows = rank(BTreeMap::from([(5, 2), (3, 2), (9, 7), (1, 0)]));
        let pairs: Vec<(u64, u64)> = rows.iter().map(|r| (r.user_id, r.value)).collect();
        assert_eq!(pairs, vec![(9, 7), (3, 2), (5, 2)]);
    }
}
