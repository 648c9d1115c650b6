//! "Print these cards" from the records list filtered by a day or an employer: a PDF of card
//! sheets for a print shop, or the slips one after another on the booth's printer. The work
//! runs on a worker thread ([`crate::tui::workers::Workers::cards`]); its typed progress
//! messages become this state, and the panel only draws them (as the upload screen does).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Gauge, Widget};

use super::Outcome;
use crate::i18n::Lang;
use crate::store::members::ListFilter;
use crate::t;
use crate::tui::action::{Action, CardsJob, CardsOutput};
use crate::tui::keys::{self, Binding, ENTER, ESC, Key, LEFT, RIGHT, TAB};
use crate::tui::theme;
use crate::tui::widgets::input::{Edit, TextInput};
use crate::tui::widgets::wrapped;

/// Where the cards go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Pdf,
    Printer,
}

/// What the worker reports.
#[derive(Clone, Debug, PartialEq)]
pub enum CardsProgress {
    /// The records were chosen: `total` cards to make; left out, those the office `revoked`
    /// and those `voided` on this laptop.
    Selected {
        total: usize,
        revoked: usize,
        voided: usize,
    },
    /// `done` of `total` made (printed, or written to the PDF).
    Card {
        done: usize,
        total: usize,
    },
    /// The printer is out of paper or gone: the reason, in words.
    Paused(String),
    Resumed,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum CardsDone {
    Pdf {
        path: PathBuf,
        cards: usize,
        pages: usize,
        /// Characters no font had (the card shows "?"): a line each.
        notes: Vec<String>,
    },
    Printed {
        printed: usize,
        /// Printed by an earlier run: left out.
        already: usize,
    },
    /// Nothing matched the filter (or all were voided/revoked).
    Nothing,
    Cancelled {
        done: usize,
    },
    /// Why it stopped, in words.
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    Choosing,
    Running {
        done: usize,
        total: usize,
        paused: Option<String>,
    },
    Finished(CardsDone),
}

/// Why the run did not start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    NeedPath,
    /// In words, from the app (a folder that does not exist, no printer…).
    Said(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Start,
    Target,
    Again,
    Continue,
    Cancel,
    Close,
}

const KEYS: &[Binding<Cmd>] = &[
    Binding::new(Cmd::Start, &[ENTER])
        .hint("keys.cards.start")
        .help("help.cards.start"),
    Binding::new(Cmd::Target, &[TAB])
        .also(&[LEFT, RIGHT])
        .hint("keys.cards.target")
        .help("help.cards.target"),
    Binding::new(Cmd::Again, &[Key::char('a')])
        .hint("keys.cards.again")
        .help("help.cards.again"),
    Binding::new(Cmd::Continue, &[ENTER])
        .hint("keys.cards.continue")
        .help("help.cards.continue"),
    Binding::new(Cmd::Cancel, &[ESC])
        .also(&[Key::char('c')])
        .hint("keys.cards.cancel")
        .help("help.cards.cancel"),
    Binding::new(Cmd::Close, &[ESC])
        .also(&[ENTER])
        .hint("keys.back_plain")
        .help("help.cards.close"),
];

/// F1 while the panel is open.
pub fn help(lang: Lang) -> Vec<String> {
    keys::help_lines(KEYS, lang)
}

/// What the panel made of a key.
pub enum CardsKey {
    /// The panel is done with: back to the list.
    Close,
    Other(Outcome),
}

#[derive(Clone, Debug)]
pub struct CardsState {
    pub filter: ListFilter,
    pub target: Target,
    /// On the printer: also those an earlier run printed.
    pub again: bool,
    pub path: TextInput,
    /// The booth's printer, as configured (`None`: only the PDF).
    pub printer: Option<String>,
    pub phase: Phase,
    /// Left out because the office revoked them.
    pub revoked: usize,
    /// Left out because they were voided on this laptop.
    pub voided: usize,
    /// Why Enter did not start (an empty file name…).
    pub error: Option<Problem>,
    cancel: Arc<AtomicBool>,
    go_on: Arc<AtomicBool>,
}

impl CardsState {
    pub fn new(filter: ListFilter, default_path: PathBuf, printer: Option<String>) -> CardsState {
        let mut path = TextInput::new(1024);
        path.set(&default_path.display().to_string());
        CardsState {
            filter,
            target: Target::Pdf,
            again: false,
            path,
            printer,
            phase: Phase::Choosing,
            revoked: 0,
            voided: 0,
            error: None,
            cancel: Arc::new(AtomicBool::new(false)),
            go_on: Arc::new(AtomicBool::new(false)),
        }
    }

    fn running(&self) -> bool {
        matches!(self.phase, Phase::Running { .. })
    }

    fn enabled(&self, cmd: Cmd) -> bool {
        match (cmd, &self.phase) {
            (Cmd::Start, Phase::Choosing) => true,
            (Cmd::Target, Phase::Choosing) => self.printer.is_some(),
            (Cmd::Again, Phase::Choosing) => self.target == Target::Printer,
            (Cmd::Continue, Phase::Running { paused, .. }) => paused.is_some(),
            (Cmd::Cancel, Phase::Running { .. }) => !self.cancel.load(Ordering::Relaxed),
            // Enter is Start's while choosing (first in the list): Close takes only Esc there
            (Cmd::Close, Phase::Choosing | Phase::Finished(_)) => true,
            _ => false,
        }
    }

    pub fn paste(&mut self, s: &str) {
        if self.phase == Phase::Choosing && self.target == Target::Pdf {
            self.path.insert_str(s);
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> CardsKey {
        match keys::find(KEYS, &key, |c| self.enabled(*c)) {
            Some(Cmd::Start) => {
                let output = match self.target {
                    Target::Printer => CardsOutput::Printer { again: self.again },
                    Target::Pdf => {
                        let p = self.path.value();
                        if p.trim().is_empty() {
                            self.error = Some(Problem::NeedPath);
                            return CardsKey::Other(Outcome::Taken);
                        }
                        CardsOutput::Pdf(PathBuf::from(p.trim()))
                    }
                };
                self.error = None;
                CardsKey::Other(Outcome::Do(Action::PrintCards(Box::new(CardsJob {
                    filter: self.filter.clone(),
                    output,
                }))))
            }
            Some(Cmd::Target) => {
                self.target = match self.target {
                    Target::Pdf => Target::Printer,
                    Target::Printer => Target::Pdf,
                };
                CardsKey::Other(Outcome::Taken)
            }
            Some(Cmd::Again) => {
                self.again = !self.again;
                CardsKey::Other(Outcome::Taken)
            }
            Some(Cmd::Continue) => {
                self.go_on.store(true, Ordering::SeqCst);
                CardsKey::Other(Outcome::Taken)
            }
            Some(Cmd::Cancel) => {
                self.cancel.store(true, Ordering::SeqCst);
                CardsKey::Other(Outcome::Taken)
            }
            Some(Cmd::Close) => CardsKey::Close,
            None if self.phase == Phase::Choosing && self.target == Target::Pdf => {
                match self.path.handle_key(&key) {
                    Edit::Pass => CardsKey::Other(Outcome::Pass),
                    Edit::Taken | Edit::Changed => CardsKey::Other(Outcome::Taken),
                }
            }
            // the run is in the worker's hands: other keys wait
            None if self.running() => CardsKey::Other(Outcome::Taken),
            None => CardsKey::Other(Outcome::Pass),
        }
    }

    /// The run starts: the flags the worker watches (stop; go on after a pause).
    pub fn begin(&mut self) -> (Arc<AtomicBool>, Arc<AtomicBool>) {
        self.cancel = Arc::new(AtomicBool::new(false));
        self.go_on = Arc::new(AtomicBool::new(false));
        self.phase = Phase::Running {
            done: 0,
            total: 0,
            paused: None,
        };
        (Arc::clone(&self.cancel), Arc::clone(&self.go_on))
    }

    /// Could not start: why, in words (the choice stays open to fix it).
    pub fn refused(&mut self, why: String) {
        self.phase = Phase::Choosing;
        self.error = Some(Problem::Said(why));
    }

    pub fn progress(&mut self, p: CardsProgress) {
        let Phase::Running {
            done,
            total,
            paused,
        } = &mut self.phase
        else {
            return;
        };
        match p {
            CardsProgress::Selected {
                total: t,
                revoked,
                voided,
            } => {
                *total = t;
                self.revoked = revoked;
                self.voided = voided;
            }
            CardsProgress::Card { done: d, total: t } => {
                *done = d;
                *total = t;
            }
            CardsProgress::Paused(why) => *paused = Some(why),
            CardsProgress::Resumed => *paused = None,
        }
    }

    pub fn finished(&mut self, done: CardsDone) {
        self.phase = Phase::Finished(done);
    }

    fn scope(&self, lang: Lang) -> String {
        match &self.filter {
            ListFilter::Date(d) => t!(lang, "cards.scope_date", date = d),
            ListFilter::Employer(e) => t!(lang, "cards.scope_employer", employer = e),
        }
    }

    fn outcome_line(done: &CardsDone, lang: Lang) -> (String, bool) {
        match done {
            CardsDone::Pdf {
                path, cards, pages, ..
            } => (
                t!(
                    lang,
                    "cards.pdf_written",
                    cards = cards,
                    pages = pages,
                    path = path.display()
                ),
                true,
            ),
            CardsDone::Printed { printed, already } => (
                t!(
                    lang,
                    "cards.tui_printed",
                    printed = printed,
                    already = already
                ),
                true,
            ),
            CardsDone::Nothing => (t!(lang, "cards.none").into(), false),
            CardsDone::Cancelled { done } => (t!(lang, "cards.cancelled", done = done), false),
            CardsDone::Failed(why) => (why.clone(), false),
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, lang: Lang) {
        let buf = frame.buffer_mut();
        let width = area.width as usize;
        let bottom = area.y + area.height.saturating_sub(1);
        let mut y = area.y;
        buf.set_stringn(area.x, y, t!(lang, "cards.title"), width, theme::title());
        y += 1;
        y += wrapped(
            buf,
            Rect::new(area.x, y, area.width, 2),
            &self.scope(lang),
            theme::label(),
        ) + 1;
        let label_w = [t!(lang, "cards.output"), t!(lang, "cards.file")]
            .iter()
            .map(|l| unicode_width::UnicodeWidthStr::width(*l) as u16)
            .max()
            .unwrap_or(0)
            + 2;
        let choosing = self.phase == Phase::Choosing;
        buf.set_stringn(area.x, y, t!(lang, "cards.output"), width, theme::label());
        let x = area.x + label_w;
        let printer = self
            .printer
            .as_ref()
            .map(|p| t!(lang, "cards.to_printer", printer = p))
            .unwrap_or_else(|| t!(lang, "cards.no_printer_tui").into());
        for (target, text) in [
            (Target::Pdf, t!(lang, "cards.to_pdf").to_string()),
            (Target::Printer, printer),
        ] {
            let chosen = self.target == target;
            let mark = if chosen { "◉ " } else { "○ " };
            let style = match (chosen, choosing) {
                (true, true) => theme::focused_input(),
                (true, false) => theme::label(),
                _ => theme::dim(),
            };
            // one line each: a printer's address is never cut at 80 columns
            let room = (area.x + area.width).saturating_sub(x) as usize;
            buf.set_stringn(x, y, format!("{mark}{text}"), room, style);
            y += 1;
        }
        let mut cursor = None;
        // the choice while choosing; during the run only if taken
        if self.target == Target::Printer && (choosing || self.again) {
            let mark = if self.again { "[x] " } else { "[ ] " };
            let text = format!("{mark}{}", t!(lang, "cards.again"));
            let room = (area.x + area.width).saturating_sub(x) as usize;
            buf.set_stringn(x, y, text, room, theme::label());
            y += 1;
        }
        if self.target == Target::Pdf {
            buf.set_stringn(area.x, y, t!(lang, "cards.file"), width, theme::label());
            let style = if choosing {
                theme::focused_input()
            } else {
                theme::input()
            };
            let p = self.path.render(
                Rect::new(
                    area.x + label_w,
                    y,
                    area.width.saturating_sub(label_w).min(70),
                    1,
                ),
                buf,
                style,
                false,
            );
            if choosing {
                cursor = Some(p);
            }
            y += 1;
        }
        y += 1;
        match &self.phase {
            Phase::Choosing => {}
            Phase::Running {
                done,
                total,
                paused,
            } => {
                let ratio = if *total == 0 {
                    0.0
                } else {
                    (*done as f64 / *total as f64).clamp(0.0, 1.0)
                };
                Gauge::default()
                    .gauge_style(theme::ok())
                    .ratio(ratio)
                    .label(t!(lang, "cards.progress", done = done, total = total))
                    .render(Rect::new(area.x, y, area.width.min(70), 1), buf);
                y += 2;
                if let Some(why) = paused {
                    let text = t!(lang, "cards.tui_paused", why = why);
                    y += wrapped(
                        buf,
                        Rect::new(area.x, y, area.width, 3),
                        &text,
                        theme::warn(),
                    );
                }
            }
            Phase::Finished(done) => {
                let (line, ok) = Self::outcome_line(done, lang);
                let style = if ok { theme::ok() } else { theme::error() };
                y += wrapped(buf, Rect::new(area.x, y, area.width, 3), &line, style);
                if let CardsDone::Pdf { notes, .. } = done {
                    for n in notes {
                        let rows = bottom.saturating_sub(y).min(2);
                        y += wrapped(
                            buf,
                            Rect::new(area.x, y, area.width, rows),
                            n,
                            theme::warn(),
                        );
                    }
                }
            }
        }
        // voided here and revoked by the office, each said as what it is
        let left_out = [
            (self.voided > 0).then(|| t!(lang, "cards.skipped_voided", count = self.voided)),
            (self.revoked > 0).then(|| t!(lang, "cards.skipped_revoked", count = self.revoked)),
        ];
        for text in left_out.into_iter().flatten() {
            buf.set_stringn(area.x, y.min(bottom), text, width, theme::dim());
            y += 1;
        }
        if let Some(e) = &self.error {
            let text = match e {
                Problem::NeedPath => t!(lang, "cards.need_path").to_string(),
                Problem::Said(why) => why.clone(),
            };
            let rows = bottom.saturating_sub(y).min(3);
            wrapped(
                buf,
                Rect::new(area.x, y, area.width, rows),
                &text,
                theme::error(),
            );
        }
        let hints = keys::hint_line(KEYS, lang, "   ", |c| self.enabled(*c));
        buf.set_stringn(area.x, bottom, hints, width, theme::hint());
        if let Some(p) = cursor {
            frame.set_cursor_position(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn day() -> ListFilter {
        ListFilter::Date(chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap())
    }

    #[test]
    fn the_lists_strings_exist() {
        keys::assert_strings_exist(KEYS);
    }

    #[test]
    fn enter_asks_for_the_pdf_and_tab_switches_to_the_printer_when_there_is_one() {
        let mut c = CardsState::new(day(), "/tmp/cards.pdf".into(), None);
        // no printer: Tab does not leave the PDF
        c.handle_key(key(KeyCode::Tab));
        assert_eq!(c.target, Target::Pdf);
        c.handle_key(key(KeyCode::Char('x')));
        match c.handle_key(key(KeyCode::Enter)) {
            CardsKey::Other(Outcome::Do(Action::PrintCards(job))) => {
                assert_eq!(job.filter, day());
                assert_eq!(job.output, CardsOutput::Pdf("/tmp/cards.pdfx".into()));
            }
            _ => panic!("Enter starts"),
        }
        let mut c = CardsState::new(day(), "/tmp/cards.pdf".into(), Some("tcp://p:9100".into()));
        c.handle_key(key(KeyCode::Right));
        assert_eq!(c.target, Target::Printer);
        match c.handle_key(key(KeyCode::Enter)) {
            CardsKey::Other(Outcome::Do(Action::PrintCards(job))) => {
                assert_eq!(job.output, CardsOutput::Printer { again: false });
            }
            _ => panic!("Enter starts"),
        }
        // an empty file name is refused, in place
        let mut c = CardsState::new(day(), "".into(), None);
        assert!(matches!(
            c.handle_key(key(KeyCode::Enter)),
            CardsKey::Other(Outcome::Taken)
        ));
        assert!(c.error.is_some());
        assert!(matches!(c.handle_key(key(KeyCode::Esc)), CardsKey::Close));
    }

    #[test]
    fn a_run_takes_its_progress_and_its_keys() {
        let mut c = CardsState::new(day(), "/tmp/cards.pdf".into(), Some("p".into()));
        let (cancel, go_on) = c.begin();
        c.progress(CardsProgress::Selected {
            total: 120,
            revoked: 1,
            voided: 2,
        });
        c.progress(CardsProgress::Card {
            done: 30,
            total: 120,
        });
        assert_eq!(
            c.phase,
            Phase::Running {
                done: 30,
                total: 120,
                paused: None
            }
        );
        // typing does not leak into the list's search while it runs
        assert!(matches!(
            c.handle_key(key(KeyCode::Char('z'))),
            CardsKey::Other(Outcome::Taken)
        ));
        c.progress(CardsProgress::Paused("out of paper".into()));
        c.handle_key(key(KeyCode::Enter));
        assert!(go_on.load(Ordering::SeqCst), "Enter goes on after a pause");
        c.handle_key(key(KeyCode::Esc));
        assert!(cancel.load(Ordering::SeqCst), "Esc stops the run");
        c.finished(CardsDone::Cancelled { done: 31 });
        assert!(matches!(c.handle_key(key(KeyCode::Enter)), CardsKey::Close));
    }
}
