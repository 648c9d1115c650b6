//! The registration form: one screen, keyboard only.
//!
//! Required fields first (name, ID number, phone, employer, consent), then the optional ones.
//! Tab/Enter next, Shift-Tab (or Esc) previous. The ID number and the phone advance by
//! themselves once complete and valid, and the Enter a card reader sends after the number is
//! then swallowed, so a reader typing at full speed fills the form without a lost or doubled
//! step. Pick lists take one key per choice. Errors appear beside a field once it was left.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use crate::card::MemberNo;
use crate::i18n::{self, Lang};
use crate::member::document::{normalize_number, parse_document};
use crate::member::options::ListKind;
use crate::member::phone::normalize_phone;
use crate::member::{
    DocKind, Field, FieldError, IdFacts, MemberInput, Validated, Warning, validate,
};
use crate::store::Existing;
use crate::t;
use crate::tui::theme;
use crate::tui::widgets::input::TextInput;
use crate::tui::widgets::{fit, fits};

/// The form's fields, in Tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldId {
    Name,
    IdNumber,
    Phone,
    Employer,
    Consent,
    Ethnicity,
    PoliticalStatus,
    Education,
    Occupation,
    EmploymentForm,
    MigrantWorker,
    EmployerUscc,
    Needs,
    NeedsOther,
    Remarks,
}

pub const ORDER: [FieldId; 15] = [
    FieldId::Name,
    FieldId::IdNumber,
    FieldId::Phone,
    FieldId::Employer,
    FieldId::Consent,
    FieldId::Ethnicity,
    FieldId::PoliticalStatus,
    FieldId::Education,
    FieldId::Occupation,
    FieldId::EmploymentForm,
    FieldId::MigrantWorker,
    FieldId::EmployerUscc,
    FieldId::Needs,
    FieldId::NeedsOther,
    FieldId::Remarks,
];

impl FieldId {
    fn key(self) -> &'static str {
        match self {
            FieldId::Name => "name",
            FieldId::IdNumber => "id_number",
            FieldId::Phone => "phone",
            FieldId::Employer => "employer",
            FieldId::Consent => "consent",
            FieldId::Ethnicity => "ethnicity",
            FieldId::PoliticalStatus => "political_status",
            FieldId::Education => "education",
            FieldId::Occupation => "occupation",
            FieldId::EmploymentForm => "employment_form",
            FieldId::MigrantWorker => "migrant_worker",
            FieldId::EmployerUscc => "employer_uscc",
            FieldId::Needs => "needs",
            FieldId::NeedsOther => "needs_other",
            FieldId::Remarks => "remarks",
        }
    }

    /// The short label shown beside the field.
    pub fn label(self, lang: Lang) -> &'static str {
        i18n::text(lang, &format!("form.label.{}", self.key()))
    }

    /// The record field whose validation errors belong to this form field.
    fn of(field: Field) -> FieldId {
        match field {
            Field::Name => FieldId::Name,
            Field::DocType | Field::IdNumber => FieldId::IdNumber,
            Field::Phone => FieldId::Phone,
            Field::Employer => FieldId::Employer,
            Field::Consent => FieldId::Consent,
            Field::Ethnicity => FieldId::Ethnicity,
            Field::PoliticalStatus => FieldId::PoliticalStatus,
            Field::Education => FieldId::Education,
            Field::Occupation => FieldId::Occupation,
            Field::EmploymentForm => FieldId::EmploymentForm,
            Field::MigrantWorker => FieldId::MigrantWorker,
            Field::EmployerUscc => FieldId::EmployerUscc,
            Field::Needs => FieldId::Needs,
            Field::Remarks => FieldId::Remarks,
        }
    }

    fn list(self) -> Option<ListKind> {
        match self {
            FieldId::PoliticalStatus => Some(ListKind::PoliticalStatus),
            FieldId::Education => Some(ListKind::Education),
            FieldId::EmploymentForm => Some(ListKind::EmploymentForm),
            FieldId::Needs => Some(ListKind::Needs),
            _ => None,
        }
    }

    fn is_required(self) -> bool {
        matches!(
            self,
            FieldId::Name
                | FieldId::IdNumber
                | FieldId::Phone
                | FieldId::Employer
                | FieldId::Consent
        )
    }
}

/// What the form asks the app to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormAction {
    /// The content changed: save the draft; look the person up if the ID became valid.
    Changed,
    Submit,
}

#[derive(Clone, Debug)]
pub struct FormState {
    pub name: TextInput,
    pub doc_type: DocKind,
    pub id_number: TextInput,
    pub phone: TextInput,
    pub employer: TextInput,
    pub consent: bool,
    pub ethnicity: TextInput,
    pub political_status: Option<String>,
    pub education: Option<String>,
    pub occupation: TextInput,
    pub employment_form: Option<String>,
    pub migrant_worker: Option<bool>,
    pub employer_uscc: TextInput,
    pub needs: Vec<String>,
    pub needs_other: TextInput,
    pub remarks: TextInput,

    pub focus: FieldId,
    /// Fields the operator has left: their errors are shown.
    pub touched: BTreeSet<FieldId>,
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
            name: TextInput::new(40),
            doc_type: DocKind::ResidentId,
            id_number: TextInput::new(40),
            phone: TextInput::new(24),
            employer: TextInput::new(100),
            consent: false,
            ethnicity: TextInput::new(12),
            political_status: None,
            education: None,
            occupation: TextInput::new(50),
            employment_form: None,
            migrant_worker: None,
            employer_uscc: TextInput::new(24),
            needs: Vec::new(),
            needs_other: TextInput::new(100),
            remarks: TextInput::new(500),
            focus: FieldId::Name,
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
        f.name.set(&input.name);
        f.doc_type = input.doc_type;
        f.id_number.set(&input.id_number);
        f.phone.set(&input.phone);
        f.employer.set(&input.employer);
        f.consent = input.consent;
        f.ethnicity.set(
            &ListKind::Ethnicity
                .find(&input.ethnicity)
                .map(|c| c.zh.clone())
                .unwrap_or_else(|| input.ethnicity.clone()),
        );
        let pick = |kind: ListKind, raw: &str| kind.find(raw).map(|c| c.code.clone());
        f.political_status = pick(ListKind::PoliticalStatus, &input.political_status);
        f.education = pick(ListKind::Education, &input.education);
        f.occupation.set(&input.occupation);
        f.employment_form = pick(ListKind::EmploymentForm, &input.employment_form);
        f.migrant_worker = crate::member::record::parse_yes_no(&input.migrant_worker)
            .ok()
            .flatten();
        f.employer_uscc.set(&input.employer_uscc);
        let mut other = Vec::new();
        for part in input
            .needs
            .split([',', '，', '、', ';', '；'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match ListKind::Needs.find(part) {
                Some(c) if !f.needs.contains(&c.code) => f.needs.push(c.code.clone()),
                Some(_) => {}
                None => other.push(part.to_string()),
            }
        }
        f.needs_other.set(&other.join("、"));
        f.remarks.set(&input.remarks);
        f.revalidate();
        f
    }

    pub fn to_input(&self) -> MemberInput {
        let mut needs = self.needs.clone();
        if !self.needs_other.is_empty() {
            needs.push(self.needs_other.value());
        }
        MemberInput {
            name: self.name.value(),
            doc_type: self.doc_type,
            id_number: self.id_number.value(),
            phone: self.phone.value(),
            employer: self.employer.value(),
            consent: self.consent,
            ethnicity: self.ethnicity.value(),
            political_status: self.political_status.clone().unwrap_or_default(),
            education: self.education.clone().unwrap_or_default(),
            occupation: self.occupation.value(),
            employment_form: self.employment_form.clone().unwrap_or_default(),
            migrant_worker: match self.migrant_worker {
                Some(true) => "yes".into(),
                Some(false) => "no".into(),
                None => String::new(),
            },
            employer_uscc: self.employer_uscc.value(),
            needs: needs.join(","),
            remarks: self.remarks.value(),
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
    pub fn document(&self) -> Option<crate::member::Document> {
        parse_document(self.doc_type, &self.id_number.value(), self.today)
            .ok()
            .map(|p| p.document)
    }

    pub fn error_for(&self, id: FieldId) -> Option<&FieldError> {
        // Not while a field is first typed in; once it has been left, live — coming back to
        // fix it, the operator still sees what is wrong. All of them after a refused submit.
        let visible = self.show_all_errors || self.touched.contains(&id);
        if !visible {
            return None;
        }
        self.errors.iter().find(|e| FieldId::of(e.field) == id)
    }

    fn move_focus(&mut self, forward: bool) {
        self.touched.insert(self.focus);
        self.focus = crate::tui::widgets::cycle(&ORDER, self.focus, forward);
        self.suggestion = None;
    }

    pub fn focus_first_error(&mut self) {
        if let Some(e) = self.errors.first() {
            self.focus = FieldId::of(e.field);
        }
    }

    /// Employer suggestions matching what is typed.
    pub fn employer_suggestions(&self) -> Vec<&str> {
        let typed = self.employer.value();
        self.employers
            .iter()
            .filter(|e| typed.is_empty() || (e.contains(typed.trim()) && **e != typed))
            .map(String::as_str)
            .take(5)
            .collect()
    }

    fn text_mut(&mut self, id: FieldId) -> Option<&mut TextInput> {
        Some(match id {
            FieldId::Name => &mut self.name,
            FieldId::IdNumber => &mut self.id_number,
            FieldId::Phone => &mut self.phone,
            FieldId::Employer => &mut self.employer,
            FieldId::Ethnicity => &mut self.ethnicity,
            FieldId::Occupation => &mut self.occupation,
            FieldId::EmployerUscc => &mut self.employer_uscc,
            FieldId::NeedsOther => &mut self.needs_other,
            FieldId::Remarks => &mut self.remarks,
            _ => return None,
        })
    }

    fn text(&self, id: FieldId) -> Option<&TextInput> {
        Some(match id {
            FieldId::Name => &self.name,
            FieldId::IdNumber => &self.id_number,
            FieldId::Phone => &self.phone,
            FieldId::Employer => &self.employer,
            FieldId::Ethnicity => &self.ethnicity,
            FieldId::Occupation => &self.occupation,
            FieldId::EmployerUscc => &self.employer_uscc,
            FieldId::NeedsOther => &self.needs_other,
            FieldId::Remarks => &self.remarks,
            _ => return None,
        })
    }

    /// Pasted text goes to the focused text field (bracketed paste: one event).
    pub fn paste(&mut self, s: &str) -> Option<FormAction> {
        let focus = self.focus;
        let changed = self.text_mut(focus).is_some_and(|t| t.insert_str(s));
        changed.then(|| self.after_edit())
    }

    /// After an edit: validate, and move on if the ID number or phone just became complete.
    fn after_edit(&mut self) -> FormAction {
        // A number starting with a letter is a passport; back to the ID card when it is not.
        if self.focus == FieldId::IdNumber {
            let n = normalize_number(&self.id_number.value());
            let starts_alpha = DocKind::unstated(&n) == DocKind::Passport;
            // Only from the default: a travel permit chosen with Ctrl-D also starts with a letter.
            if starts_alpha && self.doc_type == DocKind::ResidentId {
                self.doc_type = DocKind::Passport;
            } else if !starts_alpha && self.doc_type == DocKind::Passport && n.len() >= 15 {
                self.doc_type = DocKind::ResidentId;
            }
        }
        self.revalidate();
        let complete = match self.focus {
            FieldId::IdNumber => {
                self.doc_type.is_id_family()
                    && normalize_number(&self.id_number.value()).len() == 18
                    && !self.errors.iter().any(|e| e.field == Field::IdNumber)
            }
            FieldId::Phone => {
                normalize_phone(&self.phone.value()).len() == 11
                    && !self.errors.iter().any(|e| e.field == Field::Phone)
            }
            _ => false,
        };
        if complete {
            self.move_focus(true);
            self.auto_advanced = true;
        }
        FormAction::Changed
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Option<FormAction> {
        let swallow = std::mem::take(&mut self.auto_advanced);
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('s') if ctrl => return Some(FormAction::Submit),
            KeyCode::Char('d') if ctrl && self.focus == FieldId::IdNumber => {
                let i = DocKind::ALL
                    .iter()
                    .position(|&k| k == self.doc_type)
                    .unwrap_or(0);
                self.doc_type = DocKind::ALL[(i + 1) % DocKind::ALL.len()];
                self.revalidate();
                return Some(FormAction::Changed);
            }
            KeyCode::Enter | KeyCode::Tab if swallow => return None,
            KeyCode::Enter | KeyCode::Tab => {
                if self.focus == FieldId::Employer {
                    self.accept_suggestion();
                }
                self.move_focus(true);
                return Some(FormAction::Changed);
            }
            KeyCode::BackTab | KeyCode::Esc => {
                self.move_focus(false);
                return None;
            }
            KeyCode::Up | KeyCode::Down if self.focus == FieldId::Employer => {
                let n = self.employer_suggestions().len();
                if n > 0 {
                    self.suggestion = Some(match (self.suggestion, key.code) {
                        (None, KeyCode::Down) => 0,
                        (None, _) => n - 1,
                        (Some(i), KeyCode::Down) => (i + 1) % n,
                        (Some(i), _) => (i + n - 1) % n,
                    });
                }
                return None;
            }
            KeyCode::Up => {
                self.move_focus(false);
                return None;
            }
            KeyCode::Down => {
                self.move_focus(true);
                return None;
            }
            _ => {}
        }
        let focus = self.focus;
        if let Some(input) = self.text_mut(focus) {
            let changed = input.handle_key(&key);
            if focus == FieldId::Employer && changed {
                self.suggestion = None;
            }
            return changed.then(|| self.after_edit());
        }
        let changed = match (focus, key.code) {
            (FieldId::Consent, KeyCode::Char('y' | 'Y' | '1' | ' ' | '是')) => {
                set(&mut self.consent, true)
            }
            (
                FieldId::Consent,
                KeyCode::Char('n' | 'N' | '0' | '否') | KeyCode::Backspace | KeyCode::Delete,
            ) => set(&mut self.consent, false),
            (FieldId::MigrantWorker, KeyCode::Char('y' | 'Y' | '1' | '是')) => {
                set(&mut self.migrant_worker, Some(true))
            }
            (FieldId::MigrantWorker, KeyCode::Char('n' | 'N' | '2' | '否')) => {
                set(&mut self.migrant_worker, Some(false))
            }
            (FieldId::MigrantWorker, KeyCode::Backspace | KeyCode::Delete) => {
                set(&mut self.migrant_worker, None)
            }
            (id, code) => match id.list() {
                Some(kind) => self.pick(id, kind, code),
                None => false,
            },
        };
        changed.then(|| {
            self.revalidate();
            FormAction::Changed
        })
    }

    /// One key per choice; Space cycles, Backspace clears. For needs, keys toggle.
    fn pick(&mut self, id: FieldId, kind: ListKind, code: KeyCode) -> bool {
        let choices = kind.choices();
        if id == FieldId::Needs {
            return match code {
                KeyCode::Char(c) => match choices.iter().find(|ch| ch.key == Some(c)) {
                    Some(ch) => {
                        if let Some(i) = self.needs.iter().position(|n| *n == ch.code) {
                            self.needs.remove(i);
                        } else {
                            self.needs.push(ch.code.clone());
                        }
                        true
                    }
                    None => false,
                },
                KeyCode::Backspace | KeyCode::Delete => !std::mem::take(&mut self.needs).is_empty(),
                _ => false,
            };
        }
        let slot = match id {
            FieldId::PoliticalStatus => &mut self.political_status,
            FieldId::Education => &mut self.education,
            FieldId::EmploymentForm => &mut self.employment_form,
            _ => return false,
        };
        let new = match code {
            KeyCode::Char(' ') => {
                let i = slot
                    .as_ref()
                    .and_then(|s| choices.iter().position(|c| c.code == *s))
                    .map_or(0, |i| (i + 1) % choices.len());
                Some(choices[i].code.clone())
            }
            KeyCode::Char(c) => match choices.iter().find(|ch| ch.key == Some(c)) {
                Some(ch) => Some(ch.code.clone()),
                None => return false,
            },
            KeyCode::Backspace | KeyCode::Delete => None,
            _ => return false,
        };
        set(slot, new)
    }

    fn accept_suggestion(&mut self) {
        let list = self.employer_suggestions();
        let chosen = match self.suggestion {
            Some(i) => list.get(i).map(|s| s.to_string()),
            None if self.employer.is_empty() => list.first().map(|s| s.to_string()),
            None => None,
        };
        if let Some(s) = chosen {
            self.employer.set(&s);
            self.revalidate();
        }
        self.suggestion = None;
    }
}

fn set<T: PartialEq>(slot: &mut T, value: T) -> bool {
    if *slot == value {
        false
    } else {
        *slot = value;
        true
    }
}

// ------------------------------------------------------------------ rendering

const LABEL_W: u16 = 12;
const INPUT_W: u16 = 30;

impl FormState {
    fn value_text(&self, id: FieldId, lang: Lang) -> String {
        let dash = "—".to_string();
        let label = |kind: ListKind, code: &Option<String>| {
            code.as_deref()
                .map(|c| kind.label(c, lang))
                .unwrap_or_else(|| dash.clone())
        };
        match id {
            FieldId::Consent => {
                if self.consent {
                    format!("[✓] {}", t!(lang, "common.yes"))
                } else {
                    "[ ]".into()
                }
            }
            FieldId::MigrantWorker => match self.migrant_worker {
                Some(true) => t!(lang, "common.yes").into(),
                Some(false) => t!(lang, "common.no").into(),
                None => dash,
            },
            FieldId::PoliticalStatus => label(ListKind::PoliticalStatus, &self.political_status),
            FieldId::Education => label(ListKind::Education, &self.education),
            FieldId::EmploymentForm => label(ListKind::EmploymentForm, &self.employment_form),
            FieldId::Needs => {
                if self.needs.is_empty() {
                    dash
                } else {
                    self.needs
                        .iter()
                        .map(|c| ListKind::Needs.label(c, lang))
                        .collect::<Vec<_>>()
                        .join(match lang {
                            Lang::Zh => "、",
                            Lang::En => ", ",
                        })
                }
            }
            _ => String::new(),
        }
    }

    /// The note right of a field: its error, the derived facts, a match, a hint.
    fn note(&self, id: FieldId, lang: Lang) -> Option<(String, Style)> {
        // The ID number's errors are long: they go on the full-width line below it.
        if let Some(e) = self.error_for(id).filter(|_| id != FieldId::IdNumber) {
            return Some((e.reason.message(lang), theme::error()));
        }
        match id {
            FieldId::IdNumber => {
                let kind = self.doc_type.label(lang);
                Some((format!("{kind} · Ctrl-D"), theme::dim()))
            }
            FieldId::Ethnicity if !self.ethnicity.is_empty() => ListKind::Ethnicity
                .find(&self.ethnicity.value())
                .map(|c| (format!("→ {}", c.label(lang)), theme::ok())),
            _ => None,
        }
    }

    /// The focused field's error, when the place beside it (or below, for the ID number) is
    /// too narrow to show it whole.
    fn cut_error(&self, area: Rect, lang: Lang) -> Option<(String, Style)> {
        let e = self.error_for(self.focus)?;
        let message = e.reason.message(lang);
        // as `note` and `derived_line` draw it
        let (shown, room) = if self.focus == FieldId::IdNumber {
            (format!("✗ {message}"), area.width.saturating_sub(LABEL_W))
        } else {
            (
                message.clone(),
                area.width.saturating_sub(LABEL_W + INPUT_W + 1),
            )
        };
        (!fits(&shown, room as usize)).then(|| {
            (
                format!("✗ {}: {message}", self.focus.label(lang)),
                theme::error(),
            )
        })
    }

    /// The hint line for the focused field (choices, consent text, keys).
    fn hint(&self, lang: Lang) -> String {
        let choices = |kind: ListKind| {
            kind.choices()
                .iter()
                .filter_map(|c| c.key.map(|k| format!("{k} {}", c.label(lang))))
                .collect::<Vec<_>>()
                .join("  ")
        };
        match self.focus {
            FieldId::Consent => t!(lang, "form.hint.consent").into(),
            FieldId::MigrantWorker => t!(lang, "form.hint.yes_no").into(),
            FieldId::Ethnicity => t!(lang, "form.hint.ethnicity").into(),
            FieldId::IdNumber => t!(lang, "form.hint.id_number").into(),
            FieldId::Employer if !self.employers.is_empty() => {
                t!(lang, "form.hint.employer").into()
            }
            FieldId::Needs => format!(
                "{}  ({})",
                choices(ListKind::Needs),
                t!(lang, "form.hint.toggle")
            ),
            id => match id.list() {
                Some(kind) => choices(kind),
                None => t!(lang, "form.hint.keys").into(),
            },
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, lang: Lang) {
        let buf = frame.buffer_mut();
        let mut y = area.y;
        let bottom = area.y + area.height;
        let mut cursor: Option<Position> = None;

        // Title line: new registration or editing.
        let title = match &self.editing {
            Some(no) => t!(lang, "form.editing", member_no = no),
            None => t!(lang, "form.title").to_string(),
        };
        buf.set_stringn(area.x, y, &title, area.width as usize, theme::title());
        y += 1;

        for (i, &id) in ORDER.iter().enumerate() {
            if y >= bottom.saturating_sub(1) {
                break;
            }
            if i == 5 {
                let sep = format!("── {} ", t!(lang, "form.optional"));
                buf.set_stringn(area.x, y, &sep, area.width as usize, theme::dim());
                y += 1;
            }
            let focused = self.focus == id;
            let mut label = id.label(lang).to_string();
            if id.is_required() {
                label.push('*');
            }
            let label_style = if focused {
                theme::focused_label()
            } else {
                theme::label()
            };
            buf.set_stringn(area.x, y, &label, LABEL_W as usize, label_style);
            let input_area = Rect::new(
                area.x + LABEL_W,
                y,
                INPUT_W.min(area.width.saturating_sub(LABEL_W)),
                1,
            );
            let input_style = if focused {
                theme::focused_input()
            } else {
                theme::input()
            };
            match self.text(id) {
                Some(input) => {
                    let pos = input.render(input_area, buf, input_style, false);
                    if focused {
                        cursor = Some(pos);
                    }
                }
                None => {
                    let v = self.value_text(id, lang);
                    buf.set_stringn(
                        input_area.x,
                        y,
                        " ".repeat(input_area.width as usize),
                        input_area.width as usize,
                        input_style,
                    );
                    buf.set_stringn(input_area.x, y, &v, input_area.width as usize, input_style);
                }
            }
            let note_x = area.x + LABEL_W + INPUT_W + 1;
            if note_x < area.x + area.width
                && let Some((note, style)) = self.note(id, lang)
            {
                let room = (area.x + area.width - note_x) as usize;
                buf.set_stringn(note_x, y, fit(&note, room), room, style);
            }
            y += 1;
            // Below the ID number: what it says, or who already has it.
            if id == FieldId::IdNumber {
                let line = self.derived_line(lang);
                if let Some((text, style)) = line {
                    let room = (area.width - LABEL_W) as usize;
                    buf.set_stringn(area.x + LABEL_W, y, fit(&text, room), room, style);
                }
                y += 1;
            }
            // Employer suggestions, when focused.
            if id == FieldId::Employer && focused {
                let sugg = self.employer_suggestions();
                if !sugg.is_empty() {
                    let mut spans = vec![Span::styled(
                        format!("{} ", t!(lang, "form.suggest")),
                        theme::dim(),
                    )];
                    for (k, s) in sugg.iter().enumerate() {
                        let style = if self.suggestion == Some(k)
                            || (self.suggestion.is_none() && k == 0 && self.employer.is_empty())
                        {
                            theme::selected()
                        } else {
                            theme::dim()
                        };
                        spans.push(Span::styled(
                            crate::member::text::display_safe(s).into_owned(),
                            style,
                        ));
                        spans.push(Span::raw("  "));
                    }
                    // on the line above the hints, where nothing else is drawn
                    frame_line(
                        buf,
                        Rect::new(
                            area.x + LABEL_W,
                            bottom.saturating_sub(2),
                            area.width - LABEL_W,
                            1,
                        ),
                        Line::from(spans),
                    );
                }
            }
        }
        // Hint line at the bottom; the focused field's error instead, whole, when it did not
        // fit beside the field (English at 80 columns).
        let hint = match self.cut_error(area, lang) {
            Some(e) => e,
            None => (self.hint(lang), theme::hint()),
        };
        buf.set_stringn(
            area.x,
            bottom.saturating_sub(1),
            " ".repeat(area.width as usize),
            area.width as usize,
            Style::default(),
        );
        let suggesting = self.focus == FieldId::Employer && !self.employer_suggestions().is_empty();
        if suggesting || fits(&hint.0, area.width as usize) {
            buf.set_stringn(
                area.x,
                bottom.saturating_sub(1),
                fit(&hint.0, area.width as usize),
                area.width as usize,
                hint.1,
            );
        } else {
            // two lines: the one above is only ever the employer suggestions' (not shown now)
            let two = Rect::new(area.x, bottom.saturating_sub(2), area.width, 2);
            Clear.render(two, buf);
            Paragraph::new(hint.0)
                .style(hint.1)
                .wrap(Wrap { trim: true })
                .render(two, buf);
        }
        if let Some(p) = cursor {
            frame.set_cursor_position(p);
        }
    }

    fn derived_line(&self, lang: Lang) -> Option<(String, Style)> {
        if let Some(e) = self.error_for(FieldId::IdNumber) {
            return Some((format!("✗ {}", e.reason.message(lang)), theme::error()));
        }
        if let Some(e) = &self.existing
            && self.editing.as_ref() != Some(&e.member_no)
        {
            // short enough for 80 columns, the key first-class
            return Some((
                t!(
                    lang,
                    "form.existing",
                    name = e.display_name(),
                    date = e.created_at.format("%Y-%m-%d"),
                    member_no = e.member_no
                ),
                theme::warn(),
            ));
        }
        let f = self.facts.as_ref()?;
        let mut s = t!(
            lang,
            "form.derived",
            birth = f.birth_date,
            gender = f.gender.label(lang),
            age = crate::member::document::age_on(f.birth_date, self.today)
        );
        if let Some(r) = &f.region {
            s.push_str(" · ");
            s.push_str(&r.name);
        }
        if self.warnings.contains(&Warning::UnknownCounty) {
            s.push_str(" · ");
            s.push_str(t!(lang, "form.unknown_county"));
        }
        Some((s, theme::ok()))
    }
}

fn frame_line(buf: &mut ratatui::buffer::Buffer, area: Rect, line: Line) {
    Paragraph::new(line).render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEvent;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    fn typ(f: &mut FormState, s: &str) -> Vec<FormAction> {
        s.chars()
            .filter_map(|c| f.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)))
            .collect()
    }

    fn press(f: &mut FormState, code: KeyCode) -> Option<FormAction> {
        f.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn a_card_reader_fills_id_and_phone_without_losing_a_step() {
        let mut f = FormState::new(today());
        typ(&mut f, "葛婷婷");
        press(&mut f, KeyCode::Enter);
        assert_eq!(f.focus, FieldId::IdNumber);
        typ(&mut f, "11010519491231002X");
        assert_eq!(
            f.focus,
            FieldId::Phone,
            "auto-advance after 18 valid characters"
        );
        press(&mut f, KeyCode::Enter); // the reader's Enter: swallowed
        assert_eq!(f.focus, FieldId::Phone);
        typ(&mut f, "13800138000");
        assert_eq!(f.focus, FieldId::Employer);
        assert!(f.facts.is_some());
        typ(&mut f, "某公司");
        press(&mut f, KeyCode::Tab);
        typ(&mut f, "y");
        assert!(f.consent);
        assert!(
            press(&mut f, KeyCode::Char('s')).is_none(),
            "'s' alone is not a consent key"
        );
        let ctrl_s = f.handle_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL));
        assert_eq!(ctrl_s, Some(FormAction::Submit));
        assert!(f.validated().is_ok());
    }

    #[test]
    fn an_invalid_id_does_not_advance_and_shows_its_error_once_left() {
        let mut f = FormState::new(today());
        f.focus = FieldId::IdNumber;
        typ(&mut f, "110105194912310021");
        assert_eq!(f.focus, FieldId::IdNumber);
        assert!(f.error_for(FieldId::IdNumber).is_none(), "not while typing");
        press(&mut f, KeyCode::Tab);
        assert!(f.error_for(FieldId::IdNumber).is_some());
    }

    #[test]
    fn pick_lists_take_one_key() {
        let mut f = FormState::new(today());
        f.focus = FieldId::EmploymentForm;
        typ(&mut f, "5");
        assert_eq!(f.employment_form.as_deref(), Some("food_delivery"));
        f.focus = FieldId::Needs;
        typ(&mut f, "12");
        assert_eq!(f.needs, vec!["legal_aid", "skills"]);
        typ(&mut f, "1");
        assert_eq!(f.needs, vec!["skills"]);
        f.focus = FieldId::Ethnicity;
        typ(&mut f, "汉");
        assert!(f.errors.iter().all(|e| e.field != Field::Ethnicity));
    }

    #[test]
    fn employer_suggestion_is_one_tab() {
        let mut f = FormState::new(today());
        f.employers = vec!["某某快递有限公司".into(), "另一家".into()];
        f.focus = FieldId::Employer;
        press(&mut f, KeyCode::Tab);
        assert_eq!(f.employer.value(), "某某快递有限公司");
        assert_eq!(f.focus, FieldId::Consent);
    }

    #[test]
    fn draft_round_trip() {
        let mut f = FormState::new(today());
        typ(&mut f, "张三");
        f.needs = vec!["skills".into()];
        f.needs_other.set("夜校");
        f.political_status = Some("13".into());
        let back = FormState::from_input(&f.to_input(), today());
        assert_eq!(back.to_input(), f.to_input());
    }

    #[test]
    fn letters_switch_to_passport() {
        let mut f = FormState::new(today());
        f.focus = FieldId::IdNumber;
        typ(&mut f, "E12345678");
        assert_eq!(f.doc_type, DocKind::Passport);
    }
}
