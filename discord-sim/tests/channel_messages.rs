//! Creating and editing channel messages as the bot: Discord's message
//! object, files, limits, channel access, the per-channel bucket, forced
//! 429s and 5xx, `enforce_nonce`, and what tests can read back.

mod common;

use std::time::Duration;

use common::{TOKEN, scenario};
use discord_sim::{
    BucketLimit, ChannelAccess, DEFAULT_APPLICATION_ID, ForcedAnswer, RestFault, SimConfig,
    SimHandle,
};
use reqwest::multipart::{Form, Part};
use reqwest::{Client, Response};
use serde_json::{Value, json};

const CREATE: &str = "POST /channels/{channel_id}/messages";

fn guild() -> u64 {
    common::guild_id(1, 0, 1)
}

/// The scenario guild's text channel: one the bot may post in.
fn channel() -> u64 {
    common::text_channel(guild())
}

async fn start(bucket: Option<BucketLimit>) -> SimHandle {
    let mut config = SimConfig::new(TOKEN);
    config.rest.message_bucket = bucket;
    discord_sim::start(config, scenario(&[guild()], 1, &[]))
        .await
        .expect("simulator starts")
}

fn url(sim: &SimHandle, channel: u64) -> String {
    format!("{}/channels/{channel}/messages", sim.rest.api_url())
}

async fn post(sim: &SimHandle, channel: u64, body: &Value) -> Response {
    Client::new()
        .post(url(sim, channel))
        .header("Authorization", format!("Bot {TOKEN}"))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn patch(sim: &SimHandle, channel: u64, message: &str, body: &Value) -> Response {
    Client::new()
        .patch(format!("{}/{message}", url(sim, channel)))
        .header("Authorization", format!("Bot {TOKEN}"))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn answer(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn png() -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    bytes.extend(0..=255u8);
    bytes
}

fn with_png(payload: &Value, bytes: Vec<u8>) -> Form {
    let part = Part::bytes(bytes)
        .file_name("chart.png")
        .mime_str("image/png")
        .unwrap();
    Form::new()
        .text("payload_json", payload.to_string())
        .part("files[0]", part)
}

async fn post_form(sim: &SimHandle, channel: u64, form: Form) -> Response {
    Client::new()
        .post(url(sim, channel))
        .header("Authorization", format!("Bot {TOKEN}"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_json_message_comes_back_as_discord_returns_it() {
    let sim = start(Some(BucketLimit::CHANNEL_MESSAGES)).await;
    let embed = json!({"title": "Weekly digest", "description": "12 messages", "fields": [{"name": "top", "value": "#general"}]});
    let response = post(
        &sim,
        channel(),
        &json!({"content": "digest", "embeds": [embed]}),
    )
    .await;
    let headers = response.headers().clone();
    let (status, message) = answer(response).await;
    assert_eq!(status, 200, "{message}");
    let id: u64 = message["id"].as_str().unwrap().parse().unwrap();
    assert!(id > 0);
    assert_eq!(message["channel_id"], channel().to_string());
    assert_eq!(message["author"]["id"], DEFAULT_APPLICATION_ID.to_string());
    assert_eq!(message["author"]["bot"], true);
    assert_eq!(message["content"], "digest");
    assert_eq!(message["embeds"][0]["title"], "Weekly digest");
    assert_eq!(message["type"], 0);
    assert!(message["timestamp"].is_string());
    assert!(message["edited_timestamp"].is_null());
    assert_eq!(message["attachments"], json!([]));
    assert_eq!(headers["x-ratelimit-limit"], "5");
    assert_eq!(headers["x-ratelimit-remaining"], "4");
    assert!(headers.contains_key("x-ratelimit-reset"));
    assert!(headers.contains_key("x-ratelimit-reset-after"));
    assert!(headers.contains_key("x-ratelimit-bucket"));
    let stored = sim.rest.channel_messages(channel());
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].message, message);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_multipart_message_keeps_its_png() {
    let sim = start(Some(BucketLimit::CHANNEL_MESSAGES)).await;
    let payload = json!({
        "content": "chart",
        "attachments": [{"id": 0, "filename": "chart.png"}],
        "embeds": [{"image": {"url": "attachment://chart.png"}}],
    });
    let (status, message) =
        answer(post_form(&sim, channel(), with_png(&payload, png())).await).await;
    assert_eq!(status, 200, "{message}");
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["filename"], "chart.png");
    assert_eq!(attachment["size"], png().len());
    assert_eq!(attachment["content_type"], "image/png");
    assert!(attachment["id"].as_str().unwrap().parse::<u64>().is_ok());
    assert!(attachment["url"].as_str().unwrap().ends_with("/chart.png"));
    assert_eq!(
        message["embeds"][0]["image"]["url"],
        "attachment://chart.png"
    );
    let stored = sim.rest.channel_messages(channel());
    assert_eq!(stored[0].files.len(), 1);
    assert_eq!(stored[0].files[0].filename, "chart.png");
    assert_eq!(
        stored[0].files[0].attachment_id,
        attachment["id"].as_str().unwrap()
    );
    assert_eq!(stored[0].files[0].bytes(), png());
    sim.shutdown().await;
}

#[tokio::test]
async fn invalid_messages_get_discords_errors() {
    let sim = start(None).await;
    let (status, body) =
        answer(post(&sim, channel(), &json!({"content": "x".repeat(2001)})).await).await;
    assert_eq!((status, body["code"].clone()), (400, json!(50035)));
    assert_eq!(body["message"], "Invalid Form Body");
    assert_eq!(
        body["errors"]["content"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );
    let at_limit = post(&sim, channel(), &json!({"content": "x".repeat(2000)})).await;
    assert_eq!(at_limit.status(), 200);
    let embeds: Vec<Value> = (0..11).map(|i| json!({"title": format!("e{i}")})).collect();
    let (status, body) = answer(post(&sim, channel(), &json!({"embeds": embeds})).await).await;
    assert_eq!(status, 400);
    assert!(body["errors"]["embeds"]["_errors"].is_array(), "{body}");
    let field = json!({"name": "n", "value": "v".repeat(1025)});
    let (status, body) =
        answer(post(&sim, channel(), &json!({"embeds": [{"fields": [field]}]})).await).await;
    assert_eq!(status, 400);
    assert!(
        body["errors"]["embeds"]["0"]["fields"]["0"]["value"]["_errors"].is_array(),
        "{body}"
    );
    let (status, body) = answer(post(&sim, channel(), &json!({"content": ""})).await).await;
    assert_eq!((status, body["code"].clone()), (400, json!(50006)));
    assert_eq!(body["message"], "Cannot send an empty message");
    let (status, body) = answer(
        post(
            &sim,
            channel(),
            &json!({"content": "n", "nonce": "n".repeat(26)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["nonce"]["_errors"].is_array(), "{body}");
    let rows: Vec<Value> = (0..6)
        .map(|i| json!({"type": 1, "components": [{"type": 2, "style": 1, "label": "b", "custom_id": format!("b{i}")}]}))
        .collect();
    let (status, body) = answer(
        post(
            &sim,
            channel(),
            &json!({"content": "rows", "components": rows}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["errors"]["components"]["_errors"].is_array(), "{body}");
    let payload = json!({"attachments": [{"id": 0, "filename": "chart.png"}]});
    let too_big = vec![0u8; discord_sim::rest::DEFAULT_ATTACHMENT_SIZE_LIMIT + 1];
    let (status, body) =
        answer(post_form(&sim, channel(), with_png(&payload, too_big)).await).await;
    assert_eq!(status, 413);
    assert_eq!(
        body,
        json!({"code": 40005, "message": "Request entity too large"})
    );
    assert_eq!(
        sim.rest.channel_messages(channel()).len(),
        1,
        "only the valid one"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn channels_the_bot_cannot_post_in_answer_403_or_404() {
    let sim = start(Some(BucketLimit::CHANNEL_MESSAGES)).await;
    let hidden = channel();
    sim.rest
        .set_channel_access(hidden, ChannelAccess::MissingAccess);
    let (status, body) = answer(post(&sim, hidden, &json!({"content": "a"})).await).await;
    assert_eq!(
        (status, body),
        (403, json!({"code": 50001, "message": "Missing Access"}))
    );
    sim.rest
        .set_channel_access(hidden, ChannelAccess::MissingPermissions);
    let (status, body) = answer(post(&sim, hidden, &json!({"content": "a"})).await).await;
    assert_eq!(
        (status, body),
        (
            403,
            json!({"code": 50013, "message": "Missing Permissions"})
        )
    );
    let (status, body) = answer(post(&sim, 999, &json!({"content": "a"})).await).await;
    assert_eq!(
        (status, body),
        (404, json!({"code": 10003, "message": "Unknown Channel"}))
    );
    // The control route does the same, and makes a channel the scenario lacks.
    let control = Client::new()
        .post(format!("{}/_sim/channels/999/access", sim.rest.url()))
        .json(&json!({"access": "writable"}))
        .send()
        .await
        .unwrap();
    assert_eq!(control.status(), 204);
    let (status, created) = answer(post(&sim, 999, &json!({"content": "a"})).await).await;
    assert_eq!(status, 200);
    let (status, body) =
        answer(patch(&sim, 999, "1180000000000000999", &json!({"content": "b"})).await).await;
    assert_eq!(
        (status, body),
        (404, json!({"code": 10008, "message": "Unknown Message"}))
    );
    Client::new()
        .post(format!("{}/_sim/channels/999/access", sim.rest.url()))
        .json(&json!({"access": "unknown"}))
        .send()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let (status, body) = answer(patch(&sim, 999, id, &json!({"content": "b"})).await).await;
    assert_eq!((status, body["code"].clone()), (404, json!(10003)));
    // Rejected attempts are in the request log with their answers.
    let refused: Vec<(u16, Option<Value>)> = sim
        .rest
        .requests()
        .iter()
        .filter(|r| r.status >= 400)
        .map(|r| (r.status, r.response.as_ref().map(|b| b["code"].clone())))
        .collect();
    assert_eq!(
        refused,
        [
            (403, Some(json!(50001))),
            (403, Some(json!(50013))),
            (404, Some(json!(10003))),
            (404, Some(json!(10008))),
            (404, Some(json!(10003))),
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_channel_bucket_refuses_the_sixth_message_until_it_resets() {
    let sim = start(Some(BucketLimit::CHANNEL_MESSAGES)).await;
    let other = 4242;
    sim.rest.set_channel_access(other, ChannelAccess::Writable);
    let mut buckets = Vec::new();
    for n in 0..5 {
        let response = post(&sim, channel(), &json!({"content": format!("m{n}")})).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["x-ratelimit-remaining"],
            (4 - n).to_string()
        );
        buckets.push(response.headers()["x-ratelimit-bucket"].clone());
    }
    let limited = post(&sim, channel(), &json!({"content": "m5"})).await;
    assert_eq!(limited.status(), 429);
    let headers = limited.headers().clone();
    assert_eq!(headers["x-ratelimit-scope"], "user");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    assert_eq!(headers["x-ratelimit-limit"], "5");
    assert!(!headers.contains_key("x-ratelimit-global"));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["global"], false);
    assert_eq!(body["message"], "You are being rate limited.");
    let retry_after = body["retry_after"].as_f64().unwrap();
    assert!(retry_after > 0.0 && retry_after <= 5.0, "{retry_after}");
    // Another channel has a bucket of its own, under the same bucket id.
    let elsewhere = post(&sim, other, &json!({"content": "x"})).await;
    assert_eq!(elsewhere.status(), 200);
    assert_eq!(elsewhere.headers()["x-ratelimit-remaining"], "4");
    buckets.push(elsewhere.headers()["x-ratelimit-bucket"].clone());
    buckets.push(headers["x-ratelimit-bucket"].clone());
    assert!(buckets.windows(2).all(|w| w[0] == w[1]), "{buckets:?}");
    tokio::time::sleep(Duration::from_secs_f64(retry_after)).await;
    let again = post(&sim, channel(), &json!({"content": "m5"})).await;
    assert_eq!(again.status(), 200);
    assert_eq!(sim.rest.channel_messages(channel()).len(), 6);
    sim.shutdown().await;
}

#[tokio::test]
async fn forced_429s_and_server_errors_cover_the_next_answers() {
    let sim = start(Some(BucketLimit::CHANNEL_MESSAGES)).await;
    let other = 4242;
    sim.rest.set_channel_access(other, ChannelAccess::Writable);
    sim.rest
        .inject_fault(RestFault::rate_limited(CREATE, 0.75, 2).in_channel(channel()));
    for _ in 0..2 {
        let limited = post(&sim, channel(), &json!({"content": "a"})).await;
        assert_eq!(limited.status(), 429);
        assert_eq!(limited.headers()["x-ratelimit-scope"], "user");
        assert_eq!(
            limited.json::<Value>().await.unwrap(),
            json!({"message": "You are being rate limited.", "retry_after": 0.75, "global": false})
        );
    }
    assert_eq!(
        post(&sim, other, &json!({"content": "a"})).await.status(),
        200,
        "another channel"
    );
    assert_eq!(
        post(&sim, channel(), &json!({"content": "a"}))
            .await
            .status(),
        200,
        "two only"
    );
    sim.rest.inject_fault(RestFault {
        route: Some(CREATE.into()),
        channel_id: None,
        answer: ForcedAnswer::RateLimited {
            retry_after: 2.0,
            global: true,
        },
        count: 1,
    });
    let global = post(&sim, other, &json!({"content": "a"})).await;
    assert_eq!(global.status(), 429);
    assert_eq!(global.headers()["x-ratelimit-global"], "true");
    assert_eq!(global.headers()["x-ratelimit-scope"], "global");
    assert_eq!(global.json::<Value>().await.unwrap()["global"], true);
    sim.rest
        .inject_fault(RestFault::server_error(CREATE, 500, 1));
    // Over HTTP, as a test in another process would.
    let control = Client::new()
        .post(format!("{}/_sim/rest-faults", sim.rest.url()))
        .json(&json!({"route": CREATE, "channel_id": channel().to_string(), "answer": {"kind": "server_error", "status": 502}, "count": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(control.status(), 204);
    let (status, body) = answer(post(&sim, channel(), &json!({"content": "a"})).await).await;
    assert_eq!(
        (status, body),
        (
            500,
            json!({"code": 0, "message": "500: Internal Server Error"})
        )
    );
    let (status, body) = answer(post(&sim, channel(), &json!({"content": "a"})).await).await;
    assert_eq!(
        (status, body),
        (502, json!({"code": 0, "message": "502: Bad Gateway"}))
    );
    assert_eq!(
        post(&sim, channel(), &json!({"content": "a"}))
            .await
            .status(),
        200
    );
    sim.rest
        .inject_fault(RestFault::server_error(CREATE, 500, 5));
    sim.rest.clear_faults();
    assert_eq!(
        post(&sim, channel(), &json!({"content": "a"}))
            .await
            .status(),
        200,
        "cleared"
    );
    // Forced answers left no message behind.
    assert_eq!(sim.rest.channel_messages(channel()).len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn enforce_nonce_returns_the_message_already_created() {
    let sim = start(None).await;
    let body = json!({"content": "alert", "nonce": "alert-7-2026", "enforce_nonce": true});
    let (status, first) = answer(post(&sim, channel(), &body).await).await;
    assert_eq!(status, 200);
    assert_eq!(first["nonce"], "alert-7-2026");
    let (status, second) = answer(post(&sim, channel(), &body).await).await;
    assert_eq!(status, 200);
    assert_eq!(second["id"], first["id"], "the same message");
    assert_eq!(sim.rest.channel_messages(channel()).len(), 1);
    // An integer nonce works the same way.
    let numeric = json!({"content": "n", "nonce": 123_456, "enforce_nonce": true});
    let (_, a) = answer(post(&sim, channel(), &numeric).await).await;
    let (_, b) = answer(post(&sim, channel(), &numeric).await).await;
    assert_eq!(a["id"], b["id"]);
    assert_eq!(a["nonce"], 123_456);
    // Without enforce_nonce, a repeated nonce makes a second message.
    let loose = json!({"content": "twice", "nonce": "loose"});
    let (_, a) = answer(post(&sim, channel(), &loose).await).await;
    let (_, b) = answer(post(&sim, channel(), &loose).await).await;
    assert_ne!(a["id"], b["id"]);
    assert_eq!(sim.rest.channel_messages(channel()).len(), 4);
    sim.shutdown().await;
}

#[tokio::test]
async fn patch_edits_the_message_in_place() {
    let sim = start(Some(BucketLimit::CHANNEL_MESSAGES)).await;
    let payload =
        json!({"content": "alert: 10 joins", "attachments": [{"id": 0, "filename": "chart.png"}]});
    let response = post_form(&sim, channel(), with_png(&payload, png())).await;
    let bucket = response.headers()["x-ratelimit-bucket"].clone();
    let (_, created) = answer(response).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let attachment_id = created["attachments"][0]["id"].clone();
    let response = patch(
        &sim,
        channel(),
        &id,
        &json!({"content": "alert: 25 joins", "attachments": [{"id": attachment_id}]}),
    )
    .await;
    // Editing counts against the channel's bucket: 2 of 5 used.
    assert_eq!(response.headers()["x-ratelimit-bucket"], bucket);
    assert_eq!(response.headers()["x-ratelimit-remaining"], "3");
    let (status, edited) = answer(response).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["id"], id);
    assert_eq!(edited["content"], "alert: 25 joins");
    assert!(edited["edited_timestamp"].is_string());
    assert_eq!(edited["attachments"][0]["id"], attachment_id);
    let (status, body) =
        answer(patch(&sim, channel(), &id, &json!({"content": "x".repeat(2001)})).await).await;
    assert_eq!((status, body["code"].clone()), (400, json!(50035)));
    let stored = sim.rest.channel_messages(channel());
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].message, edited);
    assert_eq!(stored[0].files[0].bytes(), png());
    // The control route shows the same record.
    let over_http: Value = Client::new()
        .get(format!(
            "{}/_sim/channels/{}/messages",
            sim.rest.url(),
            channel()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http[0]["message"], edited);
    assert_eq!(over_http[0]["files"][0]["filename"], "chart.png");
    let patches: Vec<u16> = sim
        .rest
        .requests()
        .iter()
        .filter(|r| {
            r.route.as_deref() == Some("PATCH /channels/{channel_id}/messages/{message_id}")
        })
        .map(|r| r.status)
        .collect();
    assert_eq!(patches, [200, 400]);
    sim.shutdown().await;
}
