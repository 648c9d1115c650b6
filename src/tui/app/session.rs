//! The data folder and the session: first-run setup, unlocking at start and after the idle
//! lock, the language, quitting.

use std::time::Instant;

use zeroize::Zeroizing;

use super::{App, Overlay, Screen, Session, Tone};
use crate::store::Store;
use crate::t;
use crate::tui::screens::form::{self, FormState};
use crate::tui::screens::setup::{SETUP_KEYS, SetupData};
use crate::tui::screens::unlock::UnlockState;
use crate::tui::workers::Workers;

impl App {
    pub(super) fn create_folder(&mut self, data: SetupData) {
        let mut store = match Store::create(
            &self.data_dir,
            data.passphrase.as_bytes(),
            data.config.language,
        ) {
            Ok(s) => s,
            Err(e) => {
                self.setup.error = Some(e.message(self.lang));
                return;
            }
        };
        for k in SETUP_KEYS {
            let v = data.config.get(k).unwrap_or_default();
            if let Err(e) = store.set_config(k, &v, self.lang) {
                self.setup.error = Some(e.message(self.lang));
                return;
            }
        }
        // the office's code and certificate, when given: as `booth enroll` stores them
        if let Some(e) = &data.enrol
            && let Err(err) = store.enroll(e, None, self.lang)
        {
            self.setup.error = Some(err.message(self.lang));
            return;
        }
        if let Some(ca) = &data.ca
            && let Err(err) = store.set_config("ca", &ca.display().to_string(), self.lang)
        {
            self.setup.error = Some(err.message(self.lang));
            return;
        }
        tracing::info!(
            key_id = store.device_key().key_id(),
            enrolled = data.enrol.is_some(),
            "set up from the terminal UI"
        );
        self.open_session(store);
    }

    pub(super) fn unlock_with(&mut self, pass: Zeroizing<String>) {
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
                self.form.focus_first_incomplete();
                let text = t!(
                    self.lang,
                    "form.draft_restored",
                    at = at.format("%m-%d %H:%M"),
                    key = form::clear_key()
                );
                self.say(text, Tone::Info);
            }
            Ok(None) => {}
            Err(e) => self.say(e.message(self.lang), Tone::Bad),
        }
        self.session = Some(Session {
            store,
            config,
            workers,
            host: Default::default(),
        });
        self.unlock = UnlockState::new(true);
        self.screen = Screen::Form;
        self.load_employers();
        self.purge();
        self.refresh_counts();
        self.look_up_person();
        // F7 shows the last member's code again, also after a restart
        self.restore_last_card();
        // the folder is held: other commands on it come through the socket
        self.start_host();
    }

    pub(super) fn unlock_idle(&mut self, pass: Zeroizing<String>) {
        let Some(s) = &self.session else { return };
        match s.store.check_passphrase(pass.as_bytes()) {
            Ok(true) => {
                s.host.set_locked(false);
                self.screen = self.before_lock;
                self.unlock.error = None;
                self.last_input = Instant::now();
            }
            Ok(false) => self.unlock.error = Some(t!(self.lang, "store.wrong_passphrase").into()),
            Err(e) => self.unlock.error = Some(e.message(self.lang)),
        }
    }

    pub(super) fn lock(&mut self) {
        if self.session.is_none() || self.screen == Screen::Locked {
            return;
        }
        if let Some(s) = &self.session {
            s.host.set_locked(true);
        }
        self.before_lock = self.screen;
        self.screen = Screen::Locked;
        self.overlay = None;
        self.needs = None;
        self.unlock = UnlockState::new(true);
        tracing::info!("screen locked");
    }

    /// Quits at once when nothing typed would be left behind; asks otherwise.
    pub(super) fn request_quit(&mut self) {
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
        self.upload.cancel();
        if let Some(s) = &mut self.session {
            // no more commands from other processes; the socket file goes
            s.host = Default::default();
            s.workers.finish();
        }
    }

    pub(super) fn toggle_language(&mut self) {
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
}
