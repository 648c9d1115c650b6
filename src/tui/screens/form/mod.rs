//! The registration form: one screen, keyboard only.
//!
//! Required fields first (name, ID number, phone, employer, consent), then the optional ones.
//! Tab/Enter next, Shift-Tab (or Esc) previous. The ID number advances by itself at its full
//! length (its error shown at once if it is wrong, so the next field's digits never grow it),
//! the phone once complete and valid. The Tab or Enter that follows such a move confirms it and
//! is taken (a card reader's Enter, a typist's habitual Tab), so neither a reader at full speed
//! nor a typist's Tab after every field loses or doubles a step. Y on the consent field is the
//! worker's yes and submits. Pick lists take one key per choice. Errors appear beside a field
//! once it was left; so do plausibility warnings ([`plausible`]), which never block a submit.
//! Text typed where no text goes (the consent, a pick list) is refused with a message.
//!
//! Every field is a [`member::Field`](crate::member::Field) with a [`Kind`] (text, pick list,
//! yes/no, consent, several picks); the kind takes the keys the form leaves to the field.

mod fields;
pub mod plausible;
mod view;

use std::collections::BTreeSet;

use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent};

pub use fields::{Consent, Kind, MultiPick, Pick, YesNo, consent_key, consent_submits};
pub use plausible::Doubt;
pub use view::peer_duplicate;

use super::Outcome;
use crate::card::MemberNo;
use crate::i18n::{self, Lang};
use crate::member::document::{normalize_number, parse_document};
use crate::member::entry::{
    id_at_full_length, id_over_full_length, kind_while_typing, phone_complete,
};
use crate::member::options::ListKind;
use crate::member::{
    DocKind, Document, Field, FieldError, IdFacts, MemberInput, Validated, Warning, validate,
};
use crate::store::Existing;
use crate::tui::action::Action;
use crate::tui::keys::{self, BACK_TAB, Binding, DOWN, ENTER, ESC, Key, TAB, UP, f};
use crate::tui::widgets::input::{Edit, TextInput};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Next,
    Prev,
    /// ↑↓: previous/next field, or one of today's employers.
    Arrows,
    Submit,
    Tally,
    Clear,
    DocType,
    Reprint,
}

/// The form's own keys; the rest go to the focused field's kind.
const KEYS: &[Binding<Cmd>] = &[
    Binding::new(Cmd::Next, &[TAB, ENTER])
        .hint("keys.next")
        .help("help.form.next"),
    Binding::new(Cmd::Prev, &[BACK_TAB])
        .also(&[ESC])
        .hint("keys.back")
        .help("help.form.back"),
    Binding::new(Cmd::Arrows, &[UP, DOWN]).help("help.form.arrows"),
    Binding::new(Cmd::Submit, &[Key::ctrl('s')])
        .hint("keys.submit")
        .help("help.form.submit"),
    // the app's F6, named here for what it means beside a form
    Binding::new(Cmd::Tally, &[f(6)]).hint("keys.asked_only"),
    Binding::new(Cmd::Clear, &[Key::ctrl('x')])
        .hint("keys.clear_form")
        .help("help.form.clear"),
    Binding::new(Cmd::DocType, &[Key::ctrl('d')]).help("help.form.doc_type"),
    Binding::new(Cmd::Reprint, &[f(8)]).help("help.form.reprint"),
];

/// The key that reprints the slip of a person already registered (named in messages).
pub fn reprint_key() -> String {
    keys::label(KEYS, |c| *c == Cmd::Reprint)
}

/// The key that clears the form (named in messages).
pub fn clear_key() -> String {
    keys::label(KEYS, |c| *c == Cmd::Clear)
}

/// The short label shown beside a field.
pub fn label(field: Field, lang: Lang) -> &'static str {
    i18n::text(lang, &format!("form.label.{}", field.code()))
}

fn is_required(field: Field) -> bool {
    matches!(
        field,
        Field::Name | Field::IdNumber | Field::Phone | Field::Employer | Field::Consent
    )
}

/// The fields in Tab order, each with its kind. The document type is part of the ID number's
/// field (Ctrl-D, or recognised from the number).
fn new_fields() -> Vec<(Field, Kind)> {
    let text = |max| Kind::Text(TextInput::new(max));
    vec![
        (Field::Name, text(40)),
        (Field::IdNumber, text(40)),
        (Field::Phone, text(24)),
        (Field::Employer, text(100)),
        (Field::Consent, Kind::Consent(Consent::default())),
        (Field::Ethnicity, text(12)),
        (
            Field::PoliticalStatus,
            Kind::Pick(Pick::new(ListKind::PoliticalStatus)),
        ),
        (Field::Education, Kind::Pick(Pick::new(ListKind::Education))),
        (Field::Occupation, text(50)),
        (
            Field::EmploymentForm,
            Kind::Pick(Pick::new(ListKind::EmploymentForm)),
        ),
        (Field::MigrantWorker, Kind::YesNo(YesNo::default())),
        (Field::EmployerUscc, text(24)),
        (
            Field::Needs,
            Kind::MultiPick(MultiPick::new(
                ListKind::Needs,
                100,
                "form.label.needs_other",
            )),
        ),
        (Field::Remarks, text(500)),
    ]
}

/// The form field that shows a record field's errors.
fn shown_at(field: Field) -> Field {
    match field {
        Field::DocType => Field::IdNumber,
        other => other,
    }
}

/// What the form has to say in the status line after a key (worded by the app, which knows
/// the language).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormNotice {
    /// Text typed on a field that takes no text (the consent, a pick list): refused, and the
    /// characters refused so far in a row named, so nothing typed vanishes without a word.
    TextRefused { field: Field, text: String },
    /// The field just left holds a value that looks wrong (never blocks a submit).
    Doubtful(Field, Doubt),
}

impl FormNotice {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            FormNotice::TextRefused { field, text } => {
                let how = match field {
                    Field::Consent => crate::t!(lang, "form.refused.consent", key = consent_key()),
                    _ => crate::t!(lang, "form.refused.pick").to_string(),
                };
                crate::t!(
                    lang,
                    "form.refused.text",
                    field = label(*field, lang),
                    text = crate::member::text::display_safe(text),
                    how = how
                )
            }
            FormNotice::Doubtful(field, d) => {
                format!("⚠ {}: {}", label(*field, lang), d.message(lang))
            }
        }
    }
}

/// The document type a number suggests while it is typed: the passport rule of
/// [`kind_while_typing`] from `auto` (the last suggestion), and a letter H or M followed by 8
/// (or 10) digits read as the Hong Kong / Macao travel permit (回乡证) — the shape is a valid
/// passport number too, so the form says which it chose and Ctrl-D switches.
pub fn doc_guess(auto: DocKind, raw: &str) -> DocKind {
    let kind = kind_while_typing(
        if auto == DocKind::HkMacaoPermit {
            DocKind::Passport
        } else {
            auto
        },
        raw,
    );
    let n = normalize_number(raw);
    if n.is_empty() {
        return DocKind::ResidentId;
    }
    let b = n.as_bytes();
    let hk_macao = matches!(b.first(), Some(b'H' | b'M'))
        && matches!(b.len(), 9 | 11)
        && b[1..].iter().all(u8::is_ascii_digit);
    match kind {
        DocKind::Passport if hk_macao => DocKind::HkMacaoPermit,
        other => other,
    }
}

/// Is this number's type a guess between two (an H/M permit that is also a passport shape)?
pub fn doc_ambiguous(kind: DocKind, raw: &str) -> bool {
    kind == DocKind::HkMacaoPermit && doc_guess(DocKind::ResidentId, raw) == kind
}

#[derive(Clone, Debug)]
pub struct FormState {
    /// Every field with its kind and value, in Tab order.
    fields: Vec<(Field, Kind)>,
    pub doc_type: DocKind,
    pub focus: Field,
    /// Fields the operator has left: their errors are shown.
    pub touched: BTreeSet<Field>,
    /// After a refused submit every error is shown.
    pub show_all_errors: bool,
    pub errors: Vec<FieldError>,
    pub facts: Option<IdFacts>,
    pub warnings: Vec<Warning>,
    /// The person with this ID, if already registered here (set by the app after a lookup).
    pub existing: Option<Existing>,
    /// The person with this ID, if a paired laptop registered them (SPEC §12: where, when,
    /// which number — never the other worker's name).
    pub peer: Option<crate::store::peers::PeerHit>,
    /// Today's employers, most frequent first (suggestions for a depot signing many).
    pub employers: Vec<String>,
    pub suggestion: Option<usize>,
    /// The last key advanced the focus by itself: a following Enter/Tab confirms that move
    /// and is taken.
    pub auto_advanced: bool,
    /// The document type was chosen with Ctrl-D: the number no longer decides it.
    pub doc_chosen: bool,
    /// The type the number being typed suggests (see [`doc_guess`]).
    doc_auto: DocKind,
    /// Characters typed in a row where no text goes, refused (said in the status line).
    refused: Option<(Field, String)>,
    /// What the form has to say in the status line after the last key (the app words it).
    pub notice: Option<FormNotice>,
    /// Editing a stored record instead of registering a new one.
    pub editing: Option<MemberNo>,
    pub today: NaiveDate,
}

impl FormState {
    pub fn new(today: NaiveDate) -> FormState {
        FormState {
            fields: new_fields(),
            doc_type: DocKind::ResidentId,
            focus: Field::Name,
            touched: BTreeSet::new(),
            show_all_errors: false,
            errors: Vec::new(),
            facts: None,
            warnings: Vec::new(),
            existing: None,
            peer: None,
            employers: Vec::new(),
            suggestion: None,
            auto_advanced: false,
            doc_chosen: false,
            doc_auto: DocKind::ResidentId,
            refused: None,
            notice: None,
            editing: None,
            today,
        }
    }

    /// The form filled from a saved draft or a stored record.
    pub fn from_input(input: &MemberInput, today: NaiveDate) -> FormState {
        let mut f = FormState::new(today);
        f.doc_type = input.doc_type;
        f.doc_auto = input.doc_type;
        // a stored or drafted type stays as it was, whatever the number looks like
        f.doc_chosen = input.doc_type != doc_guess(DocKind::ResidentId, &input.id_number);
        for (field, kind) in &mut f.fields {
            match kind {
                Kind::Text(t) => match field {
                    // shown by name: what was typed may have been a code
                    Field::Ethnicity => t.set(
                        &ListKind::Ethnicity
                            .find(&input.ethnicity)
                            .map(|c| c.zh.clone())
                            .unwrap_or_else(|| input.ethnicity.clone()),
                    ),
                    _ => t.set(input_text(input, *field)),
                },
                Kind::Pick(p) => {
                    p.value = p
                        .list
                        .find(input_text(input, *field))
                        .map(|c| c.code.clone());
                }
                Kind::YesNo(y) => {
                    y.0 = crate::member::record::parse_yes_no(&input.migrant_worker)
                        .ok()
                        .flatten();
                }
                Kind::Consent(c) => c.0 = input.consent,
                Kind::MultiPick(m) => {
                    let (codes, other) = crate::member::record::split_needs(&input.needs);
                    m.values = codes;
                    m.other.set(&other.join("、"));
                }
            }
        }
        f.revalidate();
        f
    }

    pub fn to_input(&self) -> MemberInput {
        let text = |field| self.text(field);
        let choice = |field| self.choice(field).unwrap_or_default().to_string();
        let mut needs = Vec::new();
        let mut migrant_worker = String::new();
        let mut consent = false;
        for (_, kind) in &self.fields {
            match kind {
                Kind::MultiPick(m) => {
                    needs = m.values.clone();
                    if !m.other.is_empty() {
                        needs.push(m.other.value());
                    }
                }
                Kind::YesNo(y) => {
                    migrant_worker = match y.0 {
                        Some(true) => "yes".into(),
                        Some(false) => "no".into(),
                        None => String::new(),
                    }
                }
                Kind::Consent(c) => consent = c.0,
                Kind::Text(_) | Kind::Pick(_) => {}
            }
        }
        MemberInput {
            name: text(Field::Name),
            doc_type: self.doc_type,
            id_number: text(Field::IdNumber),
            phone: text(Field::Phone),
            employer: text(Field::Employer),
            consent,
            ethnicity: text(Field::Ethnicity),
            political_status: choice(Field::PoliticalStatus),
            education: choice(Field::Education),
            occupation: text(Field::Occupation),
            employment_form: choice(Field::EmploymentForm),
            migrant_worker,
            employer_uscc: text(Field::EmployerUscc),
            needs: needs.join(","),
            remarks: text(Field::Remarks),
        }
    }

    pub fn kind(&self, field: Field) -> Option<&Kind> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, k)| k)
    }

    fn kind_mut(&mut self, field: Field) -> Option<&mut Kind> {
        self.fields
            .iter_mut()
            .find(|(f, _)| *f == field)
            .map(|(_, k)| k)
    }

    /// The text of a text field ("" for other kinds).
    pub fn text(&self, field: Field) -> String {
        match self.kind(field) {
            Some(Kind::Text(t)) => t.value(),
            _ => String::new(),
        }
    }

    /// Sets a text field (the cursor at its end).
    pub fn set_text(&mut self, field: Field, value: &str) {
        if let Some(Kind::Text(t)) = self.kind_mut(field) {
            t.set(value);
        }
    }

    /// The code chosen in a pick list.
    pub fn choice(&self, field: Field) -> Option<&str> {
        match self.kind(field) {
            Some(Kind::Pick(p)) => p.value.as_deref(),
            _ => None,
        }
    }

    pub fn is_blank(&self) -> bool {
        self.to_input().is_blank()
    }

    /// Runs the one validation over the whole form (microseconds) and keeps what it says.
    pub fn revalidate(&mut self) {
        let input = self.to_input();
        match validate(&input, self.today) {
            Ok(v) => {
                self.errors.clear();
                self.facts = v.facts;
                self.warnings = v.warnings;
            }
            Err(errors) => {
                self.errors = errors;
                // Derived facts show as soon as the ID number alone is valid.
                match parse_document(self.doc_type, &input.id_number, self.today) {
                    Ok(p) => {
                        self.facts = p.facts;
                        self.warnings = p.warnings;
                    }
                    Err(_) => {
                        self.facts = None;
                        self.warnings.clear();
                    }
                }
            }
        }
    }

    /// The validated record, if the form is complete.
    pub fn validated(&self) -> Result<Validated, Vec<FieldError>> {
        validate(&self.to_input(), self.today)
    }

    /// The document, once the ID number is valid (for the "already registered" lookup).
    pub fn document(&self) -> Option<Document> {
        parse_document(self.doc_type, &self.text(Field::IdNumber), self.today)
            .ok()
            .map(|p| p.document)
    }

    pub fn error_for(&self, field: Field) -> Option<&FieldError> {
        // Not while a field is first typed in; once it has been left, live — coming back to
        // fix it, the operator still sees what is wrong. All of them after a refused submit.
        let visible = self.show_all_errors || self.touched.contains(&field);
        // a person registered already is not asked for consent again: F8 reprints instead
        let duplicate =
            field == Field::Consent && (self.is_duplicate() || self.is_peer_duplicate());
        if !visible || duplicate {
            return None;
        }
        self.errors.iter().find(|e| shown_at(e.field) == field)
    }

    /// The person typed in is registered here already (a new registration, not this record's
    /// edit).
    pub fn is_duplicate(&self) -> bool {
        self.existing
            .as_ref()
            .is_some_and(|e| self.editing.as_ref() != Some(&e.member_no))
    }

    /// The person typed in was registered on a paired laptop (a new registration only: an
    /// edit of a record of this laptop is its own business).
    pub fn is_peer_duplicate(&self) -> bool {
        self.peer.is_some() && self.editing.is_none()
    }

    /// What looks wrong with a field's value once it has been left (see [`plausible`]).
    pub fn doubt(&self, field: Field) -> Option<Doubt> {
        plausible::doubt(field, &self.text(field))
    }

    /// The warnings of the whole form, for the done screen's notes.
    pub fn doubts(&self) -> Vec<(Field, Doubt)> {
        [Field::Name, Field::Employer]
            .into_iter()
            .filter_map(|f| Some((f, self.doubt(f)?)))
            .collect()
    }

    fn move_focus(&mut self, forward: bool) {
        // Walking past the consent (to the optional fields, or back) is not refusing it: its
        // error waits for a submit.
        if self.focus != Field::Consent {
            self.touched.insert(self.focus);
        }
        if let Some(d) = self.doubt(self.focus) {
            self.notice = Some(FormNotice::Doubtful(self.focus, d));
        }
        self.suggestion = None;
        self.refused = None;
        let focus = self.focus;
        if let Some(Kind::MultiPick(m)) = self.kind_mut(focus)
            && m.step(forward)
        {
            return;
        }
        let order: Vec<Field> = self.fields.iter().map(|(f, _)| *f).collect();
        self.focus = crate::tui::widgets::cycle(&order, focus, forward);
        let focus = self.focus;
        if let Some(Kind::MultiPick(m)) = self.kind_mut(focus) {
            m.enter(forward);
        }
    }

    /// A submit was refused: every error shown, the first bad field focused.
    pub fn refused(&mut self, errors: Vec<FieldError>) {
        self.errors = errors;
        self.show_all_errors = true;
        self.focus_first_error();
    }

    fn focus_first_error(&mut self) {
        if let Some(e) = self.errors.first() {
            self.focus = shown_at(e.field);
            let focus = self.focus;
            if let Some(Kind::MultiPick(m)) = self.kind_mut(focus) {
                m.enter(true);
            }
        }
    }

    /// A restored draft: the focus on the first field not complete (the consent when all
    /// are), so what is typed next goes where it belongs.
    pub fn focus_first_incomplete(&mut self) {
        let order: Vec<Field> = self.fields.iter().map(|(f, _)| *f).collect();
        self.focus = order
            .into_iter()
            .find(|f| self.errors.iter().any(|e| shown_at(e.field) == *f))
            .unwrap_or(Field::Consent);
        let focus = self.focus;
        if let Some(Kind::MultiPick(m)) = self.kind_mut(focus) {
            m.enter(true);
        }
    }

    /// Employer suggestions matching what is typed.
    pub fn employer_suggestions(&self) -> Vec<&str> {
        let typed = self.text(Field::Employer);
        self.employers
            .iter()
            .filter(|e| typed.is_empty() || (e.contains(typed.trim()) && **e != typed))
            .map(String::as_str)
            .take(5)
            .collect()
    }

    /// The suggestion Tab would take: the one chosen with the arrows, or on an empty field the
    /// first (today's most common employer).
    pub fn highlighted(&self) -> Option<usize> {
        match self.suggestion {
            Some(i) => Some(i),
            None if self.text(Field::Employer).is_empty()
                && !self.employer_suggestions().is_empty() =>
            {
                Some(0)
            }
            None => None,
        }
    }

    /// Pasted text goes to the focused text field (bracketed paste: one event).
    pub fn paste(&mut self, s: &str) -> Option<Action> {
        // a paste is not the Tab that confirms an automatic move
        self.auto_advanced = false;
        self.refused = None;
        let focus = self.focus;
        let changed = self
            .kind_mut(focus)
            .and_then(Kind::text_mut)
            .is_some_and(|t| t.insert_str(s));
        changed.then(|| self.after_edit())
    }

    /// After an edit: validate, and move on if the ID number or phone just became complete.
    fn after_edit(&mut self) -> Action {
        if self.focus == Field::IdNumber {
            self.doc_auto = doc_guess(self.doc_auto, &self.text(Field::IdNumber));
            if !self.doc_chosen {
                self.doc_type = self.doc_auto;
            }
        }
        self.revalidate();
        let complete = match self.focus {
            // valid or not: a wrong one shows its error now, and the digits that follow are
            // the phone's
            Field::IdNumber => id_at_full_length(self.doc_type, &self.text(Field::IdNumber)),
            Field::Phone => phone_complete(&self.text(Field::Phone)),
            _ => false,
        };
        if complete {
            self.move_focus(true);
            self.auto_advanced = true;
        }
        Action::FormChanged
    }

    fn enabled(&self, cmd: Cmd) -> bool {
        match cmd {
            Cmd::DocType => self.focus == Field::IdNumber,
            Cmd::Reprint => self.existing.is_some(),
            _ => true,
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        let swallow = std::mem::take(&mut self.auto_advanced);
        let Some(cmd) = keys::find(KEYS, &key, |c| self.enabled(*c)) else {
            return self.field_key(&key);
        };
        self.refused = None;
        match cmd {
            // a stray Ctrl-S (after Y submitted, in a burst) on an empty form
            Cmd::Submit if self.is_blank() => Outcome::Taken,
            Cmd::Submit => Outcome::Do(Action::Submit),
            Cmd::Tally => Outcome::Do(Action::Tally),
            Cmd::Clear if self.is_blank() => Outcome::Taken,
            Cmd::Clear => Outcome::Do(Action::AskClearForm),
            Cmd::Reprint => self
                .existing
                .as_ref()
                .map(|e| Action::Reprint(e.member_no.clone()))
                .into(),
            Cmd::DocType => {
                // an H/M permit number's other reading first: it is a passport shape too
                self.doc_type = if doc_ambiguous(self.doc_type, &self.text(Field::IdNumber)) {
                    DocKind::Passport
                } else {
                    let i = DocKind::ALL
                        .iter()
                        .position(|&k| k == self.doc_type)
                        .unwrap_or(0);
                    DocKind::ALL[(i + 1) % DocKind::ALL.len()]
                };
                self.doc_chosen = true;
                self.revalidate();
                Outcome::Do(Action::FormChanged)
            }
            // The Enter a card reader sends after the number, or the Tab a typist presses
            // after every field: either confirms the move the form made by itself. Neither
            // takes a second step (the phone's digits into the employer), nor today's
            // employer unasked.
            Cmd::Next if swallow => Outcome::Taken,
            Cmd::Next => {
                if self.focus == Field::Employer {
                    self.accept_suggestion();
                }
                self.move_focus(true);
                Outcome::Do(Action::FormChanged)
            }
            Cmd::Prev => {
                self.move_focus(false);
                Outcome::Taken
            }
            Cmd::Arrows if self.focus == Field::Employer => {
                let n = self.employer_suggestions().len();
                if n > 0 {
                    // from the one highlighted (the first, on an empty field)
                    self.suggestion = Some(match (self.highlighted(), key.code) {
                        (None, KeyCode::Down) => 0,
                        (None, _) => n - 1,
                        (Some(i), KeyCode::Down) => (i + 1) % n,
                        (Some(i), _) => (i + n - 1) % n,
                    });
                }
                Outcome::Taken
            }
            Cmd::Arrows => {
                self.move_focus(key.code == KeyCode::Down);
                Outcome::Taken
            }
        }
    }

    /// A key the form leaves to the focused field's kind.
    fn field_key(&mut self, key: &KeyEvent) -> Outcome {
        let focus = self.focus;
        let before = (focus == Field::IdNumber).then(|| self.text(Field::IdNumber));
        let Some(kind) = self.kind_mut(focus) else {
            return Outcome::Pass;
        };
        let takes_text = kind.text_mut().is_some();
        let edit = kind.handle_key(key);
        if edit != Edit::Pass {
            self.refused = None;
        }
        // the worker's yes, read out: it submits a new registration (refused with the reasons
        // if something is still missing)
        if focus == Field::Consent
            && self.editing.is_none()
            && edit != Edit::Pass
            && fields::consent_submits(key)
        {
            self.touched.insert(Field::Consent);
            return Outcome::Do(Action::Submit);
        }
        match edit {
            // a character where no text goes: refused, and said (never dropped in silence)
            Edit::Pass if !takes_text && is_text(key) => {
                let KeyCode::Char(c) = key.code else {
                    return Outcome::Pass;
                };
                let text = match self.refused.take() {
                    Some((f, mut t)) if f == focus => {
                        t.push(c);
                        t
                    }
                    _ => c.to_string(),
                };
                self.refused = Some((focus, text.clone()));
                self.notice = Some(FormNotice::TextRefused { field: focus, text });
                Outcome::Taken
            }
            Edit::Pass => Outcome::Pass,
            Edit::Taken => Outcome::Taken,
            Edit::Changed => {
                if let Some(before) = before
                    && id_over_full_length(
                        kind_while_typing(self.doc_type, &self.text(Field::IdNumber)),
                        &self.text(Field::IdNumber),
                    )
                {
                    // an ID number at its full length never grows
                    self.set_text(Field::IdNumber, &before);
                    return Outcome::Taken;
                }
                if focus == Field::Employer {
                    self.suggestion = None;
                }
                Outcome::Do(self.after_edit())
            }
        }
    }

    fn accept_suggestion(&mut self) {
        let chosen = self
            .highlighted()
            .and_then(|i| self.employer_suggestions().get(i).map(|s| s.to_string()));
        if let Some(s) = chosen {
            self.set_text(Field::Employer, &s);
            self.revalidate();
        }
        self.suggestion = None;
    }

    /// F1: the form's keys, then the keys of its kinds of field.
    pub fn help(&self, lang: Lang) -> Vec<String> {
        let mut lines = keys::help_lines(KEYS, lang);
        lines.extend(fields::help_lines(lang));
        lines
    }
}

/// A character typed as text (not a key with Ctrl or Alt).
fn is_text(key: &KeyEvent) -> bool {
    matches!(key.code, KeyCode::Char(_))
        && !key.modifiers.intersects(
            crossterm::event::KeyModifiers::CONTROL | crossterm::event::KeyModifiers::ALT,
        )
}

/// The raw text of a field in a draft or record.
fn input_text(input: &MemberInput, field: Field) -> &str {
    match field {
        Field::Name => &input.name,
        Field::IdNumber => &input.id_number,
        Field::Phone => &input.phone,
        Field::Employer => &input.employer,
        Field::Ethnicity => &input.ethnicity,
        Field::PoliticalStatus => &input.political_status,
        Field::Education => &input.education,
        Field::Occupation => &input.occupation,
        Field::EmploymentForm => &input.employment_form,
        Field::MigrantWorker => &input.migrant_worker,
        Field::EmployerUscc => &input.employer_uscc,
        Field::Needs => &input.needs,
        Field::Remarks => &input.remarks,
        Field::DocType | Field::Consent => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    fn typ(f: &mut FormState, s: &str) -> Vec<Outcome> {
        s.chars()
            .map(|c| f.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)))
            .collect()
    }

    fn press(f: &mut FormState, code: KeyCode) -> Outcome {
        f.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn a_card_reader_fills_id_and_phone_without_losing_a_step() {
        let mut f = FormState::new(today());
        typ(&mut f, "葛婷婷");
        press(&mut f, KeyCode::Enter);
        assert_eq!(f.focus, Field::IdNumber);
        typ(&mut f, "11010519491231002X");
        assert_eq!(
            f.focus,
            Field::Phone,
            "auto-advance after 18 valid characters"
        );
        press(&mut f, KeyCode::Enter); // the reader's Enter: swallowed
        assert_eq!(f.focus, Field::Phone);
        typ(&mut f, "13800138000");
        assert_eq!(f.focus, Field::Employer);
        assert!(f.facts.is_some());
        typ(&mut f, "某公司");
        press(&mut f, KeyCode::Tab);
        typ(&mut f, "y");
        assert!(f.to_input().consent);
        assert!(
            matches!(press(&mut f, KeyCode::Char('s')), Outcome::Taken),
            "'s' alone is not a consent key: refused"
        );
        assert_eq!(
            f.notice.take(),
            Some(FormNotice::TextRefused {
                field: Field::Consent,
                text: "s".into()
            })
        );
        let ctrl_s = f.handle_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL));
        assert!(matches!(ctrl_s, Outcome::Do(Action::Submit)));
        assert!(f.validated().is_ok());
    }

    #[test]
    fn an_invalid_id_shows_its_error_at_full_length_and_moves_on() {
        let mut f = FormState::new(today());
        f.focus = Field::IdNumber;
        typ(&mut f, "11010519491231002");
        assert!(f.error_for(Field::IdNumber).is_none(), "not while typing");
        typ(&mut f, "1");
        assert!(
            f.error_for(Field::IdNumber).is_some(),
            "at the 18th character"
        );
        assert_eq!(
            f.focus,
            Field::Phone,
            "the digits that follow are the phone's"
        );
    }

    #[test]
    fn y_on_the_consent_field_submits_a_new_registration_only() {
        let mut f = FormState::new(today());
        f.focus = Field::Consent;
        assert!(matches!(typ(&mut f, "y")[0], Outcome::Do(Action::Submit)));
        f.editing = Some(MemberNo::new("K7M2QX", 1).unwrap());
        assert!(matches!(
            typ(&mut f, "n")[0],
            Outcome::Do(Action::FormChanged)
        ));
        assert!(matches!(
            typ(&mut f, "y")[0],
            Outcome::Do(Action::FormChanged)
        ));
    }

    #[test]
    fn ctrl_s_on_an_empty_form_does_nothing() {
        let mut f = FormState::new(today());
        let ctrl_s = f.handle_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL));
        assert!(matches!(ctrl_s, Outcome::Taken));
    }

    #[test]
    fn pick_lists_take_one_key() {
        let mut f = FormState::new(today());
        f.focus = Field::EmploymentForm;
        typ(&mut f, "5");
        assert_eq!(f.choice(Field::EmploymentForm), Some("food_delivery"));
        f.focus = Field::Needs;
        typ(&mut f, "12");
        assert_eq!(f.to_input().needs, "legal_aid,skills");
        typ(&mut f, "1");
        assert_eq!(f.to_input().needs, "skills");
        f.focus = Field::Ethnicity;
        typ(&mut f, "汉");
        assert!(f.errors.iter().all(|e| e.field != Field::Ethnicity));
    }

    /// A typist's Tab after every field, also after the form moved on by itself: each such
    /// Tab confirms the move, so the phone lands in the phone and the employer is typed.
    #[test]
    fn a_tab_after_an_automatic_move_confirms_it() {
        let mut f = FormState::new(today());
        f.employers = vec!["顺丰速运".into()];
        typ(&mut f, "张伟");
        press(&mut f, KeyCode::Tab);
        typ(&mut f, "440306198801014561");
        assert_eq!(f.focus, Field::Phone);
        press(&mut f, KeyCode::Tab);
        assert_eq!(f.focus, Field::Phone, "the Tab confirmed the move");
        typ(&mut f, "13600001111");
        assert_eq!(f.focus, Field::Employer);
        press(&mut f, KeyCode::Tab);
        assert_eq!(
            f.focus,
            Field::Employer,
            "today's employer not taken unasked"
        );
        assert_eq!(f.text(Field::Employer), "");
        typ(&mut f, "美团外卖望京站");
        press(&mut f, KeyCode::Tab);
        assert_eq!(f.focus, Field::Consent);
        let input = f.to_input();
        assert_eq!(
            (
                input.id_number.as_str(),
                input.phone.as_str(),
                input.employer.as_str()
            ),
            ("440306198801014561", "13600001111", "美团外卖望京站")
        );
        // only the first key after the move: a second Tab is a step again (and takes the
        // highlighted employer on an empty field)
        let mut f = FormState::new(today());
        f.employers = vec!["顺丰速运".into()];
        f.focus = Field::Phone;
        typ(&mut f, "13600001111");
        press(&mut f, KeyCode::Tab);
        press(&mut f, KeyCode::Tab);
        assert_eq!(f.text(Field::Employer), "顺丰速运");
        assert_eq!(f.focus, Field::Consent);
    }

    #[test]
    fn the_first_down_arrow_moves_to_the_second_employer() {
        let mut f = FormState::new(today());
        f.employers = vec!["甲".into(), "乙".into(), "丙".into()];
        f.focus = Field::Employer;
        assert_eq!(
            f.highlighted(),
            Some(0),
            "the first is highlighted on an empty field"
        );
        press(&mut f, KeyCode::Down);
        assert_eq!(f.highlighted(), Some(1));
        press(&mut f, KeyCode::Up);
        press(&mut f, KeyCode::Up);
        assert_eq!(f.highlighted(), Some(2), "round from the first to the last");
        press(&mut f, KeyCode::Tab);
        assert_eq!(f.text(Field::Employer), "丙");
    }

    #[test]
    fn walking_past_the_consent_does_not_mark_it_red() {
        let mut f = FormState::new(today());
        f.revalidate();
        f.focus = Field::Consent;
        let back = f.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
        assert!(matches!(back, Outcome::Taken));
        press(&mut f, KeyCode::Tab);
        press(&mut f, KeyCode::Tab);
        assert_eq!(f.focus, Field::Ethnicity);
        assert!(f.error_for(Field::Consent).is_none());
        f.show_all_errors = true;
        assert!(
            f.error_for(Field::Consent).is_some(),
            "after a refused submit"
        );
    }

    #[test]
    fn text_on_a_pick_list_is_refused_and_named() {
        let mut f = FormState::new(today());
        f.focus = Field::Education;
        typ(&mut f, "本科");
        assert_eq!(f.choice(Field::Education), None);
        assert_eq!(
            f.notice.clone().unwrap(),
            FormNotice::TextRefused {
                field: Field::Education,
                text: "本科".into()
            }
        );
        let m = f.notice.unwrap().message(Lang::Zh);
        assert!(m.contains("学历") && m.contains("本科"), "{m}");
    }

    #[test]
    fn leaving_a_doubtful_field_says_so_and_a_submit_is_not_blocked() {
        let mut f = FormState::new(today());
        f.focus = Field::Employer;
        typ(&mut f, "13600001111");
        assert_eq!(f.notice, None, "not while typing");
        press(&mut f, KeyCode::Tab);
        assert_eq!(
            f.notice,
            Some(FormNotice::Doubtful(Field::Employer, Doubt::EmployerDigits))
        );
        assert_eq!(f.doubts(), vec![(Field::Employer, Doubt::EmployerDigits)]);
    }

    #[test]
    fn an_h_or_m_permit_number_is_said_and_ctrl_d_makes_it_a_passport() {
        let mut f = FormState::new(today());
        f.focus = Field::IdNumber;
        typ(&mut f, "H1234567");
        assert_eq!(f.doc_type, DocKind::Passport, "a letter: a passport so far");
        typ(&mut f, "8");
        assert_eq!(f.doc_type, DocKind::HkMacaoPermit);
        assert!(doc_ambiguous(f.doc_type, &f.text(Field::IdNumber)));
        let ctrl_d = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL);
        f.handle_key(ctrl_d);
        assert_eq!(f.doc_type, DocKind::Passport, "its other reading first");
        typ(&mut f, "9");
        assert_eq!(
            f.doc_type,
            DocKind::Passport,
            "chosen: the number no longer decides"
        );
        let mut f = FormState::new(today());
        f.focus = Field::IdNumber;
        typ(&mut f, "M1234567801");
        assert_eq!(
            f.doc_type,
            DocKind::HkMacaoPermit,
            "the older 10-digit permit"
        );
        assert!(
            f.validated()
                .unwrap_err()
                .iter()
                .all(|e| e.field != Field::IdNumber)
        );
        let mut f = FormState::new(today());
        f.focus = Field::IdNumber;
        typ(&mut f, "E12345678");
        assert_eq!(f.doc_type, DocKind::Passport);
    }

    #[test]
    fn employer_suggestion_is_one_tab() {
        let mut f = FormState::new(today());
        f.employers = vec!["某某快递有限公司".into(), "另一家".into()];
        f.focus = Field::Employer;
        press(&mut f, KeyCode::Tab);
        assert_eq!(f.text(Field::Employer), "某某快递有限公司");
        assert_eq!(f.focus, Field::Consent);
    }

    #[test]
    fn draft_round_trip() {
        let input = MemberInput {
            name: "张三".into(),
            political_status: "13".into(),
            needs: "skills,夜校".into(),
            ..Default::default()
        };
        let f = FormState::from_input(&input, today());
        assert_eq!(f.text(Field::Name), "张三");
        assert_eq!(f.choice(Field::PoliticalStatus), Some("13"));
        let back = FormState::from_input(&f.to_input(), today());
        assert_eq!(back.to_input(), f.to_input());
        assert_eq!(back.to_input().needs, "skills,夜校");
    }

    #[test]
    fn letters_switch_to_passport() {
        let mut f = FormState::new(today());
        f.focus = Field::IdNumber;
        typ(&mut f, "E12345678");
        assert_eq!(f.doc_type, DocKind::Passport);
    }

    #[test]
    fn tab_walks_every_field_and_both_parts_of_needs() {
        let mut f = FormState::new(today());
        let mut seen = vec![(f.focus, 0)];
        for _ in 0..15 {
            press(&mut f, KeyCode::Tab);
            seen.push((f.focus, f.kind(f.focus).unwrap().focus_line()));
        }
        assert_eq!(seen.len(), 16);
        assert_eq!(seen[13], (Field::Needs, 1), "the free text after the list");
        assert_eq!(seen[14], (Field::Remarks, 0));
        assert_eq!(seen[15], (Field::Name, 0), "round again");
        let back = f.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
        assert!(matches!(back, Outcome::Taken));
        assert_eq!(f.focus, Field::Remarks);
        press(&mut f, KeyCode::Esc);
        assert_eq!(
            (f.focus, f.kind(f.focus).unwrap().focus_line()),
            (Field::Needs, 1)
        );
    }

    #[test]
    fn keys_the_form_does_not_have_are_left_to_the_app() {
        let mut f = FormState::new(today());
        assert!(matches!(press(&mut f, KeyCode::F(1)), Outcome::Pass));
        let ctrl_q = f.handle_key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL));
        assert!(matches!(ctrl_q, Outcome::Pass));
        assert!(
            matches!(press(&mut f, KeyCode::F(8)), Outcome::Pass),
            "no one to reprint"
        );
        assert!(matches!(
            press(&mut f, KeyCode::F(6)),
            Outcome::Do(Action::Tally)
        ));
    }

    #[test]
    fn the_lists_strings_exist() {
        keys::assert_strings_exist(KEYS);
    }
}
