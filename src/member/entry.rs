//! Rules of typing a record in, key by key: when a number is complete (the form moves on by
//! itself) and which document type a number being typed is. The form calls these; the rules
//! of what is valid stay in [`validate`](super::validate).

use chrono::NaiveDate;

use super::document::{DocKind, normalize_number, parse_document};
use super::phone::parse_phone;

/// An 18-character number of the resident ID family, whole and valid: nothing more will be
/// typed into it (a card reader's Enter after it is not a second step).
pub fn id_complete(kind: DocKind, raw: &str, today: NaiveDate) -> bool {
    kind.is_id_family()
        && normalize_number(raw).len() == 18
        && parse_document(kind, raw, today).is_ok()
}

/// Eleven digits of a valid mainland mobile number.
pub fn phone_complete(raw: &str) -> bool {
    parse_phone(raw).is_ok()
}

/// The document type while its number is typed: a leading letter means a passport; back to the
/// ID card once a passport's number has grown to ID length without one (the type was only a
/// guess from the first character).
pub fn kind_while_typing(current: DocKind, raw: &str) -> DocKind {
    let n = normalize_number(raw);
    let starts_alpha = DocKind::unstated(&n) == DocKind::Passport;
    if starts_alpha && current != DocKind::Passport {
        DocKind::Passport
    } else if !starts_alpha && current == DocKind::Passport && n.len() >= 15 {
        DocKind::ResidentId
    } else {
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    #[test]
    fn an_id_is_complete_at_18_valid_characters_only() {
        let k = DocKind::ResidentId;
        assert!(id_complete(k, "11010519491231002X", today()));
        assert!(
            id_complete(k, "110105 19491231 002x", today()),
            "normalised"
        );
        assert!(!id_complete(k, "11010519491231002", today()), "17");
        assert!(
            !id_complete(k, "110105194912310021", today()),
            "check character"
        );
        assert!(!id_complete(
            DocKind::Passport,
            "11010519491231002X",
            today()
        ));
    }

    #[test]
    fn a_phone_is_complete_at_11_valid_digits() {
        assert!(phone_complete("138 0013 8000"));
        assert!(phone_complete("+8613800138000"));
        assert!(!phone_complete("1380013800"));
        assert!(!phone_complete("12800138000"), "prefix");
    }

    #[test]
    fn letters_mean_passport_until_an_id_length_number_says_otherwise() {
        use DocKind::*;
        assert_eq!(kind_while_typing(ResidentId, "E1234"), Passport);
        assert_eq!(kind_while_typing(Passport, "E1234"), Passport);
        assert_eq!(kind_while_typing(Passport, "12345678901234"), Passport);
        assert_eq!(kind_while_typing(Passport, "123456789012345"), ResidentId);
        assert_eq!(kind_while_typing(HmtPermit, "810000"), HmtPermit);
        assert_eq!(kind_while_typing(ResidentId, ""), ResidentId);
    }
}
