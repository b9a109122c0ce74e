//! The rate limit per session: a token bucket in memory, per replica.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Requests a session may make at once.
pub const BURST: f64 = 60.0;
/// Requests a session earns back per second.
pub const PER_SECOND: f64 = 2.0;
/// Sessions tracked at most; past it, full buckets are forgotten first.
const TRACKED: usize = 10_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets keyed by session hash.
pub struct RateLimiter {
    buckets: Mutex<HashMap<[u8; 32], Bucket>>,
    burst: f64,
    per_second: f64,
}

impl RateLimiter {
    pub fn new(burst: f64, per_second: f64) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            burst,
            per_second,
        }
    }

    /// Takes one token for `session`; false when the bucket is empty.
    pub fn allow(&self, session: &[u8; 32], now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= TRACKED && !buckets.contains_key(session) {
            let (burst, rate) = (self.burst, self.per_second);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
            if buckets.len() >= TRACKED {
                return false;
            }
        }
        let bucket = buckets.entry(*session).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let earned = now.saturating_duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + earned).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(BURST, PER_SECOND)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_session_gets_its_burst_then_earns_requests_back() {
        let limiter = RateLimiter::new(3.0, 1.0);
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let t = Instant::now();
        assert!((0..3).all(|_| limiter.allow(&a, t)));
        assert!(!limiter.allow(&a, t));
        // Another session has its own bucket.
        assert!(limiter.allow(&b, t));
        assert!(limiter.allow(&a, t + Duration::from_secs(1)));
        assert!(!limiter.allow(&a, t + Duration::from_secs(1)));
    }
}
