//! Mobile numbers: mainland (11 digits, 1[3-9]…), Hong Kong (+852 and 8 digits) and Macao
//! (+853 and 8 digits), after removing what people type around them.
//!
//! Mainland numbers are stored bare (`13800138000`), the others with their country code and a
//! space (`+852 91234567`), so a stored number says which it is.

use super::error::Reason;
use super::text::{fold_width, is_dash};

/// Full-width digits folded; spaces, dashes, dots and brackets dropped; a leading +86, 0086 or
/// 86 (when 13 digits remain) removed. Idempotent. Hong Kong and Macao country codes stay:
/// [`parse_phone`] reads them.
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

/// Hong Kong and Macao: the country code and the eight digits after it, if the number has one
/// (`+852…`, `00852…`, or eleven digits starting 852/853, which no mainland number does).
fn hk_macao(p: &str) -> Option<(u16, &str)> {
    for (code, plus, zeros, bare) in [(852, "+852", "00852", "852"), (853, "+853", "00853", "853")]
    {
        if let Some(rest) = p.strip_prefix(plus).or_else(|| p.strip_prefix(zeros)) {
            return Some((code, rest));
        }
        if p.len() == 11
            && p.bytes().all(|b| b.is_ascii_digit())
            && let Some(rest) = p.strip_prefix(bare)
        {
            return Some((code, rest));
        }
    }
    None
}

/// The normalised number, or why it cannot be a mobile number we accept.
pub fn parse_phone(raw: &str) -> Result<String, Reason> {
    let p = normalize_phone(raw);
    if p.is_empty() {
        return Err(Reason::Required);
    }
    if let Some((code, rest)) = hk_macao(&p) {
        if !rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Reason::PhoneDigits);
        }
        if rest.len() != 8 {
            return Err(Reason::Length {
                expected: 8,
                actual: rest.len(),
            });
        }
        // Mobile ranges: Hong Kong 4–9 (2 and 3 are fixed lines), Macao 6 (2 is fixed lines).
        let first = rest.as_bytes()[0];
        let mobile = match code {
            852 => (b'4'..=b'9').contains(&first),
            _ => first == b'6',
        };
        if !mobile {
            return Err(Reason::HkMoMobilePrefix { code });
        }
        return Ok(format!("+{code} {rest}"));
    }
    if p.starts_with('+') || (p.starts_with("00") && p.len() > 11) {
        return Err(Reason::PhoneCountry);
    }
    if !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reason::PhoneDigits);
    }
    if p.len() == 8 {
        return Err(Reason::PhoneNeedsCountryCode);
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

/// `138****8000`, `+852 ****4567`: for display where the whole number is not needed.
pub fn mask_phone(p: &str) -> String {
    if p.len() == 11 && p.is_ascii() {
        format!("{}****{}", &p[..3], &p[7..])
    } else if let Some((code, rest)) = p.split_once(' ')
        && code.starts_with('+')
        && rest.len() == 8
        && rest.is_ascii()
    {
        format!("{code} ****{}", &rest[4..])
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
        assert_eq!(parse_phone("1380013800a"), Err(Reason::PhoneDigits));
        assert_eq!(parse_phone("  "), Err(Reason::Required));
    }

    #[test]
    fn masking() {
        assert_eq!(mask_phone("13800138000"), "138****8000");
        assert_eq!(mask_phone("+852 91234567"), "+852 ****4567");
    }

    #[test]
    fn hong_kong_and_macao_mobiles() {
        for raw in [
            "+852 9123 4567",
            "00852-91234567",
            "(852) 9123-4567",
            "＋８５２９１２３４５６７",
        ] {
            assert_eq!(parse_phone(raw).as_deref(), Ok("+852 91234567"), "{raw}");
        }
        assert_eq!(
            parse_phone("+853 6612 3456").as_deref(),
            Ok("+853 66123456")
        );
        assert_eq!(parse_phone("+852 91234567").as_deref(), Ok("+852 91234567"));
        // fixed lines, wrong lengths, other countries
        assert_eq!(
            parse_phone("+852 21234567"),
            Err(Reason::HkMoMobilePrefix { code: 852 })
        );
        assert_eq!(
            parse_phone("+853 28123456"),
            Err(Reason::HkMoMobilePrefix { code: 853 })
        );
        assert_eq!(
            parse_phone("+852 9123456"),
            Err(Reason::Length {
                expected: 8,
                actual: 7
            })
        );
        assert_eq!(parse_phone("+44 7911 123456"), Err(Reason::PhoneCountry));
        assert_eq!(parse_phone("91234567"), Err(Reason::PhoneNeedsCountryCode));
    }

    #[test]
    fn phone_messages_never_talk_about_id_cards() {
        use crate::i18n::Lang;
        for raw in [
            "1380013800a",
            "12345",
            "91234567",
            "+852 2123",
            "+1 555",
            "12800138000",
            "+852 91a",
        ] {
            let reason = parse_phone(raw).unwrap_err();
            for lang in Lang::ALL {
                let msg = reason.message(lang);
                for word in ["身份证", "证件", "ID", " X", "X）", "X)"] {
                    assert!(!msg.contains(word), "{raw}: {msg}");
                }
            }
        }
    }
}
