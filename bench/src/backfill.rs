//! Import rate of a backfill: a generated community's whole history read
//! back through the simulator's REST API with Discord's limits on (5
//! history reads per 5 s per channel, 50 requests per second globally),
//! by the web crate's backfill worker (the one `serve` runs, with its
//! lanes and its share of the global budget). Prints messages per second
//! overall and per channel, and checks the count imported against the
//! ground truth. Meanwhile it asks `/serverstats overview` through the
//! web endpoint (answer cache off) a few times a second, and again after
//! the import with the same data: the latency of commands while a backfill
//! runs against their latency without one. The worker runs as in `serve`:
//! on its own pool, yielding to the commands being answered.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use discord_sim::interactions::{
    CommandOption, InteractionKeys, InteractionKind, Invoker, OptionValue,
};
use serde_json::{Value, json};
use serverpulse_web::backfill::BackfillWorker;
use serverpulse_web::delivery::Poster;
use shared::Snowflake;
use shared::config::{DatabaseConfig, LogFormat, Secret, WebConfig};
use shared::db::catalogue::ChannelRow;
use sim_scenario::ScenarioSize;
use sim_scenario::truth::Scope;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::commands::client::Client;
use crate::commands::percentile;
use crate::profile::{Profile, ProfileName};

const TOKEN: &str = "bench-backfill-token";
const SEED: u64 = 12;

fn size(profile: &Profile) -> ScenarioSize {
    let (members, days, per_day) = match profile.name {
        ProfileName::Smoke => (20, 7, 3.0),
        ProfileName::Quick => (60, 14, 6.0),
        ProfileName::Default => (150, 30, 10.0),
    };
    ScenarioSize {
        guilds: 1,
        members_per_guild: members,
        days,
        messages_per_member_day: per_day,
    }
}

fn at(ms: i64) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_millis(ms).context("an instant in range")
}

/// Commands sampled after the import, as the baseline of those sampled
/// while it ran (about as many as during a `--quick` import, so both p99s
/// are the second slowest answer or so, not the slowest).
const AFTER_SAMPLES: usize = 150;
/// Pause between two commands during the import (a light, steady load).
const DURING_PAUSE: Duration = Duration::from_millis(100);
/// Set (to anything) to run the worker without yielding to commands: the
/// comparison the README's figures were measured against.
const NO_YIELD: &str = "BENCH_BACKFILL_NO_YIELD";

fn overview_7d() -> InteractionKind {
    InteractionKind::Command {
        name: "serverstats".into(),
        options: vec![CommandOption::new(
            "overview",
            OptionValue::Subcommand(vec![CommandOption::new(
                "timeframe",
                OptionValue::String("7d".into()),
            )]),
        )],
    }
}

/// p50 and p99 in ms, and how many failed.
fn summary(samples: &[(f64, bool)]) -> Value {
    let mut millis: Vec<f64> = samples.iter().map(|(ms, _)| *ms).collect();
    millis.sort_by(f64::total_cmp);
    json!({
        "requests": samples.len(),
        "failed": samples.iter().filter(|(_, ok)| !ok).count(),
        "p50_ms": percentile(&millis, 0.50),
        "p95_ms": percentile(&millis, 0.95),
        "p99_ms": percentile(&millis, 0.99),
    })
}

pub async fn run(
    profile: &Profile,
    database: &DatabaseConfig,
    pool: &PgPool,
) -> anyhow::Result<Value> {
    let (scenario, truth) = sim_scenario::generate(SEED, size(profile));
    let guild = truth.guild_ids[0];
    let sim = discord_sim::start(discord_sim::SimConfig::new(TOKEN), scenario)
        .await
        .context("starting the simulator")?;
    // The catalogue as the ingester would have it, tracking from the end:
    // the whole scenario is history.
    let rows: Vec<ChannelRow> = truth
        .channels
        .iter()
        .filter(|c| c.guild_id == guild)
        .map(|c| {
            Ok(ChannelRow {
                guild_id: Snowflake(guild),
                channel_id: Snowflake(c.channel_id),
                kind: i16::from(c.kind),
                name: c.name.clone(),
                parent_id: c.parent_id.map(Snowflake),
                archived: false,
                archived_at: None,
                created_at: at(c.created_ms.unwrap_or(truth.start_ms))?,
                deleted_at: c.deleted_ms.map(at).transpose()?,
                everyone_allow: 0,
                everyone_deny: 0,
                owner_id: None,
                first_reply_at: None,
                first_bot_reply_at: None,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let mut tx = pool.begin().await?;
    shared::db::catalogue::upsert_channels(&mut *tx, &rows).await?;
    shared::db::backfill::request(
        &mut tx,
        Snowflake(guild),
        Snowflake(1),
        at(truth.start_ms)?,
        at(truth.end_ms)?,
        chrono::Utc::now(),
    )
    .await?;
    tx.commit().await?;

    // The web endpoint in-process, its deferred answers through the same
    // simulator (and its global limit) as the import's reads.
    let keys = InteractionKeys::generate();
    let config = WebConfig {
        database: database.clone(),
        discord_token: Secret::new(TOKEN),
        application_id: Snowflake(discord_sim::DEFAULT_APPLICATION_ID),
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
    state.answers = std::sync::Arc::new(serverpulse_web::answers::AnswerCache::off());
    let commands = state.commands_in_flight.clone();
    let client = Client {
        router: serverpulse_web::router(state),
        keys,
        sim: &sim,
    };
    let channel = rows.first().context("a channel")?.channel_id.0;
    let invoker = Invoker::admin(guild, channel);
    let command = overview_7d();
    let sample = async || {
        let outcome = client.send(&command, &invoker).await;
        (outcome.latency.as_secs_f64() * 1e3, outcome.ok)
    };

    // The worker as `serve` runs it: on a pool of its own, yielding to the
    // commands the endpoint is answering.
    let backfill_pool = shared::db::connect(&serverpulse_web::backfill_database(database))
        .await
        .context("connecting the backfill worker's pool")?;
    let poster = Poster::new(&sim.rest.api_url(), Secret::new(TOKEN));
    let mut worker = BackfillWorker::new(backfill_pool.clone(), poster);
    let yields = std::env::var_os(NO_YIELD).is_none();
    if yields {
        worker.commands = commands;
    }
    let started = Instant::now();
    let import = {
        let pool = pool.clone();
        tokio::spawn(async move {
            loop {
                let job = shared::db::backfill::job(&pool, Snowflake(guild))
                    .await?
                    .context("the job")?;
                if !job.is_running() {
                    return anyhow::Ok(started.elapsed().as_secs_f64());
                }
                if started.elapsed() > Duration::from_secs(1800) {
                    bail!("the import did not finish in 30 minutes");
                }
                if let Err(error) = worker.round(&CancellationToken::new()).await {
                    tracing::warn!(%error, "backfill round failed; trying again");
                }
            }
        })
    };
    let mut during = Vec::new();
    while !import.is_finished() {
        during.push(sample().await);
        tokio::time::sleep(DURING_PAUSE).await;
    }
    let elapsed = import.await.context("the import task")??;
    let mut after = Vec::with_capacity(AFTER_SAMPLES);
    for _ in 0..AFTER_SAMPLES {
        after.push(sample().await);
    }
    let (during, after) = (summary(&during), summary(&after));
    let channels = shared::db::backfill::channels(pool, Snowflake(guild)).await?;
    let imported: i64 = channels.iter().map(|c| c.messages).sum();
    let expected = truth
        .history_messages(
            &Scope::new(guild, truth.start_ms, truth.end_ms).including_bots(),
            truth.end_ms,
        )
        .len();
    // Per channel: messages over the time from its first page to its last,
    // for channels of more than one page.
    let mut per_channel: Vec<f64> = channels
        .iter()
        .filter_map(|c| match (c.first_page_at, c.last_page_at) {
            (Some(a), Some(b)) if b > a && c.pages > 1 => {
                Some(c.messages as f64 / ((b - a).num_milliseconds() as f64 / 1000.0))
            }
            _ => None,
        })
        .collect();
    per_channel.sort_by(f64::total_cmp);
    let median = per_channel
        .get(per_channel.len() / 2)
        .copied()
        .unwrap_or(0.0);
    let requests = sim
        .rest
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .count();
    let rate_limited = sim
        .rest
        .requests()
        .iter()
        .filter(|r| r.status == 429)
        .count();
    drop(client);
    backfill_pool.close().await;
    sim.shutdown().await;
    let ms = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "\nCOMMANDS DURING THE IMPORT (/serverstats overview 7d, answer cache off, the import {})\n\
         | when | requests | failed | p50 ms | p95 ms | p99 ms |\n| --- | ---: | ---: | ---: | ---: | ---: |\n\
         | while the import ran | {} | {} | {:.1} | {:.1} | {:.1} |\n\
         | after it, same data | {} | {} | {:.1} | {:.1} | {:.1} |\n\
         p99 during ÷ after: {:.2}",
        if yields {
            "yielding to commands".to_owned()
        } else {
            format!("not yielding: {NO_YIELD} set")
        },
        during["requests"],
        during["failed"],
        ms(&during, "p50_ms"),
        ms(&during, "p95_ms"),
        ms(&during, "p99_ms"),
        after["requests"],
        after["failed"],
        ms(&after, "p50_ms"),
        ms(&after, "p95_ms"),
        ms(&after, "p99_ms"),
        ms(&during, "p99_ms") / ms(&after, "p99_ms"),
    );
    println!(
        "\nBACKFILL: {imported} messages (ground truth {expected}) from {} channels and threads in {elapsed:.1} s, \
         {requests} requests, {rate_limited} answered 429\n\
         | import rate | messages/s |\n| --- | ---: |\n| overall | {:.0} |\n| per channel, median | {median:.0} |\n| per channel, best | {:.0} |",
        channels.len(),
        imported as f64 / elapsed,
        per_channel.last().copied().unwrap_or(0.0),
    );
    Ok(json!({
        "messages": imported,
        "expected": expected,
        "equal_to_truth": imported as usize == expected,
        "channels": channels.len(),
        "seconds": elapsed,
        "requests": requests,
        "rate_limited": rate_limited,
        "messages_per_second": imported as f64 / elapsed,
        "per_channel_median": median,
        "per_channel_best": per_channel.last().copied().unwrap_or(0.0),
        "import_yields_to_commands": yields,
        "commands_during_import": during,
        "commands_after_import": after,
    }))
}
