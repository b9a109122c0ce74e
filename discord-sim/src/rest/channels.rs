//! Messages the bot posts and edits in channels (`POST /channels/{id}/messages`,
//! `PATCH /channels/{id}/messages/{id}`): which channels exist and let the
//! bot in, the upload limit, `enforce_nonce`, and the messages kept per
//! channel for tests to read.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sim_scenario::Scenario;

use super::RestState;
use super::body::{Answer, Body};
use super::history::{History, Query};
use super::messages::{build_message, unknown_message};
use super::record::StoredMessage;
use super::validate;

/// How long a nonce keeps `enforce_nonce` from creating a second message
/// (Discord: "the past few minutes").
pub const NONCE_WINDOW: Duration = Duration::from_secs(5 * 60);

/// What the bot may do in a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelAccess {
    /// Posting and editing work.
    Writable,
    /// 403 with code 50001: the bot cannot see the channel.
    MissingAccess,
    /// 403 with code 50013: it sees the channel but may not send there.
    MissingPermissions,
    /// 404 with code 10003, as for a deleted channel.
    Unknown,
}

/// A channel as the REST side knows it.
pub(super) struct Channel {
    pub(super) access: ChannelAccess,
    /// The bot's messages, oldest first, as they are now (after edits).
    pub(super) messages: Vec<StoredMessage>,
    /// Nonce (as a string) → the message created with it, and when.
    nonces: HashMap<String, (String, Instant)>,
}

impl Channel {
    pub(super) fn new(access: ChannelAccess) -> Self {
        Self {
            access,
            messages: Vec::new(),
            nonces: HashMap::new(),
        }
    }
}

/// Every channel and thread the scenario's guilds have or create: writable.
pub(super) fn from_scenario(scenario: Option<&Scenario>) -> HashMap<u64, Channel> {
    let Some(scenario) = scenario else {
        return HashMap::new();
    };
    let listed = scenario.guilds.iter().flat_map(|guild| {
        ["channels", "threads"]
            .into_iter()
            .flat_map(move |key| guild[key].as_array().into_iter().flatten())
    });
    let created = scenario
        .events
        .iter()
        .filter(|e| matches!(e.t.as_str(), "CHANNEL_CREATE" | "THREAD_CREATE"))
        .map(|e| &e.d);
    listed
        .chain(created)
        .filter_map(|channel| crate::gateway::live::id_of(&channel["id"]))
        .map(|id| (id, Channel::new(ChannelAccess::Writable)))
        .collect()
}

fn snowflake(raw: &str, field: &str) -> Result<u64, Answer> {
    raw.parse().map_err(|_| {
        let mut errors = validate::FormErrors::default();
        errors.add(
            &[field.to_owned()],
            "NUMBER_TYPE_COERCE",
            format!("Value \"{raw}\" is not snowflake."),
        );
        Answer::form(errors)
    })
}

/// The channel's id if the bot may post there, else Discord's 404 or 403.
fn writable(state: &RestState, raw: &str) -> Result<u64, Answer> {
    let id = snowflake(raw, "channel_id")?;
    let access = state.lock().channels.get(&id).map(|c| c.access);
    match access.unwrap_or(ChannelAccess::Unknown) {
        ChannelAccess::Writable => Ok(id),
        ChannelAccess::MissingAccess => Err(Answer::error(
            StatusCode::FORBIDDEN,
            50001,
            "Missing Access",
        )),
        ChannelAccess::MissingPermissions => Err(Answer::error(
            StatusCode::FORBIDDEN,
            50013,
            "Missing Permissions",
        )),
        ChannelAccess::Unknown => Err(Answer::error(
            StatusCode::NOT_FOUND,
            10003,
            "Unknown Channel",
        )),
    }
}

fn within_upload_limit(state: &RestState, body: &Body) -> Result<(), Answer> {
    let total: usize = body.files.iter().map(|f| f.size).sum();
    if total > state.config.attachment_size_limit {
        return Err(Answer::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            40005,
            "Request entity too large",
        ));
    }
    Ok(())
}

fn empty_message() -> Answer {
    Answer::error(
        StatusCode::BAD_REQUEST,
        50006,
        "Cannot send an empty message",
    )
}

/// An edit may not leave a message with nothing to show.
fn shows_nothing(message: &Value) -> bool {
    let empty = |key: &str| match &message[key] {
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Null => true,
        _ => false,
    };
    ["content", "embeds", "components", "attachments"]
        .iter()
        .all(|key| empty(key))
}

/// A nonce as Discord compares it: `123` and `"123"` are the same nonce.
fn nonce_key(payload: &Value) -> Option<String> {
    match payload.get("nonce")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(super) fn create(state: &RestState, raw_channel: &str, body: &Body) -> Answer {
    match try_create(state, raw_channel, body) {
        Ok(answer) | Err(answer) => answer,
    }
}

fn try_create(state: &RestState, raw_channel: &str, body: &Body) -> Result<Answer, Answer> {
    let channel_id = writable(state, raw_channel)?;
    within_upload_limit(state, body)?;
    let payload = body.json.clone().unwrap_or_else(|| json!({}));
    let parts = body.parts();
    let mut errors = validate::message(&payload, &parts, &[]);
    validate::nonce(&mut errors, &payload);
    if !errors.is_empty() {
        return Err(Answer::form(errors));
    }
    if validate::is_empty_message(&payload, &parts) {
        return Err(empty_message());
    }
    let nonce = nonce_key(&payload);
    let enforce = payload.get("enforce_nonce").and_then(Value::as_bool) == Some(true);
    if enforce && let Some(nonce) = &nonce {
        let inner = state.lock();
        let channel = &inner.channels[&channel_id];
        if let Some((message_id, at)) = channel.nonces.get(nonce)
            && at.elapsed() <= NONCE_WINDOW
            && let Some(existing) = channel
                .messages
                .iter()
                .find(|m| m.message["id"] == json!(message_id))
        {
            return Ok(Answer::json(StatusCode::OK, existing.message.clone()));
        }
    }
    let mut stored = build_message(state, &payload, body, raw_channel, None, None);
    if let Some(sent) = payload.get("nonce").filter(|v| !v.is_null()) {
        stored.message["nonce"] = sent.clone();
    }
    let message = stored.message.clone();
    let mut inner = state.lock();
    let channel = inner
        .channels
        .entry(channel_id)
        .or_insert_with(|| Channel::new(ChannelAccess::Writable));
    if let (Some(nonce), Some(id)) = (nonce, message["id"].as_str()) {
        channel
            .nonces
            .insert(nonce, (id.to_owned(), Instant::now()));
    }
    channel.messages.push(stored);
    Ok(Answer::json(StatusCode::OK, message))
}

pub(super) fn edit(state: &RestState, raw_channel: &str, raw_message: &str, body: &Body) -> Answer {
    match try_edit(state, raw_channel, raw_message, body) {
        Ok(answer) | Err(answer) => answer,
    }
}

fn try_edit(
    state: &RestState,
    raw_channel: &str,
    raw_message: &str,
    body: &Body,
) -> Result<Answer, Answer> {
    let channel_id = writable(state, raw_channel)?;
    let message_id = snowflake(raw_message, "message_id")?;
    let current = state.lock().channels[&channel_id]
        .messages
        .iter()
        .find(|m| m.message["id"] == json!(message_id.to_string()))
        .cloned()
        .ok_or_else(unknown_message)?;
    within_upload_limit(state, body)?;
    let payload = body.json.clone().unwrap_or_else(|| json!({}));
    let existing: Vec<u64> = current.message["attachments"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|a| a["id"].as_str().and_then(|id| id.parse().ok()))
        .collect();
    let errors = validate::message(&payload, &body.parts(), &existing);
    if !errors.is_empty() {
        return Err(Answer::form(errors));
    }
    let stored = build_message(state, &payload, body, raw_channel, None, Some(&current));
    if shows_nothing(&stored.message) {
        return Err(empty_message());
    }
    let message = stored.message.clone();
    let mut inner = state.lock();
    if let Some(slot) = inner.channels.get_mut(&channel_id).and_then(|c| {
        c.messages
            .iter_mut()
            .find(|m| m.message["id"] == message["id"])
    }) {
        *slot = stored;
    }
    Ok(Answer::json(StatusCode::OK, message))
}

/// `GET /channels/{id}/messages`: 404 for a channel that does not exist
/// at the history's instant, 403 50001 where the bot may not read history.
pub(super) fn history(state: &RestState, raw: &str, query: &Query) -> Answer {
    let id = match snowflake(raw, "channel_id") {
        Ok(id) => id,
        Err(answer) => return answer,
    };
    let Some(history) = state.history() else {
        return Answer::error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
    };
    if !history.channel_exists(id) {
        return Answer::error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
    }
    if state.lock().history_denied.contains(&id) || !sees_thread(state, &history, id) {
        return Answer::error(StatusCode::FORBIDDEN, 50001, "Missing Access");
    }
    history.messages(id, query)
}

/// Whether the bot may see `channel`: anything but a private thread, and a
/// private thread where it has Manage Threads in the parent or joined it.
fn sees_thread(state: &RestState, history: &History, channel: u64) -> bool {
    match history.thread_of(channel) {
        Some((parent, 12)) => {
            let inner = state.lock();
            !inner.manage_threads_denied.contains(&parent)
                || inner.joined_threads.contains(&channel)
        }
        _ => true,
    }
}

/// `GET /channels/{id}/threads/archived/{public|private}`.
pub(super) fn archived_threads(
    state: &RestState,
    raw: &str,
    private: bool,
    query: &Query,
) -> Answer {
    let id = match snowflake(raw, "channel_id") {
        Ok(id) => id,
        Err(answer) => return answer,
    };
    let Some(history) = state.history().filter(|h| h.channel_exists(id)) else {
        return Answer::error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
    };
    let (denied, no_manage_threads) = {
        let inner = state.lock();
        (
            inner.history_denied.contains(&id),
            inner.manage_threads_denied.contains(&id),
        )
    };
    if denied {
        return Answer::error(StatusCode::FORBIDDEN, 50001, "Missing Access");
    }
    if private && no_manage_threads {
        return Answer::error(StatusCode::FORBIDDEN, 50013, "Missing Permissions");
    }
    history.archived(id, private, query)
}

/// `GET /channels/{id}/users/@me/threads/archived/private`: needs Read
/// Message History only.
pub(super) fn joined_archived_threads(state: &RestState, raw: &str, query: &Query) -> Answer {
    let id = match snowflake(raw, "channel_id") {
        Ok(id) => id,
        Err(answer) => return answer,
    };
    let Some(history) = state.history().filter(|h| h.channel_exists(id)) else {
        return Answer::error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
    };
    let (denied, joined) = {
        let inner = state.lock();
        (
            inner.history_denied.contains(&id),
            inner.joined_threads.clone(),
        )
    };
    if denied {
        return Answer::error(StatusCode::FORBIDDEN, 50001, "Missing Access");
    }
    history.joined_archived(id, |t| joined.contains(&t), query)
}

/// `GET /guilds/{id}/channels`.
pub(super) fn guild_channels(state: &RestState, raw: &str) -> Answer {
    let id = match snowflake(raw, "guild_id") {
        Ok(id) => id,
        Err(answer) => return answer,
    };
    match state.history().filter(|h| h.guild_exists(id)) {
        Some(history) => history.guild_channels(id),
        None => Answer::error(StatusCode::NOT_FOUND, 10004, "Unknown Guild"),
    }
}

/// `GET /guilds/{id}/roles`: the guild's roles as they stand, the
/// @everyone role's permissions as [`super::RestHandle::set_everyone_permissions`]
/// set them.
pub(super) fn guild_roles(state: &RestState, raw: &str) -> Answer {
    let id = match snowflake(raw, "guild_id") {
        Ok(id) => id,
        Err(answer) => return answer,
    };
    let Some(history) = state.history().filter(|h| h.guild_exists(id)) else {
        return Answer::error(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
    };
    let everyone = state.lock().everyone_permissions.get(&id).copied();
    history.guild_roles(id, everyone)
}

/// `GET /guilds/{id}/threads/active`: private threads only where the bot
/// may see them.
pub(super) fn active_threads(state: &RestState, raw: &str) -> Answer {
    let id = match snowflake(raw, "guild_id") {
        Ok(id) => id,
        Err(answer) => return answer,
    };
    let Some(history) = state.history().filter(|h| h.guild_exists(id)) else {
        return Answer::error(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
    };
    history.active_threads(id, |t| {
        t["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .is_none_or(|thread| sees_thread(state, &history, thread))
    })
}

/// `GET /guilds/{id}/members`: 403 50001 without the Server Members intent.
pub(super) fn guild_members(state: &RestState, raw: &str, query: &Query) -> Answer {
    let id = match snowflake(raw, "guild_id") {
        Ok(id) => id,
        Err(answer) => return answer,
    };
    let Some(history) = state.history().filter(|h| h.guild_exists(id)) else {
        return Answer::error(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
    };
    if state.lock().members_denied.contains(&id) {
        return Answer::error(StatusCode::FORBIDDEN, 50001, "Missing Access");
    }
    history.members(id, query)
}
