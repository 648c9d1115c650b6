//! The passphrase screen: at start, and as the idle lock. It shows no personal data.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use zeroize::Zeroizing;

use crate::i18n::Lang;
use crate::t;
use crate::tui::action::Action;
use crate::tui::keys::{self, Binding, ENTER, OUTSIDE};
use crate::tui::screens::Outcome;
use crate::tui::theme;
use crate::tui::widgets::input::{Edit, TextInput};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Unlock,
}

const KEYS: &[Binding<Cmd>] = &[Binding::new(Cmd::Unlock, &[ENTER]).hint("keys.unlock")];

#[derive(Clone, Debug)]
pub struct UnlockState {
    pub pass: TextInput,
    pub error: Option<String>,
    /// The idle lock (the store is open) rather than the start.
    pub locked: bool,
}

impl UnlockState {
    pub fn new(locked: bool) -> UnlockState {
        UnlockState {
            pass: TextInput::new(128),
            error: None,
            locked,
        }
    }

    /// Enter hands over the passphrase (and clears the field).
    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        match keys::find(KEYS, &key, |_| !self.pass.is_empty()) {
            Some(Cmd::Unlock) => {
                let p = Zeroizing::new(self.pass.value());
                self.pass.wipe();
                Outcome::Do(Action::Unlock(p))
            }
            None => match self.pass.handle_key(&key) {
                Edit::Pass => Outcome::Pass,
                Edit::Taken | Edit::Changed => Outcome::Taken,
            },
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, lang: Lang) {
        let buf = frame.buffer_mut();
        let mid = area.y + area.height / 2;
        let title = if self.locked {
            t!(lang, "unlock.locked")
        } else {
            t!(lang, "unlock.title")
        };
        let x = area.x + area.width.saturating_sub(40) / 2;
        buf.set_stringn(x, mid.saturating_sub(3), title, 40, theme::title());
        buf.set_stringn(
            x,
            mid.saturating_sub(1),
            t!(lang, "unlock.prompt"),
            40,
            theme::label(),
        );
        let p = self.pass.render(
            Rect::new(x, mid, 40.min(area.width), 1),
            buf,
            theme::focused_input(),
            true,
        );
        if let Some(e) = &self.error {
            buf.set_stringn(
                x,
                mid + 2,
                e,
                (area.width - (x - area.x)) as usize,
                theme::error(),
            );
        }
        let keys = format!(
            "{}  {}",
            keys::hint_line(KEYS, lang, "  ", |_| true),
            keys::hint_line(OUTSIDE, lang, "  ", |_| true)
        );
        buf.set_stringn(x, mid + 4, keys, 60, theme::hint());
        frame.set_cursor_position(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_strings_exist() {
        keys::assert_strings_exist(KEYS);
    }
}
