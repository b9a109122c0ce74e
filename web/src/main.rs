use std::process::ExitCode;

use anyhow::Context as _;
use shared::config::{LogFormat, WebConfig};

const USAGE: &str = "usage: serverpulse-web [serve | migrate | register [--guild ID] | digests run [--at RFC3339] | retention run [--at RFC3339] | rotate-keys]";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("migrate") => migrate().await,
        Some("register") => register(&args[1..]).await,
        Some("digests") => digests(&args[1..]).await,
        Some("retention") => retention(&args[1..]).await,
        Some("rotate-keys") => rotate_keys().await,
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("serverpulse-web: unknown command {other:?}; {USAGE}");
            return ExitCode::from(2);
        }
    };
    shared::telemetry::exit_code("serverpulse-web", result)
}

async fn serve() -> anyhow::Result<()> {
    let config = WebConfig::from_env()?;
    shared::telemetry::init_logging(config.log_format);
    let metrics = shared::telemetry::init_metrics("serverpulse-web");
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let ops_listener = tokio::net::TcpListener::bind(config.ops_listen)
        .await
        .with_context(|| format!("cannot listen on {} (OPS_PORT)", config.ops_listen))?;
    serverpulse_web::serve(
        config,
        listener,
        ops_listener,
        metrics,
        shared::telemetry::shutdown_signal(),
    )
    .await
}

async fn migrate() -> anyhow::Result<()> {
    let database = shared::config::database_from_env()?;
    shared::telemetry::init_logging(LogFormat::Text);
    shared::db::open(&database).await?;
    tracing::info!("migrations applied");
    Ok(())
}

/// Re-seals the guilds' API keys stored under SERVERPULSE_MASTER_KEY_PREVIOUS
/// with SERVERPULSE_MASTER_KEY.
async fn rotate_keys() -> anyhow::Result<()> {
    let config = WebConfig::from_env()?;
    shared::telemetry::init_logging(config.log_format);
    let current = config
        .ai
        .master_key
        .as_ref()
        .context("SERVERPULSE_MASTER_KEY is not set: it is the key to re-seal under")?;
    let previous = config
        .ai
        .previous_master_key
        .as_ref()
        .context("SERVERPULSE_MASTER_KEY_PREVIOUS is not set: it is the key the stored keys are sealed under")?;
    let pool = shared::db::open(&config.database).await?;
    let done = serverpulse_web::pulse::keys::rotate(&pool, current, previous)
        .await
        .context("re-sealing the stored API keys")?;
    tracing::info!(
        resealed = done.resealed,
        unknown = done.unknown,
        "API keys re-sealed under the new master key"
    );
    if done.unknown > 0 {
        tracing::warn!(
            unknown = done.unknown,
            "some keys are sealed under neither master key; their guilds must set them again"
        );
    }
    Ok(())
}

/// Bulk-overwrites the slash command definitions, globally or in one guild
/// (guild commands update at once; global ones are cached by Discord).
async fn register(args: &[String]) -> anyhow::Result<()> {
    let guild = match args {
        [] => None,
        [flag, id] if flag == "--guild" => Some(
            id.parse::<shared::Snowflake>()
                .with_context(|| format!("--guild expects a numeric guild id, got {id:?}"))?,
        ),
        _ => anyhow::bail!("{USAGE}"),
    };
    let config = WebConfig::from_env()?;
    shared::telemetry::init_logging(config.log_format);
    let rest = serverpulse_web::discord::DiscordRest::new(
        &config.api_url,
        config.discord_token.clone(),
        config.application_id,
    );
    let registered = rest
        .overwrite_commands(guild, &serverpulse_web::definitions::commands())
        .await
        .context("registering the slash commands")?;
    let count = registered.as_array().map_or(0, Vec::len);
    match guild {
        Some(guild) => tracing::info!(count, %guild, "commands registered in the guild"),
        None => tracing::info!(count, "commands registered globally"),
    }
    Ok(())
}

/// `digests run [--at T]`: posts every digest due at `T` (default: now)
/// that no run posted before, prints what it did, and exits (for a cron,
/// and for tests that pick the instant).
async fn digests(args: &[String]) -> anyhow::Result<()> {
    let at = run_at(args)?;
    let config = WebConfig::from_env()?;
    shared::telemetry::init_logging(config.log_format);
    let pool = shared::db::open(&config.database).await?;
    let poster =
        serverpulse_web::delivery::Poster::new(&config.api_url, config.discord_token.clone());
    let providers = serverpulse_web::pulse::providers::Providers::new(&config.ai);
    let report = serverpulse_web::digest::run_and_deliver(&pool, &poster, &providers, at)
        .await
        .context("running the digests")?;
    pool.close().await;
    for (key, outcome) in &report.run.claimed {
        println!(
            "guild {} {} digest of {}: {}",
            key.guild_id,
            key.frequency.key(),
            key.period_start.to_rfc3339(),
            outcome.key()
        );
    }
    for guild in &report.run.failed {
        println!("guild {guild}: failed, left for the next run");
    }
    for (job, outcome) in &report.reports.done {
        let how = match outcome {
            serverpulse_web::pulse::weekly::JobOutcome::Written(by) => format!("written by {by}"),
            serverpulse_web::pulse::weekly::JobOutcome::Reused(by) => {
                format!("reused, written before by {by}")
            }
            serverpulse_web::pulse::weekly::JobOutcome::Superseded => {
                "finished by another run".to_owned()
            }
        };
        println!(
            "guild {} pulse report of {}: {how}",
            job.guild_id,
            job.period_start.to_rfc3339()
        );
    }
    for job in &report.reports.failed {
        println!(
            "guild {} pulse report: failed, left for the next run",
            job.guild_id
        );
    }
    let d = report.delivery;
    println!(
        "at {}: {} digests claimed, {} posted, {} to retry, {} failed",
        at.to_rfc3339(),
        report.run.claimed.len(),
        d.delivered,
        d.retrying,
        d.failed
    );
    Ok(())
}

/// The instant of `run [--at T]` (default: now).
fn run_at(args: &[String]) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    Ok(match args {
        [run] if run == "run" => chrono::Utc::now(),
        [run, flag, at] if run == "run" && flag == "--at" => {
            chrono::DateTime::parse_from_rfc3339(at)
                .with_context(|| {
                    format!(
                        "--at expects an RFC 3339 instant such as 2026-12-07T08:00:00Z, got {at:?}"
                    )
                })?
                .with_timezone(&chrono::Utc)
        }
        _ => anyhow::bail!("{USAGE}"),
    })
}

/// `retention run [--at T]`: the retention job of `T`'s UTC day (default:
/// now), unless a run claimed that day before; prints what it removed.
async fn retention(args: &[String]) -> anyhow::Result<()> {
    let at = run_at(args)?;
    let config = WebConfig::from_env()?;
    shared::telemetry::init_logging(config.log_format);
    let pool = shared::db::open(&serverpulse_web::background_database(&config.database)).await?;
    let report = serverpulse_web::retention::run_once(&pool, config.retention, at)
        .await
        .context("running the retention job")?;
    pool.close().await;
    for line in serverpulse_web::retention::describe(at, report.as_ref()) {
        println!("{line}");
    }
    Ok(())
}
