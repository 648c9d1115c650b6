//! Line breaking for slips and cards, the same for ESC/POS, PNG, SVG and PDF.
//!
//! Break opportunities come from the Unicode line breaking algorithm (UAX #14, the
//! `unicode-linebreak` crate): English breaks at spaces, Chinese between characters but never
//! before closing punctuation (，。、：；！？）」』》…) and never after opening punctuation
//! (Chinese typesetting's 避头尾). Lines are filled greedily; then a last line holding a single
//! character takes one more from the line above, so no "会" stands alone.

use unicode_linebreak::{BreakOpportunity, linebreaks};

/// Characters a line must not start with, for text broken inside a word that is wider than
/// the line (UAX #14 already keeps them off line starts everywhere else).
fn no_line_start(c: char) -> bool {
    "，。、：；！？）」』》〉】〕’”…,.;:!?)]}%·".contains(c)
}

/// Breaks `text` into lines no wider than `max` as `width` measures a piece of text. A piece
/// that cannot be broken and is wider than a line (one long word, one character on a very
/// narrow line) is cut between characters.
pub fn break_lines(text: &str, max: f32, width: impl Fn(&str) -> f32) -> Vec<String> {
    let fits = |s: &str| width(s.trim_end()) <= max;
    // The text between two break opportunities, and whether a line must end after it. UAX #14
    // allows a break between a space and a full-width colon; Chinese typesetting does not.
    let mut bounds: Vec<(usize, usize, bool)> = Vec::new();
    let mut start = 0;
    for (at, kind) in linebreaks(text) {
        if at > start {
            let mandatory = kind == BreakOpportunity::Mandatory && at < text.len();
            let starts_badly = text[start..].starts_with(no_line_start);
            match bounds.last_mut() {
                Some(prev) if starts_badly && !prev.2 => *prev = (prev.0, at, mandatory),
                _ => bounds.push((start, at, mandatory)),
            }
        }
        start = at;
    }
    let mut segments: Vec<(&str, bool)> = Vec::new();
    for (from, to, mandatory) in bounds {
        let seg = &text[from..to];
        if fits(seg) {
            segments.push((seg, mandatory));
        } else {
            let pieces = cut_between_characters(seg, &fits);
            let last = pieces.len() - 1;
            segments.extend(
                pieces
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| (p, mandatory && i == last)),
            );
        }
    }

    // Greedy filling: each line is a run of segments.
    let mut lines: Vec<Vec<&str>> = vec![Vec::new()];
    let joined = |segs: &[&str]| segs.concat();
    for (seg, mandatory) in segments {
        let line = lines.last_mut().expect("non-empty");
        let mut candidate = joined(line);
        candidate.push_str(seg);
        if line.is_empty() || fits(&candidate) {
            line.push(seg);
        } else {
            lines.push(vec![seg]);
        }
        if mandatory {
            lines.push(Vec::new());
        }
    }

    // No single character alone on the last line, when the line above can spare one piece.
    let n = lines.len();
    if n >= 2 && lines[n - 2].len() >= 2 {
        let last_text = joined(&lines[n - 1]);
        if last_text.trim().chars().count() == 1 {
            let moved = lines[n - 2].last().copied().unwrap_or_default();
            let new_last = format!("{moved}{last_text}");
            if fits(&new_last) {
                lines[n - 2].pop();
                lines[n - 1].insert(0, moved);
            }
        }
    }

    let mut out: Vec<String> = lines
        .iter()
        .map(|l| joined(l).trim_end().to_string())
        .collect();
    if out.len() > 1 && out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// Cuts a piece wider than a line between characters, greedily, keeping closing punctuation
/// with the character before it.
fn cut_between_characters<'a>(seg: &'a str, fits: &impl Fn(&str) -> bool) -> Vec<&'a str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut end = 0;
    for (i, c) in seg.char_indices() {
        let next = i + c.len_utf8();
        if end > start && !fits(&seg[start..next]) && !no_line_start(c) {
            pieces.push(&seg[start..end]);
            start = end;
        }
        end = next;
    }
    if end > start {
        pieces.push(&seg[start..end]);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use unicode_width::UnicodeWidthStr;

    fn cols(s: &str) -> f32 {
        s.width() as f32
    }

    #[test]
    fn chinese_never_starts_a_line_with_closing_punctuation() {
        let lines = break_lines(
            "凭此码在工会服务站点享受会员服务，可离线核验真伪。",
            32.0,
            cols,
        );
        assert!(lines.iter().all(|l| !l.starts_with('，')), "{lines:?}");
        assert!(lines.iter().all(|l| cols(l) <= 32.0), "{lines:?}");
        assert_eq!(
            lines.concat(),
            "凭此码在工会服务站点享受会员服务，可离线核验真伪。"
        );
    }

    #[test]
    fn a_last_line_of_one_character_takes_one_more() {
        let lines = break_lines("北京市朝阳区总工会", 16.0, cols);
        assert_eq!(lines, ["北京市朝阳区总", "工会"]);
    }

    #[test]
    fn english_breaks_at_spaces() {
        let lines = break_lines(
            "Show this code at union service points; it can be checked offline.",
            32.0,
            cols,
        );
        assert_eq!(
            lines,
            [
                "Show this code at union service",
                "points; it can be checked",
                "offline."
            ]
        );
    }

    #[test]
    fn a_word_wider_than_the_line_is_cut() {
        let lines = break_lines("abcdefghij", 4.0, cols);
        assert_eq!(lines, ["abcd", "efgh", "ij"]);
        assert_eq!(break_lines("", 4.0, cols), [""]);
    }

    proptest! {
        /// Whatever the text: nothing lost but the spaces at breaks, no line wider than the
        /// paper unless it is one character, no line starting with closing punctuation.
        #[test]
        fn breaking_keeps_the_text_and_the_rules(
            text in "[北京市朝阳区总工会，。、：；！？）》 a-zA-Z0-9]{0,80}",
            max in 2u32..40,
        ) {
            let lines = break_lines(&text, max as f32, cols);
            let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            prop_assert_eq!(squash(&lines.concat()), squash(&text));
            for l in &lines {
                // punctuation kept with the character before it may overhang
                let body = l.trim_end_matches(|c: char| no_line_start(c) || c.is_whitespace());
                prop_assert!(cols(body) <= max as f32 || body.chars().count() <= 1, "{:?}", lines);
            }
            for l in lines.iter().skip(1) {
                if let Some(c) = l.chars().next() {
                    prop_assert!(!"，。、：；！？）》".contains(c), "{:?}", lines);
                }
            }
        }
    }
}
