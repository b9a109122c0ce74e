//! Message figures: totals, per channel, member, hour, local day and
//! weekday/hour cell, content, and the finest grain they all sum from.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Timelike};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::calendar::local;
use super::{GroundTruth, MessageFact, Scope, bump, hour_start};

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

impl ContentCounts {
    /// Adds one message and its content.
    fn count(&mut self, m: &MessageFact) {
        self.messages += 1;
        self.attachments += u64::from(m.attachments);
        self.embeds += u64::from(m.embeds);
        self.stickers += u64::from(m.stickers);
        self.messages_with_attachments += u64::from(m.attachments > 0);
        self.messages_with_embeds += u64::from(m.embeds > 0);
        self.messages_with_stickers += u64::from(m.stickers > 0);
    }
}

impl GroundTruth {
    pub(super) fn messages_in<'a>(
        &'a self,
        scope: &'a Scope,
    ) -> impl Iterator<Item = &'a MessageFact> + 'a {
        self.messages
            .iter()
            .filter(move |m| scope.admits_message(m))
    }

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
            c.count(m);
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
            c.count(m);
        }
        out
    }
}
