//! Drawing the whole app from its state: header tabs, the current screen, the status bar,
//! the box on top. Pure: reads the state, writes the frame; every screen draws itself.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::action::Action;
use super::app::{App, Screen, Tone};
use super::keys::{self, SESSION};
use super::theme;
use crate::t;
use crate::tui::widgets::{fit, fits};

/// The smallest terminal the layout is made for.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let lang = app.lang;
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = t!(
            lang,
            "ui.too_small",
            w = MIN_WIDTH,
            h = MIN_HEIGHT,
            cw = area.width,
            ch = area.height
        );
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .style(theme::warn())
            .render(area, frame.buffer_mut());
        return;
    }
    let with_chrome = matches!(
        app.screen,
        Screen::Form | Screen::Records | Screen::Dashboard | Screen::Upload
    );
    let [header, body, status] = Layout::vertical([
        Constraint::Length(if with_chrome { 1 } else { 0 }),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    if with_chrome {
        render_header(app, frame, header);
    }
    let inner = Rect::new(
        body.x + 1,
        body.y,
        body.width.saturating_sub(2),
        body.height,
    );
    match app.screen {
        Screen::Setup => app.setup.render(frame, inner),
        Screen::Unlock | Screen::Locked => app.unlock.render(frame, inner, lang),
        Screen::Form => app.form.render(frame, inner, lang),
        Screen::Done => {
            if let Some(d) = &app.done {
                d.render(frame, body, lang);
            }
        }
        Screen::Records => app.records.render(frame, inner, lang),
        Screen::Dashboard => app.dashboard.render(frame, inner, lang),
        Screen::Upload => app.upload.render(frame, inner, lang),
    }
    render_status(app, frame, status);
    if let Some(o) = app.overlay {
        o.render(app.help_lines(), frame, area, lang);
    }
}

/// The screens' tabs, each with the key that goes there (from the app's key list).
fn render_header(app: &App, frame: &mut Frame, area: Rect) {
    let lang = app.lang;
    let mut spans = Vec::new();
    for b in SESSION {
        let (Action::Goto(screen), Some(text)) = (&b.cmd, b.help) else {
            continue;
        };
        let style = if app.screen == *screen {
            theme::tab_active()
        } else {
            theme::dim()
        };
        let label = crate::i18n::text(lang, text);
        spans.push(Span::styled(format!(" {} {label} ", b.label()), style));
        spans.push(Span::raw(" "));
    }
    if let Some(s) = &app.session {
        let place = crate::member::text::display_safe(&s.config.place).into_owned();
        let union = crate::member::text::display_safe(&s.config.union).into_owned();
        let used: usize = spans.iter().map(|s| s.width()).sum();
        let room = (area.width as usize).saturating_sub(used);
        spans.push(Span::styled(
            fit(&format!(" {place} · {union}"), room).into_owned(),
            theme::dim(),
        ));
    }
    frame
        .buffer_mut()
        .set_line(area.x, area.y, &Line::from(spans), area.width);
}

fn render_status(app: &App, frame: &mut Frame, area: Rect) {
    let lang = app.lang;
    let buf = frame.buffer_mut();
    buf.set_stringn(
        area.x,
        area.y,
        " ".repeat(area.width as usize),
        area.width as usize,
        theme::status(),
    );
    // No figures on the lock screen: nothing shown until the passphrase is typed.
    let left = if app.session.is_some() && app.screen != Screen::Locked {
        let c = &app.counts;
        t!(
            lang,
            "status.counts",
            consultations = c.consultations,
            registered = c.registered,
            conversion = format!("{:.0}%", c.conversion() * 100.0),
            queued = c.queued
        )
    } else {
        String::new()
    };
    let (msg, style, is_message) = match &app.message {
        Some((m, Tone::Bad)) if app.screen != Screen::Locked => (
            m.clone(),
            theme::error().bg(ratatui::style::Color::Blue),
            true,
        ),
        Some((m, Tone::Good | Tone::Info)) if app.screen != Screen::Locked => {
            (m.clone(), theme::status(), true)
        }
        _ => (
            keys::hint_line(app.app_keys(), lang, "  ", |_| true),
            theme::status(),
            false,
        ),
    };
    let width = area.width as usize;
    // Key hints that do not fit are left out whole, not cut mid-word (F1 lists them all).
    let msg = if is_message {
        msg
    } else {
        let room = width.saturating_sub(unicode_width::UnicodeWidthStr::width(left.as_str()) + 2);
        let mut shown = String::new();
        for item in msg.split("  ") {
            let next = if shown.is_empty() {
                item.to_string()
            } else {
                format!("{shown}  {item}")
            };
            if !fits(&next, room) {
                break;
            }
            shown = next;
        }
        shown
    };
    // A message the operator must read wins over the day's figures when both do not fit;
    // the key hints are what gets cut.
    let left = if is_message && !left.is_empty() && !fits(&format!("{left}  {msg}"), width) {
        String::new()
    } else {
        left
    };
    let left_w = unicode_width::UnicodeWidthStr::width(left.as_str());
    buf.set_stringn(area.x, area.y, fit(&left, width), width, theme::status());
    let msg_x = if left.is_empty() { 1 } else { left_w + 2 };
    if msg_x < width {
        let room = width - msg_x;
        buf.set_stringn(area.x + msg_x as u16, area.y, fit(&msg, room), room, style);
    }
}
