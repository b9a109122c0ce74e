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

fn clicked_message(channel: u64) -> serde_json::Value {
    serde_json::json!({
        "id": "1300000000000000100", "channel_id": channel.to_string(),
        "author": {"id": discord_sim::DEFAULT_APPLICATION_ID.to_string(), "username": "ServerPulse",
                   "discriminator": "0", "avatar": null, "bot": true},
        "content": "", "timestamp": "2026-10-30T00:00:00.000000+00:00", "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
        "pinned": false, "type": 0, "components": [],
    })
}

fn click(custom_id: &str, guild: u64) -> discord_sim::InteractionKind {
    discord_sim::InteractionKind::Component {
        custom_id: custom_id.to_owned(),
        component_type: 2,
        values: Vec::new(),
        message: clicked_message(guild + 1),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_component_state_is_refused_with_a_clear_notice() {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let app = start_app(at(truth.end_ms)).await;
    seed(&app, &truth, guild, "UTC").await;
    let day = 86_400i64;
    let start = 1_577_836_800; // 2020-01-01
    let forty_thousand_years = start + 40_000 * 365 * day;
    let ancient = -3_217_862_400_000i64; // about 100,000 years BC
    let cannot_read = "ServerPulse cannot read this component; run the command again.";
    let forged = [
        (
            format!("sp1|r|ov|c{start}_{forty_thousand_years}"),
            "Choose at most 400 days.",
        ),
        (
            format!("sp1|r|tr:messages|c{start}_{forty_thousand_years}"),
            "Choose at most 400 days.",
        ),
        (
            format!("sp1|r|ov|c{ancient}_{}", ancient + 10 * day),
            "Choose dates between 2015-01-01 and 9999-12-31.",
        ),
        (
            format!("sp1|r|ov|c{start}_{}", start + 401 * day),
            "Choose at most 400 days.",
        ),
        (
            format!("sp1|r|lb:-:messages:{}|7d", u32::MAX),
            "Leaderboards have at most 100000 pages; run /leaderboard again.",
        ),
        (format!("sp1|r|lb:-:messages:{}|7d", i64::MAX), cannot_read),
        ("sp1|r|lb:-:messages:-1|7d".to_owned(), cannot_read),
    ];
    for (custom_id, notice) in &forged {
        let outcome = send(&app, &click(custom_id, guild), &admin(guild)).await;
        let response = outcome.response.as_ref().unwrap();
        assert_eq!(response["type"], 4, "{custom_id}: {response}");
        assert_eq!(response["data"]["flags"], 64, "{custom_id}: ephemeral");
        assert_eq!(response["data"]["content"], *notice, "{custom_id}");
    }
    // The form has the same limits and says so in the same words.
    let form = discord_sim::InteractionKind::ModalSubmit {
        custom_id: "sp1|tf|ov".into(),
        fields: vec![
            ("sp1|from".into(), "2024-01-01".into()),
            ("sp1|to".into(), "2026-01-01".into()),
        ],
    };
    let outcome = send(&app, &form, &admin(guild)).await;
    assert_eq!(
        outcome.response.as_ref().unwrap()["data"]["content"],
        "Choose at most 400 days."
    );
    // A page past the last is shown as the last.
    let outcome = send(
        &app,
        &click("sp1|r|lb:-:messages:5000|7d", guild),
        &admin(guild),
    )
    .await;
    let message = outcome.final_message.expect("the last page");
    let page = field(&message, "Page");
    let (shown, of) = page.split_once(" of ").expect(page);
    assert_eq!(shown, of, "{page}");
    // And the endpoint still answers a PING.
    let (status, body) = app
        .client
        .post_signed(br#"{"type":1}"#, app.client.keys())
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["type"],
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_settings_command_changes_nothing() {
    let app = start_app(at(DST_START_MS)).await;
    let guild = 1_200_000_000_000_000_001u64;
    let g = shared::Snowflake(guild);
    let updates = 1_200_000_000_000_000_050u64;
    let kind = command(
        "set-update-channel",
        vec![channel("channel", updates, "updates", 0)],
    );
    let payload = discord_sim::interactions::interaction_payload(
        &kind,
        &admin(guild),
        discord_sim::DEFAULT_APPLICATION_ID,
        discord_sim::interactions::fresh_id(),
        &discord_sim::interactions::fresh_token(),
    );
    let body = serde_json::to_vec(&payload).unwrap();
    let answer = async || {
        let (status, answer) = app
            .client
            .post_signed(&body, app.client.keys())
            .await
            .unwrap();
        assert_eq!(status, 200);
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        answer["data"]["content"].as_str().unwrap().to_owned()
    };
    assert!(answer().await.starts_with("Alerts will go to"));
    let settings = shared::db::settings::load(&app.db.pool, g).await.unwrap();
    assert_eq!(settings.update_channel_id, Some(shared::Snowflake(updates)));
    // The same signed request again, within the signature's window.
    assert_eq!(
        answer().await,
        serverpulse_web::commands::settings::ALREADY_APPLIED
    );
    let audit = shared::db::settings::audit_trail(&app.db.pool, g, 50)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
}

/// A SIGTERM while a chart answer is on its way to Discord: `serve`
/// returns only once the answer was delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_delivers_answers_being_prepared() {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let app = start_app(at(truth.end_ms)).await;
    seed(&app, &truth, guild, "UTC").await;
    // A second endpoint, started the way the binary starts it.
    let app_id = discord_sim::DEFAULT_APPLICATION_ID.to_string();
    let keys =
        discord_sim::InteractionKeys::from_secret_hex(&app.client.keys().secret_hex()).unwrap();
    let public_key = keys.public_key_hex();
    let api = app.sim.rest.api_url();
    let vars: Vec<(&str, &str)> = vec![
        ("DATABASE_URL", &app.db.url),
        ("DISCORD_TOKEN", TOKEN),
        ("DISCORD_APPLICATION_ID", &app_id),
        ("DISCORD_PUBLIC_KEY", &public_key),
        ("DISCORD_API_URL", &api),
    ];
    let config = shared::config::WebConfig::from_source(vars.as_slice()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/interactions", listener.local_addr().unwrap());
    let ops_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serverpulse_web::serve(
        config,
        listener,
        ops_listener,
        recorder(),
        async {
            let _ = stopped.await;
        },
    ));
    let mut client = discord_sim::InteractionClient::new(endpoint, app.sim.rest.url(), keys);
    client.follow_timeout = Duration::from_secs(30);
    // Discord keeps the edit waiting for a while with 429s.
    app.sim.rest.set_rate_limit(RateLimitRule {
        scope: RateLimitScope::Route(EDIT_ROUTE.into()),
        retry_after: 1.0,
        count: Some(2),
    });
    // Custom dates: the server's clock is the real one.
    let form = discord_sim::InteractionKind::ModalSubmit {
        custom_id: "sp1|tf|ov".into(),
        fields: vec![
            ("sp1|from".into(), "2026-10-21".into()),
            ("sp1|to".into(), "2026-10-28".into()),
        ],
    };
    let invoker = admin(guild);
    let sent = tokio::spawn(async move { client.send(&form, &invoker).await });
    let first_edit = app
        .sim
        .rest
        .wait_for_request(Duration::from_secs(60), |r| {
            r.method == "PATCH" && r.status == 429
        })
        .await;
    assert!(first_edit.is_some(), "the edit started");
    stop.send(()).unwrap();
    server.await.unwrap().expect("serve stops cleanly");
    let delivered = app
        .sim
        .rest
        .requests()
        .into_iter()
        .any(|r| r.method == "PATCH" && r.status == 200);
    assert!(delivered, "serve returned before the answer was delivered");
    let outcome = sent.await.unwrap().unwrap();
    let message = outcome.final_message.expect("the chart answer");
    assert_eq!(png_sizes(&message), vec![(960, 480)]);
}

/// An edit can reach Discord before the deferral it follows (files are
/// uploaded by editing `@original` while the HTTP answer is still on its
/// way); Discord then answers 404. The edit is tried again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_refused_before_the_deferral_is_seen_is_tried_again() {
    let (_, truth) = dst_scenario(10);
    let guild = truth.guild_ids[0];
    let app = start_app(at(truth.end_ms)).await;
    seed(&app, &truth, guild, "UTC").await;
    app.sim
        .rest
        .inject_fault(discord_sim::RestFault::server_error(EDIT_ROUTE, 404, 1));
    let outcome = app
        .client
        .send(&overview(), &admin(guild))
        .await
        .expect("interaction round trip");
    let message = outcome
        .final_message
        .expect("the edit arrived after the 404");
    assert_eq!(png_sizes(&message), vec![(960, 480)]);
    let edits: Vec<u16> = app
        .sim
        .rest
        .requests()
        .into_iter()
        .filter(|r| r.path.contains(&outcome.token) && r.method == "PATCH")
        .map(|r| r.status)
        .collect();
    assert_eq!(edits, vec![404, 200]);
}
