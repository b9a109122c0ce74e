//! The REST side: recording, Discord's limits and error shapes, interaction
//! tokens, forced 429s and authentication.

mod common;

use std::time::Duration;

use common::{TOKEN, scenario};
use discord_sim::{
    ChannelAccess, Compression, RateLimitRule, RateLimitScope, SimConfig, SimHandle,
};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

/// These tests post far more than a bucket's 5 messages to channel 42,
/// which the scenario does not have: no bucket, and the channel writable.
/// Buckets and channel access are tested in `channel_messages.rs`.
async fn sim() -> SimHandle {
    let mut config = SimConfig::new(TOKEN);
    config.gateway.compression = Compression::AsRequested;
    config.rest.message_bucket = None;
    let sim = discord_sim::start(config, scenario(&[common::guild_id(1, 0, 1)], 1, &[]))
        .await
        .expect("simulator starts");
    sim.rest.set_channel_access(42, ChannelAccess::Writable);
    sim
}

fn auth() -> String {
    format!("Bot {TOKEN}")
}

async fn post_message(sim: &SimHandle, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/channels/42/messages", sim.rest.api_url()))
        .header("Authorization", auth())
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The `_errors` list at a path of a 50035 body.
fn errors_at<'a>(body: &'a Value, path: &[&str]) -> &'a Value {
    assert_eq!(body["code"], 50035, "{body}");
    assert_eq!(body["message"], "Invalid Form Body");
    let mut node = &body["errors"];
    for key in path {
        node = &node[*key];
    }
    let list = &node["_errors"];
    assert!(
        list.as_array().is_some_and(|l| !l.is_empty()),
        "no _errors at {path:?} in {body}"
    );
    list
}

fn text(n: usize) -> String {
    "x".repeat(n)
}

fn fields(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"name": format!("f{i}"), "value": "v"}))
        .collect()
}

fn buttons(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"type": 2, "style": 1, "custom_id": format!("b{i}"), "label": "b"}))
        .collect()
}

fn row(components: Vec<Value>) -> Value {
    json!({"type": 1, "components": components})
}

#[tokio::test]
async fn every_message_limit_is_enforced_at_its_boundary() {
    let sim = sim().await;
    let select = |options: usize| json!({"type": 3, "custom_id": "s", "options": (0..options).map(|i| json!({"label": i.to_string(), "value": i.to_string()})).collect::<Vec<_>>()});
    // (what, allowed at the limit, one past it, where the error sits)
    let cases: Vec<(&str, Value, Value, Vec<&str>)> = vec![
        (
            "content",
            json!({"content": text(2000)}),
            json!({"content": text(2001)}),
            vec!["content"],
        ),
        (
            "embeds",
            json!({"embeds": vec![json!({"title": "t"}); 10]}),
            json!({"embeds": vec![json!({"title": "t"}); 11]}),
            vec!["embeds"],
        ),
        (
            "title",
            json!({"embeds": [{"title": text(256)}]}),
            json!({"embeds": [{"title": text(257)}]}),
            vec!["embeds", "0", "title"],
        ),
        (
            "description",
            json!({"embeds": [{"description": text(4096)}]}),
            json!({"embeds": [{"description": text(4097)}]}),
            vec!["embeds", "0", "description"],
        ),
        (
            "fields",
            json!({"embeds": [{"fields": fields(25)}]}),
            json!({"embeds": [{"fields": fields(26)}]}),
            vec!["embeds", "0", "fields"],
        ),
        (
            "field name",
            json!({"embeds": [{"fields": [{"name": text(256), "value": "v"}]}]}),
            json!({"embeds": [{"fields": [{"name": text(257), "value": "v"}]}]}),
            vec!["embeds", "0", "fields", "0", "name"],
        ),
        (
            "field value",
            json!({"embeds": [{"fields": [{"name": "n", "value": text(1024)}]}]}),
            json!({"embeds": [{"fields": [{"name": "n", "value": text(1025)}]}]}),
            vec!["embeds", "0", "fields", "0", "value"],
        ),
        (
            "footer",
            json!({"embeds": [{"footer": {"text": text(2048)}}]}),
            json!({"embeds": [{"footer": {"text": text(2049)}}]}),
            vec!["embeds", "0", "footer", "text"],
        ),
        (
            "author name",
            json!({"embeds": [{"author": {"name": text(256)}}]}),
            json!({"embeds": [{"author": {"name": text(257)}}]}),
            vec!["embeds", "0", "author", "name"],
        ),
        (
            "6000 in all",
            json!({"embeds": [{"description": text(4000)}, {"description": text(2000)}]}),
            json!({"embeds": [{"description": text(4000)}, {"description": text(2001)}]}),
            vec!["embeds"],
        ),
        (
            "action rows",
            json!({"content": "c", "components": (0..5).map(|i| row(vec![json!({"type": 2, "style": 1, "custom_id": format!("r{i}"), "label": "b"})])).collect::<Vec<_>>()}),
            json!({"content": "c", "components": (0..6).map(|i| row(vec![json!({"type": 2, "style": 1, "custom_id": format!("r{i}"), "label": "b"})])).collect::<Vec<_>>()}),
            vec!["components"],
        ),
        (
            "buttons per row",
            json!({"content": "c", "components": [row(buttons(5))]}),
            json!({"content": "c", "components": [row(buttons(6))]}),
            vec!["components", "0", "components"],
        ),
        (
            "a select alone in its row",
            json!({"content": "c", "components": [row(vec![select(2)])]}),
            json!({"content": "c", "components": [row(vec![select(2), buttons(1)[0].clone()])]}),
            vec!["components", "0", "components"],
        ),
        (
            "custom_id length",
            json!({"content": "c", "components": [row(vec![json!({"type": 2, "style": 1, "custom_id": text(100)})])]}),
            json!({"content": "c", "components": [row(vec![json!({"type": 2, "style": 1, "custom_id": text(101)})])]}),
            vec!["components", "0", "components", "0", "custom_id"],
        ),
        (
            "custom_id present",
            json!({"content": "c", "components": [row(vec![json!({"type": 2, "style": 1, "custom_id": "x"})])]}),
            json!({"content": "c", "components": [row(vec![json!({"type": 2, "style": 1})])]}),
            vec!["components", "0", "components", "0", "custom_id"],
        ),
        (
            "select options",
            json!({"content": "c", "components": [row(vec![select(25)])]}),
            json!({"content": "c", "components": [row(vec![select(26)])]}),
            vec!["components", "0", "components", "0", "options"],
        ),
    ];
    for (what, allowed, refused, path) in &cases {
        let (status, body) = post_message(&sim, allowed).await;
        assert_eq!(status, 200, "{what} at the limit: {body}");
        assert_eq!(body["channel_id"], "42");
        let (status, body) = post_message(&sim, refused).await;
        assert_eq!(status, 400, "{what} past the limit");
        errors_at(&body, path);
    }
    let (status, body) = post_message(&sim, &json!({"content": ""})).await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(50006)));
    assert_eq!(sim.rest.requests().len(), 2 * cases.len() + 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn bot_routes_demand_the_token_and_requests_are_recorded() {
    let mut config = SimConfig::new(TOKEN);
    let log = std::env::temp_dir().join(format!("discord-sim-rest-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&log);
    config.rest.log_file = Some(log.clone());
    config.rest.recommended_shards = 3;
    let sim = discord_sim::start(config, scenario(&[common::guild_id(1, 0, 1)], 1, &[]))
        .await
        .unwrap();
    sim.rest.set_channel_access(42, ChannelAccess::Writable);
    let client = reqwest::Client::new();
    let url = format!("{}/channels/42/messages", sim.rest.api_url());
    let missing = client
        .post(&url)
        .json(&json!({"content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.json::<Value>().await.unwrap(),
        json!({"code": 0, "message": "401: Unauthorized"})
    );
    let wrong = client
        .post(&url)
        .header("Authorization", "Bot nope")
        .json(&json!({"content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let bare = client
        .post(&url)
        .header("Authorization", TOKEN)
        .json(&json!({"content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 401, "the Bot prefix is required");
    let ok = client
        .post(&url)
        .header("Authorization", auth())
        .json(&json!({"content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-reset-after",
        "x-ratelimit-bucket",
    ] {
        assert!(ok.headers().contains_key(name), "{name} missing");
    }
    let gateway = client
        .get(format!("{}/gateway/bot", sim.rest.api_url()))
        .header("Authorization", auth())
        .send()
        .await
        .unwrap();
    let gateway: Value = gateway.json().await.unwrap();
    assert_eq!(gateway["url"], sim.gateway.url());
    assert_eq!(gateway["shards"], 3);
    assert_eq!(gateway["session_start_limit"]["max_concurrency"], 1);
    let unknown = client
        .get(format!("{}/users/@me", sim.rest.api_url()))
        .header("Authorization", auth())
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let requests = sim.rest.requests();
    let summary: Vec<(String, u16, bool)> = requests
        .iter()
        .map(|r| (r.method.clone(), r.status, r.authorized))
        .collect();
    assert_eq!(
        summary,
        [
            ("POST".into(), 401, false),
            ("POST".into(), 401, false),
            ("POST".into(), 401, false),
            ("POST".into(), 200, true),
            ("GET".into(), 200, true),
            ("GET".into(), 404, true),
        ]
    );
    assert_eq!(
        requests[3].route.as_deref(),
        Some("POST /channels/{channel_id}/messages")
    );
    assert_eq!(requests[3].path, "/api/v10/channels/42/messages");
    assert_eq!(requests[3].json, Some(json!({"content": "hi"})));
    assert_eq!(
        requests[3].content_type.as_deref(),
        Some("application/json")
    );
    assert_eq!(requests[5].route, None);
    sim.shutdown().await;
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[3]["json"], json!({"content": "hi"}));
    let _ = std::fs::remove_file(&log);
}

fn png() -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    bytes.extend(0..200u8);
    bytes
}

fn form(payload: Value, files: &[(usize, &str)]) -> Form {
    let mut form = Form::new().text("payload_json", payload.to_string());
    for (index, name) in files {
        let part = Part::bytes(png())
            .file_name(name.to_string())
            .mime_str("image/png")
            .unwrap();
        form = form.part(format!("files[{index}]"), part);
    }
    form
}

#[tokio::test]
async fn multipart_files_must_match_attachment_ids() {
    let sim = sim().await;
    let client = reqwest::Client::new();
    let url = format!("{}/channels/42/messages", sim.rest.api_url());
    let payload = json!({"content": "chart", "attachments": [{"id": 0, "filename": "chart.png"}], "embeds": [{"image": {"url": "attachment://chart.png"}}]});
    let ok = client
        .post(&url)
        .header("Authorization", auth())
        .multipart(form(payload, &[(0, "chart.png")]))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let message: Value = ok.json().await.unwrap();
    assert_eq!(message["attachments"][0]["filename"], "chart.png");
    assert_eq!(message["attachments"][0]["size"], png().len());
    let recorded = sim.rest.requests().pop().unwrap();
    assert!(
        recorded
            .content_type
            .as_deref()
            .unwrap()
            .starts_with("multipart/form-data")
    );
    assert_eq!(recorded.json.as_ref().unwrap()["content"], "chart");
    assert_eq!(recorded.files.len(), 1);
    assert_eq!(recorded.files[0].field, "files[0]");
    assert_eq!(recorded.files[0].filename.as_deref(), Some("chart.png"));
    assert_eq!(recorded.files[0].content_type.as_deref(), Some("image/png"));
    assert_eq!(recorded.files[0].size, png().len());
    assert_eq!(recorded.files[0].bytes, png());

    let mismatched = json!({"content": "x", "attachments": [{"id": 1, "filename": "chart.png"}]});
    let refused = client
        .post(&url)
        .header("Authorization", auth())
        .multipart(form(mismatched, &[(0, "chart.png")]))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    errors_at(&body, &["attachments", "0", "id"]);
    errors_at(&body, &["files[0]"]);
    sim.shutdown().await;
}

async fn put_commands(sim: &SimHandle, guild: Option<u64>, body: Value) -> (u16, Value) {
    let app = discord_sim::DEFAULT_APPLICATION_ID;
    let url = match guild {
        Some(guild) => format!(
            "{}/applications/{app}/guilds/{guild}/commands",
            sim.rest.api_url()
        ),
        None => format!("{}/applications/{app}/commands", sim.rest.api_url()),
    };
    let response = reqwest::Client::new()
        .put(url)
        .header("Authorization", auth())
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn command_definitions_are_checked_and_stored() {
    let sim = sim().await;
    let stats = json!({
        "name": "stats", "description": "Server statistics", "default_member_permissions": "32",
        "options": [
            {"type": 2, "name": "channel", "description": "Per channel", "options": [
                {"type": 1, "name": "top", "description": "Top channels", "options": [
                    {"type": 7, "name": "channel", "description": "Which", "required": true},
                    {"type": 4, "name": "days", "description": "How many days", "choices": [{"name": "7", "value": 7}]},
                ]},
            ]},
        ],
    });
    let (status, body) = put_commands(&sim, None, json!([stats])).await;
    assert_eq!(status, 200, "{body}");
    assert!(body[0]["id"].as_str().is_some());
    assert_eq!(sim.rest.commands(None).len(), 1);
    let (status, _) = put_commands(
        &sim,
        Some(common::guild_id(1, 0, 1)),
        json!([{"name": "ping", "description": "Pong"}]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(sim.rest.commands(Some(common::guild_id(1, 0, 1))).len(), 1);

    let option = |i: usize| json!({"type": 3, "name": format!("o{i}"), "description": "d"});
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!([{"name": text(33), "description": "d"}]),
            vec!["0", "name"],
        ),
        (json!([{"name": "", "description": "d"}]), vec!["0", "name"]),
        (
            json!([{"name": "Stats", "description": "d"}]),
            vec!["0", "name"],
        ),
        (
            json!([{"name": "stats", "description": text(101)}]),
            vec!["0", "description"],
        ),
        (
            json!([{"name": "stats", "description": ""}]),
            vec!["0", "description"],
        ),
        (
            json!([{"name": "stats", "description": "d", "options": (0..26).map(option).collect::<Vec<_>>()}]),
            vec!["0", "options"],
        ),
        (
            json!([{"name": "a", "description": "d"}, {"name": "a", "description": "d"}]),
            vec!["1", "name"],
        ),
        (
            json!([{"name": "a", "description": "d", "options": [{"type": 3, "name": "x", "description": "d"}, {"type": 3, "name": "y", "description": "d", "required": true}]}]),
            vec!["0", "options", "1", "required"],
        ),
        (
            json!([{"name": "a", "description": "d", "options": [{"type": 3, "name": "x", "description": text(101)}]}]),
            vec!["0", "options", "0", "description"],
        ),
    ];
    for (body, path) in cases {
        let (status, answer) = put_commands(&sim, None, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        errors_at(&answer, &path);
    }
    assert_eq!(
        sim.rest.commands(None).len(),
        1,
        "refused overwrites change nothing"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn interaction_tokens_callbacks_and_edits() {
    let mut config = SimConfig::new(TOKEN);
    config.rest.interaction_token_ttl = Duration::from_secs(60);
    let sim = discord_sim::start(config, scenario(&[common::guild_id(1, 0, 1)], 1, &[]))
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let api = sim.rest.api_url();
    let app = discord_sim::DEFAULT_APPLICATION_ID;
    sim.rest.register_interaction(77, "tok");
    // The product answered 202: it will use the callback route.
    assert_eq!(sim.rest.report_http_answer("tok", 202, None), None);

    let unknown = client
        .post(format!("{api}/interactions/77/other/callback"))
        .json(&json!({"type": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.unwrap()["code"], 10062);
    let early = client
        .patch(format!("{api}/webhooks/{app}/tok/messages/@original"))
        .json(&json!({"content": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(early.status(), 404, "no original before the callback");

    let deferred = client
        .post(format!("{api}/interactions/77/tok/callback"))
        .json(&json!({"type": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(deferred.status(), 204);
    let twice = client
        .post(format!("{api}/interactions/77/tok/callback"))
        .json(&json!({"type": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 400);
    assert_eq!(twice.json::<Value>().await.unwrap()["code"], 40060);

    let payload = json!({"content": "done", "attachments": [{"id": 0, "filename": "chart.png"}]});
    let edit = client
        .patch(format!("{api}/webhooks/{app}/tok/messages/@original"))
        .multipart(form(payload, &[(0, "chart.png")]))
        .send()
        .await
        .unwrap();
    assert_eq!(edit.status(), 200);
    let fetched: Value = client
        .get(format!("{api}/webhooks/{app}/tok/messages/@original"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched["content"], "done");
    assert_eq!(fetched["attachments"][0]["filename"], "chart.png");
    let record = sim.rest.interaction("tok").unwrap();
    assert_eq!(record.callback_type, Some(5));
    assert_eq!(record.original_edits, 1);
    assert_eq!(record.original.as_ref().unwrap().files[0].bytes(), png());

    // Keeping the attachment by its id while changing the text is fine; an
    // unknown id is not.
    let kept_id = fetched["attachments"][0]["id"].as_str().unwrap().to_owned();
    let keep = client
        .patch(format!("{api}/webhooks/{app}/tok/messages/@original"))
        .json(&json!({"content": "again", "attachments": [{"id": kept_id}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(keep.status(), 200);
    let bad = client
        .patch(format!("{api}/webhooks/{app}/tok/messages/@original"))
        .json(&json!({"attachments": [{"id": "5"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let followup = client
        .post(format!("{api}/webhooks/{app}/tok"))
        .json(&json!({"content": "more", "flags": 64}))
        .send()
        .await
        .unwrap();
    assert_eq!(followup.status(), 200);
    assert_eq!(sim.rest.interaction("tok").unwrap().followups.len(), 1);
    let wrong_app = client
        .post(format!("{api}/webhooks/1/tok"))
        .json(&json!({"content": "more"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong_app.json::<Value>().await.unwrap(),
        json!({"code": 10015, "message": "Unknown Webhook"})
    );

    sim.rest.expire_interaction("tok");
    let expired = client
        .patch(format!("{api}/webhooks/{app}/tok/messages/@original"))
        .json(&json!({"content": "late"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 404);
    assert_eq!(
        expired.json::<Value>().await.unwrap(),
        json!({"code": 10015, "message": "Unknown Webhook"})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn tokens_die_after_their_lifetime() {
    let mut config = SimConfig::new(TOKEN);
    config.rest.interaction_token_ttl = Duration::ZERO;
    let sim = discord_sim::start(config, scenario(&[common::guild_id(1, 0, 1)], 1, &[]))
        .await
        .unwrap();
    sim.rest.register_interaction(5, "short");
    tokio::time::sleep(Duration::from_millis(5)).await;
    let app = discord_sim::DEFAULT_APPLICATION_ID;
    let response = reqwest::Client::new()
        .post(format!("{}/webhooks/{app}/short", sim.rest.api_url()))
        .json(&json!({"content": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], 10015);
    sim.shutdown().await;
}

#[tokio::test]
async fn forced_429s_carry_discords_headers() {
    let sim = sim().await;
    let client = reqwest::Client::new();
    sim.rest.set_rate_limit(RateLimitRule {
        scope: RateLimitScope::Route("POST /channels/{channel_id}/messages".into()),
        retry_after: 1.5,
        count: Some(1),
    });
    let limited = client
        .post(format!("{}/channels/42/messages", sim.rest.api_url()))
        .header("Authorization", auth())
        .json(&json!({"content": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    let headers = limited.headers().clone();
    assert_eq!(headers["retry-after"], "2");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    assert_eq!(headers["x-ratelimit-reset-after"], "1.500");
    assert_eq!(headers["x-ratelimit-scope"], "user");
    assert!(
        headers.contains_key("x-ratelimit-bucket") && headers.contains_key("x-ratelimit-reset")
    );
    assert!(!headers.contains_key("x-ratelimit-global"));
    assert_eq!(
        limited.json::<Value>().await.unwrap(),
        json!({"message": "You are being rate limited.", "retry_after": 1.5, "global": false})
    );
    let after = client
        .post(format!("{}/channels/42/messages", sim.rest.api_url()))
        .header("Authorization", auth())
        .json(&json!({"content": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 200, "the rule covered one request");

    sim.rest.set_rate_limit(RateLimitRule {
        scope: RateLimitScope::Global,
        retry_after: 0.25,
        count: None,
    });
    let global = client
        .get(format!("{}/gateway/bot", sim.rest.api_url()))
        .header("Authorization", auth())
        .send()
        .await
        .unwrap();
    assert_eq!(global.status(), 429);
    assert_eq!(global.headers()["x-ratelimit-global"], "true");
    assert_eq!(global.headers()["x-ratelimit-scope"], "global");
    assert_eq!(global.json::<Value>().await.unwrap()["global"], true);
    // Interaction routes are exempt from the global limit.
    sim.rest.register_interaction(9, "t9");
    let callback = client
        .post(format!("{}/interactions/9/t9/callback", sim.rest.api_url()))
        .json(&json!({"type": 4, "data": {"content": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), 204);
    sim.rest.clear_rate_limits();
    // An inline answer is an acknowledgement too, and is checked like one.
    sim.rest.register_interaction(10, "t10");
    let objection = sim.rest.report_http_answer(
        "t10",
        200,
        Some(json!({"type": 4, "data": {"content": "x".repeat(2001)}})),
    );
    assert_eq!(
        objection.unwrap()["errors"]["data"]["content"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );
    assert_eq!(
        sim.rest
            .report_http_answer("t10", 200, Some(json!({"type": 5}))),
        None
    );
    assert_eq!(sim.rest.interaction("t10").unwrap().callback_type, Some(5));
    let cleared = client
        .get(format!("{}/gateway/bot", sim.rest.api_url()))
        .header("Authorization", auth())
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn control_routes_inject_faults_and_list_requests() {
    let sim = sim().await;
    let client = reqwest::Client::new();
    let fault = json!({"shard_id": 0, "kind": "close", "code": 4000, "trigger": {"after_event": 3}, "lose_in_flight": 1});
    let response = client
        .post(format!("{}/_sim/faults", sim.rest.url()))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let pending = sim.gateway.pending_faults();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0].kind,
        discord_sim::FaultKind::Close { code: 4000 }
    );
    assert_eq!(pending[0].trigger, discord_sim::FaultTrigger::AfterEvent(3));
    let now = json!({"shard_id": 1, "kind": "reconnect", "trigger": "now"});
    assert_eq!(
        client
            .post(format!("{}/_sim/faults", sim.rest.url()))
            .json(&now)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let bad = client
        .post(format!("{}/_sim/faults", sim.rest.url()))
        .json(&json!({"kind": "explode"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let requests: Vec<Value> = client
        .get(format!("{}/_sim/requests", sim.rest.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        requests.is_empty(),
        "control routes are not recorded as Discord requests"
    );
    sim.shutdown().await;
}
