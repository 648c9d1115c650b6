//! The upload screen's entry for the enrolment code and the office's certificate file, so a
//! cadre sets up the upload without a shell (`booth enroll`, `--ca`). What is typed is checked
//! by the app ([`crate::sync::enrol`]) when Enter is pressed; a refusal comes back to
//! [`EnrolEntry::refused`] and stays beside the field it is about.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use unicode_width::UnicodeWidthStr;

use crate::i18n::Lang;
use crate::t;
use crate::tui::action::{Action, EnrolInput};
use crate::tui::keys::{self, BACK_TAB, Binding, DOWN, ENTER, TAB, UP};
use crate::tui::screens::Outcome;
use crate::tui::theme;
use crate::tui::widgets::input::{Edit, TextInput};
use crate::tui::widgets::wrapped;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryField {
    Code,
    Ca,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Submit,
    Next,
    Back,
}

const KEYS: &[Binding<Cmd>] = &[
    Binding::new(Cmd::Submit, &[ENTER])
        .hint("keys.enrol.submit")
        .help("help.enrol.submit"),
    Binding::new(Cmd::Next, &[TAB])
        .also(&[DOWN])
        .hint("keys.next")
        .help("help.enrol.next"),
    Binding::new(Cmd::Back, &[BACK_TAB]).also(&[UP]),
];

/// F1 while the entry is open.
pub fn help(lang: Lang) -> Vec<String> {
    keys::help_lines(KEYS, lang)
}

/// The key hints of the entry.
pub fn hint_line(lang: Lang) -> String {
    keys::hint_line(KEYS, lang, "   ", |_| true)
}

#[derive(Clone, Debug)]
pub struct EnrolEntry {
    pub code: TextInput,
    pub ca: TextInput,
    pub focus: EntryField,
    /// The refusal of what was entered, and the field it is about.
    pub error: Option<(EntryField, String)>,
}

impl EnrolEntry {
    /// An empty code; the certificate file the laptop has now, if any (emptied, it is
    /// dropped).
    pub fn new(ca: Option<&str>) -> EnrolEntry {
        let mut e = EnrolEntry {
            code: TextInput::new(2048),
            ca: TextInput::new(1024),
            focus: EntryField::Code,
            error: None,
        };
        e.ca.set(ca.unwrap_or_default());
        e
    }

    fn input(&mut self) -> &mut TextInput {
        match self.focus {
            EntryField::Code => &mut self.code,
            EntryField::Ca => &mut self.ca,
        }
    }

    pub fn paste(&mut self, s: &str) {
        // a code pasted (also while the certificate field has the focus) is the whole code:
        // it replaces one pasted before rather than running on from it
        if s.trim_start().starts_with(crate::card::enrol::PREFIX) {
            self.focus = EntryField::Code;
            self.code.set("");
        }
        self.input().insert_str(s);
    }

    pub fn refused(&mut self, field: EntryField, message: String) {
        self.focus = field;
        self.error = Some((field, message));
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        match keys::find(KEYS, &key, |_| true) {
            Some(Cmd::Submit) => Outcome::Do(Action::Enroll(Box::new(EnrolInput {
                code: zeroize::Zeroizing::new(self.code.value()),
                ca: self.ca.value(),
            }))),
            Some(Cmd::Next | Cmd::Back) => {
                self.focus = match self.focus {
                    EntryField::Code => EntryField::Ca,
                    EntryField::Ca => EntryField::Code,
                };
                Outcome::Taken
            }
            None => match self.input().handle_key(&key) {
                Edit::Pass => Outcome::Pass,
                Edit::Changed | Edit::Taken => Outcome::Taken,
            },
        }
    }

    /// The two fields, their hints and the refusal, from row `y` of `area`; returns the rows
    /// used and where the terminal cursor goes.
    pub fn render(&self, buf: &mut Buffer, area: Rect, lang: Lang) -> (u16, Position) {
        let labels = [t!(lang, "enrol.code"), t!(lang, "enrol.ca")];
        let label_w = labels.iter().map(|l| l.width() as u16).max().unwrap_or(0) + 2;
        let input_w = area.width.saturating_sub(label_w).min(64);
        let mut y = area.y;
        let bottom = area.y + area.height;
        let mut cursor = Position::new(area.x + label_w, area.y);
        for (field, label, input, hint) in [
            (
                EntryField::Code,
                labels[0],
                &self.code,
                t!(lang, "enrol.code_hint"),
            ),
            (
                EntryField::Ca,
                labels[1],
                &self.ca,
                t!(lang, "enrol.ca_hint"),
            ),
        ] {
            if y >= bottom {
                break;
            }
            let focused = self.focus == field;
            let (label_style, input_style) = if focused {
                (theme::focused_label(), theme::focused_input())
            } else {
                (theme::label(), theme::input())
            };
            buf.set_stringn(area.x, y, label, label_w as usize, label_style);
            let p = input.render(
                Rect::new(area.x + label_w, y, input_w, 1),
                buf,
                input_style,
                false,
            );
            if focused {
                cursor = p;
            }
            y += 1;
            let text_area = |y: u16, rows: u16| {
                Rect::new(
                    area.x + label_w,
                    y,
                    area.width.saturating_sub(label_w),
                    rows.min(bottom.saturating_sub(y)),
                )
            };
            match &self.error {
                Some((f, message)) if *f == field => {
                    y += wrapped(buf, text_area(y, 3), message, theme::error());
                }
                _ => y += wrapped(buf, text_area(y, 2), hint, theme::dim()),
            }
        }
        (y - area.y, cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn the_lists_strings_exist() {
        keys::assert_strings_exist(KEYS);
    }

    #[test]
    fn typing_goes_to_the_focused_field_and_enter_hands_both_over() {
        let mut e = EnrolEntry::new(Some("/media/usb/office-ca.pem"));
        e.paste("BOOTH1-abc\n");
        e.handle_key(key(KeyCode::Tab));
        assert_eq!(e.focus, EntryField::Ca);
        e.handle_key(key(KeyCode::Char('x')));
        // a code pasted into the certificate field goes where it belongs, in place of the
        // one before
        e.paste("BOOTH1-def");
        assert_eq!(e.focus, EntryField::Code);
        match e.handle_key(key(KeyCode::Enter)) {
            Outcome::Do(Action::Enroll(input)) => {
                assert_eq!(input.code.as_str(), "BOOTH1-def");
                assert_eq!(input.ca, "/media/usb/office-ca.pemx");
            }
            _ => panic!("Enter submits"),
        }
        assert!(matches!(e.handle_key(key(KeyCode::Esc)), Outcome::Pass));
    }
}
