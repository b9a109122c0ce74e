//! Finished report answers, cached per process, so a burst of the same
//! report costs one set of queries.
//!
//! An answer is kept under everything that decides it: the guild, its data
//! version ([`shared::db::data_version`], which the ingester's flush and
//! every settings, privacy, retention and access write renew), the request
//! (view with its page, member or channel, and timeframe), the hour the
//! period ends in, and whether the member asking sees private channels.
//! The version is read before the answer is computed, so an answer is
//! never older than the last flush committed when it was asked for; the
//! next flush gives the guild a new version and the next request a new
//! answer. Access rules are checked on every request before the cache.
//!
//! Concurrent requests for one key wait for the first one's answer instead
//! of computing their own. At most [`ENTRIES`] answers and [`BYTES`] of
//! them are kept; the least recently used goes first.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use shared::Snowflake;
use shared::db::data_version;
use tokio::sync::OnceCell;

use crate::context::Ctx;
use crate::error::Outcome;
use crate::reply::Message;
use crate::view::{MembersCategory, Request, View};

/// Answers kept per process, at most.
pub const ENTRIES: usize = 512;
/// Bytes of answers kept per process, at most (text and files; a chart
/// answer holds a PNG of up to about 200 KB).
pub const BYTES: usize = 32 * 1024 * 1024;

/// Everything an answer depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnswerKey {
    pub guild: Snowflake,
    pub data_version: i64,
    pub request: Request,
    /// The end of the quarter hour of "now": a preset timeframe ends at the
    /// guild's bucket edge, which is the same all through a quarter hour.
    pub period_end: DateTime<Utc>,
    /// Manage Server or Administrator: private channels are shown.
    pub sees_private: bool,
}

/// How the cache answered so far (also exported as the metric
/// `serverpulse_web_answer_cache_total{outcome}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnswerStats {
    /// Answered from the cache, or by waiting for an identical request.
    pub hits: u64,
    /// Computed (its queries ran).
    pub misses: u64,
    /// Not cacheable (see [`report`]); computed.
    pub bypassed: u64,
}

type Slot = Arc<OnceCell<Message>>;

/// A kept (or coming) answer: its cell, when it was last used, and its
/// size once computed.
struct Entry {
    slot: Slot,
    used: u64,
    bytes: usize,
}

#[derive(Default)]
struct Slots {
    by_key: HashMap<AnswerKey, Entry>,
    by_use: BTreeMap<u64, AnswerKey>,
    clock: u64,
    bytes: usize,
}

impl Slots {
    /// The slot of `key`, made the most recently used; a new one (after
    /// evicting the least recently used) when there is none.
    fn slot(&mut self, key: AnswerKey, capacity: usize) -> Slot {
        self.clock += 1;
        let now = self.clock;
        if let Some(entry) = self.by_key.get_mut(&key) {
            self.by_use.remove(&entry.used);
            entry.used = now;
            self.by_use.insert(now, key);
            return entry.slot.clone();
        }
        while self.by_key.len() >= capacity && self.evict_oldest() {}
        let slot = Slot::default();
        let entry = Entry {
            slot: slot.clone(),
            used: now,
            bytes: 0,
        };
        self.by_key.insert(key, entry);
        self.by_use.insert(now, key);
        slot
    }

    /// Records the size of `key`'s computed answer, then evicts the least
    /// recently used others while the total is over `limit`.
    fn weigh(&mut self, key: AnswerKey, bytes: usize, limit: usize) {
        if let Some(entry) = self.by_key.get_mut(&key) {
            self.bytes = self.bytes - entry.bytes + bytes;
            entry.bytes = bytes;
        }
        while self.bytes > limit {
            let Some((&used, &oldest)) = self.by_use.first_key_value() else {
                break;
            };
            if oldest == key {
                // The newest answer alone is over the limit: kept until
                // the next one pushes it out.
                break;
            }
            self.by_use.remove(&used);
            self.remove(&oldest);
        }
    }

    fn evict_oldest(&mut self) -> bool {
        match self.by_use.pop_first() {
            Some((_, oldest)) => {
                self.remove(&oldest);
                true
            }
            None => false,
        }
    }

    fn remove(&mut self, key: &AnswerKey) {
        if let Some(entry) = self.by_key.remove(key) {
            self.bytes -= entry.bytes;
        }
    }
}

/// About how many bytes an answer holds.
fn size_of(message: &Message) -> usize {
    let files: usize = message.files.iter().map(|f| f.bytes.len()).sum();
    let text: usize = message
        .embeds
        .iter()
        .map(|e| format!("{e:?}").len())
        .sum::<usize>()
        + message.content.as_ref().map_or(0, String::len)
        + message
            .components
            .iter()
            .map(|c| c.to_string().len())
            .sum::<usize>();
    files + text
}

/// The per-process cache of finished answers.
pub struct AnswerCache {
    capacity: usize,
    max_bytes: usize,
    slots: Mutex<Slots>,
    hits: AtomicU64,
    misses: AtomicU64,
    bypassed: AtomicU64,
}

impl Default for AnswerCache {
    fn default() -> Self {
        Self::new(ENTRIES, BYTES)
    }
}

impl AnswerCache {
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            capacity,
            max_bytes,
            slots: Mutex::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            bypassed: AtomicU64::new(0),
        }
    }

    /// A cache that keeps nothing and coalesces nothing: every request is
    /// computed (the benchmark's per-command latencies measure the queries).
    pub fn off() -> Self {
        Self::new(0, 0)
    }

    pub fn stats(&self) -> AnswerStats {
        AnswerStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bypassed: self.bypassed.load(Ordering::Relaxed),
        }
    }

    /// Answers kept now.
    pub fn len(&self) -> usize {
        self.lock().by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer of `key`: the kept one, the one an identical request is
    /// computing (waited for), or `compute`'s. A failure is not kept: the
    /// next request computes again.
    pub async fn get_or_compute<F>(&self, key: AnswerKey, compute: F) -> Outcome<Message>
    where
        F: Future<Output = Outcome<Message>>,
    {
        if self.capacity == 0 {
            self.bypass(key.guild, key.request);
            return compute.await;
        }
        let slot = self.lock().slot(key, self.capacity);
        let mut computed = false;
        let answer = slot
            .get_or_try_init(|| {
                computed = true;
                compute
            })
            .await
            .cloned();
        let outcome = if computed {
            self.misses.fetch_add(1, Ordering::Relaxed);
            if let Ok(message) = &answer {
                self.lock().weigh(key, size_of(message), self.max_bytes);
            }
            "miss"
        } else {
            self.hits.fetch_add(1, Ordering::Relaxed);
            "hit"
        };
        record(outcome, key.guild, key.request);
        answer
    }

    fn bypass(&self, guild: Snowflake, request: Request) {
        self.bypassed.fetch_add(1, Ordering::Relaxed);
        record("bypass", guild, request);
    }
}

fn record(outcome: &'static str, guild: Snowflake, request: Request) {
    metrics::counter!("serverpulse_web_answer_cache_total", "outcome" => outcome).increment(1);
    tracing::debug!(%guild, view = %request.view.encode(), outcome, "answer cache");
}

/// Views whose answer moves with the clock inside an hour, not only with
/// the data: retention counts who was a member 7 and 30 days before now.
fn follows_the_clock(view: View) -> bool {
    view == View::Members(MembersCategory::Retention)
}

/// The end of the quarter hour holding `t` (`t` itself on an edge). Every
/// guild's buckets start on a quarter hour (timezone offsets are whole
/// quarter hours: +5:45, +12:45), so within one quarter hour a preset
/// period ends at the same bucket edge and the cached answer stays right.
fn quarter_hour_end(t: DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp();
    let end = secs.div_euclid(900) * 900
        + if secs.rem_euclid(900) == 0 && t.timestamp_subsec_nanos() == 0 {
            0
        } else {
            900
        };
    DateTime::from_timestamp(end, 0).unwrap_or(t)
}

/// The report of `request` for the member of `ctx` (access already
/// checked), from the cache when it has it for the guild's current data
/// version. A guild without a version yet, and views that follow the
/// clock, are computed every time.
pub async fn report(ctx: &Ctx, request: Request) -> Outcome<Message> {
    let cache = &ctx.state.answers;
    let version = if follows_the_clock(request.view) {
        None
    } else {
        data_version::current(&ctx.state.pool, ctx.guild_id).await?
    };
    let Some(data_version) = version else {
        cache.bypass(ctx.guild_id, request);
        return crate::report::render(ctx, request).await;
    };
    let key = AnswerKey {
        guild: ctx.guild_id,
        data_version,
        request,
        period_end: quarter_hour_end(ctx.now),
        sees_private: ctx.is_admin(),
    };
    cache
        .get_or_compute(key, crate::report::render(ctx, request))
        .await
}

#[cfg(test)]
mod tests {
    use shared::time::Timeframe;

    use super::*;
    use crate::error::Failure;

    fn key(version: i64) -> AnswerKey {
        AnswerKey {
            guild: Snowflake(1),
            data_version: version,
            request: Request {
                view: View::Overview,
                timeframe: Timeframe::Last7Days,
            },
            period_end: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            sees_private: false,
        }
    }

    fn answer(text: &str) -> Message {
        Message::notice(text)
    }

    #[tokio::test]
    async fn the_least_recently_used_answer_goes_first() {
        let cache = AnswerCache::new(2, BYTES);
        for v in [1, 2] {
            cache
                .get_or_compute(key(v), async move { Ok(answer(&v.to_string())) })
                .await
                .unwrap();
        }
        // 1 is used again, so 2 is the one evicted by 3.
        cache
            .get_or_compute(key(1), async { Ok(answer("again")) })
            .await
            .unwrap();
        cache
            .get_or_compute(key(3), async { Ok(answer("3")) })
            .await
            .unwrap();
        assert_eq!(cache.len(), 2);
        let kept = cache
            .get_or_compute(key(1), async { Ok(answer("recomputed")) })
            .await
            .unwrap();
        assert_eq!(kept.content.as_deref(), Some("1"));
        let evicted = cache
            .get_or_compute(key(2), async { Ok(answer("recomputed")) })
            .await
            .unwrap();
        assert_eq!(evicted.content.as_deref(), Some("recomputed"));
        assert_eq!(
            cache.stats(),
            AnswerStats {
                hits: 2,
                misses: 4,
                bypassed: 0
            }
        );
    }

    #[tokio::test]
    async fn answers_over_the_byte_limit_push_out_the_oldest() {
        let big = || Message {
            content: Some("x".repeat(400)),
            ..Message::default()
        };
        let cache = AnswerCache::new(10, 1000);
        for v in [1, 2, 3] {
            cache
                .get_or_compute(key(v), async { Ok(big()) })
                .await
                .unwrap();
        }
        assert_eq!(cache.len(), 2, "1 went when 3 came");
        cache
            .get_or_compute(key(2), async { Ok(answer("recomputed")) })
            .await
            .unwrap();
        assert_eq!(cache.stats().hits, 1, "2 was kept");
    }

    #[tokio::test]
    async fn identical_requests_in_flight_wait_for_one_computation() {
        let cache = AnswerCache::new(4, BYTES);
        let computed = AtomicU64::new(0);
        let request = || async {
            computed.fetch_add(1, Ordering::Relaxed);
            // Still computing when the others ask.
            tokio::task::yield_now().await;
            Ok(answer("once"))
        };
        let answers =
            futures_util::future::join_all((0..8).map(|_| cache.get_or_compute(key(1), request())))
                .await;
        assert_eq!(computed.load(Ordering::Relaxed), 1);
        assert!(
            answers
                .iter()
                .all(|a| a.as_ref().unwrap().content.as_deref() == Some("once"))
        );
        assert_eq!((cache.stats().hits, cache.stats().misses), (7, 1));
    }

    #[tokio::test]
    async fn a_failure_is_not_kept() {
        let cache = AnswerCache::new(4, BYTES);
        let failed = cache
            .get_or_compute(key(1), async { Err(Failure::user("no data yet")) })
            .await;
        assert!(failed.is_err());
        let second = cache
            .get_or_compute(key(1), async { Ok(answer("now")) })
            .await
            .unwrap();
        assert_eq!(second.content.as_deref(), Some("now"));
        assert_eq!(cache.stats().misses, 2);
    }
}
