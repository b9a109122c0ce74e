//! Channel privacy through the real ingester: the @everyone permissions of
//! GUILD_CREATE and the @everyone overwrites of GUILD_CREATE's channels and
//! of CHANNEL_UPDATE land in the catalogue, so `private_channels` names
//! exactly the channels and threads @everyone cannot view.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use shared::Snowflake;
use shared::db::catalogue;
use shared::testing::TestDatabase;
use sim_scenario::truth::GroundTruth;
use sim_scenario::{Scenario, ScenarioSize, Script};

async fn ingest(scenario: Scenario, truth: &GroundTruth) -> TestDatabase {
    let db = common::database(&truth.guild_ids).await;
    let sim = common::start_sim(scenario, None).await;
    let config = common::config(&db.url, sim.gateway.url(), "0", 1);
    let metrics = shared::telemetry::init_metrics("serverpulse-ingester");
    let ingester = serverpulse_testkit::ingester::spawn(config, metrics).await;
    common::wait_until_committed(&sim, &db, 1, Duration::from_secs(60)).await;
    ingester.stop().await;
    db
}

fn private_in_truth(truth: &GroundTruth, guild: u64) -> Vec<Snowflake> {
    let ids: BTreeSet<u64> = truth
        .private_channels(guild)
        .iter()
        .map(|c| c.channel_id)
        .collect();
    ids.into_iter().map(Snowflake).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrites_from_guild_create_land_in_the_catalogue() {
    let (scenario, truth) = common::scenario(3, ScenarioSize::TINY);
    let db = ingest(scenario, &truth).await;
    for &guild in &truth.guild_ids {
        let expected = private_in_truth(&truth, guild);
        assert!(
            expected.iter().any(|c| truth
                .channels
                .iter()
                .any(|f| f.channel_id == c.0 && f.name == "mod-only")),
            "#mod-only is private"
        );
        let stored = catalogue::private_channels(&db.pool, Snowflake(guild))
            .await
            .unwrap();
        assert_eq!(stored, expected, "guild {guild}");
        let guilds = catalogue::guilds(&db.pool).await.unwrap();
        let row = guilds.iter().find(|g| g.guild_id.0 == guild).unwrap();
        assert_eq!(
            row.everyone_permissions,
            Some(1_071_698_660_929),
            "the @everyone role's permissions"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_updates_make_channels_private_and_public() {
    let day = 86_400_000;
    let start = (chrono::Utc::now().timestamp_millis() / day + 1) * day;
    let mut script = Script::new(4_242_000_000_000_000_000, start, 1);
    script
        .channel(11, 0, "general", None)
        .channel(12, 0, "staff", None)
        .channel(13, 0, "lounge", None)
        .member(100, "ann", false, start - 5_000)
        .thread_at_start(20, 12, 11, 100)
        .thread_at_start(21, 11, 11, 100);
    script
        .set_channel_private(start + 1_000, 12, true)
        .set_channel_private(start + 2_000, 13, true)
        .set_channel_private(start + 3_000, 13, false);
    script.message(start + 4_000, 11, 100, 0, 0, 0);
    let (scenario, truth) = script.finish();
    let guild = truth.guild_ids[0];
    let db = ingest(scenario, &truth).await;
    let stored = catalogue::private_channels(&db.pool, Snowflake(guild))
        .await
        .unwrap();
    // #staff and its thread; #lounge was private for a second only.
    assert_eq!(stored, vec![Snowflake(12), Snowflake(20)]);
    assert_eq!(stored, private_in_truth(&truth, guild));
    let channels = catalogue::channels_of(&db.pool, &[Snowflake(guild)])
        .await
        .unwrap();
    let staff = channels.iter().find(|c| c.channel_id.0 == 12).unwrap();
    assert_eq!((staff.everyone_allow, staff.everyone_deny), (0, 1 << 10));
}
