//! The booth day around the registrations: the consultation tally, the day's figures, the
//! upload, and the retention purge after it.

use std::time::Instant;

use super::{Action, App, Tone};
use crate::t;
use crate::tui::keys::{self, SESSION};
use crate::tui::screens::needs::NeedsPicker;

impl App {
    pub(super) fn tally(&mut self) {
        let now = self.now();
        let Some(s) = &mut self.session else { return };
        match s.store.add_consultation(&now) {
            Ok(n) => {
                self.refresh_counts();
                let undo = keys::label(SESSION, |a| matches!(a, Action::UndoTally));
                self.say(
                    t!(self.lang, "status.tallied", n = n, key = undo),
                    Tone::Good,
                );
                // the needs' keys may follow; anything else goes on as before
                self.needs = Some(NeedsPicker::default());
            }
            Err(e) => self.say(e.message(self.lang), Tone::Bad),
        }
    }

    /// The needs marked after F6, onto the consultation just counted.
    pub(super) fn tally_needs(&mut self, codes: &[String]) {
        let today = self.now().date_naive();
        let Some(s) = &mut self.session else { return };
        if let Err(e) = s.store.set_last_consultation_needs(today, codes) {
            self.needs = None;
            self.say(e.message(self.lang), Tone::Bad);
        }
    }

    pub(super) fn undo_tally(&mut self) {
        let today = self.now().date_naive();
        self.needs = None;
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

    pub(super) fn request_figures(&mut self) {
        self.last_figures = Instant::now();
        if let Some(s) = &self.session {
            s.workers.figures(self.now().date_naive());
        }
    }

    pub(super) fn refresh_counts(&mut self) {
        let today = self.now().date_naive();
        if let Some(s) = &self.session
            && let Ok(c) = s.store.status_counts(today)
        {
            self.counts = c;
        }
    }

    pub(super) fn refresh_upload(&mut self) {
        self.refresh_counts();
        let Some(s) = &self.session else { return };
        self.upload.queued = self.counts.queued;
        self.upload.server = s.config.server.clone();
        self.upload.configured = s.config.server.is_some() && s.config.token.is_some();
    }

    pub(super) fn start_upload(&mut self) {
        let Some(s) = &self.session else { return };
        let Some(settings) = crate::sync::UploadSettings::from_config(&s.config, self.lang) else {
            let why = t!(self.lang, "upload.not_configured").into();
            return self.upload.not_started(why);
        };
        let conn = match s.store.second_connection() {
            Ok(c) => c,
            Err(e) => {
                let why = e.diagnose(&self.data_dir).message(self.lang);
                return self.upload.not_started(why);
            }
        };
        let cancel = self.upload.begin(self.counts.queued);
        s.workers.upload(conn, settings, cancel);
    }

    /// Personal data of records the office acknowledged leaves the laptop after the
    /// retention period: at unlock and after each upload.
    pub(super) fn purge(&mut self) {
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
}
