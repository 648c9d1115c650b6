//! Records: search by name, member number or the last four digits of a phone; a list that
//! pages through a million records with indexed queries run off the UI thread (a roster's
//! workers marked as imported); a view with the ID number masked, label and value apart; edit
//! while not uploaded; void with a reason, also once uploaded (the office revokes the number at
//! the next upload); reprint; the QR code on screen again.

use std::collections::HashSet;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Row, Table, Widget};

use crate::i18n::Lang;
use crate::member::State;
use crate::member::options::ListKind;
use crate::member::phone::mask_phone;
use crate::member::text::display_safe;
use crate::store::StoredMember;
use crate::store::members::Summary;
use crate::t;
use crate::tui::action::{Action, Notice};
use crate::tui::app::Screen;
use crate::tui::keys::{self, BACKSPACE, Binding, DOWN, ENTER, ESC, Key, UP, f};
use crate::tui::screens::Outcome;
use crate::tui::theme;
use crate::tui::widgets::fit;
use crate::tui::widgets::input::{Edit, TextInput};
use crate::tui::workers::SearchReq;

use super::cards::{CardsKey, CardsState};
use super::done::DoneState;
use crate::store::members::ListFilter;

pub const PAGE: usize = 50;

#[derive(Clone, Debug)]
pub struct RecordsState {
    pub query: TextInput,
    pub rows: Vec<Summary>,
    /// Ids of the rows a roster brought in (`booth import`, the import screen).
    pub imported: HashSet<i64>,
    pub selected: usize,
    /// The next first page keeps the row selected (a refresh after an edit or a void).
    keep_selection: bool,
    /// The search whose answer is awaited (answers to older searches are dropped).
    pub seq: u64,
    pub loading: bool,
    pub exhausted: bool,
    pub detail: Option<StoredMember>,
    /// Typing the reason for a void.
    pub void_reason: Option<TextInput>,
    /// "Print these cards" for the day or employer the search names.
    pub cards: Option<CardsState>,
    /// The open record's QR code on screen (Q/F7 on the record).
    pub card: Option<DoneState>,
    /// Persons registered here and on a paired laptop while the two were apart: one of the
    /// two records is to be voided (shown above the list until it is).
    pub conflicts: Vec<crate::store::peers::Conflict>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ListCmd {
    /// The search names a day or an employer: their cards.
    PrintCards,
    /// ↑↓
    Select,
    More,
    PageUp,
    View,
    Back,
}

/// The list's keys; what else is typed goes into the search.
const LIST: &[Binding<ListCmd>] = &[
    Binding::new(ListCmd::PrintCards, &[Key::ctrl('p')])
        .hint("keys.records.print_cards")
        .help("help.records.print_cards"),
    Binding::new(ListCmd::Select, &[UP, DOWN])
        .hint("keys.records.select")
        .help("help.records.select"),
    Binding::new(ListCmd::More, &[Key::plain(KeyCode::PageDown)])
        .hint("keys.records.more")
        .help("help.records.more"),
    Binding::new(ListCmd::PageUp, &[Key::plain(KeyCode::PageUp)])
        .help("help.records.page_up")
        .same_line(),
    Binding::new(ListCmd::View, &[ENTER])
        .hint("keys.records.view")
        .help("help.records.view"),
    Binding::new(ListCmd::Back, &[ESC])
        .hint("keys.records.back")
        .help("help.back_to_form"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DetailCmd {
    Edit,
    Void,
    Reprint,
    /// The record's QR code on screen again, for the worker to scan.
    Card,
    Back,
}

/// The keys of an open record.
const DETAIL: &[Binding<DetailCmd>] = &[
    Binding::new(DetailCmd::Edit, &[Key::char('e')])
        .hint("keys.records.edit")
        .help("help.records.edit"),
    Binding::new(DetailCmd::Void, &[Key::char('v')])
        .hint("keys.records.void")
        .help("help.records.void"),
    Binding::new(DetailCmd::Reprint, &[Key::char('p')])
        .also(&[f(8)])
        .hint("keys.reprint")
        .help("help.records.reprint"),
    Binding::new(DetailCmd::Card, &[Key::char('q')])
        .also(&[f(7)])
        .hint("keys.records.card")
        .help("help.records.card"),
    Binding::new(DetailCmd::Back, &[ESC])
        .also(&[BACKSPACE])
        .hint("keys.back_plain")
        .help("help.records.back"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VoidCmd {
    Confirm,
    Cancel,
}

/// The keys while the reason for a void is typed.
const VOID: &[Binding<VoidCmd>] = &[
    Binding::new(VoidCmd::Confirm, &[ENTER]),
    Binding::new(VoidCmd::Cancel, &[ESC]),
];

impl Default for RecordsState {
    fn default() -> Self {
        RecordsState {
            query: TextInput::new(40),
            rows: Vec::new(),
            imported: HashSet::new(),
            selected: 0,
            keep_selection: false,
            seq: 0,
            loading: false,
            exhausted: false,
            detail: None,
            void_reason: None,
            cards: None,
            card: None,
            conflicts: Vec::new(),
        }
    }
}

impl RecordsState {
    /// Back to the list (the search kept): F3 from anywhere.
    pub fn show_list(&mut self) {
        self.detail = None;
        self.void_reason = None;
        self.card = None;
    }

    /// A new search from the first page.
    pub fn search(&mut self) -> SearchReq {
        self.seq += 1;
        self.loading = true;
        self.exhausted = false;
        SearchReq {
            query: self.query.value(),
            before: None,
            seq: self.seq,
        }
    }

    fn more(&mut self) -> Option<Action> {
        if self.loading || self.exhausted {
            return None;
        }
        self.seq += 1;
        self.loading = true;
        Some(Action::Search(SearchReq {
            query: self.query.value(),
            before: self.rows.last().map(|r| r.id),
            seq: self.seq,
        }))
    }

    /// The same search again from the first page, the selection kept: what an edit or a void
    /// changed shows in the list at once.
    pub fn refresh(&mut self) -> SearchReq {
        self.keep_selection = true;
        self.search()
    }

    /// A page of results arrived, with the ids of its rows a roster brought in.
    pub fn results(
        &mut self,
        seq: u64,
        first_page: bool,
        rows: Vec<Summary>,
        imported: HashSet<i64>,
    ) {
        if seq != self.seq {
            return;
        }
        self.loading = false;
        self.exhausted = rows.len() < PAGE;
        if first_page {
            self.rows = rows;
            self.imported = imported;
            if !std::mem::take(&mut self.keep_selection) {
                self.selected = 0;
            }
            self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        } else {
            self.rows.extend(rows);
            self.imported.extend(imported);
        }
    }

    /// The search failed: nothing is loading any more.
    pub fn search_failed(&mut self) {
        self.loading = false;
    }

    /// The day or employer the search names, if it names one.
    pub fn filter(&self) -> Option<ListFilter> {
        ListFilter::parse(&self.query.value())
    }

    fn list_enabled(&self, cmd: ListCmd) -> bool {
        match cmd {
            ListCmd::PrintCards => self.filter().is_some(),
            _ => true,
        }
    }

    pub fn paste(&mut self, s: &str) -> Option<Action> {
        if let Some(c) = &mut self.cards {
            c.paste(s);
            return None;
        }
        if let Some(r) = &mut self.void_reason {
            r.insert_str(s);
            return None;
        }
        self.query
            .insert_str(s)
            .then(|| Action::Search(self.search()))
    }

    fn detail_enabled(d: &StoredMember, cmd: DetailCmd) -> bool {
        match cmd {
            DetailCmd::Edit => d.may_edit(),
            // once at the office too: the void goes there with the next upload
            DetailCmd::Void => d.may_edit() || d.state == State::Uploaded && d.member.is_some(),
            DetailCmd::Reprint | DetailCmd::Card => d.may_print(),
            DetailCmd::Back => true,
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        if let Some(c) = &mut self.cards {
            return match c.handle_key(key) {
                CardsKey::Close => {
                    self.cards = None;
                    Outcome::Taken
                }
                CardsKey::Other(o) => o,
            };
        }
        if let Some(c) = &self.card {
            return match c.handle_key_as_record(&key) {
                Some(Some(a)) => Outcome::Do(a),
                Some(None) => {
                    self.card = None;
                    Outcome::Taken
                }
                // the app's keys (F2, Ctrl-Q…) still work; text is nobody's here
                None => Outcome::Pass,
            };
        }
        if self.void_reason.is_some() {
            return self.void_key(key);
        }
        if let Some(d) = &self.detail {
            let no = d.member_no.clone();
            return match keys::find(DETAIL, &key, |c| Self::detail_enabled(d, *c)) {
                Some(DetailCmd::Back) => {
                    self.detail = None;
                    Outcome::Taken
                }
                Some(DetailCmd::Edit) => Outcome::Do(Action::EditRecord(no)),
                Some(DetailCmd::Void) => {
                    self.void_reason = Some(TextInput::new(200));
                    Outcome::Taken
                }
                Some(DetailCmd::Reprint) => Outcome::Do(Action::Reprint(no)),
                Some(DetailCmd::Card) => Outcome::Do(Action::ShowRecordCard(no)),
                None => Outcome::Pass,
            };
        }
        let Some(cmd) = keys::find(LIST, &key, |_| true) else {
            return match self.query.handle_key(&key) {
                Edit::Changed => Outcome::Do(Action::Search(self.search())),
                Edit::Taken => Outcome::Taken,
                Edit::Pass => Outcome::Pass,
            };
        };
        match cmd {
            // said, not silent: which searches name a group of cards
            ListCmd::PrintCards => Outcome::Do(match self.filter() {
                Some(f) => Action::OpenCards(f),
                None => Action::Tell(Notice::CardsNeedFilter),
            }),
            ListCmd::Select if key.code == KeyCode::Up => {
                self.selected = self.selected.saturating_sub(1);
                Outcome::Taken
            }
            ListCmd::Select => {
                if self.selected + 1 < self.rows.len() {
                    self.selected += 1;
                }
                if self.selected + 5 >= self.rows.len() {
                    return self.more().into();
                }
                Outcome::Taken
            }
            ListCmd::More => {
                self.selected = (self.selected + 10).min(self.rows.len().saturating_sub(1));
                if self.selected + 10 >= self.rows.len() {
                    return self.more().into();
                }
                Outcome::Taken
            }
            ListCmd::PageUp => {
                self.selected = self.selected.saturating_sub(10);
                Outcome::Taken
            }
            ListCmd::View => self
                .rows
                .get(self.selected)
                .map(|r| Action::OpenRecord(r.member_no.clone()))
                .into(),
            ListCmd::Back => Outcome::Do(Action::Goto(Screen::Form)),
        }
    }

    /// Typing the reason for a void: Enter voids (with a reason only), Esc gives up.
    fn void_key(&mut self, key: KeyEvent) -> Outcome {
        let Some(reason) = &mut self.void_reason else {
            return Outcome::Pass;
        };
        match keys::find(VOID, &key, |_| true) {
            Some(VoidCmd::Cancel) => {
                self.void_reason = None;
                Outcome::Taken
            }
            Some(VoidCmd::Confirm) => {
                let text = reason.value();
                if text.trim().is_empty() {
                    return Outcome::Do(Action::Tell(Notice::VoidNeedsReason));
                }
                self.void_reason = None;
                self.detail
                    .as_ref()
                    .map(|d| Action::VoidRecord(d.member_no.clone(), text))
                    .into()
            }
            None => match reason.handle_key(&key) {
                Edit::Pass => Outcome::Pass,
                Edit::Taken | Edit::Changed => Outcome::Taken,
            },
        }
    }

    /// F1: the keys of the list, or of the open record.
    pub fn help(&self, lang: Lang) -> Vec<String> {
        if self.cards.is_some() {
            return super::cards::help(lang);
        }
        if self.card.is_some() {
            return super::done::help_as_record(lang);
        }
        match &self.detail {
            Some(_) => keys::help_lines(DETAIL, lang),
            None => {
                let mut lines = vec![t!(lang, "help.records.search").to_string()];
                lines.extend(keys::help_lines(LIST, lang));
                lines
            }
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, lang: Lang) {
        if let Some(c) = &self.cards {
            return c.render(frame, area, lang);
        }
        if let Some(c) = &self.card {
            return c.render(frame, area, lang);
        }
        if let Some(d) = &self.detail {
            self.render_detail(frame, area, lang, d);
            return;
        }
        let buf = frame.buffer_mut();
        let label = t!(lang, "records.search");
        buf.set_stringn(area.x, area.y, label, 12, theme::focused_label());
        let cursor = self.query.render(
            Rect::new(
                area.x + 12,
                area.y,
                30.min(area.width.saturating_sub(12)),
                1,
            ),
            buf,
            theme::focused_input(),
            false,
        );
        let hint_w = area.width.saturating_sub(44) as usize;
        buf.set_stringn(
            area.x + 44,
            area.y,
            fit(t!(lang, "records.search_hint"), hint_w),
            hint_w,
            theme::dim(),
        );
        // conflicts first: each is a record to void, here or on the other laptop
        let banner = self.conflict_lines(lang, area.height.saturating_sub(6) as usize / 2);
        let mut y = area.y + 1;
        for (line, style) in &banner {
            // each line whole, on two rows if it needs them
            let room = (area.y + area.height / 2).saturating_sub(y).min(2);
            let rect = Rect::new(area.x, y, area.width, room);
            y += crate::tui::widgets::wrapped(buf, rect, line, *style);
        }
        let taken = y - (area.y + 1);
        let area = Rect {
            y: area.y + taken,
            height: area.height.saturating_sub(taken),
            ..area
        };
        let conflicted: HashSet<String> =
            self.conflicts.iter().map(|c| c.member_no.clone()).collect();
        let header = Row::new(vec![
            t!(lang, "records.col.member_no"),
            t!(lang, "records.col.name"),
            t!(lang, "records.col.phone"),
            t!(lang, "records.col.employer"),
            t!(lang, "records.col.time"),
            t!(lang, "records.col.state"),
        ])
        .style(theme::title());
        // column widths; the employer takes what is left (the table puts one space between)
        const WIDTHS: [u16; 6] = [14, 12, 7, 0, 12, 8];
        let employer_w = area
            .width
            .saturating_sub(WIDTHS.iter().sum::<u16>() + 5)
            .max(12);
        let cell = |text: &str, w: u16| fit(text, w as usize).into_owned();
        let height = area.height.saturating_sub(3) as usize;
        let start = self.selected.saturating_sub(height.saturating_sub(1));
        let rows = self
            .rows
            .iter()
            .enumerate()
            .skip(start)
            .take(height)
            .map(|(i, r)| {
                let name = r
                    .name
                    .as_deref()
                    .map(|n| display_safe(n).into_owned())
                    .unwrap_or_else(|| t!(lang, "records.purged").into());
                let employer = r.employer.as_deref().map(display_safe).unwrap_or_default();
                let row = Row::new(vec![
                    r.member_no.grouped(),
                    cell(&name, WIDTHS[1]),
                    r.phone_tail
                        .clone()
                        .map(|t| format!("…{t}"))
                        .unwrap_or_default(),
                    cell(&employer, employer_w),
                    if self.imported.contains(&r.id) {
                        format!(
                            "{} {}",
                            t!(lang, "records.imported_short"),
                            r.created_at.format("%m-%d")
                        )
                    } else {
                        r.created_at.format("%m-%d %H:%M").to_string()
                    },
                    if conflicted.contains(&r.member_no.grouped()) {
                        cell(t!(lang, "records.conflict_short"), WIDTHS[5])
                    } else {
                        cell(r.state.label(lang), WIDTHS[5])
                    },
                ]);
                if i == self.selected {
                    row.style(theme::selected())
                } else {
                    row
                }
            });
        let table = Table::new(
            rows,
            [
                Constraint::Length(WIDTHS[0]),
                Constraint::Length(WIDTHS[1]),
                Constraint::Length(WIDTHS[2]),
                Constraint::Min(12),
                Constraint::Length(WIDTHS[4]),
                Constraint::Length(WIDTHS[5]),
            ],
        )
        .header(header);
        table.render(
            Rect::new(
                area.x,
                area.y + 1,
                area.width,
                area.height.saturating_sub(2),
            ),
            buf,
        );
        let status = if self.loading {
            t!(lang, "records.loading").to_string()
        } else if self.rows.is_empty() {
            t!(lang, "records.none").to_string()
        } else {
            t!(
                lang,
                "records.count",
                n = self.rows.len(),
                more = if self.exhausted { "" } else { "+" }
            )
        };
        let bottom = area.y + area.height.saturating_sub(1);
        let width = area.width as usize;
        let line = format!(
            "{status}   {}",
            keys::hint_line(LIST, lang, "  ", |c| self.list_enabled(*c))
        );
        buf.set_stringn(area.x, bottom, fit(&line, width), width, theme::hint());
        frame.set_cursor_position(cursor);
    }

    /// The conflicts' lines above the list, at most `room` of them (the last says how many
    /// more there are).
    fn conflict_lines(&self, lang: Lang, room: usize) -> Vec<(String, ratatui::style::Style)> {
        if self.conflicts.is_empty() || room < 2 {
            return Vec::new();
        }
        let mut lines = vec![(
            t!(lang, "records.conflicts", n = self.conflicts.len()),
            theme::warn(),
        )];
        let shown = self.conflicts.len().min(room - 1);
        for c in &self.conflicts[..shown] {
            let at = |s: &str| {
                crate::store::parse_timestamp(s)
                    .map(|t| t.format("%m-%d %H:%M").to_string())
                    .unwrap_or_default()
            };
            lines.push((
                t!(
                    lang,
                    "records.conflict",
                    member_no = c.member_no,
                    at = at(&c.registered_at),
                    laptop = display_safe(&c.laptop),
                    other = c.other_member_no,
                    other_at = at(&c.other_at)
                ),
                theme::warn(),
            ));
        }
        if shown < self.conflicts.len()
            && let Some(last) = lines.last_mut()
        {
            last.0 = t!(
                lang,
                "records.conflicts_more",
                n = self.conflicts.len() - shown + 1
            );
        }
        lines
    }

    fn render_detail(&self, frame: &mut Frame, area: Rect, lang: Lang, d: &StoredMember) {
        let buf = frame.buffer_mut();
        let mut lines: Vec<(String, String)> = vec![
            (t!(lang, "slip.member_no").into(), d.member_no.grouped()),
            (t!(lang, "records.col.state").into(), {
                let mut s = d.state.label(lang).to_string();
                if let Some(r) = &d.state_reason {
                    s.push_str(&format!(" — {}", display_safe(r)));
                }
                // a duplicate_person reason already names the office's number
                if let Some(n) = d
                    .server_member_no
                    .as_ref()
                    .filter(|n| !s.contains(n.as_str()))
                {
                    s.push_str(&format!(
                        " ({})",
                        t!(lang, "records.office_member", member_no = n)
                    ));
                }
                s
            }),
        ];
        // a person this laptop and a paired one both registered: void one of the two
        if let Some(c) = self
            .conflicts
            .iter()
            .find(|c| c.member_no == d.member_no.grouped())
        {
            lines.push((
                t!(lang, "records.conflict_label").into(),
                t!(
                    lang,
                    "records.conflict_detail",
                    laptop = display_safe(&c.laptop),
                    other = c.other_member_no
                ),
            ));
        }
        // after when and where, so a short screen cuts only the optional ones
        let mut optional = Vec::new();
        match &d.member {
            Some(m) => {
                lines.push((
                    t!(lang, "field.name").into(),
                    display_safe(&m.name).into_owned(),
                ));
                // the type named in full with the number (a long type name is no label)
                lines.push((
                    t!(lang, "field.id_number").into(),
                    format!("{} · {}", m.document.masked(), m.document.kind.label(lang)),
                ));
                lines.push((t!(lang, "field.phone").into(), mask_phone(&m.phone)));
                lines.push((
                    t!(lang, "field.employer").into(),
                    display_safe(&m.employer).into_owned(),
                ));
                if let (Some(b), Some(g)) = (d.facts.birth_date, d.facts.gender) {
                    lines.push((
                        t!(lang, "records.born").into(),
                        format!("{b} · {}", g.label(lang)),
                    ));
                }
                if let Some(r) = &d.facts.region {
                    lines.push((t!(lang, "export.col.region").into(), r.clone()));
                }
                optional = optional_lines(&m.details, lang);
            }
            None => lines.push((
                t!(lang, "field.name").into(),
                t!(lang, "records.purged").into(),
            )),
        }
        lines.push((
            t!(lang, "records.col.time").into(),
            d.created_at.format("%Y-%m-%d %H:%M").to_string(),
        ));
        lines.push((
            t!(lang, "export.col.place").into(),
            display_safe(&d.event.place).into_owned(),
        ));
        lines.push((
            t!(lang, "records.source").into(),
            if d.imported {
                t!(lang, "records.source_roster")
            } else {
                t!(lang, "records.source_booth")
            }
            .into(),
        ));
        lines.append(&mut optional);
        // one label column as wide as the longest label and a gap (at most a third of the
        // width; a longer label ends in …), so a label never runs into its value
        let label_w = lines
            .iter()
            .map(|(k, _)| unicode_width::UnicodeWidthStr::width(k.as_str()))
            .max()
            .unwrap_or(0)
            .min(area.width as usize / 3)
            + 2;
        for (i, (k, v)) in lines.iter().enumerate() {
            let y = area.y + i as u16;
            if y >= area.y + area.height.saturating_sub(2) {
                break;
            }
            let room = label_w - 2;
            buf.set_stringn(area.x, y, fit(k, room), room, theme::label());
            let value_w = area.width.saturating_sub(label_w as u16) as usize;
            buf.set_stringn(
                area.x + label_w as u16,
                y,
                fit(v, value_w),
                value_w,
                theme::title(),
            );
        }
        let bottom = area.y + area.height.saturating_sub(1);
        if let Some(r) = &self.void_reason {
            let confirm = keys::label(VOID, |c| *c == VoidCmd::Confirm);
            let prompt = t!(lang, "records.void_prompt", key = confirm);
            let prompt_w = unicode_width::UnicodeWidthStr::width(prompt.as_str()) as u16 + 1;
            // a record at the office already: what the void does there, said before Enter
            if d.state == State::Uploaded {
                buf.set_stringn(
                    area.x,
                    bottom - 2,
                    fit(t!(lang, "records.void_uploaded"), area.width as usize),
                    area.width as usize,
                    theme::warn(),
                );
            }
            buf.set_stringn(
                area.x,
                bottom - 1,
                &prompt,
                prompt_w as usize,
                theme::warn(),
            );
            let p = r.render(
                Rect::new(
                    area.x + prompt_w,
                    bottom - 1,
                    40.min(area.width.saturating_sub(prompt_w)),
                    1,
                ),
                buf,
                theme::focused_input(),
                false,
            );
            frame.set_cursor_position(p);
        }
        // the keys that work on this record, and why the others do not
        let mut keys = keys::hint_line(DETAIL, lang, "  ", |c| Self::detail_enabled(d, *c));
        if !d.may_edit() {
            keys.push_str(if d.state == State::Voided {
                t!(lang, "records.why_not.voided")
            } else {
                t!(lang, "records.why_not.uploaded")
            });
        }
        frame.buffer_mut().set_line(
            area.x,
            bottom,
            &Line::styled(keys, theme::hint()),
            area.width,
        );
    }
}

/// The optional fields that were filled in, as label and value.
fn optional_lines(d: &crate::member::Details, lang: Lang) -> Vec<(String, String)> {
    let label = |field: &str| crate::i18n::text(lang, &format!("form.label.{field}")).to_string();
    let text = |v: &Option<String>| v.as_deref().map(|v| display_safe(v).into_owned());
    let picked = |kind: ListKind, v: &Option<String>| v.as_deref().map(|c| kind.label(c, lang));
    let needs = (!d.needs.is_empty()).then(|| {
        let labels: Vec<String> = d
            .needs
            .iter()
            .map(|c| ListKind::Needs.label(c, lang))
            .collect();
        labels.join(match lang {
            Lang::Zh => "、",
            Lang::En => "; ",
        })
    });
    let yes_no = d.migrant_worker.map(|b| {
        if b {
            t!(lang, "common.yes")
        } else {
            t!(lang, "common.no")
        }
        .to_string()
    });
    [
        ("ethnicity", picked(ListKind::Ethnicity, &d.ethnicity)),
        (
            "political_status",
            picked(ListKind::PoliticalStatus, &d.political_status),
        ),
        ("education", picked(ListKind::Education, &d.education)),
        ("occupation", text(&d.occupation)),
        (
            "employment_form",
            picked(ListKind::EmploymentForm, &d.employment_form),
        ),
        ("migrant_worker", yes_no),
        ("employer_uscc", text(&d.employer_uscc)),
        ("needs", needs),
        ("needs_other", text(&d.needs_other)),
        ("remarks", text(&d.remarks)),
    ]
    .into_iter()
    .filter_map(|(field, value)| Some((label(field), value?)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_strings_exist() {
        keys::assert_strings_exist(LIST);
        keys::assert_strings_exist(DETAIL);
        keys::assert_strings_exist(VOID);
    }

    #[test]
    fn every_optional_field_filled_in_is_shown() {
        let d = crate::member::Details {
            ethnicity: Some("03".into()),
            migrant_worker: Some(true),
            occupation: Some("分拣员".into()),
            needs: vec!["legal_aid".into(), "skills".into()],
            remarks: Some("夜班".into()),
            ..Default::default()
        };
        let lines = optional_lines(&d, Lang::Zh);
        let shown: Vec<&str> = lines.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(
            shown,
            ["回族", "分拣员", "是", "法律援助/维权、技能培训", "夜班"]
        );
        assert!(optional_lines(&Default::default(), Lang::En).is_empty());
    }
}
