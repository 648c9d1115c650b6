//! Identity documents: the resident identity card (GB 11643-1999), the residence permits for
//! Hong Kong, Macao and Taiwan residents, the 2023 foreign permanent resident ID card, and
//! passports.
//!
//! The first three share one 18-character layout and the ISO 7064 MOD 11-2 check character,
//! and are told apart by their prefix, so the operator never has to pick the right type for
//! them: a number starting 810000/820000/830000 is a residence permit, one starting with 9 a
//! foreign permanent resident ID.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::error::{Reason, Warning};
use super::region::{self, Region};
use super::text::{codepoint, fold_width, is_dash};
use crate::i18n::{self, Lang};

/// The minimum working age in the PRC Labour Law; younger people cannot join.
pub const MIN_AGE: u32 = 16;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// 居民身份证
    #[default]
    ResidentId,
    /// 港澳台居民居住证
    HmtPermit,
    /// 外国人永久居留身份证 (2023 layout)
    ForeignPermanent,
    /// 护照
    Passport,
}

impl DocKind {
    pub const ALL: [DocKind; 4] = [
        DocKind::ResidentId,
        DocKind::HmtPermit,
        DocKind::ForeignPermanent,
        DocKind::Passport,
    ];

    pub fn code(self) -> &'static str {
        match self {
            DocKind::ResidentId => "resident_id",
            DocKind::HmtPermit => "hmt_permit",
            DocKind::ForeignPermanent => "foreign_permanent",
            DocKind::Passport => "passport",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        i18n::text(lang, &format!("doc_kind.{}", self.code()))
    }

    /// Accepts the code or the Chinese or English name, as found in spreadsheets.
    pub fn parse(s: &str) -> Option<DocKind> {
        let s: String = s.trim().chars().map(fold_width).collect();
        let lower = s.to_lowercase();
        DocKind::ALL.into_iter().find(|k| {
            lower == k.code()
                || Lang::ALL
                    .iter()
                    .any(|&l| lower == k.label(l).to_lowercase())
                || match k {
                    DocKind::ResidentId => matches!(lower.as_str(), "身份证" | "id" | "id card"),
                    DocKind::HmtPermit => matches!(lower.as_str(), "居住证" | "港澳台居住证"),
                    DocKind::ForeignPermanent => matches!(lower.as_str(), "永居证" | "永久居留证"),
                    DocKind::Passport => false,
                }
        })
    }

    /// The kind of a number given without one: a passport if it starts with a letter (as the
    /// form decides too), otherwise the 18-character family, whose prefix tells the rest.
    pub fn unstated(raw_number: &str) -> DocKind {
        let starts_alpha = normalize_number(raw_number)
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic());
        if starts_alpha {
            DocKind::Passport
        } else {
            DocKind::ResidentId
        }
    }

    /// Resident IDs, permits and foreign PR IDs share one number space.
    pub fn is_id_family(self) -> bool {
        !matches!(self, DocKind::Passport)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        i18n::text(lang, &format!("gender.{}", self.code()))
    }

    pub fn parse(s: &str) -> Option<Gender> {
        match s {
            "male" => Some(Gender::Male),
            "female" => Some(Gender::Female),
            _ => None,
        }
    }
}

/// A validated document: its kind and its normalised number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub kind: DocKind,
    pub number: String,
}

impl Document {
    /// The key that identifies a person across registrations: the number itself for the
    /// 18-character family (their prefixes never overlap) and `P:`-prefixed for passports.
    pub fn person_key(&self) -> String {
        match self.kind {
            DocKind::Passport => format!("P:{}", self.number),
            _ => self.number.clone(),
        }
    }

    /// `1101**********123X`: enough to tell people apart at the booth, nothing more.
    pub fn masked(&self) -> String {
        mask_number(&self.number)
    }
}

/// Keep the first four and last four characters, star the rest.
pub fn mask_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < 4 || i >= n - 4 { *c } else { '*' })
        .collect()
}

/// What an ID number says about its holder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IdFacts {
    pub birth_date: NaiveDate,
    pub gender: Gender,
    /// Native region (resident IDs and permits); `None` for foreign PR IDs.
    pub region: Option<Region>,
}

/// A document that passed validation, what it says, and anything worth a warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedDocument {
    pub document: Document,
    pub facts: Option<IdFacts>,
    pub warnings: Vec<Warning>,
}

/// Full-width digits and letters folded, `x` upper-cased, spaces and dashes removed.
/// Idempotent, and leaves anything else for validation to name.
pub fn normalize_number(raw: &str) -> String {
    raw.chars()
        .map(fold_width)
        .filter(|&c| !(c.is_whitespace() || is_dash(c)))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// ISO 7064 MOD 11-2 check character over 17 ASCII digits.
pub fn check_char(body: &[u8]) -> char {
    debug_assert_eq!(body.len(), 17);
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize] as char
}

/// Validates a document number of the given kind, as of `today` (the registration date).
/// For the 18-character family the prefix decides the real kind, whatever was chosen.
pub fn parse_document(
    kind: DocKind,
    raw: &str,
    today: NaiveDate,
) -> Result<ParsedDocument, Reason> {
    let number = normalize_number(raw);
    if number.is_empty() {
        return Err(Reason::Required);
    }
    match kind {
        DocKind::Passport => parse_passport(number, today),
        _ => parse_id_family(number, today),
    }
}

fn parse_passport(number: String, today: NaiveDate) -> Result<ParsedDocument, Reason> {
    if let Some(c) = number.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Err(bad_char(c));
    }
    let n = number.len();
    if !(5..=20).contains(&n) {
        return Err(Reason::LengthRange {
            min: 5,
            max: 20,
            actual: n,
        });
    }
    if !number.bytes().any(|b| b.is_ascii_digit()) {
        return Err(Reason::BadShape);
    }
    // An ID number picked as "passport" by mistake would bypass the person check.
    if n == 18 && parse_id_family(number.clone(), today).is_ok() {
        return Err(Reason::WrongDocType);
    }
    Ok(ParsedDocument {
        document: Document {
            kind: DocKind::Passport,
            number,
        },
        facts: None,
        warnings: Vec::new(),
    })
}

fn bad_char(c: char) -> Reason {
    let what = if c.is_control() || super::text::is_hazardous(c) {
        codepoint(c)
    } else {
        format!("“{c}”")
    };
    Reason::BadChar { what }
}

fn parse_id_family(number: String, today: NaiveDate) -> Result<ParsedDocument, Reason> {
    let bytes = number.as_bytes();
    if number.len() == 15 && bytes.iter().all(u8::is_ascii_digit) {
        return Err(Reason::ObsoleteId15);
    }
    let n = number.chars().count();
    if n != 18 {
        return Err(Reason::Length {
            expected: 18,
            actual: n,
        });
    }
    if !bytes[..17].iter().all(u8::is_ascii_digit)
        || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
    {
        return Err(Reason::DigitsOnly);
    }
    if check_char(&bytes[..17]) != bytes[17] as char {
        return Err(Reason::CheckChar);
    }
    let kind = if bytes[0] == b'9' {
        DocKind::ForeignPermanent
    } else if matches!(&number[..6], "810000" | "820000" | "830000") {
        DocKind::HmtPermit
    } else {
        DocKind::ResidentId
    };
    let birth_date = NaiveDate::parse_from_str(&number[6..14], "%Y%m%d")
        .ok()
        .filter(|d| d.year() >= 1900)
        .ok_or(Reason::BadDate)?;
    let digit = |i: usize| u32::from(bytes[i] - b'0');
    let mut warnings = Vec::new();
    let region = match kind {
        DocKind::ForeignPermanent => {
            // 9 + province of the issuing office + nationality (GB/T 2659 numeric)
            let province = digit(1) * 10 + digit(2);
            if !province_ok(province) {
                return Err(Reason::UnknownProvince);
            }
            None
        }
        DocKind::HmtPermit => region::lookup(&number[..6], Some(birth_date.year() as u16)),
        _ => {
            let province = digit(0) * 10 + digit(1);
            if !province_ok(province) {
                return Err(Reason::UnknownProvince);
            }
            let region = region::lookup(&number[..6], Some(birth_date.year() as u16));
            if region.as_ref().is_some_and(|r| !r.county_known) {
                warnings.push(Warning::UnknownCounty);
            }
            region
        }
    };
    if birth_date > today {
        return Err(Reason::FutureBirth);
    }
    if age_on(birth_date, today) < MIN_AGE {
        return Err(Reason::TooYoung { min_age: MIN_AGE });
    }
    let gender = if digit(16) % 2 == 1 {
        Gender::Male
    } else {
        Gender::Female
    };
    Ok(ParsedDocument {
        document: Document { kind, number },
        facts: Some(IdFacts {
            birth_date,
            gender,
            region,
        }),
        warnings,
    })
}

/// Provinces of mainland China; 81–83 only appear as residence-permit prefixes.
fn province_ok(p: u32) -> bool {
    !(81..=83).contains(&p) && region::province_exists(p)
}

/// Completed years of age on `today` (a 29 February birthday comes round on 1 March).
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> u32 {
    let mut age = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age.max(0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    /// Appends the right check character to a 17-digit body.
    pub(crate) fn with_check(body: &str) -> String {
        format!("{body}{}", check_char(body.as_bytes()))
    }

    #[test]
    fn known_valid_ids() {
        // The example from GB 11643-1999 itself.
        let p = parse_document(DocKind::ResidentId, "11010519491231002X", today()).unwrap();
        assert_eq!(p.document.kind, DocKind::ResidentId);
        let f = p.facts.unwrap();
        assert_eq!(f.birth_date, NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(f.gender, Gender::Female);
        assert_eq!(f.region.unwrap().name, "北京市 朝阳区");
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn normalisation_of_typed_input() {
        let p = parse_document(
            DocKind::ResidentId,
            " １１０１０５-1949 1231 002ｘ ",
            today(),
        )
        .unwrap();
        assert_eq!(p.document.number, "11010519491231002X");
    }

    #[test]
    fn wrong_check_char() {
        assert_eq!(
            parse_document(DocKind::ResidentId, "110105194912310021", today()),
            Err(Reason::CheckChar)
        );
    }

    #[test]
    fn thirty_first_of_february() {
        let id = with_check("11010519900231001");
        assert_eq!(
            parse_document(DocKind::ResidentId, &id, today()),
            Err(Reason::BadDate)
        );
    }

    #[test]
    fn eleven_year_old_and_future_birth() {
        let id = with_check("11010520150101001");
        assert_eq!(
            parse_document(DocKind::ResidentId, &id, today()),
            Err(Reason::TooYoung { min_age: 16 })
        );
        let id = with_check("11010520300101001");
        assert_eq!(
            parse_document(DocKind::ResidentId, &id, today()),
            Err(Reason::FutureBirth)
        );
    }

    #[test]
    fn sixteenth_birthday_is_the_first_allowed_day() {
        let id = with_check("11010520101124001");
        assert!(parse_document(DocKind::ResidentId, &id, today()).is_ok());
        let id = with_check("11010520101125001");
        assert!(parse_document(DocKind::ResidentId, &id, today()).is_err());
    }

    #[test]
    fn unknown_province_rejected_unknown_county_warned() {
        let id = with_check("99010519800101001");
        // 9 is the foreign PR prefix: province 90 does not exist
        assert_eq!(
            parse_document(DocKind::ResidentId, &id, today()),
            Err(Reason::UnknownProvince)
        );
        let id = with_check("00010519800101001");
        assert_eq!(
            parse_document(DocKind::ResidentId, &id, today()),
            Err(Reason::UnknownProvince)
        );
        let id = with_check("11019919800101001");
        let p = parse_document(DocKind::ResidentId, &id, today()).unwrap();
        assert_eq!(p.warnings, vec![Warning::UnknownCounty]);
    }

    #[test]
    fn permits_and_foreign_ids_are_recognised_by_prefix() {
        let hk = with_check("81000019900101001");
        let p = parse_document(DocKind::ResidentId, &hk, today()).unwrap();
        assert_eq!(p.document.kind, DocKind::HmtPermit);
        assert_eq!(p.facts.unwrap().region.unwrap().name, "香港特别行政区");
        let fr = with_check("93115619850315002");
        let p = parse_document(DocKind::ResidentId, &fr, today()).unwrap();
        assert_eq!(p.document.kind, DocKind::ForeignPermanent);
        assert_eq!(p.facts.unwrap().gender, Gender::Female);
    }

    #[test]
    fn old_fifteen_digit_ids() {
        assert_eq!(
            parse_document(DocKind::ResidentId, "110105491231002", today()),
            Err(Reason::ObsoleteId15)
        );
    }

    #[test]
    fn passports() {
        let p = parse_document(DocKind::Passport, "e1234 5678", today()).unwrap();
        assert_eq!(p.document.number, "E12345678");
        assert_eq!(p.document.person_key(), "P:E12345678");
        assert!(matches!(
            parse_document(DocKind::Passport, "E12", today()),
            Err(Reason::LengthRange { .. })
        ));
        assert!(matches!(
            parse_document(DocKind::Passport, "E1234#678", today()),
            Err(Reason::BadChar { .. })
        ));
        assert_eq!(
            parse_document(DocKind::Passport, "11010519491231002X", today()),
            Err(Reason::WrongDocType)
        );
    }

    #[test]
    fn masking() {
        assert_eq!(mask_number("11010519491231002X"), "1101**********002X");
        assert_eq!(mask_number("E1234"), "*****");
    }

    #[test]
    fn doc_kind_names() {
        assert_eq!(DocKind::parse("居民身份证"), Some(DocKind::ResidentId));
        assert_eq!(DocKind::parse("身份证"), Some(DocKind::ResidentId));
        assert_eq!(DocKind::parse("Passport"), Some(DocKind::Passport));
        assert_eq!(DocKind::parse("护照"), Some(DocKind::Passport));
        assert_eq!(DocKind::parse("驾照"), None);
    }
}
