//! Discord's rate limits as the responses describe them: never hard-coded.
//! Each response names its bucket (`X-RateLimit-Bucket`) and how many
//! requests remain before `X-RateLimit-Reset-After`; a bucket is keyed by
//! that hash plus the channel (the top-level resource), and a route is
//! mapped to its bucket once a response has named it. A 429 closes its
//! bucket (or, when global, every request) for `retry_after`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderMap;
use shared::Snowflake;
use tokio::time::Instant;

/// The routes the poster calls (the bucket of a route is learned from its
/// responses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST /channels/{channel}/messages`
    CreateMessage,
    /// `PATCH /channels/{channel}/messages/{message}`
    EditMessage,
    /// `GET /channels/{channel}/messages` (history, for backfills)
    ChannelHistory,
    /// `GET /channels/{channel}/threads/archived/public`
    ArchivedThreads,
    /// `GET /channels/{channel}/threads/archived/private` (needs Manage Threads)
    PrivateArchivedThreads,
    /// `GET /channels/{channel}/users/@me/threads/archived/private`
    JoinedPrivateArchivedThreads,
    /// `GET /guilds/{guild}/members` (keyed by the guild)
    GuildMembers,
    /// `GET /guilds/{guild}/channels` (keyed by the guild)
    GuildChannels,
    /// `GET /guilds/{guild}/threads/active` (keyed by the guild)
    ActiveThreads,
    /// `GET /guilds/{guild}/roles` (keyed by the guild)
    GuildRoles,
}

impl Route {
    /// The route with its ids left out, for logs and metrics.
    pub fn template(self) -> &'static str {
        match self {
            Self::CreateMessage => "POST /channels/{channel}/messages",
            Self::EditMessage => "PATCH /channels/{channel}/messages/{message}",
            Self::ChannelHistory => "GET /channels/{channel}/messages",
            Self::ArchivedThreads => "GET /channels/{channel}/threads/archived/public",
            Self::PrivateArchivedThreads => "GET /channels/{channel}/threads/archived/private",
            Self::JoinedPrivateArchivedThreads => {
                "GET /channels/{channel}/users/@me/threads/archived/private"
            }
            Self::GuildMembers => "GET /guilds/{guild}/members",
            Self::GuildChannels => "GET /guilds/{guild}/channels",
            Self::ActiveThreads => "GET /guilds/{guild}/threads/active",
            Self::GuildRoles => "GET /guilds/{guild}/roles",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct BucketState {
    remaining: u32,
    reset_at: Instant,
}

/// What the rate-limit headers of one response say.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub bucket: Option<String>,
    pub remaining: Option<u32>,
    pub reset_after: Option<Duration>,
}

impl Observed {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Self {
            bucket: text("x-ratelimit-bucket").map(str::to_owned),
            remaining: text("x-ratelimit-remaining").and_then(|v| v.parse().ok()),
            reset_after: text("x-ratelimit-reset-after")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64),
        }
    }
}

/// How long a channel that answered 403/404 is not sent to again by this
/// process (the outbox fails its items meanwhile; a new request after this
/// only happens for items enqueued later).
pub const REFUSAL_MEMORY: Duration = Duration::from_secs(10 * 60);

#[derive(Default)]
struct State {
    refused: HashMap<Snowflake, Instant>,
    route_buckets: HashMap<Route, String>,
    buckets: HashMap<(String, Snowflake), BucketState>,
    global_until: Option<Instant>,
    /// When this process's recent requests were sent (the last second's),
    /// against Discord's global limit.
    recent: std::collections::VecDeque<Instant>,
}

/// Discord's global limit: requests per second over every bot route.
pub const GLOBAL_PER_SECOND: usize = 50;
/// The share of it background reads (backfills) may use: the rest is kept
/// for posts (digests, alerts), which therefore never wait for a backfill.
pub const BACKGROUND_PER_SECOND: usize = 25;

/// The rate-limit state of one process, shared by its senders. Requests to
/// one channel are also serialized ([`RateLimiter::channel_lock`]), so two
/// senders never both spend the last request of a bucket.
#[derive(Clone, Default)]
pub struct RateLimiter {
    state: Arc<Mutex<State>>,
    channels: Arc<Mutex<HashMap<Snowflake, Arc<tokio::sync::Mutex<()>>>>>,
}

impl RateLimiter {
    /// The lock to hold while sending to `channel`.
    pub fn channel_lock(&self, channel: Snowflake) -> Arc<tokio::sync::Mutex<()>> {
        let mut channels = self.channels.lock().expect("rate limiter lock");
        channels.entry(channel).or_default().clone()
    }

    /// Remembers that `channel` cannot be posted in.
    pub fn refused(&self, channel: Snowflake) {
        let mut state = self.state.lock().expect("rate limiter lock");
        state
            .refused
            .insert(channel, Instant::now() + REFUSAL_MEMORY);
    }

    /// Whether `channel` refused a message within [`REFUSAL_MEMORY`].
    pub fn recently_refused(&self, channel: Snowflake) -> bool {
        let mut state = self.state.lock().expect("rate limiter lock");
        let now = Instant::now();
        state.refused.retain(|_, until| *until > now);
        state.refused.contains_key(&channel)
    }

    /// How long to wait before sending `route` to `channel` (zero: now).
    pub fn wait_before(&self, route: Route, channel: Snowflake) -> Duration {
        let state = self.state.lock().expect("rate limiter lock");
        let now = Instant::now();
        let global = state
            .global_until
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now));
        let bucket = state
            .route_buckets
            .get(&route)
            .and_then(|hash| state.buckets.get(&(hash.clone(), channel)))
            .filter(|b| b.remaining == 0)
            .map_or(Duration::ZERO, |b| {
                b.reset_at.saturating_duration_since(now)
            });
        global.max(bucket)
    }

    /// Records a request about to be sent (any route), for the global budget.
    pub fn sent(&self) {
        let mut state = self.state.lock().expect("rate limiter lock");
        let now = Instant::now();
        while state
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            state.recent.pop_front();
        }
        state.recent.push_back(now);
    }

    /// How long a background request waits for the global budget: while a
    /// global 429 holds, or while this process sent
    /// [`BACKGROUND_PER_SECOND`] or more requests within the last second.
    pub fn background_wait(&self) -> Duration {
        let state = self.state.lock().expect("rate limiter lock");
        let now = Instant::now();
        let global = state
            .global_until
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now));
        let recent: Vec<&Instant> = state
            .recent
            .iter()
            .filter(|t| now.duration_since(**t) < Duration::from_secs(1))
            .collect();
        let budget = if recent.len() >= BACKGROUND_PER_SECOND {
            let oldest = recent[recent.len() - BACKGROUND_PER_SECOND];
            (*oldest + Duration::from_secs(1)).saturating_duration_since(now)
        } else {
            Duration::ZERO
        };
        global.max(budget)
    }

    /// Sleeps until a background request of `route` to `resource` may go:
    /// its bucket is open and the global budget leaves room for posts.
    pub async fn acquire_background(&self, route: Route, resource: Snowflake) {
        loop {
            let wait = self
                .background_wait()
                .max(self.wait_before(route, resource));
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Sleeps until `route` may be sent to `channel`.
    pub async fn acquire(&self, route: Route, channel: Snowflake) {
        loop {
            let wait = self.wait_before(route, channel);
            if wait.is_zero() {
                return;
            }
            tracing::debug!(
                route = route.template(),
                ?wait,
                "waiting for the rate-limit bucket"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Records what a response's headers say.
    pub fn observe(&self, route: Route, channel: Snowflake, observed: &Observed) {
        let Some(hash) = &observed.bucket else {
            return;
        };
        let mut state = self.state.lock().expect("rate limiter lock");
        state.route_buckets.insert(route, hash.clone());
        if let (Some(remaining), Some(reset_after)) = (observed.remaining, observed.reset_after) {
            state.buckets.insert(
                (hash.clone(), channel),
                BucketState {
                    remaining,
                    reset_at: Instant::now() + reset_after,
                },
            );
        }
    }

    /// A 429: closes the route's bucket for the channel, or every route
    /// when `global`, for `retry_after`.
    pub fn limited(&self, route: Route, channel: Snowflake, retry_after: Duration, global: bool) {
        let mut state = self.state.lock().expect("rate limiter lock");
        let until = Instant::now() + retry_after;
        if global {
            state.global_until = Some(state.global_until.map_or(until, |u| u.max(until)));
            return;
        }
        let Some(hash) = state.route_buckets.get(&route).cloned() else {
            // No bucket named yet: hold the whole route back for this channel
            // under a placeholder bucket.
            let placeholder = format!("unnamed:{}", route.template());
            state.route_buckets.insert(route, placeholder.clone());
            state.buckets.insert(
                (placeholder, channel),
                BucketState {
                    remaining: 0,
                    reset_at: until,
                },
            );
            return;
        };
        state.buckets.insert(
            (hash, channel),
            BucketState {
                remaining: 0,
                reset_at: until,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(bucket: &str, remaining: &str, reset_after: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-bucket", HeaderValue::from_str(bucket).unwrap());
        h.insert(
            "x-ratelimit-remaining",
            HeaderValue::from_str(remaining).unwrap(),
        );
        h.insert(
            "x-ratelimit-reset-after",
            HeaderValue::from_str(reset_after).unwrap(),
        );
        h
    }

    fn closed_for_at_most(wait: Duration, limit: Duration) -> bool {
        !wait.is_zero() && wait <= limit
    }

    #[test]
    fn an_exhausted_bucket_blocks_its_channel_only_until_reset() {
        let limiter = RateLimiter::default();
        let (a, b) = (Snowflake(1), Snowflake(2));
        let observed = Observed::from_headers(&headers("abc", "0", "2.5"));
        assert_eq!(observed.reset_after, Some(Duration::from_millis(2500)));
        limiter.observe(Route::CreateMessage, a, &observed);
        let limit = Duration::from_millis(2500);
        assert!(closed_for_at_most(
            limiter.wait_before(Route::CreateMessage, a),
            limit
        ));
        assert_eq!(limiter.wait_before(Route::CreateMessage, b), Duration::ZERO);
        // Editing shares the bucket once a response says so.
        limiter.observe(
            Route::EditMessage,
            b,
            &Observed::from_headers(&headers("abc", "3", "1")),
        );
        assert!(closed_for_at_most(
            limiter.wait_before(Route::EditMessage, a),
            limit
        ));
        assert_eq!(limiter.wait_before(Route::EditMessage, b), Duration::ZERO);
        // A reset bucket (remaining restored) is open.
        limiter.observe(
            Route::CreateMessage,
            a,
            &Observed::from_headers(&headers("abc", "5", "5")),
        );
        assert_eq!(limiter.wait_before(Route::CreateMessage, a), Duration::ZERO);
    }

    #[test]
    fn a_global_429_holds_every_channel() {
        let limiter = RateLimiter::default();
        let three = Duration::from_secs(3);
        limiter.limited(Route::CreateMessage, Snowflake(1), three, true);
        let wait = limiter.wait_before(Route::EditMessage, Snowflake(9));
        assert!(closed_for_at_most(wait, three) && wait > Duration::from_secs(2));
        // A route without a named bucket is still held back by its own 429.
        let other = RateLimiter::default();
        other.limited(Route::CreateMessage, Snowflake(1), three, false);
        assert!(closed_for_at_most(
            other.wait_before(Route::CreateMessage, Snowflake(1)),
            three
        ));
        assert_eq!(
            other.wait_before(Route::CreateMessage, Snowflake(2)),
            Duration::ZERO
        );
    }
}
