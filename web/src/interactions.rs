//! `POST /interactions`: signature first, then PING, then the interaction.
//!
//! An answer ready within [`INLINE_BUDGET`] without files goes back in the
//! HTTP response. Otherwise the endpoint defers (a deferred message, or a
//! deferred update for a click)
//! and the finished answer — charts as multipart PNGs — is sent by editing
//! `@original`, so Discord's 3-second deadline is always met. A notice that
//! only arrives after a public deferral replaces it: the deferred message is
//! deleted and the notice sent as an ephemeral follow-up.
//!
//! Deferred answers are bounded ([`Deferred`]): at most
//! `DEFERRED_ANSWER_LIMIT` at once (past it the interaction is answered
//! [`BUSY`] at once), each given up after `DEFERRED_ANSWER_DEADLINE_SECS`,
//! all owned by one task tracker that shutdown drains.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;
use twilight_model::application::interaction::{Interaction, InteractionType};
use twilight_model::http::interaction::InteractionResponseType as Callback;

use crate::AppState;
use crate::reply::{Message, Reply};
use crate::signature;

/// How long the endpoint waits for an answer before deferring.
pub const INLINE_BUDGET: Duration = Duration::from_millis(2000);

/// The answer when [`Deferred`] has no room: ephemeral, at once.
pub const BUSY: &str = "ServerPulse is busy, try again in a minute.";

/// The deferred answers in flight: a semaphore bounding how many may wait
/// on Discord at once, their deadline, and the tracker owning their tasks
/// (closed and awaited at shutdown, so an answer being prepared is still
/// delivered).
#[derive(Clone, Debug)]
pub struct Deferred {
    permits: Arc<Semaphore>,
    deadline: Duration,
    tracker: TaskTracker,
}

impl Deferred {
    pub fn new(limit: usize, deadline: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            deadline,
            tracker: TaskTracker::new(),
        }
    }

    /// Room for one more deferred answer, if there is any.
    fn permit(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }

    /// Runs `answer` holding `permit`, giving up after the deadline.
    fn spawn(
        &self,
        permit: OwnedSemaphorePermit,
        answer: impl Future<Output = ()> + Send + 'static,
    ) {
        let deadline = self.deadline;
        self.tracker.spawn(async move {
            let _permit = permit;
            if tokio::time::timeout(deadline, answer).await.is_err() {
                tracing::warn!(?deadline, "gave up on a deferred answer at its deadline");
                metrics::counter!("serverpulse_deferred_expired_total").increment(1);
            }
        });
    }

    /// The tracker that owns the deferred answers; `serve` also spawns the
    /// digest scheduler and the outbox worker on it, so one drain at
    /// shutdown covers everything in flight.
    pub fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }

    /// Tasks still running (deferred answers, and background work when
    /// spawned on [`Deferred::tracker`]).
    pub fn in_flight(&self) -> usize {
        self.tracker.len()
    }

    /// Takes no new deferred answers and waits up to `limit` for those
    /// running; `false` when some were still running at the limit.
    pub async fn drain(&self, limit: Duration) -> bool {
        self.tracker.close();
        tokio::time::timeout(limit, self.tracker.wait())
            .await
            .is_ok()
    }
}

/// The immediate ephemeral answer when no deferred answer can be taken on.
fn busy() -> Response {
    Json(json!({
        "type": Callback::ChannelMessageWithSource,
        "data": Message::notice(BUSY).payload(),
    }))
    .into_response()
}

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
    // Counted while it is computed: a history import waits meanwhile.
    let answering = state.commands_in_flight.enter();
    let mut work = tokio::spawn({
        let state = state.clone();
        async move {
            let _answering = answering;
            crate::commands::dispatch(state, interaction).await
        }
    });
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
            let Some(permit) = state.deferred.permit() else {
                work.abort();
                finish(name, "busy", started);
                return busy();
            };
            let rest = state.rest.clone();
            state.deferred.spawn(permit, async move {
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
    let (response, outcome) = respond(&state, token, reply, update);
    finish(name, outcome, started);
    response
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
    // A private report (`/access answers private`) keeps its chart.
    if let Err(error) = rest
        .follow_up(token, &message.payload(), &message.files)
        .await
    {
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
    // The edit can reach Discord before our HTTP answer (the deferral)
    // has: Discord then does not know `@original` yet and answers 404.
    // Such an edit is tried again, a few times, shortly after.
    let mut attempt = 0;
    loop {
        match rest
            .edit_original(token, payload.clone(), &message.files)
            .await
        {
            Ok(()) => return,
            Err(crate::discord::RestError::Status { status: 404, .. })
                if attempt < UNACKNOWLEDGED_RETRIES =>
            {
                attempt += 1;
                tokio::time::sleep(UNACKNOWLEDGED_PAUSE * attempt).await;
            }
            Err(error) => {
                tracing::error!(%error, "editing the deferred answer failed");
                metrics::counter!("serverpulse_followup_failures_total").increment(1);
                return;
            }
        }
    }
}

/// Retries of an edit Discord refused because it has not seen the
/// deferral yet, and the pause before the first (longer each time).
const UNACKNOWLEDGED_RETRIES: u32 = 3;
const UNACKNOWLEDGED_PAUSE: Duration = Duration::from_millis(200);

/// "Answer coming": an update of the clicked message after a click, a new
/// message otherwise.
fn deferral(update: bool) -> Callback {
    if update {
        Callback::DeferredUpdateMessage
    } else {
        Callback::DeferredChannelMessageWithSource
    }
}

/// The HTTP answer to `reply`, and how it went for the metrics.
fn respond(
    state: &AppState,
    token: String,
    reply: Reply,
    update: bool,
) -> (Response, &'static str) {
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
            let Some(permit) = state.deferred.permit() else {
                return (busy(), "busy");
            };
            let rest = state.rest.clone();
            let ephemeral = message.ephemeral;
            state.deferred.spawn(permit, async move {
                edit_original(&rest, &token, message).await;
            });
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
    (Json(answer).into_response(), "answered")
}
