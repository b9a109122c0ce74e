//! The real binary, stopped the way Fly and systemd stop it: SIGTERM while
//! a chart answer is being prepared (its edit of `@original` held back by
//! Discord's rate limit). The process exits 0 only after the answer was
//! delivered, and the simulator records the edit.

mod common;

use std::time::Duration;

use common::*;
use discord_sim::{RateLimitRule, RateLimitScope};
use shared::testing::ChildProcess;

const BINARY: &str = env!("CARGO_BIN_EXE_serverpulse-web");
const EDIT_ROUTE: &str = "PATCH /webhooks/{application_id}/{interaction_token}/messages/@original";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_delivers_the_chart_answer_being_prepared() {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let app = start_app(at(truth.end_ms)).await;
    seed(&app, &truth, guild, "UTC").await;
    let keys =
        discord_sim::InteractionKeys::from_secret_hex(&app.client.keys().secret_hex()).unwrap();
    let port = shared::testing::free_port();
    let ops_port = shared::testing::free_port();
    let env: Vec<(&str, String)> = vec![
        ("DATABASE_URL", app.db.url.clone()),
        ("DISCORD_TOKEN", TOKEN.to_owned()),
        (
            "DISCORD_APPLICATION_ID",
            discord_sim::DEFAULT_APPLICATION_ID.to_string(),
        ),
        ("DISCORD_PUBLIC_KEY", keys.public_key_hex()),
        ("DISCORD_API_URL", app.sim.rest.api_url()),
        ("PORT", port.to_string()),
        ("OPS_PORT", ops_port.to_string()),
        ("RUST_LOG", "warn,serverpulse_web=info".to_owned()),
    ];
    let mut process = ChildProcess::spawn(BINARY, &["serve"], &env);
    assert!(
        process.wait_for_ok(
            ([127, 0, 0, 1], ops_port).into(),
            "/readyz",
            Duration::from_secs(30)
        ),
        "the endpoint never became ready: {}",
        process.stderr()
    );
    // Discord keeps the edit waiting for a while with 429s.
    app.sim.rest.set_rate_limit(RateLimitRule {
        scope: RateLimitScope::Route(EDIT_ROUTE.into()),
        retry_after: 1.0,
        count: Some(2),
    });
    let mut client = discord_sim::InteractionClient::new(
        format!("http://127.0.0.1:{port}/interactions"),
        app.sim.rest.url(),
        keys,
    );
    client.follow_timeout = Duration::from_secs(30);
    // A chart of custom dates (the binary's clock is the real one).
    let form = discord_sim::InteractionKind::ModalSubmit {
        custom_id: "sp1|tf|ov".into(),
        fields: vec![
            ("sp1|from".into(), "2026-10-21".into()),
            ("sp1|to".into(), "2026-10-28".into()),
        ],
    };
    let invoker = admin(guild);
    let sent = tokio::spawn(async move { client.send(&form, &invoker).await });
    let held_back = app
        .sim
        .rest
        .wait_for_request(Duration::from_secs(60), |r| {
            r.method == "PATCH" && r.status == 429
        })
        .await;
    assert!(held_back.is_some(), "the chart's edit started");
    let delivered_before = |app: &App| {
        app.sim
            .rest
            .requests()
            .into_iter()
            .any(|r| r.method == "PATCH" && r.status == 200)
    };
    assert!(
        !delivered_before(&app),
        "SIGTERM comes while the edit waits"
    );
    process.signal("TERM");
    let status = process.wait_exit(Duration::from_secs(40));
    let stderr = process.stderr();
    assert!(status.success(), "exit on SIGTERM: {status}: {stderr}");
    assert!(
        delivered_before(&app),
        "the process exited before the answer was delivered: {stderr}"
    );
    let outcome = sent.await.unwrap().unwrap();
    let message = outcome.final_message.expect("the chart answer");
    assert_eq!(png_sizes(&message), vec![(960, 480)]);
}
