//! Deletions: now and then a single message some time after it was posted,
//! and bulk deletions of a channel's messages.

use super::{Gen, MIN, SEC};
use crate::payload;
use crate::truth::DeletionFact;

impl Gen {
    /// When a just-posted message is deleted, if it is: before `horizon`
    /// (its channel's deletion, its thread's archive or the scenario end).
    pub(super) fn deletion_time(&mut self, at: i64, horizon: i64) -> Option<i64> {
        if self.chance(0.012) {
            Some(at + SEC + self.exp_ms(40.0 * MIN as f64)).filter(|t| *t < horizon)
        } else {
            None
        }
    }

    /// `MESSAGE_DELETE` of one message, and its fact.
    pub(super) fn delete_message(
        &mut self,
        guild_id: u64,
        channel: u64,
        thread_parent: Option<u64>,
        message_id: u64,
        at: i64,
    ) {
        let d = payload::message_delete(guild_id, channel, message_id);
        self.push(at, guild_id, "MESSAGE_DELETE", d);
        self.deletion_fact(at, guild_id, channel, thread_parent, &[message_id], false);
    }

    /// One `MESSAGE_DELETE_BULK` of messages of a (non-thread) channel, and
    /// its fact.
    pub(super) fn delete_bulk(
        &mut self,
        guild_id: u64,
        channel: u64,
        message_ids: &[u64],
        at: i64,
    ) {
        let d = payload::message_delete_bulk(guild_id, channel, message_ids);
        self.push(at, guild_id, "MESSAGE_DELETE_BULK", d);
        self.deletion_fact(at, guild_id, channel, None, message_ids, true);
    }

    fn deletion_fact(
        &mut self,
        at: i64,
        guild_id: u64,
        channel: u64,
        thread_parent: Option<u64>,
        message_ids: &[u64],
        bulk: bool,
    ) {
        self.truth.deletions.push(DeletionFact {
            at_ms: at,
            guild_id,
            channel_id: channel,
            thread_parent_id: thread_parent,
            count: message_ids.len() as u32,
            bulk,
            message_ids: message_ids.to_vec(),
        });
    }
}
