//! REQUEST_GUILD_MEMBERS (op 8), answered from the guild's live state.

use serde_json::{Value, json};

use super::{Bound, Conn};
use crate::gateway::FrameSource;
use crate::gateway::live::id_of;

/// Members per GUILD_MEMBERS_CHUNK, as Discord sends them.
const MEMBERS_PER_CHUNK: usize = 1000;

impl Conn {
    /// REQUEST_GUILD_MEMBERS: queues GUILD_MEMBERS_CHUNKs from the guild's
    /// live state (filtered by `user_ids`, or by `query` prefix and `limit`).
    pub(super) fn request_members(&self, bound: &Bound, d: &Value) {
        let Some(guild_id) = d.get("guild_id").and_then(id_of) else {
            return;
        };
        let mut guard = self.state.lock();
        let inner = &mut *guard;
        let Some(session) = inner.sessions.get_mut(&bound.session_id) else {
            return;
        };
        let Some(timeline) = inner.shards.get(&session.shard) else {
            return;
        };
        let clock_ms = timeline.clock_ms;
        let Some(guild) = timeline.guilds.iter().find(|g| g.id == guild_id) else {
            return;
        };
        let wanted_ids: Option<Vec<u64>> = d.get("user_ids").map(|ids| match ids {
            Value::Array(ids) => ids.iter().filter_map(id_of).collect(),
            single => id_of(single).into_iter().collect(),
        });
        let query = d
            .get("query")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase();
        let limit = d
            .get("limit")
            .and_then(Value::as_u64)
            .filter(|l| *l > 0)
            .map_or(usize::MAX, |l| l as usize);
        let payload = guild.payload();
        let members: Vec<Value> = payload["members"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|m| match &wanted_ids {
                Some(ids) => m
                    .pointer("/user/id")
                    .and_then(id_of)
                    .is_some_and(|id| ids.contains(&id)),
                None => [m.pointer("/user/username"), m.get("nick")]
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .any(|name| name.to_lowercase().starts_with(&query)),
            })
            .take(if wanted_ids.is_some() {
                usize::MAX
            } else {
                limit
            })
            .cloned()
            .collect();
        let chunks: Vec<&[Value]> = if members.is_empty() {
            vec![&[]]
        } else {
            members.chunks(MEMBERS_PER_CHUNK).collect()
        };
        let count = chunks.len();
        for (index, chunk) in chunks.into_iter().enumerate() {
            let mut data = json!({
                "guild_id": guild_id.to_string(),
                "members": chunk,
                "chunk_index": index,
                "chunk_count": count,
            });
            if let Some(nonce) = d.get("nonce") {
                data["nonce"] = nonce.clone();
            }
            session.push("GUILD_MEMBERS_CHUNK", FrameSource::Payload(data), clock_ms);
        }
        bound.notify.notify_one();
    }
}
