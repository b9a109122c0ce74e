//! Slow answers are deferred and delivered by editing @original (through
//! Discord's 429s), lost hours are shown as gaps, and requests are counted.

mod common;

use std::time::Duration;

use common::*;
use discord_sim::{Delivery, RateLimitRule, RateLimitScope};
use shared::Snowflake;
use sim_scenario::truth::{LeaderboardMetric, Scope};

const EDIT_ROUTE: &str = "PATCH /webhooks/{application_id}/{interaction_token}/messages/@original";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_answers_are_deferred_then_edited_despite_rate_limits() {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    // No inline budget at all: every answer takes the deferral path.
    let app = start_app_with(at(truth.end_ms), Duration::ZERO, None).await;
    seed(&app, &truth, guild, "Europe/Berlin").await;
    let board = command(
        "leaderboard",
        vec![string("metric", "messages"), string("timeframe", "7d")],
    );
    let outcome = send(&app, &board, &admin(guild)).await;
    assert_eq!(outcome.response.as_ref().unwrap()["type"], 5, "deferred");
    let message = outcome.final_message.expect("the edit arrived");
    assert_eq!(message.delivery, Delivery::EditedOriginal);
    let scope = Scope::new(guild, truth.end_ms - 7 * DAY_MS, truth.end_ms);
    let expected: Vec<(u64, i64)> = truth
        .leaderboard(&scope, LeaderboardMetric::Messages)
        .iter()
        .take(10)
        .map(|r| (r.user_id, r.value as i64))
        .collect();
    assert_eq!(ranking_numbers(description(&message)), expected);

    // Discord answers the edit with 429 twice: the endpoint waits as told.
    app.sim.rest.set_rate_limit(RateLimitRule {
        scope: RateLimitScope::Route(EDIT_ROUTE.into()),
        retry_after: 0.2,
        count: Some(2),
    });
    let overview = command(
        "serverstats",
        vec![sub("overview", vec![string("timeframe", "7d")])],
    );
    let outcome = send(&app, &overview, &admin(guild)).await;
    let message = outcome
        .final_message
        .expect("the edit arrived after the 429s");
    assert_eq!(png_sizes(&message), vec![(960, 480)]);
    let edits: Vec<u16> = app
        .sim
        .rest
        .requests()
        .into_iter()
        .filter(|r| r.path.contains(&outcome.token) && r.method == "PATCH")
        .map(|r| r.status)
        .collect();
    assert_eq!(edits, vec![429, 429, 200]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_gaps_are_shown_as_gaps_not_zeros() {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let app = start_app(at(truth.end_ms)).await;
    seed(&app, &truth, guild, "UTC").await;
    // The ingester lost 26 October 02:00–05:00 UTC.
    let gap_start = at(truth.start_ms + 6 * DAY_MS + 2 * 3_600_000);
    let gap_end = at(truth.start_ms + 6 * DAY_MS + 5 * 3_600_000);
    shared::db::ingest::record_gaps(
        &app.db.pool,
        &[Snowflake(guild)],
        gap_start,
        gap_end,
        "resume refused",
    )
    .await
    .unwrap();
    let activity = command(
        "serverstats",
        vec![sub(
            "activity",
            vec![string("timeframe", "7d"), string("type", "messages")],
        )],
    );
    let message = final_message(&app, &activity, &admin(guild)).await;
    let days = per_day(description(&message));
    let gap_day = chrono::NaiveDate::from_ymd_opt(2026, 10, 26).unwrap();
    assert_eq!(days[&gap_day], "gap (events lost)");
    assert!(
        days.iter()
            .filter(|(d, _)| **d != gap_day)
            .all(|(_, v)| v != "gap (events lost)")
    );
    let note = field(&message, "⚠ Data gaps");
    assert!(
        note.contains("2026-10-26 02:00 → 2026-10-26 05:00 (resume refused)"),
        "{note}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactions_are_counted_in_the_metrics() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("the only recorder of this test process");
    let app = start_app_with(
        at(DST_START_MS),
        serverpulse_web::interactions::INLINE_BUDGET,
        Some(recorder),
    )
    .await;
    let ping = br#"{"type":1}"#;
    let (status, _) = app
        .client
        .post_signed(ping, app.client.keys())
        .await
        .unwrap();
    assert_eq!(status, 200);
    let forged = discord_sim::InteractionKeys::generate();
    let (status, _) = app.client.post_signed(ping, &forged).await.unwrap();
    assert_eq!(status, 401);
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains(r#"serverpulse_interactions_total{kind="ping",outcome="ok"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics
            .contains(r#"serverpulse_interactions_total{kind="unknown",outcome="unauthorized"} 1"#)
    );
    assert!(metrics.contains("serverpulse_interaction_seconds"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_after_a_deferral_is_an_ephemeral_follow_up() {
    let guild = 1_300_000_000_000_000_001u64;
    let mut app = start_app_with(at(DST_START_MS), Duration::ZERO, None).await;
    app.client.follow_timeout = Duration::from_millis(500);
    enable_tracking(&app, guild, "UTC").await;
    app.db.pool.close().await;
    let overview = command("serverstats", vec![sub("overview", vec![])]);
    let outcome = send(&app, &overview, &admin(guild)).await;
    assert_eq!(outcome.response.as_ref().unwrap()["type"], 5, "deferred");
    // The follow-up arrives after the deferral; wait for it (bounded).
    let mut followups = Vec::new();
    for _ in 0..50 {
        followups = app
            .sim
            .rest
            .interaction(&outcome.token)
            .map(|r| r.followups)
            .unwrap_or_default();
        if !followups.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(followups.len(), 1, "one notice");
    let notice = &followups[0].message;
    assert_eq!(
        notice["flags"].as_u64().unwrap_or(0) & 64,
        64,
        "ephemeral: {notice}"
    );
    assert!(
        notice["content"]
            .as_str()
            .unwrap()
            .contains("database is unavailable")
    );
    let deleted = app
        .sim
        .rest
        .requests()
        .into_iter()
        .any(|r| r.method == "DELETE" && r.path.contains(&outcome.token) && r.status < 300);
    assert!(deleted, "the public 'thinking' message is removed");
}
