//! The gateway's wire format read frame by frame: text frames, one zstd
//! stream per connection flushed per message, close codes, op 9 on an
//! unknown session, and scenario-clock pacing.

mod common;

use std::time::Duration;

use common::{TOKEN, scenario, start_sim};
use discord_sim::{Compression, Pacing, SimConfig};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use zstd::stream::raw::{Decoder, InBuffer, Operation as _, OutBuffer};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;
const STEP: Duration = Duration::from_secs(10);

async fn connect(url: &str, query: &str) -> Client {
    let (ws, _) = tokio_tungstenite::connect_async(format!("{url}/?{query}"))
        .await
        .expect("websocket connects");
    ws
}

/// Reads one frame; binary frames go through the connection's zstd decoder.
async fn next_frame(ws: &mut Client, decoder: &mut Option<Decoder<'static>>) -> Frame {
    let message = tokio::time::timeout(STEP, ws.next())
        .await
        .expect("a frame in time");
    match message {
        Some(Ok(Message::Text(text))) => {
            Frame::Json(serde_json::from_str(text.as_str()).unwrap(), false)
        }
        Some(Ok(Message::Binary(bytes))) => {
            let decoder = decoder.as_mut().expect("binary frames only with zstd");
            let mut input = InBuffer::around(&bytes);
            let mut decoded = Vec::new();
            let mut buffer = vec![0u8; 1 << 16];
            loop {
                let mut output = OutBuffer::around(&mut buffer[..]);
                decoder
                    .run(&mut input, &mut output)
                    .expect("valid zstd stream");
                let written = output.pos();
                decoded.extend_from_slice(&buffer[..written]);
                if input.pos() == bytes.len() && written < buffer.len() {
                    break;
                }
            }
            Frame::Json(
                serde_json::from_slice(&decoded).expect("one whole JSON payload per frame"),
                true,
            )
        }
        Some(Ok(Message::Close(frame))) => Frame::Close(frame.map(|f| u16::from(f.code))),
        other => panic!("unexpected {other:?}"),
    }
}

#[derive(Debug)]
enum Frame {
    /// Payload, and whether it came compressed.
    Json(Value, bool),
    Close(Option<u16>),
}

impl Frame {
    fn json(self) -> (Value, bool) {
        match self {
            Frame::Json(value, compressed) => (value, compressed),
            Frame::Close(code) => panic!("closed with {code:?}"),
        }
    }
}

/// GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT
const INTENTS: u64 = 1 | (1 << 9) | (1 << 15);

fn identify(token: &str, shard: Value) -> Message {
    identify_with(token, shard, INTENTS)
}

fn identify_with(token: &str, shard: Value, intents: u64) -> Message {
    let d = json!({"token": token, "intents": intents, "shard": shard, "properties": {}});
    Message::Text(json!({"op": 2, "d": d}).to_string().into())
}

async fn session_frames(query: &str, compression: Compression) -> Vec<(Value, bool)> {
    let guild_id = common::guild_id(1, 0, 1);
    let sim = start_sim(scenario(&[guild_id], 3, &[]), compression).await;
    let mut ws = connect(sim.gateway.url(), query).await;
    let mut decoder = query.contains("zstd").then(|| Decoder::new().unwrap());
    let mut frames = vec![next_frame(&mut ws, &mut decoder).await.json()];
    ws.send(identify(&format!("Bot {TOKEN}"), json!([0, 1])))
        .await
        .unwrap();
    ws.send(Message::Text(
        json!({"op": 1, "d": null}).to_string().into(),
    ))
    .await
    .unwrap();
    // READY, GUILD_CREATE, the heartbeat ACK and three messages, in some order.
    for _ in 0..6 {
        frames.push(next_frame(&mut ws, &mut decoder).await.json());
    }
    drop(ws);
    sim.shutdown().await;
    frames
}

#[tokio::test]
async fn zstd_stream_is_one_stream_flushed_per_message() {
    let frames = session_frames(
        "v=10&encoding=json&compress=zstd-stream",
        Compression::AsRequested,
    )
    .await;
    assert!(
        frames.iter().all(|(_, compressed)| *compressed),
        "every frame binary"
    );
    assert_eq!(frames[0].0["op"], 10);
    assert_eq!(frames[0].0["d"]["heartbeat_interval"], 41_250);
    let types: Vec<&str> = frames.iter().filter_map(|(f, _)| f["t"].as_str()).collect();
    assert_eq!(
        types,
        [
            "READY",
            "GUILD_CREATE",
            "MESSAGE_CREATE",
            "MESSAGE_CREATE",
            "MESSAGE_CREATE"
        ]
    );
    assert!(
        frames.iter().any(|(f, _)| f["op"] == 11),
        "heartbeat acknowledged"
    );
    let seqs: Vec<u64> = frames.iter().filter_map(|(f, _)| f["s"].as_u64()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn text_frames_without_compression_or_when_disabled() {
    for (query, compression) in [
        ("v=10&encoding=json", Compression::AsRequested),
        (
            "v=10&encoding=json&compress=zstd-stream",
            Compression::Never,
        ),
    ] {
        let frames = session_frames(query, compression).await;
        assert!(
            frames.iter().all(|(_, compressed)| !compressed),
            "{query}: every frame text"
        );
        let types: Vec<&str> = frames.iter().filter_map(|(f, _)| f["t"].as_str()).collect();
        assert_eq!(types.len(), 5);
        let ready = &frames.iter().find(|(f, _)| f["t"] == "READY").unwrap().0["d"];
        assert_eq!(ready["shard"], json!([0, 1]));
        assert_eq!(ready["v"], 10);
        assert!(
            ready["resume_gateway_url"]
                .as_str()
                .unwrap()
                .starts_with("ws://127.0.0.1:")
        );
    }
}

async fn first_reply(send: Message) -> Frame {
    let sim = start_sim(
        scenario(&[common::guild_id(1, 0, 1)], 1, &[]),
        Compression::AsRequested,
    )
    .await;
    let mut ws = connect(sim.gateway.url(), "v=10&encoding=json").await;
    let mut none = None;
    next_frame(&mut ws, &mut none).await.json();
    ws.send(send).await.unwrap();
    let reply = next_frame(&mut ws, &mut none).await;
    drop(ws);
    sim.shutdown().await;
    reply
}

#[tokio::test]
async fn refuses_bad_token_bad_shard_and_unknown_session() {
    assert!(matches!(
        first_reply(identify("Bot wrong", json!([0, 1]))).await,
        Frame::Close(Some(4004))
    ));
    assert!(matches!(
        first_reply(identify(TOKEN, json!([2, 2]))).await,
        Frame::Close(Some(4010))
    ));
    let resume = json!({"op": 6, "d": {"token": TOKEN, "session_id": "nope", "seq": 3}});
    let (reply, _) = first_reply(Message::Text(resume.to_string().into()))
        .await
        .json();
    assert_eq!(reply, json!({"op": 9, "d": false, "s": null, "t": null}));
    let heartbeat_first = json!({"op": 8, "d": {}});
    assert!(matches!(
        first_reply(Message::Text(heartbeat_first.to_string().into())).await,
        Frame::Close(Some(4003))
    ));
}

#[tokio::test]
async fn bad_api_version_is_closed() {
    let sim = start_sim(
        scenario(&[common::guild_id(1, 0, 1)], 1, &[]),
        Compression::AsRequested,
    )
    .await;
    let mut ws = connect(sim.gateway.url(), "v=9&encoding=json").await;
    assert!(matches!(
        next_frame(&mut ws, &mut None).await,
        Frame::Close(Some(4012))
    ));
    drop(ws);
    sim.shutdown().await;
}

#[tokio::test]
async fn scenario_clock_holds_events_until_due() {
    let guild_id = common::guild_id(1, 0, 1);
    let mut scenario = scenario(&[guild_id], 2, &[]);
    // The second event comes a scenario hour after the first.
    scenario.events[1].at_ms = scenario.events[0].at_ms + 3_600_000;
    let mut config = SimConfig::new(TOKEN);
    config.gateway.pacing = Pacing::ScenarioClock { speedup: 1.0 };
    let sim = discord_sim::start(config, scenario).await.unwrap();
    let mut ws = connect(sim.gateway.url(), "v=10&encoding=json").await;
    next_frame(&mut ws, &mut None).await.json();
    ws.send(identify(TOKEN, json!([0, 1]))).await.unwrap();
    let mut types = Vec::new();
    for _ in 0..3 {
        types.push(next_frame(&mut ws, &mut None).await.json().0["t"].clone());
    }
    assert_eq!(types, ["READY", "GUILD_CREATE", "MESSAGE_CREATE"]);
    // A round trip proves the connection is served while the next event waits.
    ws.send(Message::Text(json!({"op": 1, "d": 3}).to_string().into()))
        .await
        .unwrap();
    assert_eq!(next_frame(&mut ws, &mut None).await.json().0["op"], 11);
    assert_eq!(sim.gateway.shard_progress([0, 1]), Some((1, 2)));
    drop(ws);
    sim.shutdown().await;
}

#[tokio::test]
async fn intents_filter_events_and_guard_message_content() {
    let guild_id = common::guild_id(1, 0, 1);
    // Event 1 creates a channel (GUILDS); the others are messages.
    let scenario = scenario(&[guild_id], 3, &[1]);
    let mut config = SimConfig::new(TOKEN);
    config.gateway.allowed_privileged_intents = 0;
    let sim = discord_sim::start(config, scenario).await.unwrap();

    let mut ws = connect(sim.gateway.url(), "v=10&encoding=json").await;
    next_frame(&mut ws, &mut None).await.json();
    ws.send(identify(TOKEN, json!([0, 1]))).await.unwrap();
    assert!(
        matches!(
            next_frame(&mut ws, &mut None).await,
            Frame::Close(Some(4014))
        ),
        "MESSAGE_CONTENT not granted"
    );
    drop(ws);

    // GUILDS only: the channel, no messages.
    let mut ws = connect(sim.gateway.url(), "v=10&encoding=json").await;
    next_frame(&mut ws, &mut None).await.json();
    ws.send(identify_with(TOKEN, json!([0, 1]), 1))
        .await
        .unwrap();
    let mut types = Vec::new();
    for _ in 0..3 {
        types.push(
            next_frame(&mut ws, &mut None).await.json().0["t"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(types, ["READY", "GUILD_CREATE", "CHANNEL_CREATE"]);
    // The last message is handed out right after the channel; wait (bounded) for it.
    for _ in 0..500 {
        if sim.gateway.shard_progress([0, 1]) == Some((3, 3)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(ws);
    let first = &sim.gateway.sessions()[0];
    assert_eq!(first.filtered_events, [0, 2]);
    assert_eq!(first.delivered_events(), [1]);
    sim.shutdown().await;

    // GUILD_MESSAGES without MESSAGE_CONTENT: messages arrive with content empty.
    let sim = start_sim(scenario_with_one_message(), Compression::AsRequested).await;
    let mut ws = connect(sim.gateway.url(), "v=10&encoding=json").await;
    next_frame(&mut ws, &mut None).await.json();
    ws.send(identify_with(TOKEN, json!([0, 1]), 1 | (1 << 9)))
        .await
        .unwrap();
    let mut message = Value::Null;
    for _ in 0..3 {
        message = next_frame(&mut ws, &mut None).await.json().0;
    }
    assert_eq!(message["t"], "MESSAGE_CREATE");
    assert_eq!(message["d"]["content"], "");
    assert_eq!(
        message["d"]["author"]["id"], "20",
        "the rest of the message is there"
    );
    drop(ws);
    sim.shutdown().await;
}

fn scenario_with_one_message() -> sim_scenario::Scenario {
    scenario(&[common::guild_id(1, 0, 1)], 1, &[])
}

#[tokio::test]
async fn request_guild_members_answers_from_live_state() {
    let guild_id = common::guild_id(1, 0, 1);
    let mut scenario = scenario(&[guild_id], 1, &[]);
    let member = |id: &str, name: &str| json!({"user": {"id": id, "username": name, "discriminator": "0", "avatar": null}, "roles": [], "deaf": false, "mute": false, "flags": 0, "joined_at": "2025-01-01T00:00:00.000000+00:00"});
    scenario.guilds[0]["members"] = json!([member("31", "alice"), member("32", "bob")]);
    let mut joined = member("33", "alan");
    joined["guild_id"] = json!(guild_id.to_string());
    scenario.events[0] = sim_scenario::Dispatch {
        at_ms: common::START_MS,
        guild_id,
        t: "GUILD_MEMBER_ADD".into(),
        d: joined,
    };
    let sim = start_sim(scenario, Compression::AsRequested).await;
    let mut ws = connect(sim.gateway.url(), "v=10&encoding=json").await;
    next_frame(&mut ws, &mut None).await.json();
    ws.send(identify_with(TOKEN, json!([0, 1]), u64::from(u32::MAX)))
        .await
        .unwrap();
    for _ in 0..3 {
        next_frame(&mut ws, &mut None).await.json();
    }
    let mut ask = async |d: Value| {
        ws.send(Message::Text(json!({"op": 8, "d": d}).to_string().into()))
            .await
            .unwrap();
        let (chunk, _) = next_frame(&mut ws, &mut None).await.json();
        assert_eq!(chunk["t"], "GUILD_MEMBERS_CHUNK");
        let ids: Vec<String> = chunk["d"]["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["user"]["id"].as_str().unwrap().to_owned())
            .collect();
        (ids, chunk["d"].clone())
    };
    let (all, chunk) =
        ask(json!({"guild_id": guild_id.to_string(), "query": "", "limit": 0, "nonce": "n1"}))
            .await;
    assert_eq!(all, ["31", "32", "33"], "the member who joined is there");
    assert_eq!(
        (chunk["nonce"].as_str(), chunk["chunk_count"].as_u64()),
        (Some("n1"), Some(1))
    );
    let (al, _) = ask(json!({"guild_id": guild_id.to_string(), "query": "al", "limit": 0})).await;
    assert_eq!(al, ["31", "33"]);
    let (one, _) = ask(json!({"guild_id": guild_id.to_string(), "user_ids": ["32"]})).await;
    assert_eq!(one, ["32"]);
    drop(ws);
    sim.shutdown().await;
}

#[tokio::test]
async fn more_than_120_commands_a_minute_is_closed_with_4008() {
    let sim = start_sim(
        scenario(&[common::guild_id(1, 0, 1)], 1, &[]),
        Compression::AsRequested,
    )
    .await;
    let mut ws = connect(sim.gateway.url(), "v=10&encoding=json").await;
    next_frame(&mut ws, &mut None).await.json();
    for _ in 0..121 {
        ws.send(Message::Text(
            json!({"op": 1, "d": null}).to_string().into(),
        ))
        .await
        .unwrap();
    }
    let mut acks = 0;
    let code = loop {
        match next_frame(&mut ws, &mut None).await {
            Frame::Json(frame, _) if frame["op"] == 11 => acks += 1,
            Frame::Json(frame, _) => panic!("unexpected {frame}"),
            Frame::Close(code) => break code,
        }
    };
    assert_eq!((acks, code), (120, Some(4008)));
    drop(ws);
    sim.shutdown().await;
}

#[tokio::test]
async fn identify_spacing_refuses_early_identifies_per_bucket() {
    let mut config = SimConfig::new(TOKEN);
    config.gateway.identify_spacing = Some(Duration::from_secs(60));
    config.gateway.max_concurrency = 2;
    let guilds = [common::guild_id(1, 0, 2), common::guild_id(1, 1, 2)];
    let sim = discord_sim::start(config, scenario(&guilds, 1, &[]))
        .await
        .unwrap();
    let first_reply = async |shard: Value| {
        let mut ws = connect(sim.gateway.url(), "v=10&encoding=json").await;
        next_frame(&mut ws, &mut None).await.json();
        ws.send(identify(TOKEN, shard)).await.unwrap();
        let (reply, _) = next_frame(&mut ws, &mut None).await.json();
        (ws, reply)
    };
    let (a, ready) = first_reply(json!([0, 2])).await;
    assert_eq!(ready["t"], "READY");
    let (b, other_bucket) = first_reply(json!([1, 2])).await;
    assert_eq!(other_bucket["t"], "READY", "bucket 1 is free");
    let (c, refused) = first_reply(json!([0, 2])).await;
    assert_eq!(refused, json!({"op": 9, "d": false, "s": null, "t": null}));
    assert_eq!(
        (
            sim.gateway.identify_count(),
            sim.gateway.refused_identify_count()
        ),
        (2, 1)
    );
    let bot: Value = reqwest::Client::new()
        .get(format!("{}/gateway/bot", sim.rest.api_url()))
        .header("Authorization", format!("Bot {TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bot["session_start_limit"]["remaining"], 998);
    assert_eq!(bot["session_start_limit"]["max_concurrency"], 2);
    drop((a, b, c));
    sim.shutdown().await;
}

/// The daily session-start budget: `GET /gateway/bot` counts it down, and
/// an IDENTIFY past it is closed with 4004 (Discord resets the token of a
/// bot that exhausts it).
#[tokio::test]
async fn identifies_past_the_session_start_budget_are_closed() {
    let mut config = SimConfig::new(TOKEN);
    config.gateway.session_start_limit = 2;
    let guilds = [common::guild_id(1, 0, 1)];
    let sim = discord_sim::start(config, scenario(&guilds, 1, &[]))
        .await
        .unwrap();
    let limit = async || -> Value {
        let bot: Value = reqwest::Client::new()
            .get(format!("{}/gateway/bot", sim.rest.api_url()))
            .header("Authorization", format!("Bot {TOKEN}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        bot["session_start_limit"].clone()
    };
    let before = limit().await;
    assert_eq!(
        (before["total"].clone(), before["remaining"].clone()),
        (json!(2), json!(2))
    );
    let mut sockets = Vec::new();
    for _ in 0..2 {
        let mut ws = connect(sim.gateway.url(), "v=10&encoding=json").await;
        next_frame(&mut ws, &mut None).await.json();
        ws.send(identify(TOKEN, json!([0, 1]))).await.unwrap();
        let (ready, _) = next_frame(&mut ws, &mut None).await.json();
        assert_eq!(ready["t"], "READY");
        sockets.push(ws);
    }
    let spent = limit().await;
    assert_eq!(spent["remaining"], 0);
    let reset_after = spent["reset_after"].as_u64().unwrap();
    assert!(reset_after > 0 && reset_after <= 86_400_000, "{spent}");
    let mut ws = connect(sim.gateway.url(), "v=10&encoding=json").await;
    next_frame(&mut ws, &mut None).await.json();
    ws.send(identify(TOKEN, json!([0, 1]))).await.unwrap();
    let close = loop {
        match ws.next().await {
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close, Some(4004));
    assert_eq!(sim.gateway.identify_count(), 2);
    assert_eq!(sim.gateway.over_budget_identify_count(), 1);
    drop(sockets);
    sim.shutdown().await;
}

/// Every dispatch carries the simulator's `sim_time_ms`: a scenario event's
/// own time, or for READY and GUILD_CREATE the shard's clock when made.
#[tokio::test]
async fn dispatches_carry_their_scenario_time() {
    let guild_id = common::guild_id(1, 0, 1);
    let scenario = scenario(&[guild_id], 3, &[]);
    let times: Vec<i64> = scenario.events.iter().map(|e| e.at_ms).collect();
    let sim = start_sim(scenario, Compression::AsRequested).await;
    let mut ws = connect(sim.gateway.url(), "v=10&encoding=json").await;
    next_frame(&mut ws, &mut None).await.json();
    ws.send(identify(TOKEN, json!([0, 1]))).await.unwrap();
    let mut stamps = Vec::new();
    for _ in 0..5 {
        let (frame, _) = next_frame(&mut ws, &mut None).await.json();
        stamps.push(
            frame["sim_time_ms"]
                .as_i64()
                .expect("sim_time_ms on every dispatch"),
        );
    }
    let start = common::START_MS;
    assert_eq!(stamps, [start, start, times[0], times[1], times[2]]);
    drop(ws);
    sim.shutdown().await;
}
