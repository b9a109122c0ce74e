//! Messages as Discord returns them: validation of a new message and the
//! message object built from a payload and its uploads.

use std::collections::HashMap;

use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Value, json};

use super::RestState;
use super::body::{Answer, Body};
use super::record::{RecordedFile, StoredFile, StoredMessage};
use super::validate;

pub(super) fn unknown_message() -> Answer {
    Answer::error(StatusCode::NOT_FOUND, 10008, "Unknown Message")
}

/// Validates a message to create and builds it; `webhook` carries the
/// interaction token for webhook messages.
pub(super) fn create_message(
    state: &RestState,
    body: &Body,
    channel_id: &str,
    webhook: Option<&str>,
) -> Result<StoredMessage, Answer> {
    let payload = body.json.clone().unwrap_or_else(|| json!({}));
    let parts = body.parts();
    let errors = validate::message(&payload, &parts, &[]);
    if !errors.is_empty() {
        return Err(Answer::form(errors));
    }
    if validate::is_empty_message(&payload, &parts) {
        return Err(Answer::error(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        ));
    }
    Ok(build_message(
        state, &payload, body, channel_id, webhook, None,
    ))
}

pub(super) fn build_message(
    state: &RestState,
    payload: &Value,
    body: &Body,
    channel_id: &str,
    webhook: Option<&str>,
    previous: Option<&StoredMessage>,
) -> StoredMessage {
    let mut message = previous.map(|p| p.message.clone()).unwrap_or_else(|| {
        json!({
            "id": state.snowflake().to_string(),
            "type": if webhook.is_some() { 20 } else { 0 },
            "channel_id": channel_id,
            "author": {
                "id": state.config.application_id.to_string(),
                "username": "ServerPulse",
                "discriminator": "0000",
                "avatar": null,
                "bot": true,
            },
            "content": "",
            "embeds": [],
            "components": [],
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": false,
            "pinned": false,
            "tts": false,
            "flags": 0,
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
            "edited_timestamp": null,
        })
    });
    if webhook.is_some() {
        // Interaction responses come from the application's own webhook.
        message["webhook_id"] = json!(state.config.application_id.to_string());
        message["application_id"] = json!(state.config.application_id.to_string());
    }
    for key in ["content", "embeds", "components", "flags", "tts", "poll"] {
        if let Some(value) = payload.get(key).filter(|v| !v.is_null()) {
            message[key] = value.clone();
        }
    }
    if previous.is_some() {
        message["edited_timestamp"] =
            json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false));
    }
    // Attachments: listed ones are kept (existing ids) or uploaded (files[n]);
    // without a list, uploads are added to what the message had.
    let mut files: Vec<StoredFile> = previous.map(|p| p.files.clone()).unwrap_or_default();
    let mut attachments: Vec<Value> = previous
        .and_then(|p| {
            p.message
                .get("attachments")
                .and_then(Value::as_array)
                .cloned()
        })
        .unwrap_or_default();
    let uploads: HashMap<u64, &RecordedFile> = body
        .parts()
        .iter()
        .zip(&body.files)
        .filter_map(|(part, file)| part.index.map(|index| (index, file)))
        .collect();
    let mut upload = |file: &RecordedFile, listed: Option<&Value>| {
        let id = state.snowflake().to_string();
        let filename = listed
            .and_then(|a| a.get("filename"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| file.filename.clone())
            .unwrap_or_else(|| "file".to_owned());
        files.push(StoredFile {
            attachment_id: id.clone(),
            filename: filename.clone(),
            content_type: file.content_type.clone(),
            base64: base64::engine::general_purpose::STANDARD.encode(&file.bytes),
        });
        let url = format!(
            "{}/attachments/{channel_id}/{id}/{filename}",
            state.base_url
        );
        let mut attachment = json!({
            "id": id, "filename": filename, "size": file.size, "url": url, "proxy_url": url,
            "content_type": file.content_type,
        });
        if let Some(description) = listed.and_then(|a| a.get("description")) {
            attachment["description"] = description.clone();
        }
        attachment
    };
    match payload.get("attachments").and_then(Value::as_array) {
        Some(listed) => {
            let mut kept = Vec::new();
            for entry in listed {
                let id = entry.get("id").and_then(|v| match v {
                    Value::String(s) => s.parse::<u64>().ok(),
                    Value::Number(n) => n.as_u64(),
                    _ => None,
                });
                match id.and_then(|id| uploads.get(&id)) {
                    Some(file) => kept.push(upload(file, Some(entry))),
                    None => {
                        if let Some(existing) = attachments
                            .iter()
                            .find(|a| id.is_some_and(|id| a["id"] == json!(id.to_string())))
                        {
                            kept.push(existing.clone());
                        }
                    }
                }
            }
            let kept_ids: Vec<&Value> = kept.iter().map(|a| &a["id"]).collect();
            files.retain(|f| kept_ids.contains(&&json!(f.attachment_id)));
            attachments = kept;
        }
        None => {
            let mut indices: Vec<&u64> = uploads.keys().collect();
            indices.sort();
            for index in indices {
                attachments.push(upload(uploads[index], None));
            }
        }
    }
    message["attachments"] = Value::Array(attachments);
    StoredMessage { message, files }
}
