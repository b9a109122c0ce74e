//! End to end: a simulated Discord streams a scenario through the real
//! ingester into PostgreSQL; an admin enables tracking with /setup (in
//! Europe/Berlin) through signed interactions, and every report equals the
//! generator's ground truth, with bots left out and then, after
//! `/setup count_bots:true`, with bots counted. The data holds Berlin's spring-forward day
//! (28 March 2027, 23 hours).

mod checks;
mod common;

use std::time::Duration;

use checks::Fixture;
use common::*;

/// 2027-03-24T00:00:00Z: after tracking is enabled (now), and ten days from
/// here hold the spring DST change.
const SPRING_START_MS: i64 = 1_805_846_400_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_through_the_real_ingester_equal_ground_truth() {
    let (scenario, truth) = sim_scenario::generate_from(
        17,
        sim_scenario::ScenarioSize {
            guilds: 1,
            members_per_guild: 60,
            days: 10,
            messages_per_member_day: 4.0,
        },
        SPRING_START_MS,
    );
    assert!(
        SPRING_START_MS > chrono::Utc::now().timestamp_millis(),
        "the scenario starts after tracking"
    );
    let guild = truth.guild_ids[0];
    let app = start_app_serving(at(truth.end_ms), scenario).await;

    // Tracking is enabled the way an admin does it.
    let setup = command(
        "setup",
        vec![
            string("timezone", "Europe/Berlin"),
            string("channels", "all"),
        ],
    );
    let answer = final_message(&app, &setup, &admin(guild)).await;
    assert_eq!(field(&answer, "Tracking"), "on");

    ingest_everything(&app, Duration::from_secs(120)).await;

    let mut fixture = Fixture {
        app,
        truth,
        guild,
        dst_day: chrono::NaiveDate::from_ymd_opt(2027, 3, 28).unwrap(),
        content_known: false,
        count_bots: false,
        // Tracking was on before the scenario began: every previous period
        // is compared (with nothing before the scenario's start).
        data_since_ms: None,
    };
    checks::overview_and_activity(&fixture).await;
    checks::members_channels_and_trends(&fixture).await;
    checks::member_channel_comparative_and_rankings(&fixture).await;
    checks::channel_privacy(&fixture).await;
    checks::figures::emoji_and_reactions_received(&fixture).await;
    checks::figures::threads_and_deletions(&fixture).await;
    checks::figures::channel_health(&fixture).await;
    checks::figures::member_presence(&fixture).await;
    checks::figures::community_health(&fixture).await;
    // Every voice session ends inside the scenario: nobody is in voice.
    checks::figures::voice_now(&fixture, fixture.truth.end_ms, None).await;

    // The same data with bots counted: every figure now equals the truth
    // with bots included.
    fixture.count_bots(true).await;
    checks::overview_and_activity(&fixture).await;
    checks::members_channels_and_trends(&fixture).await;
    checks::member_channel_comparative_and_rankings(&fixture).await;
    checks::figures::emoji_and_reactions_received(&fixture).await;
    checks::figures::threads_and_deletions(&fixture).await;
    checks::figures::channel_health(&fixture).await;
}
