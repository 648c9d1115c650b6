//! The application: which screen is shown, the open data folder, and `update` — the one place
//! where what a screen asked for is done (store writes, workers, navigation).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use zeroize::Zeroizing;

use super::event::AppEvent;
use super::screens::dashboard::DashboardState;
use super::screens::done::{DoneAction, DoneState, PrintStatus};
use super::screens::form::{FormAction, FormState};
use super::screens::records::{RecordsAction, RecordsState};
use super::screens::setup::{SetupAction, SetupData, SetupState};
use super::screens::unlock::UnlockState;
use super::screens::upload::{UploadAction, UploadState};
use super::workers::{SearchReq, WorkerMsg, Workers};
use crate::card::MemberNo;
use crate::card::qr::QrMatrix;
use crate::config::Config;
use crate::i18n::Lang;
use crate::member::text::display_safe;
use crate::printer::{PrintJob, PrintOutcome};
use crate::store::stats::StatusCounts;
use crate::store::{self, RegisterError, Store, StoredMember};
use crate::t;

/// Where "now" comes from: the wall clock, or a fixed instant in tests and snapshots.
pub type Clock = Arc<dyn Fn() -> DateTime<FixedOffset> + Send + Sync>;

/// How long a status message stays.
const MESSAGE_TTL: Duration = Duration::from_secs(8);

pub fn wall_clock() -> Clock {
    Arc::new(store::now)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Setup,
    Unlock,
    Form,
    Done,
    Records,
    Dashboard,
    Upload,
    Locked,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    Help,
    ConfirmQuit,
    ConfirmClear,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Info,
    Good,
    Bad,
}

/// The unlocked data folder and what runs beside it.
pub struct Session {
    pub store: Store,
    pub config: Config,
    pub workers: Workers,
}

pub struct App {
    pub lang: Lang,
    /// `--lang` / `BOOTH_LANG` given: this session keeps it over the saved setting.
    pub lang_pinned: bool,
    /// The terminal is below the layout's minimum: the screen asks to enlarge it, so keys
    /// would go into a form nobody can see; only Ctrl-Q is taken (and quits at once).
    pub too_small: bool,
    pub data_dir: PathBuf,
    pub screen: Screen,
    /// The screen to return to after the idle lock.
    pub before_lock: Screen,
    pub overlay: Option<Overlay>,
    pub session: Option<Session>,
    pub setup: SetupState,
    pub unlock: UnlockState,
    pub form: FormState,
    /// A new registration put aside while a stored record is edited.
    pub stashed_form: Option<FormState>,
    pub done: Option<DoneState>,
    pub records: RecordsState,
    pub dashboard: DashboardState,
    pub upload: UploadState,
    pub counts: StatusCounts,
    pub message: Option<(String, Tone)>,
    /// When the message appeared: it goes after a while.
    pub message_at: Instant,
    pub last_input: Instant,
    pub last_figures: Instant,
    pub quit: bool,
    /// Set to stop a running upload between batches.
    upload_cancel: Arc<std::sync::atomic::AtomicBool>,
    upload_started: Instant,
    events: Sender<AppEvent>,
    clock: Clock,
}

impl App {
    pub fn new(data_dir: PathBuf, lang: Lang, events: Sender<AppEvent>, clock: Clock) -> App {
        let initialised = store::is_initialised(&data_dir);
        let today = clock().date_naive();
        App {
            lang,
            lang_pinned: false,
            too_small: false,
            data_dir,
            screen: if initialised {
                Screen::Unlock
            } else {
                Screen::Setup
            },
            before_lock: Screen::Form,
            overlay: None,
            session: None,
            setup: SetupState::new(lang),
            unlock: UnlockState::new(false),
            form: FormState::new(today),
            stashed_form: None,
            done: None,
            records: RecordsState::default(),
            dashboard: DashboardState::default(),
            upload: UploadState::default(),
            counts: StatusCounts::default(),
            message: None,
            message_at: Instant::now(),
            last_input: Instant::now(),
            last_figures: Instant::now(),
            quit: false,
            upload_cancel: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            upload_started: Instant::now(),
            events,
            clock,
        }
    }

    pub fn now(&self) -> DateTime<FixedOffset> {
        (self.clock)()
    }

    fn say(&mut self, text: impl Into<String>, tone: Tone) {
        self.message = Some((text.into(), tone));
        self.message_at = Instant::now();
    }

    // ------------------------------------------------------------ events

    pub fn handle_event(&mut self, ev: AppEvent) {
        match ev {
            AppEvent::Input(Event::Resize(w, h)) => self.resized(w, h),
            AppEvent::Input(Event::Key(k)) if self.too_small => {
                let ctrl_q = k.code == KeyCode::Char('q')
                    && k.modifiers.contains(KeyModifiers::CONTROL)
                    && k.kind != KeyEventKind::Release;
                // at once: a question could not be seen; the draft is already stored
                if ctrl_q {
                    self.quit = true;
                }
            }
            AppEvent::Input(Event::Key(k)) if k.kind != KeyEventKind::Release => self.handle_key(k),
            AppEvent::Input(Event::Paste(_)) if self.too_small => {}
            AppEvent::Input(Event::Paste(s)) => self.handle_paste(&s),
            AppEvent::Input(_) => {}
            AppEvent::Worker(msg) => self.handle_worker(msg),
        }
    }

    /// The terminal's size, at start and on every resize.
    pub fn resized(&mut self, width: u16, height: u16) {
        self.too_small = width < super::view::MIN_WIDTH || height < super::view::MIN_HEIGHT;
    }

    /// Called about four times a second: the idle lock and the dashboard refresh.
    pub fn tick(&mut self) {
        if self.message.is_some() && self.message_at.elapsed() >= MESSAGE_TTL {
            self.message = None;
        }
        let Some(session) = &self.session else { return };
        let minutes = session.config.idle_lock_minutes;
        let lockable = !matches!(self.screen, Screen::Setup | Screen::Unlock | Screen::Locked);
        if lockable
            && minutes > 0
            && self.last_input.elapsed() >= Duration::from_secs(u64::from(minutes) * 60)
        {
            self.lock();
        }
        if self.screen == Screen::Dashboard
            && self.last_figures.elapsed() >= Duration::from_secs(10)
        {
            self.request_figures();
        }
    }

    fn handle_paste(&mut self, s: &str) {
        self.last_input = Instant::now();
        match self.screen {
            Screen::Setup => self.setup.paste(s),
            Screen::Form if self.overlay.is_none() => {
                if let Some(a) = self.form.paste(s) {
                    self.form_action(a);
                }
            }
            Screen::Records => {
                if let Some(a) = self.records.paste(s) {
                    self.records_action(a);
                }
            }
            // never paste into a passphrase by accident from a clipboard full of records
            _ => {}
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) {
        self.last_input = Instant::now();
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);

        if let Some(o) = self.overlay {
            self.overlay_key(o, key);
            return;
        }
        match self.screen {
            Screen::Setup | Screen::Unlock | Screen::Locked => {
                let locked = self.screen == Screen::Locked;
                match key.code {
                    // locked: the draft is already stored, encrypted; the question shows no
                    // personal data
                    KeyCode::Char('q') if ctrl && locked => self.request_quit(),
                    KeyCode::Char('q') if ctrl => self.quit = true,
                    KeyCode::F(12) => self.toggle_language(),
                    _ if self.screen == Screen::Setup => {
                        if let Some(a) = self.setup.handle_key(key) {
                            self.setup_action(a);
                        }
                    }
                    _ => match self.unlock.handle_key(key) {
                        Some(p) if locked => self.unlock_idle(p),
                        Some(p) => self.unlock_with(p),
                        None => {}
                    },
                }
                return;
            }
            _ => {}
        }

        // Keys that work on every screen of an open session.
        match key.code {
            KeyCode::F(1) => return self.overlay = Some(Overlay::Help),
            KeyCode::F(2) => return self.goto(Screen::Form),
            KeyCode::F(3) => return self.goto(Screen::Records),
            KeyCode::F(4) => return self.goto(Screen::Dashboard),
            KeyCode::F(5) => return self.goto(Screen::Upload),
            KeyCode::F(6) if key.modifiers.contains(KeyModifiers::SHIFT) => {
                return self.undo_tally();
            }
            KeyCode::F(6) => return self.tally(),
            KeyCode::F(10) => return self.lock(),
            KeyCode::F(12) => return self.toggle_language(),
            KeyCode::Char('q') if ctrl => return self.request_quit(),
            _ => {}
        }

        match self.screen {
            Screen::Form => {
                if ctrl && key.code == KeyCode::Char('x') {
                    if !self.form.is_blank() {
                        self.overlay = Some(Overlay::ConfirmClear);
                    }
                    return;
                }
                if key.code == KeyCode::F(8) {
                    if let Some(e) = self.form.existing.clone() {
                        self.reprint(&e.member_no);
                    }
                    return;
                }
                if let Some(a) = self.form.handle_key(key) {
                    self.form_action(a);
                }
            }
            Screen::Done => {
                let Some(done) = &mut self.done else { return };
                match done.handle_key(key) {
                    Some(DoneAction::Next) => self.next_member(),
                    Some(DoneAction::Reprint) => {
                        let no = done.member_no.clone();
                        self.reprint(&no);
                    }
                    None => {}
                }
            }
            Screen::Records => {
                if key.code == KeyCode::Esc
                    && self.records.detail.is_none()
                    && self.records.void_reason.is_none()
                {
                    return self.goto(Screen::Form);
                }
                if let Some(a) = self.records.handle_key(key) {
                    self.records_action(a);
                }
            }
            Screen::Dashboard if key.code == KeyCode::Esc => {
                self.goto(Screen::Form);
            }
            Screen::Upload => {
                if key.code == KeyCode::Esc && !self.upload.running {
                    return self.goto(Screen::Form);
                }
                if self.upload.running
                    && matches!(key.code, KeyCode::Char('c' | 'C') | KeyCode::Esc)
                {
                    self.upload_cancel
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    return;
                }
                if let Some(UploadAction::Start) = self.upload.handle_key(key) {
                    self.start_upload();
                }
            }
            _ => {}
        }
    }

    fn overlay_key(&mut self, o: Overlay, key: KeyEvent) {
        match o {
            Overlay::Help => self.overlay = None,
            Overlay::ConfirmQuit => match key.code {
                KeyCode::Char('y' | 'Y' | '是') => self.quit = true,
                _ => self.overlay = None,
            },
            Overlay::ConfirmClear => {
                if let KeyCode::Char('y' | 'Y' | '是') = key.code {
                    self.blank_form();
                    if let Some(s) = &self.session {
                        s.workers.clear_draft();
                    }
                }
                self.overlay = None;
            }
        }
    }

    fn handle_worker(&mut self, msg: WorkerMsg) {
        match msg {
            WorkerMsg::DraftFailed { disk_full } => {
                let text = if disk_full {
                    t!(self.lang, "store.disk_full")
                } else {
                    t!(self.lang, "form.draft_failed")
                };
                self.say(text, Tone::Bad);
            }
            WorkerMsg::Printed { member_no, outcome } => {
                let message = outcome.message(self.lang);
                let ok = matches!(
                    outcome,
                    PrintOutcome::Printed { .. } | PrintOutcome::Saved { error: None, .. }
                );
                if let Some(d) = &mut self.done
                    && d.member_no.as_str() == member_no
                {
                    d.print = PrintStatus::Done {
                        ok,
                        message: message.clone(),
                    };
                }
                if self.screen != Screen::Done {
                    self.say(message, if ok { Tone::Good } else { Tone::Bad });
                }
            }
            WorkerMsg::Search {
                seq,
                first_page,
                rows,
            } => match rows {
                Ok(rows) => self.records.results(seq, first_page, rows),
                Err(_) => {
                    self.records.loading = false;
                    self.say(t!(self.lang, "records.search_failed"), Tone::Bad);
                }
            },
            WorkerMsg::Figures(f) => match f {
                Ok(f) => self.dashboard.figures = Some(*f),
                Err(_) => self.say(t!(self.lang, "dashboard.failed"), Tone::Bad),
            },
            WorkerMsg::UploadProgress(p) => self.upload_progress(p),
            WorkerMsg::UploadFinished(r) => self.upload_finished(r),
        }
    }

    // ------------------------------------------------------------ actions

    fn setup_action(&mut self, a: SetupAction) {
        match a {
            SetupAction::LanguageChanged(l) => self.lang = l,
            SetupAction::Create(data) => self.create_folder(data),
        }
    }

    fn create_folder(&mut self, data: SetupData) {
        let store = match Store::create(&self.data_dir, data.passphrase.as_bytes(), data.lang) {
            Ok(s) => s,
            Err(e) => {
                self.setup.error = Some(e.message(self.lang));
                return;
            }
        };
        let mut store = store;
        let mut settings = vec![
            ("union", data.union.clone()),
            ("place", data.place.clone()),
            ("operator", data.operator.clone()),
            ("language", data.lang.code().to_string()),
        ];
        if let Some(p) = &data.printer {
            settings.push(("printer", p.clone()));
        }
        for (k, v) in settings {
            if let Err(e) = store.set_config(k, &v, self.lang) {
                self.setup.error = Some(e.message(self.lang));
                return;
            }
        }
        tracing::info!(
            key_id = store.device_key().key_id(),
            "set up from the terminal UI"
        );
        self.open_session(store);
    }

    fn unlock_with(&mut self, pass: Zeroizing<String>) {
        match Store::open(&self.data_dir, pass.as_bytes()) {
            Ok(store) => self.open_session(store),
            Err(e) => {
                tracing::warn!(error = %e, "unlock failed");
                self.unlock.error = Some(e.message(self.lang));
            }
        }
    }

    fn open_session(&mut self, store: Store) {
        // The folder is ours now: remove what an export killed mid-write left behind.
        crate::export::partial::remove_stale(store.dir());
        let config = match store.config() {
            Ok(c) => c,
            Err(e) => {
                self.unlock.error = Some(e.message(self.lang));
                return;
            }
        };
        let workers = match Workers::start(&store, self.events.clone()) {
            Ok(w) => w,
            Err(e) => {
                self.unlock.error = Some(e.message(self.lang));
                return;
            }
        };
        if !self.lang_pinned {
            self.lang = config.language;
        }
        let today = self.now().date_naive();
        self.form = FormState::new(today);
        match store.load_draft() {
            Ok(Some((input, at))) => {
                self.form = FormState::from_input(&input, today);
                self.say(
                    t!(
                        self.lang,
                        "form.draft_restored",
                        at = at.format("%m-%d %H:%M")
                    ),
                    Tone::Info,
                );
            }
            Ok(None) => {}
            Err(e) => self.say(e.message(self.lang), Tone::Bad),
        }
        self.session = Some(Session {
            store,
            config,
            workers,
        });
        self.unlock = UnlockState::new(true);
        self.screen = Screen::Form;
        self.load_employers();
        self.purge();
        self.refresh_counts();
        self.look_up_person();
    }

    fn unlock_idle(&mut self, pass: Zeroizing<String>) {
        let Some(s) = &self.session else { return };
        match s.store.check_passphrase(pass.as_bytes()) {
            Ok(true) => {
                self.screen = self.before_lock;
                self.unlock.error = None;
                self.last_input = Instant::now();
            }
            Ok(false) => self.unlock.error = Some(t!(self.lang, "store.wrong_passphrase").into()),
            Err(e) => self.unlock.error = Some(e.message(self.lang)),
        }
    }

    fn lock(&mut self) {
        if self.session.is_none() || self.screen == Screen::Locked {
            return;
        }
        self.before_lock = self.screen;
        self.screen = Screen::Locked;
        self.overlay = None;
        self.unlock = UnlockState::new(true);
        tracing::info!("screen locked");
    }

    fn request_quit(&mut self) {
        if self.form.is_blank()
            || self.form.editing.is_some()
                && self.stashed_form.as_ref().is_none_or(|f| f.is_blank())
        {
            self.quit = true;
        } else {
            self.overlay = Some(Overlay::ConfirmQuit);
        }
    }

    /// Leaving: the draft worker finishes writing before the process ends.
    pub fn shutdown(&mut self) {
        // an upload stops between batches; one in flight is answered next time
        // (`already_there`), so it is not waited for
        self.upload_cancel
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(s) = &mut self.session {
            s.workers.finish();
        }
    }

    fn toggle_language(&mut self) {
        self.lang = self.lang.toggled();
        self.setup.lang = self.lang;
        if let Some(s) = &mut self.session {
            match s.store.set_config("language", self.lang.code(), self.lang) {
                Ok(c) => s.config = c,
                Err(e) => {
                    let m = e.message(self.lang);
                    self.say(m, Tone::Bad)
                }
            }
        }
    }

    fn goto(&mut self, screen: Screen) {
        if self.screen == Screen::Done && screen == Screen::Form {
            return self.next_member();
        }
        // Leaving an edit abandons it (its title says so) and puts back the registration
        // that was in progress; otherwise a second edit would stash the first in its place.
        if self.screen == Screen::Form && screen != Screen::Form && self.form.editing.is_some() {
            self.restore_stashed_form();
        }
        self.screen = screen;
        match screen {
            Screen::Records => {
                if let Some(s) = &self.session {
                    let req = self.records.search();
                    if let RecordsAction::Search { query, before, seq } = req {
                        s.workers.search(SearchReq { query, before, seq });
                    }
                }
            }
            Screen::Dashboard => self.request_figures(),
            Screen::Upload => self.refresh_upload(),
            _ => {}
        }
    }

    fn request_figures(&mut self) {
        self.last_figures = Instant::now();
        if let Some(s) = &self.session {
            s.workers.figures(self.now().date_naive());
        }
    }

    fn refresh_counts(&mut self) {
        let today = self.now().date_naive();
        if let Some(s) = &self.session
            && let Ok(c) = s.store.status_counts(today)
        {
            self.counts = c;
        }
    }

    fn refresh_upload(&mut self) {
        self.refresh_counts();
        let Some(s) = &self.session else { return };
        self.upload.queued = self.counts.queued;
        self.upload.server = s.config.server.clone();
        self.upload.configured = s.config.server.is_some() && s.config.token.is_some();
    }

    fn start_upload(&mut self) {
        let Some(s) = &self.session else { return };
        let Some(settings) = crate::sync::UploadSettings::from_config(&s.config, self.lang) else {
            self.upload.message = Some((t!(self.lang, "upload.not_configured").into(), false));
            return;
        };
        let conn = match s.store.second_connection() {
            Ok(c) => c,
            Err(e) => {
                self.upload.message = Some((e.diagnose(&self.data_dir).message(self.lang), false));
                return;
            }
        };
        self.upload_cancel
            .store(false, std::sync::atomic::Ordering::Relaxed);
        self.upload.running = true;
        self.upload.done = 0;
        self.upload.total = self.counts.queued;
        self.upload.rate = 0.0;
        self.upload.log.clear();
        self.upload.message = Some((t!(self.lang, "upload.starting").into(), true));
        self.upload_started = Instant::now();
        s.workers
            .upload(conn, settings, Arc::clone(&self.upload_cancel));
    }

    fn upload_progress(&mut self, p: crate::sync::Progress) {
        use crate::sync::Progress;
        match p {
            Progress::Started { queued } => self.upload.total = queued,
            Progress::Batch {
                done,
                total,
                accepted,
                rejected,
            } => {
                self.upload.done = done;
                self.upload.total = total;
                let secs = self.upload_started.elapsed().as_secs_f64().max(0.001);
                self.upload.rate = done as f64 / secs;
                self.upload.message = Some((
                    t!(
                        self.lang,
                        "sync.bar",
                        accepted = accepted,
                        rejected = rejected
                    ),
                    true,
                ));
            }
            Progress::Retrying {
                attempt,
                wait,
                reason,
            } => {
                self.upload.message = Some((
                    format!(
                        "{} — {}",
                        t!(
                            self.lang,
                            "sync.retrying",
                            attempt = attempt,
                            secs = wait.as_secs()
                        ),
                        reason
                    ),
                    false,
                ));
            }
        }
    }

    fn upload_finished(
        &mut self,
        r: Result<Box<crate::sync::UploadReport>, crate::sync::UploadError>,
    ) {
        self.upload.running = false;
        match r {
            Ok(report) => {
                for rej in &report.rejected {
                    self.upload.log.push((
                        format!("{}  {}", rej.member_no, display_safe(&rej.reason)),
                        false,
                    ));
                }
                let text = report.summary(self.lang);
                self.upload.message = Some((text, report.rejected.is_empty()));
            }
            Err(e) => self.upload.message = Some((e.message(self.lang), false)),
        }
        self.purge();
        self.refresh_upload();
    }

    /// Personal data of records the office acknowledged leaves the laptop after the
    /// retention period: at unlock and after each upload.
    fn purge(&mut self) {
        let now = self.now();
        let Some(s) = &mut self.session else { return };
        match s.store.purge(s.config.retention_days, &now) {
            Ok(r) if r.purged > 0 => {
                let text = t!(self.lang, "sync.purged", purged = r.purged);
                self.say(text, Tone::Info);
            }
            Ok(_) => {}
            Err(e) => {
                let text = e.diagnose(&self.data_dir).message(self.lang);
                self.say(text, Tone::Bad);
            }
        }
    }

    fn load_employers(&mut self) {
        let today = self.now().date_naive();
        if let Some(s) = &self.session {
            self.form.employers = s.store.recent_employers(today, 8).unwrap_or_default();
        }
    }

    fn tally(&mut self) {
        let now = self.now();
        let Some(s) = &mut self.session else { return };
        match s.store.add_consultation(&now) {
            Ok(n) => {
                self.refresh_counts();
                self.say(t!(self.lang, "status.tallied", n = n), Tone::Good);
            }
            Err(e) => self.say(e.message(self.lang), Tone::Bad),
        }
    }

    fn undo_tally(&mut self) {
        let today = self.now().date_naive();
        let Some(s) = &mut self.session else { return };
        match s.store.remove_last_consultation(today) {
            Ok(true) => {
                self.refresh_counts();
                self.say(t!(self.lang, "status.untallied"), Tone::Info);
            }
            Ok(false) => {}
            Err(e) => self.say(e.message(self.lang), Tone::Bad),
        }
    }

    fn form_action(&mut self, a: FormAction) {
        match a {
            FormAction::Changed => {
                if self.form.editing.is_none()
                    && let Some(s) = &self.session
                {
                    s.workers.save_draft(self.form.to_input(), self.now());
                }
                self.look_up_person();
            }
            FormAction::Submit => self.submit(),
        }
    }

    /// Once the ID number is valid: is this person registered here already? One indexed
    /// lookup per person, not per keystroke.
    fn look_up_person(&mut self) {
        let Some(doc) = self.form.document() else {
            self.form.existing = None;
            return;
        };
        if let Some(s) = &self.session {
            self.form.existing = s.store.find_person(&doc).ok().flatten();
        }
    }

    fn submit(&mut self) {
        let now = self.now();
        self.form.today = now.date_naive();
        let v = match self.form.validated() {
            Ok(v) => v,
            Err(errors) => {
                self.form.errors = errors;
                self.form.show_all_errors = true;
                self.form.focus_first_error();
                self.say(t!(self.lang, "form.fix_errors"), Tone::Bad);
                return;
            }
        };
        let Some(s) = &mut self.session else { return };
        let result = match self.form.editing.clone() {
            Some(no) => s.store.update(&no, &v, &now),
            None => s.store.register(&v, &s.config.event(), &now),
        };
        match result {
            Ok(m) => {
                if self.form.editing.is_some() {
                    self.finish_edit(m);
                } else {
                    s.workers.clear_draft();
                    self.show_done(m, v.warnings.iter().map(|w| w.message(self.lang)).collect());
                    // The record is stored and the done screen keeps its own copy of what it
                    // shows, so the form starts the next member now: whichever way the
                    // operator leaves (Enter, F3 then F2, Ctrl-Q), the submitted person is
                    // not found in it again.
                    self.blank_form();
                }
                self.refresh_counts();
            }
            Err(RegisterError::Duplicate(e)) => {
                self.form.existing = Some(*e);
                self.say(t!(self.lang, "form.already_registered"), Tone::Bad);
            }
            Err(RegisterError::Store(e)) => {
                // Disk full and the like: the form and its draft stay; nothing is lost.
                tracing::warn!(error = %e, "registration not stored");
                let text = e.diagnose(&self.data_dir).message(self.lang);
                self.say(text, Tone::Bad);
            }
        }
    }

    fn show_done(&mut self, m: StoredMember, notes: Vec<String>) {
        let Some(s) = &self.session else { return };
        let payload = m.payload(s.config.union_short.as_deref(), s.store.device_key());
        let qr = payload.as_ref().ok().and_then(|p| QrMatrix::encode(p).ok());
        let (Some(qr), Ok(_)) = (qr, payload) else {
            self.say(t!(self.lang, "done.no_qr"), Tone::Bad);
            return;
        };
        self.done = Some(DoneState {
            member_no: m.member_no.clone(),
            name: m
                .member
                .as_ref()
                .map(|x| display_safe(&x.name).into_owned())
                .unwrap_or_default(),
            date: t!(self.lang, "slip.date", date = m.event_date),
            qr,
            print: PrintStatus::Printing,
            notes,
        });
        self.screen = Screen::Done;
        self.message = None;
        self.send_print(&m);
    }

    fn send_print(&mut self, m: &StoredMember) {
        let Some(s) = &self.session else { return };
        let uri = s.config.printer.clone();
        match PrintJob::for_member(&s.store, &s.config, m, uri) {
            Ok(job) => s.workers.print(job),
            Err(e) => {
                let msg = e.message(self.lang);
                if let Some(d) = &mut self.done {
                    d.print = PrintStatus::Done {
                        ok: false,
                        message: msg.clone(),
                    };
                }
                self.say(msg, Tone::Bad);
            }
        }
    }

    fn reprint(&mut self, no: &MemberNo) {
        let Some(s) = &self.session else { return };
        match s.store.get(no) {
            Ok(Some(m)) => {
                if let Some(d) = &mut self.done
                    && d.member_no == *no
                {
                    d.print = PrintStatus::Printing;
                }
                self.say(t!(self.lang, "done.reprinting", member_no = no), Tone::Info);
                self.send_print(&m);
            }
            Ok(None) => self.say(t!(self.lang, "cli.no_member", member_no = no), Tone::Bad),
            Err(e) => self.say(e.message(self.lang), Tone::Bad),
        }
    }

    fn next_member(&mut self) {
        self.done = None;
        self.screen = Screen::Form;
        self.message = None;
    }

    /// An empty form, cursor in name, with the day's employers to suggest.
    fn blank_form(&mut self) {
        self.form = FormState::new(self.now().date_naive());
        self.load_employers();
    }

    fn records_action(&mut self, a: RecordsAction) {
        let now = self.now();
        let today = now.date_naive();
        let Some(s) = &mut self.session else { return };
        match a {
            RecordsAction::Search { query, before, seq } => {
                s.workers.search(SearchReq { query, before, seq })
            }
            RecordsAction::Open(no) => match s.store.get(&no) {
                Ok(m) => self.records.detail = m,
                Err(e) => self.say(e.message(self.lang), Tone::Bad),
            },
            RecordsAction::Edit(no) => match s.store.get(&no) {
                Ok(Some(m)) => {
                    if let Some(member) = &m.member {
                        let mut f = FormState::from_input(&member.to_input(), today);
                        f.editing = Some(no);
                        f.employers = self.form.employers.clone();
                        self.stashed_form = Some(std::mem::replace(&mut self.form, f));
                        self.screen = Screen::Form;
                    }
                }
                Ok(None) => {}
                Err(e) => self.say(e.message(self.lang), Tone::Bad),
            },
            RecordsAction::Void(no, reason) => match s.store.void(&no, &reason, &now) {
                Ok(()) => {
                    self.records.detail = s.store.get(&no).ok().flatten();
                    self.refresh_counts();
                    // a voided record's employer is often the mistake: no longer suggested
                    self.load_employers();
                    self.say(t!(self.lang, "cli.voided", member_no = no), Tone::Good);
                }
                Err(e) => self.say(e.message(self.lang), Tone::Bad),
            },
            RecordsAction::Reprint(no) => self.reprint(&no),
        }
    }

    /// After an edit, saved or abandoned: the registration that was in progress comes back.
    fn restore_stashed_form(&mut self) {
        self.form = self
            .stashed_form
            .take()
            .unwrap_or_else(|| FormState::new(self.now().date_naive()));
    }

    fn finish_edit(&mut self, m: StoredMember) {
        self.restore_stashed_form();
        self.records.detail = Some(m.clone());
        self.screen = Screen::Records;
        self.say(
            t!(self.lang, "records.saved", member_no = m.member_no),
            Tone::Good,
        );
    }

    /// For the e2e tests and the benchmark: the store, if unlocked.
    pub fn store(&self) -> Option<&Store> {
        self.session.as_ref().map(|s| &s.store)
    }
}
