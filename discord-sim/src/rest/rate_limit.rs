//! Rate limits: the per-channel message bucket, forced answers (429s and
//! server errors) injected by tests, and the headers Discord sends.

use std::collections::HashMap;
use std::time::{Duration, Instant};

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
    /// One route, as `METHOD /template` (see [`super::RecordedRequest::route`]).
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

/// How many requests a bucket lets through per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketLimit {
    pub limit: u32,
    pub per: Duration,
}

impl BucketLimit {
    /// Creating messages, as observed on Discord: 5 per 5 seconds per channel.
    pub const CHANNEL_MESSAGES: Self = Self {
        limit: 5,
        per: Duration::from_secs(5),
    };
    /// Reading a channel's history (`GET /channels/{id}/messages`): a
    /// bucket of its own per channel, 5 per 5 seconds like creating.
    pub const CHANNEL_HISTORY: Self = Self {
        limit: 5,
        per: Duration::from_secs(5),
    };
    /// Discord's global limit: 50 requests per second over every bot route
    /// (interaction routes are exempt).
    pub const GLOBAL: Self = Self {
        limit: 50,
        per: Duration::from_secs(1),
    };
}

/// What a forced answer is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ForcedAnswer {
    /// 429 with this `retry_after` (seconds); `global` as Discord's global limit.
    RateLimited {
        retry_after: f64,
        #[serde(default)]
        global: bool,
    },
    /// A server error such as 500 or 502, body `{"code": 0, "message": "500: ..."}`.
    ServerError { status: u16 },
}

/// The next `count` answers of matching requests are forced, before the
/// bucket counts them and before the route runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestFault {
    /// `METHOD /template` (see [`super::RecordedRequest::route`]); `None`:
    /// every bot route (interaction routes are left alone).
    #[serde(default)]
    pub route: Option<String>,
    /// Only requests to this channel (the route's `{channel_id}`); a JSON
    /// number or, as Discord writes ids, a string.
    #[serde(default, deserialize_with = "optional_id")]
    pub channel_id: Option<u64>,
    pub answer: ForcedAnswer,
    pub count: u32,
}

impl RestFault {
    /// `count` answers 429 on `route` (any channel unless narrowed with [`Self::in_channel`]).
    pub fn rate_limited(route: &str, retry_after: f64, count: u32) -> Self {
        Self {
            route: Some(route.to_owned()),
            channel_id: None,
            answer: ForcedAnswer::RateLimited {
                retry_after,
                global: false,
            },
            count,
        }
    }

    /// `count` answers with a server error status on `route`.
    pub fn server_error(route: &str, status: u16, count: u32) -> Self {
        Self {
            route: Some(route.to_owned()),
            channel_id: None,
            answer: ForcedAnswer::ServerError { status },
            count,
        }
    }

    pub fn in_channel(mut self, channel_id: u64) -> Self {
        self.channel_id = Some(channel_id);
        self
    }

    fn matches(&self, route: &Route, route_name: &str) -> bool {
        let route_matches = match &self.route {
            Some(name) => name == route_name,
            None => route.bot_auth(),
        };
        let channel_matches = self.channel_id.is_none_or(|wanted| {
            route
                .message_channel()
                .is_some_and(|channel| channel == wanted.to_string())
        });
        route_matches && channel_matches
    }
}

fn optional_id<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u64),
        Text(String),
    }
    match Option::<Id>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Id::Number(id)) => Ok(Some(id)),
        Some(Id::Text(text)) => text.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// One channel's window of its message bucket.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    started: Instant,
    used: u32,
}

/// Message buckets by channel id (as written in the path).
pub(super) type Buckets = HashMap<String, Window>;

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

type Headers = Vec<(&'static str, String)>;

fn bucket_headers(route: &Route, limit: u32, remaining: u32, reset_after: f64) -> Headers {
    vec![
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        (
            "x-ratelimit-reset",
            format!("{:.3}", now_secs() + reset_after),
        ),
        ("x-ratelimit-reset-after", format!("{reset_after:.3}")),
        ("x-ratelimit-bucket", bucket_hash(route.bucket())),
    ]
}

/// Headers of routes without a modelled bucket: a constant, roomy bucket.
pub(super) fn static_headers(route: &Route) -> Headers {
    bucket_headers(route, 5, 4, 1.0)
}

fn too_many(route: &Route, retry_after: f64, global: bool, limit: u32) -> Answer {
    let mut answer = Answer::json(
        StatusCode::TOO_MANY_REQUESTS,
        json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": global}),
    );
    answer.headers.extend([
        ("retry-after", format!("{}", retry_after.ceil() as u64)),
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
        answer
            .headers
            .extend(bucket_headers(route, limit, 0, retry_after));
    }
    answer
}

/// A forced answer for this request, if a fault or a rule says so.
pub(super) fn forced(state: &RestState, route: &Route, route_name: &str) -> Option<Answer> {
    let limit = state
        .config
        .message_bucket
        .filter(|_| route.message_channel().is_some())
        .map_or(5, |b| b.limit);
    let mut inner = state.lock();
    if let Some(index) = inner
        .faults
        .iter()
        .position(|f| f.matches(route, route_name))
    {
        let fault = inner.faults[index].clone();
        inner.faults[index].count = fault.count.saturating_sub(1);
        if inner.faults[index].count == 0 {
            inner.faults.remove(index);
        }
        return Some(match fault.answer {
            ForcedAnswer::RateLimited {
                retry_after,
                global,
            } => too_many(route, retry_after, global, limit),
            ForcedAnswer::ServerError { status } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let message = format!(
                    "{}: {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("Server Error")
                );
                Answer::json(status, json!({"code": 0, "message": message}))
            }
        });
    }
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
    Some(too_many(route, rule.retry_after, global, limit))
}

/// Counts a bot request against the global limit: a global 429 once the
/// second's requests are used up (interaction routes are not counted).
pub(super) fn take_global(state: &RestState, route: &Route) -> Result<(), Answer> {
    let Some(limit) = state.config.global_limit.filter(|_| route.bot_auth()) else {
        return Ok(());
    };
    let now = Instant::now();
    let mut inner = state.lock();
    let window = inner
        .buckets
        .entry("\u{0}global".to_owned())
        .or_insert(Window {
            started: now,
            used: 0,
        });
    if now.duration_since(window.started) >= limit.per {
        *window = Window {
            started: now,
            used: 0,
        };
    }
    if window.used >= limit.limit {
        let left = limit.per.saturating_sub(now.duration_since(window.started));
        let retry_after = (left.as_secs_f64() * 1000.0).ceil() / 1000.0;
        return Err(too_many(route, retry_after, true, limit.limit));
    }
    window.used += 1;
    Ok(())
}

/// Counts a history read against its channel's history bucket.
pub(super) fn take_history_bucket(
    state: &RestState,
    route: &Route,
    channel: &str,
) -> Result<Headers, Answer> {
    take_bucket(
        state,
        route,
        state.config.history_bucket,
        &format!("GET {channel}"),
        "GET /channels/{channel_id}/messages",
    )
}

/// Counts the request against its channel's message bucket: the bucket's
/// headers, or a 429 once the window is used up.
pub(super) fn take_message_bucket(
    state: &RestState,
    route: &Route,
    channel: &str,
) -> Result<Headers, Answer> {
    take_bucket(
        state,
        route,
        state.config.message_bucket,
        channel,
        route.bucket(),
    )
}

fn take_bucket(
    state: &RestState,
    route: &Route,
    bucket: Option<BucketLimit>,
    key: &str,
    hashed: &str,
) -> Result<Headers, Answer> {
    let Some(bucket) = bucket else {
        return Ok(static_headers(route));
    };
    let now = Instant::now();
    let mut inner = state.lock();
    let window = inner.buckets.entry(key.to_owned()).or_insert(Window {
        started: now,
        used: 0,
    });
    if now.duration_since(window.started) >= bucket.per {
        *window = Window {
            started: now,
            used: 0,
        };
    }
    // Discord sends seconds with millisecond precision, rounded up.
    let left = bucket
        .per
        .saturating_sub(now.duration_since(window.started));
    let reset_after = (left.as_secs_f64() * 1000.0).ceil() / 1000.0;
    if window.used >= bucket.limit {
        let mut answer = too_many(route, reset_after, false, bucket.limit);
        answer
            .headers
            .retain(|(name, _)| *name != "x-ratelimit-bucket");
        answer
            .headers
            .push(("x-ratelimit-bucket", bucket_hash(hashed)));
        return Err(answer);
    }
    window.used += 1;
    let mut headers = bucket_headers(route, bucket.limit, bucket.limit - window.used, reset_after);
    headers.retain(|(name, _)| *name != "x-ratelimit-bucket");
    headers.push(("x-ratelimit-bucket", bucket_hash(hashed)));
    Ok(headers)
}
