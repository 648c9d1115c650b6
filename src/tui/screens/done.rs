//! After a registration: the member number large, the QR code big enough for a phone camera,
//! and what happened to the slip. One key reprints, one starts the next member.
//! The slip's status arrives from the print worker ([`DoneState::printed`]).

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Widget;
use tui_big_text::{BigText, PixelSize};

use crate::card::MemberNo;
use crate::card::qr::{QUIET_ZONE, QrMatrix};
use crate::i18n::Lang;
use crate::slip::terminal::{half_block_size, half_blocks};
use crate::t;
use crate::tui::action::Action;
use crate::tui::app::Screen;
use crate::tui::keys::{self, Binding, ENTER, ESC, Key, f};
use crate::tui::screens::Outcome;
use crate::tui::theme;
use crate::tui::widgets::{fit, fits, wrapped};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrintStatus {
    Printing,
    Done { ok: bool, message: String },
}

#[derive(Clone, Debug)]
pub struct DoneState {
    pub member_no: MemberNo,
    /// Already made display-safe.
    pub name: String,
    pub date: String,
    pub qr: QrMatrix,
    pub print: PrintStatus,
    pub notes: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Next,
    Reprint,
    Records,
}

const KEYS: &[Binding<Cmd>] = &[
    Binding::new(Cmd::Next, &[ENTER])
        .also(&[Key::char('n'), ESC])
        .hint("keys.done.next")
        .help("help.done.next"),
    Binding::new(Cmd::Reprint, &[Key::char('p')])
        .also(&[f(8)])
        .hint("keys.reprint")
        .help("help.done.reprint"),
    // the app's F3, named here because the registration is there now
    Binding::new(Cmd::Records, &[f(3)]).hint("keys.to_records"),
];

/// F1 on the done screen.
pub fn help(lang: Lang) -> Vec<String> {
    keys::help_lines(KEYS, lang)
}

impl DoneState {
    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        match keys::find(KEYS, &key, |_| true) {
            Some(Cmd::Next) => Outcome::Do(Action::NextMember),
            Some(Cmd::Reprint) => Outcome::Do(Action::Reprint(self.member_no.clone())),
            Some(Cmd::Records) => Outcome::Do(Action::Goto(Screen::Records)),
            None => Outcome::Pass,
        }
    }

    /// A reprint was sent, maybe of this member's slip.
    pub fn reprinting(&mut self, member_no: &MemberNo) {
        if self.member_no == *member_no {
            self.print = PrintStatus::Printing;
        }
    }

    /// The print worker's answer, if it is about this member's slip.
    pub fn printed(&mut self, member_no: &str, ok: bool, message: &str) {
        if self.member_no.as_str() == member_no {
            self.print = PrintStatus::Done {
                ok,
                message: message.to_string(),
            };
        }
    }

    /// The biggest quiet zone (4 is the standard) that lets the code fit `area`.
    fn quiet_zone(&self, area: Rect) -> Option<usize> {
        (1..=QUIET_ZONE).rev().find(|&q| {
            let (w, h) = half_block_size(&self.qr, q);
            w <= area.width && h <= area.height
        })
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, lang: Lang) {
        let buf = frame.buffer_mut();
        // The QR code on the right, full height.
        let (qr_w, _) = half_block_size(&self.qr, QUIET_ZONE);
        let qr_area = Rect::new(
            area.x + area.width.saturating_sub(qr_w),
            area.y,
            qr_w.min(area.width),
            area.height,
        );
        if let Some(q) = self.quiet_zone(qr_area) {
            let lines = half_blocks(&self.qr, q);
            let (w, h) = half_block_size(&self.qr, q);
            let x = area.x + area.width.saturating_sub(w);
            let y = area.y + (area.height.saturating_sub(h)) / 2;
            for (i, line) in lines.iter().enumerate() {
                buf.set_string(x, y + i as u16, line, theme::qr());
            }
        } else {
            buf.set_stringn(
                qr_area.x,
                area.y,
                t!(lang, "done.qr_too_small"),
                qr_area.width as usize,
                theme::warn(),
            );
        }

        let left_w = area.width.saturating_sub(qr_w + 1);
        let mut y = area.y + 1;
        let put = |buf: &mut ratatui::buffer::Buffer, y: &mut u16, s: &str, style| {
            buf.set_stringn(area.x + 1, *y, s, left_w.saturating_sub(1) as usize, style);
            *y += 1;
        };
        put(buf, &mut y, t!(lang, "done.title"), theme::ok().bold());
        y += 1;
        put(buf, &mut y, &self.name, theme::title());
        y += 1;
        put(buf, &mut y, t!(lang, "slip.member_no"), theme::label());
        let grouped = self.member_no.grouped();
        if left_w >= 56 {
            let big = BigText::builder()
                .pixel_size(PixelSize::Quadrant)
                .lines(vec![Line::from(grouped.clone())])
                .build();
            big.render(Rect::new(area.x + 1, y, left_w - 1, 4), buf);
            y += 5;
        } else {
            // Spaced out for reading aloud: "8R79YD  0001  1"
            let spaced = grouped.replace('-', "  ");
            put(buf, &mut y, &spaced, theme::title().reversed());
            y += 1;
        }
        put(buf, &mut y, &self.date, theme::label());
        y += 1;
        let text_w = left_w.saturating_sub(1);
        // the keys wrap between "key action" groups, never inside one
        let keys = key_lines(
            &keys::hint_line(KEYS, lang, "   ", |_| true),
            text_w as usize,
        );
        let keys_y = (area.y + area.height.saturating_sub(1)).saturating_sub(keys.len() as u16);
        // what happened to the slip, and any warnings: wrapped at words (a path where it
        // must), down to the key line
        let (status, style) = match &self.print {
            PrintStatus::Printing => (t!(lang, "done.printing").to_string(), theme::dim()),
            PrintStatus::Done { ok, message } => (
                message.clone(),
                if *ok { theme::ok() } else { theme::warn() },
            ),
        };
        for (text, style) in std::iter::once((status.as_str(), style))
            .chain(self.notes.iter().map(|n| (n.as_str(), theme::warn())))
        {
            let room = keys_y.saturating_sub(y + 1);
            y += wrapped(buf, Rect::new(area.x + 1, y, text_w, room), text, style);
        }
        for (i, line) in keys.iter().enumerate() {
            let width = text_w as usize;
            buf.set_stringn(
                area.x + 1,
                keys_y + i as u16,
                fit(line, width),
                width,
                theme::hint(),
            );
        }
    }
}

/// "Enter next   P reprint   F3 records" packed into lines of `width` columns, breaking only
/// between the groups.
fn key_lines(keys: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for group in keys.split("   ") {
        match lines.last_mut() {
            Some(last) if fits(&format!("{last}   {group}"), width) => {
                last.push_str("   ");
                last.push_str(group);
            }
            _ => lines.push(group.to_string()),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_strings_exist() {
        keys::assert_strings_exist(KEYS);
    }
}
