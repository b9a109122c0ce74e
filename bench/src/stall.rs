//! Stall: memory while Discord's REST never answers. A loopback listener
//! accepts connections and never replies, so every deferred answer (each
//! overview carries a chart, so each is deferred) waits on Discord. The
//! same burst of overviews is sent twice: with the default deferred-answer
//! limit, then with a limit so large it never binds (how the endpoint
//! behaved before it was bounded). Peak RSS of this process is
//! sampled during each burst and the time after it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use chrono::Utc;
use discord_sim::interactions::{
    CommandOption, InteractionKeys, InteractionKind, Invoker, OptionValue, fresh_id, fresh_token,
    interaction_payload,
};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use shared::config::{DatabaseConfig, LogFormat, Secret, WebConfig};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::profile::{Profile, ProfileName};

/// Requests in flight at once while sending a burst.
const SENDERS: usize = 64;
/// How long RSS is still sampled after the last answer of a burst.
const SETTLE: Duration = Duration::from_secs(3);
/// A limit that never binds: the unbounded behaviour.
const UNBOUNDED: usize = 1_000_000;

/// `VmRSS` or `VmHWM` of this process in KiB (Linux).
pub fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status_kib(&status, field)
}

/// A `Field:   1234 kB` line of `/proc/<pid>/status`, in KiB.
pub fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// Accepts connections on loopback and never answers them.
async fn black_hole() -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    Ok(format!("http://{addr}/api/v10"))
}

pub async fn run(
    profile: &Profile,
    database: &DatabaseConfig,
    pool: &PgPool,
) -> anyhow::Result<Value> {
    let burst = match profile.name {
        ProfileName::Smoke => 50,
        ProfileName::Quick => 500,
        ProfileName::Default => 2_000,
    };
    // A small guild is enough: every overview draws the same kind of chart.
    let guild = crate::seed::seed_large_guild(pool, Profile::new(ProfileName::Smoke).guild).await?;
    let api_url = black_hole().await?;
    let mut report = json!({"overviews": burst, "senders": SENDERS});
    // Bounded first: memory the allocator keeps after the unbounded burst
    // would otherwise count against the bounded one.
    for (name, limit) in [
        ("bounded", shared::config::DEFAULT_DEFERRED_LIMIT),
        ("unbounded", UNBOUNDED),
    ] {
        let keys = InteractionKeys::generate();
        let config = WebConfig {
            database: database.clone(),
            discord_token: Secret::new("bench-bot-token"),
            application_id: shared::Snowflake(discord_sim::DEFAULT_APPLICATION_ID),
            public_key: keys.verifying_key().to_bytes(),
            api_url: api_url.clone(),
            listen: "127.0.0.1:0".parse()?,
            ops_listen: "127.0.0.1:0".parse()?,
            http: Default::default(),
            log_format: LogFormat::Text,
            deferred_limit: limit,
            deferred_deadline: shared::config::DEFAULT_DEFERRED_DEADLINE,
            retention: shared::config::RetentionPolicy::default(),
            ai: Default::default(),
            dashboard: Default::default(),
        };
        let end = guild.end;
        let state = serverpulse_web::AppState::new(
            pool.clone(),
            config,
            shared::telemetry::init_metrics("serverpulse-web"),
        )?
        .with_clock(Arc::new(move || end));
        let deferred = state.deferred.clone();
        let router = serverpulse_web::router(state);
        let invoker = Invoker::admin(guild.guild_id.0, guild.busiest_channel.0);

        // Peak RSS from here on: the high-water mark is reset where Linux
        // allows it, and RSS is sampled besides.
        let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let before = status_kib("VmRSS").unwrap_or(0);
        let peak = Arc::new(AtomicU64::new(before));
        let sampling = Arc::new(AtomicBool::new(true));
        let sampler = {
            let (peak, sampling) = (peak.clone(), sampling.clone());
            tokio::spawn(async move {
                while sampling.load(Ordering::Relaxed) {
                    if let Some(rss) = status_kib("VmRSS") {
                        peak.fetch_max(rss, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        let started = Instant::now();
        let answers: Vec<Option<u64>> = futures_util::stream::iter(0..burst)
            .map(|_| overview(&router, &keys, &invoker))
            .buffer_unordered(SENDERS)
            .collect()
            .await;
        let sent_secs = started.elapsed().as_secs_f64();
        let waiting = deferred.in_flight();
        tokio::time::sleep(SETTLE).await;
        sampling.store(false, Ordering::Relaxed);
        let _ = sampler.await;
        let sampled = peak.load(Ordering::Relaxed);
        let peak_kib = if reset {
            sampled.max(status_kib("VmHWM").unwrap_or(0))
        } else {
            sampled
        };
        let deferred_count = answers.iter().filter(|a| **a == Some(5)).count();
        let busy = answers.iter().filter(|a| **a == Some(4)).count();
        eprintln!(
            "stall: {name} (limit {limit}): {deferred_count} deferred, {busy} busy, {} failed in {sent_secs:.1} s; \
             {waiting} waiting on Discord; RSS {:.0} MiB before, peak {:.0} MiB",
            burst - deferred_count - busy,
            before as f64 / 1024.0,
            peak_kib as f64 / 1024.0,
        );
        report[name] = json!({
            "limit": limit,
            "deferred": deferred_count,
            "busy": busy,
            "failed": burst - deferred_count - busy,
            "send_secs": sent_secs,
            "waiting_on_discord": waiting,
            "rss_before_mib": before as f64 / 1024.0,
            "peak_rss_mib": peak_kib as f64 / 1024.0,
        });
        // The waiting answers end when the REST client times out (15 s).
        deferred.drain(Duration::from_secs(60)).await;
    }
    Ok(report)
}

/// Sends one signed overview; the callback type answered (5 deferred, 4
/// an immediate message such as "busy"), `None` for a failure.
async fn overview(router: &Router, keys: &InteractionKeys, invoker: &Invoker) -> Option<u64> {
    let kind = InteractionKind::Command {
        name: "serverstats".into(),
        options: vec![CommandOption::new(
            "overview",
            OptionValue::Subcommand(vec![CommandOption::new(
                "timeframe",
                OptionValue::String("7d".into()),
            )]),
        )],
    };
    let body = interaction_payload(
        &kind,
        invoker,
        discord_sim::DEFAULT_APPLICATION_ID,
        fresh_id(),
        &fresh_token(),
    )
    .to_string();
    let timestamp = Utc::now().timestamp().to_string();
    let signature = keys.sign(&timestamp, body.as_bytes());
    let request = axum::http::Request::post("/interactions")
        .header("content-type", "application/json")
        .header("x-signature-ed25519", signature)
        .header("x-signature-timestamp", timestamp)
        .body(Body::from(body))
        .ok()?;
    let response = router.clone().oneshot(request).await.ok()?;
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .ok()?;
    let answer: Value = serde_json::from_slice(&bytes).ok()?;
    answer["type"].as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_read_in_kib() {
        let status = "Name:\tbench\nVmHWM:\t  123456 kB\nVmRSS:\t   2048 kB\n";
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(2048));
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(123_456));
        assert_eq!(parse_status_kib(status, "VmSize"), None);
    }
}
