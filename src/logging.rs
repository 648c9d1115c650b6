//! Logging: to a daily file in the data folder for the laptop (never over the terminal UI),
//! to stderr as JSON lines for the server. Log lines carry member numbers, counts and error
//! kinds; never names, ID numbers or phone numbers.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

fn filter() -> EnvFilter {
    EnvFilter::try_from_env("BOOTH_LOG").unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Logs to `<data>/logs/booth.log.YYYY-MM-DD`. Keep the guard alive until exit so the last
/// lines are flushed.
pub fn to_data_folder(data_dir: &Path) -> Option<WorkerGuard> {
    let dir = data_dir.join("logs");
    crate::store::ensure_dir(&dir).ok()?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("booth.log")
        .max_log_files(30)
        .build(&dir)
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(writer)
        .with_ansi(false)
        .with_target(false)
        .try_init()
        .ok()?;
    Some(guard)
}

/// Structured JSON lines on stderr (the server's access log).
pub fn to_stderr_json() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        .json()
        .with_current_span(false)
        .try_init();
}
