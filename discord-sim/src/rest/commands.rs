//! Application command registration (bulk overwrite, global or per guild).

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::RestState;
use super::body::{Answer, Body};
use super::validate;

pub(super) fn commands(
    state: &RestState,
    method: &Method,
    application_id: &str,
    guild_id: Option<&str>,
    body: Body,
) -> Answer {
    if application_id != state.config.application_id.to_string() {
        return Answer::error(StatusCode::FORBIDDEN, 50001, "Missing Access");
    }
    let guild = match guild_id.map(str::parse::<u64>) {
        None => None,
        Some(Ok(guild)) => Some(guild),
        Some(Err(_)) => return Answer::error(StatusCode::NOT_FOUND, 10004, "Unknown Guild"),
    };
    if *method == Method::GET {
        return Answer::json(
            StatusCode::OK,
            Value::Array(
                state
                    .lock()
                    .commands
                    .get(&guild)
                    .cloned()
                    .unwrap_or_default(),
            ),
        );
    }
    let payload = body.json.unwrap_or(Value::Null);
    let errors = validate::commands(&payload);
    if !errors.is_empty() {
        return Answer::form(errors);
    }
    let stored: Vec<Value> = payload
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|command| {
            let mut command = command.clone();
            command["id"] = json!(state.snowflake().to_string());
            command["application_id"] = json!(application_id);
            command["version"] = json!(state.snowflake().to_string());
            command["type"] = command.get("type").cloned().unwrap_or(json!(1));
            if let Some(guild) = guild {
                command["guild_id"] = json!(guild.to_string());
            }
            command
        })
        .collect();
    state.lock().commands.insert(guild, stored.clone());
    Answer::json(StatusCode::OK, Value::Array(stored))
}
