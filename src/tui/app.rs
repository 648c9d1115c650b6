//! The application: which screen is shown, the open data folder, and [`App::update`] — the one
//! place where what a screen asked for is done. Keys go to the current screen first; what it
//! does not take goes to the app's own keys ([`keys::SESSION`]). Worker results go to the
//! screen they belong to.
//!
//! What the actions do lives beside this file: `session` (setup, unlock, lock, quit),
//! `registration` (the form, the slip, records), `day` (tally, figures, upload), `tools`
//! (import a roster, the settings), `host` (the local socket and the peer service),
//! `peers` (the peers screen's requests).

mod day;
mod host;
mod peers;
mod registration;
mod session;
mod tools;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use crossterm::event::{Event, KeyEvent, KeyEventKind};

use super::action::{Action, Notice};
use super::event::AppEvent;
use super::keys::{self, Binding, Key, OUTSIDE, SESSION};
use super::screens::Outcome;
use super::screens::dashboard::DashboardState;
use super::screens::done::DoneState;
use super::screens::form::FormState;
use super::screens::import::ImportState;
use super::screens::needs::{NeedsOutcome, NeedsPicker};
use super::screens::peers::PeersState;
use super::screens::records::RecordsState;
use super::screens::settings::SettingsState;
use super::screens::setup::SetupState;
use super::screens::unlock::UnlockState;
use super::screens::upload::UploadState;
use super::workers::{WorkerMsg, Workers};
use crate::config::Config;
use crate::i18n::Lang;
use crate::printer::PrintOutcome;
use crate::store::stats::StatusCounts;
use crate::store::{self, Store};
use crate::t;

pub use super::screens::overlay::Overlay;
pub use host::{Host, settings_from_env};

/// Where "now" comes from: the wall clock, or a fixed instant in tests and snapshots.
pub type Clock = Arc<dyn Fn() -> DateTime<FixedOffset> + Send + Sync>;

/// How long a status message stays.
const MESSAGE_TTL: Duration = Duration::from_secs(8);

/// A second Y this soon after the one that submitted is the key bouncing (or pressed twice),
/// not the first letter of the next worker's name.
pub const BOUNCE: Duration = Duration::from_millis(500);

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
    /// A roster from a file (F9).
    Import,
    /// The booth's settings (F11).
    Settings,
    /// The laptops of the booth (Shift-F5).
    Peers,
    Locked,
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
    /// The local socket and the peer service (when this app hosts them).
    pub host: host::Host,
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
    /// Open after F6: the needs of the consultation just counted.
    pub needs: Option<NeedsPicker>,
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
    pub import: ImportState,
    /// The roster read, until its import starts.
    import_roster: Option<crate::roster::Roster>,
    /// The import under way.
    import_run: Option<crate::tui::import::ImportRun>,
    pub settings: SettingsState,
    pub peers: PeersState,
    /// When the peers screen was last filled from the service.
    last_peers: Instant,
    pub counts: StatusCounts,
    pub message: Option<(String, Tone)>,
    /// When the message appeared: it goes after a while.
    pub message_at: Instant,
    pub last_input: Instant,
    /// When the last registration was submitted (a bounced Y right after is taken).
    pub submitted_at: Option<Instant>,
    /// Characters typed on the done screen while the form holds a registration in progress:
    /// refused (said), never appended to it.
    refused_on_done: String,
    pub last_figures: Instant,
    /// When the form's person was last looked up among the paired laptops' registrations.
    last_peer_check: Instant,
    /// When F3's conflicts were last read (they come as the paired laptops meet again).
    last_conflicts: Instant,
    pub quit: bool,
    /// Host the local socket and the peer service once the folder is open, run so (the
    /// real booth; `None` in headless tests that do not want them).
    pub host_settings: Option<crate::peers::Settings>,
    events: Sender<AppEvent>,
    clock: Clock,
}

/// The one key a terminal too small to show anything takes.
const TOO_SMALL: &[Binding<Action>] = &[Binding::new(Action::QuitNow, &[Key::ctrl('q')])];

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
            needs: None,
            session: None,
            setup: SetupState::new(lang),
            unlock: UnlockState::new(false),
            form: FormState::new(today),
            stashed_form: None,
            done: None,
            records: RecordsState::default(),
            dashboard: DashboardState::default(),
            upload: UploadState::default(),
            import: ImportState::default(),
            import_roster: None,
            import_run: None,
            settings: SettingsState::new(&Config::default()),
            peers: PeersState::new(),
            last_peers: Instant::now(),
            counts: StatusCounts::default(),
            message: None,
            message_at: Instant::now(),
            last_input: Instant::now(),
            submitted_at: None,
            refused_on_done: String::new(),
            last_figures: Instant::now(),
            last_peer_check: Instant::now(),
            last_conflicts: Instant::now(),
            quit: false,
            host_settings: None,
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

    /// The app's own keys here: all of them in an open session, fewer before it and locked.
    pub fn app_keys(&self) -> &'static [Binding<Action>] {
        if self.session.is_some() && self.screen != Screen::Locked {
            SESSION
        } else {
            OUTSIDE
        }
    }

    // ------------------------------------------------------------ events

    pub fn handle_event(&mut self, ev: AppEvent) {
        match ev {
            AppEvent::Input(Event::Resize(w, h)) => self.resized(w, h),
            AppEvent::Input(Event::Key(k)) if k.kind == KeyEventKind::Release => {}
            // at once: a question could not be seen; the draft is already stored
            AppEvent::Input(Event::Key(k)) if self.too_small => {
                if let Some(a) = keys::find(TOO_SMALL, &k, |_| true) {
                    self.update(a);
                }
            }
            AppEvent::Input(Event::Key(k)) => self.handle_key(k),
            AppEvent::Input(Event::Paste(_)) if self.too_small => {}
            AppEvent::Input(Event::Paste(s)) => self.handle_paste(&s),
            AppEvent::Input(_) => {}
            AppEvent::Worker(msg) => self.handle_worker(msg),
            AppEvent::Local(job) => self.local_job(job),
        }
    }

    /// The terminal's size, at start and on every resize.
    pub fn resized(&mut self, width: u16, height: u16) {
        self.too_small = width < super::view::MIN_WIDTH || height < super::view::MIN_HEIGHT;
    }

    /// Called about four times a second: messages expire, the idle lock, the dashboard.
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
            self.update(Action::Lock);
        }
        if self.screen == Screen::Dashboard
            && self.last_figures.elapsed() >= Duration::from_secs(10)
        {
            self.request_figures();
        }
        self.recheck_peer_person();
        self.watch_peers();
        if self.screen == Screen::Records && self.last_conflicts.elapsed() >= Duration::from_secs(2)
        {
            self.load_conflicts();
        }
    }

    fn handle_paste(&mut self, s: &str) {
        self.last_input = Instant::now();
        self.needs = None;
        let action = match self.screen {
            Screen::Setup => {
                self.setup.paste(s);
                None
            }
            Screen::Form if self.overlay.is_none() => self.form.paste(s),
            // the done screen has no text of its own: a paste is the next member's, unless a
            // registration is in progress in the form
            Screen::Done if self.overlay.is_none() => {
                if self.next_member_starts_here() {
                    self.screen = Screen::Form;
                    self.form.paste(s)
                } else {
                    self.refuse_on_done(s);
                    None
                }
            }
            Screen::Records => self.records.paste(s),
            Screen::Upload => {
                self.upload.paste(s);
                None
            }
            Screen::Import => {
                self.import.paste(s);
                None
            }
            Screen::Settings => {
                self.settings.paste(s);
                None
            }
            Screen::Peers => {
                self.peers.paste(s);
                None
            }
            // never paste into a passphrase by accident from a clipboard full of records
            _ => None,
        };
        if let Some(a) = action {
            self.update(a);
        }
    }

    /// A key: to the box on top if there is one, else to the screen; what the screen leaves
    /// goes to the app's own keys.
    pub fn handle_key(&mut self, key: KeyEvent) {
        self.last_input = Instant::now();
        if let Some(o) = self.overlay {
            let a = o.handle_key(&key);
            return self.update(a);
        }
        if let Some(picker) = &mut self.needs {
            match picker.handle_key(&key) {
                NeedsOutcome::Changed(codes) => return self.tally_needs(&codes),
                NeedsOutcome::Close => {
                    self.needs = None;
                    return;
                }
                NeedsOutcome::CloseAndPass => self.needs = None,
            }
        }
        // the Y that submitted, bounced: not the next worker's name
        if self.screen == Screen::Done
            && self.submitted_at.is_some_and(|t| t.elapsed() < BOUNCE)
            && super::screens::form::consent_submits(&key)
        {
            return;
        }
        if self.screen != Screen::Done {
            self.refused_on_done.clear();
        }
        let outcome = match self.screen {
            Screen::Setup => self.setup.handle_key(key),
            Screen::Unlock | Screen::Locked => self.unlock.handle_key(key),
            Screen::Form => match (self.form.handle_key(key), &self.done) {
                // what the form leaves may be for the last card, while a new member is typed
                (Outcome::Pass, Some(d)) if self.form.editing.is_none() => {
                    d.handle_key_beside_form(&key)
                }
                (outcome, _) => outcome,
            },
            Screen::Done => match &mut self.done {
                Some(d) => d.handle_key(key),
                None => Outcome::Pass,
            },
            Screen::Records => self.records.handle_key(key),
            Screen::Dashboard => self.dashboard.handle_key(key),
            Screen::Upload => self.upload.handle_key(key),
            Screen::Import => self.import.handle_key(key),
            Screen::Settings => self.settings.handle_key(key),
            Screen::Peers => self.peers.handle_key(key),
        };
        // what the form has to say about that key (text refused, a doubtful value left)
        if let Some(n) = self.form.notice.take() {
            let text = n.message(self.lang);
            self.say(text, Tone::Bad);
        }
        let action = match outcome {
            Outcome::Do(a) => Some(a),
            Outcome::Taken => None,
            Outcome::Pass => match keys::find(self.app_keys(), &key, |_| true) {
                Some(a) => Some(a),
                // The done screen has no text of its own: what is typed there (a fast
                // typist, a card reader) is the next member's, in order — unless the form
                // holds a registration in progress (F7 showed the last card over it).
                None if self.screen == Screen::Done => {
                    if !self.next_member_starts_here() {
                        if let crossterm::event::KeyCode::Char(c) = key.code {
                            self.refuse_on_done(&c.to_string());
                        }
                        return;
                    }
                    self.screen = Screen::Form;
                    return self.handle_key(key);
                }
                None => None,
            },
        };
        if let Some(a) = action {
            self.update(a);
        }
    }

    /// Does text typed on the done screen start the next registration? Only on an empty form:
    /// typing never appends to a registration in progress.
    fn next_member_starts_here(&self) -> bool {
        self.form.is_blank() && self.form.editing.is_none()
    }

    /// Text typed on the done screen over a registration in progress: refused, and said.
    fn refuse_on_done(&mut self, text: &str) {
        self.refused_on_done.push_str(text);
        let back = keys::label(SESSION, |a| matches!(a, Action::Goto(Screen::Form)));
        let text = t!(
            self.lang,
            "done.draft_waiting",
            text = crate::member::text::display_safe(&self.refused_on_done),
            key = back
        );
        self.say(text, Tone::Bad);
    }

    /// Worker results, each to the screen it belongs to.
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
                // a character no font has is a warning of its own line, not part of the news
                let notes = outcome.notes(self.lang);
                let mut message = outcome.message(self.lang);
                for n in &notes {
                    if let Some(rest) = message.strip_suffix(n.as_str()) {
                        message = rest.trim_end().to_string();
                    }
                }
                let ok = matches!(
                    outcome,
                    PrintOutcome::Printed { .. } | PrintOutcome::Saved { error: None, .. }
                );
                if let Some(d) = &mut self.done
                    && d.member_no.as_str() == member_no
                {
                    d.printed(&member_no, ok, &message);
                    for n in &notes {
                        if !d.notes.contains(n) {
                            d.notes.push(n.clone());
                        }
                    }
                }
                if self.screen != Screen::Done {
                    let tone = match (ok, notes.is_empty()) {
                        (true, true) => Tone::Good,
                        _ => Tone::Bad,
                    };
                    let text = std::iter::once(message).chain(notes).collect::<Vec<_>>();
                    self.say(text.join(" "), tone);
                }
            }
            WorkerMsg::Search {
                seq,
                first_page,
                rows,
            } => match rows {
                Ok((rows, imported)) => self.records.results(seq, first_page, rows, imported),
                Err(_) => {
                    self.records.search_failed();
                    self.say(t!(self.lang, "records.search_failed"), Tone::Bad);
                }
            },
            WorkerMsg::Figures(f) => match f {
                Ok(f) => {
                    self.dashboard.imported = f.imported;
                    self.dashboard.figures = Some(f.figures);
                }
                Err(_) => self.say(t!(self.lang, "dashboard.failed"), Tone::Bad),
            },
            WorkerMsg::UploadProgress(p) => {
                // the status bar's queue goes down batch by batch too
                if let crate::sync::Progress::Batch { remaining, .. } = &p {
                    self.counts.queued = *remaining;
                }
                self.upload.progress(p)
            }
            WorkerMsg::Cards(p) => {
                if let Some(c) = &mut self.records.cards {
                    c.progress(p);
                }
            }
            WorkerMsg::CardsFinished(done) => {
                if let Some(c) = &mut self.records.cards {
                    c.finished(done);
                }
            }
            WorkerMsg::RosterRead { path, roster } => self.roster_read(&path, roster),
            WorkerMsg::ImportStep => self.import_step(),
            WorkerMsg::TestPrinted { message, ok } => self.settings.tested(message, ok),
            WorkerMsg::LocalRan => self.local_ran(),
            WorkerMsg::Relayed { text, ok } => {
                self.upload.relayed(text, ok);
                self.refresh_upload();
            }
            WorkerMsg::BackupDone { text, ok } => self.upload.backup_finished(text, ok),
            WorkerMsg::PeersDone { text, ok } => {
                self.peers.finished(text, ok);
                self.refresh_peers();
            }
            WorkerMsg::UploadFinished(r) => {
                self.upload.finished(r);
                self.purge();
                self.refresh_upload();
            }
        }
    }

    // ------------------------------------------------------------ actions

    /// Does what a screen or a key of the app asked for.
    pub fn update(&mut self, action: Action) {
        match action {
            Action::Help => self.overlay = Some(Overlay::Help),
            Action::Goto(screen) => self.goto(screen),
            Action::Tally => self.tally(),
            Action::UndoTally => self.undo_tally(),
            Action::Lock => self.lock(),
            Action::ToggleLanguage => self.toggle_language(),
            Action::Quit => self.request_quit(),
            Action::QuitNow => self.quit = true,
            Action::CloseOverlay => self.overlay = None,
            Action::SetupLanguage(lang) => self.lang = lang,
            Action::CreateFolder(data) => self.create_folder(*data),
            Action::Unlock(pass) if self.screen == Screen::Locked => self.unlock_idle(pass),
            Action::Unlock(pass) => self.unlock_with(pass),
            Action::FormChanged => self.form_changed(),
            Action::Submit => self.submit(),
            Action::AskClearForm => self.overlay = Some(Overlay::ConfirmClear),
            Action::ClearForm => self.clear_form(),
            Action::Reprint(no) => self.reprint(&no),
            Action::NextMember => self.next_member(),
            Action::ShowLastCard => {
                if self.done.is_some() {
                    self.screen = Screen::Done;
                }
            }
            Action::ShowRecordCard(no) => self.show_record_card(&no),
            Action::Search(req) => {
                if let Some(s) = &self.session {
                    s.workers.search(req);
                }
            }
            Action::OpenRecord(no) => self.open_record(&no),
            Action::EditRecord(no) => self.edit_record(no),
            Action::VoidRecord(no, reason) => self.void_record(&no, &reason),
            Action::OpenCards(filter) => self.open_cards(filter),
            Action::PrintCards(job) => self.print_cards(*job),
            Action::StartUpload { plain_http_ok } => {
                self.overlay = None;
                self.start_upload(plain_http_ok)
            }
            Action::Enroll(input) => self.enroll(*input),
            Action::CompletePath(text) => self.complete_path(&text),
            Action::ReadRoster(path) => self.read_roster(path),
            Action::StartImport => self.start_import(),
            Action::StopImport => {
                if let Some(run) = &mut self.import_run {
                    run.stop();
                }
            }
            Action::SaveSetting { key, value, then } => self.save_setting(key, &value, then),
            Action::TestPrint(printer) => self.test_print(&printer),
            Action::Peers(a) => self.peers_action(a),
            Action::Backup(path) => self.backup(path),
            Action::Tell(notice) => {
                let text = match notice {
                    Notice::VoidNeedsReason => t!(self.lang, "records.void_needs_reason"),
                    Notice::CardsNeedFilter => t!(self.lang, "records.cards_need_filter"),
                };
                self.say(text, Tone::Bad);
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
            Screen::Records if self.session.is_some() => {
                // always the list with its search, never the record last opened
                self.records.show_list();
                self.load_conflicts();
                let req = self.records.search();
                self.update(Action::Search(req));
            }
            Screen::Dashboard => self.request_figures(),
            Screen::Upload => self.refresh_upload(),
            Screen::Import => self.open_import(),
            Screen::Settings => {
                if let Some(s) = &self.session {
                    self.settings = SettingsState::new(&s.config);
                }
            }
            Screen::Peers => self.refresh_peers(),
            _ => {}
        }
    }

    /// F1's text: the keys of what is on screen, then the app's.
    pub fn help_lines(&self) -> Vec<String> {
        use super::screens::{dashboard, done, upload};
        let lang = self.lang;
        let mut lines = match self.screen {
            Screen::Form => {
                let mut lines = self.form.help(lang);
                if self.done.is_some() && self.form.editing.is_none() {
                    lines.extend(done::help_beside_form(lang));
                }
                lines
            }
            Screen::Done => done::help(lang),
            Screen::Records => self.records.help(lang),
            Screen::Dashboard => dashboard::help(lang),
            Screen::Upload => upload::help(&self.upload, lang),
            Screen::Import => super::screens::import::help(lang),
            Screen::Settings => super::screens::settings::help(lang),
            Screen::Peers => super::screens::peers::help(&self.peers, lang),
            Screen::Setup | Screen::Unlock | Screen::Locked => Vec::new(),
        };
        lines.push(String::new());
        lines.extend(keys::help_lines(self.app_keys(), lang));
        lines.push(String::new());
        lines.push(t!(lang, "help.close").into());
        lines
    }

    /// What the box on top says: the plain-HTTP question names the host, the rest is the help.
    pub fn overlay_text(&self) -> Vec<String> {
        let server = self
            .session
            .as_ref()
            .and_then(|s| s.config.server.as_deref());
        match (self.overlay, server.and_then(crate::sync::plain_http_host)) {
            (Some(Overlay::ConfirmPlainHttp), Some(host)) => {
                super::screens::overlay::plain_http_question(&host, self.lang)
            }
            _ => self.help_lines(),
        }
    }

    /// For the e2e tests and the benchmark: the store, if unlocked.
    pub fn store(&self) -> Option<&Store> {
        self.session.as_ref().map(|s| &s.store)
    }
}
