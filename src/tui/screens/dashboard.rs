//! The day's figures: consultations, sign-ups, conversion, sign-ups per hour, employment
//! forms, the needs most asked, queue size, last upload. Computed off the UI thread.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Paragraph, Widget};

use crate::i18n::Lang;
use crate::member::options::ListKind;
use crate::store::stats::DayFigures;
use crate::t;
use crate::tui::action::Action;
use crate::tui::app::Screen;
use crate::tui::keys::{self, Binding, ESC};
use crate::tui::screens::Outcome;
use crate::tui::theme;
use crate::tui::widgets::fit;

#[derive(Clone, Debug, Default)]
pub struct DashboardState {
    /// Booth sign-ups only (see [`crate::store::booth_day::figures`]).
    pub figures: Option<DayFigures>,
    /// The day's workers a roster brought in: named apart, never in sign-ups or conversion.
    pub imported: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Back,
}

const KEYS: &[Binding<Cmd>] = &[Binding::new(Cmd::Back, &[ESC]).help("help.back_to_form")];

/// F1 on the dashboard.
pub fn help(lang: Lang) -> Vec<String> {
    keys::help_lines(KEYS, lang)
}

impl DashboardState {
    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        match keys::find(KEYS, &key, |_| true) {
            Some(Cmd::Back) => Outcome::Do(Action::Goto(Screen::Form)),
            None => Outcome::Pass,
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, lang: Lang) {
        let buf = frame.buffer_mut();
        let Some(f) = &self.figures else {
            buf.set_stringn(
                area.x,
                area.y,
                t!(lang, "dashboard.loading"),
                area.width as usize,
                theme::dim(),
            );
            return;
        };
        let c = &f.counts;
        let [top, middle, bottom] = Layout::vertical([
            Constraint::Length(4),
            Constraint::Min(8),
            Constraint::Length(7),
        ])
        .areas(area);
        let last = match &f.last_upload {
            Some(u) => t!(
                lang,
                "dashboard.last_upload",
                at = u.at.format("%m-%d %H:%M"),
                accepted = u.accepted,
                sent = u.sent
            ),
            None => t!(lang, "dashboard.never_uploaded").into(),
        };
        let lines = vec![
            Line::styled(t!(lang, "dashboard.title", date = f.date), theme::title()),
            Line::from(t!(
                lang,
                "dashboard.counts",
                consultations = c.consultations,
                registered = c.registered,
                conversion = format!("{:.0}%", c.conversion * 100.0),
                voided = c.voided
            )),
            Line::from(t!(
                lang,
                "dashboard.queue",
                queued = f.all_days.queued,
                rejected = f.all_days.rejected,
                uploaded = f.all_days.uploaded
            )),
            Line::styled(last, theme::dim()),
        ];
        let mut lines = lines;
        if self.imported > 0 {
            // on the counts' line, after them: the roster is not the booth's work
            lines[1].push_span(ratatui::text::Span::styled(
                format!(
                    "  {}",
                    t!(lang, "dashboard.imported", imported = self.imported)
                ),
                theme::dim(),
            ));
        }
        Paragraph::new(lines).render(top, buf);

        let bars: Vec<Bar> = shown_hours(&f.per_hour)
            .map(|h| {
                Bar::default()
                    .value(f.per_hour[h])
                    .label(Line::from(format!("{h:02}")))
            })
            .collect();
        BarChart::default()
            .block(Block::bordered().title(t!(lang, "dashboard.per_hour")))
            .data(BarGroup::default().bars(&bars))
            .bar_width(3)
            .bar_gap(1)
            .bar_style(theme::ok())
            .value_style(
                Style::new()
                    .fg(ratatui::style::Color::Black)
                    .bg(ratatui::style::Color::Green),
            )
            .render(middle, buf);

        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(bottom);
        let mut forms: Vec<(String, u64)> = f
            .by_employment_form
            .iter()
            .map(|(code, n)| {
                let label = if code.is_empty() {
                    t!(lang, "dashboard.not_asked").to_string()
                } else {
                    ListKind::EmploymentForm.label(code, lang)
                };
                (label, *n)
            })
            .collect();
        forms.sort_by_key(|f| std::cmp::Reverse(f.1));
        list_block(buf, left, t!(lang, "dashboard.by_form"), &forms);
        let needs: Vec<(String, u64)> = f
            .top_needs
            .iter()
            .map(|(code, n)| (ListKind::Needs.label(code, lang), *n))
            .collect();
        list_block(buf, right, t!(lang, "dashboard.top_needs"), &needs);
    }
}

fn list_block(buf: &mut ratatui::buffer::Buffer, area: Rect, title: &str, items: &[(String, u64)]) {
    use unicode_width::UnicodeWidthStr;
    let max = items.iter().map(|i| i.1).max().unwrap_or(1).max(1);
    let inner_w = area.width.saturating_sub(2) as usize;
    // one label column for all rows, as wide as the longest label up to half the block (longer
    // ones end in …), so that equal counts get equal bars
    let label_w = items
        .iter()
        .map(|(label, _)| label.width())
        .max()
        .unwrap_or(0)
        .clamp(8, (inner_w / 2).max(8));
    let bar_room = inner_w.saturating_sub(label_w + 6) as u64;
    let lines: Vec<Line> = items
        .iter()
        .take(area.height.saturating_sub(2) as usize)
        .map(|(label, n)| {
            let label = fit(label, label_w);
            // pad by display width: Chinese labels are two columns per character
            let pad = label_w.saturating_sub(label.width());
            let bar_w = (bar_room * n / max) as usize;
            Line::from(format!(
                "{label}{} {n:>4} {}",
                " ".repeat(pad),
                "▇".repeat(bar_w)
            ))
        })
        .collect();
    Paragraph::new(lines)
        .block(Block::bordered().title(title.to_string()))
        .render(area, buf);
}

/// The hours the chart shows: 07–22, where booths mostly run, widened to any hour with
/// sign-ups (a night-shift change at 23:00 or 06:00 must not vanish from the chart).
fn shown_hours(per_hour: &[u64; 24]) -> std::ops::RangeInclusive<usize> {
    let first = per_hour.iter().position(|&n| n > 0).map_or(7, |h| h.min(7));
    let last = per_hour
        .iter()
        .rposition(|&n| n > 0)
        .map_or(22, |h| h.max(22));
    first..=last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_strings_exist() {
        keys::assert_strings_exist(KEYS);
    }

    #[test]
    fn the_chart_widens_to_every_hour_with_sign_ups() {
        let mut hours = [0u64; 24];
        assert_eq!(shown_hours(&hours), 7..=22);
        hours[12] = 3;
        assert_eq!(shown_hours(&hours), 7..=22);
        hours[4] = 1;
        assert_eq!(shown_hours(&hours), 4..=22);
        hours[23] = 2;
        assert_eq!(shown_hours(&hours), 4..=23);
    }
}
