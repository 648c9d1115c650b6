//! The dashboard's charts, drawn on the server as SVG (no chart library, no script): bars
//! for a list of labelled counts, columns for counts per day. Sizes are attributes, colours
//! come from the stylesheet's classes, so the CSP needs no inline style.

use std::fmt::Write;

/// Text for an SVG or HTML element.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Horizontal bars, one per `(label, value)`, longest first as given; at most `max_rows`.
pub fn bars(title: &str, rows: &[(String, u64)], max_rows: usize) -> String {
    let rows = &rows[..rows.len().min(max_rows)];
    let row_h = 26;
    let (label_w, bar_w, value_w) = (130, 200, 70);
    let width = label_w + bar_w + value_w;
    let height = (rows.len().max(1) * row_h) as u32;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\" \
         xmlns=\"http://www.w3.org/2000/svg\">",
        escape(title)
    );
    if rows.is_empty() {
        let _ = write!(s, "<text class=\"empty\" x=\"0\" y=\"18\">–</text>");
    }
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = i * row_h;
        let w = ((*v as f64 / max as f64) * bar_w as f64).round().max(1.0);
        let shown: String = label.chars().take(9).collect();
        let shown = if shown.chars().count() < label.chars().count() {
            format!("{shown}…")
        } else {
            shown
        };
        let _ = write!(
            s,
            "<g><title>{}: {}</title><text class=\"label\" x=\"0\" y=\"{}\">{}</text>\
             <rect class=\"bar\" x=\"{label_w}\" y=\"{}\" width=\"{w}\" height=\"18\" rx=\"2\"/>\
             <text class=\"value\" x=\"{}\" y=\"{}\">{}</text></g>",
            escape(label),
            super::thousands(*v),
            y + 17,
            escape(&shown),
            y + 4,
            label_w as f64 + w + 6.0,
            y + 17,
            super::thousands(*v),
        );
    }
    s.push_str("</svg>");
    s
}

/// Columns per day (ascending dates), `value` of each; dates labelled at the ends.
pub fn columns(title: &str, days: &[(String, u64)]) -> String {
    let (width, height, base) = (400u32, 160u32, 130u32);
    let max = days.iter().map(|d| d.1).max().unwrap_or(0).max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\" \
         xmlns=\"http://www.w3.org/2000/svg\">\
         <line class=\"axis\" x1=\"0\" y1=\"{base}\" x2=\"{width}\" y2=\"{base}\"/>",
        escape(title)
    );
    if days.is_empty() {
        let _ = write!(s, "<text class=\"empty\" x=\"0\" y=\"18\">–</text>");
    }
    let n = days.len().max(1) as f64;
    let slot = width as f64 / n;
    let col_w = (slot * 0.8).max(1.0);
    for (i, (day, v)) in days.iter().enumerate() {
        let h = (*v as f64 / max as f64) * (base as f64 - 20.0);
        let x = i as f64 * slot + (slot - col_w) / 2.0;
        let _ = write!(
            s,
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{col_w:.1}\" height=\"{h:.1}\">\
             <title>{}: {}</title></rect>",
            base as f64 - h,
            escape(day),
            super::thousands(*v)
        );
    }
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        let _ = write!(
            s,
            "<text class=\"label\" x=\"0\" y=\"{}\">{}</text>\
             <text class=\"label end\" x=\"{width}\" y=\"{}\">{}</text>\
             <text class=\"value\" x=\"0\" y=\"12\">{}</text>",
            base + 20,
            escape(&first.0),
            base + 20,
            escape(&last.0),
            super::thousands(max),
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_values_shown() {
        let s = bars("t", &[("<b>&".into(), 1200)], 10);
        assert!(s.contains("&lt;b&gt;&amp;"));
        assert!(!s.contains("<b>"));
        assert!(s.contains("1,200"));
        assert!(!s.contains("style="));
    }

    #[test]
    fn columns_scale_to_the_largest_day() {
        let s = columns("t", &[("2026-11-01".into(), 5), ("2026-11-02".into(), 10)]);
        assert!(s.contains("height=\"110.0\""), "{s}");
        assert!(s.contains("2026-11-01") && s.contains("2026-11-02"));
    }
}
