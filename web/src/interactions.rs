//! `POST /interactions`: signature first, then PING, then the interaction.
//!
//! An answer ready within [`INLINE_BUDGET`] without files goes back in the
//! HTTP response. Otherwise the endpoint defers (a deferred message, or a
//! deferred update for a click)
//! and the finished answer — charts as multipart PNGs — is sent by editing
//! `@original`, so Discord's 3-second deadline is always met. A notice that
//! only arrives after a public deferral replaces it: the deferred message is
//! deleted and the notice sent as an ephemeral follow-up.

use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use twilight_model::application::interaction::{Interaction, InteractionType};
use twilight_model::http::interaction::InteractionResponseType as Callback;

use crate::AppState;
use crate::reply::{Message, Reply};
use crate::signature;

/// How long the endpoint waits for an answer before deferring.
pub const INLINE_BUDGET: Duration = Duration::from_millis(2000);

/// Just the type, so a PING is answered without the full interaction model
/// (real PINGs lack fields twilight-model requires).
#[derive(Deserialize)]
struct InteractionKind {
    #[serde(rename = "type")]
    kind: InteractionType,
}

fn finish(kind: &'static str, outcome: &'static str, started: Instant) {
    metrics::counter!("serverpulse_interactions_total", "kind" => kind, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("serverpulse_interaction_seconds", "kind" => kind)
        .record(started.elapsed().as_secs_f64());
}

fn kind_name(kind: InteractionType) -> &'static str {
    match kind {
        InteractionType::ApplicationCommand => "command",
        InteractionType::ApplicationCommandAutocomplete => "autocomplete",
        InteractionType::MessageComponent => "component",
        InteractionType::ModalSubmit => "modal",
        _ => "other",
    }
}

pub async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Err(error) = signature::verify(
        &state.verifying_key,
        header("x-signature-ed25519"),
        header("x-signature-timestamp"),
        &body,
        chrono::Utc::now().timestamp(),
    ) {
        tracing::info!(%error, "refused an interaction");
        finish("unknown", "unauthorized", started);
        return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
    }
    let Ok(InteractionKind { kind }) = serde_json::from_slice::<InteractionKind>(&body) else {
        finish("unknown", "malformed", started);
        return (StatusCode::BAD_REQUEST, "malformed interaction").into_response();
    };
    if kind == InteractionType::Ping {
        finish("ping", "ok", started);
        return Json(json!({"type": Callback::Pong})).into_response();
    }
    let interaction: Interaction = match serde_json::from_slice(&body) {
        Ok(interaction) => interaction,
        Err(error) => {
            tracing::info!(%error, "unparseable interaction");
            finish("unknown", "malformed", started);
            return (StatusCode::BAD_REQUEST, "malformed interaction").into_response();
        }
    };
    let kind = interaction.kind;
    let name = kind_name(kind);
    let token = interaction.token.clone();
    let update = kind == InteractionType::MessageComponent;
    let mut work = tokio::spawn(crate::commands::dispatch(state.clone(), interaction));
    // A zero budget always defers (deterministically, even for answers
    // that are ready at once).
    let ready = if state.inline_budget.is_zero() {
        None
    } else {
        tokio::time::timeout(state.inline_budget, &mut work)
            .await
            .ok()
    };
    let reply = match ready {
        Some(Ok(reply)) => reply,
        Some(Err(error)) => {
            tracing::error!(%error, "interaction handler panicked");
            Reply::Message(Message::notice(
                "Something went wrong on our side. Please try again.",
            ))
        }
        None => {
            // Too slow for inline: defer now, edit @original when done.
            let rest = state.rest.clone();
            tokio::spawn(async move {
                let reply = work.await.unwrap_or_else(|error| {
                    tracing::error!(%error, "interaction handler panicked");
                    Reply::Message(Message::notice(
                        "Something went wrong on our side. Please try again.",
                    ))
                });
                let message = match reply {
                    Reply::Message(m) | Reply::Update(m) => m,
                    Reply::Modal(_) | Reply::Choices(_) => {
                        Message::notice("That took too long; please try again.")
                    }
                };
                if message.ephemeral {
                    notice_after_deferral(&rest, &token, message, update).await;
                } else {
                    edit_original(&rest, &token, message).await;
                }
            });
            finish(name, "deferred", started);
            return Json(json!({"type": deferral(update)})).into_response();
        }
    };
    finish(name, "answered", started);
    respond(&state, token, reply, update)
}

/// A deferral's visibility cannot change afterwards, so a notice (only for
/// the user) replaces a public deferral: the "thinking…" message is deleted
/// and the notice sent as an ephemeral follow-up. After a click the clicked
/// report stays and only the follow-up is sent.
async fn notice_after_deferral(
    rest: &crate::discord::DiscordRest,
    token: &str,
    message: Message,
    update: bool,
) {
    if !update && let Err(error) = rest.delete_original(token).await {
        tracing::warn!(%error, "deleting the deferred answer failed");
    }
    if let Err(error) = rest.follow_up(token, &message.payload()).await {
        tracing::error!(%error, "sending the notice failed");
        metrics::counter!("serverpulse_followup_failures_total").increment(1);
    }
}

async fn edit_original(rest: &crate::discord::DiscordRest, token: &str, message: Message) {
    let mut payload = message.payload();
    // Flags cannot change after a deferral.
    if let Some(object) = payload.as_object_mut() {
        object.remove("flags");
    }
    if let Err(error) = rest.edit_original(token, payload, &message.files).await {
        tracing::error!(%error, "editing the deferred answer failed");
        metrics::counter!("serverpulse_followup_failures_total").increment(1);
    }
}

/// "Answer coming": an update of the clicked message after a click, a new
/// message otherwise.
fn deferral(update: bool) -> Callback {
    if update {
        Callback::DeferredUpdateMessage
    } else {
        Callback::DeferredChannelMessageWithSource
    }
}

fn respond(state: &AppState, token: String, reply: Reply, update: bool) -> Response {
    let answer: Value = match reply {
        Reply::Choices(choices) => {
            json!({"type": Callback::ApplicationCommandAutocompleteResult, "data": {"choices": choices
            .into_iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect::<Vec<_>>()}})
        }
        Reply::Modal(modal) => json!({"type": Callback::Modal, "data": modal}),
        Reply::Message(message) | Reply::Update(message) if !message.files.is_empty() => {
            // Files cannot travel in the HTTP answer: defer and edit.
            let rest = state.rest.clone();
            let ephemeral = message.ephemeral;
            tokio::spawn(async move { edit_original(&rest, &token, message).await });
            if ephemeral && !update {
                json!({"type": deferral(update), "data": {"flags": crate::reply::EPHEMERAL}})
            } else {
                json!({"type": deferral(update)})
            }
        }
        Reply::Update(message) if update => {
            json!({"type": Callback::UpdateMessage, "data": message.payload()})
        }
        Reply::Update(message) | Reply::Message(message) => {
            json!({"type": Callback::ChannelMessageWithSource, "data": message.payload()})
        }
    };
    Json(answer).into_response()
}
