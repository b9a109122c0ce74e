//! Channels and threads: those present at the start, and their creation,
//! renaming, deletion and archiving.

use serde_json::Value;

use super::Script;
use crate::payload;
use crate::truth::{ChannelFact, ThreadFact};

impl Script {
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
            everyone_can_view: self.everyone_can_view(id, kind, parent),
        });
    }

    /// A channel is viewable unless private; a thread when its parent is and
    /// it is not a private thread.
    fn everyone_can_view(&self, id: u64, kind: u8, parent: Option<u64>) -> bool {
        match kind {
            12 => false,
            10 | 11 => parent.is_none_or(|p| !self.private.contains(&p)),
            _ => !self.private.contains(&id),
        }
    }

    /// A thread's channel and thread facts; `created`: `None` for a thread
    /// open at the start.
    fn thread_fact(&mut self, id: u64, parent: u64, kind: u8, owner: u64, created: Option<i64>) {
        let name = format!("thread-{id}");
        self.channel_fact(id, kind, &name, Some(parent), created);
        self.thread_parent.insert(id, parent);
        self.truth.threads.push(ThreadFact {
            guild_id: self.guild_id,
            thread_id: id,
            parent_id: parent,
            kind,
            owner_id: owner,
            created_ms: created,
            archived_ms: None,
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
            private_to: self.private.contains(&id).then_some(self.guild_id),
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
        self.thread_fact(id, parent, kind, owner, None);
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

    /// `CHANNEL_UPDATE` making a channel (not a thread) private (an
    /// overwrite denies @everyone VIEW_CHANNEL) or public again; its threads
    /// follow.
    pub fn set_channel_private(&mut self, at: i64, id: u64, private: bool) -> &mut Self {
        if private {
            self.private.insert(id);
        } else {
            self.private.remove(&id);
        }
        let d = self.channel_payload(id);
        self.push(at, "CHANNEL_UPDATE", d);
        let facts: Vec<(u64, u8, Option<u64>)> = self
            .truth
            .channels
            .iter()
            .filter(|c| c.channel_id == id || c.parent_id == Some(id))
            .map(|c| (c.channel_id, c.kind, c.parent_id))
            .collect();
        for (cid, kind, parent) in facts {
            let visible = self.everyone_can_view(cid, kind, parent);
            if let Some(c) = self.truth.channels.iter_mut().find(|c| c.channel_id == cid) {
                c.everyone_can_view = visible;
            }
        }
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
        self.thread_fact(id, parent, kind, owner, Some(at));
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
