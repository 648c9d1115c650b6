//! Drawing the whole app from its state: header tabs, the current screen, the status bar,
//! overlays. Pure: reads the state, writes the frame.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use super::app::{App, Overlay, Screen, Tone};
use super::theme;
use crate::i18n::Lang;
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
        render_overlay(app, o, frame, area);
    }
}

fn render_header(app: &App, frame: &mut Frame, area: Rect) {
    let lang = app.lang;
    let tabs = [
        (Screen::Form, "F2", t!(lang, "tab.form")),
        (Screen::Records, "F3", t!(lang, "tab.records")),
        (Screen::Dashboard, "F4", t!(lang, "tab.dashboard")),
        (Screen::Upload, "F5", t!(lang, "tab.upload")),
    ];
    let mut spans = Vec::new();
    for (screen, key, label) in tabs {
        let style = if app.screen == screen {
            theme::tab_active()
        } else {
            theme::dim()
        };
        spans.push(Span::styled(format!(" {key} {label} "), style));
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
        _ => (keys_hint(app), theme::status(), false),
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

fn keys_hint(app: &App) -> String {
    let lang = app.lang;
    match app.screen {
        Screen::Setup | Screen::Unlock | Screen::Locked => t!(lang, "status.keys_locked").into(),
        _ => t!(lang, "status.keys").into(),
    }
}

fn render_overlay(app: &App, o: Overlay, frame: &mut Frame, area: Rect) {
    let lang = app.lang;
    let (title, lines): (&str, Vec<String>) = match o {
        Overlay::Help => (t!(lang, "help.title"), help_lines(app.screen, lang)),
        Overlay::ConfirmQuit => (
            t!(lang, "confirm.quit_title"),
            vec![t!(lang, "confirm.quit").into()],
        ),
        Overlay::ConfirmClear => (
            t!(lang, "confirm.clear_title"),
            vec![t!(lang, "confirm.clear").into()],
        ),
    };
    let w = area.width.min(72);
    // Height after wrapping, so a long line is not cut off.
    let inner = w.saturating_sub(2).max(1) as usize;
    let rows: usize = lines
        .iter()
        .map(|l| {
            unicode_width::UnicodeWidthStr::width(l.as_str())
                .div_ceil(inner)
                .max(1)
        })
        .sum();
    let h = (rows as u16 + 2).min(area.height);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    let buf = frame.buffer_mut();
    Clear.render(r, buf);
    Paragraph::new(lines.into_iter().map(Line::from).collect::<Vec<_>>())
        .block(
            Block::bordered()
                .title(title.to_string())
                .border_style(theme::hint()),
        )
        .wrap(Wrap { trim: false })
        .render(r, buf);
}

fn help_lines(screen: Screen, lang: Lang) -> Vec<String> {
    let keys: &[&str] = match screen {
        Screen::Form => &[
            "help.form.move",
            "help.form.submit",
            "help.form.lists",
            "help.form.doc_type",
            "help.form.clear",
            "help.form.reprint",
        ],
        Screen::Done => &["help.done"],
        Screen::Records => &["help.records.search", "help.records.view"],
        Screen::Upload => &["help.upload"],
        _ => &[],
    };
    let mut lines: Vec<String> = keys
        .iter()
        .map(|k| crate::i18n::text(lang, k).to_string())
        .collect();
    lines.push(String::new());
    for k in [
        "help.global.screens",
        "help.global.tally",
        "help.global.lock",
        "help.global.quit",
    ] {
        lines.push(crate::i18n::text(lang, k).to_string());
    }
    lines.push(String::new());
    lines.push(t!(lang, "help.close").into());
    lines
}
