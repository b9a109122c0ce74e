//! `serverpulse-bench`: ingest throughput and command latency of ServerPulse,
//! each against baselines measured in the same run, printed as a table and
//! written as JSON.
//!
//! ```text
//! cargo run --release -p serverpulse-bench -- [--smoke | --quick] [--json PATH] [ingest|commands|all|stall|alerts|backfill]
//! ```

mod alerts;
mod backfill;
mod commands;
mod dbcost;
mod ingest;
mod naive;
mod profile;
mod report;
mod seed;
mod stall;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, bail};
use profile::{Profile, ProfileName};
use serde_json::json;

const USAGE: &str = "usage: serverpulse-bench [--smoke | --quick] [--json PATH] [--keep-database] [ingest|commands|all|stall|alerts|backfill]";

/// The benchmark's own database (one per process, so a test and a manual
/// run never share one), dropped at the end.
fn database_name() -> String {
    format!("serverpulse_bench_{}", std::process::id())
}

/// The hidden subcommand the ingest benchmark starts itself with, to run the
/// real ingester in a process of its own (so its peak RSS is its own).
pub const INGESTER_CHILD: &str = "__ingester";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Ingest,
    Commands,
    All,
    /// Not part of `all`: memory while Discord's REST never answers.
    Stall,
    /// Not part of `all` (it replays raids in real time): event-to-alert
    /// latency.
    Alerts,
    /// Not part of `all` (it waits on Discord's rate limits): a backfill's
    /// import rate.
    Backfill,
}

struct Args {
    profile: ProfileName,
    json: Option<PathBuf>,
    which: Which,
    keep_database: bool,
    shards: Option<u32>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        profile: ProfileName::Default,
        json: None,
        which: Which::All,
        keep_database: false,
        shards: None,
    };
    let mut iter = std::env::args().skip(1);
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--quick" => args.profile = ProfileName::Quick,
            "--smoke" => args.profile = ProfileName::Smoke,
            "--json" => args.json = Some(iter.next().context("--json needs a path")?.into()),
            "--keep-database" => args.keep_database = true,
            "--shards" => {
                let shards: u32 = iter
                    .next()
                    .context("--shards needs a number")?
                    .parse()
                    .context("--shards")?;
                anyhow::ensure!(shards >= 1, "--shards must be at least 1");
                args.shards = Some(shards);
            }
            "ingest" => args.which = Which::Ingest,
            "commands" => args.which = Which::Commands,
            "all" => args.which = Which::All,
            "stall" => args.which = Which::Stall,
            "alerts" => args.which = Which::Alerts,
            "backfill" => args.which = Which::Backfill,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}; {USAGE}"),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some(INGESTER_CHILD) => return ingest::ingester_child_main(),
        Some(naive::NAIVE_CHILD) => return naive::naive_child_main(),
        _ => {}
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("serverpulse-bench: starting the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let args = parse_args()?;
        run(args).await
    });
    shared::telemetry::exit_code("serverpulse-bench", result)
}

async fn run(args: Args) -> anyhow::Result<()> {
    shared::telemetry::init_logging_with_default(
        shared::config::LogFormat::Text,
        "warn,sqlx=error",
    );
    let started = Instant::now();
    let mut profile = Profile::new(args.profile);
    if let Some(shards) = args.shards {
        profile.ingest_shards = shards;
    }
    eprintln!("serverpulse-bench: {} profile", profile.name.as_str());

    let server_url = shared::testing::server_url();
    let database_name = database_name();
    let database_url = shared::db::recreate_database(&server_url, &database_name)
        .await
        .context("creating the benchmark database")?;
    let outcome = run_benchmarks(&args, &profile, &database_url).await;
    if !args.keep_database {
        shared::db::drop_database(&server_url, &database_name)
            .await
            .context("dropping the benchmark database")?;
    }
    let mut report = outcome?;
    report["profile"] = json!(profile.name.as_str());
    report["total_secs"] = json!(started.elapsed().as_secs_f64());
    report["machine"] = report::machine(&server_url).await;
    report["goals"] = report::goals(&report);

    println!("{}", report::table(&report));
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("figures written to {}", path.display());
    }
    Ok(())
}

async fn run_benchmarks(
    args: &Args,
    profile: &Profile,
    database_url: &str,
) -> anyhow::Result<serde_json::Value> {
    let database = shared::config::DatabaseConfig {
        url: shared::config::Secret::new(database_url),
        max_connections: 40,
        connect_timeout: std::time::Duration::from_secs(30),
        limits: shared::config::DatabaseLimits::UNLIMITED,
    };
    let pool = shared::db::open(&database).await?;
    {
        let mut conn = pool.acquire().await?;
        shared::db::bench::create_baseline_tables(&mut conn).await?;
    }
    let mut report = json!({});
    if matches!(args.which, Which::Ingest | Which::All) {
        report["ingest"] = ingest::run(profile, &database, &pool).await?;
    }
    if matches!(args.which, Which::Commands | Which::All) {
        report["commands"] = commands::run(profile, &database, &pool).await?;
    }
    if args.which == Which::Stall {
        report["stall"] = stall::run(profile, &database, &pool).await?;
    }
    if args.which == Which::Alerts {
        report["alerts"] = alerts::run(profile, &database, &pool).await?;
    }
    if args.which == Which::Backfill {
        report["backfill"] = backfill::run(profile, &database, &pool).await?;
    }
    pool.close().await;
    Ok(report)
}
