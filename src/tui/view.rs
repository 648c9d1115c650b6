//! Drawing the whole app from its state: header tabs, the current screen, the status bar,
//! the box on top. Pure: reads the state, writes the frame; every screen draws itself.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::action::Action;
use super::app::{App, Screen, Tone};
use super::keys::{self, SESSION};
use super::screens::done::DoneState;
use super::theme;
use crate::t;
use crate::tui::widgets::{fit, fits, wrapped};
use ratatui::style::Style;

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
    // where the last card fits beside the form, the done screen is the form with it
    let done_as_form = app.screen == Screen::Done
        && beside_form(
            app,
            Rect::new(0, 0, area.width.saturating_sub(2), area.height - 2),
        )
        .is_some_and(|(_, panel)| panel.is_some());
    let with_chrome = done_as_form
        || matches!(
            app.screen,
            Screen::Form
                | Screen::Records
                | Screen::Dashboard
                | Screen::Upload
                | Screen::Import
                | Screen::Settings
                | Screen::Peers
        );
    let layout = |status_rows: u16| {
        Layout::vertical([
            Constraint::Length(if with_chrome { 1 } else { 0 }),
            Constraint::Min(1),
            Constraint::Length(status_rows),
        ])
        .areas::<3>(area)
    };
    let inner_of = |body: Rect| {
        Rect::new(
            body.x + 1,
            body.y,
            body.width.saturating_sub(2),
            body.height,
        )
    };
    // What the status line must say decides its height: a message is never cut, a second
    // row is taken when it needs one.
    let form_shown = app.screen == Screen::Form || done_as_form;
    let overflow = form_shown
        .then(|| {
            app.form
                .overflow(form_rect(app, inner_of(layout(1)[1])), lang)
        })
        .flatten();
    let message = status_message(app, overflow);
    let rows = match &message {
        Some((m, _)) => crate::tui::widgets::wrapped_lines(m, area.width.saturating_sub(2), 3),
        None => 1,
    };
    let [header, body, status] = layout(rows);
    if with_chrome {
        render_header(app, frame, header);
    }
    let inner = inner_of(body);
    match app.screen {
        Screen::Setup => app.setup.render(frame, inner),
        Screen::Unlock | Screen::Locked => app.unlock.render(frame, inner, lang),
        Screen::Form => render_form(app, frame, inner, lang),
        Screen::Done if done_as_form => render_form(app, frame, inner, lang),
        Screen::Done => {
            if let Some(d) = &app.done {
                d.render(frame, body, lang);
            }
        }
        Screen::Records => app.records.render(frame, inner, lang),
        Screen::Dashboard => app.dashboard.render(frame, inner, lang),
        Screen::Upload => app.upload.render(frame, inner, lang),
        Screen::Import => app.import.render(frame, inner, lang),
        Screen::Settings => app.settings.render(frame, inner, lang),
        Screen::Peers => app.peers.render(frame, inner, lang),
    }
    render_status(app, frame, status, message);
    if let Some(p) = &app.needs {
        p.render(frame, body, lang);
    }
    if let Some(o) = app.overlay {
        o.render(app.overlay_text(), frame, area, lang);
    }
}

/// The app's key hints that fit in `room` columns. Those that do not are left out whole, the
/// least needed first (the form shows F6 itself, F10 is in the help); the way out stays.
fn key_hints(app: &App, room: usize) -> String {
    let spare_first = |a: &Action| match a {
        Action::Tally => 0,
        Action::Lock => 1,
        Action::Help => 2,
        _ => 3,
    };
    let mut items = keys::hint_items(app.app_keys(), app.lang, |_| true);
    let line = |items: &[(Action, String)]| {
        items
            .iter()
            .map(|(_, text)| text.as_str())
            .collect::<Vec<_>>()
            .join("  ")
    };
    for rank in 0..3 {
        if fits(&line(&items), room) {
            break;
        }
        items.retain(|(a, _)| spare_first(a) != rank);
    }
    while !items.is_empty() && !fits(&line(&items), room) {
        items.remove(0);
    }
    line(&items)
}

/// The narrowest the form is drawn beside the last card: labels, a 30-column input, a note.
const FORM_MIN_WIDTH: u16 = 52;

/// The last card while a new member is typed, and where it goes in `area`: the form's part
/// and the panel's (`None`: no room for the panel with its whole quiet zone).
fn beside_form(app: &App, area: Rect) -> Option<(&DoneState, Option<(Rect, Rect)>)> {
    let d = app.done.as_ref().filter(|_| app.form.editing.is_none())?;
    let max = area.width.saturating_sub(FORM_MIN_WIDTH + 1);
    let split = d.panel_width(max, area.height).map(|w| {
        let form = Rect {
            width: area.width - w - 1,
            ..area
        };
        let panel = Rect::new(area.x + area.width - w, area.y, w, area.height);
        (form, panel)
    });
    Some((d, split))
}

/// Where the form is drawn in `area`: beside the last card, or the whole of it.
fn form_rect(app: &App, area: Rect) -> Rect {
    match beside_form(app, area) {
        Some((_, Some((form, _)))) => form,
        _ => area,
    }
}

/// The form, with the last card beside it, or its number and keys in the title row where
/// the card does not fit.
fn render_form(app: &App, frame: &mut Frame, area: Rect, lang: crate::i18n::Lang) {
    // F8 is the form's while it has found the person typed registered already
    let reprint = app.form.existing.is_none();
    match beside_form(app, area) {
        None => app.form.render(frame, area, lang),
        Some((d, Some((form, panel)))) => {
            app.form.render(frame, form, lang);
            d.render_panel(frame.buffer_mut(), panel, lang, reprint);
        }
        Some((d, None)) => {
            app.form.render(frame, area, lang);
            let strip = d.strip(lang, reprint);
            let w = unicode_width::UnicodeWidthStr::width(strip.as_str()) as u16;
            // right-aligned after the title
            if area.width > w + 16 {
                let x = area.x + area.width - w;
                frame
                    .buffer_mut()
                    .set_string(x, area.y, strip, theme::hint());
            }
        }
    }
}

/// The screens' tabs, each with the key that goes there (from the app's key list). Where
/// they do not all fit (English at 80 columns), the tabs not shown now give their key only.
fn render_header(app: &App, frame: &mut Frame, area: Rect) {
    let lang = app.lang;
    let tabs = |short: bool| {
        let mut spans = Vec::new();
        for b in SESSION {
            let (Action::Goto(screen), Some(text)) = (&b.cmd, b.help) else {
                continue;
            };
            let active = app.screen == *screen;
            let style = if active {
                theme::tab_active()
            } else {
                theme::dim()
            };
            // the first key only (F11, not F11/Alt-S: that is in the help), Shift as on
            // the key (⇧F5: the tabs must leave room for the place)
            let key = b
                .keys
                .first()
                .map(|k| k.label().replace("Shift-", "⇧"))
                .unwrap_or_default();
            let label = crate::i18n::text(lang, text);
            let text = if short && !active {
                format!(" {key} ")
            } else {
                format!(" {key} {label} ")
            };
            spans.push(Span::styled(text, style));
            spans.push(Span::raw(" "));
        }
        spans
    };
    let width = |spans: &[Span]| spans.iter().map(|s| s.width()).sum::<usize>();
    let mut spans = tabs(false);
    if width(&spans) > area.width as usize {
        spans = tabs(true);
    }
    if let Some(s) = &app.session {
        let place = crate::member::text::display_safe(&s.config.place).into_owned();
        let union = crate::member::text::display_safe(&s.config.union).into_owned();
        let room = (area.width as usize).saturating_sub(width(&spans));
        spans.push(Span::styled(
            fit(&format!(" {place} · {union}"), room).into_owned(),
            theme::dim(),
        ));
    }
    frame
        .buffer_mut()
        .set_line(area.x, area.y, &Line::from(spans), area.width);
}

/// What the status line must say instead of the app's keys: a message that went wrong, a
/// form's message too long for its place (`overflow`), news. Nothing on the lock screen.
fn status_message(app: &App, overflow: Option<String>) -> Option<(String, Style)> {
    if app.screen == Screen::Locked {
        return None;
    }
    let on_blue = |s: Style| s.bg(ratatui::style::Color::Blue);
    match (&app.message, overflow) {
        // both: the form's message after what went wrong (two groups, wrapped apart)
        (Some((m, Tone::Bad)), Some(whole)) => {
            Some((format!("{m}  {whole}"), on_blue(theme::error())))
        }
        (Some((m, Tone::Bad)), None) => Some((m.clone(), on_blue(theme::error()))),
        (_, Some(whole)) => Some((whole, on_blue(theme::warn()))),
        (Some((m, Tone::Good | Tone::Info)), _) => Some((m.clone(), theme::status())),
        (None, None) => None,
    }
}

/// The status line: the day's figures, then the message (wrapped on the rows the layout gave
/// it, the figures left out when both do not fit) or the app's keys.
fn render_status(app: &App, frame: &mut Frame, area: Rect, message: Option<(String, Style)>) {
    let lang = app.lang;
    let buf = frame.buffer_mut();
    for y in area.y..area.y + area.height {
        buf.set_stringn(
            area.x,
            y,
            " ".repeat(area.width as usize),
            area.width as usize,
            theme::status(),
        );
    }
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
    let width = area.width as usize;
    let Some((msg, style)) = message else {
        let room = width.saturating_sub(unicode_width::UnicodeWidthStr::width(left.as_str()) + 2);
        let line = format!("{left}  {}", key_hints(app, room));
        let line = if left.is_empty() {
            format!(" {}", line.trim_start())
        } else {
            line
        };
        buf.set_stringn(area.x, area.y, fit(&line, width), width, theme::status());
        return;
    };
    // A message the operator must read wins over the day's figures when both do not fit.
    if !left.is_empty() && fits(&format!("{left}  {msg}"), width) {
        let left_w = unicode_width::UnicodeWidthStr::width(left.as_str());
        buf.set_stringn(area.x, area.y, &left, width, theme::status());
        let room = width - left_w - 2;
        buf.set_stringn(area.x + left_w as u16 + 2, area.y, &msg, room, style);
        return;
    }
    let text_area = Rect::new(
        area.x + 1,
        area.y,
        area.width.saturating_sub(2),
        area.height,
    );
    wrapped(buf, text_area, &msg, style);
}
