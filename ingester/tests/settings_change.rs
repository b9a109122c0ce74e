//! A channel removed from a guild's allow-list while the ingester runs is
//! no longer counted for events after the change; nothing restarts.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use shared::Snowflake;
use shared::db::settings::{self, CollectMode};
use shared::time::Hour;
use sim_scenario::ScenarioSize;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_removed_from_collection_is_not_counted_afterwards() {
    let (scenario, truth) = common::scenario(3, ScenarioSize::SMALL);
    let guild = truth.guild_ids[0];
    let general = truth
        .channels_of(guild)
        .into_iter()
        .find(|c| c.name == "general")
        .expect("a general channel")
        .channel_id;
    let db = common::database(&truth.guild_ids).await;
    {
        let mut conn = db.pool.acquire().await.expect("connection");
        let admin = Snowflake(1);
        settings::set_collect_mode(&mut conn, Snowflake(guild), admin, CollectMode::AllowList)
            .await
            .expect("allow-list mode");
        for c in truth.channels_of(guild) {
            if ![10, 11, 12].contains(&c.kind) {
                settings::set_channel_collected(
                    &mut conn,
                    Snowflake(guild),
                    admin,
                    Snowflake(c.channel_id),
                    true,
                )
                .await
                .expect("collect channel");
            }
        }
    }
    let scenario_events: Vec<i64> = scenario.events.iter().map(|e| e.at_ms).collect();
    let sim = common::start_sim(scenario, Some(7.0 * 86_400.0 / 14.0)).await;
    let config = common::config(&db.url, sim.gateway.url(), "0", 1);
    let metrics = shared::telemetry::init_metrics("serverpulse-ingester");
    let ingester = serverpulse_testkit::ingester::spawn(config, metrics).await;

    let clock = || {
        sim.gateway
            .shard_progress([0, 1])
            .map_or(0, |(cursor, _)| scenario_events[cursor.saturating_sub(1)])
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while sim
        .gateway
        .shard_progress([0, 1])
        .is_none_or(|(cursor, len)| cursor < len * 2 / 5)
    {
        assert!(Instant::now() < deadline, "stream did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // What was committed before the change was certainly counted under the
    // old settings.
    let before = shared::db::ingest::load_checkpoint_at(&db.pool, 0, 1)
        .await
        .expect("checkpoint")
        .and_then(|(_, at)| at)
        .expect("something committed");
    {
        let mut conn = db.pool.acquire().await.expect("connection");
        settings::set_channel_collected(
            &mut conn,
            Snowflake(guild),
            Snowflake(1),
            Snowflake(general),
            false,
        )
        .await
        .expect("remove the channel");
    }
    // Events handed out from two seconds after the change on are after it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = Hour::containing(Utc.timestamp_millis_opt(clock()).unwrap());

    common::wait_until_committed(&sim, &db, 1, Duration::from_secs(120)).await;
    ingester.stop().await;

    let mut conn = db.pool.acquire().await.expect("connection");
    let stored = shared::db::rollups::load_guild(&mut conn, Snowflake(guild))
        .await
        .expect("rollups");
    let stored_general = common::stored_messages_in(&stored, general);
    let mut truth_general: BTreeMap<Hour, i32> = BTreeMap::new();
    for m in truth.messages.iter().filter(|m| {
        m.guild_id == guild && (m.channel_id == general || m.thread_parent_id == Some(general))
    }) {
        *truth_general
            .entry(Hour::containing(Utc.timestamp_millis_opt(m.at_ms).unwrap()))
            .or_default() += 1;
    }
    let before_hour = Hour::containing(before);
    let early: BTreeMap<_, _> = truth_general
        .range(..before_hour)
        .map(|(h, n)| (*h, *n))
        .collect();
    let early_stored: BTreeMap<_, _> = stored_general
        .range(..before_hour)
        .map(|(h, n)| (*h, *n))
        .collect();
    assert!(
        !early.is_empty(),
        "the channel had messages before the change"
    );
    assert_eq!(early_stored, early, "counted while collected");
    let late_truth: i32 = truth_general.range(after.next()..).map(|(_, n)| n).sum();
    let late_stored: i32 = stored_general.range(after.next()..).map(|(_, n)| n).sum();
    assert!(late_truth > 0, "the channel kept talking after the change");
    assert_eq!(late_stored, 0, "not counted after it was removed");

    // Every other channel of the guild is counted exactly as the truth says.
    let mut others_truth: BTreeMap<(u64, Hour), i32> = BTreeMap::new();
    for m in truth.messages.iter().filter(|m| {
        m.guild_id == guild && m.channel_id != general && m.thread_parent_id != Some(general)
    }) {
        *others_truth
            .entry((
                m.channel_id,
                Hour::containing(Utc.timestamp_millis_opt(m.at_ms).unwrap()),
            ))
            .or_default() += 1;
    }
    let mut others_stored: BTreeMap<(u64, Hour), i32> = BTreeMap::new();
    for (k, v) in &stored.messages {
        if k.channel_id != Snowflake(general) && v.thread_parent_id != Some(Snowflake(general)) {
            *others_stored.entry((k.channel_id.0, k.hour)).or_default() += v.messages;
        }
    }
    assert_eq!(others_stored, others_truth);
    // The other guild, untouched, equals the truth everywhere.
    common::assert_guild_equals_truth(&db, &truth, truth.guild_ids[1], &BTreeSet::new()).await;
    sim.shutdown().await;
}

/// A timezone set while the ingester runs takes effect from the next
/// event: later rows of the guild start at its local hours (Asia/Kolkata:
/// :30 UTC), earlier ones keep their UTC hours, and every message is
/// counted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timezone_set_while_running_moves_later_buckets_to_its_local_hours() {
    use chrono::Timelike;
    let (scenario, truth) = common::scenario(5, ScenarioSize::SMALL);
    let guild = truth.guild_ids[0];
    let db = common::database(&truth.guild_ids).await;
    let scenario_events: Vec<i64> = scenario.events.iter().map(|e| e.at_ms).collect();
    let sim = common::start_sim(scenario, Some(7.0 * 86_400.0 / 14.0)).await;
    let config = common::config(&db.url, sim.gateway.url(), "0", 1);
    let metrics = shared::telemetry::init_metrics("serverpulse-ingester");
    let ingester = serverpulse_testkit::ingester::spawn(config, metrics).await;
    let clock = || {
        sim.gateway
            .shard_progress([0, 1])
            .map_or(0, |(cursor, _)| scenario_events[cursor.saturating_sub(1)])
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while sim
        .gateway
        .shard_progress([0, 1])
        .is_none_or(|(cursor, len)| cursor < len * 2 / 5)
    {
        assert!(Instant::now() < deadline, "stream did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = shared::db::ingest::load_checkpoint_at(&db.pool, 0, 1)
        .await
        .expect("checkpoint")
        .and_then(|(_, at)| at)
        .expect("something committed");
    {
        let mut conn = db.pool.acquire().await.expect("connection");
        settings::set_timezone(&mut conn, Snowflake(guild), Snowflake(1), "Asia/Kolkata")
            .await
            .expect("set the timezone");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = Utc.timestamp_millis_opt(clock()).unwrap();
    common::wait_until_committed(&sim, &db, 1, Duration::from_secs(120)).await;
    ingester.stop().await;

    let mut conn = db.pool.acquire().await.expect("connection");
    let stored = shared::db::rollups::load_guild(&mut conn, Snowflake(guild))
        .await
        .expect("rollups");
    let starts: Vec<chrono::DateTime<Utc>> =
        stored.messages.keys().map(|k| k.hour.start()).collect();
    let early: BTreeSet<u32> = starts
        .iter()
        .filter(|h| **h < Hour::containing(before).start())
        .map(|h| h.minute())
        .collect();
    let late: BTreeSet<u32> = starts
        .iter()
        .filter(|h| **h > after)
        .map(|h| h.minute())
        .collect();
    assert_eq!(early, BTreeSet::from([0]), "UTC hours before the change");
    assert_eq!(late, BTreeSet::from([30]), "Kolkata's hours after it");
    let counted: i32 = stored.messages.values().map(|v| v.messages).sum();
    let sent = truth
        .messages
        .iter()
        .filter(|m| m.guild_id == guild)
        .count();
    assert_eq!(counted as usize, sent, "every message once");
}
