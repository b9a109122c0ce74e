//! Hand-built scenarios and a twilight shard that records what it received.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use discord_sim::{Compression, SimConfig, SimHandle};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use sim_scenario::{Dispatch, Scenario, snowflake_at};
use twilight_gateway::queue::InMemoryQueue;
use twilight_gateway::{ConfigBuilder, Intents, Message, Shard, ShardId};

pub const TOKEN: &str = "test-bot-token";
/// 2026-01-01T00:00:00Z
pub const START_MS: i64 = 1_767_225_600_000;

/// A guild id routed to `shard` of `shards`: `(id >> 22) % shards == shard`.
pub fn guild_id(index: u64, shard: u64, shards: u64) -> u64 {
    let ms_part = index * shards + shard;
    (ms_part << 22) | 1
}

/// A GUILD_CREATE payload with what twilight-model requires and one text channel.
pub fn guild(id: u64) -> Value {
    json!({
        "id": id.to_string(),
        "name": format!("guild {id}"),
        "owner_id": "10",
        "afk_timeout": 300,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "features": [],
        "mfa_level": 0,
        "preferred_locale": "en-US",
        "roles": [],
        "system_channel_flags": 0,
        "premium_progress_bar_enabled": false,
        "verification_level": 0,
        "nsfw_level": 0,
        "channels": [{"id": text_channel(id).to_string(), "type": 0, "name": "general", "position": 0}],
        "threads": [],
        "members": [],
        "voice_states": [],
        "member_count": 3,
    })
}

pub fn text_channel(guild_id: u64) -> u64 {
    guild_id + 1
}

/// A MESSAGE_CREATE whose content names its scenario index.
pub fn message(index: usize, guild_id: u64, at_ms: i64) -> Dispatch {
    let id = snowflake_at(at_ms, index as u64 + 1);
    Dispatch {
        at_ms,
        guild_id,
        t: "MESSAGE_CREATE".into(),
        d: json!({
            "id": id.to_string(),
            "channel_id": text_channel(guild_id).to_string(),
            "guild_id": guild_id.to_string(),
            "author": {"id": "20", "username": "member", "discriminator": "0", "avatar": null},
            "member": {"roles": [], "deaf": false, "mute": false, "flags": 0, "joined_at": "2025-01-01T00:00:00.000000+00:00"},
            "content": format!("ev-{index}"),
            "timestamp": "2026-01-01T00:00:00.000000+00:00",
            "edited_timestamp": null,
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": false,
            "type": 0,
        }),
    }
}

/// A CHANNEL_CREATE of a text channel named after its scenario index.
pub fn channel_create(index: usize, guild_id: u64, at_ms: i64) -> Dispatch {
    Dispatch {
        at_ms,
        guild_id,
        t: "CHANNEL_CREATE".into(),
        d: json!({
            "id": snowflake_at(at_ms, index as u64 + 1).to_string(),
            "guild_id": guild_id.to_string(),
            "type": 0,
            "name": format!("ev-{index}"),
            "position": 1,
        }),
    }
}

/// `count` events per guild, round robin over the guilds, one second apart;
/// the events at `channel_events` are CHANNEL_CREATEs, the rest messages.
pub fn scenario(guild_ids: &[u64], count: usize, channel_events: &[usize]) -> Scenario {
    let mut events = Vec::new();
    for n in 0..count * guild_ids.len() {
        let guild_id = guild_ids[n % guild_ids.len()];
        let at_ms = START_MS + 1000 * (n as i64 + 1);
        if channel_events.contains(&n) {
            events.push(channel_create(n, guild_id, at_ms));
        } else {
            events.push(message(n, guild_id, at_ms));
        }
    }
    Scenario {
        seed: 1,
        start_ms: START_MS,
        days: 1,
        guilds: guild_ids.iter().map(|&id| guild(id)).collect(),
        events,
    }
}

pub async fn start_sim(scenario: Scenario, compression: Compression) -> SimHandle {
    let mut config = SimConfig::new(TOKEN);
    config.gateway.compression = compression;
    discord_sim::start(config, scenario)
        .await
        .expect("simulator starts")
}

pub fn shard(url: &str, id: u32, total: u32) -> Shard<InMemoryQueue> {
    let config = ConfigBuilder::new(TOKEN.to_owned(), Intents::all())
        .proxy_url(url.to_owned())
        .queue(InMemoryQueue::new(0, 1000, Duration::from_secs(60), 1000))
        .ratelimit_messages(false)
        .build();
    Shard::with_config(ShardId::new(id, total), config)
}

/// What one twilight shard received, grouped by the session it belonged to.
#[derive(Debug, Default)]
pub struct Received {
    /// READY session id → scenario event indices in arrival order.
    pub sessions: BTreeMap<String, Vec<usize>>,
    pub session_order: Vec<String>,
    /// Every GUILD_CREATE payload, in order, with the session it came in.
    pub guild_creates: Vec<(String, Value)>,
    pub ready_guilds: Vec<u64>,
    pub event_guilds: Vec<u64>,
    pub resumed: usize,
    pub invalid_sessions: usize,
    pub reconnects: usize,
    pub close_codes: Vec<u16>,
    pub all_events: Vec<usize>,
}

impl Received {
    pub fn current(&self) -> &str {
        self.session_order
            .last()
            .map(String::as_str)
            .unwrap_or_default()
    }
}

/// The scenario index carried by an event (`ev-N` in content or name).
pub fn event_index(d: &Value) -> Option<usize> {
    let text = d.get("content").or_else(|| d.get("name"))?.as_str()?;
    text.strip_prefix("ev-")?.parse().ok()
}

/// Reads from the shard until `done` says so; every dispatch must parse with
/// twilight-model.
pub async fn read_until(
    shard: &mut Shard<InMemoryQueue>,
    received: &mut Received,
    done: impl Fn(&Received) -> bool,
) {
    while !done(received) {
        let message = match shard.next().await {
            Some(Ok(message)) => message,
            // Reconnect attempts and the like: the shard carries on.
            Some(Err(error)) => {
                eprintln!("shard error: {error}");
                continue;
            }
            None => panic!("the shard's stream ended"),
        };
        match message {
            Message::Close(frame) => {
                if let Some(frame) = frame {
                    received.close_codes.push(frame.code);
                }
            }
            Message::Text(text) => record(received, text),
        }
    }
}

fn record(received: &mut Received, text: String) {
    let value: Value = serde_json::from_str(&text).expect("gateway frames are JSON");
    match value["op"].as_u64() {
        Some(0) => {}
        Some(7) => received.reconnects += 1,
        Some(9) => received.invalid_sessions += 1,
        _ => return,
    }
    if value["op"] != 0 {
        return;
    }
    let parsed = twilight_gateway::parse(text, twilight_gateway::EventTypeFlags::all());
    assert!(
        matches!(parsed, Ok(Some(_))),
        "twilight rejects {value}: {parsed:?}"
    );
    let d = &value["d"];
    match value["t"].as_str().unwrap_or_default() {
        "READY" => {
            let session_id = d["session_id"].as_str().expect("session id").to_owned();
            received.sessions.insert(session_id.clone(), Vec::new());
            received.session_order.push(session_id);
            for guild in d["guilds"].as_array().expect("guild stubs") {
                received
                    .ready_guilds
                    .push(guild["id"].as_str().unwrap().parse().unwrap());
            }
        }
        "RESUMED" => received.resumed += 1,
        "GUILD_CREATE" => {
            let session = received.current().to_owned();
            received.guild_creates.push((session, d.clone()));
        }
        _ => {
            let index = event_index(d).expect("scenario events carry their index");
            let session = received.current().to_owned();
            received
                .sessions
                .get_mut(&session)
                .expect("an event after READY")
                .push(index);
            received.all_events.push(index);
            if let Some(guild_id) = d["guild_id"].as_str() {
                received.event_guilds.push(guild_id.parse().unwrap());
            }
        }
    }
}
