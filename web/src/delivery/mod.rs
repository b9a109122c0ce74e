//! Delivery of the outbox: everything ServerPulse posts on its own
//! (digests, alerts, reports) goes through [`deliver_due`], run by the
//! [`OutboxWorker`] in `serve` or once by a CLI run.
//!
//! An item is claimed (leased for [`LEASE`]), sent — a create with its
//! nonce, or an edit when its message exists — and the outcome recorded:
//! delivered with the message id; a transient failure retried later with
//! backoff; a channel that cannot be posted in (403 50001/50013, 404 10003)
//! recorded on the guild's settings, audited, and every pending item for
//! it failed, so it is not tried again. A process that dies after Discord
//! created the message but before the commit leaves the item to be claimed
//! again when the lease ends; Discord answers the re-send with the same
//! message because of the nonce (it remembers nonces for a few minutes,
//! hence the short lease).

pub mod bucket;
pub mod poster;
pub mod reader;

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use shared::db::DbError;
use shared::db::digest_settings::{self, DeliveryFailure};
use shared::db::outbox::{self, OutboxItem};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use poster::{PostError, Poster};

/// How long a claimed item is held before another sender may take it.
pub const LEASE: chrono::Duration = chrono::Duration::minutes(2);
/// Items claimed per round.
pub const BATCH: i64 = 32;
/// Items sent at once (requests to one channel still go one at a time).
pub const CONCURRENCY: usize = 4;
/// Retries of a transient failure back off up to this.
const MAX_BACKOFF_SECONDS: i64 = 15 * 60;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: u32,
    pub retrying: u32,
    pub failed: u32,
}

/// Claims the items due at `now` (up to [`BATCH`]) and sends them, at most
/// [`CONCURRENCY`] at once.
pub async fn deliver_due(
    pool: &PgPool,
    poster: &Poster,
    now: DateTime<Utc>,
) -> Result<DeliveryReport, DbError> {
    let items = outbox::claim_due(pool, now, LEASE, BATCH).await?;
    let outcomes: Vec<Result<Outcome, DbError>> = futures_util::stream::iter(items)
        .map(|item| deliver_one(pool, poster, item, now))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut report = DeliveryReport::default();
    for outcome in outcomes {
        match outcome? {
            Outcome::Delivered => report.delivered += 1,
            Outcome::Retrying => report.retrying += 1,
            Outcome::Failed => report.failed += 1,
        }
    }
    Ok(report)
}

enum Outcome {
    Delivered,
    Retrying,
    Failed,
}

/// The longest one send may take (rate-limit waits and retries included):
/// well inside [`LEASE`], so no other sender claims an item while it is
/// still being sent, and a re-send comes while Discord still remembers the
/// nonce.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);

async fn deliver_one(
    pool: &PgPool,
    poster: &Poster,
    item: OutboxItem,
    now: DateTime<Utc>,
) -> Result<Outcome, DbError> {
    let sent = tokio::time::timeout(SEND_TIMEOUT, send(poster, &item))
        .await
        .unwrap_or_else(|_| Err(PostError::Transient("sending took too long".to_owned())));
    record(pool, item, sent, now).await
}

async fn send(poster: &Poster, item: &OutboxItem) -> Result<shared::Snowflake, PostError> {
    match item.discord_message_id {
        Some(message) => {
            poster
                .edit_message(item.channel_id, message, &item.payload, &item.files)
                .await
        }
        None => {
            poster
                .create_message(item.channel_id, &item.payload, &item.files, &item.nonce)
                .await
        }
    }
}

async fn record(
    pool: &PgPool,
    item: OutboxItem,
    sent: Result<shared::Snowflake, PostError>,
    now: DateTime<Utc>,
) -> Result<Outcome, DbError> {
    match sent {
        Ok(message_id) => {
            outbox::complete(pool, item.outbox_id, item.revision, message_id, now).await?;
            metrics::counter!("serverpulse_outbox_delivered_total", "kind" => item.kind.key())
                .increment(1);
            Ok(Outcome::Delivered)
        }
        Err(error @ PostError::Transient(_)) => {
            let wait = (30i64 << item.attempts.clamp(0, 10)).min(MAX_BACKOFF_SECONDS);
            outbox::retry_later(
                pool,
                item.outbox_id,
                &error.to_string(),
                now + chrono::Duration::seconds(wait),
            )
            .await?;
            Ok(Outcome::Retrying)
        }
        Err(error @ PostError::ChannelRecentlyRefused) => {
            outbox::fail_item(pool, item.outbox_id, &error.to_string()).await?;
            Ok(Outcome::Failed)
        }
        Err(error) if error.channel_unusable() => {
            let PostError::Permanent { code, message, .. } = &error else {
                unreachable!("channel_unusable is only true of permanent errors")
            };
            let mut tx = pool.begin().await?;
            digest_settings::record_delivery_failure(
                &mut tx,
                item.guild_id,
                &DeliveryFailure {
                    channel_id: item.channel_id,
                    code: *code,
                    message: message.clone(),
                    at: now,
                },
            )
            .await?;
            outbox::fail_channel(&mut tx, item.guild_id, item.channel_id, &error.to_string())
                .await?;
            tx.commit().await?;
            metrics::counter!("serverpulse_outbox_channel_failed_total").increment(1);
            Ok(Outcome::Failed)
        }
        Err(error) => {
            outbox::fail_item(pool, item.outbox_id, &error.to_string()).await?;
            Ok(Outcome::Failed)
        }
    }
}

/// The outbox worker of a long-running process: a round at once whenever
/// the database says there is something to send (the `serverpulse_outbox`
/// notification, fired at the commit that enqueues an item or requests an
/// edit), and every `interval` in any case (retries fall due without a
/// notification, and a lost listener connection must not stop delivery).
/// The round in flight finishes before the tracker's `wait` returns, so
/// shutdown drains it before the pool closes.
pub struct OutboxWorker {
    pub pool: PgPool,
    pub poster: Poster,
    pub interval: Duration,
}

/// The channel the outbox trigger notifies.
pub const WAKE_CHANNEL: &str = "serverpulse_outbox";

impl OutboxWorker {
    /// Starts the worker on `tracker`; it stops when `cancel` fires.
    pub fn spawn(self, tracker: &TaskTracker, cancel: CancellationToken) {
        tracker.spawn(async move {
            let mut listener: Option<PgListener> = None;
            loop {
                if listener.is_none() {
                    listener = listen(&self.pool).await;
                }
                match deliver_due(&self.pool, &self.poster, Utc::now()).await {
                    Ok(report) if report != DeliveryReport::default() => {
                        tracing::info!(?report, "outbox round");
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "outbox round failed"),
                }
                let woken = async {
                    match listener.as_mut() {
                        Some(l) => l.recv().await.map(|_| ()),
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(self.interval) => {}
                    result = woken => if let Err(error) = result {
                        tracing::warn!(%error, "outbox listener lost; polling until it is back");
                        listener = None;
                    },
                }
            }
            tracing::info!("outbox worker stopped");
        });
    }
}

/// A listener on [`WAKE_CHANNEL`]; `None` (and a warning) when the
/// database cannot give one now: the worker then polls.
async fn listen(pool: &PgPool) -> Option<PgListener> {
    let result = async {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(WAKE_CHANNEL).await?;
        Ok::<_, sqlx::Error>(listener)
    }
    .await;
    match result {
        Ok(listener) => Some(listener),
        Err(error) => {
            tracing::warn!(%error, "cannot listen for outbox notifications; polling");
            None
        }
    }
}
