//! A one-line text input that knows about wide characters: the cursor sits after the right
//! cell whether the text is 葛婷婷 (two columns each) or ASCII, and long text scrolls.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::member::text::display_safe;
use crate::tui::keys::{self, BACKSPACE, Binding, DELETE, Key, LEFT, RIGHT};

/// What a key did to a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Not a key of this field.
    Pass,
    /// Taken, nothing changed (the cursor moved, or the value was already so).
    Taken,
    Changed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextCmd {
    ClearToStart,
    DeleteBack,
    DeleteForward,
    Left,
    Right,
    Home,
    End,
}

/// The editing keys of every text field (characters typed go in as they are).
pub const KEYS: &[Binding<TextCmd>] = &[
    // readline's habit
    Binding::new(TextCmd::ClearToStart, &[Key::ctrl('u')]).help("help.text.clear_to_start"),
    Binding::new(TextCmd::DeleteBack, &[BACKSPACE]),
    Binding::new(TextCmd::DeleteForward, &[DELETE]),
    Binding::new(TextCmd::Left, &[LEFT]),
    Binding::new(TextCmd::Right, &[RIGHT]),
    Binding::new(TextCmd::Home, &[Key::plain(KeyCode::Home)]),
    Binding::new(TextCmd::End, &[Key::plain(KeyCode::End)]),
];

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextInput {
    chars: Vec<char>,
    /// Cursor position, in characters (0..=len).
    cursor: usize,
    max_chars: usize,
}

impl TextInput {
    pub fn new(max_chars: usize) -> TextInput {
        TextInput {
            // Room for the whole value up front: a passphrase is never reallocated, which
            // would leave a copy behind that `wipe` cannot reach.
            chars: Vec::with_capacity(max_chars.min(128)),
            cursor: 0,
            max_chars,
        }
    }

    pub fn value(&self) -> String {
        self.chars.iter().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    pub fn set(&mut self, s: &str) {
        self.chars = s.chars().take(self.max_chars).collect();
        self.cursor = self.chars.len();
    }

    /// Clears and overwrites the characters in memory (passphrase fields).
    pub fn wipe(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.chars);
        self.cursor = 0;
    }

    /// Inserts typed or pasted text. Line breaks and tabs become spaces; other control
    /// characters (an ESC inside a paste) are dropped: they could never be valid here.
    pub fn insert_str(&mut self, s: &str) -> bool {
        let mut changed = false;
        for c in s.chars() {
            let c = if matches!(c, '\n' | '\r' | '\t') {
                ' '
            } else {
                c
            };
            if c.is_control() || self.chars.len() >= self.max_chars {
                continue;
            }
            self.chars.insert(self.cursor, c);
            self.cursor += 1;
            changed = true;
        }
        changed
    }

    /// Editing keys and typed characters; other keys are left to the screen.
    pub fn handle_key(&mut self, key: &KeyEvent) -> Edit {
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        let changed = match keys::find(KEYS, key, |_| true) {
            Some(TextCmd::ClearToStart) => {
                let changed = self.cursor > 0;
                self.chars.drain(..self.cursor);
                self.cursor = 0;
                changed
            }
            Some(TextCmd::DeleteBack) if self.cursor > 0 => {
                self.cursor -= 1;
                self.chars.remove(self.cursor);
                true
            }
            Some(TextCmd::DeleteForward) if self.cursor < self.chars.len() => {
                self.chars.remove(self.cursor);
                true
            }
            Some(TextCmd::DeleteBack | TextCmd::DeleteForward) => false,
            Some(TextCmd::Left) => {
                self.cursor = self.cursor.saturating_sub(1);
                false
            }
            Some(TextCmd::Right) => {
                self.cursor = (self.cursor + 1).min(self.chars.len());
                false
            }
            Some(TextCmd::Home) => {
                self.cursor = 0;
                false
            }
            Some(TextCmd::End) => {
                self.cursor = self.chars.len();
                false
            }
            None => match key.code {
                KeyCode::Char(c) if plain => self.insert_str(&c.to_string()),
                _ => return Edit::Pass,
            },
        };
        if changed { Edit::Changed } else { Edit::Taken }
    }

    /// Columns before the cursor.
    fn cursor_columns(&self) -> usize {
        self.chars[..self.cursor]
            .iter()
            .map(|c| c.width().unwrap_or(0))
            .sum()
    }

    /// Draws the text into `area` (one line), scrolled so the cursor is visible; returns
    /// where the terminal cursor goes.
    pub fn render(&self, area: Rect, buf: &mut Buffer, style: Style, masked: bool) -> Position {
        let width = area.width as usize;
        let shown: String = if masked {
            "•".repeat(self.chars.len())
        } else {
            display_safe(&self.value()).into_owned()
        };
        let before = if masked {
            self.cursor
        } else {
            self.cursor_columns()
        };
        // Scroll so that the cursor stays inside the box.
        let skip_cols = before.saturating_sub(width.saturating_sub(1));
        let mut col = 0usize;
        let mut x = 0usize;
        let mut visible = String::new();
        for c in shown.chars() {
            let w = c.width().unwrap_or(0);
            if col >= skip_cols && x + w <= width {
                visible.push(c);
                x += w;
            }
            col += w;
        }
        buf.set_stringn(area.x, area.y, &visible, width, style);
        let fill = width.saturating_sub(visible.width());
        if fill > 0 {
            buf.set_stringn(
                area.x + visible.width() as u16,
                area.y,
                " ".repeat(fill),
                fill,
                style,
            );
        }
        Position::new(area.x + (before - skip_cols).min(width) as u16, area.y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyEvent, KeyModifiers};

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn editing_and_wide_cursor() {
        let mut t = TextInput::new(40);
        for c in "葛婷婷".chars() {
            t.handle_key(&key(KeyCode::Char(c)));
        }
        let area = Rect::new(0, 0, 20, 1);
        let mut buf = Buffer::empty(area);
        let pos = t.render(area, &mut buf, Style::default(), false);
        assert_eq!(pos.x, 6, "three wide characters: cursor after six columns");
        t.handle_key(&key(KeyCode::Left));
        t.handle_key(&key(KeyCode::Backspace));
        assert_eq!(t.value(), "葛婷");
        assert!(t.insert_str("a\u{1b}[31m\nb"));
        assert_eq!(t.value(), "葛a[31m b婷");
    }

    #[test]
    fn long_text_scrolls_to_keep_the_cursor_visible() {
        let mut t = TextInput::new(100);
        t.insert_str(&"某".repeat(30));
        let area = Rect::new(0, 0, 10, 1);
        let mut buf = Buffer::empty(area);
        let pos = t.render(area, &mut buf, Style::default(), false);
        assert!(pos.x <= 9);
        t.insert_str(&"x".repeat(200));
        assert_eq!(t.value().chars().count(), 100, "length capped");
    }
}
