//! The boxes over a screen: the help, and the questions (quit, clear the form, upload over
//! plain HTTP).

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Widget};

use crate::i18n::Lang;
use crate::t;
use crate::tui::action::Action;
use crate::tui::keys::{self, Binding, Key};
use crate::tui::theme;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    Help,
    ConfirmQuit,
    ConfirmClear,
    /// The office's address is `http://` on another machine: upload unencrypted anyway?
    ConfirmPlainHttp,
}

/// The answer yes to a question; any other key is no.
const YES: &[Binding<()>] = &[Binding::new((), &[Key::char('y')]).also(&[Key::char('是')])];

impl Overlay {
    /// The help closes on any key; a question is answered by its yes key or any other.
    pub fn handle_key(self, key: &KeyEvent) -> Action {
        let yes = keys::find(YES, key, |_| true).is_some();
        match self {
            Overlay::ConfirmQuit if yes => Action::QuitNow,
            Overlay::ConfirmClear if yes => Action::ClearForm,
            Overlay::ConfirmPlainHttp if yes => Action::StartUpload {
                plain_http_ok: true,
            },
            _ => Action::CloseOverlay,
        }
    }

    /// A box in the middle of `area`; `text` is what the help (or the plain-HTTP question,
    /// [`plain_http_question`]) shows.
    pub fn render(self, text: Vec<String>, frame: &mut Frame, area: Rect, lang: Lang) {
        let yes = keys::label(YES, |_| true);
        let (title, lines): (&str, Vec<String>) = match self {
            Overlay::Help => (t!(lang, "help.title"), text),
            Overlay::ConfirmPlainHttp => (t!(lang, "confirm.plain_http_title"), text),
            Overlay::ConfirmQuit => (
                t!(lang, "confirm.quit_title"),
                vec![t!(lang, "confirm.quit", key = yes)],
            ),
            Overlay::ConfirmClear => (
                t!(lang, "confirm.clear_title"),
                vec![t!(lang, "confirm.clear", key = yes)],
            ),
        };
        let w = area.width.min(72);
        // wrapped here (Chinese between characters, never at a lone space), so the box's
        // height is the text's and no line is cut off
        let inner = w.saturating_sub(2).max(1) as usize;
        let lines: Vec<String> = lines
            .iter()
            .flat_map(|l| match crate::tui::widgets::wrap(l, inner) {
                wrapped if wrapped.is_empty() => vec![String::new()],
                wrapped => wrapped,
            })
            .collect();
        let rows = lines.len();
        let h = (rows as u16 + 2).min(area.height);
        let r = Rect::new(
            area.x + (area.width - w) / 2,
            area.y + (area.height - h) / 2,
            w,
            h,
        );
        let buf = frame.buffer_mut();
        crate::tui::widgets::clear_box(buf, r);
        Paragraph::new(lines.into_iter().map(Line::from).collect::<Vec<_>>())
            .block(
                Block::bordered()
                    .title(title.to_string())
                    .border_style(theme::hint()),
            )
            .render(r, buf);
    }
}

/// The question before sending personal data unencrypted to `host`.
pub fn plain_http_question(host: &str, lang: Lang) -> Vec<String> {
    let yes = keys::label(YES, |_| true);
    vec![
        t!(lang, "confirm.plain_http", host = host),
        String::new(),
        t!(lang, "confirm.plain_http_keys", key = yes),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    #[test]
    fn a_question_takes_yes_and_anything_else_is_no() {
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert!(matches!(
            Overlay::ConfirmQuit.handle_key(&key('Y')),
            Action::QuitNow
        ));
        assert!(matches!(
            Overlay::ConfirmClear.handle_key(&key('是')),
            Action::ClearForm
        ));
        assert!(matches!(
            Overlay::ConfirmQuit.handle_key(&key('n')),
            Action::CloseOverlay
        ));
        assert!(matches!(
            Overlay::Help.handle_key(&key('y')),
            Action::CloseOverlay
        ));
        assert!(matches!(
            Overlay::ConfirmPlainHttp.handle_key(&key('y')),
            Action::StartUpload {
                plain_http_ok: true
            }
        ));
        for no in ['n', '\r', 'u'] {
            assert!(matches!(
                Overlay::ConfirmPlainHttp.handle_key(&key(no)),
                Action::CloseOverlay
            ));
        }
    }
}
