//! Rules of typing a record in, key by key: when a number is complete (the form moves on by
//! itself) and which document type a number being typed is. The form calls these; the rules
//! of what is valid stay in [`validate`](super::validate).

use super::document::{DocKind, normalize_number};
use super::phone::parse_phone;

/// An 18-character number of the resident ID family, valid or not: the longest it can be, so
/// the form shows its error (if any) now and moves on; anything typed next is the next
/// field's.
pub fn id_at_full_length(kind: DocKind, raw: &str) -> bool {
    kind.is_id_family() && normalize_number(raw).len() == 18
}

/// Longer than any number of the resident ID family: refused as it is typed.
pub fn id_over_full_length(kind: DocKind, raw: &str) -> bool {
    kind.is_id_family() && normalize_number(raw).len() > 18
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
    // Only from the default: a travel permit chosen on purpose also starts with a letter.
    if starts_alpha && current == DocKind::ResidentId {
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

    #[test]
    fn an_id_is_at_full_length_at_18_characters_valid_or_not() {
        let k = DocKind::ResidentId;
        assert!(id_at_full_length(k, "110105194912310021"), "wrong check");
        assert!(id_at_full_length(k, "110105 19491231 002x"));
        assert!(!id_at_full_length(k, "11010519491231002"));
        assert!(id_over_full_length(k, "1101051949123100211"));
        assert!(!id_over_full_length(
            DocKind::Passport,
            "E123456789012345678"
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
        assert_eq!(kind_while_typing(HkMacaoPermit, "H1234"), HkMacaoPermit);
        // a resident ID typed with O for 0 goes back to the ID card once it is too long
        assert_eq!(kind_while_typing(Passport, "O42225199712010"), ResidentId);
        assert_eq!(kind_while_typing(ResidentId, ""), ResidentId);
    }
}
