//! First run: union, booth place, operator, language, printer, passphrase twice.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use unicode_width::UnicodeWidthStr;
use zeroize::Zeroizing;

use crate::card::payload::check_union_name;
use crate::config::PrinterUri;
use crate::i18n::Lang;
use crate::member::record::free_text;
use crate::t;
use crate::tui::theme;
use crate::tui::widgets::input::TextInput;
use crate::tui::widgets::{wrapped, wrapped_lines};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupField {
    Union,
    Place,
    Operator,
    Language,
    Printer,
    Pass1,
    Pass2,
}

const ORDER: [SetupField; 7] = [
    SetupField::Union,
    SetupField::Place,
    SetupField::Operator,
    SetupField::Language,
    SetupField::Printer,
    SetupField::Pass1,
    SetupField::Pass2,
];

/// What setup produces.
pub struct SetupData {
    pub union: String,
    pub place: String,
    pub operator: String,
    pub lang: Lang,
    pub printer: Option<String>,
    pub passphrase: Zeroizing<String>,
}

pub enum SetupAction {
    LanguageChanged(Lang),
    Create(SetupData),
}

/// The shortest passphrase setup accepts: it is the only thing between a stolen laptop and
/// the records (Argon2id makes each guess cost 0.1 s or more).
pub const MIN_PASSPHRASE: usize = 6;

#[derive(Clone, Debug)]
pub struct SetupState {
    pub union: TextInput,
    pub place: TextInput,
    pub operator: TextInput,
    pub lang: Lang,
    pub printer: TextInput,
    pub pass1: TextInput,
    pub pass2: TextInput,
    pub focus: SetupField,
    pub error: Option<String>,
}

impl SetupState {
    pub fn new(lang: Lang) -> SetupState {
        SetupState {
            union: TextInput::new(60),
            place: TextInput::new(60),
            operator: TextInput::new(40),
            lang,
            printer: TextInput::new(120),
            pass1: TextInput::new(128),
            pass2: TextInput::new(128),
            focus: SetupField::Union,
            error: None,
        }
    }

    fn input(&mut self, f: SetupField) -> Option<&mut TextInput> {
        Some(match f {
            SetupField::Union => &mut self.union,
            SetupField::Place => &mut self.place,
            SetupField::Operator => &mut self.operator,
            SetupField::Printer => &mut self.printer,
            SetupField::Pass1 => &mut self.pass1,
            SetupField::Pass2 => &mut self.pass2,
            SetupField::Language => return None,
        })
    }

    fn step(&mut self, forward: bool) {
        self.focus = crate::tui::widgets::cycle(&ORDER, self.focus, forward);
    }

    pub fn paste(&mut self, s: &str) {
        let f = self.focus;
        if let Some(i) = self.input(f) {
            i.insert_str(s);
        }
    }

    /// Checks everything; the first problem becomes the error line and gets the focus.
    fn check(&mut self) -> Option<SetupData> {
        let lang = self.lang;
        let text = |t: &TextInput, max| free_text(&t.value(), max, true).ok().flatten();
        let fail = |s: &mut SetupState, f: SetupField, msg: String| {
            s.focus = f;
            s.error = Some(msg);
            None
        };
        let Some(union) = text(&self.union, 60) else {
            return fail(self, SetupField::Union, t!(lang, "setup.need_union").into());
        };
        if check_union_name(&union).is_err() {
            return fail(
                self,
                SetupField::Union,
                t!(lang, "setup.union_too_long").into(),
            );
        }
        let Some(place) = text(&self.place, 60) else {
            return fail(self, SetupField::Place, t!(lang, "setup.need_place").into());
        };
        let Some(operator) = text(&self.operator, 40) else {
            return fail(
                self,
                SetupField::Operator,
                t!(lang, "setup.need_operator").into(),
            );
        };
        let printer = self.printer.value().trim().to_string();
        let printer = if printer.is_empty() || printer == "none" || printer == "无" {
            None
        } else if PrinterUri::parse(&printer).is_ok() {
            Some(printer)
        } else {
            return fail(
                self,
                SetupField::Printer,
                t!(lang, "setup.bad_printer").into(),
            );
        };
        let p1 = Zeroizing::new(self.pass1.value());
        if p1.chars().count() < MIN_PASSPHRASE {
            return fail(
                self,
                SetupField::Pass1,
                t!(lang, "setup.short_passphrase", min = MIN_PASSPHRASE),
            );
        }
        if *p1 != *Zeroizing::new(self.pass2.value()) {
            self.pass2.wipe();
            return fail(
                self,
                SetupField::Pass2,
                t!(lang, "setup.passphrase_mismatch").into(),
            );
        }
        self.pass1.wipe();
        self.pass2.wipe();
        Some(SetupData {
            union,
            place,
            operator,
            lang,
            printer,
            passphrase: p1,
        })
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Option<SetupAction> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('s') if ctrl => return self.check().map(SetupAction::Create),
            KeyCode::Enter if self.focus == SetupField::Pass2 => {
                return self.check().map(SetupAction::Create);
            }
            KeyCode::Enter | KeyCode::Tab | KeyCode::Down => self.step(true),
            KeyCode::BackTab | KeyCode::Up | KeyCode::Esc => self.step(false),
            KeyCode::Left | KeyCode::Right | KeyCode::Char(' ')
                if self.focus == SetupField::Language =>
            {
                self.lang = self.lang.toggled();
                return Some(SetupAction::LanguageChanged(self.lang));
            }
            _ => {
                let f = self.focus;
                if let Some(i) = self.input(f) {
                    i.handle_key(&key);
                }
            }
        }
        None
    }

    fn hint(f: SetupField, lang: Lang) -> &'static str {
        match f {
            SetupField::Printer => t!(lang, "setup.printer_hint"),
            SetupField::Pass1 => t!(lang, "setup.passphrase_hint"),
            _ => "",
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect) {
        let lang = self.lang;
        let buf = frame.buffer_mut();
        let mut y = area.y;
        buf.set_stringn(
            area.x,
            y,
            t!(lang, "setup.title"),
            area.width as usize,
            theme::title(),
        );
        y += 1;
        let intro = t!(lang, "setup.intro");
        y += wrapped(
            buf,
            Rect::new(area.x, y, area.width, 2),
            intro,
            theme::dim(),
        ) + 1;
        let mut cursor = None;
        let fields = ORDER.map(|f| {
            let (label, input, masked) = match f {
                SetupField::Union => (t!(lang, "setup.union"), Some(&self.union), false),
                SetupField::Place => (t!(lang, "setup.place"), Some(&self.place), false),
                SetupField::Operator => (t!(lang, "setup.operator"), Some(&self.operator), false),
                SetupField::Language => (t!(lang, "setup.language"), None, false),
                SetupField::Printer => (t!(lang, "setup.printer"), Some(&self.printer), false),
                SetupField::Pass1 => (t!(lang, "setup.passphrase"), Some(&self.pass1), true),
                SetupField::Pass2 => (t!(lang, "setup.passphrase_again"), Some(&self.pass2), true),
            };
            (f, label, input, masked)
        });
        // the longest label and a gap ("Passphrase again" ran into its field)
        let label_w = fields
            .iter()
            .map(|(_, label, ..)| label.width() as u16 + 2)
            .max()
            .unwrap_or(0)
            .max(16);
        for (f, label, input, masked) in fields {
            let focused = self.focus == f;
            buf.set_stringn(
                area.x,
                y,
                label,
                label_w as usize,
                if focused {
                    theme::focused_label()
                } else {
                    theme::label()
                },
            );
            let ia = Rect::new(
                area.x + label_w,
                y,
                36.min(area.width.saturating_sub(label_w)),
                1,
            );
            let style = if focused {
                theme::focused_input()
            } else {
                theme::input()
            };
            match input {
                Some(i) => {
                    let p = i.render(ia, buf, style, masked);
                    if focused {
                        cursor = Some(p);
                    }
                }
                None => {
                    let v = match self.lang {
                        Lang::Zh => "◀ 简体中文 ▶",
                        Lang::En => "◀ English ▶",
                    };
                    buf.set_stringn(ia.x, y, v, ia.width as usize, style);
                }
            }
            // Beside the field when it fits whole; the focused field's hint is repeated in
            // full under the list, so a narrow terminal never shows half a printer address.
            let hint = Self::hint(f, lang);
            let hx = area.x + label_w + 37;
            let room = (area.x + area.width).saturating_sub(hx) as usize;
            if !hint.is_empty() && hint.width() <= room {
                buf.set_stringn(hx, y, hint, room, theme::dim());
            }
            y += 1;
        }
        y += 1;
        let focused_hint = Self::hint(self.focus, lang);
        if !focused_hint.is_empty() {
            let h = wrapped_lines(focused_hint, area.width, 3);
            let bottom = area.y + area.height;
            if y + h < bottom {
                let area = Rect::new(area.x, y, area.width, h);
                y += wrapped(buf, area, focused_hint, theme::dim()) + 1;
            }
        }
        let bottom = area.y + area.height.saturating_sub(1);
        if let Some(e) = &self.error {
            // the reason and what to do: wrapped, never cut
            let room = bottom.saturating_sub(y).min(3);
            wrapped(
                buf,
                Rect::new(area.x, y, area.width, room),
                e,
                theme::error(),
            );
        }
        buf.set_stringn(
            area.x,
            bottom,
            t!(lang, "setup.keys"),
            area.width as usize,
            theme::hint(),
        );
        if let Some(p) = cursor {
            frame.set_cursor_position(p);
        }
    }
}
