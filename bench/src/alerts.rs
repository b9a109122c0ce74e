//! Alert latency: from the gateway event that crosses a join raid's
//! threshold to Discord receiving the alert's POST, over raids replayed
//! through the simulator in real time.
//!
//! Every guild of the run gets one raid (12 joins, 2 s apart, 0.5 s in the
//! smoke profile, so the 10th
//! crosses the default 10-in-60 s); raids start 1 s apart. The real
//! ingester (a child process, as in the ingest benchmark) detects and
//! records the incident in its flush; the web crate's outbox worker (the
//! one `serve` runs, with its production polling interval, woken by the
//! database's notification) posts it to the simulator. Both ends are wall
//! clock readings taken by the simulator: when it handed the crossing
//! frame to the socket, and when the POST arrived.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use serverpulse_web::delivery::{OutboxWorker, Poster};
use shared::Snowflake;
use shared::config::{DatabaseConfig, Secret};
use sim_scenario::{Dispatch, Scenario, ScenarioSize};
use sqlx::PgPool;

use crate::commands::percentile;
use crate::ingest::IngesterProcess;
use crate::profile::Profile;

const TOKEN: &str = "bench-alerts-token";
const SEED: u64 = 9;
/// Joins per raid (the gap between them is the profile's).
const RAID_JOINS: usize = 12;
/// The join that crosses the default threshold (10 joins within 60 s).
const CROSSING: usize = 10;
/// Between raid starts of successive guilds.
const STAGGER_MS: i64 = 1_000;
/// From the first identify to the first raid join.
const LEAD_MS: i64 = 5_000;
const POST_ROUTE: &str = "POST /channels/{channel_id}/messages";
/// Discord's epoch (2015-01-01), for user ids made at a given time.
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// The guilds (their `GUILD_CREATE`s from the generator) with one raid
/// each; returns the scenario and, per guild, (guild id, update channel,
/// index of the crossing event).
fn raid_scenario(guilds: u32, gap_ms: i64) -> (Scenario, Vec<(u64, u64, usize)>) {
    let size = ScenarioSize {
        guilds,
        members_per_guild: 8,
        days: 1,
        messages_per_member_day: 1.0,
    };
    let (mut scenario, _) = sim_scenario::generate(SEED, size);
    let start = scenario.start_ms;
    let mut events = Vec::new();
    let mut plan = Vec::new();
    for (g, guild) in scenario.guilds.iter().enumerate() {
        let guild_id: u64 = guild["id"].as_str().unwrap_or("0").parse().unwrap_or(0);
        let channel = guild["channels"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == 0)
            .and_then(|c| c["id"].as_str())
            .and_then(|id| id.parse().ok())
            .unwrap_or(0);
        let raid_start = start + LEAD_MS + g as i64 * STAGGER_MS;
        for j in 0..RAID_JOINS {
            let at = raid_start + j as i64 * gap_ms;
            // Accounts made a day before they join (a raid's young accounts).
            let user = (((at - DISCORD_EPOCH_MS - 86_400_000) as u64) << 22) | (g * 64 + j) as u64;
            events.push(Dispatch {
                at_ms: at,
                guild_id,
                t: "GUILD_MEMBER_ADD".to_owned(),
                d: json!({
                    "guild_id": guild_id.to_string(),
                    "user": {"id": user.to_string(), "username": format!("raider{g}x{j}"),
                             "discriminator": "0", "avatar": null},
                    "roles": [],
                    "joined_at": chrono::DateTime::from_timestamp_millis(at)
                        .unwrap_or_default()
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "deaf": false, "mute": false, "flags": 0,
                }),
            });
        }
        plan.push((guild_id, channel, 0));
    }
    events.sort_by_key(|e| e.at_ms);
    for (guild_id, _, crossing) in &mut plan {
        *crossing = events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.guild_id == *guild_id)
            .nth(CROSSING - 1)
            .map_or(0, |(i, _)| i);
    }
    scenario.events = events;
    (scenario, plan)
}

pub async fn run(
    profile: &Profile,
    database: &DatabaseConfig,
    pool: &PgPool,
) -> anyhow::Result<Value> {
    let guilds = profile.alert_raids;
    let gap_ms = profile.alert_join_gap_ms;
    let (scenario, plan) = raid_scenario(guilds, gap_ms);
    let tracking_from = chrono::DateTime::from_timestamp_millis(scenario.start_ms - 86_400_000)
        .context("scenario start")?;
    let guild_ids: Vec<Snowflake> = plan.iter().map(|(g, _, _)| Snowflake(*g)).collect();
    {
        let mut conn = pool.acquire().await?;
        shared::db::bench::enable_tracking(&mut conn, &guild_ids, tracking_from).await?;
    }
    for (guild_id, channel, _) in &plan {
        let mut tx = pool.begin().await?;
        shared::db::settings::set_update_channel(
            &mut tx,
            Snowflake(*guild_id),
            Snowflake(1),
            Some(Snowflake(*channel)),
        )
        .await?;
        tx.commit().await?;
    }

    let mut config = discord_sim::SimConfig::new(TOKEN);
    config.gateway.pacing = discord_sim::Pacing::ScenarioClock { speedup: 1.0 };
    let sim = discord_sim::start(config, scenario)
        .await
        .context("starting the simulator")?;
    for (_, channel, _) in &plan {
        sim.rest
            .set_channel_access(*channel, discord_sim::ChannelAccess::Writable);
    }
    let tracker = tokio_util::task::TaskTracker::new();
    let cancel = tokio_util::sync::CancellationToken::new();
    OutboxWorker {
        pool: pool.clone(),
        poster: Poster::new(&sim.rest.api_url(), Secret::new(TOKEN)),
        interval: serverpulse_web::OUTBOX_INTERVAL,
    }
    .spawn(&tracker, cancel.clone());
    let port = shared::testing::free_port();
    let mut process = IngesterProcess::spawn(&[
        ("DATABASE_URL", database.url.expose().to_owned()),
        ("DISCORD_TOKEN", TOKEN.to_owned()),
        ("DISCORD_API_URL", sim.rest.api_url().to_owned()),
        ("DISCORD_GATEWAY_URL", sim.gateway.url().to_owned()),
        ("INGESTER_PORT", port.to_string()),
        ("RUST_LOG", "warn".to_owned()),
    ])?;

    let posts = |sim: &discord_sim::SimHandle| -> Vec<discord_sim::RecordedRequest> {
        sim.rest
            .requests()
            .into_iter()
            .filter(|r| r.route.as_deref() == Some(POST_ROUTE) && r.status < 300)
            .collect()
    };
    let replay = Duration::from_millis(
        (LEAD_MS + i64::from(guilds) * STAGGER_MS + RAID_JOINS as i64 * gap_ms) as u64,
    );
    let started = Instant::now();
    let deadline = started + replay + Duration::from_secs(60);
    while posts(&sim).len() < plan.len() {
        if let Some(status) = process.exited() {
            bail!("the ingester exited ({status}): {}", process.log_tail());
        }
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The last raid's last joins come after its crossing: wait for the end
    // of the replay and a flush, so counts and messages are final.
    tokio::time::sleep_until((started + replay + Duration::from_secs(3)).into()).await;
    let posts = posts(&sim);
    let sessions = sim.gateway.sessions();
    let sent_at = |event: usize| -> Option<i64> {
        sessions
            .iter()
            .flat_map(|s| &s.frames)
            .find(|f| f.event_index == Some(event))
            .and_then(|f| f.sends.first())
            .map(|s| s.at_ms)
    };
    let mut latencies = Vec::new();
    let mut doubled = 0;
    let mut missing = 0;
    for (_, channel, crossing) in &plan {
        let suffix = format!("/channels/{channel}/messages");
        let mine: Vec<&discord_sim::RecordedRequest> =
            posts.iter().filter(|r| r.path.ends_with(&suffix)).collect();
        match (mine.first(), sent_at(*crossing)) {
            (Some(post), Some(sent)) => latencies.push((post.at_ms - sent) as f64),
            _ => missing += 1,
        }
        doubled += mine.len().saturating_sub(1);
    }
    let incidents = shared::db::bench::alert_incident_counts(pool).await?;
    process.stop();
    cancel.cancel();
    tracker.close();
    tracker.wait().await;
    sim.shutdown().await;

    latencies.sort_by(f64::total_cmp);
    // One incident per guild whose count is every join of its raid.
    let exact = incidents
        .iter()
        .filter(|(_, count)| *count == RAID_JOINS as i64)
        .count();
    Ok(json!({
        "how": format!(
            "{guilds} guilds, one raid each ({RAID_JOINS} joins {} s apart; the {CROSSING}th crosses 10 in 60 s), replayed by the simulator in real time; the real ingester in a child process (flush every 1 s), the serve outbox worker in-process (woken by the database notification, polling every {} s); latency = simulator's wall clock at the POST minus at the crossing frame's send",
            gap_ms as f64 / 1000.0,
            serverpulse_web::OUTBOX_INTERVAL.as_secs()
        ),
        "raids": guilds,
        "posted": latencies.len(),
        "missing": missing,
        "second_posts": doubled,
        "incidents": incidents.len(),
        "incidents_with_exact_count": exact,
        "latency_ms": {
            "p50": percentile(&latencies, 0.50),
            "p99": percentile(&latencies, 0.99),
            "max": latencies.last(),
        },
    }))
}
