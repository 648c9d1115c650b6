//! Registering: the form's draft and look-up, submit, the done screen and its slip, and the
//! records (open, edit, void), which come back to the form.

use super::{Action, App, Screen, Tone};
use crate::card::MemberNo;
use crate::member::Field;
use crate::member::text::display_safe;
use crate::printer::PrintJob;
use crate::store::{RegisterError, StoredMember};
use crate::t;
use crate::tui::screens::done::{CardContext, DoneState, PrintStatus};
use crate::tui::screens::form::{self, FormState};

impl App {
    /// The form changed: the draft is saved (a new registration only) and the person looked
    /// up.
    pub(super) fn form_changed(&mut self) {
        if self.form.editing.is_none()
            && let Some(s) = &self.session
        {
            s.workers.save_draft(self.form.to_input(), self.now());
        }
        self.look_up_person();
    }

    /// Once the ID number is valid: is this person registered here already? One indexed
    /// lookup per person, not per keystroke.
    pub(super) fn look_up_person(&mut self) {
        let Some(doc) = self.form.document() else {
            self.form.existing = None;
            self.form.peer = None;
            return;
        };
        if let Some(s) = &self.session {
            self.form.existing = s.store.find_person(&doc).ok().flatten();
            // what the paired laptops said (their marks arrive within moments of theirs)
            self.form.peer = s.store.peer_person(&doc).ok().flatten();
        }
        self.last_peer_check = std::time::Instant::now();
    }

    /// The persons registered both here and on a paired laptop, for F3.
    pub(super) fn load_conflicts(&mut self) {
        self.last_conflicts = std::time::Instant::now();
        if let Some(s) = &self.session {
            match s.store.peer_conflicts() {
                Ok(c) => self.records.conflicts = c,
                Err(e) => tracing::warn!(error = %e, "conflicts not read"),
            }
        }
    }

    /// While a complete document number waits in the form, a paired laptop's registration
    /// of the same person that arrives meanwhile is shown (checked every half second).
    pub(super) fn recheck_peer_person(&mut self) {
        let waiting = matches!(self.screen, Screen::Form | Screen::Done)
            && self.form.editing.is_none()
            && self.form.peer.is_none()
            && self.form.existing.is_none();
        if waiting
            && self.last_peer_check.elapsed() >= std::time::Duration::from_millis(500)
            && self.form.document().is_some()
        {
            self.look_up_person();
        }
    }

    pub(super) fn submit(&mut self) {
        let now = self.now();
        self.form.today = now.date_naive();
        // registered here already: that, and the reprint, is all there is to say (not also
        // the consent nobody needs to give again)
        if self.form.is_duplicate() {
            let text = t!(
                self.lang,
                "form.already_registered",
                key = form::reprint_key()
            );
            self.say(text, Tone::Bad);
            return;
        }
        // registered on a paired laptop: refused as a duplicate here is, saying where
        if self.form.editing.is_none() {
            self.look_up_person();
            if let Some(hit) = &self.form.peer {
                let text = form::peer_duplicate(hit, self.form.today, self.lang);
                self.say(text, Tone::Bad);
                return;
            }
        }
        let v = match self.form.validated() {
            Ok(v) => v,
            Err(errors) => {
                // consent missing alone: what it takes, not just "fix the red fields"
                let text = if errors.iter().all(|e| e.field == Field::Consent) {
                    t!(
                        self.lang,
                        "form.consent_required",
                        key = form::consent_key()
                    )
                } else {
                    t!(self.lang, "form.fix_errors").to_string()
                };
                self.form.refused(errors);
                self.say(text, Tone::Bad);
                // Y on the consent field changed the form on its way here
                self.form_changed();
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
                    self.submitted_at = Some(std::time::Instant::now());
                    // the doubts said as the fields were left, kept with the card: the
                    // record can still be corrected from F3
                    let notes =
                        v.warnings
                            .iter()
                            .map(|w| w.message(self.lang))
                            .chain(
                                self.form.doubts().into_iter().map(|(f, d)| {
                                    form::FormNotice::Doubtful(f, d).message(self.lang)
                                }),
                            )
                            .collect();
                    self.show_done(m, notes);
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
                let text = t!(
                    self.lang,
                    "form.already_registered",
                    key = form::reprint_key()
                );
                self.say(text, Tone::Bad);
            }
            Err(RegisterError::Store(e)) => {
                // Disk full and the like: the form and its draft stay; nothing is lost.
                tracing::warn!(error = %e, "registration not stored");
                let text = e.diagnose(&self.data_dir).message(self.lang);
                self.say(text, Tone::Bad);
            }
        }
    }

    /// A record's card as the done screen shows it: number, name, date, QR code.
    fn card_of(&self, m: &StoredMember) -> Option<DoneState> {
        let s = self.session.as_ref()?;
        // as on the slip: the URL form when the office's page address is set, so a phone
        // camera opens the page
        let payload = m.qr_text(
            s.config.union_short.as_deref(),
            s.config.page_url(),
            s.store.device_key(),
        );
        let name = m
            .member
            .as_ref()
            .map(|x| display_safe(&x.name).into_owned())
            .unwrap_or_default();
        let date = t!(self.lang, "slip.date", date = m.event_date);
        payload
            .ok()
            .and_then(|p| DoneState::new(m.member_no.clone(), name, date, &p))
    }

    /// The newest booth sign-up's card, at hand for F7 after a restart (not shown).
    pub(super) fn restore_last_card(&mut self) {
        let Some(s) = &self.session else { return };
        let Ok(Some(no)) = s.store.last_booth_record() else {
            return;
        };
        if let Ok(Some(m)) = s.store.get(&no)
            && let Some(mut card) = self.card_of(&m)
        {
            card.print = PrintStatus::Earlier;
            self.done = Some(card);
        }
    }

    /// A record's QR code on screen again, from its view in the records list.
    pub(super) fn show_record_card(&mut self, no: &MemberNo) {
        let Some(s) = &self.session else { return };
        match s.store.get(no) {
            Ok(Some(m)) if m.may_print() => match self.card_of(&m) {
                Some(mut card) => {
                    card.print = PrintStatus::Earlier;
                    card.context = CardContext::Record;
                    self.records.card = Some(card);
                }
                None => self.say(t!(self.lang, "done.no_qr"), Tone::Bad),
            },
            Ok(_) => self.say(t!(self.lang, "cli.no_member", member_no = no), Tone::Bad),
            Err(e) => self.say(e.message(self.lang), Tone::Bad),
        }
    }

    fn show_done(&mut self, m: StoredMember, notes: Vec<String>) {
        let Some(mut card) = self.card_of(&m) else {
            self.say(t!(self.lang, "done.no_qr"), Tone::Bad);
            return;
        };
        card.notes = notes;
        self.done = Some(card);
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
                    d.printed(m.member_no.as_str(), false, &msg);
                }
                self.say(msg, Tone::Bad);
            }
        }
    }

    pub(super) fn reprint(&mut self, no: &MemberNo) {
        let Some(s) = &self.session else { return };
        match s.store.get(no) {
            Ok(Some(m)) => {
                if let Some(d) = &mut self.done {
                    d.reprinting(no);
                }
                self.say(t!(self.lang, "done.reprinting", member_no = no), Tone::Info);
                self.send_print(&m);
            }
            Ok(None) => self.say(t!(self.lang, "cli.no_member", member_no = no), Tone::Bad),
            Err(e) => self.say(e.message(self.lang), Tone::Bad),
        }
    }

    /// The form, for the next member (the form was emptied at submit; the last card stays
    /// at hand until the next one).
    pub(super) fn next_member(&mut self) {
        self.screen = Screen::Form;
        self.message = None;
    }

    /// The clear question answered yes: an empty form, and no draft.
    pub(super) fn clear_form(&mut self) {
        self.overlay = None;
        self.blank_form();
        if let Some(s) = &self.session {
            s.workers.clear_draft();
        }
    }

    /// An empty form, cursor in name, with the day's employers to suggest.
    fn blank_form(&mut self) {
        self.form = FormState::new(self.now().date_naive());
        self.load_employers();
    }

    pub(super) fn load_employers(&mut self) {
        let today = self.now().date_naive();
        if let Some(s) = &self.session {
            // booth sign-ups only: a roster imported today is not the depot of the day
            self.form.employers = s.store.todays_employers(today, 8).unwrap_or_default();
        }
    }

    pub(super) fn open_record(&mut self, no: &MemberNo) {
        let Some(s) = &self.session else { return };
        match s.store.get(no) {
            Ok(m) => self.records.detail = m,
            Err(e) => self.say(e.message(self.lang), Tone::Bad),
        }
    }

    /// The record in the form; the registration in progress is put aside until the edit
    /// is saved or left.
    pub(super) fn edit_record(&mut self, no: MemberNo) {
        let today = self.now().date_naive();
        let Some(s) = &self.session else { return };
        match s.store.get(&no) {
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
        }
    }

    pub(super) fn void_record(&mut self, no: &MemberNo, reason: &str) {
        let now = self.now();
        let Some(s) = &mut self.session else { return };
        // also a record the office has: the next upload has it revoked there
        match s.store.void_record(no, reason, &now) {
            Ok(()) => {
                self.records.detail = s.store.get(no).ok().flatten();
                self.refresh_counts();
                self.load_conflicts();
                // the list shows the void at once, behind the record
                let req = self.records.refresh();
                self.update(Action::Search(req));
                // a voided record's employer is often the mistake: no longer suggested
                self.load_employers();
                self.say(t!(self.lang, "cli.voided", member_no = no), Tone::Good);
            }
            Err(e) => self.say(e.message(self.lang), Tone::Bad),
        }
    }

    /// After an edit, saved or abandoned: the registration that was in progress comes back.
    pub(super) fn restore_stashed_form(&mut self) {
        self.form = self
            .stashed_form
            .take()
            .unwrap_or_else(|| FormState::new(self.now().date_naive()));
    }

    fn finish_edit(&mut self, m: StoredMember) {
        self.restore_stashed_form();
        self.records.detail = Some(m.clone());
        self.screen = Screen::Records;
        // the list shows the edit at once, behind the record
        let req = self.records.refresh();
        self.update(Action::Search(req));
        self.say(
            t!(self.lang, "records.saved", member_no = m.member_no),
            Tone::Good,
        );
    }
}
