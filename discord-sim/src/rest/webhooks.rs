//! Interaction routes: the callback, follow-ups and `@original`, tracking
//! what happened to each interaction token.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::RestState;
use super::body::{Answer, Body};
use super::messages::{build_message, create_message, unknown_message};
use super::validate;

pub(super) fn unknown_webhook() -> Answer {
    Answer::error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook")
}

pub(super) fn callback(state: &RestState, interaction_id: &str, token: &str, body: Body) -> Answer {
    let known =
        state.lock().interactions.get(token).is_some_and(|i| {
            i.record.interaction_id == interaction_id && state.interaction_live(i)
        });
    if !known {
        return Answer::error(StatusCode::NOT_FOUND, 10062, "Unknown interaction");
    }
    let payload = body.json.clone().unwrap_or(Value::Null);
    acknowledge(state, token, payload, &body)
}

/// Records a callback (through the callback route or as the HTTP answer).
pub(super) fn acknowledge(state: &RestState, token: &str, payload: Value, body: &Body) -> Answer {
    let acknowledged = state
        .lock()
        .interactions
        .get(token)
        .is_some_and(|i| i.record.callback_type.is_some());
    if acknowledged {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            40060,
            "Interaction has already been acknowledged.",
        );
    }
    let errors = validate::callback(&payload);
    if !errors.is_empty() {
        return Answer::form(errors);
    }
    let kind = payload.get("type").and_then(Value::as_u64).unwrap_or(0);
    let mut original = None;
    if matches!(kind, 4 | 7) {
        let data = payload.get("data").cloned().unwrap_or_else(|| json!({}));
        let parts = body.parts();
        let errors = validate::message(&data, &parts, &[]);
        if !errors.is_empty() {
            // Errors of the message sit under `data`.
            let mut body = errors.body();
            body["errors"] = json!({"data": body["errors"].take()});
            return Answer::json(StatusCode::BAD_REQUEST, body);
        }
        if kind == 4 && validate::is_empty_message(&data, &parts) {
            return Answer::error(
                StatusCode::BAD_REQUEST,
                50006,
                "Cannot send an empty message",
            );
        }
        original = Some(build_message(state, &data, body, "0", Some(token), None));
    }
    let mut inner = state.lock();
    if let Some(interaction) = inner.interactions.get_mut(token) {
        let record = &mut interaction.record;
        record.callback_type = Some(kind);
        record.callback = Some(payload);
        if original.is_some() {
            record.original = original;
        }
        record.version += 1;
    }
    Answer::empty(StatusCode::NO_CONTENT)
}

/// The live interaction behind a webhook token, or Discord's 404.
pub(super) fn check_webhook(
    state: &RestState,
    application_id: &str,
    token: &str,
) -> Result<(), Answer> {
    if application_id != state.config.application_id.to_string() {
        return Err(unknown_webhook());
    }
    match state.lock().interactions.get(token) {
        Some(interaction) if state.interaction_live(interaction) => Ok(()),
        _ => Err(unknown_webhook()),
    }
}

pub(super) fn followup(state: &RestState, application_id: &str, token: &str, body: Body) -> Answer {
    if let Err(answer) = check_webhook(state, application_id, token) {
        return answer;
    }
    match create_message(state, &body, "0", Some(token)) {
        Ok(stored) => {
            let message = stored.message.clone();
            let mut inner = state.lock();
            if let Some(interaction) = inner.interactions.get_mut(token) {
                interaction.record.followups.push(stored);
                interaction.record.version += 1;
            }
            Answer::json(StatusCode::OK, message)
        }
        Err(answer) => answer,
    }
}

pub(super) fn original(
    state: &RestState,
    method: &Method,
    application_id: &str,
    token: &str,
    body: Body,
) -> Answer {
    if let Err(answer) = check_webhook(state, application_id, token) {
        return answer;
    }
    let (acknowledged, current) = {
        let inner = state.lock();
        let record = &inner.interactions[token].record;
        // The product may edit as soon as it has answered; the client may
        // not have reported that answer yet.
        (
            record.callback_type.is_some() || record.awaiting_http_answer,
            record.original.clone(),
        )
    };
    if *method == Method::GET {
        return current.map_or_else(unknown_message, |stored| {
            Answer::json(StatusCode::OK, stored.message)
        });
    }
    if !acknowledged {
        return unknown_message();
    }
    if *method == Method::DELETE {
        let mut inner = state.lock();
        if let Some(interaction) = inner.interactions.get_mut(token) {
            interaction.record.original = None;
            interaction.record.version += 1;
        }
        return Answer::empty(StatusCode::NO_CONTENT);
    }
    let payload = body.json.clone().unwrap_or_else(|| json!({}));
    let existing: Vec<u64> = current
        .as_ref()
        .and_then(|c| {
            c.message
                .get("attachments")
                .and_then(Value::as_array)
                .cloned()
        })
        .unwrap_or_default()
        .iter()
        .filter_map(|a| a["id"].as_str().and_then(|id| id.parse().ok()))
        .collect();
    let errors = validate::message(&payload, &body.parts(), &existing);
    if !errors.is_empty() {
        return Answer::form(errors);
    }
    let stored = build_message(state, &payload, &body, "0", Some(token), current.as_ref());
    let message = stored.message.clone();
    let mut inner = state.lock();
    if let Some(interaction) = inner.interactions.get_mut(token) {
        interaction.record.original = Some(stored);
        interaction.record.original_edits += 1;
        interaction.record.version += 1;
    }
    Answer::json(StatusCode::OK, message)
}
