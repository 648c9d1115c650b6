//! The dashboard's charts, drawn on the server as SVG (no chart library, no script): bars
//! for a list of labelled counts (per day too: every day labelled, its value written beside
//! its bar, readable without hovering). Sizes are attributes, colours
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
}
