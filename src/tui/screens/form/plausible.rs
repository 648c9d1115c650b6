//! Plausibility warnings ("guidance hints", as ODK Collect calls them): a value that is valid
//! but looks like a habit gone wrong — the phone's digits in the employer, a Latin letter
//! typed into a Chinese name by an input method left in English, a name cut to one character.
//! They are shown beside the field and said in the status line when the cursor leaves it; they
//! never block a submit (a one-character name exists; a company may be called by digits).

use crate::i18n::Lang;
use crate::member::Field;
use crate::member::phone::parse_phone;
use crate::member::text::{fold_width, is_han};
use crate::t;

/// Why a value looks wrong although it is valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doubt {
    /// Nothing but digits (and spaces, dashes): a phone number or an ID in the wrong field.
    EmployerDigits,
    /// Begins with a mobile number: the phone's digits ran into the employer.
    EmployerStartsWithPhone,
    /// Latin letters among Chinese characters: an input method left in English mid-name.
    NameMixesScripts,
    /// One character: a name cut short (a surname alone).
    NameOneChar,
}

impl Doubt {
    pub fn message(self, lang: Lang) -> &'static str {
        match self {
            Doubt::EmployerDigits => t!(lang, "form.doubt.employer_digits"),
            Doubt::EmployerStartsWithPhone => t!(lang, "form.doubt.employer_phone"),
            Doubt::NameMixesScripts => t!(lang, "form.doubt.name_mixed"),
            Doubt::NameOneChar => t!(lang, "form.doubt.name_one_char"),
        }
    }
}

/// What looks wrong with `text` in `field`, if anything.
pub fn doubt(field: Field, text: &str) -> Option<Doubt> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match field {
        Field::Employer => employer(text),
        Field::Name => name(text),
        _ => None,
    }
}

fn employer(text: &str) -> Option<Doubt> {
    let compact: String = text
        .chars()
        .map(fold_width)
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '—' | '+' | '(' | ')'))
        .collect();
    if compact.chars().all(|c| c.is_ascii_digit()) {
        return Some(Doubt::EmployerDigits);
    }
    // the first eleven digits (spaces and dashes aside) are a mobile number
    let head: String = compact
        .chars()
        .take_while(char::is_ascii_digit)
        .take(11)
        .collect();
    (head.len() == 11 && parse_phone(&head).is_ok()).then_some(Doubt::EmployerStartsWithPhone)
}

fn name(text: &str) -> Option<Doubt> {
    let chars: Vec<char> = text.chars().map(fold_width).collect();
    let han = chars.iter().any(|&c| is_han(c));
    let latin = chars.iter().any(char::is_ascii_alphabetic);
    if han && latin {
        Some(Doubt::NameMixesScripts)
    } else if chars.len() == 1 {
        Some(Doubt::NameOneChar)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn employers_that_look_like_a_phone_or_digits() {
        let e = |s| doubt(Field::Employer, s);
        assert_eq!(e("13600001111"), Some(Doubt::EmployerDigits));
        assert_eq!(e("010-6512 3456"), Some(Doubt::EmployerDigits));
        assert_eq!(
            e("13600001111美团外卖望京站"),
            Some(Doubt::EmployerStartsWithPhone)
        );
        assert_eq!(
            e("136 0000 1111 美团"),
            Some(Doubt::EmployerStartsWithPhone)
        );
        assert_eq!(e("美团外卖望京站"), None);
        assert_eq!(e("58同城"), None, "a name with digits in it");
        assert_eq!(e("12345678901公司"), None, "not a mobile prefix");
        assert_eq!(e(""), None);
    }

    #[test]
    fn names_mixing_scripts_or_of_one_character() {
        let n = |s| doubt(Field::Name, s);
        assert_eq!(n("张w伟"), Some(Doubt::NameMixesScripts));
        assert_eq!(n("ｚ张伟"), Some(Doubt::NameMixesScripts), "full-width too");
        assert_eq!(n("张"), Some(Doubt::NameOneChar));
        assert_eq!(n("张伟"), None);
        assert_eq!(n("买买提·吐尔逊"), None);
        assert_eq!(n("JOHN SMITH"), None);
        assert_eq!(doubt(Field::Phone, "张"), None, "only name and employer");
    }

    #[test]
    fn every_doubt_is_said_in_both_languages() {
        for d in [
            Doubt::EmployerDigits,
            Doubt::EmployerStartsWithPhone,
            Doubt::NameMixesScripts,
            Doubt::NameOneChar,
        ] {
            assert_ne!(d.message(Lang::Zh), d.message(Lang::En));
        }
    }
}
