//! What a booth day needed a shell for: a roster imported from a file (read on a worker
//! thread, registered in chunks between frames), and the settings stored as `booth config
//! set` stores them, with a test print.

use std::path::{Path, PathBuf};

use super::{App, Tone};
use crate::t;
use crate::tui::action::Then;
use crate::tui::event::AppEvent;
use crate::tui::import::{ImportRun, RosterSummary, complete_path, list_dir};
use crate::tui::screens::Outcome;
use crate::tui::workers::WorkerMsg;

/// The home folder, where a roster usually waits (a USB stick is under it or /media).
fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|h| h.is_dir())
}

impl App {
    /// F9: the path field starts at the home folder.
    pub(super) fn open_import(&mut self) {
        let start = home()
            .map(|h| format!("{}/", h.display()))
            .unwrap_or_default();
        self.import.open(&start);
    }

    pub(super) fn complete_path(&mut self, typed: &str) {
        let (text, matches) = complete_path(typed, home().as_deref(), list_dir);
        self.import.completed(text, matches);
    }

    /// Reads the roster on a thread of its own (a big workbook takes seconds); the answer
    /// comes back as [`WorkerMsg::RosterRead`].
    pub(super) fn read_roster(&mut self, path: PathBuf) {
        let path = match path.strip_prefix("~") {
            Ok(rest) => home().map_or(path.clone(), |h| h.join(rest)),
            Err(_) => path,
        };
        self.import.reading();
        let events = self.events.clone();
        let lang = self.lang;
        let spawned = std::thread::Builder::new()
            .name("roster".into())
            .spawn(move || {
                let roster = crate::roster::read(&path, None)
                    .map(Box::new)
                    .map_err(|e| e.message(lang));
                let _ = events.send(AppEvent::Worker(WorkerMsg::RosterRead { path, roster }));
            });
        if let Err(e) = spawned {
            self.import.read(Err(e.to_string()));
        }
    }

    pub(super) fn roster_read(
        &mut self,
        path: &Path,
        roster: Result<Box<crate::roster::Roster>, String>,
    ) {
        match roster {
            Ok(r) => {
                tracing::info!(rows = r.rows.len(), "roster read for import");
                self.import.read(Ok(RosterSummary::of(path, &r)));
                self.import_roster = Some(*r);
            }
            Err(why) => {
                self.import_roster = None;
                self.import.read(Err(why));
            }
        }
    }

    /// Enter on a roster read (and, without a consent column, the operator's yes).
    pub(super) fn start_import(&mut self) {
        use crate::tui::screens::import::Phase;
        let consent_for_all = match &self.import.phase {
            Phase::Ready { summary, consent } => !summary.has_consent && *consent == Some(true),
            _ => return,
        };
        let (Some(roster), Some(s)) = (self.import_roster.take(), &self.session) else {
            return;
        };
        let run = ImportRun::new(
            roster,
            consent_for_all,
            s.config.event(),
            self.now(),
            self.lang,
        );
        self.import.progress(run.report.clone(), false);
        self.import_run = Some(run);
        self.next_import_step();
    }

    /// The next chunk, after whatever is waiting in the channel (keys, a frame).
    fn next_import_step(&self) {
        let _ = self.events.send(AppEvent::Worker(WorkerMsg::ImportStep));
    }

    pub(super) fn import_step(&mut self) {
        let (Some(run), Some(s)) = (&mut self.import_run, &mut self.session) else {
            return;
        };
        if !run.finished() {
            run.step(&mut s.store);
        }
        let finished = run.finished();
        self.import.progress(run.report.clone(), finished);
        if !finished {
            return self.next_import_step();
        }
        let r = &run.report;
        tracing::info!(
            rows = r.total,
            accepted = r.accepted,
            problems = r.problems.len(),
            "import from the terminal UI finished"
        );
        self.import_run = None;
        // the queue grew (imports are not booth sign-ups: the day's figures stay)
        self.refresh_counts();
    }

    /// A setting left changed: checked and stored as `booth config set` does.
    pub(super) fn save_setting(&mut self, key: &'static str, value: &str, then: Then) {
        let lang = self.lang;
        let Some(s) = &mut self.session else { return };
        match s.store.set_config(key, value, lang) {
            Ok(c) => {
                s.config = c;
                tracing::info!(key, "setting changed in the terminal UI");
                let config = s.config.clone();
                if let Outcome::Do(a) = self.settings.saved(key, &config, then) {
                    self.update(a);
                }
            }
            Err(e) => self.settings.refused(key, e.message(lang)),
        }
    }

    /// A test slip on the printer as typed (saved or not), on a thread of its own.
    pub(super) fn test_print(&mut self, typed: &str) {
        let lang = self.lang;
        let uri = match crate::config::PrinterUri::parse(typed.trim()) {
            Ok(u) => u,
            Err(_) => {
                let why = t!(lang, "settings.test_no_printer").to_string();
                return self.settings.tested(why, false);
            }
        };
        let Some(s) = &self.session else { return };
        let bytes = test_page(
            &s.config.union,
            &s.config.place,
            &self.now().format("%Y-%m-%d %H:%M").to_string(),
        );
        let events = self.events.clone();
        let printer = uri.to_string();
        self.say(t!(lang, "settings.testing", printer = &printer), Tone::Info);
        let _ = std::thread::Builder::new()
            .name("test-print".into())
            .spawn(move || {
                let (message, ok) =
                    match crate::printer::transport::send(&uri, &bytes, Default::default()) {
                        Ok(()) => (t!(lang, "settings.test_printed", printer = printer), true),
                        Err(e) => (e.message(lang), false),
                    };
                let _ = events.send(AppEvent::Worker(WorkerMsg::TestPrinted { message, ok }));
            });
    }
}

/// A test slip in ESC/POS: the union, the place and the time, in the printer's Chinese mode,
/// then feed and cut; what a cadre checks (characters, paper, the cutter) before the day.
fn test_page(union: &str, place: &str, at: &str) -> Vec<u8> {
    const ESC: u8 = 0x1b;
    const FS: u8 = 0x1c;
    const GS: u8 = 0x1d;
    let mut out = vec![ESC, b'@', FS, b'&'];
    for line in [
        "booth 打印测试 / test print",
        union,
        place,
        at,
        "工会会员登记 ✓",
    ] {
        out.extend(crate::slip::escpos::gb18030(line));
        out.push(b'\n');
    }
    out.extend([ESC, b'd', 4, GS, b'V', 66, 0]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_page_reads_back_as_a_slip_does() {
        use crate::slip::escpos::reader::{Op, parse};
        let ops = parse(&test_page(
            "朝阳区总工会",
            "望京SOHO驿站",
            "2026-11-24 10:30",
        ))
        .unwrap();
        assert_eq!(ops[0], Op::Init);
        assert!(
            ops.iter()
                .any(|o| matches!(o, Op::Text(t, _) if t.contains("朝阳区总工会")))
        );
        assert!(matches!(ops.last(), Some(Op::Cut(_))));
    }
}
