//! Drawing the form: a label column, each field's kind drawing its value, notes to the right,
//! the document type (said in full) above the ID number and what the number says below it,
//! the hints at the bottom in as many lines as are free. A message too long for its place is
//! cut there and given whole to the status line ([`FormState::overflow`]). Reads the state
//! only.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::{Cmd, FormState, KEYS, Kind, is_required, label, reprint_key};
use crate::i18n::{self, Lang};
use crate::member::options::ListKind;
use crate::member::text::display_safe;
use crate::member::{Field, Warning};
use crate::t;
use crate::tui::action::Action;
use crate::tui::app::Screen;
use crate::tui::keys::{self, SESSION, TAB};
use crate::tui::theme;
use crate::tui::widgets::{fit, fits, wrapped, wrapped_lines};

const LABEL_W: u16 = 12;
const INPUT_W: u16 = 30;

impl FormState {
    /// The note right of a field: its error, the document type, a match.
    fn note(&self, field: Field, lang: Lang) -> Option<(String, Style)> {
        // The ID number's errors are long: they go on the full-width line below it.
        if let Some(e) = self.error_for(field).filter(|_| field != Field::IdNumber) {
            return Some((e.reason.message(lang), theme::error()));
        }
        // a doubt, once the field was left (said in the status line then too)
        if let Some(d) = self.doubt(field).filter(|_| self.touched.contains(&field)) {
            return Some((format!("⚠ {}", d.message(lang)), theme::warn()));
        }
        match field {
            Field::Ethnicity => {
                let typed = self.text(Field::Ethnicity);
                if typed.is_empty() {
                    return None;
                }
                ListKind::Ethnicity
                    .find(&typed)
                    .map(|c| (format!("→ {}", c.label(lang)), theme::ok()))
            }
            _ => None,
        }
    }

    /// The message cut in its place on this form's `area`, whole, for the status line: what
    /// the line under the ID number says (its error, who has it already), else the focused
    /// field's note.
    pub fn overflow(&self, area: Rect, lang: Lang) -> Option<String> {
        let below_id = area.width.saturating_sub(LABEL_W) as usize;
        if let Some((text, _)) = self
            .derived_line(lang)
            .filter(|_| self.derived_is_message())
            && !fits(&text, below_id)
        {
            return Some(text);
        }
        let (note, _) = self.note(self.focus, lang)?;
        let room = area.width.saturating_sub(LABEL_W + INPUT_W + 1) as usize;
        (!fits(&note, room)).then(|| format!("{}: {note}", label(self.focus, lang)))
    }

    /// The line under the ID number is a message (its error, or who has the number), not the
    /// facts read from it.
    fn derived_is_message(&self) -> bool {
        self.error_for(Field::IdNumber).is_some() || self.is_duplicate() || self.is_peer_duplicate()
    }

    /// The hint line for the focused field: its kind's keys, or what to type, or the form's
    /// keys.
    fn hint(&self, lang: Lang) -> String {
        match self.focus {
            Field::Ethnicity => t!(lang, "form.hint.ethnicity").into(),
            Field::IdNumber if super::doc_ambiguous(self.doc_type, &self.text(Field::IdNumber)) => {
                t!(
                    lang,
                    "form.hint.hk_macao_or_passport",
                    key = keys::label(KEYS, |c| *c == Cmd::DocType)
                )
            }
            Field::IdNumber => t!(
                lang,
                "form.hint.id_number",
                key = keys::label(KEYS, |c| *c == Cmd::DocType)
            ),
            // just arrived by the phone's own move: the next Tab only confirms it
            Field::Employer if self.auto_advanced && !self.employer_suggestions().is_empty() => {
                t!(lang, "form.hint.employer_after_move", take = TAB.label())
            }
            Field::Employer if !self.employers.is_empty() => t!(
                lang,
                "form.hint.employer",
                pick = keys::label(KEYS, |c| *c == Cmd::Arrows),
                take = TAB.label()
            ),
            field => self
                .kind(field)
                .and_then(|k| k.hint(lang))
                .unwrap_or_else(|| keys::hint_line(KEYS, lang, "  ", |_| true)),
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, lang: Lang) {
        let buf = frame.buffer_mut();
        let mut y = area.y;
        let bottom = area.y + area.height;
        let mut cursor: Option<Position> = None;

        // Title line: new registration or editing.
        let title = match &self.editing {
            Some(no) => t!(
                lang,
                "form.editing",
                member_no = no,
                save = keys::label(KEYS, |c| *c == Cmd::Submit),
                leave = keys::label(SESSION, |a| matches!(a, Action::Goto(Screen::Records)))
            ),
            None => t!(lang, "form.title").to_string(),
        };
        buf.set_stringn(area.x, y, &title, area.width as usize, theme::title());
        y += 1;

        'fields: for (i, (field, kind)) in self.fields.iter().enumerate() {
            let field = *field;
            // Above the ID number: its type, said in full (the number may have chosen it).
            if field == Field::IdNumber && y < bottom.saturating_sub(1) {
                self.render_doc_type(buf, Rect::new(area.x, y, area.width, 1), lang);
                y += 1;
            }
            for line in 0..kind.height() {
                if y >= bottom.saturating_sub(1) {
                    break 'fields;
                }
                if i == 5 && line == 0 {
                    let sep = format!("── {} ", t!(lang, "form.optional"));
                    buf.set_stringn(area.x, y, &sep, area.width as usize, theme::dim());
                    y += 1;
                }
                let focused = self.focus == field && kind.focus_line() == line;
                let row = Rect::new(area.x, y, area.width, 1);
                let pos = self.render_line(buf, row, (field, kind), line, focused, lang);
                if focused {
                    cursor = pos;
                }
                y += 1;
            }
            // Below the ID number: what it says, or who already has it (whole in the status
            // line when cut here: see `overflow`).
            if field == Field::IdNumber {
                if let Some((text, style)) = self.derived_line(lang) {
                    let room = (area.width - LABEL_W) as usize;
                    buf.set_stringn(area.x + LABEL_W, y, fit(&text, room), room, style);
                }
                y += 1;
            }
        }
        // The hints at the bottom, wrapped into the rows the fields left free (the political
        // status list is long beside the last card); today's employers just above them.
        let suggesting = self.focus == Field::Employer && !self.employer_suggestions().is_empty();
        let hint = self.hint(lang);
        let free = bottom
            .saturating_sub(y)
            .saturating_sub(u16::from(suggesting));
        let rows = wrapped_lines(&hint, area.width, free.max(1));
        let hint_area = Rect::new(area.x, bottom.saturating_sub(rows), area.width, rows);
        Clear.render(hint_area, buf);
        wrapped(buf, hint_area, &hint, theme::hint());
        if suggesting {
            self.render_suggestions(buf, area, hint_area.y.saturating_sub(1), lang);
        }
        if let Some(p) = cursor {
            frame.set_cursor_position(p);
        }
    }

    /// The document type, whole, with the key that changes it where that fits too; marked
    /// when the number chose other than the resident ID card.
    fn render_doc_type(&self, buf: &mut Buffer, row: Rect, lang: Lang) {
        buf.set_stringn(
            row.x,
            row.y,
            label(Field::DocType, lang),
            LABEL_W as usize,
            theme::label(),
        );
        let room = row.width.saturating_sub(LABEL_W) as usize;
        let kind = self.doc_type.label(lang);
        let style = if self.doc_type == crate::member::DocKind::ResidentId {
            theme::label()
        } else {
            theme::warn()
        };
        buf.set_stringn(row.x + LABEL_W, row.y, fit(kind, room), room, style);
        let key = format!(
            " · {}",
            t!(
                lang,
                "form.doc_type_key",
                key = keys::label(KEYS, |c| *c == Cmd::DocType)
            )
        );
        let used = unicode_width::UnicodeWidthStr::width(kind);
        if fits(&format!("{kind}{key}"), room) {
            buf.set_stringn(
                row.x + LABEL_W + used as u16,
                row.y,
                &key,
                room - used,
                theme::dim(),
            );
        }
    }

    /// One line of a field in `row`: label, value, note. Returns where the cursor goes in a
    /// text.
    fn render_line(
        &self,
        buf: &mut Buffer,
        row: Rect,
        (field, kind): (Field, &Kind),
        line: u16,
        focused: bool,
        lang: Lang,
    ) -> Option<Position> {
        let label = match kind {
            Kind::MultiPick(m) if line == 1 => i18n::text(lang, m.other_label).to_string(),
            _ if is_required(field) => format!("{}*", label(field, lang)),
            _ => label(field, lang).to_string(),
        };
        let label_style = if focused {
            theme::focused_label()
        } else {
            theme::label()
        };
        buf.set_stringn(row.x, row.y, &label, LABEL_W as usize, label_style);
        let input_area = Rect::new(
            row.x + LABEL_W,
            row.y,
            INPUT_W.min(row.width.saturating_sub(LABEL_W)),
            1,
        );
        let input_style = if focused {
            theme::focused_input()
        } else {
            theme::input()
        };
        let pos = kind.render(line, input_area, buf, input_style, lang);
        let note_x = row.x + LABEL_W + INPUT_W + 1;
        if line == 0
            && note_x < row.x + row.width
            && let Some((note, style)) = self.note(field, lang)
        {
            let room = (row.x + row.width - note_x) as usize;
            buf.set_stringn(note_x, row.y, fit(&note, room), room, style);
        }
        pos
    }

    /// Today's employers, on row `y` above the hints, where nothing else is drawn.
    fn render_suggestions(&self, buf: &mut Buffer, area: Rect, y: u16, lang: Lang) {
        let sugg = self.employer_suggestions();
        if sugg.is_empty() {
            return;
        }
        let highlighted = self.highlighted();
        let mut spans = vec![Span::styled(
            format!("{} ", t!(lang, "form.suggest")),
            theme::dim(),
        )];
        for (k, s) in sugg.iter().enumerate() {
            let style = if highlighted == Some(k) {
                theme::selected()
            } else {
                theme::dim()
            };
            spans.push(Span::styled(
                crate::member::text::display_safe(s).into_owned(),
                style,
            ));
            spans.push(Span::raw("  "));
        }
        Paragraph::new(Line::from(spans))
            .render(Rect::new(area.x + LABEL_W, y, area.width - LABEL_W, 1), buf);
    }

    fn derived_line(&self, lang: Lang) -> Option<(String, Style)> {
        if let Some(e) = self.error_for(Field::IdNumber) {
            return Some((format!("✗ {}", e.reason.message(lang)), theme::error()));
        }
        if let Some(e) = &self.existing
            && self.editing.as_ref() != Some(&e.member_no)
        {
            // short enough for 80 columns, the key first-class; the name masked, for
            // whoever stands at the booth
            return Some((
                t!(
                    lang,
                    "form.existing",
                    name = crate::member::name::mask_name(&e.display_name()),
                    date = e.created_at.format("%Y-%m-%d"),
                    member_no = e.member_no,
                    key = reprint_key()
                ),
                theme::warn(),
            ));
        }
        if let Some(hit) = self.peer.as_ref().filter(|_| self.editing.is_none()) {
            return Some((peer_duplicate(hit, self.today, lang), theme::warn()));
        }
        let f = self.facts.as_ref()?;
        let mut s = t!(
            lang,
            "form.derived",
            birth = f.birth_date,
            gender = f.gender.label(lang),
            age = crate::member::document::age_on(f.birth_date, self.today)
        );
        if let Some(r) = &f.region {
            s.push_str(" · ");
            s.push_str(&r.name);
        }
        if self.warnings.contains(&Warning::UnknownCounty) {
            s.push_str(" · ");
            s.push_str(t!(lang, "form.unknown_county"));
        }
        Some((s, theme::ok()))
    }
}

/// "此人已于 10:42 在 2号电脑 登记：K7M2QX-0042-7": the time alone when it was `today`.
pub fn peer_duplicate(
    hit: &crate::store::peers::PeerHit,
    today: chrono::NaiveDate,
    lang: Lang,
) -> String {
    let time = crate::store::parse_timestamp(&hit.at)
        .map(|at| {
            if at.date_naive() == today {
                at.format("%H:%M").to_string()
            } else {
                at.format("%Y-%m-%d %H:%M").to_string()
            }
        })
        .unwrap_or_else(|| display_safe(&hit.at).into_owned());
    t!(
        lang,
        "peers.duplicate",
        time = time,
        laptop = display_safe(&hit.laptop),
        member_no = hit.member_no
    )
}
