//! After a registration: the member number, the QR code big enough for a phone camera, and
//! what happened to the slip ([`DoneState::printed`] takes the print worker's answer).
//!
//! The done screen takes no key of the next registration's: whatever is typed or pasted there
//! (a fast typist, a card reader) starts the next member with it, in order; its own keys are
//! not text (Enter, F8). The card stays at hand until the next submit: beside the form where
//! the terminal is wide enough ([`DoneState::render_panel`]), else brought back with F7.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Widget;
use tui_big_text::{BigText, PixelSize};

use crate::card::MemberNo;
use crate::card::qr::{QUIET_ZONE, QrMatrix};
use crate::i18n::Lang;
use crate::member::name::mask_name;
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
    Done {
        ok: bool,
        message: String,
    },
    /// Printed at registration, before this session (the card F7 shows after a restart, or a
    /// record's card from the records list).
    Earlier,
}

/// Where the card is shown from: the registration just done, or a record of the list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CardContext {
    #[default]
    Registered,
    /// From a record's view in the records list (F3): Esc goes back there.
    Record,
}

#[derive(Clone, Debug)]
pub struct DoneState {
    pub member_no: MemberNo,
    /// Already made display-safe.
    pub name: String,
    pub date: String,
    /// The code as on the slip (level M).
    pub qr: QrMatrix,
    /// The same code at level L, one version smaller: where the slip's does not fit with the
    /// whole quiet zone.
    pub qr_compact: QrMatrix,
    pub print: PrintStatus,
    pub notes: Vec<String>,
    pub context: CardContext,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Next,
    Reprint,
    Records,
    /// The whole done screen again, from the form.
    Show,
    /// Nothing: the card stays up.
    Stay,
}

/// The done screen's own keys: none of them text, which starts the next member.
const KEYS: &[Binding<Cmd>] = &[
    Binding::new(Cmd::Next, &[ENTER])
        .also(&[ESC])
        .hint("keys.done.next")
        .help("help.done.next"),
    Binding::new(Cmd::Reprint, &[f(8)])
        .hint("keys.reprint")
        .help("help.done.reprint"),
    // the app's F3, named here because the registration is there now
    Binding::new(Cmd::Records, &[f(3)]).hint("keys.to_records"),
    // a Ctrl-S out of habit (or in a burst) after Y submitted: the card stays up
    Binding::new(Cmd::Stay, &[Key::ctrl('s')]),
];

/// The keys of a record's card shown from the records list: none of them text either.
const RECORD: &[Binding<Cmd>] = &[
    Binding::new(Cmd::Next, &[ESC])
        .also(&[ENTER])
        .hint("keys.done.back")
        .help("help.records.back"),
    Binding::new(Cmd::Reprint, &[f(8)])
        .also(&[Key::char('p')])
        .hint("keys.reprint")
        .help("help.done.reprint"),
];

/// The last card's keys while the next member is typed in the form (which has F8 first for
/// a person it finds already registered).
const BESIDE_FORM: &[Binding<Cmd>] = &[
    Binding::new(Cmd::Reprint, &[f(8)])
        .hint("keys.reprint")
        .help("help.done.reprint_last"),
    Binding::new(Cmd::Show, &[f(7)])
        .hint("keys.done.show")
        .help("help.done.show"),
];

/// F1 on the done screen.
pub fn help(lang: Lang) -> Vec<String> {
    let mut lines = vec![t!(lang, "done.type_next").to_string()];
    lines.extend(keys::help_lines(KEYS, lang));
    lines
}

/// F1 on a record's card shown from the records list.
pub fn help_as_record(lang: Lang) -> Vec<String> {
    keys::help_lines(RECORD, lang)
}

/// F1 on the form while the last card is at hand.
pub fn help_beside_form(lang: Lang) -> Vec<String> {
    keys::help_lines(BESIDE_FORM, lang)
}

/// Lines the panel beside the form takes besides its QR code: title, number, slip, keys.
const PANEL_TEXT_ROWS: u16 = 4;

impl DoneState {
    /// The card of a member just registered; `None` if the payload makes no QR code.
    pub fn new(member_no: MemberNo, name: String, date: String, payload: &str) -> Option<Self> {
        Some(DoneState {
            member_no,
            name,
            date,
            qr: QrMatrix::encode(payload).ok()?,
            qr_compact: QrMatrix::encode_compact(payload).ok()?,
            print: PrintStatus::Printing,
            notes: Vec::new(),
            context: CardContext::Registered,
        })
    }

    /// A record's card from the records list: Esc (or Enter) goes back, F8 reprints. What the
    /// list does with the key: `Some(action)`, `None` taken.
    pub fn handle_key_as_record(&self, key: &KeyEvent) -> Option<Option<Action>> {
        match keys::find(RECORD, key, |_| true) {
            Some(Cmd::Next) => Some(None),
            Some(Cmd::Reprint) => Some(Some(Action::Reprint(self.member_no.clone()))),
            _ => None,
        }
    }

    /// On the done screen. What it leaves (`Pass`) and the app does not take either is the
    /// next member's (see `App::handle_key`).
    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        match keys::find(KEYS, &key, |_| true) {
            Some(Cmd::Next) => Outcome::Do(Action::NextMember),
            Some(Cmd::Reprint) => Outcome::Do(Action::Reprint(self.member_no.clone())),
            Some(Cmd::Records) => Outcome::Do(Action::Goto(Screen::Records)),
            Some(Cmd::Stay) => Outcome::Taken,
            Some(Cmd::Show) | None => Outcome::Pass,
        }
    }

    /// A key the form left, while this card is at hand beside it.
    pub fn handle_key_beside_form(&self, key: &KeyEvent) -> Outcome {
        match keys::find(BESIDE_FORM, key, |_| true) {
            Some(Cmd::Reprint) => Outcome::Do(Action::Reprint(self.member_no.clone())),
            Some(Cmd::Show) => Outcome::Do(Action::ShowLastCard),
            Some(Cmd::Next | Cmd::Records | Cmd::Stay) | None => Outcome::Pass,
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

    /// The code and quiet zone to draw in `width`×`height` cells: the whole quiet zone (4
    /// modules, as the standard asks) first, with the slip's code, else the smaller one; a
    /// narrower zone only when neither fits.
    fn fitting(&self, width: u16, height: u16, min_quiet: usize) -> Option<(&QrMatrix, usize)> {
        (min_quiet..=QUIET_ZONE).rev().find_map(|q| {
            [&self.qr, &self.qr_compact]
                .into_iter()
                .find(|c| {
                    let (w, h) = half_block_size(c, q);
                    w <= width && h <= height
                })
                .map(|c| (c, q))
        })
    }

    /// The width of the panel beside a form, if one with the whole quiet zone fits in
    /// `max_width`×`height`.
    pub fn panel_width(&self, max_width: u16, height: u16) -> Option<u16> {
        let (qr, q) = self.fitting(
            max_width,
            height.saturating_sub(PANEL_TEXT_ROWS),
            QUIET_ZONE,
        )?;
        Some(half_block_size(qr, q).0)
    }

    /// The status of the slip, and its style.
    fn print_line(&self, lang: Lang) -> (String, ratatui::style::Style) {
        match &self.print {
            PrintStatus::Printing => (t!(lang, "done.printing").to_string(), theme::dim()),
            PrintStatus::Earlier => {
                let text = match self.context {
                    CardContext::Registered => t!(lang, "done.earlier"),
                    CardContext::Record => t!(lang, "done.record_earlier"),
                };
                (text.to_string(), theme::dim())
            }
            PrintStatus::Done { ok, message } => (
                message.clone(),
                if *ok { theme::ok() } else { theme::warn() },
            ),
        }
    }

    /// Draws `qr` with quiet zone `q`, right-aligned in `area` at row `y`.
    fn draw_qr(buf: &mut Buffer, area: Rect, y: u16, qr: &QrMatrix, q: usize) -> u16 {
        let (w, h) = half_block_size(qr, q);
        let x = area.x + area.width.saturating_sub(w);
        for (i, line) in half_blocks(qr, q).iter().enumerate() {
            buf.set_string(x, y + i as u16, line, theme::qr());
        }
        h
    }

    /// The keys of the last card beside the form; F8 only while the form has no one of its
    /// own to reprint (a person found already registered).
    fn beside_form_keys(lang: Lang, reprint: bool) -> String {
        keys::hint_line(BESIDE_FORM, lang, "  ", |c| reprint || *c != Cmd::Reprint)
    }

    /// The last card beside the form: number, keys, QR code, slip. The name is masked: the
    /// next worker stands at the booth now. `reprint`: F8 is the last card's.
    pub fn render_panel(&self, buf: &mut Buffer, area: Rect, lang: Lang, reprint: bool) {
        let width = area.width as usize;
        let mut y = area.y;
        let line = |buf: &mut Buffer, y: &mut u16, text: &str, style| {
            buf.set_stringn(area.x, *y, fit(text, width), width, style);
            *y += 1;
        };
        let title = format!("{} {}", t!(lang, "done.title"), mask_name(&self.name));
        line(buf, &mut y, &title, theme::ok().bold());
        let no = format!(
            "{} {}",
            t!(lang, "slip.member_no"),
            self.member_no.grouped()
        );
        line(buf, &mut y, &no, theme::title());
        line(
            buf,
            &mut y,
            &Self::beside_form_keys(lang, reprint),
            theme::hint(),
        );
        let qr_h = area.height.saturating_sub(PANEL_TEXT_ROWS);
        if let Some((qr, q)) = self.fitting(area.width, qr_h, QUIET_ZONE) {
            y += Self::draw_qr(buf, area, y, qr, q);
        }
        let bottom = area.y + area.height;
        let (status, style) = self.print_line(lang);
        for text in std::iter::once((status.as_str(), style))
            .chain(self.notes.iter().map(|n| (n.as_str(), theme::warn())))
        {
            let room = bottom.saturating_sub(y);
            y += wrapped(buf, Rect::new(area.x, y, area.width, room), text.0, text.1);
        }
    }

    /// One line for the form's title row where the panel does not fit: the last number and
    /// the keys that bring it back.
    pub fn strip(&self, lang: Lang, reprint: bool) -> String {
        format!(
            "{}  {}",
            t!(lang, "done.last", member_no = self.member_no.grouped()),
            Self::beside_form_keys(lang, reprint)
        )
    }

    /// The whole done screen.
    pub fn render(&self, frame: &mut Frame, area: Rect, lang: Lang) {
        let buf = frame.buffer_mut();
        // The QR code on the right, full height; the text keeps at least MIN_TEXT columns.
        const MIN_TEXT: u16 = 30;
        let qr_w = match self.fitting(area.width.saturating_sub(MIN_TEXT), area.height, 1) {
            Some((qr, q)) => {
                let (w, h) = half_block_size(qr, q);
                let y = area.y + area.height.saturating_sub(h) / 2;
                Self::draw_qr(buf, area, y, qr, q);
                w
            }
            None => {
                let w = MIN_TEXT.min(area.width);
                let x = area.x + area.width.saturating_sub(w);
                buf.set_stringn(
                    x,
                    area.y,
                    t!(lang, "done.qr_too_small"),
                    w as usize,
                    theme::warn(),
                );
                w
            }
        };

        let left_w = area.width.saturating_sub(qr_w + 1);
        let mut y = area.y + 1;
        let put = |buf: &mut Buffer, y: &mut u16, s: &str, style| {
            buf.set_stringn(area.x + 1, *y, s, left_w.saturating_sub(1) as usize, style);
            *y += 1;
        };
        let title = match self.context {
            CardContext::Registered => t!(lang, "done.title"),
            CardContext::Record => t!(lang, "done.record_title"),
        };
        put(buf, &mut y, title, theme::ok().bold());
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
        // the keys wrap between "key action" groups, never inside one; above them, that
        // typing starts the next member
        let list = match self.context {
            CardContext::Registered => KEYS,
            CardContext::Record => RECORD,
        };
        let mut keys = key_lines(
            &keys::hint_line(list, lang, "   ", |_| true),
            text_w as usize,
        );
        if self.context == CardContext::Registered {
            keys.insert(0, t!(lang, "done.type_next").to_string());
        }
        let keys_y = (area.y + area.height.saturating_sub(1)).saturating_sub(keys.len() as u16);
        // what happened to the slip, and any warnings: wrapped at words (a path where it
        // must), down to the key lines
        let (status, style) = self.print_line(lang);
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

/// "Enter next   F8 reprint   F3 records" packed into lines of `width` columns, breaking
/// only between the groups.
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
    use crossterm::event::{KeyCode, KeyModifiers};

    fn card() -> DoneState {
        // as long as a real payload: version 6 at level M, 5 at level L
        let payload = "GH1:P80W%CYBNU203B1BR19AMN.USKVU+R6$K4KSBV3IFETV5*7HSATY4T6MI.JEV0J*2FWFNJ6HQESSUO0PET 20:ETPE-Q6C6AP9O8DP2248-MF53UJL1JDHNJ7A7FSK-6B70";
        DoneState::new(
            MemberNo::new("K7M2QX", 42).unwrap(),
            "葛婷婷".into(),
            "2026-11-24".into(),
            payload,
        )
        .unwrap()
    }

    #[test]
    fn the_lists_strings_exist() {
        keys::assert_strings_exist(KEYS);
        keys::assert_strings_exist(BESIDE_FORM);
        keys::assert_strings_exist(RECORD);
    }

    #[test]
    fn text_is_not_a_key_of_the_done_screen() {
        let mut d = card();
        for c in ['n', 'p', 'y', '蒋', '1'] {
            let k = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
            assert!(matches!(d.handle_key(k), Outcome::Pass), "{c}");
        }
        let f8 = KeyEvent::new(KeyCode::F(8), KeyModifiers::NONE);
        assert!(matches!(d.handle_key(f8), Outcome::Do(Action::Reprint(_))));
    }

    #[test]
    fn f8_is_named_for_the_last_card_only_while_the_form_has_no_one_to_reprint() {
        let d = card();
        assert!(d.strip(Lang::Zh, true).contains("F8"));
        let strip = d.strip(Lang::Zh, false);
        assert!(!strip.contains("F8") && strip.contains("F7"), "{strip}");
    }

    /// 80×24 leaves 23 rows under the status bar: the slip's code (version 6) needs 25 with
    /// the whole quiet zone, the compact one (version 5) 23.
    #[test]
    fn the_whole_quiet_zone_fits_at_80_by_24() {
        let d = card();
        assert_eq!(d.qr.version, 6);
        assert_eq!(d.fitting(80 - 30, 23, 1), Some((&d.qr_compact, QUIET_ZONE)));
        assert_eq!(d.fitting(80, 40, 1), Some((&d.qr, QUIET_ZONE)));
        assert_eq!(d.panel_width(52, 27), Some(45));
        assert_eq!(
            d.panel_width(44, 40),
            None,
            "no panel without the whole quiet zone"
        );
    }
}
