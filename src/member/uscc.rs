//! The unified social credit code of an employer (统一社会信用代码, GB 32100-2015).

use super::error::Reason;
use super::text::{fold_width, is_dash};

/// The 31 characters of the code, in value order (I, O, S, V and Z are not used).
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character for a 17-character body (GB 32100-2015 §6).
pub fn uscc_check_char(body: &[u8]) -> Option<char> {
    if body.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in body.iter().zip(WEIGHTS) {
        sum += value(*c)? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(ALPHABET[check as usize] as char)
}

/// Upper-cased, full-width folded, spaces and dashes dropped. Idempotent.
pub fn normalize_uscc(raw: &str) -> String {
    raw.chars()
        .map(fold_width)
        .filter(|&c| !(c.is_whitespace() || is_dash(c)))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

pub fn parse_uscc(raw: &str) -> Result<String, Reason> {
    let s = normalize_uscc(raw);
    if s.is_empty() {
        return Err(Reason::Required);
    }
    if s.chars().count() != 18 {
        return Err(Reason::Length {
            expected: 18,
            actual: s.chars().count(),
        });
    }
    if let Some(c) = s
        .chars()
        .find(|c| !c.is_ascii() || value(*c as u8).is_none())
    {
        return Err(Reason::BadChar {
            what: format!("“{}”", super::text::display_safe(&c.to_string())),
        });
    }
    let b = s.as_bytes();
    if uscc_check_char(&b[..17]) != Some(b[17] as char) {
        return Err(Reason::CheckChar);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_codes_validate() {
        // Codes printed on public business licences.
        for code in [
            "91110000802100433B",
            "91350100M000100Y43",
            "91440300708461136T",
        ] {
            assert_eq!(parse_uscc(code).as_deref(), Ok(code), "{code}");
        }
        assert_eq!(
            parse_uscc("91110000-8021 00433b").as_deref(),
            Ok("91110000802100433B")
        );
    }

    #[test]
    fn refused() {
        assert_eq!(parse_uscc("91110000802100433C"), Err(Reason::CheckChar));
        assert!(matches!(
            parse_uscc("91110000802100433"),
            Err(Reason::Length { .. })
        ));
        assert!(matches!(
            parse_uscc("9111000080210043IB"),
            Err(Reason::BadChar { .. })
        ));
    }
}
