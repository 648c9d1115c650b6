//! The terminal UI's "print these cards", as run on its worker thread: the records the list's
//! filter names ([`select_matching`]), then the PDF sheets ([`write_cards`]) or the slips on the
//! booth's printer ([`print_batch`]), the same code `booth cards` runs. Progress goes out
//! through `report` as typed messages; `cancel` stops between cards, `go_on` ends a pause.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::action::{CardsJob, CardsOutput};
use super::screens::cards::{CardsDone, CardsProgress};
use crate::card::{DeviceKey, MemberNo};
use crate::config::Config;
use crate::i18n::Lang;
use crate::printer::batch::{BatchEvent, BatchPrint, print_batch, wait_for_paper};
use crate::slip::font::{FontSource, Fonts};
use crate::slip::pdf::{PdfError, write_cards};
use crate::slip::selection::{CardsError, Skip, select_matching, slips};
use crate::t;

/// How often progress is reported at most (20,000 cards are not 20,000 redraws).
const REPORT_EVERY: Duration = Duration::from_millis(100);

/// Runs `job`; `lang` is the operator's, for the words of a failure (the cards are in the
/// slip's language, a setting of its own).
#[allow(clippy::too_many_arguments)]
pub fn run(
    conn: &Connection,
    data_dir: &Path,
    config: &Config,
    job: &CardsJob,
    revoked: &dyn Fn(&MemberNo) -> bool,
    cancel: &AtomicBool,
    go_on: &AtomicBool,
    lang: Lang,
    report: &mut dyn FnMut(CardsProgress),
) -> CardsDone {
    let failed = |e: CardsError| CardsDone::Failed(cards_error(&e, lang));
    let key = match crate::store::trust::device_key(conn) {
        Ok((k, _)) => k,
        Err(e) => return CardsDone::Failed(e.message(lang)),
    };
    let selected = match select_matching(conn, &job.filter, revoked) {
        Ok(s) => s,
        Err(e) => return CardsDone::Failed(e.message(lang)),
    };
    let total = selected.numbers.len();
    let count = |why| selected.skipped.iter().filter(|(_, w)| *w == why).count();
    report(CardsProgress::Selected {
        total,
        revoked: count(Skip::Revoked),
        voided: count(Skip::Voided),
    });
    if total == 0 {
        return CardsDone::Nothing;
    }
    match &job.output {
        CardsOutput::Pdf(path) => pdf(
            conn,
            data_dir,
            config,
            &key,
            &selected.numbers,
            path,
            cancel,
            lang,
            report,
        )
        .unwrap_or_else(failed),
        CardsOutput::Printer { again } => print(
            *again,
            conn,
            config,
            &key,
            &selected.numbers,
            cancel,
            go_on,
            lang,
            report,
        )
        .unwrap_or_else(failed),
    }
}

/// A failure of the run, or the operator's stop.
enum Stop {
    Cards(CardsError),
    Cancelled,
}

impl From<PdfError> for Stop {
    fn from(e: PdfError) -> Stop {
        Stop::Cards(e.into())
    }
}

#[allow(clippy::too_many_arguments)]
fn pdf(
    conn: &Connection,
    data_dir: &Path,
    config: &Config,
    key: &DeviceKey,
    numbers: &[MemberNo],
    path: &Path,
    cancel: &AtomicBool,
    lang: Lang,
    report: &mut dyn FnMut(CardsProgress),
) -> Result<CardsDone, CardsError> {
    let Ok(fonts) = Fonts::get(&FontSource::of(config)) else {
        return Ok(CardsDone::Failed(t!(lang, "print.font_missing").into()));
    };
    let total = numbers.len();
    // written beside, renamed when whole: a cut run leaves no half PDF under the name asked;
    // the part (names in clear) is noted in the data folder first, so one a killed run left
    // is removed at the next start
    let part = path.with_extension("pdf.part");
    let write_failed = |e: &dyn std::fmt::Display| {
        CardsDone::Failed(t!(lang, "export.write", path = path.display(), why = e))
    };
    if let Err(e) = crate::export::partial::note(data_dir, &part) {
        return Ok(write_failed(&e));
    }
    let file = match std::fs::File::create(&part) {
        Ok(f) => f,
        Err(e) => {
            crate::export::partial::done(data_dir, &part);
            return Ok(write_failed(&e));
        }
    };
    // whatever happens below, the part is gone or renamed: no longer to clean up
    struct Noted<'a>(&'a Path, &'a Path);
    impl Drop for Noted<'_> {
        fn drop(&mut self) {
            crate::export::partial::done(self.0, self.1);
        }
    }
    let _noted = Noted(data_dir, &part);
    let mut done_so_far = 0;
    let cards = slips(conn, config, key, config.slip_language, numbers).map(|r| {
        if cancel.load(Ordering::SeqCst) {
            Err(Stop::Cancelled)
        } else {
            r.map_err(Stop::Cards)
        }
    });
    let mut last = Instant::now();
    let result = write_cards(
        cards,
        total,
        fonts,
        std::io::BufWriter::new(file),
        |done, total| {
            done_so_far = done;
            if done == total || last.elapsed() >= REPORT_EVERY {
                last = Instant::now();
                report(CardsProgress::Card { done, total });
            }
        },
    );
    let (w, summary) = match result {
        Ok(r) => r,
        Err(stop) => {
            let _ = std::fs::remove_file(&part);
            return match stop {
                Stop::Cancelled => Ok(CardsDone::Cancelled { done: done_so_far }),
                Stop::Cards(e) => Err(e),
            };
        }
    };
    let finished = w
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(&part, path));
    if let Err(e) = finished {
        let _ = std::fs::remove_file(&part);
        return Ok(write_failed(&e));
    }
    Ok(CardsDone::Pdf {
        path: path.to_path_buf(),
        cards: summary.cards,
        pages: summary.pages,
        notes: summary.coverage.note(lang).into_iter().collect(),
    })
}

#[allow(clippy::too_many_arguments)]
fn print(
    again: bool,
    conn: &Connection,
    config: &Config,
    key: &DeviceKey,
    numbers: &[MemberNo],
    cancel: &AtomicBool,
    go_on: &AtomicBool,
    lang: Lang,
    report: &mut dyn FnMut(CardsProgress),
) -> Result<CardsDone, CardsError> {
    let Some(uri) = config.printer.clone() else {
        return Ok(CardsDone::Failed(t!(lang, "cards.no_printer_tui").into()));
    };
    let job = BatchPrint::new(config, uri.clone(), again);
    let total = numbers.len();
    let (mut printed, mut already) = (0, 0);
    // one slip at a time, so a stop between two slips is seen at once; the run's id and the
    // store's record of what was printed make it one resumable run
    for (i, no) in numbers.iter().enumerate() {
        if cancel.load(Ordering::SeqCst) {
            return Ok(CardsDone::Cancelled { done: i });
        }
        let r = print_batch(
            conn,
            config,
            key,
            config.slip_language,
            std::slice::from_ref(no),
            &job,
            |ev| match ev {
                BatchEvent::Paused(e) => report(CardsProgress::Paused(e.message(lang))),
                BatchEvent::Resumed => report(CardsProgress::Resumed),
                BatchEvent::Printed { .. } | BatchEvent::AlreadyPrinted { .. } => {}
            },
            |_| {
                wait_for_paper(
                    &uri,
                    job.timeouts,
                    go_on,
                    cancel,
                    None,
                    Duration::from_millis(500),
                )
            },
        )?;
        printed += r.printed;
        already += r.already;
        if r.stopped.is_some() {
            return Ok(CardsDone::Cancelled { done: i });
        }
        report(CardsProgress::Card { done: i + 1, total });
    }
    Ok(CardsDone::Printed { printed, already })
}

fn cards_error(e: &CardsError, lang: Lang) -> String {
    match e {
        CardsError::Store(e) => e.message(lang),
        CardsError::Slip(e) => e.message(lang),
        CardsError::Pdf(e) => t!(lang, "cards.pdf_failed", why = e),
        CardsError::Vanished => t!(lang, "cards.vanished").into(),
    }
}
