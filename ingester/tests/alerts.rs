//! Alerts end to end: the scenario's planted join raid and mass deletion
//! are one incident each with the ground truth's counts, posted once to the
//! update channel through the outbox; a SIGKILL in the middle of the raid
//! leaves one incident, one message and the exact count; a threshold raised
//! while the ingester runs applies to the next events.

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use discord_sim::SimHandle;
use shared::Snowflake;
use shared::alerts::{AlertKind, AlertSettings, Delivery, Incident, IncidentDetail};
use shared::config::Secret;
use shared::db::outbox::{self, OutboxKind};
use shared::testing::{ChildProcess, TestDatabase};
use sim_scenario::truth::GroundTruth;
use sim_scenario::{Scenario, ScenarioSize};

const BINARY: &str = env!("CARGO_BIN_EXE_serverpulse-ingester");

async fn incidents(db: &TestDatabase, guild: u64) -> Vec<Incident> {
    let mut all = shared::db::alerts::recent_incidents(&db.pool, Snowflake(guild), None, 100)
        .await
        .expect("incidents");
    all.reverse();
    all
}

fn general(truth: &GroundTruth, guild: u64) -> u64 {
    truth
        .channels_of(guild)
        .into_iter()
        .find(|c| c.name == "general")
        .expect("a general channel")
        .channel_id
}

async fn set_update_channel(db: &TestDatabase, guild: u64, channel: u64) {
    let mut conn = db.pool.acquire().await.expect("connection");
    shared::db::settings::set_update_channel(
        &mut conn,
        Snowflake(guild),
        Snowflake(1),
        Some(Snowflake(channel)),
    )
    .await
    .expect("update channel");
}

/// Delivers the outbox once, as the web process's worker does.
async fn deliver(db: &TestDatabase, sim: &SimHandle) -> serverpulse_web::delivery::DeliveryReport {
    let poster =
        serverpulse_web::delivery::Poster::new(&sim.rest.api_url(), Secret::new(common::TOKEN));
    serverpulse_web::delivery::deliver_due(&db.pool, &poster, Utc::now())
        .await
        .expect("delivery")
}

fn embed_title(message: &serde_json::Value) -> String {
    message["embeds"][0]["title"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

fn field<'a>(message: &'a serde_json::Value, name: &str) -> &'a str {
    message["embeds"][0]["fields"]
        .as_array()
        .and_then(|fields| fields.iter().find(|f| f["name"] == name))
        .and_then(|f| f["value"].as_str())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_raid_and_mass_deletion_are_one_incident_each_posted_once() {
    let (scenario, truth) = common::scenario(7, ScenarioSize::SMALL);
    let raid = truth.raid.clone().expect("SMALL plants a raid");
    let wipe = truth.mass_deletion.clone().expect("and a mass deletion");
    let guild = raid.guild_id;
    let channel = general(&truth, guild);
    let db = common::database(&truth.guild_ids).await;
    set_update_channel(&db, guild, channel).await;
    let sim = common::start_sim(scenario, None).await;
    serverpulse_testkit::ingester::run_until_committed(
        common::TOKEN,
        &db,
        &sim,
        Duration::from_secs(120),
    )
    .await;

    let found = incidents(&db, guild).await;
    let kinds: Vec<AlertKind> = found.iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds,
        [AlertKind::JoinRaid, AlertKind::MassDelete],
        "{found:#?}"
    );
    let raiders = raid.user_ids.len() as u32;
    let r = &found[0];
    assert_eq!(r.count as u32, raiders, "every raider, nobody else");
    assert_eq!(r.started_at.timestamp_millis(), raid.start_ms);
    assert_eq!(r.last_event_at.timestamp_millis(), raid.last_join_ms);
    let quiet = AlertSettings::default_for(AlertKind::JoinRaid).quiet();
    assert_eq!(r.ended_at, Some(r.last_event_at + quiet));
    assert_eq!(
        r.detail,
        IncidentDetail::JoinRaid {
            // The generator makes raiders' accounts 2 minutes before they
            // join, without avatars.
            young_accounts: raiders,
            default_avatars: raiders,
            joins_before: 0,
        }
    );
    let d = &found[1];
    assert_eq!(d.count as u32, wipe.messages);
    assert_eq!(d.started_at.timestamp_millis(), wipe.at_ms);
    assert_eq!(
        d.detail,
        IncidentDetail::MassDelete {
            single: 0,
            bulk: wipe.messages,
            channels: vec![(Snowflake(wipe.channel_id), wipe.messages)],
        }
    );
    assert!(found.iter().all(|i| i.delivery == Delivery::Posted));
    for other in truth.guild_ids.iter().filter(|g| **g != guild) {
        let quiet_guild = incidents(&db, *other).await;
        assert!(
            quiet_guild.is_empty(),
            "no alert without an incident: {quiet_guild:#?}"
        );
    }

    // One outbox item per incident, posted as one message each.
    let items = outbox::of_guild(&db.pool, Snowflake(guild), 10)
        .await
        .expect("outbox");
    let mut keys: Vec<String> = items.iter().map(|i| i.identity_key.clone()).collect();
    keys.sort();
    let mut expected: Vec<String> = found.iter().map(Incident::outbox_key).collect();
    expected.sort();
    assert_eq!(keys, expected);
    assert!(items.iter().all(|i| i.kind == OutboxKind::Alert));
    let report = deliver(&db, &sim).await;
    assert_eq!(report.delivered, 2, "{report:?}");
    let posted: Vec<serde_json::Value> = sim
        .rest
        .channel_messages(channel)
        .into_iter()
        .map(|m| m.message)
        .collect();
    let titles: Vec<String> = posted.iter().map(embed_title).collect();
    assert_eq!(titles, ["⚠️ Join raid", "⚠️ Mass deletion"]);
    assert_eq!(field(&posted[0], "Joins"), raiders.to_string());
    assert_eq!(
        field(&posted[1], "Messages deleted"),
        wipe.messages.to_string()
    );
    assert!(
        field(&posted[0], "Status").starts_with("Over since"),
        "the message says the raid is over: {}",
        posted[0]
    );
    sim.shutdown().await;
}

/// The events of the raid's guild from `before_ms` before its first join to
/// `after_ms` after its last: the raid paced in seconds instead of after
/// days of scenario.
fn around_raid(
    mut scenario: Scenario,
    truth: &GroundTruth,
    before_ms: i64,
    after_ms: i64,
) -> Scenario {
    let raid = truth.raid.as_ref().expect("a raid");
    scenario.events.retain(|e| {
        e.guild_id == raid.guild_id
            && e.at_ms >= raid.start_ms - before_ms
            && e.at_ms <= raid.last_join_ms + after_ms
    });
    scenario
}

/// Index in the shard's stream of the raid's last join.
fn last_join_index(scenario: &Scenario, truth: &GroundTruth) -> usize {
    let raid = truth.raid.as_ref().expect("a raid");
    let last = raid.user_ids.last().expect("raiders").to_string();
    scenario
        .events
        .iter()
        .position(|e| e.t == "GUILD_MEMBER_ADD" && e.d["user"]["id"] == last.as_str())
        .expect("the last raider's join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_the_middle_of_a_raid_leaves_one_incident_one_message_and_the_exact_count() {
    let (scenario, truth) = common::scenario(7, ScenarioSize::SMALL);
    let raid = truth.raid.clone().expect("a raid");
    let guild = raid.guild_id;
    let channel = general(&truth, guild);
    let scenario = around_raid(scenario, &truth, 20_000, 40_000);
    let last_join = last_join_index(&scenario, &truth);
    let db = common::database(&truth.guild_ids).await;
    set_update_channel(&db, guild, channel).await;
    // 5× real time: the raid's joins come 0.6 s apart.
    let sim = common::start_sim(scenario, Some(5.0)).await;
    let mut env = common::env(&db.url, sim.gateway.url(), "0", 1);
    env.push(("INGESTER_FLUSH_INTERVAL_MS", "100".to_owned()));
    let mut process = ChildProcess::spawn(BINARY, &["run"], &env);

    // Kill once the incident is committed and before the raid's last join
    // is handed out: the raid spans the restart.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        assert!(Instant::now() < deadline, "no incident before the deadline");
        if let Ok(Some(status)) = process.child.try_wait() {
            panic!("ingester exited with {status}: {}", process.stderr());
        }
        let cursor = sim.gateway.shard_progress([0, 1]).map_or(0, |(c, _)| c);
        assert!(
            cursor <= last_join,
            "the raid was over before its incident was seen committed"
        );
        if !incidents(&db, guild).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    process.signal("KILL");
    process.wait_exit(Duration::from_secs(10));
    let at_kill = incidents(&db, guild).await;
    assert_eq!(at_kill.len(), 1);
    assert!(
        (at_kill[0].count as usize) < raid.user_ids.len() && at_kill[0].ended_at.is_none(),
        "killed mid-raid: {at_kill:?}"
    );

    let mut process = ChildProcess::spawn(BINARY, &["run"], &env);
    common::wait_until_committed(&sim, &db, 1, Duration::from_secs(90)).await;
    process.signal("TERM");
    process.wait_exit(Duration::from_secs(30));
    assert_eq!(
        sim.gateway.identify_count(),
        1,
        "the restart resumed the session from the checkpoint"
    );

    let found = incidents(&db, guild).await;
    assert_eq!(
        found.len(),
        1,
        "one incident across the restart: {found:#?}"
    );
    assert_eq!(found[0].incident_id, at_kill[0].incident_id);
    assert_eq!(found[0].count as usize, raid.user_ids.len());
    let items = outbox::of_guild(&db.pool, Snowflake(guild), 10)
        .await
        .expect("outbox");
    assert_eq!(items.len(), 1, "one message");
    let report = deliver(&db, &sim).await;
    assert_eq!(report.delivered, 1);
    let posted = sim.rest.channel_messages(channel);
    assert_eq!(posted.len(), 1);
    assert_eq!(
        field(&posted[0].message, "Joins"),
        raid.user_ids.len().to_string()
    );
    sim.shutdown().await;
}

/// Index in the stream of the `n`th raider's join (from 0).
fn raider_join_index(scenario: &Scenario, truth: &GroundTruth, n: usize) -> usize {
    let raid = truth.raid.as_ref().expect("a raid");
    let id = raid.user_ids[n].to_string();
    scenario
        .events
        .iter()
        .position(|e| e.t == "GUILD_MEMBER_ADD" && e.d["user"]["id"] == id.as_str())
        .expect("the raider's join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threshold_raised_while_running_applies_to_the_next_events() {
    let (scenario, truth) = common::scenario(7, ScenarioSize::SMALL);
    let raid = truth.raid.clone().expect("a raid");
    let guild = raid.guild_id;
    let scenario = around_raid(scenario, &truth, 0, 10_000);
    let threshold = AlertSettings::default_for(AlertKind::JoinRaid).count_threshold() as usize;
    assert!(
        raid.user_ids.len() >= threshold,
        "the raid crosses the default"
    );
    // The join before the crossing one, and the crossing one: 3 s of
    // scenario apart, 1.5 s at twice real time.
    let before_crossing = raider_join_index(&scenario, &truth, threshold - 2);
    let crossing = raider_join_index(&scenario, &truth, threshold - 1);
    let db = common::database(&truth.guild_ids).await;
    let sim = common::start_sim(scenario, Some(2.0)).await;
    let config = common::config(&db.url, sim.gateway.url(), "0", 1);
    let metrics = shared::telemetry::init_metrics("serverpulse-ingester");
    let ingester = serverpulse_testkit::ingester::spawn(config, metrics).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while sim
        .gateway
        .shard_progress([0, 1])
        .is_none_or(|(cursor, _)| cursor <= before_crossing)
    {
        assert!(Instant::now() < deadline, "the raid did not begin");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    {
        let mut conn = db.pool.acquire().await.expect("connection");
        let mut settings = AlertSettings::default_for(AlertKind::JoinRaid);
        settings.threshold = raid.user_ids.len() as f64 + 1.0;
        shared::db::alerts::save_settings(
            &mut conn,
            Snowflake(guild),
            Snowflake(1),
            &settings,
            "alert.threshold",
            serde_json::json!({}),
        )
        .await
        .expect("save settings");
    }
    assert!(
        sim.gateway
            .shard_progress([0, 1])
            .is_some_and(|(cursor, _)| cursor <= crossing),
        "the change was made before the join that would have crossed"
    );
    common::wait_until_committed(&sim, &db, 1, Duration::from_secs(60)).await;
    ingester.stop().await;
    let found = incidents(&db, guild).await;
    assert!(
        found.is_empty(),
        "{} joins are below the raised threshold: {found:#?}",
        raid.user_ids.len()
    );
    sim.shutdown().await;
}
