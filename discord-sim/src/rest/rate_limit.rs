//! Rate limits: buckets, forced 429s and the headers Discord sends.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::RestState;
use super::body::Answer;
use super::route::Route;

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

pub(super) fn bucket_hash(text: &str) -> String {
    // FNV-1a: stable bucket ids without another dependency.
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

pub(super) fn now_secs() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

pub(super) fn rate_limited(state: &RestState, route: &Route, route_name: &str) -> Option<Answer> {
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
