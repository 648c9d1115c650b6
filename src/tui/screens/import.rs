//! Importing a roster without a shell (F9): a file path typed with Tab completion, what the
//! file holds, the consent question when it has no consent column, progress, and the report —
//! accepted, duplicates with the number they have, rejected rows with the row and the reason.
//! The app does the work ([`crate::tui::import`]); this screen only keeps what it reports.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Gauge, Widget};

use super::Outcome;
use crate::i18n::Lang;
use crate::member::text::display_safe;
use crate::t;
use crate::tui::action::Action;
use crate::tui::app::Screen;
use crate::tui::import::{ImportReport, ProblemKind, RosterSummary};
use crate::tui::keys::{self, Binding, DOWN, ENTER, ESC, Key, TAB, UP};
use crate::tui::theme;
use crate::tui::widgets::input::{Edit, TextInput};
use crate::tui::widgets::{fit, wrapped};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Typing the file's path.
    Path,
    /// The file is being read (a worker thread).
    Reading,
    /// Read: what it holds; `consent` is the operator's answer for a file without a consent
    /// column (`None`: not asked yet, or the file has one).
    Ready {
        summary: RosterSummary,
        consent: Option<bool>,
    },
    Running(ImportReport),
    Finished(ImportReport),
}

#[derive(Clone, Debug)]
pub struct ImportState {
    pub path: TextInput,
    /// The matches of the last Tab, when there were several.
    pub completions: Vec<String>,
    pub phase: Phase,
    /// Why the file cannot be read, or what to do first (in words, from the app).
    pub error: Option<String>,
    /// First line of the report's list shown.
    pub scroll: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Read,
    Complete,
    Start,
    Yes,
    No,
    Stop,
    Scroll,
    Again,
    Back,
}

const KEYS: &[Binding<Cmd>] = &[
    Binding::new(Cmd::Read, &[ENTER])
        .hint("keys.import.read")
        .help("help.import.read"),
    Binding::new(Cmd::Complete, &[TAB])
        .hint("keys.import.complete")
        .help("help.import.complete"),
    Binding::new(Cmd::Start, &[ENTER])
        .hint("keys.import.start")
        .help("help.import.start"),
    Binding::new(Cmd::Yes, &[Key::char('y')])
        .also(&[Key::char('是')])
        .hint("keys.import.yes")
        .help("help.import.consent"),
    Binding::new(Cmd::No, &[Key::char('n')])
        .also(&[Key::char('否')])
        .hint("keys.import.no"),
    Binding::new(Cmd::Stop, &[ESC])
        .also(&[Key::char('c')])
        .hint("keys.import.stop")
        .help("help.import.stop"),
    Binding::new(Cmd::Scroll, &[UP, DOWN])
        .also(&[Key::plain(KeyCode::PageUp), Key::plain(KeyCode::PageDown)])
        .hint("keys.import.scroll")
        .help("help.import.scroll"),
    Binding::new(Cmd::Again, &[ENTER])
        .hint("keys.import.again")
        .help("help.import.again"),
    Binding::new(Cmd::Back, &[ESC])
        .hint("keys.back_plain")
        .help("help.back_to_form"),
];

/// F1 on the import screen.
pub fn help(lang: Lang) -> Vec<String> {
    let mut lines = vec![t!(lang, "import_screen.intro").to_string()];
    lines.extend(keys::help_lines(KEYS, lang));
    lines
}

impl Default for ImportState {
    fn default() -> Self {
        ImportState {
            path: TextInput::new(1024),
            completions: Vec::new(),
            phase: Phase::Path,
            error: None,
            scroll: 0,
        }
    }
}

impl ImportState {
    /// A fresh start, the path field holding `start` (the home folder).
    pub fn open(&mut self, start: &str) {
        if matches!(self.phase, Phase::Running(_) | Phase::Reading) {
            return;
        }
        if self.phase != Phase::Path || self.path.is_empty() {
            self.path.set(start);
        }
        self.phase = Phase::Path;
        self.completions.clear();
        self.error = None;
        self.scroll = 0;
    }

    fn enabled(&self, cmd: Cmd) -> bool {
        match (&self.phase, cmd) {
            (Phase::Path, Cmd::Read | Cmd::Complete | Cmd::Back) => true,
            (Phase::Ready { summary, consent }, Cmd::Start) => {
                summary.has_consent || *consent == Some(true)
            }
            (Phase::Ready { summary, .. }, Cmd::Yes | Cmd::No) => !summary.has_consent,
            (Phase::Ready { .. }, Cmd::Back) => true,
            (Phase::Running(_), Cmd::Stop) => true,
            (Phase::Finished(r), Cmd::Scroll) => !r.problems.is_empty(),
            (Phase::Finished(_), Cmd::Again | Cmd::Back) => true,
            _ => false,
        }
    }

    pub fn paste(&mut self, s: &str) {
        if self.phase == Phase::Path {
            // a path pasted from a file manager may come quoted or as a file:// address
            let s = s.trim().trim_matches(['\'', '"']);
            let s = s.strip_prefix("file://").unwrap_or(s);
            self.path.insert_str(s);
            self.completions.clear();
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        let Some(cmd) = keys::find(KEYS, &key, |c| self.enabled(*c)) else {
            return match &self.phase {
                Phase::Path => match self.path.handle_key(&key) {
                    Edit::Pass => Outcome::Pass,
                    Edit::Changed => {
                        self.completions.clear();
                        self.error = None;
                        Outcome::Taken
                    }
                    Edit::Taken => Outcome::Taken,
                },
                // while it reads or runs, keys wait (Esc stops a run)
                Phase::Reading | Phase::Running(_) if matches!(key.code, KeyCode::Char(_)) => {
                    Outcome::Taken
                }
                _ => Outcome::Pass,
            };
        };
        match cmd {
            Cmd::Read => {
                let p = self.path.value();
                if p.trim().is_empty() {
                    return Outcome::Taken;
                }
                Outcome::Do(Action::ReadRoster(p.trim().into()))
            }
            Cmd::Complete => Outcome::Do(Action::CompletePath(self.path.value())),
            Cmd::Yes | Cmd::No => {
                if let Phase::Ready { consent, .. } = &mut self.phase {
                    *consent = Some(cmd == Cmd::Yes);
                }
                Outcome::Taken
            }
            Cmd::Start => Outcome::Do(Action::StartImport),
            Cmd::Stop => Outcome::Do(Action::StopImport),
            Cmd::Scroll => {
                if let Phase::Finished(r) = &self.phase {
                    let last = r.problems.len().saturating_sub(1);
                    self.scroll = match key.code {
                        KeyCode::Up => self.scroll.saturating_sub(1),
                        KeyCode::Down => (self.scroll + 1).min(last),
                        KeyCode::PageUp => self.scroll.saturating_sub(10),
                        _ => (self.scroll + 10).min(last),
                    };
                }
                Outcome::Taken
            }
            Cmd::Again => {
                self.phase = Phase::Path;
                self.scroll = 0;
                Outcome::Taken
            }
            Cmd::Back => match self.phase {
                Phase::Ready { .. } => {
                    self.phase = Phase::Path;
                    Outcome::Taken
                }
                _ => Outcome::Do(Action::Goto(Screen::Form)),
            },
        }
    }

    /// The app completed the path (a Tab).
    pub fn completed(&mut self, text: String, matches: Vec<String>) {
        self.path.set(&text);
        self.completions = matches;
    }

    /// The file is being read.
    pub fn reading(&mut self) {
        self.phase = Phase::Reading;
        self.error = None;
        self.completions.clear();
    }

    /// The file was read, or could not be (why, in words).
    pub fn read(&mut self, r: Result<RosterSummary, String>) {
        match r {
            Ok(summary) => {
                self.phase = Phase::Ready {
                    summary,
                    consent: None,
                };
            }
            Err(why) => {
                self.phase = Phase::Path;
                self.error = Some(why);
            }
        }
    }

    /// Progress of the run, and its end.
    pub fn progress(&mut self, report: ImportReport, finished: bool) {
        self.phase = if finished {
            Phase::Finished(report)
        } else {
            Phase::Running(report)
        };
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, lang: Lang) {
        let buf = frame.buffer_mut();
        let width = area.width as usize;
        let bottom = area.y + area.height.saturating_sub(1);
        let mut y = area.y;
        buf.set_stringn(
            area.x,
            y,
            t!(lang, "import_screen.title"),
            width,
            theme::title(),
        );
        y += 1;
        y += wrapped(
            buf,
            Rect::new(area.x, y, area.width, 2),
            t!(lang, "import_screen.intro"),
            theme::dim(),
        ) + 1;
        let label = t!(lang, "import_screen.file");
        let label_w = unicode_width::UnicodeWidthStr::width(label) as u16 + 2;
        buf.set_stringn(area.x, y, label, width, theme::focused_label());
        let typing = self.phase == Phase::Path;
        let style = if typing {
            theme::focused_input()
        } else {
            theme::input()
        };
        let cursor = self.path.render(
            Rect::new(area.x + label_w, y, area.width.saturating_sub(label_w), 1),
            buf,
            style,
            false,
        );
        y += 2;
        let say = |buf: &mut ratatui::buffer::Buffer, y: &mut u16, text: &str, style, rows| {
            let room = bottom.saturating_sub(*y).min(rows);
            *y += wrapped(buf, Rect::new(area.x, *y, area.width, room), text, style);
        };
        match &self.phase {
            Phase::Path => {
                if !self.completions.is_empty() {
                    // several matches: as a shell lists them, in columns
                    let text = self.completions.join("  ");
                    say(buf, &mut y, &text, theme::dim(), 6);
                    y += 1;
                }
                if let Some(e) = &self.error {
                    say(buf, &mut y, e, theme::error(), 4);
                }
            }
            Phase::Reading => say(
                buf,
                &mut y,
                t!(lang, "import_screen.reading"),
                theme::dim(),
                1,
            ),
            Phase::Ready { summary, consent } => {
                let mut what = t!(lang, "import_screen.rows", rows = summary.rows);
                if let Some(s) = &summary.sheet {
                    what.push_str("  ");
                    what.push_str(&t!(
                        lang,
                        "import.sheet",
                        sheet = s,
                        row = summary.header_row
                    ));
                }
                say(buf, &mut y, &display_safe(&what), theme::label(), 2);
                if !summary.ignored.is_empty() {
                    let cols = summary
                        .ignored
                        .iter()
                        .map(|h| format!("“{}”", display_safe(h)))
                        .collect::<Vec<_>>()
                        .join("、");
                    let text = t!(lang, "import.ignored_columns", columns = cols);
                    say(buf, &mut y, &text, theme::dim(), 2);
                }
                y += 1;
                if summary.has_consent {
                    say(
                        buf,
                        &mut y,
                        t!(lang, "import_screen.consent_column"),
                        theme::label(),
                        2,
                    );
                } else {
                    let (text, style) = match consent {
                        None => (t!(lang, "import_screen.consent_question"), theme::warn()),
                        Some(true) => (t!(lang, "import_screen.consent_yes"), theme::ok()),
                        Some(false) => (t!(lang, "import_screen.consent_no"), theme::error()),
                    };
                    say(buf, &mut y, text, style, 4);
                }
            }
            Phase::Running(r) => {
                let ratio = if r.total == 0 {
                    0.0
                } else {
                    (r.done as f64 / r.total as f64).clamp(0.0, 1.0)
                };
                Gauge::default()
                    .gauge_style(theme::ok())
                    .ratio(ratio)
                    .label(t!(
                        lang,
                        "import_screen.progress",
                        done = r.done,
                        total = r.total
                    ))
                    .render(Rect::new(area.x, y, area.width.min(70), 1), buf);
                y += 2;
                say(buf, &mut y, &r.summary(lang), theme::label(), 2);
            }
            Phase::Finished(r) => {
                let ok = r.stopped.is_none() && r.count(ProblemKind::Rejected) == 0;
                let style = if ok { theme::ok() } else { theme::warn() };
                say(buf, &mut y, &r.summary(lang), style, 3);
                y += 1;
                // row by row: rejected with the reason, duplicates with their number
                let room = bottom.saturating_sub(y) as usize;
                for p in r.problems.iter().skip(self.scroll).take(room) {
                    let line = match p.kind {
                        ProblemKind::Rejected => {
                            t!(lang, "import.row_rejected", row = p.row, reasons = &p.text)
                        }
                        _ => t!(lang, "import.row_duplicate", row = p.row, reason = &p.text),
                    };
                    let style = match p.kind {
                        ProblemKind::Rejected | ProblemKind::NotStored => theme::error(),
                        ProblemKind::Duplicate => theme::dim(),
                    };
                    buf.set_stringn(area.x, y, fit(&display_safe(&line), width), width, style);
                    y += 1;
                }
            }
        }
        let hints = keys::hint_line(KEYS, lang, "   ", |c| self.enabled(*c));
        buf.set_stringn(area.x, bottom, fit(&hints, width), width, theme::hint());
        if typing {
            frame.set_cursor_position(cursor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn the_lists_strings_exist() {
        keys::assert_strings_exist(KEYS);
    }

    #[test]
    fn a_file_without_consent_column_waits_for_the_answer() {
        let mut s = ImportState::default();
        s.open("/home/cadre/");
        assert!(
            matches!(s.handle_key(key(KeyCode::Tab)), Outcome::Do(Action::CompletePath(p)) if p == "/home/cadre/")
        );
        s.read(Ok(RosterSummary {
            rows: 3,
            ..Default::default()
        }));
        assert!(
            matches!(s.handle_key(key(KeyCode::Enter)), Outcome::Pass),
            "no start before the consent question is answered"
        );
        s.handle_key(key(KeyCode::Char('n')));
        assert!(matches!(s.handle_key(key(KeyCode::Enter)), Outcome::Pass));
        s.handle_key(key(KeyCode::Char('y')));
        assert!(matches!(
            s.handle_key(key(KeyCode::Enter)),
            Outcome::Do(Action::StartImport)
        ));
        // with a consent column: no question
        s.read(Ok(RosterSummary {
            rows: 3,
            has_consent: true,
            ..Default::default()
        }));
        assert!(matches!(
            s.handle_key(key(KeyCode::Char('y'))),
            Outcome::Pass
        ));
        assert!(matches!(
            s.handle_key(key(KeyCode::Enter)),
            Outcome::Do(Action::StartImport)
        ));
    }
}
