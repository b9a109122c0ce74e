//! Reads from Discord for backfills (history, the guild's channels, active
//! and archived threads, the member list) through the poster's client and
//! rate limiter: the same per-route buckets learned from `X-RateLimit-*`
//! headers, the same 429 handling, and one global budget shared with the
//! posts, of which background reads take at most
//! [`super::bucket::BACKGROUND_PER_SECOND`] requests a second, so digests
//! and alerts keep priority.
//!
//! A 403 or 404 is returned as [`ReadError::Refused`] at once, never
//! retried: the caller records the channel as unreadable and moves on, so
//! no stream of invalid requests builds up (Discord bans an IP after
//! 10,000 401/403/429 answers in 10 minutes).

use std::time::Duration;

use serde_json::Value;
use shared::Snowflake;

use super::Poster;
use super::bucket::{Observed, Route};
use super::poster::{global_header, rate_limited, refusal, unreached};

/// Requests of one read before it gives up on 429s and 5xx.
const MAX_TRIES: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    /// The bot may not read this (403: no Read Message History, no Server
    /// Members intent) or it does not exist (404): do not ask again.
    #[error("Discord answered {status} (code {code}): {message}")]
    Refused {
        status: u16,
        code: i32,
        message: String,
    },
    /// Worth trying again later (5xx, network, repeated 429s).
    #[error("{0}")]
    Transient(String),
}

impl Poster {
    /// `GET {api}/{path}` as a background read of `route` on `resource`
    /// (the channel, or the guild for the member list).
    pub async fn read_json(
        &self,
        route: Route,
        resource: Snowflake,
        path: &str,
    ) -> Result<Value, ReadError> {
        let url = format!("{}/{path}", self.api_url);
        let authorization = format!("Bot {}", self.token.expose());
        let mut backoff = FIRST_BACKOFF;
        let mut last_error = String::new();
        for _ in 0..MAX_TRIES {
            self.limiter.acquire_background(route, resource).await;
            self.limiter.sent();
            let response = match self
                .http
                .get(&url)
                .header(reqwest::header::AUTHORIZATION, &authorization)
                .send()
                .await
            {
                Ok(response) => response,
                Err(error) => {
                    last_error = unreached(&error);
                    tracing::warn!(route = route.template(), error = %last_error, "reading failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    continue;
                }
            };
            let status = response.status();
            self.limiter
                .observe(route, resource, &Observed::from_headers(response.headers()));
            let global_header = global_header(response.headers());
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                return Ok(body);
            }
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                let (retry_after, global) = rate_limited(global_header, &body);
                tracing::warn!(
                    route = route.template(),
                    ?retry_after,
                    global,
                    "rate limited by Discord"
                );
                metrics::counter!("serverpulse_backfill_rate_limited_total").increment(1);
                self.limiter.limited(route, resource, retry_after, global);
                last_error = format!("429 for {:.1} s", retry_after.as_secs_f64());
                continue;
            }
            if status.is_server_error() {
                last_error = format!("Discord answered {}", status.as_u16());
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                continue;
            }
            let (code, message) = refusal(status, &body);
            if matches!(status.as_u16(), 403 | 404) {
                tracing::info!(route = route.template(), status = status.as_u16(), code, %message, "Discord refused a read");
                return Err(ReadError::Refused {
                    status: status.as_u16(),
                    code,
                    message,
                });
            }
            return Err(ReadError::Transient(format!(
                "Discord answered {} (code {code}): {message}",
                status.as_u16()
            )));
        }
        Err(ReadError::Transient(last_error))
    }
}
