//! Mainland mobile numbers: 11 digits, 1[3-9]…, after removing what people type around them.

use super::error::Reason;
use super::text::{fold_width, is_dash};

/// Full-width digits folded; spaces, dashes, dots and brackets dropped; a leading +86, 0086 or
/// 86 (when 13 digits remain) removed. Idempotent.
pub fn normalize_phone(raw: &str) -> String {
    let s: String = raw
        .chars()
        .map(fold_width)
        .filter(|&c| !(c.is_whitespace() || is_dash(c) || matches!(c, '(' | ')' | '.')))
        .collect();
    // Strip country codes until none is left, so that normalising twice changes nothing.
    let mut s = s.as_str();
    loop {
        let next = s
            .strip_prefix("+86")
            .or_else(|| s.strip_prefix("0086"))
            .or_else(|| {
                s.strip_prefix("86")
                    .filter(|r| r.len() == 11 && r.starts_with('1'))
            });
        match next {
            Some(rest) => s = rest,
            None => return s.to_string(),
        }
    }
}

/// The normalised number, or why it cannot be a mainland mobile number.
pub fn parse_phone(raw: &str) -> Result<String, Reason> {
    let p = normalize_phone(raw);
    if p.is_empty() {
        return Err(Reason::Required);
    }
    if !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reason::DigitsOnly);
    }
    if p.len() != 11 {
        return Err(Reason::Length {
            expected: 11,
            actual: p.len(),
        });
    }
    let b = p.as_bytes();
    if b[0] != b'1' || !(b'3'..=b'9').contains(&b[1]) {
        return Err(Reason::PhonePrefix);
    }
    Ok(p)
}

/// `138****8000` for display where the whole number is not needed.
pub fn mask_phone(p: &str) -> String {
    if p.len() == 11 && p.is_ascii() {
        format!("{}****{}", &p[..3], &p[7..])
    } else {
        "*".repeat(p.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        for raw in [
            "13800138000",
            "+86 138-0013-8000",
            "0086 13800138000",
            "8613800138000",
            "１３８００１３８０００",
            "(138) 0013 8000",
            "0086+8613800138000",
        ] {
            assert_eq!(parse_phone(raw).as_deref(), Ok("13800138000"), "{raw}");
        }
    }

    #[test]
    fn refused() {
        assert_eq!(
            parse_phone("12345"),
            Err(Reason::Length {
                expected: 11,
                actual: 5
            })
        );
        assert_eq!(parse_phone("12800138000"), Err(Reason::PhonePrefix));
        assert_eq!(parse_phone("1380013800a"), Err(Reason::DigitsOnly));
        assert_eq!(parse_phone("  "), Err(Reason::Required));
    }

    #[test]
    fn masking() {
        assert_eq!(mask_phone("13800138000"), "138****8000");
    }
}
