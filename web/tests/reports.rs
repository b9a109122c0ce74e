//! Every report's figures against the scenario's ground truth, with
//! rollups and catalogue seeded from the ground truth the way the ingester
//! writes them: Europe/Berlin, whose 25 October 2026 has 25 hours.

mod checks;
mod common;

use checks::Fixture;
use common::*;

async fn fixture() -> Fixture {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let app = start_app(at(truth.end_ms)).await;
    seed(&app, &truth, guild, "Europe/Berlin").await;
    Fixture {
        app,
        truth,
        guild,
        dst_day: chrono::NaiveDate::from_ymd_opt(2026, 10, 25).unwrap(),
        content_known: true,
        count_bots: false,
    }
}

/// The same data, with the guild counting bots (set through `/setup`).
async fn fixture_counting_bots() -> Fixture {
    let mut f = fixture().await;
    f.count_bots(true).await;
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_and_activity_equal_ground_truth_in_berlin_across_dst() {
    checks::overview_and_activity(&fixture().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_channels_and_trends_equal_ground_truth() {
    checks::members_channels_and_trends(&fixture().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_channel_comparative_and_rankings_equal_ground_truth() {
    checks::member_channel_comparative_and_rankings(&fixture().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_without_manage_server_see_no_private_channel() {
    checks::channel_privacy(&fixture().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_count_bots_overview_and_activity_count_bots_as_the_truth_does() {
    checks::overview_and_activity(&fixture_counting_bots().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_count_bots_members_channels_and_trends_count_bots_as_the_truth_does() {
    checks::members_channels_and_trends(&fixture_counting_bots().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_count_bots_member_channel_comparative_and_rankings_count_bots_as_the_truth_does() {
    checks::member_channel_comparative_and_rankings(&fixture_counting_bots().await).await;
}
