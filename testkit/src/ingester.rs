//! The real ingester in-process, and knowing when it has committed
//! everything the simulator sent.

use std::time::{Duration, Instant};

use discord_sim::SimHandle;
use metrics_exporter_prometheus::PrometheusHandle;
use shared::config::IngesterConfig;
use shared::testing::TestDatabase;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The environment of an ingester with the shards `shards` (e.g. `"0"`,
/// `"0-1"`) of `total`, on a free port, reading the gateway at `gateway`.
/// Also what a child process of the binary is given.
pub fn env(
    token: &str,
    db_url: &str,
    gateway: &str,
    shards: &str,
    total: u32,
) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", db_url.to_owned()),
        ("DISCORD_TOKEN", token.to_owned()),
        ("DISCORD_GATEWAY_URL", gateway.to_owned()),
        ("SHARDS", shards.to_owned()),
        ("SHARD_TOTAL", total.to_string()),
        ("INGESTER_PORT", shared::testing::free_port().to_string()),
        ("RUST_LOG", "warn,serverpulse_ingester=info".to_owned()),
    ]
}

/// The typed configuration read from [`env`].
pub fn config(
    token: &str,
    db_url: &str,
    gateway: &str,
    shards: &str,
    total: u32,
) -> IngesterConfig {
    let vars = env(token, db_url, gateway, shards, total);
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    IngesterConfig::from_source(pairs.as_slice()).expect("ingester configuration")
}

/// `serverpulse_ingester::run` on a task, its HTTP side on port 0.
pub struct RunningIngester {
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

/// Starts the ingester of `config` with `metrics` as its `/metrics` handle.
pub async fn spawn(config: IngesterConfig, metrics: PrometheusHandle) -> RunningIngester {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let stop = CancellationToken::new();
    let task =
        tokio::spawn({
            let stop = stop.clone();
            async move {
                serverpulse_ingester::run(config, listener, metrics, async move {
                    stop.cancelled().await
                })
                .await
            }
        });
    RunningIngester { stop, task }
}

impl RunningIngester {
    /// Whether the ingester has stopped on its own.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Shuts it down and asserts it ran cleanly.
    pub async fn stop(self) {
        self.stop.cancel();
        self.task
            .await
            .expect("join")
            .expect("the ingester ran cleanly");
    }
}

/// Whether every shard of `total` has handed out all its dispatches and
/// the database's checkpoint is at the last frame of the shard's latest
/// session: everything sent is committed. A shard without guilds that never
/// identified has nothing to wait for.
pub async fn all_committed(sim: &SimHandle, pool: &PgPool, total: u32) -> bool {
    let sessions = sim.gateway.sessions();
    for shard in 0..total {
        match sim.gateway.shard_progress([shard, total]) {
            Some((cursor, len)) if cursor == len => {}
            Some(_) => return false,
            None => {
                let has_guilds = sim
                    .gateway
                    .scenario()
                    .events
                    .iter()
                    .any(|e| (e.guild_id >> 22) % u64::from(total) == u64::from(shard));
                if has_guilds {
                    return false;
                }
                continue;
            }
        }
        let Some(latest) = sessions.iter().rev().find(|s| s.shard == [shard, total]) else {
            return false;
        };
        let last_seq = latest.frames.last().map_or(0, |f| f.seq) as i64;
        let checkpoint = shared::db::ingest::load_checkpoint(pool, shard, total)
            .await
            .ok()
            .flatten();
        let done = checkpoint.is_some_and(|c| {
            c.session_id.as_deref() == Some(latest.session_id.as_str())
                && c.sequence == Some(last_seq)
        });
        if !done {
            return false;
        }
    }
    true
}

/// Waits until [`all_committed`]; panics after `limit`.
pub async fn wait_until_committed(sim: &SimHandle, pool: &PgPool, total: u32, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !all_committed(sim, pool, total).await {
        assert!(
            Instant::now() < deadline,
            "the ingester did not commit everything in {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs the real ingester (one shard) against the simulator's gateway until
/// every dispatch is committed, then stops it; panics after `limit` or when
/// the ingester stops early.
pub async fn run_until_committed(token: &str, db: &TestDatabase, sim: &SimHandle, limit: Duration) {
    let config = config(token, &db.url, sim.gateway.url(), "0", 1);
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .build_recorder()
        .handle();
    let ingester = spawn(config, metrics).await;
    let deadline = Instant::now() + limit;
    while !all_committed(sim, &db.pool, 1).await {
        assert!(
            Instant::now() < deadline,
            "the ingester did not commit everything in {limit:?}"
        );
        assert!(!ingester.is_finished(), "the ingester stopped early");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ingester.stop().await;
}

/// Commits `rollups` through the ingester's own flush
/// (`serverpulse_ingester::flush::commit`), as shard 0 of 1 without a
/// gateway session: for a test that needs "a flush happened" without a
/// gateway. The rollups and the data version of every guild they touch
/// commit in one transaction, as in a running ingester.
pub async fn commit_rollups(pool: &PgPool, rollups: shared::rollup::RollupBatch) {
    use serverpulse_ingester::state::{Pending, Sealed};
    let sealed = Sealed {
        pending: Pending {
            rollups,
            ..Pending::default()
        },
        voice_open: Vec::new(),
        checkpoint: shared::db::ingest::ShardCheckpoint {
            shard_id: 0,
            shard_total: 1,
            session_id: None,
            sequence: None,
            resume_url: None,
        },
        last_event_at: None,
    };
    serverpulse_ingester::flush::commit(pool, &sealed)
        .await
        .expect("the ingester's flush");
}
