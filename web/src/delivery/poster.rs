//! Create and edit channel messages as the bot, with Discord's rate limits,
//! retries of transient failures, and `nonce` + `enforce_nonce` (which
//! twilight's request builder lacks) so a re-sent create returns the first
//! message instead of posting a second one.
//!
//! Logs name the route template and the status, never the token or a URL.

use std::time::Duration;

use serde_json::{Value, json};
use shared::Snowflake;
use shared::config::Secret;
use shared::db::outbox::OutboxFile;

use super::bucket::{Observed, RateLimiter, Route};
use crate::discord::{Attachment, message_body};

/// Requests of one call before it gives up on 429s and 5xx (the outbox
/// then retries the item later).
const MAX_TRIES: u32 = 5;
/// The longest single wait a call sleeps through; longer 429s are left to
/// the outbox's next attempt.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(30);
/// First backoff after a 5xx or a network error, doubled each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Why a message was not posted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PostError {
    /// Worth trying again later (5xx, network, long 429).
    #[error("{0}")]
    Transient(String),
    /// Never worth retrying as it is.
    #[error("Discord answered {status} (code {code}): {message}")]
    Permanent {
        status: u16,
        /// Discord's JSON error code, or the status when the body had none.
        code: i32,
        message: String,
    },
    /// Not sent: the channel answered 403/404 to this process moments ago
    /// (see [`PostError::channel_unusable`]), and that is already recorded.
    #[error("the channel refused a message moments ago; not sent")]
    ChannelRecentlyRefused,
}

impl PostError {
    /// 403 Missing Access / Missing Permissions and 404 Unknown Channel:
    /// the channel itself cannot be posted in, so nothing else for it
    /// should be tried (Discord bans IPs that keep making such requests).
    pub fn channel_unusable(&self) -> bool {
        matches!(
            self,
            Self::Permanent {
                status: 403,
                code: 50001 | 50013,
                ..
            } | Self::Permanent {
                status: 404,
                code: 10003,
                ..
            }
        )
    }
}

/// Posts channel messages as the bot.
#[derive(Clone)]
pub struct Poster {
    pub(super) http: reqwest::Client,
    pub(super) api_url: String,
    pub(super) token: Secret,
    pub(super) limiter: RateLimiter,
}

impl std::fmt::Debug for Poster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poster")
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl Poster {
    /// A poster for the Discord API at `api_url` (e.g.
    /// `https://discord.com/api/v10`, or a simulator's).
    pub fn new(api_url: &str, token: Secret) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .user_agent("DiscordBot (https://github.com/serverpulse, 0.1) serverpulse-web")
                .build()
                .expect("a reqwest client with rustls builds"),
            api_url: api_url.trim_end_matches('/').to_owned(),
            token,
            limiter: RateLimiter::default(),
        }
    }

    /// `POST /channels/{channel}/messages` with `nonce` and `enforce_nonce`;
    /// returns the message's id (the earlier message's, when Discord saw
    /// the nonce before).
    pub async fn create_message(
        &self,
        channel: Snowflake,
        payload: &Value,
        files: &[OutboxFile],
        nonce: &str,
    ) -> Result<Snowflake, PostError> {
        debug_assert!(
            nonce.len() <= 25,
            "Discord's nonces are at most 25 characters"
        );
        let mut body = payload.clone();
        body["nonce"] = json!(nonce);
        body["enforce_nonce"] = json!(true);
        let url = format!("{}/channels/{channel}/messages", self.api_url);
        self.send(Route::CreateMessage, channel, &body, files, |http| {
            http.post(&url)
        })
        .await
    }

    /// `PATCH /channels/{channel}/messages/{message}`: replaces the
    /// message's content, embeds and files.
    pub async fn edit_message(
        &self,
        channel: Snowflake,
        message: Snowflake,
        payload: &Value,
        files: &[OutboxFile],
    ) -> Result<Snowflake, PostError> {
        let url = format!("{}/channels/{channel}/messages/{message}", self.api_url);
        self.send(Route::EditMessage, channel, payload, files, |http| {
            http.patch(&url)
        })
        .await
    }

    async fn send(
        &self,
        route: Route,
        channel: Snowflake,
        payload: &Value,
        files: &[OutboxFile],
        method: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Snowflake, PostError> {
        let lock = self.limiter.channel_lock(channel);
        let _sending = lock.lock().await;
        if self.limiter.recently_refused(channel) {
            return Err(PostError::ChannelRecentlyRefused);
        }
        let authorization = format!("Bot {}", self.token.expose());
        // Converted once: every retry shares the same bytes.
        let files: Vec<Attachment> = files
            .iter()
            .map(|f| Attachment {
                filename: f.filename.clone(),
                bytes: f.bytes.clone().into(),
            })
            .collect();
        let mut backoff = FIRST_BACKOFF;
        let mut last_error = String::new();
        for _ in 0..MAX_TRIES {
            let wait = self.limiter.wait_before(route, channel);
            if wait > MAX_INLINE_WAIT {
                return Err(PostError::Transient(format!(
                    "rate limited for {:.1} s",
                    wait.as_secs_f64()
                )));
            }
            self.limiter.acquire(route, channel).await;
            self.limiter.sent();
            let request = message_body(
                method(&self.http).header(reqwest::header::AUTHORIZATION, &authorization),
                payload,
                &files,
            );
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => {
                    last_error = unreached(&error);
                    tracing::warn!(route = route.template(), error = %last_error, "posting failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    continue;
                }
            };
            let status = response.status();
            self.limiter
                .observe(route, channel, &Observed::from_headers(response.headers()));
            let global_header = global_header(response.headers());
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                return message_id(&body).ok_or_else(|| {
                    PostError::Transient("Discord's answer had no message id".to_owned())
                });
            }
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                let (retry_after, global) = rate_limited(global_header, &body);
                tracing::warn!(
                    route = route.template(),
                    ?retry_after,
                    global,
                    "rate limited by Discord"
                );
                metrics::counter!("serverpulse_delivery_rate_limited_total").increment(1);
                self.limiter.limited(route, channel, retry_after, global);
                last_error = format!("429 for {:.1} s", retry_after.as_secs_f64());
                continue;
            }
            if status.is_server_error() {
                tracing::warn!(
                    route = route.template(),
                    status = status.as_u16(),
                    "Discord failed; retrying"
                );
                last_error = format!("Discord answered {}", status.as_u16());
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                continue;
            }
            let (code, message) = refusal(status, &body);
            tracing::warn!(route = route.template(), status = status.as_u16(), code, %message, "Discord refused the message");
            let error = PostError::Permanent {
                status: status.as_u16(),
                code,
                message,
            };
            if error.channel_unusable() {
                self.limiter.refused(channel);
            }
            return Err(error);
        }
        Err(PostError::Transient(last_error))
    }
}

/// Why a request did not reach Discord: only the kind, since reqwest's
/// errors can carry the URL.
pub(super) fn unreached(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "request timed out".to_owned()
    } else {
        "request failed to reach Discord".to_owned()
    }
}

/// Whether Discord marked an answer's rate limit global
/// (`X-RateLimit-Global: true`).
pub(super) fn global_header(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get("x-ratelimit-global")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
}

/// A 429's wait (`retry_after`, 1 s when missing or malformed) and whether
/// it holds for every request (the header or the body says global).
pub(super) fn rate_limited(global_header: bool, body: &Value) -> (Duration, bool) {
    let retry_after = body
        .get("retry_after")
        .and_then(Value::as_f64)
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(1), Duration::from_secs_f64);
    let global = global_header || body.get("global").and_then(Value::as_bool) == Some(true);
    (retry_after, global)
}

/// An error answer's JSON code (the HTTP status when it has none) and its
/// message, cut to 300 characters.
pub(super) fn refusal(status: reqwest::StatusCode, body: &Value) -> (i32, String) {
    let code = body
        .get("code")
        .and_then(Value::as_i64)
        .and_then(|c| i32::try_from(c).ok())
        .unwrap_or(i32::from(status.as_u16()));
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    (code, message)
}

fn message_id(body: &Value) -> Option<Snowflake> {
    body.get("id")?.as_str()?.parse().ok()
}
