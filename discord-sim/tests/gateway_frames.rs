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

fn identify(token: &str, shard: Value) -> Message {
    Message::Text(
        json!({"op": 2, "d": {"token": token, "intents": 513, "shard": shard, "properties": {}}})
            .to_string()
            .into(),
    )
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
    sim.shutdown().await;
}
