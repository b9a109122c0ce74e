//! Two processes running disjoint shard ranges of a 4-shard scenario give the
//! same rollups as the ground truth (and so as one process).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use shared::Snowflake;
use shared::testing::ChildProcess;
use sim_scenario::ScenarioSize;

const BINARY: &str = env!("CARGO_BIN_EXE_serverpulse-ingester");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_with_disjoint_shard_ranges_equal_truth() {
    let size = ScenarioSize {
        guilds: 4,
        members_per_guild: 30,
        days: 3,
        messages_per_member_day: 4.0,
    };
    let (scenario, truth) = common::scenario(11, size);
    let shards: BTreeSet<u32> = truth
        .guild_ids
        .iter()
        .map(|g| Snowflake(*g).shard(4))
        .collect();
    assert!(
        shards.iter().any(|s| *s <= 1) && shards.iter().any(|s| *s >= 2),
        "both processes have guilds: {shards:?}"
    );
    let db = common::database(&truth.guild_ids).await;
    let sim = common::start_sim(scenario, None).await;
    let mut processes: Vec<ChildProcess> = ["0-1", "2-3"]
        .iter()
        .map(|range| {
            ChildProcess::spawn(
                BINARY,
                &["run"],
                &common::env(&db.url, sim.gateway.url(), range, 4),
            )
        })
        .collect();
    common::wait_until_committed(&sim, &db, 4, Duration::from_secs(120)).await;
    for process in &mut processes {
        process.signal("TERM");
        let status = process.wait_exit(Duration::from_secs(30));
        assert!(status.success(), "{}", process.stderr());
    }
    for guild in &truth.guild_ids {
        common::assert_guild_equals_truth(&db, &truth, *guild, &BTreeSet::new()).await;
    }
    // Each shard checkpointed its own session.
    for shard in &shards {
        let checkpoint = shared::db::ingest::load_checkpoint(&db.pool, *shard, 4)
            .await
            .expect("checkpoint")
            .expect("every shard with guilds checkpointed");
        assert!(checkpoint.session_id.is_some());
    }
    sim.shutdown().await;
}
