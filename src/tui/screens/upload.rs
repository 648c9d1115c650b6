//! The end-of-day upload: queue size, progress bar, count and rate, per-record outcomes,
//! retry. The upload itself runs on a worker thread and reports progress as messages.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Gauge, Widget};

use crate::i18n::Lang;
use crate::t;
use crate::tui::theme;
use crate::tui::widgets::{fit, wrapped};

#[derive(Clone, Debug, Default)]
pub struct UploadState {
    pub queued: u64,
    pub server: Option<String>,
    pub configured: bool,
    pub running: bool,
    pub done: u64,
    pub total: u64,
    pub rate: f64,
    /// Outcome lines (member number and answer), newest last.
    pub log: Vec<(String, bool)>,
    pub message: Option<(String, bool)>,
}

pub enum UploadAction {
    Start,
}

impl UploadState {
    pub fn handle_key(&mut self, key: KeyEvent) -> Option<UploadAction> {
        match key.code {
            KeyCode::Enter | KeyCode::Char('r' | 'R' | 'u' | 'U')
                if self.configured && !self.running =>
            {
                Some(UploadAction::Start)
            }
            _ => None,
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, lang: Lang) {
        let buf = frame.buffer_mut();
        let mut y = area.y;
        buf.set_stringn(
            area.x,
            y,
            t!(lang, "upload.title"),
            area.width as usize,
            theme::title(),
        );
        y += 1;
        buf.set_stringn(
            area.x,
            y,
            t!(lang, "upload.queued", n = self.queued),
            area.width as usize,
            theme::label(),
        );
        y += 1;
        let server = match &self.server {
            Some(s) => t!(lang, "upload.server", server = s),
            None => t!(lang, "upload.not_configured").into(),
        };
        // how to configure it is the one thing to read here: wrapped, never cut
        let style = if self.configured {
            theme::dim()
        } else {
            theme::warn()
        };
        y += wrapped(buf, Rect::new(area.x, y, area.width, 3), &server, style) + 1;
        if self.running || self.total > 0 {
            let ratio = if self.total == 0 {
                0.0
            } else {
                (self.done as f64 / self.total as f64).clamp(0.0, 1.0)
            };
            Gauge::default()
                .gauge_style(theme::ok())
                .ratio(ratio)
                .label(t!(
                    lang,
                    "upload.progress",
                    done = self.done,
                    total = self.total,
                    rate = format!("{:.0}", self.rate)
                ))
                .render(Rect::new(area.x, y, area.width.min(70), 1), buf);
            y += 2;
        }
        if let Some((m, ok)) = &self.message {
            let style = if *ok { theme::ok() } else { theme::error() };
            y += wrapped(buf, Rect::new(area.x, y, area.width, 3), m, style) + 1;
        }
        let bottom = area.y + area.height.saturating_sub(1);
        let room = bottom.saturating_sub(y) as usize;
        for (line, ok) in self.log.iter().rev().take(room).rev() {
            let style: Style = if *ok { theme::label() } else { theme::warn() };
            let width = area.width as usize;
            buf.set_stringn(area.x, y, fit(line, width), width, style);
            y += 1;
        }
        let keys = if self.configured {
            t!(lang, "upload.keys")
        } else {
            t!(lang, "upload.keys_unconfigured")
        };
        buf.set_stringn(area.x, bottom, keys, area.width as usize, theme::hint());
    }
}
