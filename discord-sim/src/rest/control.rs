//! The simulator's own routes under `/_sim/`: what the CLI and the
//! interactions client use to inspect and steer a running simulator.

use axum::routing::{get, post};

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::RestState;
use super::body::{Answer, Body, respond};
use super::channels::{Channel, ChannelAccess};
use super::handle::{register, wait_for_interaction};
use super::rate_limit::{RateLimitRule, RestFault};
use super::webhooks;
use crate::gateway::Fault;

pub(super) fn router() -> Router<Arc<RestState>> {
    Router::new()
        .route(
            "/_sim/requests",
            get(control_requests).delete(control_clear_requests),
        )
        .route("/_sim/sessions", get(control_sessions))
        .route("/_sim/faults", post(control_fault))
        .route(
            "/_sim/rate-limits",
            post(control_rate_limit).delete(control_clear_rate_limits),
        )
        .route(
            "/_sim/rest-faults",
            post(control_rest_fault).delete(control_clear_rest_faults),
        )
        .route("/_sim/channels/{channel_id}/access", post(control_access))
        .route(
            "/_sim/channels/{channel_id}/messages",
            get(control_channel_messages),
        )
        .route("/_sim/interactions", post(control_register))
        .route("/_sim/interactions/{token}", get(control_interaction))
        .route("/_sim/interactions/{token}/answer", post(control_answer))
}
async fn control_requests(State(state): State<Arc<RestState>>) -> Response {
    axum::Json(state.lock().requests.clone()).into_response()
}

async fn control_clear_requests(State(state): State<Arc<RestState>>) -> StatusCode {
    state.lock().requests.clear();
    StatusCode::NO_CONTENT
}

async fn control_sessions(State(state): State<Arc<RestState>>) -> Response {
    match &state.gateway {
        Some(gateway) => axum::Json(gateway.sessions()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn control_fault(State(state): State<Arc<RestState>>, body: Bytes) -> Response {
    let Some(gateway) = &state.gateway else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match serde_json::from_slice::<Fault>(&body) {
        Ok(fault) => {
            gateway.inject(fault);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}

async fn control_rate_limit(State(state): State<Arc<RestState>>, body: Bytes) -> Response {
    match serde_json::from_slice::<RateLimitRule>(&body) {
        Ok(rule) => {
            state.lock().rate_limits.push(rule);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}

async fn control_clear_rate_limits(State(state): State<Arc<RestState>>) -> StatusCode {
    state.lock().rate_limits.clear();
    StatusCode::NO_CONTENT
}

async fn control_rest_fault(State(state): State<Arc<RestState>>, body: Bytes) -> Response {
    match serde_json::from_slice::<RestFault>(&body) {
        Ok(fault) => {
            state.lock().faults.push(fault);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}

async fn control_clear_rest_faults(State(state): State<Arc<RestState>>) -> StatusCode {
    state.lock().faults.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct AccessBody {
    access: ChannelAccess,
}

async fn control_access(
    State(state): State<Arc<RestState>>,
    Path(channel_id): Path<u64>,
    body: Bytes,
) -> Response {
    match serde_json::from_slice::<AccessBody>(&body) {
        Ok(AccessBody { access }) => {
            let mut inner = state.lock();
            inner
                .channels
                .entry(channel_id)
                .or_insert_with(|| Channel::new(access))
                .access = access;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}

async fn control_channel_messages(
    State(state): State<Arc<RestState>>,
    Path(channel_id): Path<u64>,
) -> Response {
    let messages = state
        .lock()
        .channels
        .get(&channel_id)
        .map(|c| c.messages.clone())
        .unwrap_or_default();
    axum::Json(messages).into_response()
}

#[derive(Deserialize)]
struct RegisterBody {
    id: String,
    token: String,
}

async fn control_register(State(state): State<Arc<RestState>>, body: Bytes) -> Response {
    match serde_json::from_slice::<RegisterBody>(&body) {
        Ok(RegisterBody { id, token }) => match id.parse() {
            Ok(id) => {
                register(&state, id, &token);
                StatusCode::NO_CONTENT.into_response()
            }
            Err(_) => (StatusCode::BAD_REQUEST, "id must be a snowflake").into_response(),
        },
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
struct WaitQuery {
    #[serde(default)]
    after_version: Option<u64>,
    #[serde(default)]
    timeout_ms: Option<u64>,
}

async fn control_interaction(
    State(state): State<Arc<RestState>>,
    Path(token): Path<String>,
    Query(wait): Query<WaitQuery>,
) -> Response {
    let timeout = Duration::from_millis(wait.timeout_ms.unwrap_or(0).min(60_000));
    let record = match wait.after_version {
        Some(after) => wait_for_interaction(&state, &token, after, timeout).await,
        None => state
            .lock()
            .interactions
            .get(&token)
            .map(|i| i.record.clone()),
    };
    match record {
        Some(record) => axum::Json(record).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Deserialize)]
struct HttpAnswer {
    status: u16,
    #[serde(default)]
    body: Option<Value>,
}

/// The interactions client reports the product's HTTP answer: on Discord,
/// an answer with a callback type is the acknowledgement itself.
async fn control_answer(
    State(state): State<Arc<RestState>>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    match serde_json::from_slice::<HttpAnswer>(&body) {
        Ok(answer) => respond(http_answer(&state, &token, answer.status, answer.body)),
        Err(_) => (StatusCode::BAD_REQUEST, "expected {status, body}").into_response(),
    }
}

pub(super) fn http_answer(
    state: &RestState,
    token: &str,
    status: u16,
    body: Option<Value>,
) -> Answer {
    {
        let mut inner = state.lock();
        let Some(interaction) = inner.interactions.get_mut(token) else {
            return Answer::empty(StatusCode::NOT_FOUND);
        };
        interaction.record.http_answer = body.clone();
        interaction.record.version += 1;
    }
    let answered = status == 200 && body.as_ref().is_some_and(|b| b.get("type").is_some());
    let result = if answered {
        let payload = body.unwrap_or(Value::Null);
        let parsed = Body {
            json: Some(payload.clone()),
            files: Vec::new(),
        };
        webhooks::acknowledge(state, token, payload, &parsed)
    } else {
        Answer::empty(StatusCode::NO_CONTENT)
    };
    // Only now: until the answer is recorded as the callback, an edit of
    // `@original` (which the product may send the moment it has answered
    // over HTTP) must still find the interaction acknowledged.
    if let Some(interaction) = state.lock().interactions.get_mut(token) {
        interaction.record.awaiting_http_answer = false;
    }
    state.changed.notify_waiters();
    result
}
