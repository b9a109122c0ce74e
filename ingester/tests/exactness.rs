//! A whole scenario ingested in one go: every rollup equals the ground truth,
//! and the alerts raised are exactly the truth's expected incidents.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use shared::Snowflake;
use sim_scenario::ScenarioSize;

async fn ingest_and_compare(
    seed: u64,
    size: ScenarioSize,
    limit: Duration,
) -> (common::Harness, shared::testing::TestDatabase) {
    let (scenario, truth) = common::scenario(seed, size);
    let db = common::database(&truth.guild_ids).await;
    // Tracked from the scenario's start, as the truth's baselines assume.
    let start = chrono::DateTime::from_timestamp_millis(truth.start_ms).expect("start");
    for guild in &truth.guild_ids {
        db.set_tracking_since(Snowflake(*guild), start).await;
    }
    let sim = common::start_sim(scenario, None).await;
    let config = common::config(&db.url, sim.gateway.url(), "0", 1);
    shared::telemetry::init_logging(shared::config::LogFormat::Text);
    let metrics = shared::telemetry::init_metrics("serverpulse-ingester");
    let ingester = serverpulse_testkit::ingester::spawn(config, metrics).await;
    common::wait_until_committed(&sim, &db, 1, limit).await;
    ingester.stop().await;
    for guild in &truth.guild_ids {
        common::assert_guild_equals_truth(&db, &truth, *guild, &BTreeSet::new()).await;
    }
    // The join raid, the mass deletion and, in MEDIUM, the planted drop and
    // surge; nothing else.
    common::alerts::assert_alerts_equal_truth(&db, &truth).await;
    (common::Harness { sim, truth }, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medium_scenario_equals_ground_truth() {
    let (harness, db) =
        ingest_and_compare(2026, ScenarioSize::MEDIUM, Duration::from_secs(240)).await;
    let truth = &harness.truth;
    assert!(truth.messages.len() + truth.reactions.len() >= 150_000);
    // Catalogue: every membership stint is a span, with rejoins marked, and
    // no gap was recorded for an uninterrupted run.
    for guild in &truth.guild_ids {
        let spans = shared::db::catalogue::spans_of(&db.pool, Snowflake(*guild))
            .await
            .expect("spans");
        let stints: BTreeSet<(u64, i64, bool)> = truth
            .members
            .iter()
            .filter(|m| m.guild_id == *guild)
            .map(|m| (m.user_id, m.joined_ms, m.rejoin))
            .collect();
        let stored: BTreeSet<(u64, i64, bool)> = spans
            .iter()
            .map(|s| (s.user_id.0, s.joined_at.timestamp_millis(), s.is_rejoin))
            .collect();
        assert_eq!(stored, stints, "membership spans of guild {guild}");
        assert!(common::gap_hours(&db, *guild).await.is_empty());
        // Threads archived per parent, from the catalogue's archive times.
        let scope = sim_scenario::truth::Scope::new(*guild, truth.start_ms, truth.end_ms);
        let archived_truth: std::collections::BTreeMap<u64, u64> = truth
            .threads_per_parent(&scope)
            .into_iter()
            .filter(|(_, c)| c.archived > 0)
            .map(|(p, c)| (p, c.archived))
            .collect();
        let mut archived_stored = std::collections::BTreeMap::new();
        for c in shared::db::catalogue::channels_of(&db.pool, &[Snowflake(*guild)])
            .await
            .expect("channels")
        {
            if let (Some(parent), Some(at)) = (c.parent_id, c.archived_at)
                && at.timestamp_millis() >= truth.start_ms
            {
                *archived_stored.entry(parent.0).or_insert(0u64) += 1;
            }
        }
        assert_eq!(
            archived_stored, archived_truth,
            "archived threads of guild {guild}"
        );
    }
    // ingest_and_compare checked the alerts one for one; MEDIUM plants
    // all four kinds, so each kind was checked.
    let kinds: BTreeSet<String> = truth
        .expected_alerts(&sim_scenario::truth::AlertParams::default())
        .iter()
        .map(|e| format!("{:?}", e.kind))
        .collect();
    assert_eq!(kinds.len(), 4, "MEDIUM plants all four kinds: {kinds:?}");
    harness.sim.shutdown().await;
}
