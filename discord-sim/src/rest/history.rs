//! Message history as Discord serves it to a bot: `GET
//! /channels/{id}/messages` (newest first, `limit` 1–100, `before`,
//! `after` or `around`), the guild's channels (`GET /guilds/{id}/channels`)
//! and active threads (`GET /guilds/{id}/threads/active`), its roles
//! (`GET /guilds/{id}/roles`), the
//! archived-threads listings (public, private, and the private ones the
//! bot joined) and `GET /guilds/{id}/members` (`limit` 1–1000, `after`).
//!
//! The history is the scenario's guilds as they stood at one instant (by
//! default the scenario's end; tests pick the moment the bot "joined"):
//! every dispatch before it is applied (messages created and deleted,
//! reactions added and removed, members joined and gone, threads created
//! and archived), the way Discord's own state would be. Messages come as a
//! bot without the message-content intent reads them: no content,
//! attachments or embeds; stickers, author (`bot`), `webhook_id`,
//! `timestamp` and `reactions[].count` are there.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::http::StatusCode;
use serde_json::{Value, json};
use sim_scenario::Scenario;

use super::body::Answer;

/// One message as history holds it.
struct Stored {
    message: Value,
    /// Emoji key → (emoji object, users reacting now).
    reactions: BTreeMap<String, (Value, i64)>,
}

/// The guilds' history at one instant.
pub(super) struct History {
    pub(super) at_ms: i64,
    /// Channel (or thread) → its messages by id.
    messages: HashMap<u64, BTreeMap<u64, Stored>>,
    /// Channels and threads that exist at the instant.
    channels: HashSet<u64>,
    /// Channels (not threads) as they stand: id → (guild, object).
    objects: BTreeMap<u64, (u64, Value)>,
    /// Thread id → its object as it stands.
    threads: BTreeMap<u64, Value>,
    /// Guild → member objects by user id.
    members: HashMap<u64, BTreeMap<u64, Value>>,
    /// Guild → role objects by role id.
    roles: HashMap<u64, BTreeMap<u64, Value>>,
}

fn id(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn emoji_key(emoji: &Value) -> String {
    match id(&emoji["id"]) {
        Some(custom) => format!("{}:{custom}", emoji["name"].as_str().unwrap_or_default()),
        None => emoji["name"].as_str().unwrap_or_default().to_owned(),
    }
}

impl History {
    /// The scenario's guilds after every dispatch before `at_ms`.
    pub(super) fn build(scenario: &Scenario, at_ms: i64) -> Self {
        let mut h = Self {
            at_ms,
            messages: HashMap::new(),
            channels: HashSet::new(),
            objects: BTreeMap::new(),
            threads: BTreeMap::new(),
            members: HashMap::new(),
            roles: HashMap::new(),
        };
        for guild in &scenario.guilds {
            let Some(guild_id) = id(&guild["id"]) else {
                continue;
            };
            for c in guild["channels"].as_array().into_iter().flatten() {
                h.channel(guild_id, c);
            }
            for t in guild["threads"].as_array().into_iter().flatten() {
                h.thread(t);
            }
            let roles = h.roles.entry(guild_id).or_default();
            for r in guild["roles"].as_array().into_iter().flatten() {
                if let Some(role) = id(&r["id"]) {
                    roles.insert(role, r.clone());
                }
            }
            let members = h.members.entry(guild_id).or_default();
            for m in guild["members"].as_array().into_iter().flatten() {
                if let Some(user) = id(&m["user"]["id"]) {
                    members.insert(user, m.clone());
                }
            }
        }
        for event in scenario.events.iter().take_while(|e| e.at_ms < at_ms) {
            h.apply(event.guild_id, &event.t, &event.d);
        }
        h
    }

    fn channel(&mut self, guild_id: u64, c: &Value) {
        if let Some(channel) = id(&c["id"]) {
            self.channels.insert(channel);
            let mut c = c.clone();
            c["guild_id"] = json!(guild_id.to_string());
            self.objects.insert(channel, (guild_id, c));
        }
    }

    fn thread(&mut self, t: &Value) {
        if let Some(thread) = id(&t["id"]) {
            self.channels.insert(thread);
            let mut t = t.clone();
            if let Some(o) = t.as_object_mut() {
                o.remove("newly_created");
            }
            self.threads.insert(thread, t);
        }
    }

    fn apply(&mut self, guild_id: u64, t: &str, d: &Value) {
        match t {
            "CHANNEL_CREATE" | "CHANNEL_UPDATE" => self.channel(guild_id, d),
            "CHANNEL_DELETE" | "THREAD_DELETE" => {
                if let Some(c) = id(&d["id"]) {
                    self.channels.remove(&c);
                    self.objects.remove(&c);
                    self.messages.remove(&c);
                    self.threads.remove(&c);
                }
            }
            "THREAD_CREATE" | "THREAD_UPDATE" => self.thread(d),
            "MESSAGE_CREATE" => {
                let (Some(channel), Some(message)) = (id(&d["channel_id"]), id(&d["id"])) else {
                    return;
                };
                let mut m = d.clone();
                if let Some(o) = m.as_object_mut() {
                    // What a REST message carries without the content intent.
                    o.remove("guild_id");
                    o.remove("member");
                    o.insert("content".into(), json!(""));
                    o.insert("attachments".into(), json!([]));
                    o.insert("embeds".into(), json!([]));
                }
                self.messages.entry(channel).or_default().insert(
                    message,
                    Stored {
                        message: m,
                        reactions: BTreeMap::new(),
                    },
                );
            }
            "MESSAGE_DELETE" => {
                if let (Some(channel), Some(message)) = (id(&d["channel_id"]), id(&d["id"]))
                    && let Some(list) = self.messages.get_mut(&channel)
                {
                    list.remove(&message);
                }
            }
            "MESSAGE_DELETE_BULK" => {
                if let Some(list) = id(&d["channel_id"]).and_then(|c| self.messages.get_mut(&c)) {
                    for message in d["ids"].as_array().into_iter().flatten().filter_map(id) {
                        list.remove(&message);
                    }
                }
            }
            "MESSAGE_REACTION_ADD" | "MESSAGE_REACTION_REMOVE" => {
                let (Some(channel), Some(message)) = (id(&d["channel_id"]), id(&d["message_id"]))
                else {
                    return;
                };
                let Some(stored) = self
                    .messages
                    .get_mut(&channel)
                    .and_then(|l| l.get_mut(&message))
                else {
                    return;
                };
                let key = emoji_key(&d["emoji"]);
                let entry = stored
                    .reactions
                    .entry(key.clone())
                    .or_insert_with(|| (d["emoji"].clone(), 0));
                entry.1 += if t == "MESSAGE_REACTION_ADD" { 1 } else { -1 };
                if entry.1 <= 0 {
                    stored.reactions.remove(&key);
                }
            }
            "GUILD_MEMBER_ADD" => {
                if let Some(user) = id(&d["user"]["id"]) {
                    let mut m = d.clone();
                    if let Some(o) = m.as_object_mut() {
                        o.remove("guild_id");
                    }
                    self.members.entry(guild_id).or_default().insert(user, m);
                }
            }
            "GUILD_ROLE_CREATE" | "GUILD_ROLE_UPDATE" => {
                if let Some(role) = id(&d["role"]["id"]) {
                    self.roles
                        .entry(guild_id)
                        .or_default()
                        .insert(role, d["role"].clone());
                }
            }
            "GUILD_ROLE_DELETE" => {
                if let Some(role) = id(&d["role_id"]) {
                    self.roles.entry(guild_id).or_default().remove(&role);
                }
            }
            "GUILD_MEMBER_REMOVE" => {
                if let Some(user) = id(&d["user"]["id"]) {
                    self.members.entry(guild_id).or_default().remove(&user);
                }
            }
            _ => {}
        }
    }

    pub(super) fn channel_exists(&self, channel: u64) -> bool {
        self.channels.contains(&channel)
    }

    /// `GET /channels/{id}/messages` with its query.
    pub(super) fn messages(&self, channel: u64, query: &Query) -> Answer {
        let limit = match query.number("limit") {
            None => 50,
            Some(Some(n)) if (1..=100).contains(&n) => n as usize,
            _ => return invalid("limit", "int between 1 and 100"),
        };
        let empty = BTreeMap::new();
        let all = self.messages.get(&channel).unwrap_or(&empty);
        let cursors = ["before", "after", "around"]
            .iter()
            .filter(|c| query.get(c).is_some())
            .count();
        if cursors > 1 {
            return invalid("before", "only one of before, after and around");
        }
        let cursor = |name: &str| match query.number(name) {
            Some(Some(n)) => Ok(Some(n)),
            Some(None) => Err(invalid(name, "snowflake")),
            None => Ok(None),
        };
        let picked: Vec<&Stored> = match (cursor("before"), cursor("after"), cursor("around")) {
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return e,
            (Ok(Some(before)), _, _) => all
                .range(..before)
                .rev()
                .take(limit)
                .map(|(_, m)| m)
                .collect(),
            (_, Ok(Some(after)), _) => {
                // The `limit` messages right after the cursor, newest first.
                let mut v: Vec<&Stored> = all
                    .range(after.saturating_add(1)..)
                    .take(limit)
                    .map(|(_, m)| m)
                    .collect();
                v.reverse();
                v
            }
            (_, _, Ok(Some(around))) => {
                // Half the limit newer than the cursor, then the cursor
                // and older ones, newest first.
                let mut v: Vec<&Stored> = all
                    .range(around.saturating_add(1)..)
                    .take(limit / 2)
                    .map(|(_, m)| m)
                    .collect();
                v.reverse();
                let older = limit - v.len();
                v.extend(all.range(..=around).rev().take(older).map(|(_, m)| m));
                v
            }
            _ => all.values().rev().take(limit).collect(),
        };
        let body: Vec<Value> = picked.into_iter().map(render).collect();
        Answer::json(StatusCode::OK, Value::Array(body))
    }

    /// `GET /channels/{id}/threads/archived/{public|private}`: archived
    /// threads of the parent, latest archive first, `before` an ISO 8601
    /// archive time.
    pub(super) fn archived(&self, parent: u64, private: bool, query: &Query) -> Answer {
        let limit = match query.number("limit") {
            None => 50,
            Some(Some(n)) if (2..=100).contains(&n) => n as usize,
            _ => return invalid("limit", "int between 2 and 100"),
        };
        let before = match query.get("before") {
            None => None,
            Some(text) => match chrono::DateTime::parse_from_rfc3339(text) {
                Ok(t) => Some(t.timestamp_millis()),
                Err(_) => return invalid("before", "ISO8601 timestamp"),
            },
        };
        let archive_ms = |t: &Value| {
            t["thread_metadata"]["archive_timestamp"]
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map_or(0, |t| t.timestamp_millis())
        };
        let mut threads: Vec<&Value> = self
            .threads
            .values()
            .filter(|t| {
                id(&t["parent_id"]) == Some(parent)
                    && t["thread_metadata"]["archived"] == json!(true)
                    && (t["type"] == json!(12)) == private
                    && before.is_none_or(|b| archive_ms(t) < b)
            })
            .collect();
        threads.sort_by_key(|t| std::cmp::Reverse((archive_ms(t), id(&t["id"]))));
        let has_more = threads.len() > limit;
        threads.truncate(limit);
        Answer::json(
            StatusCode::OK,
            json!({"threads": threads, "members": [], "has_more": has_more}),
        )
    }

    /// `GET /channels/{id}/users/@me/threads/archived/private`: the
    /// archived private threads of the parent that `joined` says the bot
    /// is a member of, by thread id descending, `before` a thread id.
    pub(super) fn joined_archived(
        &self,
        parent: u64,
        joined: impl Fn(u64) -> bool,
        query: &Query,
    ) -> Answer {
        let limit = match query.number("limit") {
            None => 50,
            Some(Some(n)) if (2..=100).contains(&n) => n as usize,
            _ => return invalid("limit", "int between 2 and 100"),
        };
        let before = match query.number("before") {
            None => u64::MAX,
            Some(Some(n)) => n,
            Some(None) => return invalid("before", "snowflake"),
        };
        let mut threads: Vec<&Value> = self
            .threads
            .range(..before)
            .rev()
            .map(|(_, t)| t)
            .filter(|t| {
                id(&t["parent_id"]) == Some(parent)
                    && t["thread_metadata"]["archived"] == json!(true)
                    && t["type"] == json!(12)
                    && id(&t["id"]).is_some_and(&joined)
            })
            .take(limit + 1)
            .collect();
        let has_more = threads.len() > limit;
        threads.truncate(limit);
        Answer::json(
            StatusCode::OK,
            json!({"threads": threads, "members": [], "has_more": has_more}),
        )
    }

    /// `GET /guilds/{id}/channels`: the guild's channels (threads are not
    /// in it), by id.
    pub(super) fn guild_channels(&self, guild: u64) -> Answer {
        let list: Vec<&Value> = self
            .objects
            .values()
            .filter(|(g, _)| *g == guild)
            .map(|(_, c)| c)
            .collect();
        Answer::json(StatusCode::OK, json!(list))
    }

    /// `GET /guilds/{id}/roles`: the guild's roles by position, the
    /// @everyone role's permissions replaced by `everyone` when given.
    pub(super) fn guild_roles(&self, guild: u64, everyone: Option<u64>) -> Answer {
        let mut roles: Vec<Value> = self
            .roles
            .get(&guild)
            .into_iter()
            .flat_map(BTreeMap::values)
            .cloned()
            .collect();
        for role in &mut roles {
            if let Some(bits) = everyone.filter(|_| id(&role["id"]) == Some(guild)) {
                role["permissions"] = json!(bits.to_string());
            }
        }
        roles.sort_by_key(|r| r["position"].as_i64().unwrap_or(0));
        Answer::json(StatusCode::OK, json!(roles))
    }

    /// `GET /guilds/{id}/threads/active`: the guild's threads not archived,
    /// those `visible` lets the bot see, by id descending.
    pub(super) fn active_threads(&self, guild: u64, visible: impl Fn(&Value) -> bool) -> Answer {
        let threads: Vec<&Value> = self
            .threads
            .values()
            .rev()
            .filter(|t| {
                id(&t["guild_id"]) == Some(guild)
                    && t["thread_metadata"]["archived"] != json!(true)
                    && visible(t)
            })
            .collect();
        Answer::json(StatusCode::OK, json!({"threads": threads, "members": []}))
    }

    /// A thread's parent channel and type, if the thread exists.
    pub(super) fn thread_of(&self, thread: u64) -> Option<(u64, u8)> {
        let t = self.threads.get(&thread)?;
        Some((id(&t["parent_id"])?, t["type"].as_u64()? as u8))
    }

    /// `GET /guilds/{id}/members`: by user id ascending after `after`.
    pub(super) fn members(&self, guild: u64, query: &Query) -> Answer {
        let limit = match query.number("limit") {
            None => 1,
            Some(Some(n)) if (1..=1000).contains(&n) => n as usize,
            _ => return invalid("limit", "int between 1 and 1000"),
        };
        let after = match query.number("after") {
            None => 0,
            Some(Some(n)) => n,
            Some(None) => return invalid("after", "snowflake"),
        };
        let empty = BTreeMap::new();
        let list: Vec<&Value> = self
            .members
            .get(&guild)
            .unwrap_or(&empty)
            .range(after.saturating_add(1)..)
            .take(limit)
            .map(|(_, m)| m)
            .collect();
        Answer::json(StatusCode::OK, json!(list))
    }

    pub(super) fn guild_exists(&self, guild: u64) -> bool {
        self.members.contains_key(&guild)
    }
}

fn render(stored: &Stored) -> Value {
    let mut m = stored.message.clone();
    if !stored.reactions.is_empty() {
        m["reactions"] = stored
            .reactions
            .values()
            .map(|(emoji, count)| {
                json!({
                    "count": count,
                    "count_details": {"burst": 0, "normal": count},
                    "me": false,
                    "me_burst": false,
                    "burst_colors": [],
                    "emoji": emoji,
                })
            })
            .collect();
    }
    m
}

fn invalid(field: &str, what: &str) -> Answer {
    let mut errors = super::validate::FormErrors::default();
    errors.add(
        &[field.to_owned()],
        "NUMBER_TYPE_COERCE",
        format!("Value must be {what}."),
    );
    Answer::form(errors)
}

/// A request's query string, decoded.
pub(super) struct Query(HashMap<String, String>);

impl Query {
    pub(super) fn parse(raw: Option<&str>) -> Self {
        Self(
            raw.unwrap_or_default()
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (k.to_owned(), v.replace("%3A", ":").replace("%2B", "+"))
                })
                .collect(),
        )
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// `None`: absent; `Some(None)`: present but not a number.
    fn number(&self, name: &str) -> Option<Option<u64>> {
        self.get(name).map(|v| v.parse().ok())
    }
}
