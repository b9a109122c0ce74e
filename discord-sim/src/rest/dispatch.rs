//! The fallback handler every `/api/v10` request goes through: route,
//! authorization, rate limits, the route's answer, and the record.

use std::io::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::body::{Answer, Body, parse_body, respond};
use super::history::Query;
use super::rate_limit::{
    forced, static_headers, take_global, take_history_bucket, take_message_bucket,
};
use super::record::RecordedRequest;
use super::route::Route;
use super::{RestState, channels, commands, webhooks};

pub(super) async fn discord(
    State(state): State<Arc<RestState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let size = body.len();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bot {}", state.config.token.trim_start_matches("Bot ")));
    let route = Route::parse(uri.path());
    let route_name = route.as_ref().map(|r| format!("{method} {}", r.template()));
    let parsed = parse_body(&headers, body).await;
    let (json_body, files) = match &parsed {
        Ok(body) => (body.json.clone(), body.files.clone()),
        Err(_) => (None, Vec::new()),
    };
    let answer = match (route, parsed) {
        (None, _) => Answer::error(StatusCode::NOT_FOUND, 0, "404: Not Found"),
        (Some(route), _) if !route.allows(&method) => {
            Answer::error(StatusCode::METHOD_NOT_ALLOWED, 0, "405: Method Not Allowed")
        }
        (Some(route), _) if route.bot_auth() && !authorized => {
            Answer::error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized")
        }
        (Some(route), parsed) => {
            let route_name = route_name.as_deref().unwrap_or_default();
            if let Some(answer) = forced(&state, &route, route_name) {
                answer
            } else {
                let reading = method == Method::GET;
                let headers = take_global(&state, &route).and_then(|()| {
                    match (route.message_channel(), reading) {
                        (Some(channel), true) => take_history_bucket(&state, &route, channel),
                        (Some(channel), false) => take_message_bucket(&state, &route, channel),
                        (None, _) => Ok(static_headers(&route)),
                    }
                });
                match headers {
                    Err(limited) => limited,
                    Ok(headers) => {
                        let mut answer = match parsed {
                            Ok(body) => serve(&state, &method, &route, body, uri.query()),
                            Err(answer) => answer,
                        };
                        answer.headers.extend(headers);
                        answer
                    }
                }
            }
        }
    };
    let record = RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        route: route_name,
        status: answer.status.as_u16(),
        authorized,
        content_type,
        size,
        json: json_body,
        files,
        response: answer.body.clone(),
        at_ms: chrono::Utc::now().timestamp_millis(),
    };
    if let Some(log) = &state.log {
        let mut file = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Ok(line) = serde_json::to_string(&record)
            && let Err(error) = writeln!(file, "{line}")
        {
            tracing::warn!(%error, "writing the REST log failed");
        }
    }
    tracing::debug!(method = %record.method, path = %record.path, status = record.status, "REST");
    state.lock().requests.push(record);
    state.changed.notify_waiters();
    respond(answer)
}

fn serve(
    state: &RestState,
    method: &Method,
    route: &Route,
    body: Body,
    query: Option<&str>,
) -> Answer {
    let query = Query::parse(query);
    match route {
        Route::ChannelMessages { channel_id } if method == Method::GET => {
            channels::history(state, channel_id, &query)
        }
        Route::ArchivedThreads {
            channel_id,
            private,
        } => channels::archived_threads(state, channel_id, *private, &query),
        Route::JoinedPrivateArchivedThreads { channel_id } => {
            channels::joined_archived_threads(state, channel_id, &query)
        }
        Route::GuildMembers { guild_id } => channels::guild_members(state, guild_id, &query),
        Route::GuildChannels { guild_id } => channels::guild_channels(state, guild_id),
        Route::ActiveThreads { guild_id } => channels::active_threads(state, guild_id),
        Route::GuildRoles { guild_id } => channels::guild_roles(state, guild_id),
        Route::Gateway => Answer::json(StatusCode::OK, json!({"url": gateway_url(state)})),
        Route::GatewayBot => Answer::json(
            StatusCode::OK,
            json!({
                "url": gateway_url(state),
                "shards": state.config.recommended_shards,
                "session_start_limit": session_start_limit(state),
            }),
        ),
        Route::ChannelMessages { channel_id } => channels::create(state, channel_id, &body),
        Route::ChannelMessage {
            channel_id,
            message_id,
        } => channels::edit(state, channel_id, message_id, &body),
        Route::InteractionCallback {
            interaction_id,
            token,
        } => webhooks::callback(state, interaction_id, token, body),
        Route::Webhook {
            application_id,
            token,
        } => webhooks::followup(state, application_id, token, body),
        Route::Original {
            application_id,
            token,
        } => webhooks::original(state, method, application_id, token, body),
        Route::Commands {
            application_id,
            guild_id,
        } => commands::commands(state, method, application_id, guild_id.as_deref(), body),
    }
}

/// The gateway's session-start budget (Discord's defaults without one).
fn session_start_limit(state: &RestState) -> Value {
    let limit = state.gateway.as_ref().map(|g| g.session_start_limit());
    let (total, remaining, reset_after, max_concurrency) = limit.map_or(
        (
            crate::gateway::DAILY_SESSION_STARTS,
            crate::gateway::DAILY_SESSION_STARTS,
            crate::gateway::SESSION_START_PERIOD.as_millis() as u64,
            1,
        ),
        |l| (l.total, l.remaining, l.reset_after_ms, l.max_concurrency),
    );
    json!({
        "total": total,
        "remaining": remaining,
        "reset_after": reset_after,
        "max_concurrency": max_concurrency,
    })
}

fn gateway_url(state: &RestState) -> String {
    state
        .gateway
        .as_ref()
        .map_or_else(String::new, |g| g.url().to_owned())
}
