//! Commands: latency of every slash command against a large guild seeded
//! into the rollups, the naive per-event baseline over the same messages,
//! the cost of a signature check, and PING throughput.

mod cases;
pub(crate) mod client;
mod distinct;

use cases::command_cases;
use client::Client;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::body::Body;
use chrono::{DateTime, Utc};
use discord_sim::interactions::{
    CommandOption, InteractionKeys, InteractionKind, Invoker, OptionValue, fresh_id, fresh_token,
    interaction_payload,
};
use serde_json::{Value, json};
use shared::config::{DatabaseConfig, LogFormat, Secret, WebConfig};
use sqlx::PgPool;
use tower::ServiceExt as _;

use crate::profile::Profile;
use crate::seed::SeededGuild;

const TOKEN: &str = "bench-bot-token";
/// How long a deferred answer may take before the request counts as failed.
const DEFERRED_TIMEOUT: Duration = Duration::from_secs(90);

pub async fn run(
    profile: &Profile,
    database: &DatabaseConfig,
    pool: &PgPool,
) -> anyhow::Result<Value> {
    let mut report = json!({});
    let mut missing: Vec<String> = Vec::new();

    report["signature_verify"] = signature_cost(profile.signature_iterations);
    eprintln!(
        "commands: one Ed25519 verification {:.1} µs",
        report["signature_verify"]["micros_per_verify"]
            .as_f64()
            .unwrap_or(0.0)
    );

    let seeded_at = Instant::now();
    let guild = crate::seed::seed_large_guild(pool, profile.guild).await?;
    let mut guild_report = guild.report.clone();
    guild_report["seed_secs"] = json!(seeded_at.elapsed().as_secs_f64());
    eprintln!(
        "commands: seeded {} messages ({} rollup rows) in {:.1} s",
        guild.messages,
        guild.report["rows"]["message_rollup"],
        seeded_at.elapsed().as_secs_f64()
    );

    // The naive baseline's table: the same messages, one row each.
    let expanded_at = Instant::now();
    let log_rows = expand_message_log(pool, &guild).await?;
    guild_report["message_log_rows"] = json!(log_rows);
    guild_report["message_log_secs"] = json!(expanded_at.elapsed().as_secs_f64());
    eprintln!(
        "commands: per-event table of {log_rows} rows in {:.1} s",
        expanded_at.elapsed().as_secs_f64()
    );
    report["guild"] = guild_report;
    report["active_member_options"] = distinct::active_member_options(pool, &guild).await?;

    // The web endpoint, in-process, answering deferred work through the
    // simulator's REST side.
    let sim = discord_sim::start(discord_sim::SimConfig::new(TOKEN), empty_scenario())
        .await
        .context("starting the simulator")?;
    let keys = InteractionKeys::generate();
    let config = WebConfig {
        database: database.clone(),
        discord_token: Secret::new(TOKEN),
        application_id: shared::Snowflake(discord_sim::DEFAULT_APPLICATION_ID),
        public_key: keys.verifying_key().to_bytes(),
        api_url: sim.rest.api_url().to_string(),
        listen: "127.0.0.1:0".parse()?,
        ops_listen: "127.0.0.1:0".parse()?,
        http: Default::default(),
        log_format: LogFormat::Text,
        deferred_limit: shared::config::DEFAULT_DEFERRED_LIMIT,
        deferred_deadline: shared::config::DEFAULT_DEFERRED_DEADLINE,
        retention: shared::config::RetentionPolicy::default(),
        ai: Default::default(),
        dashboard: Default::default(),
    };
    let mut state = serverpulse_web::AppState::new(
        pool.clone(),
        config,
        shared::telemetry::init_metrics("serverpulse-web"),
    )?;
    // The per-command latencies measure the queries: every request is
    // computed. The burst below measures the answer cache.
    let cached = state.clone();
    state.answers = std::sync::Arc::new(serverpulse_web::answers::AnswerCache::off());
    let router = serverpulse_web::router(state);
    let client = Client {
        router,
        keys,
        sim: &sim,
    };

    report["ping"] = ping(&client, profile.ping_requests).await;
    if report["ping"]["status"] != "ok" {
        missing.push(format!(
            "PING: {}",
            report["ping"]["status"].as_str().unwrap_or("failed")
        ));
    }

    let mut latencies = Vec::new();
    for case in command_cases(&guild) {
        for concurrency in [1usize, 32] {
            let result = client
                .latency(
                    &case,
                    &guild,
                    concurrency,
                    if concurrency == 1 {
                        profile.requests_at_1
                    } else {
                        profile.requests_at_32
                    },
                    profile.case_budget,
                )
                .await;
            eprintln!(
                "commands: {:<48} c={concurrency:<2} p50 {:>8} p99 {:>8} ({})",
                case.label,
                fmt_ms(&result["p50_ms"]),
                fmt_ms(&result["p99_ms"]),
                result["status"].as_str().unwrap_or("")
            );
            latencies.push(result);
        }
    }
    if latencies.iter().all(|l| l["status"] != "ok") {
        missing.push(
            "slash commands: no command answered (the web crate's commands have not landed)".into(),
        );
    }
    report["latencies"] = json!(latencies);
    let cached_client = Client {
        router: serverpulse_web::router(cached.clone()),
        keys: client.keys.clone(),
        sim: &sim,
    };
    report["answer_cache_burst"] = burst(&cached_client, &cached, &guild, &latencies).await;
    report["naive"] = naive_baseline(profile, pool, &guild, &latencies).await?;
    report["missing"] = json!(missing);
    sim.shutdown().await;
    Ok(report)
}

/// How many identical requests a burst sends at once.
const BURST: usize = 32;

/// A burst of [`BURST`] identical leaderboard requests through the answer
/// cache, twice (nothing flushed between): how many were computed and
/// their latencies, beside the same command at concurrency 32 uncached.
async fn burst(
    client: &Client<'_>,
    state: &serverpulse_web::AppState,
    guild: &SeededGuild,
    latencies: &[Value],
) -> Value {
    let Some(case) = command_cases(guild)
        .into_iter()
        .find(|c| c.label == "leaderboard messages 30d")
    else {
        return json!({"status": "missing: no leaderboard case"});
    };
    let kind = InteractionKind::Command {
        name: case.name.clone(),
        options: case.options.clone(),
    };
    let invoker = Invoker::admin(guild.guild_id.0, guild.busiest_channel.0);
    let uncached_p99 = latencies
        .iter()
        .find(|l| l["command"] == case.label.as_str() && l["concurrency"] == 32)
        .map_or(Value::Null, |l| l["p99_ms"].clone());
    let mut waves = Vec::new();
    for wave in ["first", "again"] {
        let before = state.answers.stats();
        let started = Instant::now();
        let outcomes =
            futures_util::future::join_all((0..BURST).map(|_| client.send(&kind, &invoker))).await;
        let wall = started.elapsed();
        let computed = state.answers.stats().misses - before.misses;
        let failed = outcomes.iter().filter(|o| !o.ok).count();
        let mut millis: Vec<f64> = outcomes
            .iter()
            .map(|o| o.latency.as_secs_f64() * 1e3)
            .collect();
        millis.sort_by(f64::total_cmp);
        let result = json!({
            "wave": wave,
            "requests": BURST,
            "failed": failed,
            "computed": computed,
            "p50_ms": percentile(&millis, 0.50),
            "p99_ms": percentile(&millis, 0.99),
            "requests_per_sec": BURST as f64 / wall.as_secs_f64().max(1e-9),
        });
        eprintln!(
            "commands: burst of {BURST} × {} (answer cache, {wave} wave) p50 {:>8} p99 {:>8}, computed {computed}× ({failed} failed; uncached c=32 p99 {})",
            case.label,
            fmt_ms(&result["p50_ms"]),
            fmt_ms(&result["p99_ms"]),
            fmt_ms(&uncached_p99),
        );
        waves.push(result);
    }
    json!({
        "status": "ok",
        "command": case.label,
        "waves": waves,
        "uncached_c32_p99_ms": uncached_p99,
        "how": "32 identical signed requests at once through the router with the answer cache on, twice with no flush between; `computed` counts the answers whose queries ran (the cache's own counter)",
    })
}

fn fmt_ms(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2} ms"))
}

fn empty_scenario() -> sim_scenario::Scenario {
    sim_scenario::Scenario {
        seed: 0,
        start_ms: sim_scenario::DEFAULT_START_MS,
        days: 1,
        guilds: Vec::new(),
        events: Vec::new(),
    }
}

/// Cost of one `verify_strict` over a typical command body.
fn signature_cost(iterations: usize) -> Value {
    let keys = InteractionKeys::generate();
    let invoker = Invoker::admin(1_180_000_000_000_000_100, 1_180_000_000_000_000_200);
    let kind = InteractionKind::Command {
        name: "serverstats".into(),
        options: vec![CommandOption::new(
            "overview",
            OptionValue::Subcommand(vec![CommandOption::new(
                "timeframe",
                OptionValue::String("30d".into()),
            )]),
        )],
    };
    let body = interaction_payload(&kind, &invoker, 1, fresh_id(), &fresh_token()).to_string();
    let timestamp = Utc::now().timestamp().to_string();
    let signature_hex = keys.sign(&timestamp, body.as_bytes());
    let mut signature_bytes = [0u8; 64];
    for (i, byte) in signature_bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&signature_hex[2 * i..2 * i + 2], 16).unwrap_or(0);
    }
    let signature = ed25519_dalek::Signature::from_bytes(&signature_bytes);
    let key = keys.verifying_key();
    let mut message = timestamp.into_bytes();
    message.extend_from_slice(body.as_bytes());
    let started = Instant::now();
    let mut ok = 0;
    for _ in 0..iterations {
        ok += usize::from(
            key.verify_strict(std::hint::black_box(&message), &signature)
                .is_ok(),
        );
    }
    let elapsed = started.elapsed();
    json!({
        "iterations": iterations,
        "verified": ok,
        "body_bytes": body.len(),
        "micros_per_verify": elapsed.as_secs_f64() * 1e6 / iterations.max(1) as f64,
        "how": "ed25519_dalek::VerifyingKey::verify_strict over timestamp + a serverstats command body, one thread",
    })
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Signed PINGs through the router, 32 at a time.
async fn ping(client: &Client<'_>, requests: usize) -> Value {
    let invoker = Invoker::admin(1, 1);
    let probe = client.send(&InteractionKind::Ping, &invoker).await;
    if !probe.ok {
        return json!({
            "status": format!("missing: PING answered HTTP {} (no /interactions endpoint yet?)", probe.status),
            "requests_per_sec": null,
        });
    }
    // Bodies are signed ahead, so the figure is the endpoint's alone.
    let bodies: Vec<(String, String, String)> = (0..requests)
        .map(|_| {
            let body = interaction_payload(
                &InteractionKind::Ping,
                &invoker,
                discord_sim::DEFAULT_APPLICATION_ID,
                fresh_id(),
                &fresh_token(),
            )
            .to_string();
            let timestamp = Utc::now().timestamp().to_string();
            let signature = client.keys.sign(&timestamp, body.as_bytes());
            (body, timestamp, signature)
        })
        .collect();
    let next = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    let started = Instant::now();
    let worker = || async {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some((body, timestamp, signature)) = bodies.get(i) else {
                break;
            };
            let request = axum::http::Request::post("/interactions")
                .header("content-type", "application/json")
                .header("x-signature-ed25519", signature.as_str())
                .header("x-signature-timestamp", timestamp.as_str())
                .body(Body::from(body.clone()))
                .expect("a valid request");
            let response = match client.router.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let ok = response.status() == 200;
            let _ = axum::body::to_bytes(response.into_body(), 1 << 20).await;
            if !ok {
                failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    };
    futures_util::future::join_all((0..32).map(|_| worker())).await;
    let elapsed = started.elapsed();
    json!({
        "status": "ok",
        "requests": requests,
        "failed": failures.load(Ordering::Relaxed),
        "concurrency": 32,
        "elapsed_secs": elapsed.as_secs_f64(),
        "requests_per_sec": requests as f64 / elapsed.as_secs_f64().max(1e-9),
        "how": "signed PING bodies prepared ahead, sent through the router in-process (tower oneshot), 32 at a time, on the bench's 2-core runtime",
    })
}

/// Fills `bench_message_log` from the rollups on two connections (one per
/// half of the year), then indexes it.
async fn expand_message_log(pool: &PgPool, guild: &SeededGuild) -> anyhow::Result<u64> {
    let middle = guild.start + (guild.end - guild.start) / 2;
    let half = |from: DateTime<Utc>, to: DateTime<Utc>| {
        let pool = pool.clone();
        let guild_id = guild.guild_id;
        async move {
            let mut conn = pool.acquire().await?;
            anyhow::Ok(shared::db::bench::expand_message_log(&mut conn, guild_id, from, to).await?)
        }
    };
    let (a, b) = tokio::join!(
        tokio::spawn(half(guild.start, middle)),
        tokio::spawn(half(middle, guild.end))
    );
    let rows = a.context("expand task")?? + b.context("expand task")??;
    let mut conn = pool.acquire().await?;
    shared::db::bench::index_message_log(&mut conn).await?;
    Ok(rows)
}

/// The overview's figures from the per-event table and from the rollups,
/// for 7 days, 30 days and the whole year; checked equal, timed, and set
/// against the overview command's own latency.
async fn naive_baseline(
    profile: &Profile,
    pool: &PgPool,
    guild: &SeededGuild,
    latencies: &[Value],
) -> anyhow::Result<Value> {
    let mut conn = pool.acquire().await?;
    let mut periods = Vec::new();
    for (key, days) in [
        ("7d", 7),
        ("30d", 30),
        ("all", i64::from(profile.guild.days)),
    ] {
        let from = guild.end - chrono::Duration::days(days);
        let mut naive_ms = Vec::new();
        let mut rollup_ms = Vec::new();
        let mut naive = None;
        let mut rollup = None;
        for _ in 0..profile.naive_repetitions.max(1) {
            let started = Instant::now();
            naive = Some(
                shared::db::bench::naive_overview(&mut conn, guild.guild_id, from, guild.end)
                    .await?,
            );
            naive_ms.push(started.elapsed().as_secs_f64() * 1e3);
            let started = Instant::now();
            rollup = Some(
                shared::db::bench::rollup_overview(&mut conn, guild.guild_id, from, guild.end)
                    .await?,
            );
            rollup_ms.push(started.elapsed().as_secs_f64() * 1e3);
        }
        let (naive, rollup) = (naive.expect("ran"), rollup.expect("ran"));
        naive_ms.sort_by(f64::total_cmp);
        rollup_ms.sort_by(f64::total_cmp);
        let naive_p50 = percentile(&naive_ms, 0.5).unwrap_or(0.0);
        let rollup_p50 = percentile(&rollup_ms, 0.5).unwrap_or(0.0);
        let command_p50 = latencies
            .iter()
            .find(|l| {
                l["overview_timeframe"] == key && l["concurrency"] == 1 && l["status"] == "ok"
            })
            .and_then(|l| l["p50_ms"].as_f64());
        periods.push(json!({
            "timeframe": key,
            "messages": naive.messages,
            "same_figures": naive.messages == rollup.messages
                && naive.active_members == rollup.active_members
                && naive.top_channels == rollup.top_channels,
            "naive_ms": naive_p50,
            "rollup_queries_ms": rollup_p50,
            "overview_command_p50_ms": command_p50,
            "naive_over_rollup_queries": naive_p50 / rollup_p50.max(1e-9),
            "naive_over_overview_command": command_p50.map(|c| naive_p50 / c.max(1e-9)),
        }));
    }
    Ok(json!({
        "how": "message count, active members, top 5 channels and messages per day of the period: from bench_message_log (one row per message, index (guild_id, sent_at)) and from guild_hourly + message_rollup; median of the repetitions, one connection",
        "repetitions": profile.naive_repetitions,
        "periods": periods,
    }))
}
