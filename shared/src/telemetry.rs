//! Logging, metrics and shutdown, the same for both binaries.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global tracing subscriber: `RUST_LOG` filters (default
/// `info`), `LOG_FORMAT=json` switches to one JSON object per line.
/// Safe to call more than once (later calls do nothing).
pub fn init_logging(format: LogFormat) {
    init_logging_with_default(format, "info");
}

/// [`init_logging`] with another filter for when `RUST_LOG` is unset.
pub fn init_logging_with_default(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Installs the Prometheus recorder for the `metrics` facade and returns
/// the handle `/metrics` renders from, with `serverpulse_build_info` set.
/// A second call (tests starting several apps in one process) gets a handle
/// of its own that is not the global one.
pub fn init_metrics(binary: &'static str) -> PrometheusHandle {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _ = metrics::set_global_recorder(recorder);
    metrics::gauge!("serverpulse_build_info", "binary" => binary, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    handle
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

/// How a binary's `main` ends: success, or one line on stderr with the
/// error and its causes (`{:#}`), never a secret: configuration errors name
/// variables, database errors carry redacted URLs.
pub fn exit_code<E: std::fmt::Display>(
    binary: &str,
    result: Result<(), E>,
) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{binary}: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
