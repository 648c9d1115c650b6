//! The booth day around the registrations: the consultation tally, the day's figures, the
//! upload, and the retention purge after it.

use std::time::Instant;

use super::{Action, App, Overlay, Tone};
use crate::sync::enrol::{check_ca, check_code};
use crate::t;
use crate::tui::action::EnrolInput;
use crate::tui::keys::{self, SESSION};
use crate::tui::screens::enrol::EntryField;
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
            && let Ok(c) = s.store.booth_counts(today)
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
        self.upload.ca = s.config.ca.as_ref().map(|p| p.display().to_string());
        self.upload.backup_default = backup_path(&self.now().format("%Y%m%d-%H%M").to_string());
        // what this laptop holds for its paired laptops goes with its upload
        if let Ok(conn) = s.store.second_connection() {
            self.upload.held = crate::peers::relay::held_total(&conn).unwrap_or(0);
        }
        // nothing else to do here before the code is entered
        if !self.upload.configured {
            self.upload.open_entry();
        }
    }

    /// `plain_http_ok`: the operator answered yes to the question about an unencrypted
    /// address; without it such an address is asked about first.
    pub(super) fn start_upload(&mut self, plain_http_ok: bool) {
        let Some(s) = &self.session else { return };
        let Ok(mut settings) = crate::sync::UploadSettings::from_config(&s.config, self.lang)
        else {
            let why = t!(self.lang, "upload.not_configured").into();
            return self.upload.not_started(why);
        };
        // the rule is sync's (it refuses without the yes); the question is the screen's
        if crate::sync::plain_http_host(&settings.server).is_some() && !plain_http_ok {
            self.overlay = Some(Overlay::ConfirmPlainHttp);
            return;
        }
        settings.allow_http = plain_http_ok;
        let conn = match s.store.second_connection() {
            Ok(c) => c,
            Err(e) => {
                let why = e.diagnose(&self.data_dir).message(self.lang);
                return self.upload.not_started(why);
            }
        };
        let cancel = self.upload.begin(self.counts.queued);
        s.workers.upload(conn, settings, cancel, self.lang);
    }

    /// "导出到U盘": the unacknowledged queue, own and held, sealed to the office, into `path`
    /// (`~` the home folder); a folder that is not there is said before anything is written.
    pub(super) fn backup(&mut self, path: std::path::PathBuf) {
        let lang = self.lang;
        let path = match path.strip_prefix("~") {
            Ok(rest) => std::env::var_os("HOME")
                .map_or(path.clone(), |h| std::path::PathBuf::from(h).join(rest)),
            Err(_) => path,
        };
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        if !path.is_absolute() || folder.is_some_and(|f| !f.is_dir()) || path.is_dir() {
            let why = t!(lang, "cards.bad_folder", path = path.display());
            return self.upload.backup_finished(why, false);
        }
        let Some(s) = &self.session else { return };
        match s.store.second_connection() {
            Ok(conn) => {
                self.upload.backing_up();
                s.workers.backup(conn, path, lang);
            }
            Err(e) => {
                let why = e.diagnose(&self.data_dir).message(lang);
                self.upload.backup_finished(why, false);
            }
        }
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

impl App {
    /// The enrolment code and the office's certificate file from the upload screen: checked,
    /// then stored in the encrypted settings as `booth enroll` and `booth config set ca` do.
    pub(super) fn enroll(&mut self, input: EnrolInput) {
        let lang = self.lang;
        let Some(s) = &mut self.session else { return };
        let have_server = s.config.server.is_some();
        let code = match check_code(&input.code, have_server, lang) {
            Ok(Some(e)) => Some(e),
            // only the certificate changes: fine once a code was entered before
            Ok(None) if s.config.token.is_some() => None,
            Ok(None) => {
                let why = t!(lang, "enrol.need_code").into();
                return self.upload.enrol_refused(EntryField::Code, why);
            }
            Err(why) => return self.upload.enrol_refused(EntryField::Code, why),
        };
        let ca = match check_ca(&input.ca, lang) {
            Ok(ca) => ca,
            Err(why) => return self.upload.enrol_refused(EntryField::Ca, why),
        };
        if let Some(e) = &code
            && let Err(err) = s.store.enroll(e, None, lang)
        {
            return self
                .upload
                .enrol_refused(EntryField::Code, err.message(lang));
        }
        let ca_text = ca.map(|p| p.display().to_string()).unwrap_or_default();
        match s.store.set_config("ca", &ca_text, lang) {
            Ok(c) => s.config = c,
            Err(err) => {
                return self.upload.enrol_refused(EntryField::Ca, err.message(lang));
            }
        }
        tracing::info!(
            device = code.as_ref().and_then(|e| e.device.as_deref()),
            "upload set up from the terminal UI"
        );
        let server = s.config.server.clone().unwrap_or_default();
        self.refresh_upload();
        self.upload.enrolled(server);
    }
}

impl App {
    /// "Print these cards" for the records list's day or employer: the choice of PDF or
    /// printer, with a file name in the home folder to start from.
    pub(super) fn open_cards(&mut self, filter: crate::store::members::ListFilter) {
        let Some(s) = &self.session else { return };
        let name = match &filter {
            crate::store::members::ListFilter::Date(d) => format!("booth-cards-{d}.pdf"),
            crate::store::members::ListFilter::Employer(_) => {
                format!("booth-cards-{}.pdf", self.now().format("%Y-%m-%d-%H%M"))
            }
        };
        let folder = std::env::var_os("HOME")
            .map(std::path::PathBuf::from)
            .filter(|h| h.is_dir())
            .unwrap_or_else(|| self.data_dir.clone());
        let printer = s.config.printer.as_ref().map(|p| p.to_string());
        self.records.cards = Some(crate::tui::screens::cards::CardsState::new(
            filter,
            folder.join(name),
            printer,
        ));
    }

    pub(super) fn print_cards(&mut self, job: crate::tui::action::CardsJob) {
        use crate::tui::action::CardsOutput;
        let lang = self.lang;
        let Some(s) = &self.session else { return };
        let Some(cards) = &mut self.records.cards else {
            return;
        };
        if let CardsOutput::Pdf(path) = &job.output {
            // said before the run: a folder that is not there
            let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
            if !path.is_absolute() || folder.is_some_and(|f| !f.is_dir()) {
                let why = t!(lang, "cards.bad_folder", path = path.display());
                return cards.refused(why);
            }
        }
        let conn = match s.store.second_connection() {
            Ok(c) => c,
            Err(e) => {
                let why = e.diagnose(&self.data_dir).message(lang);
                return cards.refused(why);
            }
        };
        // the office's revocations, read here once (the bundle is on this connection)
        let revoked = Box::new(crate::slip::selection::office_revocations(&s.store));
        let (cancel, go_on) = cards.begin();
        s.workers
            .cards(conn, s.config.clone(), job, revoked, cancel, go_on, lang);
    }
}

/// Where "导出到U盘" starts: a USB stick mounted under `/media/<user>/` or `/media/` if one
/// is there, else the home folder.
fn backup_path(stamp: &str) -> String {
    let name = format!("booth-backup-{stamp}.json");
    let first_dir = |dir: std::path::PathBuf| -> Option<std::path::PathBuf> {
        let mut dirs: Vec<_> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        dirs.into_iter().next()
    };
    let user = std::env::var("USER").unwrap_or_default();
    let stick = (!user.is_empty())
        .then(|| first_dir(std::path::Path::new("/media").join(&user)))
        .flatten()
        .or_else(|| {
            first_dir("/media".into()).filter(|d| d.file_name().is_none_or(|n| *n != *user))
        });
    let folder = stick
        .or_else(|| std::env::var_os("HOME").map(std::path::PathBuf::from))
        .unwrap_or_default();
    folder.join(name).display().to_string()
}
