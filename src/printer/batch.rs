//! A roster's slips printed one after another (`booth cards --print`, and the terminal UI's
//! "print these cards"): progress per slip, a pause when the printer is out of paper or gone
//! (the caller decides how to wait: [`wait_for_paper`] polls the printer's paper sensor), and
//! each printed member number recorded in the store at once, so an interrupted run resumes
//! where it stopped and prints nobody twice unless asked (`again`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::transport::{PrintError, Timeouts, paper_present, send};
use crate::card::{DeviceKey, MemberNo};
use crate::config::{Config, PrinterUri};
use crate::i18n::Lang;
use crate::slip::Slip;
use crate::slip::escpos::{self, Options};
use crate::slip::selection::CardsError;
use crate::store;
use rusqlite::Connection;

/// The store's name for this kind of batch output.
pub const KIND: &str = "print";

/// What a batch run reports as it goes.
#[derive(Debug)]
pub enum BatchEvent<'a> {
    /// `member_no` printed; `done` of `total` handled so far.
    Printed {
        done: usize,
        total: usize,
        member_no: &'a str,
    },
    /// Printed by an earlier run: left out (`done` counts it).
    AlreadyPrinted {
        done: usize,
        total: usize,
        member_no: &'a str,
    },
    /// The printer is out of paper or cannot be reached: waiting (see [`Resume`]).
    Paused(&'a PrintError),
    Resumed,
}

/// What to do after a pause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    Retry,
    Stop,
}

/// How a run ended.
#[derive(Clone, Debug, Default)]
pub struct BatchReport {
    pub total: usize,
    pub printed: usize,
    /// Left out: printed by an earlier run.
    pub already: usize,
    /// Why the run stopped before the end (`None`: it finished).
    pub stopped: Option<PrintError>,
}

/// One batch run's settings.
#[derive(Clone, Debug)]
pub struct BatchPrint {
    pub printer: PrinterUri,
    pub options: Options,
    pub timeouts: Timeouts,
    /// Print again those an earlier run printed.
    pub again: bool,
    /// This run's id, recorded beside each member number printed.
    pub run: String,
}

impl BatchPrint {
    pub fn new(config: &Config, printer: PrinterUri, again: bool) -> BatchPrint {
        BatchPrint {
            printer,
            options: Options {
                paper: config.paper,
                qr_mode: config.qr_mode,
            },
            timeouts: Timeouts::default(),
            again,
            run: uuid::Uuid::now_v7().to_string(),
        }
    }
}

/// Prints the slips of `numbers` in order. `events` hears every step; `wait` is called when
/// the printer fails and says whether to try the same slip again or stop. `conn` is any
/// connection to the store, such as
/// [`Store::second_connection`](crate::store::Store::second_connection): the terminal UI runs it
/// on a worker thread.
#[allow(clippy::too_many_arguments)]
pub fn print_batch(
    conn: &Connection,
    config: &Config,
    key: &DeviceKey,
    lang: Lang,
    numbers: &[MemberNo],
    job: &BatchPrint,
    mut events: impl FnMut(BatchEvent<'_>),
    mut wait: impl FnMut(&PrintError) -> Resume,
) -> Result<BatchReport, CardsError> {
    let total = numbers.len();
    let mut report = BatchReport {
        total,
        ..BatchReport::default()
    };
    for (i, no) in numbers.iter().enumerate() {
        let member_no = no.as_str();
        if !job.again && store::batch::is_done(conn, KIND, member_no)? {
            report.already += 1;
            events(BatchEvent::AlreadyPrinted {
                done: i + 1,
                total,
                member_no,
            });
            continue;
        }
        let m = store::members::get_on(conn, no)?.ok_or(CardsError::Vanished)?;
        let slip = Slip::new(&m, config, key, lang)?;
        let bytes = escpos::slip_bytes(&slip, job.options);
        loop {
            let sent = match paper_before_sending(&job.printer, job.timeouts) {
                Some(e) => Err(e),
                None => send(&job.printer, &bytes, job.timeouts),
            };
            match sent {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(%member_no, error = %e, "batch printing paused");
                    events(BatchEvent::Paused(&e));
                    if wait(&e) == Resume::Stop {
                        report.stopped = Some(e);
                        return Ok(report);
                    }
                    events(BatchEvent::Resumed);
                }
            }
        }
        store::batch::mark_done(conn, KIND, member_no, &job.run, &store::now())?;
        report.printed += 1;
        events(BatchEvent::Printed {
            done: i + 1,
            total,
            member_no,
        });
    }
    Ok(report)
}

/// A device printer is asked for paper before each slip (raw TCP asks in `send` itself; a
/// device write would otherwise hang until the time limit).
fn paper_before_sending(uri: &PrinterUri, t: Timeouts) -> Option<PrintError> {
    match uri {
        PrinterUri::Device(_) if paper_present(uri, t) == Some(false) => {
            Some(PrintError::OutOfPaper)
        }
        _ => None,
    }
}

/// Waits until the printer says it has paper again, `go_on` is set (the operator pressed
/// Enter, or the UI's "continue"), `stop` is set, or `limit` has passed. Polls the paper sensor
/// every `every`.
pub fn wait_for_paper(
    uri: &PrinterUri,
    t: Timeouts,
    go_on: &AtomicBool,
    stop: &AtomicBool,
    limit: Option<Duration>,
    every: Duration,
) -> Resume {
    let start = Instant::now();
    loop {
        if stop.load(Ordering::SeqCst) {
            return Resume::Stop;
        }
        if go_on.swap(false, Ordering::SeqCst) || paper_present(uri, t) == Some(true) {
            return Resume::Retry;
        }
        if limit.is_some_and(|l| start.elapsed() >= l) {
            return Resume::Stop;
        }
        std::thread::sleep(every);
    }
}
