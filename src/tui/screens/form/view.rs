//! Drawing the form: a label column, each field's kind drawing its value, notes to the right,
//! what the ID number says below it, the hint line at the bottom. Reads the state only.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use super::{Cmd, FormState, KEYS, Kind, is_required, label, reprint_key};
use crate::i18n::{self, Lang};
use crate::member::options::ListKind;
use crate::member::{Field, Warning};
use crate::t;
use crate::tui::action::Action;
use crate::tui::app::Screen;
use crate::tui::keys::{self, SESSION, TAB};
use crate::tui::theme;
use crate::tui::widgets::{fit, fits};

const LABEL_W: u16 = 12;
const INPUT_W: u16 = 30;

impl FormState {
    /// The note right of a field: its error, the document type, a match.
    fn note(&self, field: Field, lang: Lang) -> Option<(String, Style)> {
        // The ID number's errors are long: they go on the full-width line below it.
        if let Some(e) = self.error_for(field).filter(|_| field != Field::IdNumber) {
            return Some((e.reason.message(lang), theme::error()));
        }
        match field {
            Field::IdNumber => {
                let kind = self.doc_type.label(lang);
                let key = keys::label(KEYS, |c| *c == Cmd::DocType);
                Some((format!("{kind} · {key}"), theme::dim()))
            }
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

    /// The focused field's error, when the place beside it (or below, for the ID number) is
    /// too narrow to show it whole.
    fn cut_error(&self, area: Rect, lang: Lang) -> Option<(String, Style)> {
        let e = self.error_for(self.focus)?;
        let message = e.reason.message(lang);
        // as `note` and `derived_line` draw it
        let (shown, room) = if self.focus == Field::IdNumber {
            (format!("✗ {message}"), area.width.saturating_sub(LABEL_W))
        } else {
            (
                message.clone(),
                area.width.saturating_sub(LABEL_W + INPUT_W + 1),
            )
        };
        (!fits(&shown, room as usize)).then(|| {
            (
                format!("✗ {}: {message}", label(self.focus, lang)),
                theme::error(),
            )
        })
    }

    /// The hint line for the focused field: its kind's keys, or what to type, or the form's
    /// keys.
    fn hint(&self, lang: Lang) -> String {
        match self.focus {
            Field::Ethnicity => t!(lang, "form.hint.ethnicity").into(),
            Field::IdNumber => t!(
                lang,
                "form.hint.id_number",
                key = keys::label(KEYS, |c| *c == Cmd::DocType)
            ),
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
            // Below the ID number: what it says, or who already has it.
            if field == Field::IdNumber {
                if let Some((text, style)) = self.derived_line(lang) {
                    let room = (area.width - LABEL_W) as usize;
                    buf.set_stringn(area.x + LABEL_W, y, fit(&text, room), room, style);
                }
                y += 1;
            }
            if field == Field::Employer && self.focus == field {
                self.render_suggestions(buf, area, lang);
            }
        }
        // Hint line at the bottom; the focused field's error instead, whole, when it did not
        // fit beside the field (English at 80 columns).
        let hint = match self.cut_error(area, lang) {
            Some(e) => e,
            None => (self.hint(lang), theme::hint()),
        };
        buf.set_stringn(
            area.x,
            bottom.saturating_sub(1),
            " ".repeat(area.width as usize),
            area.width as usize,
            Style::default(),
        );
        let suggesting = self.focus == Field::Employer && !self.employer_suggestions().is_empty();
        if suggesting || fits(&hint.0, area.width as usize) {
            buf.set_stringn(
                area.x,
                bottom.saturating_sub(1),
                fit(&hint.0, area.width as usize),
                area.width as usize,
                hint.1,
            );
        } else {
            // two lines: the one above is only ever the employer suggestions' (not shown now)
            let two = Rect::new(area.x, bottom.saturating_sub(2), area.width, 2);
            Clear.render(two, buf);
            Paragraph::new(hint.0)
                .style(hint.1)
                .wrap(Wrap { trim: true })
                .render(two, buf);
        }
        if let Some(p) = cursor {
            frame.set_cursor_position(p);
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

    /// Today's employers, on the line above the hints, where nothing else is drawn.
    fn render_suggestions(&self, buf: &mut Buffer, area: Rect, lang: Lang) {
        let sugg = self.employer_suggestions();
        if sugg.is_empty() {
            return;
        }
        let empty = self.text(Field::Employer).is_empty();
        let mut spans = vec![Span::styled(
            format!("{} ", t!(lang, "form.suggest")),
            theme::dim(),
        )];
        for (k, s) in sugg.iter().enumerate() {
            let style =
                if self.suggestion == Some(k) || (self.suggestion.is_none() && k == 0 && empty) {
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
        let bottom = area.y + area.height;
        Paragraph::new(Line::from(spans)).render(
            Rect::new(
                area.x + LABEL_W,
                bottom.saturating_sub(2),
                area.width - LABEL_W,
                1,
            ),
            buf,
        );
    }

    fn derived_line(&self, lang: Lang) -> Option<(String, Style)> {
        if let Some(e) = self.error_for(Field::IdNumber) {
            return Some((format!("✗ {}", e.reason.message(lang)), theme::error()));
        }
        if let Some(e) = &self.existing
            && self.editing.as_ref() != Some(&e.member_no)
        {
            // short enough for 80 columns, the key first-class
            return Some((
                t!(
                    lang,
                    "form.existing",
                    name = e.display_name(),
                    date = e.created_at.format("%Y-%m-%d"),
                    member_no = e.member_no,
                    key = reprint_key()
                ),
                theme::warn(),
            ));
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
