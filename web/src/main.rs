use std::process::ExitCode;

use anyhow::Context as _;
use shared::config::{LogFormat, WebConfig};

const USAGE: &str = "usage: serverpulse-web [serve | migrate]";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("migrate") => migrate().await,
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
    serverpulse_web::serve(
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
