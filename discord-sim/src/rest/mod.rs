//! Discord's REST API under `/api/v10`, as much of it as the product uses,
//! with Discord's limits, error shapes and rate-limit headers, plus the
//! simulator's own control routes under `/_sim/`.

mod control;
mod routes;
pub mod validate;

use std::collections::HashMap;
use std::fs::File;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::SimError;
use crate::gateway::{Fault, GatewayHandle};
use validate::FilePart;

/// Discord lets uploads reach 25 MiB (more with boosts).
const BODY_LIMIT: usize = 26 * 1024 * 1024;

/// How the REST side behaves.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// Bot routes demand `Authorization: Bot <token>`.
    pub token: String,
    pub application_id: u64,
    /// How long an interaction token works (Discord: 15 minutes).
    pub interaction_token_ttl: Duration,
    /// Append every request as a JSON line to this file.
    pub log_file: Option<PathBuf>,
    /// `shards` in `GET /gateway/bot`.
    pub recommended_shards: u32,
}

impl RestConfig {
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            application_id: crate::DEFAULT_APPLICATION_ID,
            interaction_token_ttl: Duration::from_secs(15 * 60),
            log_file: None,
            recommended_shards: 1,
        }
    }
}

/// A file part of a multipart request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedFile {
    /// The part's name, e.g. `files[0]`.
    pub field: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub size: usize,
    /// The bytes, kept in memory (left out of the JSONL log).
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// One request the REST side answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// `METHOD /template`, e.g. `POST /channels/{channel_id}/messages`;
    /// `None` for routes the simulator does not know.
    pub route: Option<String>,
    pub status: u16,
    /// Whether `Authorization: Bot <token>` was present and right.
    pub authorized: bool,
    pub content_type: Option<String>,
    /// Body size in bytes.
    pub size: usize,
    /// The JSON body, or a multipart request's `payload_json`.
    pub json: Option<Value>,
    pub files: Vec<RecordedFile>,
    /// The JSON the simulator answered with, if any.
    pub response: Option<Value>,
    pub at_ms: i64,
}

/// Where a forced 429 applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "route", rename_all = "snake_case")]
pub enum RateLimitScope {
    /// Every bot route (interaction routes are exempt, as on Discord).
    Global,
    /// One route, as `METHOD /template` (see [`RecordedRequest::route`]).
    Route(String),
}

/// A switch that answers 429.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimitRule {
    pub scope: RateLimitScope,
    /// Seconds, sent in the body and the headers.
    pub retry_after: f64,
    /// Refuse this many requests, then switch off; `None`: until cleared.
    #[serde(default)]
    pub count: Option<u32>,
}

/// A message as the simulator keeps it, with its files' bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMessage {
    /// The message object as Discord would return it.
    pub message: Value,
    /// One per attachment of `message`, same order.
    pub files: Vec<StoredFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    pub attachment_id: String,
    pub filename: String,
    pub content_type: Option<String>,
    /// Base64 (standard alphabet) so the control API can carry it as JSON.
    pub base64: String,
}

impl StoredFile {
    pub fn bytes(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.base64)
            .unwrap_or_default()
    }
}

/// What happened to one interaction token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionRecord {
    pub interaction_id: String,
    pub token: String,
    /// Bumped by every callback, edit and follow-up.
    pub version: u64,
    /// The callback type answered through `POST /interactions/.../callback`.
    pub callback_type: Option<u64>,
    /// The raw callback body.
    pub callback: Option<Value>,
    /// The original response: from a type 4/7 callback or the `@original` edits.
    pub original: Option<StoredMessage>,
    /// How many times `@original` was edited.
    pub original_edits: u32,
    pub followups: Vec<StoredMessage>,
    pub expired: bool,
    /// Sent to the product, whose HTTP answer the simulator has not heard yet.
    pub awaiting_http_answer: bool,
    /// The product's HTTP answer, as the interactions client reported it.
    pub http_answer: Option<Value>,
}

struct Interaction {
    record: InteractionRecord,
    created: Instant,
}

#[derive(Default)]
struct RestInner {
    requests: Vec<RecordedRequest>,
    interactions: HashMap<String, Interaction>,
    rate_limits: Vec<RateLimitRule>,
    commands: HashMap<Option<u64>, Vec<Value>>,
    next_id: u64,
}

struct RestState {
    config: RestConfig,
    gateway: Option<GatewayHandle>,
    base_url: String,
    inner: Mutex<RestInner>,
    changed: Notify,
    log: Option<Mutex<File>>,
}

impl RestState {
    fn lock(&self) -> MutexGuard<'_, RestInner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn snowflake(&self) -> u64 {
        let mut inner = self.lock();
        inner.next_id += 1;
        sim_scenario::snowflake_at(chrono::Utc::now().timestamp_millis(), inner.next_id)
    }

    fn interaction_live(&self, interaction: &Interaction) -> bool {
        !interaction.record.expired
            && interaction.created.elapsed() <= self.config.interaction_token_ttl
    }
}

/// A running REST side; cheap to clone.
#[derive(Clone)]
pub struct RestHandle {
    state: Arc<RestState>,
    addr: SocketAddr,
}

impl std::fmt::Debug for RestHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestHandle")
            .field("addr", &self.addr)
            .finish()
    }
}

impl RestHandle {
    /// `http://127.0.0.1:PORT`: the control routes live under `/_sim/`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/api/v10`, to put where `https://discord.com/api/v10` goes.
    pub fn api_url(&self) -> String {
        format!("http://{}/api/v10", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.state.lock().requests.clear();
    }

    /// Waits (bounded) for a request that `matches`, recorded before or after the call.
    pub async fn wait_for_request(
        &self,
        timeout: Duration,
        matches: impl Fn(&RecordedRequest) -> bool,
    ) -> Option<RecordedRequest> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.state.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(found) = self.state.lock().requests.iter().find(|r| matches(r)) {
                return Some(found.clone());
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return None;
            }
        }
    }

    /// Makes an interaction token valid for the REST routes, as Discord does
    /// when it sends an interaction.
    pub fn register_interaction(&self, interaction_id: u64, token: &str) {
        register(&self.state, interaction_id, token);
    }

    /// Records the product's HTTP answer to an interaction, as Discord would
    /// see it: a body with a callback type acknowledges the interaction.
    /// Returns Discord's objection (its error body) if the answer is invalid.
    pub fn report_http_answer(
        &self,
        token: &str,
        status: u16,
        body: Option<Value>,
    ) -> Option<Value> {
        let answer = control::http_answer(&self.state, token, status, body);
        if answer.status.is_client_error() {
            answer.body
        } else {
            None
        }
    }

    /// Ends a token early (as if 15 minutes had passed).
    pub fn expire_interaction(&self, token: &str) {
        if let Some(interaction) = self.state.lock().interactions.get_mut(token) {
            interaction.record.expired = true;
        }
    }

    pub fn interaction(&self, token: &str) -> Option<InteractionRecord> {
        self.state
            .lock()
            .interactions
            .get(token)
            .map(|i| i.record.clone())
    }

    /// Waits (bounded) until the interaction's version passes `after`.
    pub async fn wait_for_interaction(
        &self,
        token: &str,
        after: u64,
        timeout: Duration,
    ) -> Option<InteractionRecord> {
        wait_for_interaction(&self.state, token, after, timeout).await
    }

    pub fn set_rate_limit(&self, rule: RateLimitRule) {
        self.state.lock().rate_limits.push(rule);
    }

    pub fn clear_rate_limits(&self) {
        self.state.lock().rate_limits.clear();
    }

    /// Registered commands: global with `None`, else that guild's.
    pub fn commands(&self, guild_id: Option<u64>) -> Vec<Value> {
        self.state
            .lock()
            .commands
            .get(&guild_id)
            .cloned()
            .unwrap_or_default()
    }
}

fn register(state: &RestState, interaction_id: u64, token: &str) {
    let record = InteractionRecord {
        interaction_id: interaction_id.to_string(),
        token: token.to_owned(),
        version: 0,
        callback_type: None,
        callback: None,
        original: None,
        original_edits: 0,
        followups: Vec::new(),
        expired: false,
        awaiting_http_answer: true,
        http_answer: None,
    };
    state.lock().interactions.insert(
        token.to_owned(),
        Interaction {
            record,
            created: Instant::now(),
        },
    );
}

async fn wait_for_interaction(
    state: &RestState,
    token: &str,
    after: u64,
    timeout: Duration,
) -> Option<InteractionRecord> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let changed = state.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let record = state
            .lock()
            .interactions
            .get(token)
            .map(|i| i.record.clone())?;
        if record.version > after || tokio::time::timeout_at(deadline, changed).await.is_err() {
            return Some(record);
        }
    }
}

pub(crate) async fn start(
    config: RestConfig,
    gateway: Option<GatewayHandle>,
    addr: SocketAddr,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) -> Result<RestHandle, SimError> {
    let log = match &config.log_file {
        Some(path) => Some(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| SimError::OpenLog {
                    path: path.display().to_string(),
                    source,
                })?,
        )),
        None => None,
    };
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| SimError::Bind { addr, source })?;
    let state = Arc::new(RestState {
        config,
        gateway,
        base_url: format!("http://{addr}"),
        inner: Mutex::new(RestInner::default()),
        changed: Notify::new(),
        log,
    });
    let app = router(Arc::clone(&state));
    tracker.spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(cancel.cancelled_owned())
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "REST server failed");
        }
    });
    tracing::info!(url = %state.base_url, "REST listening");
    Ok(RestHandle { state, addr })
}

fn router(state: Arc<RestState>) -> Router {
    Router::new()
        .merge(control::router())
        .fallback(discord)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

// ---- Discord routes ----

/// A Discord route the simulator knows, with its parameters.
enum Route {
    Gateway,
    GatewayBot,
    ChannelMessages {
        channel_id: String,
    },
    InteractionCallback {
        interaction_id: String,
        token: String,
    },
    Webhook {
        application_id: String,
        token: String,
    },
    Original {
        application_id: String,
        token: String,
    },
    Commands {
        application_id: String,
        guild_id: Option<String>,
    },
}

impl Route {
    fn parse(path: &str) -> Option<Self> {
        let rest = path.strip_prefix("/api/v10/")?;
        let parts: Vec<String> = rest
            .trim_end_matches('/')
            .split('/')
            .map(str::to_owned)
            .collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        Some(match parts.as_slice() {
            ["gateway"] => Self::Gateway,
            ["gateway", "bot"] => Self::GatewayBot,
            ["channels", id, "messages"] => Self::ChannelMessages {
                channel_id: (*id).to_owned(),
            },
            ["interactions", id, token, "callback"] => Self::InteractionCallback {
                interaction_id: (*id).to_owned(),
                token: (*token).to_owned(),
            },
            ["webhooks", app, token] => Self::Webhook {
                application_id: (*app).to_owned(),
                token: (*token).to_owned(),
            },
            ["webhooks", app, token, "messages", "@original"] => Self::Original {
                application_id: (*app).to_owned(),
                token: (*token).to_owned(),
            },
            ["applications", app, "commands"] => Self::Commands {
                application_id: (*app).to_owned(),
                guild_id: None,
            },
            ["applications", app, "guilds", guild, "commands"] => Self::Commands {
                application_id: (*app).to_owned(),
                guild_id: Some((*guild).to_owned()),
            },
            _ => return None,
        })
    }

    fn template(&self) -> &'static str {
        match self {
            Self::Gateway => "/gateway",
            Self::GatewayBot => "/gateway/bot",
            Self::ChannelMessages { .. } => "/channels/{channel_id}/messages",
            Self::InteractionCallback { .. } => {
                "/interactions/{interaction_id}/{interaction_token}/callback"
            }
            Self::Webhook { .. } => "/webhooks/{application_id}/{interaction_token}",
            Self::Original { .. } => {
                "/webhooks/{application_id}/{interaction_token}/messages/@original"
            }
            Self::Commands { guild_id: None, .. } => "/applications/{application_id}/commands",
            Self::Commands {
                guild_id: Some(_), ..
            } => "/applications/{application_id}/guilds/{guild_id}/commands",
        }
    }

    /// The top-level resource that splits buckets (channel, guild, webhook).
    fn major(&self) -> &str {
        match self {
            Self::ChannelMessages { channel_id } => channel_id,
            Self::InteractionCallback { interaction_id, .. } => interaction_id,
            Self::Webhook { token, .. } | Self::Original { token, .. } => token,
            Self::Commands {
                guild_id: Some(guild),
                ..
            } => guild,
            _ => "",
        }
    }

    /// Interaction routes authenticate with the token in the path.
    fn bot_auth(&self) -> bool {
        !matches!(
            self,
            Self::InteractionCallback { .. } | Self::Webhook { .. } | Self::Original { .. }
        )
    }

    fn allows(&self, method: &Method) -> bool {
        match self {
            Self::Gateway | Self::GatewayBot => method == Method::GET,
            Self::ChannelMessages { .. }
            | Self::InteractionCallback { .. }
            | Self::Webhook { .. } => method == Method::POST,
            Self::Original { .. } => [Method::GET, Method::PATCH, Method::DELETE].contains(method),
            Self::Commands { .. } => [Method::GET, Method::PUT].contains(method),
        }
    }
}

/// A request body: JSON, or multipart with `payload_json` and files.
struct Body {
    json: Option<Value>,
    files: Vec<RecordedFile>,
}

impl Body {
    fn parts(&self) -> Vec<FilePart<'_>> {
        self.files
            .iter()
            .map(|f| FilePart {
                index: f
                    .field
                    .strip_prefix("files[")
                    .and_then(|s| s.strip_suffix(']'))
                    .and_then(|n| n.parse().ok()),
                field: &f.field,
            })
            .collect()
    }
}

struct Answer {
    status: StatusCode,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    fn empty(status: StatusCode) -> Self {
        Self {
            status,
            body: None,
            headers: Vec::new(),
        }
    }

    fn error(status: StatusCode, code: u32, message: &str) -> Self {
        Self::json(status, json!({"code": code, "message": message}))
    }

    fn form(errors: validate::FormErrors) -> Self {
        Self::json(StatusCode::BAD_REQUEST, errors.body())
    }
}

async fn parse_body(headers: &HeaderMap, body: Bytes) -> Result<Body, Answer> {
    let invalid_json = || {
        Answer::error(
            StatusCode::BAD_REQUEST,
            50109,
            "The request body contains invalid JSON.",
        )
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("multipart/form-data") {
        let boundary = multer::parse_boundary(content_type)
            .map_err(|_| Answer::error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body"))?;
        let stream =
            futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        let mut parsed = Body {
            json: None,
            files: Vec::new(),
        };
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(_) => {
                    return Err(Answer::error(
                        StatusCode::BAD_REQUEST,
                        50035,
                        "Invalid Form Body",
                    ));
                }
            };
            let name = field.name().unwrap_or_default().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(ToString::to_string);
            let bytes = field
                .bytes()
                .await
                .map_err(|_| Answer::error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body"))?;
            if name == "payload_json" {
                parsed.json = Some(serde_json::from_slice(&bytes).map_err(|_| invalid_json())?);
            } else if filename.is_some() || name.starts_with("files[") {
                parsed.files.push(RecordedFile {
                    field: name,
                    filename,
                    content_type,
                    size: bytes.len(),
                    bytes: bytes.to_vec(),
                });
            }
        }
        return Ok(parsed);
    }
    if body.is_empty() {
        return Ok(Body {
            json: None,
            files: Vec::new(),
        });
    }
    let json = serde_json::from_slice(&body).map_err(|_| invalid_json())?;
    Ok(Body {
        json: Some(json),
        files: Vec::new(),
    })
}

fn bucket_hash(text: &str) -> String {
    // FNV-1a: stable bucket ids without another dependency.
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

fn now_secs() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

async fn discord(
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
            match rate_limited(&state, &route, route_name.as_deref().unwrap_or_default()) {
                Some(answer) => answer,
                None => {
                    let mut answer = match parsed {
                        Ok(body) => serve(&state, &method, &route, body),
                        Err(answer) => answer,
                    };
                    let reset_after = 1.0;
                    answer.headers.extend([
                        ("x-ratelimit-limit", "5".to_owned()),
                        ("x-ratelimit-remaining", "4".to_owned()),
                        (
                            "x-ratelimit-reset",
                            format!("{:.3}", now_secs() + reset_after),
                        ),
                        ("x-ratelimit-reset-after", format!("{reset_after:.3}")),
                        (
                            "x-ratelimit-bucket",
                            bucket_hash(&format!("{}:{}", route.template(), route.major())),
                        ),
                    ]);
                    answer
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

fn respond(answer: Answer) -> Response {
    let mut response = match answer.body {
        Some(body) => (answer.status, axum::Json(body)).into_response(),
        None => answer.status.into_response(),
    };
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn rate_limited(state: &RestState, route: &Route, route_name: &str) -> Option<Answer> {
    let mut inner = state.lock();
    let index = inner
        .rate_limits
        .iter()
        .position(|rule| match &rule.scope {
            RateLimitScope::Global => route.bot_auth(),
            RateLimitScope::Route(name) => name == route_name,
        })?;
    let rule = inner.rate_limits[index].clone();
    if let Some(count) = &mut inner.rate_limits[index].count {
        *count = count.saturating_sub(1);
        if *count == 0 {
            inner.rate_limits.remove(index);
        }
    }
    let global = rule.scope == RateLimitScope::Global;
    let mut answer = Answer::json(
        StatusCode::TOO_MANY_REQUESTS,
        json!({"message": "You are being rate limited.", "retry_after": rule.retry_after, "global": global}),
    );
    answer.headers.extend([
        ("retry-after", format!("{}", rule.retry_after.ceil() as u64)),
        (
            "x-ratelimit-scope",
            if global { "global" } else { "user" }.to_owned(),
        ),
    ]);
    if global {
        answer
            .headers
            .push(("x-ratelimit-global", "true".to_owned()));
    } else {
        answer.headers.extend([
            ("x-ratelimit-limit", "5".to_owned()),
            ("x-ratelimit-remaining", "0".to_owned()),
            (
                "x-ratelimit-reset",
                format!("{:.3}", now_secs() + rule.retry_after),
            ),
            (
                "x-ratelimit-reset-after",
                format!("{:.3}", rule.retry_after),
            ),
            (
                "x-ratelimit-bucket",
                bucket_hash(&format!("{}:{}", route.template(), route.major())),
            ),
        ]);
    }
    Some(answer)
}

fn serve(state: &RestState, method: &Method, route: &Route, body: Body) -> Answer {
    match route {
        Route::Gateway => Answer::json(StatusCode::OK, json!({"url": gateway_url(state)})),
        Route::GatewayBot => Answer::json(
            StatusCode::OK,
            json!({
                "url": gateway_url(state),
                "shards": state.config.recommended_shards,
                "session_start_limit": session_start_limit(state),
            }),
        ),
        Route::ChannelMessages { channel_id } => {
            routes::create_message(state, &body, channel_id, None).map_or_else(
                |answer| answer,
                |stored| Answer::json(StatusCode::OK, stored.message),
            )
        }
        Route::InteractionCallback {
            interaction_id,
            token,
        } => routes::callback(state, interaction_id, token, body),
        Route::Webhook {
            application_id,
            token,
        } => routes::followup(state, application_id, token, body),
        Route::Original {
            application_id,
            token,
        } => routes::original(state, method, application_id, token, body),
        Route::Commands {
            application_id,
            guild_id,
        } => routes::commands(state, method, application_id, guild_id.as_deref(), body),
    }
}

/// Discord allows 1000 IDENTIFYs a day; each one so far counts.
fn session_start_limit(state: &RestState) -> Value {
    let (used, max_concurrency) = state
        .gateway
        .as_ref()
        .map_or((0, 1), |g| (g.identify_count(), g.max_concurrency()));
    json!({
        "total": 1000,
        "remaining": 1000u64.saturating_sub(used),
        "reset_after": 86_400_000,
        "max_concurrency": max_concurrency,
    })
}

fn gateway_url(state: &RestState) -> String {
    state
        .gateway
        .as_ref()
        .map_or_else(String::new, |g| g.url().to_owned())
}
