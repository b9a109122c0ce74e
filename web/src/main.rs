use std::process::ExitCode;

use anyhow::Context as _;
use shared::config::{LogFormat, WebConfig};

const USAGE: &str = "usage: serverpulse-web [serve | migrate | register [--guild ID]]";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("migrate") => migrate().await,
        Some("register") => register(&args[1..]).await,
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
