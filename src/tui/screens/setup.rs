//! First run: union (and its short name when the full one is too long for the QR code),
//! booth place, operator, language, printer, the office's enrolment code and certificate file
//! (optional: the upload screen takes them later too), passphrase twice.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use unicode_width::UnicodeWidthStr;
use zeroize::Zeroizing;

use crate::config::{Config, ConfigError};
use crate::i18n::Lang;
use crate::t;
use crate::tui::action::Action;
use crate::tui::keys::{
    self, BACK_TAB, Binding, DOWN, ENTER, ESC, Key, LEFT, OUTSIDE, RIGHT, SPACE, TAB, UP,
};
use crate::tui::screens::Outcome;
use crate::tui::theme;
use crate::tui::widgets::input::{Edit, TextInput};
use crate::tui::widgets::{wrapped, wrapped_lines};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupField {
    Union,
    UnionShort,
    Place,
    Operator,
    Language,
    Printer,
    Code,
    Ca,
    Pass1,
    Pass2,
}

const ORDER: [SetupField; 10] = [
    SetupField::Union,
    SetupField::UnionShort,
    SetupField::Place,
    SetupField::Operator,
    SetupField::Language,
    SetupField::Printer,
    SetupField::Code,
    SetupField::Ca,
    SetupField::Pass1,
    SetupField::Pass2,
];

/// What setup produces.
#[derive(Clone)]
pub struct SetupData {
    /// Checked by the same per-key validator as `booth config set`.
    pub config: Config,
    pub passphrase: Zeroizing<String>,
    /// The office's enrolment code, when one was entered (stored as `booth enroll` does).
    pub enrol: Option<crate::card::enrol::Enrolment>,
    /// The office's certificate file, when the office uses its own certificate.
    pub ca: Option<std::path::PathBuf>,
}

/// The settings setup makes, in the order they are stored (the short name before a union
/// name that needs it).
pub const SETUP_KEYS: [&str; 6] = [
    "union_short",
    "union",
    "place",
    "operator",
    "language",
    "printer",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Finish,
    /// Enter on the last field finishes too.
    FinishOnLast,
    Next,
    Back,
    Language,
}

const KEYS: &[Binding<Cmd>] = &[
    Binding::new(Cmd::FinishOnLast, &[ENTER]),
    Binding::new(Cmd::Next, &[TAB, ENTER])
        .also(&[DOWN])
        .hint("keys.next"),
    Binding::new(Cmd::Back, &[BACK_TAB])
        .also(&[UP, ESC])
        .hint("keys.back"),
    Binding::new(Cmd::Language, &[LEFT, RIGHT])
        .also(&[SPACE])
        .hint("keys.language"),
    Binding::new(Cmd::Finish, &[Key::ctrl('s')]).hint("keys.finish"),
];

/// The shortest passphrase setup accepts: it is the only thing between a stolen laptop and
/// the records (Argon2id makes each guess cost 0.1 s or more).
pub const MIN_PASSPHRASE: usize = 6;

#[derive(Clone, Debug)]
pub struct SetupState {
    pub union: TextInput,
    pub union_short: TextInput,
    pub place: TextInput,
    pub operator: TextInput,
    pub lang: Lang,
    pub printer: TextInput,
    pub code: TextInput,
    pub ca: TextInput,
    pub pass1: TextInput,
    pub pass2: TextInput,
    pub focus: SetupField,
    pub error: Option<String>,
}

impl SetupState {
    pub fn new(lang: Lang) -> SetupState {
        SetupState {
            union: TextInput::new(60),
            union_short: TextInput::new(24),
            place: TextInput::new(60),
            operator: TextInput::new(40),
            lang,
            printer: TextInput::new(120),
            code: TextInput::new(2048),
            ca: TextInput::new(1024),
            pass1: TextInput::new(128),
            pass2: TextInput::new(128),
            focus: SetupField::Union,
            error: None,
        }
    }

    fn input(&mut self, f: SetupField) -> Option<&mut TextInput> {
        Some(match f {
            SetupField::Union => &mut self.union,
            SetupField::UnionShort => &mut self.union_short,
            SetupField::Place => &mut self.place,
            SetupField::Operator => &mut self.operator,
            SetupField::Printer => &mut self.printer,
            SetupField::Code => &mut self.code,
            SetupField::Ca => &mut self.ca,
            SetupField::Pass1 => &mut self.pass1,
            SetupField::Pass2 => &mut self.pass2,
            SetupField::Language => return None,
        })
    }

    fn step(&mut self, forward: bool) {
        self.focus = crate::tui::widgets::cycle(&ORDER, self.focus, forward);
    }

    pub fn paste(&mut self, s: &str) {
        // a pasted enrolment code is the code, wherever the focus was
        if s.trim_start().starts_with(crate::card::enrol::PREFIX)
            && !matches!(self.focus, SetupField::Pass1 | SetupField::Pass2)
        {
            self.focus = SetupField::Code;
            self.code.set("");
        }
        let f = self.focus;
        if let Some(i) = self.input(f) {
            i.insert_str(s);
        }
    }

    /// Checks everything; the first problem becomes the error line and gets the focus.
    fn check(&mut self) -> Option<SetupData> {
        let lang = self.lang;
        let fail = |s: &mut SetupState, f: SetupField, msg: String| {
            s.focus = f;
            s.error = Some(msg);
            None
        };
        // what `booth config set` checks, key by key; an empty required field gets its own
        // plain request first
        let mut config = Config::default();
        let fields = [
            (SetupField::UnionShort, "union_short", None),
            (SetupField::Union, "union", Some("setup.need_union")),
            (SetupField::Place, "place", Some("setup.need_place")),
            (
                SetupField::Operator,
                "operator",
                Some("setup.need_operator"),
            ),
            (SetupField::Printer, "printer", None),
        ];
        for (field, key, empty) in fields {
            let value = self.input(field).map(|i| i.value()).unwrap_or_default();
            if let Some(empty) = empty
                && value.trim().is_empty()
            {
                return fail(self, field, crate::i18n::text(lang, empty).into());
            }
            match config.with_setting(key, &value, lang) {
                Ok(c) => config = c,
                // said the setup's way: what to do here, not which config key to set
                Err(ConfigError::UnionTooLong { .. }) if field == SetupField::UnionShort => {
                    return fail(self, field, t!(lang, "setup.union_short_too_long").into());
                }
                Err(ConfigError::UnionTooLong { .. }) => {
                    return fail(
                        self,
                        SetupField::UnionShort,
                        t!(lang, "setup.union_too_long").into(),
                    );
                }
                Err(_) if field == SetupField::Printer => {
                    return fail(self, field, t!(lang, "setup.bad_printer").into());
                }
                Err(e) => return fail(self, field, e.message(lang)),
            }
        }
        config.language = lang;
        let enrol = match crate::sync::enrol::check_code(&self.code.value(), false, lang) {
            Ok(e) => e,
            Err(why) => return fail(self, SetupField::Code, why),
        };
        let ca = match crate::sync::enrol::check_ca(&self.ca.value(), lang) {
            Ok(ca) => ca,
            Err(why) => return fail(self, SetupField::Ca, why),
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
            config,
            passphrase: p1,
            enrol,
            ca,
        })
    }

    fn enabled(&self, cmd: Cmd) -> bool {
        match cmd {
            Cmd::FinishOnLast => self.focus == SetupField::Pass2,
            Cmd::Language => self.focus == SetupField::Language,
            _ => true,
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        let Some(cmd) = keys::find(KEYS, &key, |c| self.enabled(*c)) else {
            let f = self.focus;
            return match self.input(f).map(|i| i.handle_key(&key)) {
                None | Some(Edit::Pass) => Outcome::Pass,
                Some(Edit::Taken | Edit::Changed) => Outcome::Taken,
            };
        };
        match cmd {
            Cmd::Finish | Cmd::FinishOnLast => self
                .check()
                .map(|d| Action::CreateFolder(Box::new(d)))
                .into(),
            Cmd::Next => {
                self.step(true);
                Outcome::Taken
            }
            Cmd::Back => {
                self.step(false);
                Outcome::Taken
            }
            Cmd::Language => {
                self.lang = self.lang.toggled();
                Outcome::Do(Action::SetupLanguage(self.lang))
            }
        }
    }

    fn hint(f: SetupField, lang: Lang) -> &'static str {
        match f {
            SetupField::UnionShort => t!(lang, "setup.union_short_hint"),
            SetupField::Printer => t!(lang, "setup.printer_hint"),
            SetupField::Pass1 => t!(lang, "setup.passphrase_hint"),
            SetupField::Code => t!(lang, "setup.code_hint"),
            SetupField::Ca => t!(lang, "enrol.ca_hint"),
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
                SetupField::UnionShort => (
                    t!(lang, "setup.union_short"),
                    Some(&self.union_short),
                    false,
                ),
                SetupField::Place => (t!(lang, "setup.place"), Some(&self.place), false),
                SetupField::Operator => (t!(lang, "setup.operator"), Some(&self.operator), false),
                SetupField::Language => (t!(lang, "setup.language"), None, false),
                SetupField::Printer => (t!(lang, "setup.printer"), Some(&self.printer), false),
                SetupField::Code => (t!(lang, "enrol.code"), Some(&self.code), false),
                SetupField::Ca => (t!(lang, "enrol.ca"), Some(&self.ca), false),
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
        let keys = format!(
            "{}  {}",
            keys::hint_line(KEYS, lang, "  ", |_| true),
            keys::hint_line(OUTSIDE, lang, "  ", |a| matches!(a, Action::Quit))
        );
        buf.set_stringn(area.x, bottom, keys, area.width as usize, theme::hint());
        if let Some(p) = cursor {
            frame.set_cursor_position(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_strings_exist() {
        keys::assert_strings_exist(KEYS);
    }

    /// A union name over 12 characters is finished with a short name, in setup alone.
    #[test]
    fn a_long_union_name_takes_a_short_name() {
        let long = "北京市朝阳区望京街道总工会联合委员会";
        let mut s = filled(Lang::Zh);
        s.union.set(long);
        assert!(s.check().is_none());
        assert_eq!(s.focus, SetupField::UnionShort, "where the fix goes");
        s.union_short.set("望京街道总工会");
        let data = s.check().expect("the short name makes it fit");
        assert_eq!(data.config.union, long);
        assert_eq!(data.config.union_short.as_deref(), Some("望京街道总工会"));
        let mut s = filled(Lang::Zh);
        s.union_short.set(long);
        assert!(s.check().is_none());
        assert_eq!(s.focus, SetupField::UnionShort);
    }

    /// The office's code is optional in setup; given, it is checked and handed over.
    #[test]
    fn setup_takes_the_enrolment_code_or_none() {
        let none = filled(Lang::Zh).check().unwrap();
        assert!(none.enrol.is_none() && none.ca.is_none());
        let code = crate::card::enrol::Enrolment {
            server: Some("https://booth.office.lan".into()),
            token: "tok".into(),
            office_key: crate::card::office::OfficeKey::generate()
                .unwrap()
                .fingerprint(),
            device: None,
            seal_key: None,
            verify_url: None,
            union: None,
        }
        .encode();
        let mut s = filled(Lang::Zh);
        s.focus = SetupField::Pass1;
        s.paste(&code);
        assert_eq!(s.focus, SetupField::Pass1, "never into a passphrase field");
        s.pass1.set("booth-pass");
        s.focus = SetupField::Place;
        s.paste(&code);
        assert_eq!(s.focus, SetupField::Code, "a pasted code goes to its field");
        let data = s.check().unwrap();
        assert_eq!(
            data.enrol.unwrap().server.as_deref(),
            Some("https://booth.office.lan")
        );
        let mut s = filled(Lang::En);
        s.code.set(&code[..code.len() - 3]);
        s.ca.set("/nonexistent/ca.pem");
        assert!(s.check().is_none());
        assert_eq!(s.focus, SetupField::Code);
        s.code.set("");
        assert!(s.check().is_none());
        assert_eq!(s.focus, SetupField::Ca);
        assert!(s.error.as_ref().unwrap().contains("no such file"));
    }

    fn filled(lang: Lang) -> SetupState {
        let mut s = SetupState::new(lang);
        s.union.set("朝阳区总工会");
        s.place.set("望京 SOHO");
        s.operator.set("李明");
        s.pass1.set("booth-pass");
        s.pass2.set("booth-pass");
        s
    }

    /// Setup and `booth config set` share one validator: what one refuses the other does.
    #[test]
    fn setup_refuses_what_config_set_refuses() {
        let lang = Lang::Zh;
        let ok = filled(lang).check().expect("a good setup passes");
        assert_eq!(ok.config.place, "望京 SOHO");
        assert_eq!(ok.config.language, lang);
        for (field, key, value) in [
            (SetupField::Operator, "operator", "李\u{1b}[2J"),
            (SetupField::Place, "place", "望京\u{7}"),
            (
                SetupField::UnionShort,
                "union",
                "北京市朝阳区望京街道总工会联合委员会",
            ),
            (SetupField::Printer, "printer", "usb"),
        ] {
            assert!(
                Config::default().with_setting(key, value, lang).is_err(),
                "config set refuses {key}"
            );
            let mut s = filled(lang);
            let typed_into = if key == "union" {
                SetupField::Union
            } else {
                field
            };
            s.input(typed_into).unwrap().set(value);
            assert!(s.check().is_none(), "setup refuses {key}");
            assert_eq!(s.focus, field);
            assert!(s.error.is_some());
        }
    }
}
