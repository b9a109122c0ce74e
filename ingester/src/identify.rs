//! The IDENTIFY queue of every shard of every ingester process: a shard
//! identifies only after claiming its bucket (`shard_id % max_concurrency`)
//! in PostgreSQL, which spaces the bucket's IDENTIFYs by Discord's 5 seconds
//! across processes (twilight's in-memory queue only knows one process).

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use twilight_gateway::queue::Queue;

/// Discord's spacing between two IDENTIFYs of one bucket, plus a margin for
/// the time between the claim and the IDENTIFY reaching Discord.
pub const IDENTIFY_SPACING: Duration = Duration::from_millis(5_250);

#[derive(Debug, Clone)]
pub struct PgIdentifyQueue {
    pool: PgPool,
    max_concurrency: u32,
    spacing: Duration,
    tasks: TaskTracker,
    stop: CancellationToken,
}

impl PgIdentifyQueue {
    /// Claims run on `tasks` until `stop`.
    pub fn new(
        pool: PgPool,
        max_concurrency: u32,
        spacing: Duration,
        tasks: TaskTracker,
        stop: CancellationToken,
    ) -> Self {
        Self {
            pool,
            max_concurrency: max_concurrency.max(1),
            spacing,
            tasks,
            stop,
        }
    }

    async fn claim(&self, shard: u32, mut ready: oneshot::Sender<()>) {
        let bucket = shard % self.max_concurrency;
        let mut backoff = Duration::from_millis(200);
        loop {
            if ready.is_closed() {
                return;
            }
            let claimed = tokio::select! {
                () = self.stop.cancelled() => None,
                claimed = shared::db::gateway::claim_identify(&self.pool, self.max_concurrency, bucket, self.spacing) => Some(claimed),
            };
            let pause = match claimed {
                // Stopping: never let the shard identify, and never drop the
                // sender either (twilight would enqueue again at once).
                None => {
                    ready.closed().await;
                    return;
                }
                Some(Ok(Some(()))) => {
                    tracing::debug!(shard, bucket, "identify slot claimed");
                    let _ = ready.send(());
                    return;
                }
                Some(Ok(None)) => Duration::from_millis(100),
                Some(Err(error)) => {
                    tracing::warn!(shard, bucket, %error, "claiming an identify slot failed; retrying");
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    backoff
                }
            };
            tokio::select! {
                () = self.stop.cancelled() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

impl Queue for PgIdentifyQueue {
    fn enqueue(&self, shard: u32) -> oneshot::Receiver<()> {
        let (ready, wait) = oneshot::channel();
        let queue = self.clone();
        self.tasks
            .spawn(async move { queue.claim(shard, ready).await });
        wait
    }
}
