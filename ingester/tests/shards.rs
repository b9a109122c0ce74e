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
    let (mut scenario, truth) = common::scenario(11, size);
    // Two malformed payloads mid-stream: logged, counted,
    // skipped, never a crash (the truth does not know them).
    for (n, guild) in [truth.guild_ids[0], truth.guild_ids[3]]
        .into_iter()
        .enumerate()
    {
        let index = scenario.events.len() / 3 * (n + 1);
        let at_ms = scenario.events[index].at_ms;
        scenario.events.insert(
            index,
            sim_scenario::Dispatch {
                at_ms,
                guild_id: guild,
                t: if n == 0 { "MESSAGE_CREATE" } else { "GUILD_MEMBER_ADD" }.to_owned(),
                d: serde_json::json!({"guild_id": guild.to_string(), "channel_id": 5, "user": "nobody"}),
            },
        );
    }
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
    let envs: Vec<_> = ["0-1", "2-3"]
        .iter()
        .map(|range| common::env(&db.url, sim.gateway.url(), range, 4))
        .collect();
    let mut processes: Vec<ChildProcess> = envs
        .iter()
        .map(|env| ChildProcess::spawn(BINARY, &["run"], env))
        .collect();
    common::wait_until_committed(&sim, &db, 4, Duration::from_secs(120)).await;
    let mut malformed = 0.0;
    for env in &envs {
        let port: u16 = env
            .iter()
            .find(|(k, _)| *k == "INGESTER_PORT")
            .and_then(|(_, v)| v.parse().ok())
            .expect("port");
        let (_, body) = shared::testing::http_get(([127, 0, 0, 1], port).into(), "/metrics")
            .expect("metrics answer");
        malformed += body
            .lines()
            .find(|l| l.starts_with("serverpulse_ingester_malformed_total"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        assert!(
            body.contains("serverpulse_ingester_events_total{"),
            "{body}"
        );
    }
    assert_eq!(malformed, 2.0, "each malformed payload counted once");
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
