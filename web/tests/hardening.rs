//! The endpoint under a locked database, slow clients and failing Discord
//! calls: it keeps answering, and no secret reaches an error's text.

use std::net::SocketAddr;
use std::time::Duration;

use discord_sim::{
    CommandOption, InteractionClient, InteractionKeys, InteractionKind, Invoker, OptionValue,
    SimConfig, SimHandle,
};
use serde_json::{Value, json};
use shared::config::WebConfig;
use shared::testing::TestDatabase;
use sim_scenario::Scenario;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "hardening-bot-token";
/// A bound on each test's waits, far above what the code needs.
const PATIENCE: Duration = Duration::from_secs(60);

struct Web {
    public: SocketAddr,
    ops: SocketAddr,
    db: TestDatabase,
    client: InteractionClient,
    _sim: SimHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Web {
    async fn stop(mut self) {
        let _ = self.stop.take().map(|stop| stop.send(()));
        tokio::time::timeout(PATIENCE, &mut self.server)
            .await
            .expect("the server stops")
            .expect("the server task ends")
            .expect("the server stops cleanly");
    }
}

/// The whole endpoint as the binary runs it (`serve`: its own pool, its
/// own listeners), configured by `extra` variables.
async fn start_web(extra: &[(&str, &str)]) -> Web {
    let db = TestDatabase::create().await;
    let scenario = Scenario {
        seed: 0,
        start_ms: 0,
        days: 0,
        guilds: Vec::new(),
        events: Vec::new(),
    };
    let sim = discord_sim::start(SimConfig::new(TOKEN), scenario)
        .await
        .expect("simulator starts");
    let keys = InteractionKeys::generate();
    let app_id = discord_sim::DEFAULT_APPLICATION_ID.to_string();
    let public_key = keys.public_key_hex();
    let api = sim.rest.api_url();
    let mut vars: Vec<(&str, &str)> = vec![
        ("DATABASE_URL", &db.url),
        ("DISCORD_TOKEN", TOKEN),
        ("DISCORD_APPLICATION_ID", &app_id),
        ("DISCORD_PUBLIC_KEY", &public_key),
        ("DISCORD_API_URL", &api),
    ];
    vars.extend_from_slice(extra);
    let config = WebConfig::from_source(vars.as_slice()).expect("test configuration");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = listener.local_addr().unwrap();
    let ops_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ops = ops_listener.local_addr().unwrap();
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .build_recorder()
        .handle();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serverpulse_web::serve(
        config,
        listener,
        ops_listener,
        metrics,
        async move {
            let _ = stopped.await;
        },
    ));
    let mut client = InteractionClient::new(
        format!("http://{public}/interactions"),
        sim.rest.url(),
        keys,
    );
    client.follow_timeout = Duration::from_secs(5);
    Web {
        public,
        ops,
        db,
        client,
        _sim: sim,
        stop: Some(stop),
        server,
    }
}

fn overview() -> InteractionKind {
    InteractionKind::Command {
        name: "serverstats".into(),
        options: vec![CommandOption::new(
            "overview",
            OptionValue::Subcommand(Vec::new()),
        )],
    }
}

/// A table every command reads first is locked by another session: each
/// command still answers at once with a notice only the user sees, instead
/// of a public "thinking…" that waits for the lock. More commands than pool
/// connections meet the pool's acquire timeout the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_table_becomes_an_inline_notice() {
    let web = start_web(&[("DATABASE_MAX_CONNECTIONS", "2")]).await;
    let mut lock = web.db.pool.begin().await.unwrap();
    sqlx::query("lock table guild_settings in access exclusive mode")
        .execute(&mut *lock)
        .await
        .unwrap();

    let invoker = Invoker::admin(1, 2);
    let command = overview();
    let sends = (0..4).map(|_| web.client.send(&command, &invoker));
    let outcomes = tokio::time::timeout(PATIENCE, futures_util::future::join_all(sends))
        .await
        .expect("the commands are answered while the lock is held");
    for outcome in outcomes {
        let outcome = outcome.expect("interaction round trip");
        let response = outcome.response.expect("a JSON answer");
        assert_eq!(response["type"], 4, "answered inline: {response}");
        let data = &response["data"];
        assert_eq!(
            data["flags"].as_u64().unwrap_or(0) & 64,
            64,
            "only the user sees it: {response}"
        );
        let content = data["content"].as_str().unwrap_or_default();
        assert!(
            content.contains("unavailable") && content.contains("try again"),
            "tells the user to try again: {content}"
        );
    }

    lock.rollback().await.unwrap();
    web.stop().await;
}

/// With one pool connection held by a command that waits on the lock
/// without limit, the next command cannot get a connection: it answers
/// "try again" inline once the pool's acquire timeout passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_pool_becomes_an_inline_notice() {
    let web = start_web(&[
        ("DATABASE_MAX_CONNECTIONS", "1"),
        ("DATABASE_LOCK_TIMEOUT_MS", "0"),
    ])
    .await;
    let mut lock = web.db.pool.begin().await.unwrap();
    sqlx::query("lock table guild_settings in access exclusive mode")
        .execute(&mut *lock)
        .await
        .unwrap();

    let invoker = Invoker::admin(1, 2);
    let command = overview();
    let (first, second) = tokio::join!(
        web.client.send(&command, &invoker),
        web.client.send(&command, &invoker),
    );
    let mut kinds: Vec<u64> = Vec::new();
    for outcome in [first, second] {
        let response = outcome
            .expect("interaction round trip")
            .response
            .expect("JSON");
        kinds.push(response["type"].as_u64().unwrap_or(0));
        if response["type"] == 4 {
            let content = response["data"]["content"].as_str().unwrap_or_default();
            assert!(content.contains("unavailable"), "{content}");
            assert_eq!(response["data"]["flags"].as_u64().unwrap_or(0) & 64, 64);
        }
    }
    kinds.sort_unstable();
    // One waits on the lock (deferred), the other is told to try again.
    assert_eq!(kinds, [4, 5]);

    lock.rollback().await.unwrap();
    web.stop().await;
}

/// Fifty clients that never finish their headers hold no connection past
/// the header timeout, and a signed PING is answered meanwhile, even with a
/// connection limit below their number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_closed_and_pings_still_answered() {
    let web = start_web(&[
        ("HTTP_MAX_CONNECTIONS", "20"),
        ("HTTP_HEADER_TIMEOUT_MS", "1000"),
    ])
    .await;
    let mut stalled = Vec::new();
    for _ in 0..50 {
        let mut stream = TcpStream::connect(web.public).await.unwrap();
        stream
            .write_all(b"POST /interactions HTTP/1.1\r\nHost: serverpulse\r\nContent-Le")
            .await
            .unwrap();
        stalled.push(stream);
    }

    let ping = br#"{"type":1,"id":"1","application_id":"1","token":"t","version":1}"#;
    let (status, body) =
        tokio::time::timeout(PATIENCE, web.client.post_signed(ping, web.client.keys()))
            .await
            .expect("the PING is answered")
            .expect("PING round trip");
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"type": 1})
    );

    // The server ends every stalled connection (end of stream or a reset).
    for stream in &mut stalled {
        let mut rest = Vec::new();
        let ended = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest))
            .await
            .expect("the server closes a half-sent request");
        if let Ok(read) = ended {
            let text = String::from_utf8_lossy(&rest[..read]);
            assert!(
                read == 0 || text.starts_with("HTTP/1.1 408"),
                "only a timeout answer, if any: {text}"
            );
        }
    }
    web.stop().await;
}

/// A follow-up to an unreachable Discord fails with an error whose text,
/// causes included, carries no interaction token.
#[tokio::test]
async fn a_failing_webhook_call_does_not_show_the_token() {
    // Nothing listens on port 1.
    let rest = serverpulse_web::discord::DiscordRest::new(
        "http://127.0.0.1:1/api/v10",
        shared::config::Secret::new("bot-token"),
        shared::Snowflake(1234),
    );
    let token = "aW50ZXJhY3Rpb246c2VjcmV0LXRva2Vu";
    let errors = [
        rest.follow_up(token, &json!({"content": "hi"}), &[])
            .await
            .unwrap_err(),
        rest.edit_original(token, json!({"content": "hi"}), &[])
            .await
            .unwrap_err(),
        rest.delete_original(token).await.unwrap_err(),
    ];
    for error in errors {
        let mut shown = format!("{error} / {error:?}");
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            shown.push_str(&format!(" / {cause} / {cause:?}"));
            source = cause.source();
        }
        assert!(!shown.contains(token), "token in the error: {shown}");
        assert!(
            !shown.contains("bot-token"),
            "bot token in the error: {shown}"
        );
    }
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let response = tokio::time::timeout(PATIENCE, reqwest::get(format!("http://{addr}{path}")))
        .await
        .expect("an answer")
        .expect("an HTTP answer");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// The public port serves interactions and liveness only; readiness and
/// metrics are on the ops port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_and_metrics_are_only_on_the_ops_port() {
    let web = start_web(&[]).await;
    assert_eq!(get(web.public, "/healthz").await.0, 200);
    assert_eq!(get(web.public, "/metrics").await.0, 404);
    assert_eq!(get(web.public, "/readyz").await.0, 404);
    assert_eq!(get(web.ops, "/healthz").await.0, 200);
    assert_eq!(get(web.ops, "/readyz").await, (200, "ready\n".to_owned()));
    assert_eq!(get(web.ops, "/metrics").await.0, 200);
    assert_eq!(get(web.ops, "/interactions").await.0, 404);
    web.stop().await;
}
