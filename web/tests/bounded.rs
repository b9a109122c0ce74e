//! Bounded work under load and attack: deferred answers are bounded in
//! number and time, forged component state is refused before any work,
//! and a replayed settings command changes nothing.

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use common::*;
use discord_sim::{RateLimitRule, RateLimitScope};
use metrics_exporter_prometheus::PrometheusHandle;
use serverpulse_web::interactions::{BUSY, Deferred};

const EDIT_ROUTE: &str = "PATCH /webhooks/{application_id}/{interaction_token}/messages/@original";

/// The one recorder of this test process (the deadline is counted).
fn recorder() -> PrometheusHandle {
    static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();
    RECORDER
        .get_or_init(|| {
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .install_recorder()
                .expect("the only recorder of this test process")
        })
        .clone()
}

/// Discord answers every edit of `@original` with a 429 for the longest
/// wait the endpoint sleeps through: deferred answers never complete.
fn edits_never_answered(app: &App) {
    app.sim.rest.set_rate_limit(RateLimitRule {
        scope: RateLimitScope::Route(EDIT_ROUTE.into()),
        retry_after: 10.0,
        count: None,
    });
}

fn overview() -> discord_sim::InteractionKind {
    command(
        "serverstats",
        vec![sub("overview", vec![string("timeframe", "7d")])],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_limit_of_deferred_answers_the_endpoint_is_busy() {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let limit = 2;
    let mut app = start_app_deferring(
        at(truth.end_ms),
        Some(recorder()),
        Deferred::new(limit, Duration::from_secs(600)),
    )
    .await;
    seed(&app, &truth, guild, "UTC").await;
    edits_never_answered(&app);
    // Only the HTTP answer matters here, not the edit that never comes.
    app.client.follow_timeout = Duration::from_millis(100);
    for _ in 0..limit {
        let outcome = send(&app, &overview(), &admin(guild)).await;
        assert_eq!(outcome.response.as_ref().unwrap()["type"], 5, "deferred");
    }
    assert_eq!(app.state.deferred.in_flight(), limit);
    let outcome = send(&app, &overview(), &admin(guild)).await;
    let response = outcome.response.as_ref().unwrap();
    assert_eq!(response["type"], 4, "answered at once: {response}");
    assert_eq!(response["data"]["content"], BUSY);
    assert_eq!(response["data"]["flags"], 64, "ephemeral");
    assert_eq!(app.state.deferred.in_flight(), limit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_answer_is_given_up_at_its_deadline() {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let mut app = start_app_deferring(
        at(truth.end_ms),
        Some(recorder()),
        Deferred::new(4, Duration::from_millis(500)),
    )
    .await;
    seed(&app, &truth, guild, "UTC").await;
    edits_never_answered(&app);
    app.client.follow_timeout = Duration::from_millis(100);
    let outcome = send(&app, &overview(), &admin(guild)).await;
    assert_eq!(outcome.response.as_ref().unwrap()["type"], 5, "deferred");
    // Without a deadline the endpoint would sleep through 429s for 40 s
    // and then stop on its retry limit, not at the deadline.
    assert!(app.state.deferred.drain(Duration::from_secs(120)).await);
    let metrics = recorder().render();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("serverpulse_deferred_expired_total") && l.ends_with(" 1")),
        "{metrics}"
    );
}
