//! Widgets shared by screens.

pub mod input;

/// The next (or previous) item of a Tab order, wrapping around.
pub fn cycle<T: PartialEq + Copy>(order: &[T], current: T, forward: bool) -> T {
    let n = order.len();
    let i = order.iter().position(|&f| f == current).unwrap_or(0);
    order[if forward {
        (i + 1) % n
    } else {
        (i + n - 1) % n
    }]
}

/// `text` cut to `width` terminal columns, ending in "…" when something was cut, so a reader
/// sees there is more (wide CJK characters count two columns).
pub fn fit(text: &str, width: usize) -> std::borrow::Cow<'_, str> {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if text.width() <= width {
        return text.into();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out.into()
}

/// Lines `text` takes wrapped at word boundaries in `width` columns, at most `max`: one more
/// than the plain division when it wraps, for words moved down whole.
pub fn wrapped_lines(text: &str, width: u16, max: u16) -> u16 {
    let w = unicode_width::UnicodeWidthStr::width(text) as u16;
    let lines = if w <= width {
        1
    } else {
        w.div_ceil(width.max(1)) + 1
    };
    lines.min(max)
}

/// Draws `text` wrapped at word boundaries in `area` (its height is the most lines it may
/// take) and returns the lines it took.
pub fn wrapped(
    buf: &mut ratatui::buffer::Buffer,
    area: ratatui::layout::Rect,
    text: &str,
    style: ratatui::style::Style,
) -> u16 {
    use ratatui::widgets::{Paragraph, Widget, Wrap};
    let lines = wrapped_lines(text, area.width, area.height);
    Paragraph::new(text)
        .style(style)
        .wrap(Wrap { trim: true })
        .render(
            ratatui::layout::Rect {
                height: lines,
                ..area
            },
            buf,
        );
    lines
}

/// Does `text` fit in `width` columns?
pub fn fits(text: &str, width: usize) -> bool {
    unicode_width::UnicodeWidthStr::width(text) <= width
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_by_columns_and_marks_the_cut() {
        assert_eq!(fit("短", 4), "短");
        assert_eq!(fit("北京市朝阳区", 7), "北京市…");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abcdef", 6), "abcdef");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(wrapped_lines("短", 10, 3), 1);
        assert_eq!(wrapped_lines(&"a".repeat(30), 20, 3), 3);
        assert_eq!(wrapped_lines(&"a".repeat(30), 20, 2), 2);
        for w in 0..14 {
            assert!(unicode_width::UnicodeWidthStr::width(&*fit("工会abc会员编号", w)) <= w);
        }
    }
}
