//! `serverpulse-demo`: ServerPulse end to end without Discord credentials.
//!
//! A local Discord (the simulator) serves a seeded 30-day community; the
//! real web endpoint and the real ingester run in this process against a
//! database of their own; an admin enables tracking through `/setup`; then
//! every slash command is invoked through the signing client, and what a
//! user would see is written to `demo-output/` as Markdown and PNG. The
//! last guild is tracked only from the middle of the month: its first
//! half is imported from message history with `/backfill start` before
//! the tour. With
//! `--keep-running` it then prints a link to the web dashboard of the first
//! guild and serves it until Ctrl-C.

mod alerts;
mod digests;
mod history;
mod render;
mod steps;
mod transcript;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{DurationRound, Utc};
use discord_sim::interactions::{InteractionClient, InteractionKeys};
use shared::config::{DatabaseConfig, IngesterConfig, LogFormat, Secret, WebConfig};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const TOKEN: &str = "demo-bot-token";
const DAY_MS: i64 = 86_400_000;

/// Two guilds, ~500 members, 30 days: every command has something to say,
/// and ingestion takes seconds.
const SIZE: sim_scenario::ScenarioSize = sim_scenario::ScenarioSize {
    guilds: 2,
    members_per_guild: 250,
    days: 30,
    messages_per_member_day: 6.0,
};

/// `--quick`: the same tour over a small community (for tests).
const QUICK_SIZE: sim_scenario::ScenarioSize = sim_scenario::ScenarioSize {
    guilds: 2,
    members_per_guild: 40,
    days: 10,
    messages_per_member_day: 4.0,
};

struct Args {
    seed: u64,
    out: PathBuf,
    keep_database: bool,
    quick: bool,
    /// Stay up after the tour, printing a dashboard link, until Ctrl-C.
    keep_running: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        seed: 2026,
        out: PathBuf::from("demo-output"),
        keep_database: false,
        quick: false,
        keep_running: false,
    };
    let mut iter = std::env::args().skip(1);
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "demo" => {}
            "--seed" => {
                args.seed = iter
                    .next()
                    .context("--seed needs a number")?
                    .parse()
                    .context("--seed")?
            }
            "--out" => args.out = iter.next().context("--out needs a directory")?.into(),
            "--keep-database" => args.keep_database = true,
            "--quick" => args.quick = true,
            "--keep-running" => args.keep_running = true,
            "-h" | "--help" => {
                println!(
                    "usage: serverpulse-demo [--quick] [--seed N] [--out DIR] [--keep-database] [--keep-running]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}; see --help"),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match parse_args() {
        Ok(args) => run(args).await,
        Err(error) => Err(error),
    };
    shared::telemetry::exit_code("serverpulse-demo", result)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    // Quiet unless RUST_LOG says otherwise: the demo prints its own
    // progress and summary.
    shared::telemetry::init_logging_with_default(LogFormat::Text, "warn");

    let size = if args.quick { QUICK_SIZE } else { SIZE };
    // A database of this run's own, so two demos (or a demo and its test)
    // never meet.
    let database_name = format!("serverpulse_demo_{}", std::process::id());
    let server_url = shared::testing::server_url();
    let database_url = shared::db::recreate_database(&server_url, &database_name)
        .await
        .context("preparing the demo database")?;
    let database = DatabaseConfig {
        url: Secret::new(database_url),
        max_connections: 10,
        connect_timeout: Duration::from_secs(10),
        limits: shared::config::DatabaseLimits::INGESTER,
    };
    let pool = shared::db::open(&database).await?;

    // A community whose 30 days end now, so "last 24 hours" means something.
    let now = Utc::now();
    let today = now
        .duration_trunc(chrono::Duration::days(1))
        .context("today's date")?;
    let start_ms = today.timestamp_millis() - (i64::from(size.days) - 1) * DAY_MS;
    let (mut scenario, truth) = sim_scenario::generate_from(args.seed, size, start_ms);
    scenario
        .events
        .retain(|e| e.at_ms <= now.timestamp_millis());
    let event_total = scenario.events.len();
    eprintln!(
        "community: {} guilds, {} events over {} days (seed {})",
        scenario.guilds.len(),
        event_total,
        size.days,
        args.seed
    );

    let sim = discord_sim::start(discord_sim::SimConfig::new(TOKEN), scenario)
        .await
        .context("starting the Discord simulator")?;
    let api_url = format!("{}/api/v10", sim.rest.url().trim_end_matches('/'));

    // The web endpoint.
    let keys = InteractionKeys::generate();
    let web_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the web endpoint")?;
    let web_addr = web_listener.local_addr()?;
    let web_ops_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the web endpoint's ops port")?;
    let web_config = WebConfig {
        database: database.clone(),
        discord_token: Secret::new(TOKEN),
        application_id: shared::Snowflake(discord_sim::DEFAULT_APPLICATION_ID),
        public_key: keys.verifying_key().to_bytes(),
        api_url: api_url.clone(),
        listen: web_addr,
        ops_listen: web_ops_listener.local_addr()?,
        http: Default::default(),
        log_format: LogFormat::Text,
        deferred_limit: shared::config::DEFAULT_DEFERRED_LIMIT,
        deferred_deadline: shared::config::DEFAULT_DEFERRED_DEADLINE,
        retention: shared::config::RetentionPolicy::default(),
        ai: Default::default(),
        dashboard: shared::config::DashboardConfig {
            public_url: Some(format!("http://{web_addr}")),
            secret: None,
        },
    };
    let (web_stop, web_stopped) = oneshot::channel::<()>();
    let web = tokio::spawn(serverpulse_web::serve(
        web_config,
        web_listener,
        web_ops_listener,
        shared::telemetry::init_metrics("serverpulse-web"),
        async move {
            let _ = web_stopped.await;
        },
    ));
    let client = InteractionClient::new(
        format!("http://{web_addr}/interactions"),
        sim.rest.url(),
        keys,
    );

    // An admin enables tracking in every guild before the ingester connects:
    // nothing is recorded until then.
    let guilds = steps::guilds(&truth);
    let mut transcript = steps::Transcript::default();
    // The last guild's first half is history: the bot "joins" at the cut
    // and imports the days before with /backfill once live.
    let history_days = i64::from(size.days / 2);
    let cut_ms = start_ms + history_days * DAY_MS;
    sim.rest.set_history_at(cut_ms);
    let imported_guild = guilds.last().map(|g| g.id);
    for guild in &guilds {
        steps::setup(&client, guild, &mut transcript).await?;
        // The demo replays the community's past 30 days: count them as if
        // the bot had been there since the first (the audit trail says so),
        // or, in the guild whose history is imported, since the cut.
        let mut conn = pool.acquire().await.context("database connection")?;
        let since_ms = if Some(guild.id) == imported_guild {
            cut_ms
        } else {
            start_ms
        };
        let first_day =
            chrono::DateTime::from_timestamp_millis(since_ms).context("scenario start")?;
        shared::db::history::backdate_tracking(
            &mut conn,
            shared::Snowflake(guild.id),
            shared::Snowflake(discord_sim::interactions::Invoker::admin(guild.id, 0).user_id),
            first_day,
        )
        .await
        .context("backdating tracking to the replayed history")?;
    }

    // The ingester.
    let ingester_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the ingester")?;
    let ingester_config = IngesterConfig {
        database: database.clone(),
        discord_token: Secret::new(TOKEN),
        api_url: api_url.clone(),
        gateway_url: Some(sim.gateway.url().to_owned()),
        shard_plan: shared::config::ShardPlan::Fixed {
            shards: 0..=0,
            total: 1,
            max_concurrency: 1,
        },
        listen: ingester_listener.local_addr()?,
        log_format: LogFormat::Text,
        batching: Default::default(),
        stable_after: std::time::Duration::from_secs(60),
    };
    let (ingester_stop, ingester_stopped) = oneshot::channel::<()>();
    let ingester = tokio::spawn(serverpulse_ingester::run(
        ingester_config,
        ingester_listener,
        shared::telemetry::init_metrics("serverpulse-ingester"),
        async move {
            let _ = ingester_stopped.await;
        },
    ));
    let ingest_started = Instant::now();
    steps::wait_for_catch_up(&sim, &pool, event_total).await?;
    let ingest_elapsed = ingest_started.elapsed();
    if let Some(guild) = guilds.last() {
        let (messages, took) =
            history::import(&client, &pool, guild, history_days, &mut transcript).await?;
        eprintln!(
            "history: guild {} imported {messages} messages of the {history_days} days before tracking began in {:.1} s ({:.0} messages/s, Discord's rate limits on)",
            guild.id,
            took.as_secs_f64(),
            messages as f64 / took.as_secs_f64().max(0.001)
        );
    }

    // Every command, as members and admins would use them.
    let poster = serverpulse_web::delivery::Poster::new(&api_url, Secret::new(TOKEN));
    for guild in guilds.iter().take(1) {
        steps::tour(&client, guild, &mut transcript).await?;
        let expected = truth
            .expected_alerts(&sim_scenario::truth::AlertParams::default())
            .iter()
            .filter(|a| a.guild_id == guild.id)
            .count();
        alerts::alerts(
            &client,
            &sim,
            &pool,
            &poster,
            guild,
            expected,
            &mut transcript,
        )
        .await?;
        digests::digests(&client, &sim, &pool, &poster, guild, &mut transcript).await?;
    }
    write_output(&args.out, &transcript)?;
    if args.keep_running
        && let Some(guild) = guilds.first()
    {
        let link = steps::dashboard_link(&client, guild).await?;
        println!(
            "\nThe web dashboard of guild {}, for the next hour (opens once):\n  {link}",
            guild.id
        );
        println!("Press Ctrl-C to stop the demo.");
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
    }

    let _ = ingester_stop.send(());
    let _ = web_stop.send(());
    ingester
        .await
        .context("ingester task")?
        .context("ingester")?;
    web.await.context("web task")?.context("web endpoint")?;
    sim.shutdown().await;
    pool.close().await;
    if !args.keep_database {
        shared::db::drop_database(&server_url, &database_name)
            .await
            .context("dropping the demo database")?;
    }

    transcript.print_summary(event_total, ingest_elapsed, started.elapsed(), &args.out);
    let failures = transcript.failures();
    if failures > 0 {
        bail!(
            "{failures} interaction(s) did not end in a message; see {}",
            args.out.join("index.md").display()
        );
    }
    Ok(())
}

fn write_output(out: &Path, transcript: &steps::Transcript) -> anyhow::Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("clearing {}", out.display()))?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    transcript.write(out)
}
