//! The booth's settings without a shell (F11): place, operator, printer (with a test print),
//! the slips' language, the verification page's address and the idle lock. Each value is
//! checked and stored as `booth config set` does, when the cursor leaves its field; a value
//! refused keeps the cursor, with the reason beside it.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::Outcome;
use crate::config::Config;
use crate::i18n::Lang;
use crate::t;
use crate::tui::action::{Action, Then};
use crate::tui::app::Screen;
use crate::tui::keys::{
    self, BACK_TAB, Binding, DOWN, ENTER, ESC, Key, LEFT, RIGHT, SPACE, TAB, UP,
};
use crate::tui::theme;
use crate::tui::widgets::input::{Edit, TextInput};
use crate::tui::widgets::{fit, wrapped};

/// The settings on this screen, in order: `booth config set`'s key for each.
pub const FIELDS: [&str; 6] = [
    "place",
    "operator",
    "printer",
    "slip_language",
    "verify_url",
    "idle_lock_minutes",
];

/// What became of a field's last change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Saved {
    Yes,
    /// Refused, in words.
    No(String),
}

#[derive(Clone, Debug)]
pub struct SettingsState {
    /// One input per text setting (the slip language is a choice).
    inputs: Vec<TextInput>,
    /// The values as stored, to tell a change.
    stored: Vec<String>,
    pub slip_lang: Lang,
    pub focus: usize,
    /// Beside each field: saved, or why not.
    pub status: Vec<Option<Saved>>,
    /// The test print's answer, in words (good news or not).
    pub test: Option<(String, bool)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Next,
    Prev,
    Toggle,
    TestPrint,
    Back,
}

const KEYS: &[Binding<Cmd>] = &[
    Binding::new(Cmd::Next, &[TAB, ENTER])
        .also(&[DOWN])
        .hint("keys.settings.next")
        .help("help.settings.next"),
    Binding::new(Cmd::Prev, &[BACK_TAB]).also(&[UP]),
    Binding::new(Cmd::Toggle, &[LEFT, RIGHT])
        .also(&[SPACE])
        .hint("keys.language")
        .help("help.settings.toggle"),
    Binding::new(Cmd::TestPrint, &[Key::ctrl('p')])
        .hint("keys.settings.test_print")
        .help("help.settings.test_print"),
    Binding::new(Cmd::Back, &[ESC])
        .hint("keys.back_plain")
        .help("help.back_to_form"),
];

/// F1 on the settings screen.
pub fn help(lang: Lang) -> Vec<String> {
    let mut lines = vec![t!(lang, "settings.intro").to_string()];
    lines.extend(keys::help_lines(KEYS, lang));
    lines
}

const LANG_FIELD: usize = 3;
const PRINTER_FIELD: usize = 2;

impl SettingsState {
    /// The screen with the settings as stored.
    pub fn new(config: &Config) -> SettingsState {
        let stored: Vec<String> = FIELDS
            .iter()
            .map(|k| config.get(k).unwrap_or_default())
            .collect();
        let max = [60, 40, 120, 5, 200, 5];
        let inputs = stored
            .iter()
            .zip(max)
            .map(|(v, m)| {
                let mut t = TextInput::new(m);
                t.set(v);
                t
            })
            .collect();
        SettingsState {
            inputs,
            stored,
            slip_lang: config.slip_language,
            focus: 0,
            status: vec![None; FIELDS.len()],
            test: None,
        }
    }

    fn value(&self, i: usize) -> String {
        if i == LANG_FIELD {
            self.slip_lang.code().to_string()
        } else {
            self.inputs[i].value()
        }
    }

    fn changed(&self, i: usize) -> bool {
        self.value(i).trim() != self.stored[i].trim()
    }

    fn enabled(&self, cmd: Cmd) -> bool {
        match cmd {
            Cmd::Toggle => self.focus == LANG_FIELD,
            Cmd::TestPrint => self.focus == PRINTER_FIELD,
            _ => true,
        }
    }

    pub fn paste(&mut self, s: &str) {
        if self.focus != LANG_FIELD {
            self.inputs[self.focus].insert_str(s);
        }
    }

    /// Leaves the field: stored first if it changed (the app answers with [`Self::saved`] or
    /// [`Self::refused`], which moves on or keeps the cursor).
    fn leave(&mut self, then: Then) -> Outcome {
        if self.changed(self.focus) {
            return Outcome::Do(Action::SaveSetting {
                key: FIELDS[self.focus],
                value: self.value(self.focus),
                then,
            });
        }
        self.go(then)
    }

    fn go(&mut self, then: Then) -> Outcome {
        let n = FIELDS.len();
        match then {
            Then::Next => self.focus = (self.focus + 1) % n,
            Then::Prev => self.focus = (self.focus + n - 1) % n,
            Then::Stay => {}
            Then::Leave => return Outcome::Do(Action::Goto(Screen::Form)),
        }
        Outcome::Taken
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        let Some(cmd) = keys::find(KEYS, &key, |c| self.enabled(*c)) else {
            if self.focus == LANG_FIELD {
                return Outcome::Pass;
            }
            return match self.inputs[self.focus].handle_key(&key) {
                Edit::Pass => Outcome::Pass,
                Edit::Changed => {
                    self.status[self.focus] = None;
                    Outcome::Taken
                }
                Edit::Taken => Outcome::Taken,
            };
        };
        match cmd {
            Cmd::Next => self.leave(Then::Next),
            Cmd::Prev => self.leave(Then::Prev),
            Cmd::Back => self.leave(Then::Leave),
            Cmd::Toggle => {
                self.slip_lang = self.slip_lang.toggled();
                self.leave(Then::Stay)
            }
            Cmd::TestPrint => {
                self.test = None;
                Outcome::Do(Action::TestPrint(self.inputs[PRINTER_FIELD].value()))
            }
        }
    }

    /// The app stored `key`'s value: marked, and the cursor goes where it was going.
    pub fn saved(&mut self, key: &str, config: &Config, then: Then) -> Outcome {
        if let Some(i) = FIELDS.iter().position(|k| *k == key) {
            self.stored[i] = config.get(key).unwrap_or_default();
            if i != LANG_FIELD {
                // as stored (a trailing slash or spaces taken off)
                self.inputs[i].set(&self.stored[i]);
            }
            self.status[i] = Some(Saved::Yes);
        }
        self.go(then)
    }

    /// The app refused `key`'s value: why, beside it; the cursor stays to fix it.
    pub fn refused(&mut self, key: &str, why: String) {
        if let Some(i) = FIELDS.iter().position(|k| *k == key) {
            self.focus = i;
            self.status[i] = Some(Saved::No(why));
        }
    }

    /// The test print's answer.
    pub fn tested(&mut self, message: String, ok: bool) {
        self.test = Some((message, ok));
    }

    fn label(i: usize, lang: Lang) -> &'static str {
        match FIELDS[i] {
            "place" => t!(lang, "setup.place"),
            "operator" => t!(lang, "setup.operator"),
            "printer" => t!(lang, "setup.printer"),
            "slip_language" => t!(lang, "settings.slip_language"),
            "verify_url" => t!(lang, "settings.verify_url"),
            _ => t!(lang, "settings.idle_lock"),
        }
    }

    fn hint(i: usize, lang: Lang) -> &'static str {
        match FIELDS[i] {
            "printer" => t!(lang, "setup.printer_hint"),
            "slip_language" => t!(lang, "settings.slip_language_hint"),
            "verify_url" => t!(lang, "settings.verify_url_hint"),
            "idle_lock_minutes" => t!(lang, "settings.idle_lock_hint"),
            _ => "",
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, lang: Lang) {
        let buf = frame.buffer_mut();
        let width = area.width as usize;
        let bottom = area.y + area.height.saturating_sub(1);
        let mut y = area.y;
        buf.set_stringn(area.x, y, t!(lang, "settings.title"), width, theme::title());
        y += 1;
        y += wrapped(
            buf,
            Rect::new(area.x, y, area.width, 2),
            t!(lang, "settings.intro"),
            theme::dim(),
        ) + 1;
        let label_w = (0..FIELDS.len())
            .map(|i| unicode_width::UnicodeWidthStr::width(Self::label(i, lang)) as u16 + 2)
            .max()
            .unwrap_or(12);
        let input_w = 36.min(area.width.saturating_sub(label_w));
        let mut cursor = None;
        for i in 0..FIELDS.len() {
            let focused = self.focus == i;
            let label_style = if focused {
                theme::focused_label()
            } else {
                theme::label()
            };
            buf.set_stringn(
                area.x,
                y,
                Self::label(i, lang),
                label_w as usize,
                label_style,
            );
            let style = if focused {
                theme::focused_input()
            } else {
                theme::input()
            };
            let field = Rect::new(area.x + label_w, y, input_w, 1);
            if i == LANG_FIELD {
                let v = match self.slip_lang {
                    Lang::Zh => "◀ 简体中文 ▶",
                    Lang::En => "◀ English ▶",
                };
                buf.set_stringn(field.x, y, v, field.width as usize, style);
            } else {
                let p = self.inputs[i].render(field, buf, style, false);
                if focused {
                    cursor = Some(p);
                }
            }
            // beside it: saved, or why not
            let note_x = field.x + field.width + 1;
            let room = (area.x + area.width).saturating_sub(note_x) as usize;
            match &self.status[i] {
                Some(Saved::Yes) => {
                    buf.set_stringn(note_x, y, t!(lang, "settings.saved"), room, theme::ok());
                }
                Some(Saved::No(why)) => {
                    buf.set_stringn(
                        note_x,
                        y,
                        fit(&format!("✗ {why}"), room),
                        room,
                        theme::error(),
                    );
                }
                None => {}
            }
            y += 1;
        }
        y += 1;
        // the focused field's hint, then a refusal whole (it is cut beside the field)
        let say = |buf: &mut ratatui::buffer::Buffer, y: &mut u16, text: &str, style| {
            if text.is_empty() {
                return;
            }
            let room = bottom.saturating_sub(*y).min(3);
            *y += wrapped(buf, Rect::new(area.x, *y, area.width, room), text, style);
        };
        say(buf, &mut y, Self::hint(self.focus, lang), theme::dim());
        if let Some(Saved::No(why)) = &self.status[self.focus] {
            say(
                buf,
                &mut y,
                &format!("✗ {}: {why}", Self::label(self.focus, lang)),
                theme::error(),
            );
        }
        if let Some((message, ok)) = &self.test {
            let style = if *ok { theme::ok() } else { theme::error() };
            say(buf, &mut y, message, style);
        }
        let hints = keys::hint_line(KEYS, lang, "   ", |c| self.enabled(*c));
        buf.set_stringn(area.x, bottom, fit(&hints, width), width, theme::hint());
        if let Some(p) = cursor {
            frame.set_cursor_position(p);
        }
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
    fn a_changed_field_is_saved_on_leaving_and_a_refusal_keeps_the_cursor() {
        let config = Config::default();
        let mut s = SettingsState::new(&config);
        // unchanged: Tab only moves
        assert!(matches!(s.handle_key(key(KeyCode::Tab)), Outcome::Taken));
        assert_eq!(s.focus, 1);
        s.handle_key(key(KeyCode::Tab));
        s.handle_key(KeyCode::Char('x').into());
        match s.handle_key(key(KeyCode::Tab)) {
            Outcome::Do(Action::SaveSetting { key, value, then }) => {
                assert_eq!((key, then), ("printer", Then::Next));
                assert!(value.ends_with('x'));
            }
            _ => panic!("a change is saved on leaving"),
        }
        s.refused("printer", "不是打印机地址".into());
        assert_eq!(s.focus, PRINTER_FIELD, "the cursor stays to fix it");
        let c = config
            .with_setting("printer", "tcp://192.168.1.50:9100", Lang::Zh)
            .unwrap();
        assert!(matches!(s.saved("printer", &c, Then::Next), Outcome::Taken));
        assert_eq!(s.focus, LANG_FIELD);
        assert_eq!(s.inputs[PRINTER_FIELD].value(), "tcp://192.168.1.50:9100");
        // the slip language is a choice, saved at once
        assert!(matches!(
            s.handle_key(key(KeyCode::Right)),
            Outcome::Do(Action::SaveSetting {
                key: "slip_language",
                then: Then::Stay,
                ..
            })
        ));
        let ctrl_p = KeyEvent::new(KeyCode::Char('p'), KeyModifiers::CONTROL);
        assert!(
            matches!(s.handle_key(ctrl_p), Outcome::Pass),
            "test print on the printer only"
        );
    }
}
