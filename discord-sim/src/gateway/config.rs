//! How the gateway behaves: [`GatewayConfig`] and its choices.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::intents;

/// Discord's usual `session_start_limit.total`.
pub const DAILY_SESSION_STARTS: u64 = 1000;

/// How long the session-start budget lasts from the first IDENTIFY.
pub const SESSION_START_PERIOD: Duration = Duration::from_secs(24 * 3600);

/// How the gateway behaves; [`GatewayConfig::new`] gives Discord's defaults.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The bot token IDENTIFY and RESUME must carry (with or without `Bot `).
    pub token: String,
    /// Sent in HELLO.
    pub heartbeat_interval: Duration,
    pub pacing: Pacing,
    /// How long a disconnected session stays resumable.
    pub resume_window: Duration,
    pub compression: Compression,
    pub application_id: u64,
    pub bot_user_id: u64,
    pub bot_username: String,
    /// Discord's `max_concurrency`: IDENTIFY buckets that may start at once.
    pub max_concurrency: u32,
    /// Enforce this spacing between IDENTIFYs of one bucket (Discord: 5 s),
    /// refusing early ones with op 9; `None` (the default) does not.
    pub identify_spacing: Option<Duration>,
    /// Discord's daily budget of session starts (`session_start_limit.total`,
    /// 1000 for most bots): IDENTIFYs past it close with 4004, as Discord
    /// resets the token of a bot that exhausts it.
    pub session_start_limit: u64,
    /// Privileged intents the application may use (set in the Developer
    /// Portal); identifying with others closes with 4014.
    pub allowed_privileged_intents: u64,
}

impl GatewayConfig {
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            heartbeat_interval: Duration::from_millis(41_250),
            pacing: Pacing::AsFastAsRead,
            resume_window: Duration::from_secs(180),
            compression: Compression::AsRequested,
            application_id: crate::DEFAULT_APPLICATION_ID,
            bot_user_id: crate::DEFAULT_APPLICATION_ID,
            bot_username: "ServerPulse".into(),
            allowed_privileged_intents: intents::PRIVILEGED,
            max_concurrency: 1,
            identify_spacing: None,
            session_start_limit: DAILY_SESSION_STARTS,
        }
    }
}

/// When dispatches go out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pacing {
    /// As fast as the client reads: each send waits for the socket to take it.
    AsFastAsRead,
    /// Following the scenario clock (`Dispatch::at_ms`), `speedup` times
    /// faster than real time, from the first identify on.
    ScenarioClock { speedup: f64 },
}

/// Transport compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// zstd-stream when the URL asks `compress=zstd-stream`, else text frames.
    AsRequested,
    /// Always text frames, whatever the client asks (twilight parses text
    /// frames as they are even in its zstd build).
    Never,
}
