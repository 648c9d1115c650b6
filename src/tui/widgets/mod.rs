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

/// Closing punctuation: never the first thing on a line (the lone "）" under a path).
fn no_break_before(c: char) -> bool {
    matches!(
        c,
        '）' | '，'
            | '。'
            | '、'
            | '；'
            | '：'
            | '！'
            | '？'
            | '」'
            | '』'
            | '】'
            | '》'
            | '…'
            | ')'
            | ']'
            | '}'
            | ','
            | '.'
            | ';'
            | ':'
            | '!'
            | '?'
    )
}

/// Opening punctuation: never the last thing on a line.
fn no_break_after(c: char) -> bool {
    matches!(c, '（' | '「' | '『' | '【' | '《' | '(' | '[' | '{')
}

fn is_wide(c: char) -> bool {
    unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) > 1
}

/// May a line end between `a` and `b`? After a space, on either side of a Chinese
/// character, after a path's `/`; never before closing or after opening punctuation.
fn may_break(a: char, b: char) -> bool {
    if no_break_before(b) || no_break_after(a) {
        return false;
    }
    a == ' ' || is_wide(a) || is_wide(b) || a == '/'
}

/// One group of text (no double spaces in it) in lines of `width` columns: broken where
/// [`may_break`] allows, and inside a word only when the word alone is wider than a line.
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthChar;
    let chars: Vec<char> = text.chars().collect();
    let mut segments: Vec<String> = Vec::new();
    let mut seg = String::new();
    for (i, &c) in chars.iter().enumerate() {
        seg.push(c);
        if chars.get(i + 1).is_none_or(|&next| may_break(c, next)) {
            segments.push(std::mem::take(&mut seg));
        }
    }
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for seg in segments {
        let joined = format!("{line}{seg}");
        if fits(joined.trim_end(), width) {
            line = joined;
            continue;
        }
        if !line.trim().is_empty() {
            lines.push(line.trim_end().to_string());
        }
        line = seg.trim_start().to_string();
        // a word wider than a whole line: cut where the line is full
        while !fits(line.trim_end(), width) {
            let mut head = String::new();
            let mut used = 0;
            for c in line.chars() {
                let w = c.width().unwrap_or(0);
                // at least one character a line, even one wider than the line
                if used + w > width && !head.is_empty() {
                    break;
                }
                head.push(c);
                used += w;
            }
            line = line[head.len()..].to_string();
            lines.push(head);
        }
    }
    if !line.trim().is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// `text` in lines of `width` columns. Groups separated by two spaces ("Tab next  Ctrl-S
/// submit") are kept whole on a line where they fit; within a group, lines break at spaces,
/// around Chinese characters and after a path's `/`, never before closing punctuation.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for group in text.split("  ").filter(|g| !g.trim().is_empty()) {
        let pieces = if fits(group, width) {
            vec![group.to_string()]
        } else {
            wrap_words(group, width)
        };
        for (i, piece) in pieces.into_iter().enumerate() {
            match lines.last_mut() {
                Some(last) if i == 0 && fits(&format!("{last}  {piece}"), width) => {
                    last.push_str("  ");
                    last.push_str(&piece);
                }
                _ => lines.push(piece),
            }
        }
    }
    lines
}

/// Lines `text` takes wrapped (see [`wrap`]) in `width` columns, at most `max`.
pub fn wrapped_lines(text: &str, width: u16, max: u16) -> u16 {
    (wrap(text, width as usize).len() as u16)
        .clamp(1, max.max(1))
        .min(max)
}

/// Draws `text` wrapped (see [`wrap`]) in `area` (its height is the most lines it may take;
/// a text longer than that ends in "…") and returns the lines it took.
pub fn wrapped(
    buf: &mut ratatui::buffer::Buffer,
    area: ratatui::layout::Rect,
    text: &str,
    style: ratatui::style::Style,
) -> u16 {
    let width = area.width as usize;
    let mut lines = wrap(text, width);
    let room = area.height as usize;
    if lines.len() > room {
        let rest = lines.split_off(room.saturating_sub(1)).join(" ");
        if room > 0 {
            lines.push(fit(&format!("{rest}…"), width).into_owned());
        }
    }
    for (i, line) in lines.iter().enumerate() {
        buf.set_stringn(area.x, area.y + i as u16, line, width, style);
    }
    lines.len() as u16
}

/// Clears `area` for a box drawn over the screen. A wide (Chinese) character just left of the
/// box would have its right half under the box's border: the terminal erases such a
/// character, so it is blanked here too, and the screen and the frame agree (no half
/// character, no border pushed out of line).
pub fn clear_box(buf: &mut ratatui::buffer::Buffer, area: ratatui::layout::Rect) {
    use ratatui::widgets::Widget;
    ratatui::widgets::Clear.render(area, buf);
    if area.x == 0 {
        return;
    }
    for y in area.y..area.y + area.height {
        if let Some(cell) = buf.cell_mut((area.x - 1, y))
            && unicode_width::UnicodeWidthStr::width(cell.symbol()) > 1
        {
            cell.set_symbol(" ");
        }
    }
}

/// Does `text` fit in `width` columns?
pub fn fits(text: &str, width: usize) -> bool {
    unicode_width::UnicodeWidthStr::width(text) <= width
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_never_leaves_a_lone_bracket_and_breaks_paths_at_slashes() {
        assert_eq!(
            wrap("凭条已打印（file:/tmp/acceptance.Xq3RtZ/p.bin）", 40),
            ["凭条已打印（file:/tmp/acceptance.Xq3RtZ/", "p.bin）"]
        );
        assert_eq!(
            wrap("slip printed (file:/tmp/acceptance.Xq3RtZ/p.bin)", 33),
            ["slip printed (file:/tmp/", "acceptance.Xq3RtZ/p.bin)"]
        );
        assert_eq!(
            wrap("Tab next  Shift-Tab back  Ctrl-X clear", 20),
            ["Tab next", "Shift-Tab back", "Ctrl-X clear"],
            "key groups stay whole"
        );
        assert_eq!(wrap("一二三四五，六七", 10), ["一二三四", "五，六七"]);
        assert_eq!(
            wrap(&"a".repeat(25), 10).len(),
            3,
            "a word wider than a line"
        );
        assert_eq!(
            wrap("工会", 1),
            ["工", "会"],
            "never stuck on a character wider than a line"
        );
        for w in 6..40 {
            for line in wrap("会员编号 K7M2QX-001A-1（file:/x/y）工会", w) {
                assert!(fits(&line, w), "{line:?} in {w}");
                assert!(!line.starts_with(['）', ')', '，']), "{line:?}");
            }
        }
    }

    #[test]
    fn a_box_over_chinese_text_leaves_no_half_character() {
        use ratatui::buffer::Buffer;
        use ratatui::layout::Rect;
        let mut buf = Buffer::empty(Rect::new(0, 0, 10, 1));
        buf.set_string(0, 0, "工会工会工", ratatui::style::Style::default());
        // a box from column 3: the character at 2–3 is cut by its left edge
        clear_box(&mut buf, Rect::new(3, 0, 4, 1));
        assert_eq!(buf[(0, 0)].symbol(), "工", "whole, left of the box");
        assert_eq!(buf[(2, 0)].symbol(), " ", "cut by the border: blanked");
        assert_eq!(buf[(3, 0)].symbol(), " ");
    }

    #[test]
    fn fit_cuts_by_columns_and_marks_the_cut() {
        assert_eq!(fit("短", 4), "短");
        assert_eq!(fit("北京市朝阳区", 7), "北京市…");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abcdef", 6), "abcdef");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(wrapped_lines("短", 10, 3), 1);
        assert_eq!(wrapped_lines(&"a".repeat(30), 20, 3), 2);
        assert_eq!(wrapped_lines(&"a".repeat(50), 20, 2), 2);
        for w in 0..14 {
            assert!(unicode_width::UnicodeWidthStr::width(&*fit("工会abc会员编号", w)) <= w);
        }
    }
}
