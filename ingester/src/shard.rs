//! One gateway shard: read frames, fold them into the shard's state, and
//! commit batches (every second or every `flush_events` frames) while the
//! next batch keeps filling. While the database is away the unflushed frames
//! pile up to `buffer_events`; past that the shard stops reading the socket,
//! so the gateway holds the rest and the session stays resumable.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::StreamExt as _;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use twilight_gateway::{CloseFrame, ConfigBuilder, Intents, Message, Session, Shard, ShardId};

use crate::events::{Envelope, EventKind, Frame};
use crate::flush::{self, Committed};
use crate::identify::PgIdentifyQueue;
use crate::settings::SettingsCache;
use crate::state::{Outcome, Sealed, ShardState};

/// Only what the rollups need. No MESSAGE_CONTENT: no content is ever read.
pub const INTENTS: Intents = Intents::GUILDS
    .union(Intents::GUILD_MEMBERS)
    .union(Intents::GUILD_VOICE_STATES)
    .union(Intents::GUILD_MESSAGES)
    .union(Intents::GUILD_MESSAGE_REACTIONS);

/// How long a SIGTERM waits for the final flush by default.
pub const SHUTDOWN_FLUSH_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a stopping shard waits for the gateway to answer its close.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// How batches are cut and how much may wait for the database.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    pub flush_interval: Duration,
    pub flush_events: u64,
    pub buffer_events: u64,
    /// How long a SIGTERM waits for the final flush.
    pub shutdown_flush_timeout: Duration,
    /// Spacing between two IDENTIFYs of one bucket, across processes
    /// (Discord's 5 s plus a margin; tests against a simulator that does not
    /// enforce it may shorten it).
    pub identify_spacing: Duration,
    /// How long every shard must have been identified before a start counts
    /// as stable (and the restart back-off is reset).
    pub stable_after: Duration,
}

impl Tuning {
    /// The configured batching, with the default shutdown wait.
    pub fn from_batching(batching: shared::config::IngestBatching) -> Self {
        Self {
            flush_interval: batching.flush_interval,
            flush_events: batching.flush_events,
            buffer_events: batching.buffer_events,
            shutdown_flush_timeout: SHUTDOWN_FLUSH_TIMEOUT,
            identify_spacing: crate::identify::IDENTIFY_SPACING,
            stable_after: Duration::from_secs(60),
        }
    }
}

impl Default for Tuning {
    fn default() -> Self {
        Self::from_batching(shared::config::IngestBatching::default())
    }
}

pub struct ShardContext {
    pub pool: PgPool,
    pub settings: Arc<SettingsCache>,
    pub token: String,
    pub gateway_url: Option<String>,
    pub shard_total: u32,
    pub tuning: Tuning,
    /// Shared by every shard of the process: IDENTIFY only after a claim.
    pub queue: PgIdentifyQueue,
    /// Shards of this process that have identified (or resumed) at least once.
    pub identified: Arc<AtomicU32>,
}

type FlushTask = JoinHandle<(Sealed, Result<Committed, String>)>;

fn spawn_flush(pool: PgPool, sealed: Sealed, shard_id: u32) -> FlushTask {
    tokio::spawn(async move {
        let result = match tokio::time::timeout(
            Duration::from_secs(30),
            flush::commit(&pool, &sealed),
        )
        .await
        {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err("flush timed out".to_owned()),
        };
        if let Err(error) = &result {
            tracing::warn!(shard = shard_id, %error, "flush failed; will retry");
            metrics::counter!("serverpulse_ingester_flush_failures_total").increment(1);
        }
        (sealed, result)
    })
}

async fn with_retry<T, F, Fut>(what: &str, shutdown: &CancellationToken, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, shared::db::DbError>>,
{
    let mut backoff = Duration::from_millis(200);
    loop {
        match f().await {
            Ok(value) => return Some(value),
            Err(error) => {
                tracing::warn!(%error, "{what} failed; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return None,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Runs shard `shard_id` until `shutdown`, then flushes and closes with a
/// resumable close frame.
pub async fn run(
    ctx: Arc<ShardContext>,
    shard_id: u32,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let total = ctx.shard_total;
    let label = shard_id.to_string();
    let Some(saved) = with_retry("loading the checkpoint", &shutdown, || {
        shared::db::ingest::load_checkpoint_at(&ctx.pool, shard_id, total)
    })
    .await
    else {
        return Ok(());
    };
    let clock = saved.as_ref().and_then(|(_, at)| *at);
    let loaded = with_retry("loading the shard's state", &shutdown, || {
        let pool = ctx.pool.clone();
        let mut fresh = ShardState::new(shard_id, total, Arc::clone(&ctx.settings));
        async move { fresh.load(&pool, clock).await.map(|()| fresh) }
    })
    .await;
    let Some(mut state) = loaded else {
        return Ok(());
    };

    let mut builder = ConfigBuilder::new(ctx.token.clone(), INTENTS);
    if let Some(url) = &ctx.gateway_url {
        builder = builder.proxy_url(url.clone());
    }
    if let Some((cp, _)) = &saved
        && let (Some(session_id), Some(sequence)) = (&cp.session_id, cp.sequence)
    {
        tracing::info!(shard = shard_id, session = %session_id, sequence, "resuming from checkpoint");
        builder = builder.session(Session::new(sequence as u64, session_id.clone()));
        if let Some(url) = &cp.resume_url {
            builder = builder.resume_url(url.clone());
        }
    }
    let mut shard = Shard::with_config(
        ShardId::new(shard_id, total),
        builder.queue(ctx.queue.clone()).build(),
    );
    let mut counted_identified = false;

    let tuning = ctx.tuning;
    let mut in_flight: Option<FlushTask> = None;
    let mut in_flight_frames = 0u64;
    let mut retry: Option<(Sealed, Instant)> = None;
    let mut backoff = Duration::from_millis(200);
    let mut last_seal = Instant::now();
    let mut last_commit = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    // Metric handles resolved once: the loop runs per frame.
    let buffered_gauge =
        metrics::gauge!("serverpulse_ingester_buffered_events", "shard" => label.clone());
    let clock_gauge = metrics::gauge!("serverpulse_ingester_last_event_timestamp_seconds", "shard" => label.clone());
    let lag_gauge =
        metrics::gauge!("serverpulse_ingester_commit_lag_seconds", "shard" => label.clone());
    let mut counters = Counters::default();

    loop {
        let buffered = state.pending.frames
            + in_flight_frames
            + retry.as_ref().map_or(0, |(s, _)| s.pending.frames);
        buffered_gauge.set(buffered as f64);
        let reading = buffered < tuning.buffer_events;
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            joined = async { in_flight.as_mut().expect("guarded").await }, if in_flight.is_some() => {
                in_flight = None;
                in_flight_frames = 0;
                match joined {
                    Ok((sealed, Ok(_))) => {
                        state.committed(&sealed);
                        backoff = Duration::from_millis(200);
                        last_commit = Instant::now();
                    }
                    Ok((sealed, Err(_))) => {
                        retry = Some((sealed, Instant::now() + backoff));
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                    Err(error) => anyhow::bail!("flush task of shard {shard_id} panicked: {error}"),
                }
            }
            _ = tick.tick() => {
                if shard.state().is_identified() {
                    state.touch(Utc::now());
                    if !counted_identified {
                        counted_identified = true;
                        ctx.identified.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            message = shard.next(), if reading => {
                match message {
                    None => anyhow::bail!("shard {shard_id} closed fatally (check the token and intents)"),
                    Some(Err(error)) => {
                        metrics::counter!("serverpulse_ingester_receive_errors_total").increment(1);
                        tracing::warn!(shard = shard_id, %error, "gateway receive error");
                    }
                    Some(Ok(Message::Close(frame))) => {
                        metrics::counter!("serverpulse_ingester_disconnects_total").increment(1);
                        tracing::info!(shard = shard_id, ?frame, "gateway connection closed; twilight reconnects");
                    }
                    Some(Ok(Message::Text(text))) => {
                        handle_text(&mut state, &ctx.pool, &text, &shutdown, &mut counters).await;
                    }
                }
            }
        }
        if let Some(clock) = state.clock {
            // Lag behind the gateway: time() minus this, in Prometheus.
            clock_gauge.set(clock.timestamp_millis() as f64 / 1000.0);
        }
        lag_gauge.set(if buffered > 0 {
            last_commit.elapsed().as_secs_f64()
        } else {
            0.0
        });
        if in_flight.is_none() {
            if let Some((sealed, at)) = retry.take() {
                if Instant::now() >= at {
                    in_flight_frames = sealed.pending.frames;
                    in_flight = Some(spawn_flush(ctx.pool.clone(), sealed, shard_id));
                } else {
                    retry = Some((sealed, at));
                }
            } else if !state.pending.is_empty()
                && (state.pending.urgent
                    || state.pending.frames >= tuning.flush_events
                    || last_seal.elapsed() >= tuning.flush_interval)
            {
                let sealed = seal(&mut state, &shard);
                last_seal = Instant::now();
                in_flight_frames = sealed.pending.frames;
                in_flight = Some(spawn_flush(ctx.pool.clone(), sealed, shard_id));
            }
        }
    }

    // Shutdown: stop reading, commit everything read, then close resumably.
    let deadline = tokio::time::Instant::now() + tuning.shutdown_flush_timeout;
    let mut queue: Vec<Sealed> = Vec::new();
    if let Some(task) = in_flight.take() {
        match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok((_, Ok(_)))) => {}
            Ok(Ok((sealed, Err(_)))) => queue.push(sealed),
            _ => tracing::error!(shard = shard_id, "final flush did not finish"),
        }
    }
    if let Some((sealed, _)) = retry.take() {
        queue.push(sealed);
    }
    if !state.pending.is_empty() {
        queue.push(seal(&mut state, &shard));
    }
    for sealed in queue {
        let mut pause = Duration::from_millis(200);
        loop {
            match tokio::time::timeout_at(deadline, flush::commit(&ctx.pool, &sealed)).await {
                Ok(Ok(_)) => break,
                Ok(Err(error)) if tokio::time::Instant::now() + pause < deadline => {
                    tracing::warn!(shard = shard_id, %error, "final flush failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                _ => {
                    tracing::error!(
                        shard = shard_id,
                        "could not commit before stopping; the gateway will replay it on resume"
                    );
                    break;
                }
            }
        }
    }
    shard.close(CloseFrame::RESUME);
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        while let Some(message) = shard.next().await {
            if matches!(message, Ok(Message::Close(_))) {
                break;
            }
        }
    })
    .await;
    tracing::info!(shard = shard_id, "shard stopped with a resumable close");
    Ok(())
}

fn seal(state: &mut ShardState, shard: &Shard<PgIdentifyQueue>) -> Sealed {
    let session = shard.session().map(|s| (s.id().to_owned(), s.sequence()));
    state.seal(session, shard.resume_url().map(str::to_owned))
}

/// Events-by-type counters, resolved once per type (indexed by
/// [`EventKind`], the last one for ignored frames).
#[derive(Default)]
struct Counters([Option<metrics::Counter>; EventKind::ALL.len() + 1]);

impl Counters {
    fn increment(&mut self, kind: Option<EventKind>) {
        let (index, label) = match kind {
            Some(kind) => (kind as usize, kind.as_str()),
            None => (EventKind::ALL.len(), "ignored"),
        };
        self.0[index]
            .get_or_insert_with(
                || metrics::counter!("serverpulse_ingester_events_total", "type" => label),
            )
            .increment(1);
    }
}

/// Folds one text frame. The database is asked first for what the fold
/// needs and memory no longer holds (members and guilds dropped after they
/// left), retrying while it is unreachable; on shutdown the frame is folded
/// without it.
///
/// A frame is read in one pass ([`Frame::read`]); one that does not read
/// that way (malformed, or `d` before `t` with a bad payload) is read in
/// two steps, which name what is wrong.
async fn handle_text(
    state: &mut ShardState,
    pool: &PgPool,
    text: &str,
    shutdown: &CancellationToken,
    counters: &mut Counters,
) {
    let Some(frame) = Frame::read(text) else {
        return handle_text_in_two_steps(state, pool, text, shutdown, counters).await;
    };
    if frame.op != 0 {
        return;
    }
    let Some(t) = frame.t.as_deref() else {
        return;
    };
    if let Some(lookup) = frame
        .event
        .as_ref()
        .and_then(|(_, payload)| state.lookup_needed_for(payload))
    {
        look_up(state, pool, lookup, shutdown).await;
    }
    state.wall_clock = Some(frame.sim_time_ms.is_none());
    let arrival = state.arrival(frame.sim_time_ms, Utc::now());
    let needed = state.voice_usual_needed_for(frame.event.as_ref().map(|(_, p)| p), arrival);
    if !needed.is_empty() {
        load_voice_usual(state, pool, &needed, shutdown).await;
    }
    let outcome = state.apply_parsed(frame.event.map(|(kind, p)| (kind, Ok(p))), arrival);
    count(state.shard_id, t, outcome, counters);
}

async fn look_up(
    state: &mut ShardState,
    pool: &PgPool,
    lookup: crate::state::Lookup,
    shutdown: &CancellationToken,
) {
    let mut backoff = Duration::from_millis(200);
    while let Err(error) = state.look_up(pool, lookup).await {
        tracing::warn!(shard = state.shard_id, ?lookup, %error, "catalogue lookup failed; retrying");
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn load_voice_usual(
    state: &mut ShardState,
    pool: &PgPool,
    needed: &[(shared::Snowflake, shared::time::Hour)],
    shutdown: &CancellationToken,
) {
    let mut backoff = Duration::from_millis(200);
    while let Err(error) = state.load_voice_usual(pool, needed).await {
        tracing::warn!(shard = state.shard_id, %error, "reading the usual voice peaks failed; retrying");
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Counts a folded frame by its outcome and logs what went wrong.
fn count(shard_id: u32, t: &str, outcome: Outcome, counters: &mut Counters) {
    match outcome {
        Outcome::Handled(kind) => counters.increment(Some(kind)),
        Outcome::Ignored => counters.increment(None),
        Outcome::OutOfRange { kind, field } => {
            counters.increment(kind);
            metrics::counter!("serverpulse_ingester_malformed_total").increment(1);
            tracing::warn!(
                shard = shard_id,
                event = t,
                field,
                "time out of range; folded without it"
            );
        }
        Outcome::Malformed(error) => {
            metrics::counter!("serverpulse_ingester_malformed_total").increment(1);
            tracing::warn!(shard = shard_id, event = t, %error, "malformed payload skipped");
        }
    }
}

/// [`handle_text`] of a frame that does not read in one pass: the envelope
/// with `d` kept raw, then the payload.
async fn handle_text_in_two_steps(
    state: &mut ShardState,
    pool: &PgPool,
    text: &str,
    shutdown: &CancellationToken,
    counters: &mut Counters,
) {
    let shard_id = state.shard_id;
    let envelope: Envelope<'_> = match serde_json::from_str(text) {
        Ok(envelope) => envelope,
        Err(error) => {
            metrics::counter!("serverpulse_ingester_malformed_total").increment(1);
            tracing::warn!(shard = shard_id, %error, "undecodable gateway frame");
            return;
        }
    };
    if envelope.op != 0 {
        return;
    }
    let Some(t) = envelope.t.as_deref() else {
        return;
    };
    if let Some(lookup) = state.lookup_needed(t, envelope.d) {
        look_up(state, pool, lookup, shutdown).await;
    }
    state.wall_clock = Some(envelope.sim_time_ms.is_none());
    let arrival = state.arrival(envelope.sim_time_ms, Utc::now());
    let needed = state.voice_usual_needed(t, envelope.d, arrival);
    if !needed.is_empty() {
        load_voice_usual(state, pool, &needed, shutdown).await;
    }
    let outcome = state.apply(t, envelope.d, arrival);
    count(shard_id, t, outcome, counters);
}
