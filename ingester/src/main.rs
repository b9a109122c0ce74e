use std::process::ExitCode;

const USAGE: &str = "usage: serverpulse-ingester [run | migrate]";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("run") => serverpulse_ingester::run_from_env().await,
        Some("migrate") => serverpulse_ingester::migrate_from_env().await,
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
