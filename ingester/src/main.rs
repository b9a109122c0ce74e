use std::process::ExitCode;

use anyhow::Context as _;
use shared::config::{IngesterConfig, LogFormat};

const USAGE: &str = "usage: serverpulse-ingester [run | migrate]";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("run") => run().await,
        Some("migrate") => migrate().await,
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("serverpulse-ingester: unknown command {other:?}; {USAGE}");
            return ExitCode::from(2);
        }
    };
    shared::telemetry::exit_code("serverpulse-ingester", result)
}

async fn run() -> anyhow::Result<()> {
    let config = IngesterConfig::from_env()?;
    let tuning = tuning_from_env()?;
    // wss:// needs a crypto provider; ignore "already installed".
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    shared::telemetry::init_logging(config.log_format);
    let metrics = shared::telemetry::init_metrics("serverpulse-ingester");
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    serverpulse_ingester::run_with(
        config,
        tuning,
        listener,
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

/// Batch and buffer sizes: `INGESTER_FLUSH_EVENTS` (frames per batch before
/// an early flush, default 5000), `INGESTER_FLUSH_INTERVAL_MS` (default
/// 1000), `INGESTER_BUFFER_EVENTS` (frames held per shard while the database
/// is away before the shard stops reading the gateway, default 100000).
fn tuning_from_env() -> anyhow::Result<serverpulse_ingester::Tuning> {
    fn read(var: &str, default: u64) -> anyhow::Result<u64> {
        match std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => anyhow::bail!("{var} is invalid: expected a positive whole number, got {v:?}"),
            },
        }
    }
    let defaults = serverpulse_ingester::Tuning::default();
    Ok(serverpulse_ingester::Tuning {
        flush_events: read("INGESTER_FLUSH_EVENTS", defaults.flush_events)?,
        flush_interval: std::time::Duration::from_millis(read(
            "INGESTER_FLUSH_INTERVAL_MS",
            defaults.flush_interval.as_millis() as u64,
        )?),
        buffer_events: read("INGESTER_BUFFER_EVENTS", defaults.buffer_events)?,
        ..defaults
    })
}
