//! The registration form: one screen, keyboard only.
//!
//! Required fields first (name, ID number, phone, employer, consent), then the optional ones.
//! Tab/Enter next, Shift-Tab (or Esc) previous. The ID number and the phone advance by
//! themselves once complete and valid, and the Enter a card reader sends after the number is
//! then swallowed, so a reader typing at full speed fills the form without a lost or doubled
//! step. Pick lists take one key per choice. Errors appear beside a field once it was left.
//!
//! Every field is a [`member::Field`](crate::member::Field) with a [`Kind`] (text, pick list,
//! yes/no, consent, several picks); the kind takes the keys the form leaves to the field.

mod fields;
mod view;

use std::collections::BTreeSet;

use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent};

pub use fields::{Consent, Kind, MultiPick, Pick, YesNo};

use super::Outcome;
use crate::card::MemberNo;
use crate::i18n::{self, Lang};
use crate::member::document::parse_document;
use crate::member::entry::{id_complete, kind_while_typing, phone_complete};
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
    /// Today's employers, most frequent first (suggestions for a depot signing many).
    pub employers: Vec<String>,
    pub suggestion: Option<usize>,
    /// The last key advanced the focus by itself: a following Enter/Tab is swallowed.
    pub auto_advanced: bool,
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
            employers: Vec::new(),
            suggestion: None,
            auto_advanced: false,
            editing: None,
            today,
        }
    }

    /// The form filled from a saved draft or a stored record.
    pub fn from_input(input: &MemberInput, today: NaiveDate) -> FormState {
        let mut f = FormState::new(today);
        f.doc_type = input.doc_type;
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
        if !visible {
            return None;
        }
        self.errors.iter().find(|e| shown_at(e.field) == field)
    }

    fn move_focus(&mut self, forward: bool) {
        self.touched.insert(self.focus);
        self.suggestion = None;
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

    /// Pasted text goes to the focused text field (bracketed paste: one event).
    pub fn paste(&mut self, s: &str) -> Option<Action> {
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
            self.doc_type = kind_while_typing(self.doc_type, &self.text(Field::IdNumber));
        }
        self.revalidate();
        let complete = match self.focus {
            Field::IdNumber => id_complete(self.doc_type, &self.text(Field::IdNumber), self.today),
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
        match cmd {
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
                let i = DocKind::ALL
                    .iter()
                    .position(|&k| k == self.doc_type)
                    .unwrap_or(0);
                self.doc_type = DocKind::ALL[(i + 1) % DocKind::ALL.len()];
                self.revalidate();
                Outcome::Do(Action::FormChanged)
            }
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
                    self.suggestion = Some(match (self.suggestion, key.code) {
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
        let Some(kind) = self.kind_mut(focus) else {
            return Outcome::Pass;
        };
        match kind.handle_key(key) {
            Edit::Pass => Outcome::Pass,
            Edit::Taken => Outcome::Taken,
            Edit::Changed => {
                if focus == Field::Employer {
                    self.suggestion = None;
                }
                Outcome::Do(self.after_edit())
            }
        }
    }

    fn accept_suggestion(&mut self) {
        let list = self.employer_suggestions();
        let chosen = match self.suggestion {
            Some(i) => list.get(i).map(|s| s.to_string()),
            None if self.text(Field::Employer).is_empty() => list.first().map(|s| s.to_string()),
            None => None,
        };
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
            matches!(press(&mut f, KeyCode::Char('s')), Outcome::Pass),
            "'s' alone is not a consent key"
        );
        let ctrl_s = f.handle_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL));
        assert!(matches!(ctrl_s, Outcome::Do(Action::Submit)));
        assert!(f.validated().is_ok());
    }

    #[test]
    fn an_invalid_id_does_not_advance_and_shows_its_error_once_left() {
        let mut f = FormState::new(today());
        f.focus = Field::IdNumber;
        typ(&mut f, "110105194912310021");
        assert_eq!(f.focus, Field::IdNumber);
        assert!(f.error_for(Field::IdNumber).is_none(), "not while typing");
        press(&mut f, KeyCode::Tab);
        assert!(f.error_for(Field::IdNumber).is_some());
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
