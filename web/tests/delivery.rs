//! The outbox delivery path against a small in-test Discord that speaks its
//! rate-limit headers, 429s, 5xx, 403s and nonce deduplication.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::{Json, Router};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use serverpulse_web::delivery::{self, LEASE, Poster};
use shared::Snowflake;
use shared::config::Secret;
use shared::db::outbox::{self, NewOutboxItem, OutboxFile, OutboxKind, OutboxState};
use shared::db::{digest_settings, settings};
use shared::testing::TestDatabase;

const TOKEN: &str = "delivery-test-token";
const GUILD: Snowflake = Snowflake(61);
/// Answers 2 requests per 300 ms window with bucket headers.
const BUSY: u64 = 7001;
/// First request: 429 with retry_after 0.2 s.
const LIMITED: u64 = 7002;
/// First two requests: 502.
const FLAKY: u64 = 7003;
/// 403 Missing Permissions.
const FORBIDDEN: u64 = 7004;
const WINDOW: Duration = Duration::from_millis(300);
const PER_WINDOW: u32 = 2;

#[derive(Debug, Clone)]
struct Posted {
    id: u64,
    channel: u64,
    nonce: Option<String>,
    payload: Value,
    files: Vec<String>,
}

#[derive(Default)]
struct Discord {
    messages: Vec<Posted>,
    requests: HashMap<u64, u32>,
    /// Requests that arrived while the bucket or a 429 said to wait.
    violations: u32,
    window_start: Option<Instant>,
    used: u32,
    closed_until: Option<Instant>,
    bad_auth: u32,
    next_id: u64,
}

type Shared = Arc<Mutex<Discord>>;

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

/// Decides the answer's status before the body is read.
#[allow(clippy::result_large_err)] // a test server's answer, built once per request
fn gate(discord: &mut Discord, channel: u64, headers: &HeaderMap) -> Result<HeaderMap, Response> {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bot {TOKEN}")) {
        discord.bad_auth += 1;
        return Err(error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized"));
    }
    let now = Instant::now();
    let seen = {
        let n = discord.requests.entry(channel).or_default();
        *n += 1;
        *n
    };
    if discord.closed_until.is_some_and(|until| now < until) {
        discord.violations += 1;
    }
    let mut out = HeaderMap::new();
    match channel {
        FORBIDDEN => return Err(error(StatusCode::FORBIDDEN, 50013, "Missing Permissions")),
        FLAKY if seen <= 2 => return Err(error(StatusCode::BAD_GATEWAY, 0, "upstream")),
        LIMITED if seen == 1 => {
            discord.closed_until = Some(now + Duration::from_millis(200));
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({"message": "You are being rate limited.", "retry_after": 0.2, "global": false})),
            )
                .into_response();
            response
                .headers_mut()
                .insert("x-ratelimit-scope", "user".parse().unwrap());
            return Err(response);
        }
        BUSY => {
            let start = *discord.window_start.get_or_insert(now);
            if now.duration_since(start) >= WINDOW {
                discord.window_start = Some(now);
                discord.used = 0;
            }
            if discord.used >= PER_WINDOW {
                discord.violations += 1;
                return Err(error(StatusCode::TOO_MANY_REQUESTS, 0, "bucket exhausted"));
            }
            discord.used += 1;
            let start = discord.window_start.unwrap();
            let reset_after = WINDOW.saturating_sub(now.duration_since(start));
            out.insert("x-ratelimit-bucket", "busybucket".parse().unwrap());
            out.insert("x-ratelimit-limit", PER_WINDOW.to_string().parse().unwrap());
            out.insert(
                "x-ratelimit-remaining",
                (PER_WINDOW - discord.used).to_string().parse().unwrap(),
            );
            out.insert(
                "x-ratelimit-reset-after",
                format!("{:.3}", reset_after.as_secs_f64()).parse().unwrap(),
            );
        }
        _ => {}
    }
    Ok(out)
}

async fn body_of(request: Request) -> (Value, Vec<String>) {
    let multipart = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    if !multipart {
        let Json(value) = Json::<Value>::from_request(request, &()).await.unwrap();
        return (value, Vec::new());
    }
    let mut form = Multipart::from_request(request, &()).await.unwrap();
    let (mut payload, mut files) = (Value::Null, Vec::new());
    while let Some(field) = form.next_field().await.unwrap() {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.unwrap();
        if name == "payload_json" {
            payload = serde_json::from_slice(&bytes).unwrap();
        } else {
            assert!(bytes.starts_with(b"\x89PNG"), "files are PNG");
            files.push(format!("{name}={}", file_name.unwrap_or_default()));
        }
    }
    (payload, files)
}

async fn create(
    State(discord): State<Shared>,
    Path(channel): Path<u64>,
    request: Request,
) -> Response {
    let gated = gate(&mut discord.lock().unwrap(), channel, request.headers());
    let headers = match gated {
        Ok(headers) => headers,
        Err(response) => return response,
    };
    let (payload, files) = body_of(request).await;
    let mut discord = discord.lock().unwrap();
    let nonce = payload["nonce"].as_str().map(str::to_owned);
    if payload["enforce_nonce"] == json!(true)
        && let Some(existing) = discord
            .messages
            .iter()
            .find(|m| m.channel == channel && m.nonce.is_some() && m.nonce == nonce)
    {
        return (
            headers,
            Json(json!({"id": existing.id.to_string(), "channel_id": channel.to_string()})),
        )
            .into_response();
    }
    discord.next_id += 1;
    let id = 880_000 + discord.next_id;
    discord.messages.push(Posted {
        id,
        channel,
        nonce,
        payload,
        files,
    });
    (
        headers,
        Json(json!({"id": id.to_string(), "channel_id": channel.to_string()})),
    )
        .into_response()
}

async fn edit(
    State(discord): State<Shared>,
    Path((channel, message)): Path<(u64, u64)>,
    request: Request,
) -> Response {
    let gated = gate(&mut discord.lock().unwrap(), channel, request.headers());
    let headers = match gated {
        Ok(headers) => headers,
        Err(response) => return response,
    };
    let (payload, files) = body_of(request).await;
    let mut discord = discord.lock().unwrap();
    let Some(posted) = discord
        .messages
        .iter_mut()
        .find(|m| m.id == message && m.channel == channel)
    else {
        return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
    };
    posted.payload = payload;
    posted.files = files;
    (
        headers,
        Json(json!({"id": message.to_string(), "channel_id": channel.to_string()})),
    )
        .into_response()
}

struct Harness {
    db: TestDatabase,
    discord: Shared,
    poster: Poster,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn harness() -> Harness {
    let db = TestDatabase::create().await;
    let mut tx = db.pool.begin().await.unwrap();
    settings::set_update_channel(&mut tx, GUILD, Snowflake(1), Some(Snowflake(FORBIDDEN)))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let discord: Shared = Arc::default();
    let app = Router::new()
        .route("/api/v10/channels/{channel}/messages", post(create))
        .route(
            "/api/v10/channels/{channel}/messages/{message}",
            patch(edit),
        )
        .with_state(discord.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let poster = Poster::new(&format!("http://{addr}/api/v10"), Secret::new(TOKEN));
    Harness {
        db,
        discord,
        poster,
        server,
    }
}

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 26, 8, 0, 0).unwrap()
}

fn item(identity: &str, channel: u64, files: Vec<OutboxFile>) -> NewOutboxItem {
    NewOutboxItem {
        kind: OutboxKind::Digest,
        identity_key: identity.to_owned(),
        guild_id: GUILD,
        channel_id: Snowflake(channel),
        payload: json!({"content": identity}),
        files,
        not_before: t0(),
    }
}

async fn enqueue(h: &Harness, item: NewOutboxItem) {
    outbox::enqueue(&h.db.pool, &item)
        .await
        .unwrap()
        .expect("a new item");
}

#[tokio::test]
async fn a_busy_bucket_delays_messages_without_losing_or_doubling_any() {
    let h = harness().await;
    for i in 0..6 {
        enqueue(&h, item(&format!("busy-{i}"), BUSY, Vec::new())).await;
    }
    let report = delivery::deliver_due(&h.db.pool, &h.poster, t0())
        .await
        .unwrap();
    assert_eq!(report.delivered, 6, "{report:?}");
    let discord = h.discord.lock().unwrap();
    assert_eq!(
        discord.violations, 0,
        "a request was sent into an exhausted bucket"
    );
    assert_eq!(discord.requests[&BUSY], 6);
    let mut contents: Vec<&str> = discord
        .messages
        .iter()
        .map(|m| m.payload["content"].as_str().unwrap())
        .collect();
    contents.sort_unstable();
    assert_eq!(
        contents,
        ["busy-0", "busy-1", "busy-2", "busy-3", "busy-4", "busy-5"]
    );
    assert!(
        discord
            .messages
            .iter()
            .all(|m| m.payload["enforce_nonce"] == json!(true))
    );
    assert_eq!(discord.bad_auth, 0);
}

#[tokio::test]
async fn a_429_is_waited_out_and_the_message_posted_once() {
    let h = harness().await;
    enqueue(&h, item("limited", LIMITED, Vec::new())).await;
    let report = delivery::deliver_due(&h.db.pool, &h.poster, t0())
        .await
        .unwrap();
    assert_eq!(report.delivered, 1);
    let discord = h.discord.lock().unwrap();
    assert_eq!(discord.requests[&LIMITED], 2);
    assert_eq!(discord.violations, 0, "retried before retry_after");
    assert_eq!(discord.messages.len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let h = harness().await;
    enqueue(&h, item("flaky", FLAKY, Vec::new())).await;
    let report = delivery::deliver_due(&h.db.pool, &h.poster, t0())
        .await
        .unwrap();
    assert_eq!(report.delivered, 1);
    let stored = outbox::find(&h.db.pool, "flaky").await.unwrap().unwrap();
    assert_eq!(stored.state, OutboxState::Delivered);
    let discord = h.discord.lock().unwrap();
    assert_eq!(discord.requests[&FLAKY], 3);
    assert_eq!(discord.messages.len(), 1);
    assert_eq!(
        stored.discord_message_id,
        Some(Snowflake(discord.messages[0].id))
    );
}

#[tokio::test]
async fn a_forbidden_channel_is_recorded_audited_and_not_tried_again() {
    let h = harness().await;
    enqueue(&h, item("forbidden-1", FORBIDDEN, Vec::new())).await;
    enqueue(&h, item("forbidden-2", FORBIDDEN, Vec::new())).await;
    let report = delivery::deliver_due(&h.db.pool, &h.poster, t0())
        .await
        .unwrap();
    assert_eq!(report.delivered, 0);
    for identity in ["forbidden-1", "forbidden-2"] {
        let stored = outbox::find(&h.db.pool, identity).await.unwrap().unwrap();
        assert_eq!(stored.state, OutboxState::Failed, "{identity}");
    }
    let later = delivery::deliver_due(&h.db.pool, &h.poster, t0() + chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(later, delivery::DeliveryReport::default());
    // Both were claimed in one round; only the first reached Discord.
    assert_eq!(h.discord.lock().unwrap().requests[&FORBIDDEN], 1);
    let guild = digest_settings::load(&h.db.pool, GUILD)
        .await
        .unwrap()
        .unwrap();
    let failure = guild
        .delivery_failure
        .expect("the failure is on the settings");
    assert_eq!(
        (failure.channel_id, failure.code),
        (Snowflake(FORBIDDEN), 50013)
    );
    let trail = settings::audit_trail(&h.db.pool, GUILD, 5).await.unwrap();
    assert_eq!(trail[0].action, "update_channel.delivery_failed");
    assert_eq!(
        trail
            .iter()
            .filter(|e| e.action == "update_channel.delivery_failed")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_send_whose_success_was_not_recorded_is_not_posted_twice() {
    let h = harness().await;
    let files = vec![OutboxFile {
        filename: "digest.png".into(),
        bytes: b"\x89PNG\r\n\x1a\nfake".to_vec(),
    }];
    enqueue(&h, item("crash", 7100, files)).await;
    // A sender claims the item and Discord creates the message, then the
    // process dies before recording it.
    let claimed = outbox::claim_due(&h.db.pool, t0(), LEASE, 10)
        .await
        .unwrap();
    let first = h
        .poster
        .create_message(
            claimed[0].channel_id,
            &claimed[0].payload,
            &claimed[0].files,
            &claimed[0].nonce,
        )
        .await
        .unwrap();
    // Within the lease nobody touches it; after it, another process re-sends.
    let during = delivery::deliver_due(&h.db.pool, &h.poster, t0() + chrono::Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(during, delivery::DeliveryReport::default());
    let report = delivery::deliver_due(&h.db.pool, &h.poster, t0() + LEASE)
        .await
        .unwrap();
    assert_eq!(report.delivered, 1);
    let stored = outbox::find(&h.db.pool, "crash").await.unwrap().unwrap();
    assert_eq!(stored.discord_message_id, Some(first));
    let discord = h.discord.lock().unwrap();
    assert_eq!(discord.messages.len(), 1, "one message in the channel");
    assert_eq!(discord.requests[&7100], 2);
    let posted = &discord.messages[0];
    assert_eq!(posted.files, ["files[0]=digest.png"]);
    assert_eq!(
        posted.payload["attachments"],
        json!([{"id": 0, "filename": "digest.png"}])
    );
    assert!(posted.nonce.as_ref().is_some_and(|n| n.len() <= 25));
}

#[tokio::test]
async fn an_alert_is_posted_then_edited_in_place() {
    let h = harness().await;
    enqueue(
        &h,
        NewOutboxItem {
            kind: OutboxKind::Alert,
            ..item("alert:raid:1", 7200, Vec::new())
        },
    )
    .await;
    delivery::deliver_due(&h.db.pool, &h.poster, t0())
        .await
        .unwrap();
    let grown = json!({"content": "raid: 25 joins"});
    assert!(
        outbox::request_edit(&h.db.pool, "alert:raid:1", &grown, t0())
            .await
            .unwrap()
    );
    let report = delivery::deliver_due(&h.db.pool, &h.poster, t0())
        .await
        .unwrap();
    assert_eq!(report.delivered, 1);
    let discord = h.discord.lock().unwrap();
    assert_eq!(discord.messages.len(), 1);
    assert_eq!(discord.messages[0].payload["content"], "raid: 25 joins");
    assert_eq!(discord.requests[&7200], 2);
}

#[tokio::test]
async fn the_worker_delivers_and_stops_when_cancelled() {
    let h = harness().await;
    enqueue(
        &h,
        NewOutboxItem {
            not_before: Utc::now(),
            ..item("worker", 7300, Vec::new())
        },
    )
    .await;
    let tracker = tokio_util::task::TaskTracker::new();
    let cancel = tokio_util::sync::CancellationToken::new();
    delivery::OutboxWorker {
        pool: h.db.pool.clone(),
        poster: h.poster.clone(),
        interval: Duration::from_millis(20),
    }
    .spawn(&tracker, cancel.clone());
    loop {
        let stored = outbox::find(&h.db.pool, "worker").await.unwrap().unwrap();
        if stored.state == OutboxState::Delivered {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cancel.cancel();
    tracker.close();
    tracker.wait().await;
    assert_eq!(h.discord.lock().unwrap().messages.len(), 1);
}

/// With a polling interval of an hour, only the database's notification at
/// the enqueueing commit can make the worker post: it must.
#[tokio::test]
async fn the_worker_is_woken_by_an_enqueue_without_waiting_for_its_interval() {
    let h = harness().await;
    let tracker = tokio_util::task::TaskTracker::new();
    let cancel = tokio_util::sync::CancellationToken::new();
    delivery::OutboxWorker {
        pool: h.db.pool.clone(),
        poster: h.poster.clone(),
        interval: Duration::from_secs(3600),
    }
    .spawn(&tracker, cancel.clone());
    // The worker listens before its first (empty) round.
    loop {
        let listening: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity
             where datname = current_database() and query ilike 'listen%serverpulse_outbox%'",
        )
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
        if listening > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    enqueue(
        &h,
        NewOutboxItem {
            not_before: Utc::now(),
            ..item("woken", 7301, Vec::new())
        },
    )
    .await;
    // Far shorter than the interval, far longer than a round needs.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stored = outbox::find(&h.db.pool, "woken").await.unwrap().unwrap();
        if stored.state == OutboxState::Delivered {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the enqueue did not wake the worker"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cancel.cancel();
    tracker.close();
    tracker.wait().await;
    assert_eq!(h.discord.lock().unwrap().messages.len(), 1);
}

#[tokio::test]
async fn a_cli_run_posts_each_due_digest_once_with_its_chart() {
    use shared::db::digest_settings::{DigestFrequency, DigestSchedule};
    use shared::rollup::{AuthorKind, MessageFacts, RollupBatch};

    let h = harness().await;
    let guild = Snowflake(62);
    let channel = Snowflake(7400);
    let mut tx = h.db.pool.begin().await.unwrap();
    settings::set_tracking(&mut tx, guild, Snowflake(1), true)
        .await
        .unwrap();
    settings::set_timezone(&mut tx, guild, Snowflake(1), "Europe/Berlin")
        .await
        .unwrap();
    settings::set_update_channel(&mut tx, guild, Snowflake(1), Some(channel))
        .await
        .unwrap();
    let schedule = DigestSchedule {
        frequency: Some(DigestFrequency::Daily),
        ..DigestSchedule::default()
    };
    digest_settings::set_schedule(
        &mut tx,
        guild,
        Snowflake(1),
        schedule,
        t0() - chrono::Duration::hours(12),
    )
    .await
    .unwrap();
    let mut batch = RollupBatch::default();
    batch.add_message(MessageFacts {
        guild_id: guild,
        hour: shared::time::Hour::containing(t0() - chrono::Duration::hours(20)),
        channel_id: Snowflake(100),
        thread_parent_id: None,
        author_id: Snowflake(500),
        author_kind: AuthorKind::Member,
        attachments: 0,
        embeds: 0,
        stickers: 0,
    });
    shared::db::rollups::flush_batch(&mut tx, &batch)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // 2026-10-26 08:00 UTC is 09:00 in Berlin: the 25th's digest is due.
    let first = serverpulse_web::digest::run_and_deliver(
        &h.db.pool,
        &h.poster,
        &serverpulse_web::pulse::providers::Providers::new(&Default::default()),
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(first.run.queued(), 1);
    assert_eq!(first.delivery.delivered, 1);
    let again = serverpulse_web::digest::run_and_deliver(
        &h.db.pool,
        &h.poster,
        &serverpulse_web::pulse::providers::Providers::new(&Default::default()),
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(again, serverpulse_web::digest::CliReport::default());
    let discord = h.discord.lock().unwrap();
    assert_eq!(discord.messages.len(), 1);
    let posted = &discord.messages[0];
    assert_eq!(posted.channel, 7400);
    assert_eq!(
        posted.payload["embeds"][0]["title"],
        "Daily digest · Sun 25 Oct 2026"
    );
    assert_eq!(posted.files, ["files[0]=digest.png"]);
}
