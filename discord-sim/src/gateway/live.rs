//! Live guild state: a guild's `GUILD_CREATE` payload with every dispatch sent
//! so far applied to it, so a fresh identify describes the guild as it is now.

use serde_json::{Map, Value, json};

/// Channel types Discord sends as threads (announcement, public, private).
const THREAD_TYPES: [u64; 3] = [10, 11, 12];

/// Fields twilight-model's `Guild` refuses to go without, with neutral values.
/// A scenario normally carries them; a hand-written JSONL file may not.
fn required_guild_defaults() -> [(&'static str, Value); 16] {
    [
        ("afk_timeout", json!(300)),
        ("default_message_notifications", json!(0)),
        ("explicit_content_filter", json!(0)),
        ("features", json!([])),
        ("mfa_level", json!(0)),
        ("owner_id", json!("1")),
        ("preferred_locale", json!("en-US")),
        ("roles", json!([])),
        ("system_channel_flags", json!(0)),
        ("premium_progress_bar_enabled", json!(false)),
        ("verification_level", json!(0)),
        ("nsfw_level", json!(0)),
        ("channels", json!([])),
        ("threads", json!([])),
        ("members", json!([])),
        ("voice_states", json!([])),
    ]
}

/// One guild as the gateway currently knows it.
#[derive(Debug, Clone)]
pub(crate) struct LiveGuild {
    pub(crate) id: u64,
    state: Map<String, Value>,
}

impl LiveGuild {
    /// Takes a `GUILD_CREATE` payload; `None` when it has no usable `id`.
    pub(crate) fn new(payload: &Value) -> Option<Self> {
        let mut state = payload.as_object()?.clone();
        let id = id_of(state.get("id")?)?;
        for (key, value) in required_guild_defaults() {
            state.entry(key).or_insert(value);
        }
        if !state.contains_key("member_count") {
            let members = state
                .get("members")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            state.insert("member_count".into(), json!(members));
        }
        state.entry("unavailable").or_insert(json!(false));
        state.entry("large").or_insert(json!(false));
        Some(Self { id, state })
    }

    /// The `GUILD_CREATE` payload for the guild as it is now.
    pub(crate) fn payload(&self) -> Value {
        Value::Object(self.state.clone())
    }

    /// Applies one dispatch of this guild.
    pub(crate) fn apply(&mut self, t: &str, d: &Value) {
        match t {
            "CHANNEL_CREATE" | "CHANNEL_UPDATE" => {
                let list = if is_thread(d) { "threads" } else { "channels" };
                upsert(&mut self.state, list, "id", strip_guild_id(d));
            }
            "CHANNEL_DELETE" => {
                remove(&mut self.state, "channels", "id", d.get("id"));
                remove(&mut self.state, "threads", "id", d.get("id"));
            }
            "THREAD_CREATE" | "THREAD_UPDATE" => {
                // GUILD_CREATE lists only active threads.
                let archived = d
                    .pointer("/thread_metadata/archived")
                    .and_then(Value::as_bool)
                    == Some(true);
                if archived {
                    remove(&mut self.state, "threads", "id", d.get("id"));
                } else {
                    let mut thread = strip_guild_id(d);
                    if let Some(object) = thread.as_object_mut() {
                        object.remove("newly_created");
                    }
                    upsert(&mut self.state, "threads", "id", thread);
                }
            }
            "THREAD_DELETE" => remove(&mut self.state, "threads", "id", d.get("id")),
            "GUILD_MEMBER_ADD" => {
                let user_id = d.pointer("/user/id").cloned();
                let known = find(&self.state, "members", "/user/id", user_id.as_ref()).is_some();
                if !known {
                    self.bump_member_count(1);
                }
                upsert(&mut self.state, "members", "/user/id", strip_guild_id(d));
            }
            "GUILD_MEMBER_UPDATE" => {
                let user_id = d.pointer("/user/id").cloned();
                if let Some(index) = find(&self.state, "members", "/user/id", user_id.as_ref())
                    && let Some(Value::Object(member)) =
                        list_mut(&mut self.state, "members").get_mut(index)
                    && let Some(update) = d.as_object()
                {
                    for (key, value) in update {
                        if key != "guild_id" {
                            member.insert(key.clone(), value.clone());
                        }
                    }
                }
            }
            "GUILD_MEMBER_REMOVE" => {
                remove(
                    &mut self.state,
                    "members",
                    "/user/id",
                    d.pointer("/user/id"),
                );
                self.bump_member_count(-1);
            }
            "VOICE_STATE_UPDATE" => {
                let user_id = d.get("user_id").cloned();
                remove(
                    &mut self.state,
                    "voice_states",
                    "/user_id",
                    user_id.as_ref(),
                );
                if d.get("channel_id").is_some_and(|c| !c.is_null()) {
                    let mut state = strip_guild_id(d);
                    if let Some(object) = state.as_object_mut() {
                        object.remove("member");
                    }
                    list_mut(&mut self.state, "voice_states").push(state);
                }
            }
            "GUILD_UPDATE" => {
                if let Some(update) = d.as_object() {
                    for (key, value) in update {
                        let kept = matches!(
                            key.as_str(),
                            "channels"
                                | "threads"
                                | "members"
                                | "voice_states"
                                | "member_count"
                                | "presences"
                        );
                        if !kept {
                            self.state.insert(key.clone(), value.clone());
                        }
                    }
                }
            }
            "GUILD_ROLE_CREATE" | "GUILD_ROLE_UPDATE" => {
                if let Some(role) = d.get("role") {
                    upsert(&mut self.state, "roles", "id", role.clone());
                }
            }
            "GUILD_ROLE_DELETE" => remove(&mut self.state, "roles", "id", d.get("role_id")),
            "GUILD_EMOJIS_UPDATE" => {
                if let Some(emojis) = d.get("emojis") {
                    self.state.insert("emojis".into(), emojis.clone());
                }
            }
            "GUILD_STICKERS_UPDATE" => {
                if let Some(stickers) = d.get("stickers") {
                    self.state.insert("stickers".into(), stickers.clone());
                }
            }
            "MESSAGE_CREATE" => {
                let channel_id = d.get("channel_id").cloned();
                for list in ["channels", "threads"] {
                    if let Some(index) = find(&self.state, list, "id", channel_id.as_ref())
                        && let Some(Value::Object(channel)) =
                            list_mut(&mut self.state, list).get_mut(index)
                        && let Some(id) = d.get("id")
                    {
                        channel.insert("last_message_id".into(), id.clone());
                    }
                }
            }
            _ => {}
        }
    }

    fn bump_member_count(&mut self, delta: i64) {
        let count = self
            .state
            .get("member_count")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        self.state
            .insert("member_count".into(), json!((count + delta).max(0)));
    }
}

/// Reads a Discord id, sent as a string (or, leniently, a number).
pub(crate) fn id_of(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn is_thread(d: &Value) -> bool {
    d.get("type")
        .and_then(Value::as_u64)
        .is_some_and(|t| THREAD_TYPES.contains(&t))
}

fn strip_guild_id(d: &Value) -> Value {
    let mut value = d.clone();
    if let Some(object) = value.as_object_mut() {
        object.remove("guild_id");
    }
    value
}

fn list_mut<'a>(state: &'a mut Map<String, Value>, list: &str) -> &'a mut Vec<Value> {
    let entry = state.entry(list).or_insert_with(|| json!([]));
    if !entry.is_array() {
        *entry = json!([]);
    }
    entry.as_array_mut().expect("made an array above")
}

/// `key` is a field name or a JSON pointer (starting with `/`).
fn key_of<'a>(item: &'a Value, key: &str) -> Option<&'a Value> {
    if key.starts_with('/') {
        item.pointer(key)
    } else {
        item.get(key)
    }
}

fn same_id(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a.and_then(id_of), b.and_then(id_of)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn find(state: &Map<String, Value>, list: &str, key: &str, id: Option<&Value>) -> Option<usize> {
    state
        .get(list)?
        .as_array()?
        .iter()
        .position(|item| same_id(key_of(item, key), id))
}

fn upsert(state: &mut Map<String, Value>, list: &str, key: &str, item: Value) {
    let id = key_of(&item, key).cloned();
    match find(state, list, key, id.as_ref()) {
        Some(index) => list_mut(state, list)[index] = item,
        None => list_mut(state, list).push(item),
    }
}

fn remove(state: &mut Map<String, Value>, list: &str, key: &str, id: Option<&Value>) {
    if let Some(index) = find(state, list, key, id) {
        list_mut(state, list).remove(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guild() -> LiveGuild {
        LiveGuild::new(&json!({
            "id": "100", "name": "g",
            "channels": [{"id": "1", "type": 0, "name": "general"}],
            "members": [{"user": {"id": "7"}, "roles": []}],
            "member_count": 1,
        }))
        .expect("valid guild")
    }

    #[test]
    fn applies_channels_threads_members_and_voice() {
        let mut g = guild();
        g.apply(
            "CHANNEL_CREATE",
            &json!({"id": "2", "type": 2, "guild_id": "100", "name": "voice"}),
        );
        g.apply(
            "CHANNEL_UPDATE",
            &json!({"id": "1", "type": 0, "guild_id": "100", "name": "renamed"}),
        );
        g.apply("THREAD_CREATE", &json!({"id": "3", "type": 11, "guild_id": "100", "thread_metadata": {"archived": false}}));
        g.apply("THREAD_CREATE", &json!({"id": "4", "type": 11, "guild_id": "100", "thread_metadata": {"archived": false}}));
        g.apply("THREAD_UPDATE", &json!({"id": "4", "type": 11, "guild_id": "100", "thread_metadata": {"archived": true}}));
        g.apply(
            "GUILD_MEMBER_ADD",
            &json!({"user": {"id": "8"}, "roles": [], "guild_id": "100"}),
        );
        g.apply(
            "GUILD_MEMBER_REMOVE",
            &json!({"user": {"id": "7"}, "guild_id": "100"}),
        );
        g.apply(
            "VOICE_STATE_UPDATE",
            &json!({"user_id": "8", "channel_id": "2", "guild_id": "100"}),
        );
        g.apply(
            "VOICE_STATE_UPDATE",
            &json!({"user_id": "8", "channel_id": "5", "guild_id": "100"}),
        );
        let p = g.payload();
        let names: Vec<_> = p["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].clone())
            .collect();
        assert_eq!(names, [json!("renamed"), json!("voice")]);
        let threads: Vec<_> = p["threads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].clone())
            .collect();
        assert_eq!(threads, [json!("3")]);
        assert_eq!(p["member_count"], json!(1));
        assert_eq!(p["members"].as_array().unwrap().len(), 1);
        assert_eq!(p["members"][0]["user"]["id"], json!("8"));
        assert_eq!(
            p["voice_states"],
            json!([{"user_id": "8", "channel_id": "5"}])
        );
        g.apply(
            "VOICE_STATE_UPDATE",
            &json!({"user_id": "8", "channel_id": null, "guild_id": "100"}),
        );
        g.apply(
            "CHANNEL_DELETE",
            &json!({"id": "2", "type": 2, "guild_id": "100"}),
        );
        let p = g.payload();
        assert_eq!(p["voice_states"], json!([]));
        assert_eq!(p["channels"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn fills_fields_twilight_requires() {
        let p = LiveGuild::new(&json!({"id": "5", "name": "x"}))
            .unwrap()
            .payload();
        for (key, _) in required_guild_defaults() {
            assert!(p.get(key).is_some(), "{key} missing");
        }
        assert_eq!(p["member_count"], json!(0));
    }
}
