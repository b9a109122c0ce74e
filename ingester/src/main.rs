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
    // wss:// needs a crypto provider; ignore "already installed".
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    shared::telemetry::init_logging(config.log_format);
    let metrics = shared::telemetry::init_metrics("serverpulse-ingester");
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    serverpulse_ingester::run(
        config,
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
