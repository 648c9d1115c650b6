//! Key bindings as typed lists, one per context (the idea of gitui's `key_list.rs`). The same
//! list decides what a key does, writes the key-hint line and the F1 help, so the three can
//! never disagree. Each screen keeps its own list beside its key handling; the app's own keys
//! (the ones that work on every screen) are here.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use super::app::Screen;
use crate::i18n::{self, Lang};

/// One key, with the modifiers that must be held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            mods: KeyModifiers::NONE,
        }
    }

    pub const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            mods: KeyModifiers::CONTROL,
        }
    }

    pub const fn shift(code: KeyCode) -> Key {
        Key {
            code,
            mods: KeyModifiers::SHIFT,
        }
    }

    pub const fn char(c: char) -> Key {
        Key::plain(KeyCode::Char(c))
    }

    /// Does the key pressed mean this key? Control and Alt must be as bound. Shift must be
    /// too, except on characters (it is in the character already: a letter matches either
    /// case) and on Shift-Tab (terminals report it with and without the modifier).
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        let strict = KeyModifiers::CONTROL | KeyModifiers::ALT;
        let code = match (self.code, ev.code) {
            (KeyCode::Char(a), KeyCode::Char(b)) => a.to_lowercase().eq(b.to_lowercase()),
            (a, b) => a == b,
        };
        let shift = matches!(self.code, KeyCode::Char(_) | KeyCode::BackTab)
            || self.mods.contains(KeyModifiers::SHIFT)
                == ev.modifiers.contains(KeyModifiers::SHIFT);
        code && shift && (ev.modifiers & strict) == (self.mods & strict)
    }

    /// As printed on the keyboard: `Ctrl-S`, `Shift-F6`, `Enter`, `↑`, `Y`.
    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            s.push_str("Ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            s.push_str("Alt-");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            s.push_str("Shift-");
        }
        match self.code {
            KeyCode::Char(' ') => s.push_str("Space"),
            KeyCode::Char(c) => s.extend(c.to_uppercase()),
            KeyCode::F(n) => s.push_str(&format!("F{n}")),
            KeyCode::Enter => s.push_str("Enter"),
            KeyCode::Tab => s.push_str("Tab"),
            KeyCode::BackTab => s.push_str("Shift-Tab"),
            KeyCode::Esc => s.push_str("Esc"),
            KeyCode::Backspace => s.push_str("Backspace"),
            KeyCode::Delete => s.push_str("Delete"),
            KeyCode::Up => s.push('↑'),
            KeyCode::Down => s.push('↓'),
            KeyCode::Left => s.push('←'),
            KeyCode::Right => s.push('→'),
            KeyCode::PageUp => s.push_str("PgUp"),
            KeyCode::PageDown => s.push_str("PgDn"),
            KeyCode::Home => s.push_str("Home"),
            KeyCode::End => s.push_str("End"),
            other => s.push_str(&format!("{other:?}")),
        }
        s
    }

    fn is_arrow(&self) -> bool {
        self.mods.is_empty()
            && matches!(
                self.code,
                KeyCode::Up | KeyCode::Down | KeyCode::Left | KeyCode::Right
            )
    }
}

pub const ENTER: Key = Key::plain(KeyCode::Enter);
pub const TAB: Key = Key::plain(KeyCode::Tab);
pub const BACK_TAB: Key = Key::plain(KeyCode::BackTab);
pub const ESC: Key = Key::plain(KeyCode::Esc);
pub const BACKSPACE: Key = Key::plain(KeyCode::Backspace);
pub const DELETE: Key = Key::plain(KeyCode::Delete);
pub const UP: Key = Key::plain(KeyCode::Up);
pub const DOWN: Key = Key::plain(KeyCode::Down);
pub const LEFT: Key = Key::plain(KeyCode::Left);
pub const RIGHT: Key = Key::plain(KeyCode::Right);
pub const SPACE: Key = Key::char(' ');

pub const fn f(n: u8) -> Key {
    Key::plain(KeyCode::F(n))
}

/// A command and the keys that give it. `keys` are shown in hints; `also` work too but are
/// shown only in the help (Esc besides Shift-Tab, a card reader's Enter…).
#[derive(Clone, Debug)]
pub struct Binding<C> {
    pub cmd: C,
    pub keys: &'static [Key],
    pub also: &'static [Key],
    /// Short text for the key-hint line (a string key); `None`: not in the hint line.
    pub hint: Option<&'static str>,
    /// Text for the F1 help (a string key); `None`: not in the help.
    pub help: Option<&'static str>,
    /// In the help, on the line of the binding before it (F2 F3 F4 F5 in one line).
    pub same_line: bool,
}

impl<C> Binding<C> {
    pub const fn new(cmd: C, keys: &'static [Key]) -> Self {
        Binding {
            cmd,
            keys,
            also: &[],
            hint: None,
            help: None,
            same_line: false,
        }
    }

    pub const fn also(mut self, keys: &'static [Key]) -> Self {
        self.also = keys;
        self
    }

    pub const fn hint(mut self, key: &'static str) -> Self {
        self.hint = Some(key);
        self
    }

    pub const fn help(mut self, key: &'static str) -> Self {
        self.help = Some(key);
        self
    }

    pub const fn same_line(mut self) -> Self {
        self.same_line = true;
        self
    }

    pub fn matches(&self, ev: &KeyEvent) -> bool {
        self.keys.iter().chain(self.also).any(|k| k.matches(ev))
    }

    /// The keys as the hint line shows them: `Tab/Enter`, `↑↓`.
    pub fn label(&self) -> String {
        label_of(self.keys)
    }

    /// Text with the key in it: `{key}` replaced by the label, or the label in front.
    fn with_label(&self, label: &str, text_key: &str, lang: Lang) -> String {
        let text = i18n::text(lang, text_key);
        if text.contains("{key}") {
            text.replace("{key}", label)
        } else {
            format!("{label} {text}")
        }
    }
}

fn label_of(keys: &[Key]) -> String {
    let mut s = String::new();
    for (i, k) in keys.iter().enumerate() {
        // arrows read as one glyph group (↑↓), other keys are separated (Tab/Enter)
        if i > 0 && !(k.is_arrow() && keys[i - 1].is_arrow()) {
            s.push('/');
        }
        s.push_str(&k.label());
    }
    s
}

/// The command for a key, if an enabled binding has it. The first binding wins, so a binding
/// that applies only in some state comes before the general one.
pub fn find<C: Clone>(
    list: &[Binding<C>],
    ev: &KeyEvent,
    enabled: impl Fn(&C) -> bool,
) -> Option<C> {
    list.iter()
        .find(|b| b.matches(ev) && enabled(&b.cmd))
        .map(|b| b.cmd.clone())
}

/// The key-hint line: every binding with a hint that `shown` lets through, `key text`,
/// separated by `sep`.
pub fn hint_line<C>(
    list: &[Binding<C>],
    lang: Lang,
    sep: &str,
    shown: impl Fn(&C) -> bool,
) -> String {
    list.iter()
        .filter(|b| shown(&b.cmd))
        .filter_map(|b| Some(b.with_label(&b.label(), b.hint?, lang)))
        .collect::<Vec<_>>()
        .join(sep)
}

/// The key-hint line as items, each with its command: for a line that must leave some out.
pub fn hint_items<C: Clone>(
    list: &[Binding<C>],
    lang: Lang,
    shown: impl Fn(&C) -> bool,
) -> Vec<(C, String)> {
    list.iter()
        .filter(|b| shown(&b.cmd))
        .filter_map(|b| Some((b.cmd.clone(), b.with_label(&b.label(), b.hint?, lang))))
        .collect()
}

/// The label of the first binding of a command, for text that names its key.
pub fn label<C>(list: &[Binding<C>], is: impl Fn(&C) -> bool) -> String {
    list.iter()
        .find(|b| is(&b.cmd))
        .map(Binding::label)
        .unwrap_or_default()
}

/// The F1 help of a list: one line per binding with help text, every key that works named.
pub fn help_lines<C>(list: &[Binding<C>], lang: Lang) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for b in list {
        let Some(help) = b.help else { continue };
        let all: Vec<Key> = b.keys.iter().chain(b.also).copied().collect();
        let line = b.with_label(&label_of(&all), help, lang);
        match lines.last_mut() {
            Some(last) if b.same_line => {
                last.push_str("  ");
                last.push_str(&line);
            }
            _ => lines.push(line),
        }
    }
    lines
}

/// The app's keys on every screen of an open session.
pub const SESSION: &[Binding<Action>] = &[
    Binding::new(Action::Help, &[f(1)]).hint("keys.help"),
    Binding::new(Action::Goto(Screen::Form), &[f(2)]).help("tab.form"),
    Binding::new(Action::Goto(Screen::Records), &[f(3)])
        .help("tab.records")
        .same_line(),
    Binding::new(Action::Goto(Screen::Dashboard), &[f(4)])
        .help("tab.dashboard")
        .same_line(),
    Binding::new(Action::Goto(Screen::Upload), &[f(5)])
        .help("tab.upload")
        .same_line(),
    // every plain F-key has its use: Shift-F5, beside the upload, and Alt-P
    Binding::new(Action::Goto(Screen::Peers), &[Key::shift(KeyCode::F(5))])
        .also(&[Key {
            code: KeyCode::Char('p'),
            mods: KeyModifiers::ALT,
        }])
        .help("tab.peers")
        .same_line(),
    Binding::new(Action::Goto(Screen::Import), &[f(9)])
        .help("tab.import")
        .same_line(),
    // F11 is full screen in some terminal windows: Alt-S too
    Binding::new(Action::Goto(Screen::Settings), &[f(11)])
        .also(&[Key {
            code: KeyCode::Char('s'),
            mods: KeyModifiers::ALT,
        }])
        .help("tab.settings")
        .same_line(),
    Binding::new(Action::Tally, &[f(6)])
        .hint("keys.tally")
        .help("help.global.tally"),
    Binding::new(Action::UndoTally, &[Key::shift(KeyCode::F(6))])
        .help("help.global.untally")
        .same_line(),
    Binding::new(Action::Lock, &[f(10)])
        .hint("keys.lock")
        .help("help.global.lock"),
    Binding::new(Action::ToggleLanguage, &[f(12)])
        .help("help.global.language")
        .same_line(),
    Binding::new(Action::Quit, &[Key::ctrl('q')])
        .hint("keys.quit")
        .help("help.global.quit"),
];

/// The app's keys before the data folder is open and on the lock screen.
pub const OUTSIDE: &[Binding<Action>] = &[
    Binding::new(Action::ToggleLanguage, &[f(12)]).hint("keys.other_language"),
    Binding::new(Action::Quit, &[Key::ctrl('q')]).hint("keys.quit"),
];

/// Every string key a list names exists in both languages (the source check only sees keys
/// written in `t!` calls).
#[cfg(test)]
pub fn assert_strings_exist<C>(list: &[Binding<C>]) {
    for b in list {
        for key in b.hint.iter().chain(&b.help) {
            for lang in Lang::ALL {
                assert_ne!(i18n::text(lang, key), *key, "{key} missing in {lang}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn keys_match_as_typed() {
        let ctrl_s = Key::ctrl('s');
        assert!(ctrl_s.matches(&ev(KeyCode::Char('s'), KeyModifiers::CONTROL)));
        assert!(!ctrl_s.matches(&ev(KeyCode::Char('s'), KeyModifiers::NONE)));
        let y = Key::char('y');
        assert!(y.matches(&ev(KeyCode::Char('Y'), KeyModifiers::SHIFT)));
        assert!(!y.matches(&ev(KeyCode::Char('y'), KeyModifiers::CONTROL)));
        assert!(!f(6).matches(&ev(KeyCode::F(6), KeyModifiers::SHIFT)));
        assert!(Key::shift(KeyCode::F(6)).matches(&ev(KeyCode::F(6), KeyModifiers::SHIFT)));
        assert!(BACK_TAB.matches(&ev(KeyCode::BackTab, KeyModifiers::SHIFT)));
        assert!(Key::char('是').matches(&ev(KeyCode::Char('是'), KeyModifiers::NONE)));
    }

    #[test]
    fn labels_read_as_on_the_keyboard() {
        assert_eq!(label_of(&[TAB, ENTER]), "Tab/Enter");
        assert_eq!(label_of(&[UP, DOWN]), "↑↓");
        assert_eq!(label_of(&[Key::shift(KeyCode::F(6))]), "Shift-F6");
        assert_eq!(label_of(&[Key::ctrl('q')]), "Ctrl-Q");
        assert_eq!(label_of(&[Key::char('p'), f(8)]), "P/F8");
        assert_eq!(label_of(&[SPACE]), "Space");
    }

    #[test]
    fn the_hint_line_and_the_help_come_from_the_list() {
        let hint = hint_line(SESSION, Lang::Zh, "  ", |_| true);
        assert_eq!(hint, "F1 帮助  F6 咨询+1  F10 锁屏  Ctrl-Q 退出");
        let outside = hint_line(OUTSIDE, Lang::En, "  ", |_| true);
        assert_eq!(outside, "F12 中文  Ctrl-Q quit");
        let help = help_lines(SESSION, Lang::Zh);
        assert_eq!(
            help[0],
            "F2 登记  F3 记录  F4 统计  F5 上传  Shift-F5/Alt-P 配对  F9 导入  F11/Alt-S 设置"
        );
        assert!(help.iter().any(|l| l.contains("Shift-F6")));
        assert!(
            !help.iter().any(|l| l.contains("F1 ")),
            "F1 is how help opened"
        );
    }

    #[test]
    fn a_key_finds_its_command_only_while_enabled() {
        let quit = ev(KeyCode::Char('q'), KeyModifiers::CONTROL);
        assert!(matches!(find(SESSION, &quit, |_| true), Some(Action::Quit)));
        assert!(find(SESSION, &quit, |a| !matches!(a, Action::Quit)).is_none());
        let undo = ev(KeyCode::F(6), KeyModifiers::SHIFT);
        assert!(matches!(
            find(SESSION, &undo, |_| true),
            Some(Action::UndoTally)
        ));
    }

    #[test]
    fn every_text_of_the_app_lists_exists_in_both_languages() {
        assert_strings_exist(SESSION);
        assert_strings_exist(OUTSIDE);
    }
}
