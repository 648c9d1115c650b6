//! The end-of-day upload: queue size, progress bar, count and rate, per-record outcomes,
//! retry. The upload runs on a worker thread; its progress messages come here and become this
//! screen's state (as gitui's push popup does with its progress channel); the screen owns
//! the flag that cancels it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Gauge, Widget};

use super::Outcome;
use super::enrol::{EnrolEntry, EntryField};
use crate::i18n::Lang;
use crate::member::text::display_safe;
use crate::sync::{NetError, Progress, UploadError, UploadReport, duration_words};
use crate::t;
use crate::tui::action::Action;
use crate::tui::app::Screen;
use crate::tui::keys::{self, Binding, ENTER, ESC, Key};
use crate::tui::theme;
use crate::tui::widgets::input::{Edit, TextInput};
use crate::tui::widgets::{fit, wrapped};

/// What the last upload said, in words at drawing time (the language may change meanwhile).
#[derive(Debug, Default)]
pub enum Status {
    #[default]
    Idle,
    /// Could not start (no connection to the store, not configured): the reason, in words.
    NotStarted(String),
    Starting,
    Sent {
        accepted: u64,
        rejected: u64,
    },
    Retrying {
        attempt: u32,
        secs: u64,
        reason: NetError,
        /// How long retries go on before the upload stops.
        limit: std::time::Duration,
    },
    /// The code and certificate were taken: the upload is set up.
    Enrolled {
        server: String,
    },
    Finished(Box<UploadReport>),
    Failed(UploadError),
}

impl Status {
    /// The line under the bar, and whether it is good news.
    pub fn message(&self, lang: Lang) -> Option<(String, bool)> {
        Some(match self {
            Status::Idle => return None,
            Status::NotStarted(why) => (why.clone(), false),
            Status::Starting => (t!(lang, "upload.starting").into(), true),
            Status::Sent { accepted, rejected } => (
                t!(lang, "sync.bar", accepted = accepted, rejected = rejected),
                true,
            ),
            Status::Retrying {
                attempt,
                secs,
                reason,
                limit,
            } => (
                format!(
                    "{} — {}",
                    reason.message(lang),
                    t!(
                        lang,
                        "upload.retrying",
                        attempt = attempt,
                        secs = secs,
                        limit = duration_words(*limit, lang)
                    )
                ),
                false,
            ),
            Status::Enrolled { server } => (t!(lang, "upload.enrolled", server = server), true),
            Status::Finished(report) => (report.summary(lang), report.rejected.is_empty()),
            Status::Failed(e) => (e.message(lang), false),
        })
    }
}

#[derive(Debug, Default)]
pub struct UploadState {
    pub queued: u64,
    pub server: Option<String>,
    pub configured: bool,
    pub running: bool,
    pub done: u64,
    pub total: u64,
    pub rate: f64,
    /// Outcome lines (member number and answer), newest last.
    pub log: Vec<(String, bool)>,
    pub status: Status,
    /// The enrolment code and the office's certificate being typed (open when the upload is
    /// not set up, and on `e`).
    pub entry: Option<EnrolEntry>,
    /// The office's certificate file the laptop has now, for the entry.
    pub ca: Option<String>,
    /// Set to stop the running upload between batches.
    cancel: Arc<AtomicBool>,
    started: Option<Instant>,
    /// Records this laptop holds for its paired laptops (sent after its own).
    pub held: u64,
    /// What sending the held records came to, and whether all went.
    pub relay: Option<(String, bool)>,
    /// "导出到U盘": the file's path being typed.
    pub backup: Option<TextInput>,
    /// Where the path starts (a USB stick under /media if one is there, else the home
    /// folder), set by the app.
    pub backup_default: String,
    /// The backup file being written.
    pub backing_up: bool,
    /// What the backup came to.
    pub backup_result: Option<(String, bool)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Start,
    Enrol,
    Backup,
    Cancel,
    Back,
}

const KEYS: &[Binding<Cmd>] = &[
    Binding::new(Cmd::Start, &[ENTER])
        .also(&[Key::char('r'), Key::char('u')])
        .hint("keys.upload.start")
        .help("help.upload.start"),
    Binding::new(Cmd::Enrol, &[Key::char('e')])
        .hint("keys.upload.enrol")
        .help("help.upload.enrol"),
    Binding::new(Cmd::Backup, &[Key::char('b')])
        .hint("keys.upload.backup")
        .help("help.upload.backup"),
    Binding::new(Cmd::Cancel, &[Key::char('c')])
        .also(&[ESC])
        .hint("keys.upload.cancel")
        .help("help.upload.cancel"),
    Binding::new(Cmd::Back, &[ESC])
        .hint("keys.back_plain")
        .help("help.back_to_form"),
];

/// F1 on the upload screen (the entry's keys while it is open).
pub fn help(u: &UploadState, lang: Lang) -> Vec<String> {
    match &u.entry {
        Some(_) => super::enrol::help(lang),
        None => keys::help_lines(KEYS, lang),
    }
}

impl UploadState {
    fn enabled(&self, cmd: Cmd) -> bool {
        match cmd {
            Cmd::Start => self.configured && !self.running,
            Cmd::Enrol => !self.running,
            Cmd::Backup => !self.running && !self.backing_up,
            Cmd::Cancel => self.running,
            Cmd::Back => !self.running,
        }
    }

    /// Opens the entry for the enrolment code (the certificate file as it is now).
    pub fn open_entry(&mut self) {
        if self.entry.is_none() && !self.running {
            self.entry = Some(EnrolEntry::new(self.ca.as_deref()));
        }
    }

    /// The code and certificate were stored: the entry closes.
    pub fn enrolled(&mut self, server: String) {
        self.entry = None;
        self.status = Status::Enrolled { server };
    }

    /// What the app found wrong with what was typed.
    pub fn enrol_refused(&mut self, field: EntryField, message: String) {
        if let Some(e) = &mut self.entry {
            e.refused(field, message);
        }
    }

    /// A paste: into the backup's path, or the entry; a pasted code opens it.
    pub fn paste(&mut self, s: &str) {
        if let Some(p) = &mut self.backup {
            p.insert_str(s.trim());
            return;
        }
        if self.entry.is_none() && s.trim_start().starts_with(crate::card::enrol::PREFIX) {
            self.open_entry();
        }
        if let Some(e) = &mut self.entry {
            e.paste(s);
        }
    }

    /// The held records went (or not) after the upload.
    pub fn relayed(&mut self, text: String, ok: bool) {
        self.relay = Some((text, ok));
    }

    /// The backup file is being written.
    pub fn backing_up(&mut self) {
        self.backup = None;
        self.backing_up = true;
        self.backup_result = None;
    }

    /// The backup file was written, or why not.
    pub fn backup_finished(&mut self, text: String, ok: bool) {
        self.backing_up = false;
        self.backup_result = Some((text, ok));
    }

    /// The path of the backup file being typed: Enter writes it, Esc gives up.
    fn backup_key(&mut self, key: KeyEvent) -> Outcome {
        let Some(path) = &mut self.backup else {
            return Outcome::Pass;
        };
        if ENTER.matches(&key) {
            let text = path.value();
            if text.trim().is_empty() {
                return Outcome::Taken;
            }
            return Outcome::Do(Action::Backup(std::path::PathBuf::from(text.trim())));
        }
        if ESC.matches(&key) {
            self.backup = None;
            return Outcome::Taken;
        }
        match path.handle_key(&key) {
            Edit::Pass => Outcome::Pass,
            Edit::Taken | Edit::Changed => Outcome::Taken,
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        if self.backup.is_some() {
            return self.backup_key(key);
        }
        if let Some(entry) = &mut self.entry {
            return match entry.handle_key(key) {
                // Esc leaves the entry; with nothing set up there is nothing else here
                Outcome::Pass if ESC.matches(&key) && self.configured => {
                    self.entry = None;
                    Outcome::Taken
                }
                Outcome::Pass if ESC.matches(&key) => Outcome::Do(Action::Goto(Screen::Form)),
                other => other,
            };
        }
        match keys::find(KEYS, &key, |c| self.enabled(*c)) {
            Some(Cmd::Start) => Outcome::Do(Action::StartUpload {
                plain_http_ok: false,
            }),
            Some(Cmd::Enrol) => {
                self.open_entry();
                Outcome::Taken
            }
            Some(Cmd::Backup) => {
                let mut path = TextInput::new(400);
                path.set(&self.backup_default);
                self.backup = Some(path);
                self.backup_result = None;
                Outcome::Taken
            }
            Some(Cmd::Cancel) => {
                self.cancel();
                Outcome::Taken
            }
            Some(Cmd::Back) => Outcome::Do(Action::Goto(Screen::Form)),
            None => Outcome::Pass,
        }
    }

    /// Stops a running upload between batches (a batch in flight is answered next time as
    /// already there).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// An upload of `total` records starts: the flag the worker watches for a cancel.
    pub fn begin(&mut self, total: u64) -> Arc<AtomicBool> {
        self.cancel = Arc::new(AtomicBool::new(false));
        self.running = true;
        self.done = 0;
        self.total = total;
        self.rate = 0.0;
        self.log.clear();
        self.relay = None;
        self.status = Status::Starting;
        self.started = Some(Instant::now());
        Arc::clone(&self.cancel)
    }

    /// The upload could not start: why, in words.
    pub fn not_started(&mut self, why: String) {
        self.status = Status::NotStarted(why);
    }

    pub fn progress(&mut self, p: Progress) {
        match p {
            Progress::Started { queued } => self.total = queued,
            Progress::Batch {
                done,
                total,
                accepted,
                rejected,
                remaining,
            } => {
                self.done = done;
                self.total = total;
                // the queue as acknowledged so far, not as it was at the start
                self.queued = remaining;
                let secs = self
                    .started
                    .map_or(0.0, |t| t.elapsed().as_secs_f64())
                    .max(0.001);
                self.rate = done as f64 / secs;
                self.status = Status::Sent { accepted, rejected };
            }
            Progress::Retrying {
                attempt,
                wait,
                reason,
                limit,
                ..
            } => {
                self.status = Status::Retrying {
                    attempt,
                    secs: wait.as_secs_f64().ceil() as u64,
                    reason,
                    limit,
                }
            }
        }
    }

    pub fn finished(&mut self, r: Result<Box<UploadReport>, UploadError>) {
        self.running = false;
        match r {
            Ok(report) => {
                for rej in &report.rejected {
                    self.log.push((
                        format!("{}  {}", rej.member_no, display_safe(&rej.reason)),
                        false,
                    ));
                }
                self.status = Status::Finished(report);
            }
            Err(e) => self.status = Status::Failed(e),
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, lang: Lang) {
        let buf = frame.buffer_mut();
        let mut y = area.y;
        buf.set_stringn(
            area.x,
            y,
            t!(lang, "upload.title"),
            area.width as usize,
            theme::title(),
        );
        y += 1;
        buf.set_stringn(
            area.x,
            y,
            t!(lang, "upload.queued", n = self.queued),
            area.width as usize,
            theme::label(),
        );
        y += 1;
        if self.held > 0 {
            let text = t!(lang, "upload.held", n = self.held);
            y += wrapped(
                buf,
                Rect::new(area.x, y, area.width, 2),
                &text,
                theme::label(),
            );
        }
        let server = match &self.server {
            Some(s) => t!(lang, "upload.server", server = s),
            None => t!(lang, "upload.not_configured").into(),
        };
        // how to configure it is the one thing to read here: wrapped, never cut
        let style = if self.configured {
            theme::dim()
        } else {
            theme::warn()
        };
        y += wrapped(buf, Rect::new(area.x, y, area.width, 3), &server, style) + 1;
        let bottom = area.y + area.height.saturating_sub(1);
        if let Some(entry) = &self.entry {
            let room = Rect::new(area.x, y, area.width, bottom.saturating_sub(y));
            let (rows, cursor) = entry.render(buf, room, lang);
            y += rows + 1;
            if let Some((m, ok)) = self.status.message(lang) {
                let style = if ok { theme::ok() } else { theme::error() };
                let rows = 5.min(bottom.saturating_sub(y));
                wrapped(buf, Rect::new(area.x, y, area.width, rows), &m, style);
            }
            let keys = format!(
                "{}   {}",
                super::enrol::hint_line(lang),
                keys::hint_line(KEYS, lang, "   ", |c| *c == Cmd::Back)
            );
            buf.set_stringn(area.x, bottom, keys, area.width as usize, theme::hint());
            frame.set_cursor_position(cursor);
            return;
        }
        if self.running || self.total > 0 {
            let ratio = if self.total == 0 {
                0.0
            } else {
                (self.done as f64 / self.total as f64).clamp(0.0, 1.0)
            };
            Gauge::default()
                .gauge_style(theme::ok())
                .ratio(ratio)
                .label(t!(
                    lang,
                    "upload.progress",
                    done = self.done,
                    total = self.total,
                    rate = format!("{:.0}", self.rate)
                ))
                .render(Rect::new(area.x, y, area.width.min(70), 1), buf);
            y += 2;
        }
        if let Some((m, ok)) = self.status.message(lang) {
            let style = if ok { theme::ok() } else { theme::error() };
            // a refusal says what to do: room for all of it
            y += wrapped(buf, Rect::new(area.x, y, area.width, 5), &m, style) + 1;
        }
        if let Some((m, ok)) = &self.relay {
            let style = if *ok { theme::ok() } else { theme::error() };
            y += wrapped(buf, Rect::new(area.x, y, area.width, 3), m, style) + 1;
        }
        let mut cursor = None;
        if let Some(path) = &self.backup {
            let intro = t!(lang, "upload.backup_intro");
            y += wrapped(
                buf,
                Rect::new(area.x, y, area.width, 3),
                intro,
                theme::label(),
            );
            let label = t!(lang, "upload.backup_path");
            let w = unicode_width::UnicodeWidthStr::width(label) as u16 + 1;
            buf.set_stringn(
                area.x,
                y,
                label,
                area.width as usize,
                theme::focused_label(),
            );
            let field = Rect::new(area.x + w, y, area.width.saturating_sub(w), 1);
            cursor = Some(path.render(field, buf, theme::focused_input(), false));
            y += 2;
        } else if self.backing_up {
            let text = t!(lang, "upload.backup_writing");
            y += wrapped(
                buf,
                Rect::new(area.x, y, area.width, 2),
                text,
                theme::label(),
            ) + 1;
        }
        if let Some((m, ok)) = &self.backup_result {
            let style = if *ok { theme::ok() } else { theme::error() };
            y += wrapped(buf, Rect::new(area.x, y, area.width, 3), m, style) + 1;
        }
        let room = bottom.saturating_sub(y) as usize;
        for (line, ok) in self.log.iter().rev().take(room).rev() {
            let style: Style = if *ok { theme::label() } else { theme::warn() };
            let width = area.width as usize;
            buf.set_stringn(area.x, y, fit(line, width), width, style);
            y += 1;
        }
        // what each key does when it can: all of them once configured (the file needs no
        // office; not while the upload runs)
        let keys = if self.backup.is_some() {
            t!(lang, "upload.backup_keys").to_string()
        } else {
            let line = |cancel: bool| {
                keys::hint_line(KEYS, lang, "   ", |c| match c {
                    Cmd::Backup => self.enabled(*c),
                    Cmd::Cancel => self.configured && cancel,
                    _ => self.configured || matches!(c, Cmd::Back | Cmd::Enrol),
                })
            };
            // where all do not fit, the cancel is said while it can be used only
            let all = line(true);
            if crate::tui::widgets::fits(&all, area.width as usize) || self.running {
                all
            } else {
                line(false)
            }
        };
        buf.set_stringn(
            area.x,
            bottom,
            fit(&keys, area.width as usize),
            area.width as usize,
            theme::hint(),
        );
        if let Some(c) = cursor {
            frame.set_cursor_position(c);
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

    #[test]
    fn esc_cancels_while_running_and_goes_back_otherwise() {
        let mut u = UploadState {
            configured: true,
            ..Default::default()
        };
        assert!(matches!(
            u.handle_key(key(KeyCode::Esc)),
            Outcome::Do(Action::Goto(Screen::Form))
        ));
        let flag = u.begin(10);
        assert!(matches!(u.handle_key(key(KeyCode::Enter)), Outcome::Pass));
        assert!(matches!(u.handle_key(key(KeyCode::Esc)), Outcome::Taken));
        assert!(flag.load(Ordering::Relaxed), "the worker sees the cancel");
    }

    #[test]
    fn progress_becomes_the_screens_state() {
        let mut u = UploadState::default();
        u.begin(0);
        u.progress(Progress::Started { queued: 60 });
        u.progress(Progress::Batch {
            done: 30,
            total: 60,
            accepted: 29,
            rejected: 1,
            remaining: 30,
        });
        assert_eq!((u.done, u.total, u.queued), (30, 60, 30));
        assert!(u.rate > 0.0);
        let (m, ok) = u.status.message(Lang::En).unwrap();
        assert!(ok && m.contains("29"), "{m}");
        u.finished(Err(UploadError::Cancelled));
        assert!(!u.running);
        assert!(!u.status.message(Lang::Zh).unwrap().1);
    }

    #[test]
    fn the_entry_opens_on_e_or_a_pasted_code_and_esc_leaves_it() {
        let mut u = UploadState {
            configured: true,
            ..Default::default()
        };
        assert!(matches!(
            u.handle_key(key(KeyCode::Char('e'))),
            Outcome::Taken
        ));
        assert!(u.entry.is_some());
        // typing goes into the code, not to the upload's own keys
        assert!(matches!(
            u.handle_key(key(KeyCode::Char('u'))),
            Outcome::Taken
        ));
        assert_eq!(u.entry.as_ref().unwrap().code.value(), "u");
        assert!(matches!(u.handle_key(key(KeyCode::Esc)), Outcome::Taken));
        assert!(
            u.entry.is_none(),
            "Esc closes the entry when set up already"
        );
        u.paste("  BOOTH1-xyz");
        assert_eq!(u.entry.as_ref().unwrap().code.value(), "  BOOTH1-xyz");
        // not set up: Esc leaves the screen (there is nothing else here)
        let mut u = UploadState::default();
        u.open_entry();
        assert!(matches!(
            u.handle_key(key(KeyCode::Esc)),
            Outcome::Do(Action::Goto(Screen::Form))
        ));
        // Enter on an upload that is set up asks to start, without the plain-HTTP yes
        let mut u = UploadState {
            configured: true,
            ..Default::default()
        };
        assert!(matches!(
            u.handle_key(key(KeyCode::Enter)),
            Outcome::Do(Action::StartUpload {
                plain_http_ok: false
            })
        ));
    }

    #[test]
    fn the_lists_strings_exist() {
        keys::assert_strings_exist(KEYS);
    }
}
