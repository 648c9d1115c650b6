//! The kinds of form field: free text, a pick list, yes/no, consent, several picks. Each kind
//! has one key handler and one render; the form only chooses which field has the keys.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;

use crate::i18n::Lang;
use crate::member::options::ListKind;
use crate::t;
use crate::tui::keys::{self, BACKSPACE, Binding, DELETE, Key, SPACE};
use crate::tui::widgets::input::{Edit, TextInput};

/// How a field is typed in, and what it holds.
#[derive(Clone, Debug)]
pub enum Kind {
    Text(TextInput),
    Pick(Pick),
    YesNo(YesNo),
    Consent(Consent),
    MultiPick(MultiPick),
}

impl Kind {
    pub fn handle_key(&mut self, key: &KeyEvent) -> Edit {
        match self {
            Kind::Text(t) => t.handle_key(key),
            Kind::Pick(p) => p.handle_key(key),
            Kind::YesNo(y) => y.handle_key(key),
            Kind::Consent(c) => c.handle_key(key),
            Kind::MultiPick(m) => m.handle_key(key),
        }
    }

    /// Lines the field takes in the form.
    pub fn height(&self) -> u16 {
        match self {
            Kind::MultiPick(_) => 2,
            _ => 1,
        }
    }

    /// The line that has the keys while the field has the focus.
    pub fn focus_line(&self) -> u16 {
        match self {
            Kind::MultiPick(m) if m.in_other => 1,
            _ => 0,
        }
    }

    /// Draws line `line` of the value into `area` (one line); where the cursor goes, for a
    /// text being typed in.
    pub fn render(
        &self,
        line: u16,
        area: Rect,
        buf: &mut Buffer,
        style: Style,
        lang: Lang,
    ) -> Option<Position> {
        let value = match self {
            Kind::Text(t) => return Some(t.render(area, buf, style, false)),
            Kind::MultiPick(m) if line == 1 => {
                return Some(m.other.render(area, buf, style, false));
            }
            Kind::Pick(p) => p.value_text(lang),
            Kind::YesNo(y) => y.value_text(lang),
            Kind::Consent(c) => c.value_text(lang),
            Kind::MultiPick(m) => m.value_text(lang),
        };
        let width = area.width as usize;
        buf.set_stringn(area.x, area.y, " ".repeat(width), width, style);
        buf.set_stringn(area.x, area.y, &value, width, style);
        None
    }

    /// The hint line while the field has the keys, for kinds that have their own.
    pub fn hint(&self, lang: Lang) -> Option<String> {
        match self {
            Kind::Text(_) => None,
            Kind::Pick(p) => Some(choice_keys(p.list, lang)),
            Kind::YesNo(_) => Some(keys::hint_line(YES_NO, lang, "  ", |_| true)),
            Kind::Consent(_) => Some(t!(
                lang,
                "form.hint.consent",
                keys = keys::hint_line(CONSENT, lang, "  ", |_| true)
            )),
            Kind::MultiPick(m) if m.in_other => None,
            Kind::MultiPick(m) => Some(format!(
                "{}  ({})",
                choice_keys(m.list, lang),
                t!(lang, "form.hint.toggle")
            )),
        }
    }

    /// The text being typed in, if the field (or its focused part) is one.
    pub fn text_mut(&mut self) -> Option<&mut TextInput> {
        match self {
            Kind::Text(t) => Some(t),
            Kind::MultiPick(m) if m.in_other => Some(&mut m.other),
            _ => None,
        }
    }
}

/// "1 劳动合同制  2 劳务派遣 …": the key of every choice that has one.
fn choice_keys(list: ListKind, lang: Lang) -> String {
    list.choices()
        .iter()
        .filter_map(|c| c.key.map(|k| format!("{k} {}", c.label(lang))))
        .collect::<Vec<_>>()
        .join("  ")
}

/// The choice whose key was pressed.
fn choice_for(list: ListKind, key: &KeyEvent) -> Option<&'static str> {
    let KeyCode::Char(c) = key.code else {
        return None;
    };
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return None;
    }
    let chosen = list.choices().iter().find(|ch| ch.key == Some(c))?;
    Some(chosen.code.as_str())
}

fn set<T: PartialEq>(slot: &mut T, value: T) -> Edit {
    if *slot == value {
        Edit::Taken
    } else {
        *slot = value;
        Edit::Changed
    }
}

const DASH: &str = "—";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ListCmd {
    Cycle,
    Clear,
}

/// Keys of a pick list besides the choices' own.
const PICK: &[Binding<ListCmd>] = &[
    Binding::new(ListCmd::Cycle, &[SPACE]).help("help.form.cycle"),
    Binding::new(ListCmd::Clear, &[BACKSPACE])
        .also(&[DELETE])
        .help("help.form.clear_choice"),
];

/// The help of the kinds' keys that are not in their hint lines (text fields and lists).
pub fn help_lines(lang: Lang) -> Vec<String> {
    let mut lines = keys::help_lines(crate::tui::widgets::input::KEYS, lang);
    lines.extend(keys::help_lines(PICK, lang));
    lines
}

/// One of a list, one key per choice.
#[derive(Clone, Debug)]
pub struct Pick {
    pub list: ListKind,
    /// The chosen code.
    pub value: Option<String>,
}

impl Pick {
    pub fn new(list: ListKind) -> Pick {
        Pick { list, value: None }
    }

    fn handle_key(&mut self, key: &KeyEvent) -> Edit {
        let choices = self.list.choices();
        let new = match keys::find(PICK, key, |_| true) {
            Some(ListCmd::Cycle) => {
                let i = self
                    .value
                    .as_ref()
                    .and_then(|s| choices.iter().position(|c| c.code == *s))
                    .map_or(0, |i| (i + 1) % choices.len());
                Some(choices[i].code.clone())
            }
            Some(ListCmd::Clear) => None,
            None => match choice_for(self.list, key) {
                Some(code) => Some(code.to_string()),
                None => return Edit::Pass,
            },
        };
        set(&mut self.value, new)
    }

    fn value_text(&self, lang: Lang) -> String {
        self.value
            .as_deref()
            .map(|c| self.list.label(c, lang))
            .unwrap_or_else(|| DASH.into())
    }
}

/// Several of a list (keys toggle), and free text for what the list lacks, on a line of its
/// own with the keys of a text field.
#[derive(Clone, Debug)]
pub struct MultiPick {
    pub list: ListKind,
    /// Chosen codes, in the order chosen.
    pub values: Vec<String>,
    pub other: TextInput,
    /// The string key of the free text's label.
    pub other_label: &'static str,
    /// The free text has the keys, not the list.
    pub in_other: bool,
}

/// Keys of a multi-pick list besides the choices' own.
const MULTI: &[Binding<ListCmd>] = &[Binding::new(ListCmd::Clear, &[BACKSPACE]).also(&[DELETE])];

impl MultiPick {
    pub fn new(list: ListKind, other_max: usize, other_label: &'static str) -> MultiPick {
        MultiPick {
            list,
            values: Vec::new(),
            other: TextInput::new(other_max),
            other_label,
            in_other: false,
        }
    }

    fn handle_key(&mut self, key: &KeyEvent) -> Edit {
        if self.in_other {
            return self.other.handle_key(key);
        }
        if let Some(ListCmd::Clear) = keys::find(MULTI, key, |_| true) {
            return if std::mem::take(&mut self.values).is_empty() {
                Edit::Taken
            } else {
                Edit::Changed
            };
        }
        let Some(code) = choice_for(self.list, key) else {
            return Edit::Pass;
        };
        match self.values.iter().position(|n| n == code) {
            Some(i) => {
                self.values.remove(i);
            }
            None => self.values.push(code.to_string()),
        }
        Edit::Changed
    }

    /// Tab inside the field: from the list to the free text and back. False when the step
    /// leaves the field.
    pub fn step(&mut self, forward: bool) -> bool {
        if forward != self.in_other {
            self.in_other = forward;
            true
        } else {
            false
        }
    }

    /// The focus arrives: from before, on the list; from after, on the free text.
    pub fn enter(&mut self, forward: bool) {
        self.in_other = !forward;
    }

    fn value_text(&self, lang: Lang) -> String {
        if self.values.is_empty() {
            return DASH.into();
        }
        self.values
            .iter()
            .map(|c| self.list.label(c, lang))
            .collect::<Vec<_>>()
            .join(match lang {
                Lang::Zh => "、",
                Lang::En => ", ",
            })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum YesNoCmd {
    Yes,
    No,
    Clear,
}

const YES_NO: &[Binding<YesNoCmd>] = &[
    Binding::new(YesNoCmd::Yes, &[Key::char('y')])
        .also(&[Key::char('1'), Key::char('是')])
        .hint("keys.yes"),
    Binding::new(YesNoCmd::No, &[Key::char('n')])
        .also(&[Key::char('2'), Key::char('否')])
        .hint("keys.no"),
    Binding::new(YesNoCmd::Clear, &[BACKSPACE])
        .also(&[DELETE])
        .hint("keys.clear"),
];

/// Yes, no, or not asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct YesNo(pub Option<bool>);

impl YesNo {
    fn handle_key(&mut self, key: &KeyEvent) -> Edit {
        let new = match keys::find(YES_NO, key, |_| true) {
            Some(YesNoCmd::Yes) => Some(true),
            Some(YesNoCmd::No) => Some(false),
            Some(YesNoCmd::Clear) => None,
            None => return Edit::Pass,
        };
        set(&mut self.0, new)
    }

    fn value_text(&self, lang: Lang) -> String {
        match self.0 {
            Some(true) => t!(lang, "common.yes").into(),
            Some(false) => t!(lang, "common.no").into(),
            None => DASH.into(),
        }
    }
}

const CONSENT: &[Binding<bool>] = &[
    Binding::new(true, &[Key::char('y')])
        .also(&[Key::char('1'), SPACE, Key::char('是')])
        .hint("keys.consent.yes"),
    Binding::new(false, &[Key::char('n')])
        .also(&[Key::char('0'), Key::char('否'), BACKSPACE, DELETE])
        .hint("keys.consent.no"),
];

/// The worker's explicit yes to the processing of sensitive personal information.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Consent(pub bool);

impl Consent {
    fn handle_key(&mut self, key: &KeyEvent) -> Edit {
        match keys::find(CONSENT, key, |_| true) {
            Some(yes) => set(&mut self.0, yes),
            None => Edit::Pass,
        }
    }

    fn value_text(&self, lang: Lang) -> String {
        if self.0 {
            format!("[✓] {}", t!(lang, "common.yes"))
        } else {
            "[ ]".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(k: &mut Kind, code: KeyCode) -> Edit {
        k.handle_key(&KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn each_kind_takes_its_own_keys() {
        let mut c = Kind::Consent(Consent::default());
        assert_eq!(press(&mut c, KeyCode::Char('x')), Edit::Pass);
        assert_eq!(press(&mut c, KeyCode::Char('是')), Edit::Changed);
        assert_eq!(
            press(&mut c, KeyCode::Char('Y')),
            Edit::Taken,
            "already yes"
        );
        let mut y = Kind::YesNo(YesNo::default());
        assert_eq!(press(&mut y, KeyCode::Char('2')), Edit::Changed);
        assert!(matches!(y, Kind::YesNo(YesNo(Some(false)))));
        let mut p = Kind::Pick(Pick::new(ListKind::EmploymentForm));
        assert_eq!(press(&mut p, KeyCode::Char(' ')), Edit::Changed);
        assert_eq!(press(&mut p, KeyCode::Backspace), Edit::Changed);
        assert_eq!(press(&mut p, KeyCode::Tab), Edit::Pass);
    }

    #[test]
    fn several_picks_and_a_free_text_in_one_field() {
        let mut m = MultiPick::new(ListKind::Needs, 100, "form.label.needs_other");
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        m.handle_key(&key('1'));
        m.handle_key(&key('2'));
        m.handle_key(&key('1'));
        assert_eq!(m.values, vec!["skills"]);
        assert!(m.step(true), "Tab goes to the free text");
        m.handle_key(&key('1'));
        assert_eq!(m.other.value(), "1");
        assert!(!m.step(true), "and the next Tab leaves the field");
        m.enter(false);
        assert!(m.in_other, "Shift-Tab from below lands on the free text");
    }

    #[test]
    fn the_lists_strings_exist() {
        keys::assert_strings_exist(PICK);
        keys::assert_strings_exist(YES_NO);
        keys::assert_strings_exist(CONSENT);
    }
}
