//! Personal names: Chinese names, minority and foreign names with the middle dot, Latin names.

use super::error::Reason;
use super::text::{first_hazard, fold_width, is_han, tidy};

pub const MAX_NAME_CHARS: usize = 40;

/// Look-alikes of the middle dot that input methods and phones produce.
fn is_dot_variant(c: char) -> bool {
    matches!(
        c,
        '\u{00B7}'
            | '\u{2022}'
            | '\u{2027}'
            | '\u{30FB}'
            | '\u{FF65}'
            | '\u{22C5}'
            | '\u{0387}'
            | '\u{2219}'
            | '\u{2E31}'
            | '\u{16EB}'
            | '\u{FF0E}'
    )
}

/// Trimmed, full-width Latin folded, spaces collapsed, middle-dot look-alikes (and an ASCII
/// full stop between two Han characters) turned into U+00B7. Idempotent.
pub fn normalize_name(raw: &str) -> String {
    let folded: Vec<char> = tidy(raw).chars().collect();
    let mut out = String::with_capacity(raw.len());
    for (i, &c) in folded.iter().enumerate() {
        let between_han =
            || i > 0 && i + 1 < folded.len() && is_han(folded[i - 1]) && is_han(folded[i + 1]);
        if is_dot_variant(c) || (c == '.' && between_han()) {
            out.push('·');
        } else {
            out.push(fold_width(c));
        }
    }
    // A dot typed with spaces around it ("买买提 · 吐尔逊") is one separator.
    out.replace(" · ", "·")
        .replace(" ·", "·")
        .replace("· ", "·")
}

fn allowed(c: char) -> bool {
    is_han(c) || c.is_alphabetic() || matches!(c, '·' | ' ' | '-' | '\'' | '.')
}

/// The normalised name, or why it is not one.
pub fn parse_name(raw: &str) -> Result<String, Reason> {
    if let Some(c) = first_hazard(raw) {
        return Err(Reason::BadChar {
            what: super::text::codepoint(c),
        });
    }
    let name = normalize_name(raw);
    if name.is_empty() {
        return Err(Reason::Required);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Reason::TooLong {
            max: MAX_NAME_CHARS,
        });
    }
    if let Some(c) = name.chars().find(|&c| !allowed(c)) {
        // Printable characters are quoted; anything invisible is named by code point.
        let what = if super::text::is_hazardous(c) || c.is_whitespace() {
            super::text::codepoint(c)
        } else {
            format!("“{c}”")
        };
        return Err(Reason::BadChar { what });
    }
    let first = name.chars().next().unwrap_or(' ');
    let last = name.chars().last().unwrap_or(' ');
    let separators = ['·', ' ', '-', '\'', '.'];
    if separators.contains(&first)
        || separators.contains(&last)
        || ["··", "--", "''", "..", "·-", "-·"]
            .iter()
            .any(|d| name.contains(d))
    {
        return Err(Reason::BadShape);
    }
    Ok(name)
}

/// `葛*婷` for display to whoever stands at the booth: the first and last character kept,
/// each one between masked (`葛*` for two characters); separators kept (`买**·**逊`), so
/// the shape of the name still tells two people apart.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => chars
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                if i == 0 || i == n - 1 || matches!(c, '·' | ' ' | '-') {
                    c
                } else {
                    '*'
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_names_keep_the_first_and_last_character() {
        assert_eq!(mask_name("葛婷婷"), "葛*婷");
        assert_eq!(mask_name("蒋琳"), "蒋*");
        assert_eq!(mask_name("王"), "*");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("买买提·吐尔逊"), "买**·**逊");
        assert_eq!(mask_name("JOHN SMITH"), "J*** ****H");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn chinese_and_minority_and_foreign_names() {
        assert_eq!(parse_name(" 葛婷婷 ").unwrap(), "葛婷婷");
        assert_eq!(parse_name("买买提•吐尔逊").unwrap(), "买买提·吐尔逊");
        assert_eq!(parse_name("买买提.吐尔逊").unwrap(), "买买提·吐尔逊");
        assert_eq!(parse_name("买买提 · 吐尔逊").unwrap(), "买买提·吐尔逊");
        assert_eq!(parse_name("吉𠮷").unwrap(), "吉𠮷");
        assert_eq!(
            parse_name("ＪＯＨＮ  O'Brien-Smith").unwrap(),
            "JOHN O'Brien-Smith"
        );
    }

    #[test]
    fn refused_names() {
        assert_eq!(parse_name(""), Err(Reason::Required));
        assert_eq!(parse_name("   "), Err(Reason::Required));
        assert!(
            matches!(parse_name("张三\u{1b}[31m"), Err(Reason::BadChar { what }) if what == "U+001B")
        );
        assert!(matches!(
            parse_name("张\u{202e}三"),
            Err(Reason::BadChar { .. })
        ));
        assert!(matches!(
            parse_name("张\u{200b}三"),
            Err(Reason::BadChar { .. })
        ));
        assert!(matches!(parse_name("张三3"), Err(Reason::BadChar { .. })));
        assert_eq!(parse_name("·张三"), Err(Reason::BadShape));
        assert_eq!(parse_name("张··三"), Err(Reason::BadShape));
        assert_eq!(
            parse_name(&"张".repeat(41)),
            Err(Reason::TooLong { max: 40 })
        );
        assert!(parse_name(&"张".repeat(40)).is_ok());
    }
}
