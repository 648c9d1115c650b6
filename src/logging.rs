//! Logging: to a daily file in the data folder for the laptop (never over the terminal UI),
//! to stderr as JSON lines for the server. Log lines carry member numbers, counts and error
//! kinds; never names, ID numbers or phone numbers.
//!
//! Times are local with the offset (`2026-11-24T09:30:01.123+08:00`), and the laptop's file
//! for a day is named by the local date: an operator looking for "this morning" finds it.
//! Notices the PostgreSQL server sends to the client library are not the operator's concern
//! (nor their build paths): `tokio_postgres` logs at warning level and above only.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{Local, NaiveDate};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// Log files kept, one per day.
const KEEP_DAYS: usize = 30;
const PREFIX: &str = "booth.log.";

fn filter() -> EnvFilter {
    EnvFilter::try_from_env("BOOTH_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tokio_postgres=warn"))
}

/// Local time with its offset, to the millisecond.
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalTime;

impl FormatTime for LocalTime {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        write!(w, "{}", Local::now().format("%Y-%m-%dT%H:%M:%S%.3f%:z"))
    }
}

/// `<dir>/booth.log.YYYY-MM-DD` by the local date, a new file when the date changes; the
/// oldest beyond [`KEEP_DAYS`] are removed when a file is opened.
struct DailyFile {
    dir: PathBuf,
    current: Option<(NaiveDate, File)>,
}

impl DailyFile {
    fn path(&self, day: NaiveDate) -> PathBuf {
        self.dir.join(format!("{PREFIX}{}", day.format("%Y-%m-%d")))
    }

    fn file(&mut self) -> std::io::Result<&mut File> {
        let today = Local::now().date_naive();
        if self.current.as_ref().is_none_or(|(d, _)| *d != today) {
            let f = File::options()
                .create(true)
                .append(true)
                .open(self.path(today))?;
            self.current = Some((today, f));
            self.prune();
        }
        Ok(&mut self.current.as_mut().expect("just opened").1)
    }

    /// Keeps the newest [`KEEP_DAYS`] files (their names sort by date).
    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut logs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_prefix(PREFIX))
                    .is_some_and(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
            })
            .collect();
        logs.sort();
        let excess = logs.len().saturating_sub(KEEP_DAYS);
        for old in &logs[..excess] {
            let _ = std::fs::remove_file(old);
        }
    }
}

impl Write for DailyFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file()?.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.current {
            Some((_, f)) => f.flush(),
            None => Ok(()),
        }
    }
}

/// Logs to `<data>/logs/booth.log.YYYY-MM-DD` (local date). Keep the guard alive until exit so
/// the last lines are flushed.
pub fn to_data_folder(data_dir: &Path) -> Option<WorkerGuard> {
    let dir = data_dir.join("logs");
    crate::store::ensure_dir(&dir).ok()?;
    let (writer, guard) = tracing_appender::non_blocking(DailyFile { dir, current: None });
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(writer)
        .with_timer(LocalTime)
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
        .with_timer(LocalTime)
        .json()
        .with_current_span(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_local_with_the_offset() {
        let mut s = String::new();
        LocalTime.format_time(&mut Writer::new(&mut s)).unwrap();
        let t = chrono::DateTime::parse_from_rfc3339(&s).expect(&s);
        assert_eq!(t.offset(), Local::now().offset(), "{s}");
        assert!(
            !s.ends_with('Z') || t.offset().local_minus_utc() == 0,
            "{s}"
        );
    }

    #[test]
    fn the_file_is_named_by_the_local_date_and_old_ones_go() {
        let d = tempfile::tempdir().unwrap();
        let first = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        for day in first.iter_days().take(40) {
            let name = format!("{PREFIX}{}", day.format("%Y-%m-%d"));
            std::fs::write(d.path().join(name), "").unwrap();
        }
        std::fs::write(d.path().join("notes.txt"), "kept").unwrap();
        let mut f = DailyFile {
            dir: d.path().to_path_buf(),
            current: None,
        };
        f.write_all(b"line\n").unwrap();
        let today = d.path().join(format!(
            "booth.log.{}",
            Local::now().date_naive().format("%Y-%m-%d")
        ));
        assert_eq!(std::fs::read_to_string(&today).unwrap(), "line\n");
        let logs = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(PREFIX))
            .count();
        assert_eq!(logs, KEEP_DAYS);
        assert!(d.path().join("notes.txt").exists());
        assert!(!d.path().join("booth.log.2020-01-01").exists());
    }
}
