//! Character-level normalisation shared by every field.
//!
//! Operators paste from WeChat, type with a Chinese input method left in full-width mode, and
//! import spreadsheets that carry invisible characters. Normalising here (not in each field)
//! means the form, import and the server agree on what a value is.

use std::borrow::Cow;

/// Full-width ASCII (U+FF01–U+FF5E) to ASCII and the ideographic space to a space.
pub fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Dash-like characters people type between digit groups.
pub fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}' | '\u{30FC}'
    )
}

/// Characters that must never reach a terminal, a printer or a file: C0/C1 controls (ESC starts
/// CSI and OSC sequences), bidirectional overrides and isolates (which reorder what a reader
/// sees), zero-width and other invisible format characters, line/paragraph separators, BOMs
/// and non-characters.
pub fn is_hazardous(c: char) -> bool {
    let u = c as u32;
    c.is_control()
        || matches!(u,
            0x00AD            // soft hyphen
            | 0x034F          // combining grapheme joiner
            | 0x061C          // Arabic letter mark
            | 0x115F | 0x1160 // Hangul fillers
            | 0x17B4 | 0x17B5
            | 0x180B..=0x180F // Mongolian variation selectors and vowel separator
            | 0x200B..=0x200F // zero-width space/joiners, LRM, RLM
            | 0x2028..=0x202E // line/paragraph separators, bidi embeddings and overrides
            | 0x2060..=0x206F // word joiner, invisible operators, bidi isolates
            | 0x3164          // Hangul filler
            | 0xFE00..=0xFE0F // variation selectors
            | 0xFEFF          // BOM / zero-width no-break space
            | 0xFFA0
            | 0xFFF0..=0xFFFB // interlinear annotations, specials
            | 0xFFFE | 0xFFFF
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE007F // tags
            | 0xE0100..=0xE01EF // variation selectors supplement
        )
}

/// The first hazardous character that [`tidy`] would not turn into a space (tabs and line
/// breaks are whitespace and become spaces; ESC, bidi overrides and zero-width characters
/// are not), for an error message naming it as `U+001B`.
pub fn first_hazard(s: &str) -> Option<char> {
    s.chars().find(|&c| is_hazardous(c) && !c.is_whitespace())
}

/// `U+001B`-style name of a character, safe to print.
pub fn codepoint(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// Defence in depth at every output (terminal, printer, export): whatever reached the store,
/// hazardous characters are replaced with U+FFFD before display. Validation already refuses
/// them on input; this protects against records written by other tools or older versions.
pub fn display_safe(s: &str) -> Cow<'_, str> {
    if s.chars().any(is_hazardous) {
        Cow::Owned(
            s.chars()
                .map(|c| if is_hazardous(c) { '\u{FFFD}' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(s)
    }
}

/// JSON text with every hazardous character written as a `\uXXXX` escape (surrogate pairs
/// above U+FFFF). serde_json escapes C0 controls itself but leaves bidi overrides and
/// zero-width characters raw, which a terminal or editor would then act on. Only meant for
/// serialized JSON, where such characters can only occur inside strings.
pub fn json_escape_hazards(json: &str) -> Cow<'_, str> {
    // ASCII controls in serde's output are only layout (strings have them escaped already).
    let escape = |c: char| !c.is_ascii() && is_hazardous(c);
    if !json.chars().any(escape) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if escape(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{:04x}", u));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Trim, fold full-width ASCII, and collapse runs of whitespace (tabs and line breaks from a
/// spreadsheet cell included) to one space.
pub fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars().map(fold_width) {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

/// Han ideographs, including the extension blocks where rare name characters (𠮷) live.
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xF900..=0xFAFF
        | 0x20000..=0x2FA1F
        | 0x30000..=0x323AF
        | 0x3007 // 〇, used in names
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_folding() {
        let s: String = "１２３ＡＢｘ－".chars().map(fold_width).collect();
        assert_eq!(s, "123ABx-");
    }

    #[test]
    fn tidy_collapses_and_trims() {
        assert_eq!(tidy("  某　公司  分部 "), "某 公司 分部");
        assert_eq!(tidy(""), "");
        assert_eq!(tidy("某公司\r\n\t分部"), "某公司 分部");
    }

    #[test]
    fn json_hazards_are_escaped_and_the_json_still_parses() {
        let v = serde_json::json!({ "name": "a\u{202e}b\u{e0001}c\u{1b}" });
        let text = serde_json::to_string(&v).unwrap();
        let safe = json_escape_hazards(&text);
        assert!(!safe.chars().any(is_hazardous), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn hazards() {
        for c in [
            '\u{1b}', '\u{9b}', '\u{202e}', '\u{200b}', '\u{2066}', '\u{feff}', '\n', '\t',
        ] {
            assert!(is_hazardous(c), "{}", codepoint(c));
        }
        for c in ['张', '·', 'a', ' ', '𠮷', 'é'] {
            assert!(!is_hazardous(c), "{}", codepoint(c));
        }
        assert_eq!(display_safe("a\u{1b}[31mb"), "a\u{fffd}[31mb");
        assert!(matches!(display_safe("葛婷婷"), Cow::Borrowed(_)));
    }
}
