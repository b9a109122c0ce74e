//! Shards as Discord requires them: two processes running disjoint shard
//! ranges of a 4-shard scenario give the same rollups as the ground truth
//! (and so as one process) and space their IDENTIFYs through PostgreSQL;
//! without SHARD_TOTAL the ingester runs the shards `GET /gateway/bot`
//! recommends, one bucket per 5 seconds; it refuses to spend the last
//! session starts; and repeated failed starts back off across processes.

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
    // The simulator refuses an IDENTIFY within 5 s of another of its bucket
    // (max_concurrency 1: one bucket): the two processes must take turns.
    let sim = start_sim_with(scenario, |sim| {
        sim.gateway.identify_spacing = Some(DISCORD_SPACING);
    })
    .await;
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
    assert_eq!(
        (
            sim.gateway.identify_count(),
            sim.gateway.refused_identify_count()
        ),
        (4, 0),
        "four shards identified once each, never within 5 s of another"
    );
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

/// Discord's spacing between two IDENTIFYs of one bucket.
const DISCORD_SPACING: Duration = Duration::from_secs(5);

async fn start_sim_with(
    scenario: sim_scenario::Scenario,
    adjust: impl FnOnce(&mut discord_sim::SimConfig),
) -> discord_sim::SimHandle {
    let mut config = serverpulse_testkit::sim::config(common::TOKEN);
    config.gateway.compression = discord_sim::Compression::Never;
    adjust(&mut config);
    serverpulse_testkit::sim::start(config, scenario).await
}

/// An ingester left to Discord's recommendation: no SHARDS, no SHARD_TOTAL,
/// no gateway URL; only where Discord's REST API is.
fn recommended_env(db_url: &str, api_url: &str, token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", db_url.to_owned()),
        ("DISCORD_TOKEN", token.to_owned()),
        ("DISCORD_API_URL", api_url.to_owned()),
        ("INGESTER_PORT", shared::testing::free_port().to_string()),
        ("RUST_LOG", "warn,serverpulse_ingester=info".to_owned()),
    ]
}

fn small() -> ScenarioSize {
    ScenarioSize {
        guilds: 4,
        members_per_guild: 10,
        days: 1,
        messages_per_member_day: 2.0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_shard_total_the_recommended_shards_start_one_bucket_at_a_time() {
    let (scenario, truth) = common::scenario(12, small());
    let db = common::database(&truth.guild_ids).await;
    // Discord recommends 4 shards: buckets 0 and 1 (shard % 2) may each
    // identify once per 5 s, so shards 0 and 1 start at once, 2 and 3 after.
    let sim = start_sim_with(scenario, |sim| {
        sim.gateway.identify_spacing = Some(DISCORD_SPACING);
        sim.gateway.max_concurrency = 2;
        sim.rest.recommended_shards = 4;
    })
    .await;
    let env = recommended_env(&db.url, &sim.rest.api_url(), common::TOKEN);
    let mut process = ChildProcess::spawn(BINARY, &["run"], &env);
    common::wait_until_committed(&sim, &db, 4, Duration::from_secs(120)).await;
    let sessions: BTreeSet<[u32; 2]> = sim
        .gateway
        .sessions()
        .into_iter()
        .map(|s| s.shard)
        .collect();
    assert_eq!(
        sessions,
        BTreeSet::from([[0, 4], [1, 4], [2, 4], [3, 4]]),
        "the recommended 4 shards, all in this process"
    );
    assert_eq!(
        (
            sim.gateway.identify_count(),
            sim.gateway.refused_identify_count()
        ),
        (4, 0),
        "no IDENTIFY refused by the bucket spacing"
    );
    process.signal("TERM");
    let status = process.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{}", process.stderr());
    for guild in &truth.guild_ids {
        common::assert_guild_equals_truth(&db, &truth, *guild, &BTreeSet::new()).await;
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_session_starts_are_not_spent() {
    let (scenario, _) = common::scenario(13, small());
    let db = common::database(&[]).await;
    // Two starts left today and two shards recommended: starting would
    // leave none for a reconnect, and exhausting them resets the token.
    let sim = start_sim_with(scenario, |sim| {
        sim.gateway.session_start_limit = 2;
        sim.rest.recommended_shards = 2;
    })
    .await;
    let env = recommended_env(&db.url, &sim.rest.api_url(), common::TOKEN);
    let mut process = ChildProcess::spawn(BINARY, &["run"], &env);
    let status = process.wait_exit(Duration::from_secs(30));
    let stderr = process.stderr();
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("not starting: Discord allows 2 more session starts (of 2)"),
        "{stderr}"
    );
    assert_eq!(sim.gateway.identify_count(), 0, "no session start spent");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_starts_back_off_across_processes() {
    let (scenario, truth) = common::scenario(14, small());
    let db = common::database(&truth.guild_ids).await;
    let sim = start_sim_with(scenario, |_| {}).await;
    // A token the gateway rejects (4004): every start fails.
    let mut env = common::env(&db.url, sim.gateway.url(), "0", 1);
    for (key, value) in &mut env {
        if *key == "DISCORD_TOKEN" {
            *value = "a-revoked-token".to_owned();
        }
    }
    let mut outputs = Vec::new();
    for _ in 0..4 {
        let mut process = ChildProcess::spawn(BINARY, &["run"], &env);
        let status = process.wait_exit(Duration::from_secs(60));
        let stderr = process.stderr();
        assert!(!status.success(), "{stderr}");
        assert!(stderr.contains("closed fatally"), "{stderr}");
        outputs.push(stderr);
    }
    assert!(
        !outputs[0].contains("backing off") && !outputs[1].contains("backing off"),
        "the first restart is immediate: {outputs:?}"
    );
    // The third start may already be 5 s after the second (each IDENTIFY
    // waits 5 s after the one before); the fourth must wait 10 s.
    assert!(
        outputs[3].contains("backing off before starting the gateway"),
        "the fourth start waits: {}",
        outputs[3]
    );
    let history = shared::db::gateway::start_history(&db.pool, "0-0/1")
        .await
        .unwrap()
        .expect("the starts are recorded");
    assert_eq!(history.unstable_starts, 4);

    // A start that runs stably (here: a second connected) resets the count.
    env.retain(|(key, _)| *key != "DISCORD_TOKEN");
    env.push(("DISCORD_TOKEN", common::TOKEN.to_owned()));
    env.push(("INGESTER_STABLE_AFTER_SECS", "1".to_owned()));
    let mut process = ChildProcess::spawn(BINARY, &["run"], &env);
    common::wait_until_committed(&sim, &db, 1, Duration::from_secs(120)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let history = shared::db::gateway::start_history(&db.pool, "0-0/1")
            .await
            .unwrap()
            .unwrap();
        if history.unstable_starts == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never marked stable: {history:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    process.signal("TERM");
    assert!(process.wait_exit(Duration::from_secs(30)).success());
    sim.shutdown().await;
}
