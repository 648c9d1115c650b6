//! Identity documents: the resident identity card (GB 11643-1999), the residence permits for
//! Hong Kong, Macao and Taiwan residents, the foreign permanent resident ID card (2023 and
//! older layouts), the mainland travel permits of Hong Kong/Macao and of Taiwan residents, and
//! passports (ICAO 9303).
//!
//! The resident ID, the residence permits and the 2023 foreign PR ID share one 18-character
//! layout and the ISO 7064 MOD 11-2 check character, and are told apart by their prefix, so
//! the operator never has to pick the right type for them: a number starting
//! 810000/820000/830000 is a residence permit, one starting with 9 a foreign PR ID.
//!
//! A passport is not a catch-all: ICAO 9303 numbers have at most nine letters and digits, so an
//! 18-character number with a letter in it is a mistyped resident ID and is refused as one.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::error::{Reason, Warning};
use super::region::{self, Region};
use super::text::{codepoint, fold_width, is_dash};
use crate::i18n::{self, Lang};

/// The minimum working age in the PRC Labour Law; younger people cannot join.
pub const MIN_AGE: u32 = 16;

/// ICAO 9303: a passport number has at most nine characters (letters and digits).
pub const PASSPORT_MAX: usize = 9;
/// Shorter than this is a fragment, not a passport number.
pub const PASSPORT_MIN: usize = 5;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// 居民身份证
    #[default]
    ResidentId,
    /// 港澳台居民居住证
    HmtPermit,
    /// 外国人永久居留身份证 (2023 layout, and the older 3 letters + 12 digits)
    ForeignPermanent,
    /// 护照
    Passport,
    /// 港澳居民来往内地通行证 (回乡证)
    HkMacaoPermit,
    /// 台湾居民来往大陆通行证 (台胞证)
    TaiwanPermit,
}

impl DocKind {
    pub const ALL: [DocKind; 6] = [
        DocKind::ResidentId,
        DocKind::HmtPermit,
        DocKind::ForeignPermanent,
        DocKind::Passport,
        DocKind::HkMacaoPermit,
        DocKind::TaiwanPermit,
    ];

    pub fn code(self) -> &'static str {
        match self {
            DocKind::ResidentId => "resident_id",
            DocKind::HmtPermit => "hmt_permit",
            DocKind::ForeignPermanent => "foreign_permanent",
            DocKind::Passport => "passport",
            DocKind::HkMacaoPermit => "hk_macao_permit",
            DocKind::TaiwanPermit => "taiwan_permit",
        }
    }

    pub fn from_code(code: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        i18n::text(lang, &format!("doc_kind.{}", self.code()))
    }

    /// Accepts the code, the Chinese or English name, or any wording offices use (see
    /// `assets/import/doc_types.toml`), as found in spreadsheets and on the command line.
    pub fn parse(s: &str) -> Option<DocKind> {
        StatedType::parse(s).map(|t| t.kind)
    }

    /// The kind of a number given without one (as the form decides too): a number that starts
    /// with a letter and fits a passport (at most nine characters) is a passport, three letters
    /// and twelve digits the older foreign PR ID; anything else belongs to the 18-character
    /// family, whose prefix tells the rest — and whose rule names a mistyped letter.
    pub fn unstated(raw_number: &str) -> DocKind {
        let n = normalize_number(raw_number);
        let starts_alpha = n.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        if is_old_foreign_permanent(&n) {
            DocKind::ForeignPermanent
        } else if starts_alpha && n.chars().count() <= PASSPORT_MAX {
            DocKind::Passport
        } else {
            DocKind::ResidentId
        }
    }

    /// Resident IDs, residence permits and foreign PR IDs share one number space.
    pub fn is_id_family(self) -> bool {
        matches!(
            self,
            DocKind::ResidentId | DocKind::HmtPermit | DocKind::ForeignPermanent
        )
    }
}

/// A wording that says more than its kind: which residence permit, or a Chinese passport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Narrower {
    /// 港澳居民居住证: the number begins 810000 or 820000.
    HkMacaoResidence,
    /// 台湾居民居住证: the number begins 830000.
    TaiwanResidence,
    /// 中国护照: E + 8 digits, E + a letter + 7 digits, or G + 8 digits.
    ChinesePassport,
}

impl Narrower {
    fn from_code(kind: DocKind, code: &str) -> Option<Narrower> {
        match (kind, code) {
            (DocKind::HmtPermit, "hk_macao") => Some(Narrower::HkMacaoResidence),
            (DocKind::HmtPermit, "taiwan") => Some(Narrower::TaiwanResidence),
            (DocKind::Passport, "chinese") => Some(Narrower::ChinesePassport),
            _ => None,
        }
    }
}

/// A document type as a roster states it: the kind, and what the wording narrows it to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StatedType {
    pub kind: DocKind,
    pub narrower: Option<Narrower>,
}

impl StatedType {
    /// The type a wording names (`居民身份证`, `台胞证`, `往来港澳通行证`, `Passport` …).
    pub fn parse(s: &str) -> Option<StatedType> {
        let key = wording_key(s);
        if key.is_empty() {
            return None;
        }
        if let Some(k) = DocKind::from_code(&key) {
            return Some(StatedType {
                kind: k,
                narrower: None,
            });
        }
        wordings().get(&key).copied()
    }

    /// The narrower rule of the wording, on a number that passed its kind's rule.
    pub fn check(&self, doc: &Document) -> Result<(), Reason> {
        let n = doc.number.as_str();
        match self.narrower {
            None => Ok(()),
            Some(Narrower::HkMacaoResidence) if !(n.starts_with("81") || n.starts_with("82")) => {
                Err(Reason::ResidencePermitPrefix { taiwan: false })
            }
            Some(Narrower::TaiwanResidence) if !n.starts_with("83") => {
                Err(Reason::ResidencePermitPrefix { taiwan: true })
            }
            Some(Narrower::ChinesePassport) if !is_chinese_passport(n) => {
                Err(Reason::ChinesePassportShape)
            }
            Some(_) => Ok(()),
        }
    }
}

/// A wording reduced to what tells it apart: width folded, lower case, no spaces, markers or
/// colons, nothing in brackets (`台湾居民来往大陆通行证（台胞证）` → `台湾居民来往大陆通行证`).
pub fn wording_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars().map(fold_width) {
        match c {
            '(' | '[' | '{' | '【' | '〔' | '〖' | '<' | '《' => depth += 1,
            ')' | ']' | '}' | '】' | '〕' | '〗' | '>' | '》' => {
                depth = depth.saturating_sub(1)
            }
            _ if depth > 0 || c.is_whitespace() => {}
            '*' | '※' | ':' | '：' => {}
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

#[derive(Deserialize)]
struct WordingEntry {
    #[serde(default)]
    wordings: Vec<String>,
    #[serde(default)]
    narrow: HashMap<String, WordingEntry>,
}

const DOC_TYPES: &str = include_str!("../../assets/import/doc_types.toml");

/// Every wording of `assets/import/doc_types.toml`, keyed by [`wording_key`].
fn wordings() -> &'static HashMap<String, StatedType> {
    static TABLE: OnceLock<HashMap<String, StatedType>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let parsed: HashMap<String, WordingEntry> =
            toml::from_str(DOC_TYPES).expect("assets/import/doc_types.toml is valid");
        let mut table = HashMap::new();
        // The names the program itself shows (form, exports) read back as themselves.
        for kind in DocKind::ALL {
            for lang in Lang::ALL {
                let stated = StatedType {
                    kind,
                    narrower: None,
                };
                table.insert(wording_key(kind.label(lang)), stated);
            }
        }
        for (code, entry) in parsed {
            let kind = DocKind::from_code(&code).expect("doc_types.toml: a table per DocKind code");
            for w in &entry.wordings {
                table.insert(
                    wording_key(w),
                    StatedType {
                        kind,
                        narrower: None,
                    },
                );
            }
            for (narrow, sub) in &entry.narrow {
                let narrower = Narrower::from_code(kind, narrow);
                assert!(
                    narrower.is_some(),
                    "doc_types.toml: unknown {code}.narrow.{narrow}"
                );
                for w in &sub.wordings {
                    table.insert(wording_key(w), StatedType { kind, narrower });
                }
            }
        }
        table
    })
}

/// Every wording of the table, for tests that check it.
pub fn all_wordings() -> Vec<(String, StatedType)> {
    let mut v: Vec<_> = wordings().iter().map(|(k, t)| (k.clone(), *t)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
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
    /// 18-character family (their prefixes never overlap), prefixed for the others. A travel
    /// permit keeps its holder's lifelong number across renewals, so only that part counts.
    pub fn person_key(&self) -> String {
        match self.kind {
            DocKind::Passport => format!("P:{}", self.number),
            DocKind::HkMacaoPermit => format!("HM:{}", prefix_chars(&self.number, 9)),
            DocKind::TaiwanPermit => format!("TW:{}", prefix_chars(&self.number, 8)),
            _ => self.number.clone(),
        }
    }

    /// `1101**********123X` for the 18-character family: enough to tell people apart at the
    /// booth, nothing more. Shorter numbers (passports, permits) show at most their first
    /// character and last two: `E******78`.
    pub fn masked(&self) -> String {
        if self.number.chars().count() == 18 {
            mask_number(&self.number)
        } else {
            mask_short(&self.number)
        }
    }
}

fn prefix_chars(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
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

/// Keep the first character and the last two, star the rest (all stars below six).
pub fn mask_short(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let n = chars.len();
    if n < 6 {
        return "*".repeat(n);
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i == 0 || i >= n - 2 { *c } else { '*' })
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
        DocKind::HkMacaoPermit => parse_hk_macao_permit(number),
        DocKind::TaiwanPermit => parse_taiwan_permit(number),
        DocKind::ForeignPermanent if is_old_foreign_permanent(&number) => {
            Ok(plain(DocKind::ForeignPermanent, number))
        }
        _ => parse_id_family(number, today),
    }
}

fn plain(kind: DocKind, number: String) -> ParsedDocument {
    ParsedDocument {
        document: Document { kind, number },
        facts: None,
        warnings: Vec::new(),
    }
}

/// The foreign PR ID before 2023: the holder's nationality (three letters, ISO 3166) and
/// twelve digits.
fn is_old_foreign_permanent(n: &str) -> bool {
    let b = n.as_bytes();
    b.len() == 15
        && b[..3].iter().all(u8::is_ascii_uppercase)
        && b[3..].iter().all(u8::is_ascii_digit)
}

/// E12345678, EA1234567 (2017 on), G12345678 (before 2012): ordinary Chinese passports.
fn is_chinese_passport(n: &str) -> bool {
    let b = n.as_bytes();
    b.len() == 9
        && match b[0] {
            b'E' => {
                (b[1].is_ascii_digit() || b[1].is_ascii_uppercase())
                    && b[2..].iter().all(u8::is_ascii_digit)
            }
            b'G' => b[1..].iter().all(u8::is_ascii_digit),
            _ => false,
        }
}

/// Where a number that should be all digits has a letter: the first such position (1-based).
fn letter_at(number: &str) -> Option<(usize, char)> {
    number
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_ascii_alphabetic())
        .map(|(i, c)| (i + 1, c))
}

/// An 18-character number with a letter where a resident ID has a digit: `O4222519…` (O for
/// 0), `I5230019…` (I for 1). Mostly digits, so not a passport (those have at most nine).
fn mistyped_resident_id(number: &str) -> Option<Reason> {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() != 18 || !chars.iter().all(char::is_ascii_alphanumeric) {
        return None;
    }
    let letters = chars[..17]
        .iter()
        .filter(|c| c.is_ascii_alphabetic())
        .count();
    if letters == 0 || letters > 3 {
        return None;
    }
    letter_at(&number[..17]).map(|(position, letter)| Reason::LetterInId { position, letter })
}

fn parse_passport(number: String, today: NaiveDate) -> Result<ParsedDocument, Reason> {
    if let Some(c) = number.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Err(bad_char(c));
    }
    let n = number.len();
    if n == 18 {
        // An ID number picked as "passport" by mistake would bypass the person check; one with
        // a letter in it is a mistyped ID, and says so.
        if parse_id_family(number.clone(), today).is_ok() {
            return Err(Reason::WrongDocType);
        }
        if let Some(r) = mistyped_resident_id(&number) {
            return Err(r);
        }
    }
    if !(PASSPORT_MIN..=PASSPORT_MAX).contains(&n) {
        return Err(Reason::LengthRange {
            min: PASSPORT_MIN,
            max: PASSPORT_MAX,
            actual: n,
        });
    }
    if !number.bytes().any(|b| b.is_ascii_digit()) {
        return Err(Reason::BadShape);
    }
    Ok(plain(DocKind::Passport, number))
}

/// H or M (Hong Kong, Macao) and the holder's eight-digit lifelong number; older permits add
/// two digits counting the issues. C… and W… are the permits mainland residents use to go to
/// Hong Kong and Macao (往来港澳通行证): such a holder registers with the resident ID.
fn parse_hk_macao_permit(number: String) -> Result<ParsedDocument, Reason> {
    if let Some(c) = number.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Err(bad_char(c));
    }
    let b = number.as_bytes();
    let digits_from = |i: usize| b.len() > i && b[i..].iter().all(u8::is_ascii_digit);
    let mainland = b.len() == 9
        && ((b[0] == b'C' && (digits_from(1) || (b[1].is_ascii_uppercase() && digits_from(2))))
            || (b[0] == b'W' && digits_from(1)));
    if mainland {
        return Err(Reason::MainlandExitPermit);
    }
    if matches!(b.first(), Some(b'H' | b'M')) && matches!(b.len(), 9 | 11) && digits_from(1) {
        return Ok(plain(DocKind::HkMacaoPermit, number));
    }
    Err(Reason::HkMacaoPermitShape)
}

/// The holder's eight-digit lifelong number (since 2008); older permits add two digits
/// counting the issues and, in brackets, the issuing office: `1234567801(B)`.
fn parse_taiwan_permit(number: String) -> Result<ParsedDocument, Reason> {
    let mut s: String = number
        .chars()
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c,
        })
        .collect();
    // The bracketed office code is printed, not part of the number.
    if s.len() == 13 && s.is_ascii() && s.ends_with(')') && s.as_bytes()[10] == b'(' {
        let office = s.as_bytes()[11];
        if office.is_ascii_alphanumeric() {
            s.truncate(10);
        }
    }
    if let Some(c) = s.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Err(bad_char(c));
    }
    if s.bytes().all(|b| b.is_ascii_digit()) && matches!(s.len(), 8 | 10) {
        return Ok(plain(DocKind::TaiwanPermit, s));
    }
    Err(Reason::TaiwanPermitShape)
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
    if number.is_ascii() {
        if let Some((position, letter)) = letter_at(&number[..17]) {
            return Err(Reason::LetterInId { position, letter });
        }
        if bytes[17].is_ascii_alphabetic() && bytes[17] != b'X' {
            return Err(Reason::LetterInId {
                position: 18,
                letter: bytes[17] as char,
            });
        }
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
        let doc = |kind, number: &str| Document {
            kind,
            number: number.into(),
        };
        // a passport shows at most its first letter and last two characters
        assert_eq!(doc(DocKind::Passport, "E12345678").masked(), "E******78");
        assert_eq!(doc(DocKind::Passport, "X1234").masked(), "*****");
        assert_eq!(
            doc(DocKind::HkMacaoPermit, "H1234567801").masked(),
            "H********01"
        );
        assert_eq!(doc(DocKind::TaiwanPermit, "12345678").masked(), "1*****78");
        assert_eq!(
            doc(DocKind::ResidentId, "11010519491231002X").masked(),
            "1101**********002X"
        );
    }

    #[test]
    fn mistyped_resident_ids_are_not_passports() {
        // O for 0, I for 1: a roster's 身份证号 typed with letters
        for (raw, position, letter) in [
            ("O42225199712010525", 1, 'O'),
            ("I52300198112103667", 1, 'I'),
            ("1101051949I231002X", 11, 'I'),
        ] {
            assert_eq!(DocKind::unstated(raw), DocKind::ResidentId, "{raw}");
            let want = Err(Reason::LetterInId { position, letter });
            assert_eq!(
                parse_document(DocKind::ResidentId, raw, today()),
                want,
                "{raw}"
            );
            // even when the row says passport, an 18-character ID with a letter is an ID
            assert_eq!(
                parse_document(DocKind::Passport, raw, today()),
                want,
                "{raw}"
            );
        }
        assert_eq!(
            parse_document(DocKind::ResidentId, "11010519491231002Y", today()),
            Err(Reason::LetterInId {
                position: 18,
                letter: 'Y'
            })
        );
        let msg = Reason::LetterInId {
            position: 1,
            letter: 'O',
        }
        .message(Lang::Zh);
        assert!(
            msg.starts_with("第1位是字母O，身份证号只有最后一位可以是X"),
            "{msg}"
        );
    }

    #[test]
    fn passports_follow_icao_9303() {
        for ok in [
            "E12345678",
            "EA1234567",
            "G12345678",
            "123456789",
            "C01X00T47",
            "K1234567",
        ] {
            let p = parse_document(DocKind::Passport, ok, today()).unwrap();
            assert_eq!(p.document.kind, DocKind::Passport, "{ok}");
        }
        // ten characters or more are not a passport number
        assert_eq!(
            parse_document(DocKind::Passport, "E123456789", today()),
            Err(Reason::LengthRange {
                min: 5,
                max: 9,
                actual: 10
            })
        );
        assert_eq!(DocKind::unstated("E12345678"), DocKind::Passport);
        assert_eq!(DocKind::unstated("ABCDEFGHIJ1"), DocKind::ResidentId);
    }

    #[test]
    fn travel_permits_of_hong_kong_macao_and_taiwan_residents() {
        let hm = |s| parse_document(DocKind::HkMacaoPermit, s, today());
        let p = hm("h1234 5678").unwrap();
        assert_eq!(p.document.number, "H12345678");
        assert_eq!(p.document.person_key(), "HM:H12345678");
        // the older form with the issue count: the same person
        assert_eq!(
            hm("H1234567802").unwrap().document.person_key(),
            "HM:H12345678"
        );
        assert!(hm("M87654321").is_ok());
        assert_eq!(hm("H1234567"), Err(Reason::HkMacaoPermitShape));
        assert_eq!(hm("E12345678"), Err(Reason::HkMacaoPermitShape));
        // 往来港澳通行证 of a mainland resident
        assert_eq!(hm("C12345678"), Err(Reason::MainlandExitPermit));
        assert_eq!(hm("CA1234567"), Err(Reason::MainlandExitPermit));
        assert_eq!(hm("W12345678"), Err(Reason::MainlandExitPermit));

        let tw = |s| parse_document(DocKind::TaiwanPermit, s, today());
        assert_eq!(tw("12345678").unwrap().document.person_key(), "TW:12345678");
        let old = tw("1234567801（B）").unwrap();
        assert_eq!(old.document.number, "1234567801");
        assert_eq!(old.document.person_key(), "TW:12345678");
        assert!(tw("1234567801(8)").is_ok());
        assert_eq!(tw("1234567"), Err(Reason::TaiwanPermitShape));
        assert_eq!(tw("T1234567"), Err(Reason::TaiwanPermitShape));
    }

    #[test]
    fn older_foreign_permanent_ids() {
        let p = parse_document(DocKind::ForeignPermanent, "USA110085031512", today()).unwrap();
        assert_eq!(p.document.kind, DocKind::ForeignPermanent);
        assert_eq!(p.document.person_key(), "USA110085031512");
        assert_eq!(
            DocKind::unstated("usa110085031512"),
            DocKind::ForeignPermanent
        );
    }

    #[test]
    fn roster_wordings() {
        let st = |s| StatedType::parse(s).map(|t| (t.kind, t.narrower));
        assert_eq!(st("居民身份证"), Some((DocKind::ResidentId, None)));
        assert_eq!(st(" 身份证 "), Some((DocKind::ResidentId, None)));
        assert_eq!(
            st("台湾居民居住证"),
            Some((DocKind::HmtPermit, Some(Narrower::TaiwanResidence)))
        );
        assert_eq!(
            st("港澳居民居住证"),
            Some((DocKind::HmtPermit, Some(Narrower::HkMacaoResidence)))
        );
        assert_eq!(st("往来港澳通行证"), Some((DocKind::HkMacaoPermit, None)));
        assert_eq!(
            st("港澳居民来往内地通行证"),
            Some((DocKind::HkMacaoPermit, None))
        );
        assert_eq!(
            st("台湾居民来往大陆通行证（台胞证）"),
            Some((DocKind::TaiwanPermit, None))
        );
        assert_eq!(st("台胞证"), Some((DocKind::TaiwanPermit, None)));
        assert_eq!(
            st("外国人永久居留身份证"),
            Some((DocKind::ForeignPermanent, None))
        );
        assert_eq!(
            st("中国护照"),
            Some((DocKind::Passport, Some(Narrower::ChinesePassport)))
        );
        assert_eq!(st("ＰＡＳＳＰＯＲＴ"), Some((DocKind::Passport, None)));
        assert_eq!(st("taiwan_permit"), Some((DocKind::TaiwanPermit, None)));
        assert_eq!(st("驾驶证"), None);
        assert_eq!(st(""), None);
        // every kind's own labels are wordings too
        for kind in DocKind::ALL {
            for lang in Lang::ALL {
                assert_eq!(
                    DocKind::parse(kind.label(lang)),
                    Some(kind),
                    "{}",
                    kind.label(lang)
                );
            }
        }
    }

    #[test]
    fn no_wording_is_listed_twice() {
        let parsed: HashMap<String, WordingEntry> = toml::from_str(DOC_TYPES).unwrap();
        let mut seen: HashMap<String, String> = HashMap::new();
        for (code, entry) in &parsed {
            let subs = entry.narrow.iter().map(|(n, e)| (format!("{code}.{n}"), e));
            for (place, e) in std::iter::once((code.clone(), entry)).chain(subs) {
                for w in &e.wordings {
                    if let Some(before) = seen.insert(wording_key(w), place.clone()) {
                        panic!("{w} is listed under {before} and {place}");
                    }
                }
            }
        }
    }

    #[test]
    fn narrower_wordings_check_the_number() {
        let tw = StatedType::parse("台湾居民居住证").unwrap();
        let hk_permit = parse_document(tw.kind, &with_check("81000019900101001"), today()).unwrap();
        assert_eq!(
            tw.check(&hk_permit.document),
            Err(Reason::ResidencePermitPrefix { taiwan: true })
        );
        let tw_permit = parse_document(tw.kind, &with_check("83000019900101001"), today()).unwrap();
        assert_eq!(tw.check(&tw_permit.document), Ok(()));
        let cn = StatedType::parse("中国护照").unwrap();
        let p = parse_document(cn.kind, "K12345678", today()).unwrap();
        assert_eq!(cn.check(&p.document), Err(Reason::ChinesePassportShape));
        let p = parse_document(cn.kind, "EB1234567", today()).unwrap();
        assert_eq!(cn.check(&p.document), Ok(()));
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
