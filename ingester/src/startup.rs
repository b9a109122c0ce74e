//! Starting the gateway the way Discord requires: how many shards (Discord's
//! recommendation unless `SHARD_TOTAL` fixes it), whether the day's session
//! starts allow starting them, and how long a process restarted after
//! repeated failures waits first (the history is kept in PostgreSQL, so a
//! crash loop under systemd or Fly backs off across restarts too).

use std::ops::RangeInclusive;
use std::time::Duration;

use serde::Deserialize;
use shared::config::{Secret, ShardPlan};

/// What `GET /gateway/bot` answers.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct GatewayBot {
    pub url: String,
    pub shards: u32,
    pub session_start_limit: SessionStartLimit,
}

/// The day's IDENTIFY budget and how many buckets may identify at once.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub struct SessionStartLimit {
    pub total: u64,
    pub remaining: u64,
    /// Milliseconds until `remaining` is back to `total`.
    pub reset_after: u64,
    pub max_concurrency: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("GET {url} failed: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("GET {url} answered {status}: {body}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
        body: String,
    },
    #[error(
        "not starting: Discord allows {remaining} more session starts (of {total}) for the next {reset_minutes} minutes, \
         and starting {shards} shards would spend them all (Discord resets the token of a bot that exhausts them); \
         wait for the reset or find what keeps restarting the ingester"
    )]
    SessionStartsExhausted {
        remaining: u64,
        total: u64,
        reset_minutes: u64,
        shards: u32,
    },
    #[error("GET /gateway/bot recommended {0} shards; expected at least 1")]
    NoShards(u32),
}

/// Asks Discord (`api_url`, e.g. `https://discord.com/api/v10`) for the
/// recommended shards and the session-start budget.
pub async fn gateway_bot(api_url: &str, token: &Secret) -> Result<GatewayBot, StartupError> {
    let url = format!("{}/gateway/bot", api_url.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .user_agent("DiscordBot (https://github.com/serverpulse, 0.1) serverpulse-ingester")
        .build()
        .map_err(|source| StartupError::Request {
            url: url.clone(),
            source,
        })?;
    let response = client
        .get(&url)
        .header("Authorization", format!("Bot {}", token.expose()))
        .send()
        .await
        .map_err(|source| StartupError::Request {
            url: url.clone(),
            source,
        })?;
    let status = response.status();
    if !status.is_success() {
        let body: String = response
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        return Err(StartupError::Status { url, status, body });
    }
    response
        .json()
        .await
        .map_err(|source| StartupError::Request { url, source })
}

/// The shards one process runs and how their IDENTIFYs are spaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardStart {
    pub shards: RangeInclusive<u32>,
    pub total: u32,
    pub max_concurrency: u32,
    /// The gateway URL Discord named, when it was asked.
    pub gateway_url: Option<String>,
}

impl ShardStart {
    /// A fixed plan as configured.
    pub fn fixed(plan: &ShardPlan) -> Option<Self> {
        match plan {
            ShardPlan::Fixed {
                shards,
                total,
                max_concurrency,
            } => Some(Self {
                shards: shards.clone(),
                total: *total,
                max_concurrency: *max_concurrency,
                gateway_url: None,
            }),
            ShardPlan::Recommended => None,
        }
    }

    /// Every shard Discord recommends, unless the budget cannot take them:
    /// starting must leave at least one session start for a reconnect.
    pub fn recommended(bot: &GatewayBot) -> Result<Self, StartupError> {
        if bot.shards == 0 {
            return Err(StartupError::NoShards(bot.shards));
        }
        let limit = bot.session_start_limit;
        if limit.remaining <= u64::from(bot.shards) {
            return Err(StartupError::SessionStartsExhausted {
                remaining: limit.remaining,
                total: limit.total,
                reset_minutes: limit.reset_after.div_ceil(60_000),
                shards: bot.shards,
            });
        }
        Ok(Self {
            shards: 0..=bot.shards - 1,
            total: bot.shards,
            max_concurrency: limit.max_concurrency.max(1),
            gateway_url: Some(bot.url.trim_end_matches('/').to_owned()).filter(|u| !u.is_empty()),
        })
    }
}

/// The name a process's start history is kept under: its shard range, or
/// `recommended` when Discord decides the shards.
pub fn process_name(plan: &ShardPlan) -> String {
    match plan {
        ShardPlan::Fixed { shards, total, .. } => {
            format!("{}-{}/{}", shards.start(), shards.end(), total)
        }
        ShardPlan::Recommended => "recommended".to_owned(),
    }
}

/// The first back-off after repeated failed starts.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(5);
/// The longest wait between two starts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// How long after the previous start a process may start again, given the
/// starts since the last stable run: one failure restarts at once, then
/// 5 s, 10 s, 20 s, ... up to 15 minutes, so a crash loop spends at most a
/// few hundred session starts a day per shard instead of the whole budget.
pub fn restart_delay(unstable_starts: u32) -> Duration {
    if unstable_starts < 2 {
        return Duration::ZERO;
    }
    let doublings = (unstable_starts - 2).min(16);
    FIRST_BACKOFF
        .saturating_mul(1u32 << doublings)
        .min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_delay_doubles_after_the_second_failure_up_to_the_cap() {
        let delays: Vec<u64> = (0..6).map(|n| restart_delay(n).as_secs()).collect();
        assert_eq!(delays, vec![0, 0, 5, 10, 20, 40]);
        assert_eq!(restart_delay(30), MAX_BACKOFF);
        assert_eq!(restart_delay(u32::MAX), MAX_BACKOFF);
    }

    fn bot(shards: u32, remaining: u64) -> GatewayBot {
        GatewayBot {
            url: "wss://gateway.example/".into(),
            shards,
            session_start_limit: SessionStartLimit {
                total: 1000,
                remaining,
                reset_after: 90_000,
                max_concurrency: 4,
            },
        }
    }

    #[test]
    fn the_recommendation_is_followed_within_the_budget() {
        let start = ShardStart::recommended(&bot(3, 10)).unwrap();
        assert_eq!(start.shards, 0..=2);
        assert_eq!(start.total, 3);
        assert_eq!(start.max_concurrency, 4);
        assert_eq!(start.gateway_url.as_deref(), Some("wss://gateway.example"));
        let error = ShardStart::recommended(&bot(3, 3)).unwrap_err();
        assert!(
            matches!(
                error,
                StartupError::SessionStartsExhausted {
                    remaining: 3,
                    shards: 3,
                    reset_minutes: 2,
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("not starting"));
    }
}
