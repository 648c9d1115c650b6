//! The needs after F6: the consultation is counted at once; the needs list's keys (1–9, 0)
//! then mark what the worker asked for, Enter or Esc closes, and any other key closes and
//! goes on to the screen (the next worker's name is never lost).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Widget};

use crate::i18n::Lang;
use crate::member::options::{Choice, ListKind};
use crate::t;
use crate::tui::theme;

/// The needs marked for the consultation just counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NeedsPicker {
    /// Need codes, in the order pressed.
    pub picked: Vec<String>,
}

/// What the picker made of a key.
#[derive(Debug, PartialEq, Eq)]
pub enum NeedsOutcome {
    /// A need marked or unmarked: store the new list.
    Changed(Vec<String>),
    /// Done (Enter, Esc).
    Close,
    /// Not the picker's: close it and let the screen have the key.
    CloseAndPass,
}

fn choice_for(c: char) -> Option<&'static Choice> {
    ListKind::Needs.choices().iter().find(|n| n.key == Some(c))
}

impl NeedsPicker {
    pub fn handle_key(&mut self, key: &KeyEvent) -> NeedsOutcome {
        if key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return NeedsOutcome::CloseAndPass;
        }
        match key.code {
            KeyCode::Enter | KeyCode::Esc => NeedsOutcome::Close,
            KeyCode::Char(c) => match choice_for(c) {
                Some(choice) => {
                    if let Some(i) = self.picked.iter().position(|p| *p == choice.code) {
                        self.picked.remove(i);
                    } else {
                        self.picked.push(choice.code.clone());
                    }
                    NeedsOutcome::Changed(self.picked.clone())
                }
                None => NeedsOutcome::CloseAndPass,
            },
            _ => NeedsOutcome::CloseAndPass,
        }
    }

    /// A box at the bottom of `area`: the list with its keys, the marked ones ticked.
    pub fn render(&self, frame: &mut Frame, area: Rect, lang: Lang) {
        let choices = ListKind::Needs.choices();
        let mut lines: Vec<Line> = vec![Line::from(t!(lang, "needs.hint").to_string())];
        let items: Vec<String> = choices
            .iter()
            .map(|c| {
                let mark = if self.picked.contains(&c.code) {
                    "[x]"
                } else {
                    "[ ]"
                };
                format!("{} {mark} {}", c.key.unwrap_or(' '), c.label(lang))
            })
            .collect();
        // two columns where they fit, else one
        let inner = area.width.saturating_sub(2) as usize;
        let col = items
            .iter()
            .map(|s| unicode_width::UnicodeWidthStr::width(s.as_str()))
            .max()
            .unwrap_or(0)
            + 2;
        if col * 2 <= inner {
            for pair in items.chunks(2) {
                let left = &pair[0];
                let pad = col.saturating_sub(unicode_width::UnicodeWidthStr::width(left.as_str()));
                let right = pair.get(1).map(String::as_str).unwrap_or("");
                lines.push(Line::from(format!("{left}{}{right}", " ".repeat(pad))));
            }
        } else {
            lines.extend(items.into_iter().map(Line::from));
        }
        let h = (lines.len() as u16 + 2).min(area.height);
        // the whole width: a box edge inside the form could split a wide character
        let r = Rect::new(
            area.x,
            area.y + area.height.saturating_sub(h + 1),
            area.width,
            h,
        );
        let buf = frame.buffer_mut();
        crate::tui::widgets::clear_box(buf, r);
        Paragraph::new(lines)
            .block(
                Block::bordered()
                    .title(t!(lang, "needs.title").to_string())
                    .border_style(theme::hint()),
            )
            .render(r, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn the_list_s_keys_mark_and_unmark_anything_else_goes_on() {
        let mut p = NeedsPicker::default();
        assert_eq!(
            p.handle_key(&key(KeyCode::Char('1'))),
            NeedsOutcome::Changed(vec!["legal_aid".into()])
        );
        assert_eq!(
            p.handle_key(&key(KeyCode::Char('0'))),
            NeedsOutcome::Changed(vec!["legal_aid".into(), "other".into()])
        );
        assert_eq!(
            p.handle_key(&key(KeyCode::Char('1'))),
            NeedsOutcome::Changed(vec!["other".into()])
        );
        assert_eq!(p.handle_key(&key(KeyCode::Enter)), NeedsOutcome::Close);
        assert_eq!(p.handle_key(&key(KeyCode::Esc)), NeedsOutcome::Close);
        // the next worker's name, a function key, Ctrl-Q: not the picker's
        assert_eq!(
            p.handle_key(&key(KeyCode::Char('王'))),
            NeedsOutcome::CloseAndPass
        );
        assert_eq!(
            p.handle_key(&key(KeyCode::F(2))),
            NeedsOutcome::CloseAndPass
        );
        assert_eq!(
            p.handle_key(&KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL)),
            NeedsOutcome::CloseAndPass
        );
        assert_eq!(p.picked, vec!["other".to_string()]);
    }
}
