//! Message, interaction and command routes: building messages as Discord
//! returns them and tracking what happened to each interaction token.

use super::*;
pub(super) fn unknown_webhook() -> Answer {
    Answer::error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook")
}

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
