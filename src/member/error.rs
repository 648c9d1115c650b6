//! Why a value was refused: always a field and a reason, rendered in the operator's language.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::i18n::{self, Lang};
use crate::t;

/// The record's fields, as named in messages, JSON reports and spreadsheet columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    DocType,
    IdNumber,
    Phone,
    Employer,
    Consent,
    Ethnicity,
    PoliticalStatus,
    Education,
    Occupation,
    EmploymentForm,
    MigrantWorker,
    EmployerUscc,
    Needs,
    Remarks,
}

impl Field {
    pub const ALL: [Field; 15] = [
        Field::Name,
        Field::DocType,
        Field::IdNumber,
        Field::Phone,
        Field::Employer,
        Field::Consent,
        Field::Ethnicity,
        Field::PoliticalStatus,
        Field::Education,
        Field::Occupation,
        Field::EmploymentForm,
        Field::MigrantWorker,
        Field::EmployerUscc,
        Field::Needs,
        Field::Remarks,
    ];

    /// Stable machine name (JSON, CLI flags, English spreadsheet headers).
    pub fn code(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::DocType => "doc_type",
            Field::IdNumber => "id_number",
            Field::Phone => "phone",
            Field::Employer => "employer",
            Field::Consent => "consent",
            Field::Ethnicity => "ethnicity",
            Field::PoliticalStatus => "political_status",
            Field::Education => "education",
            Field::Occupation => "occupation",
            Field::EmploymentForm => "employment_form",
            Field::MigrantWorker => "migrant_worker",
            Field::EmployerUscc => "employer_uscc",
            Field::Needs => "needs",
            Field::Remarks => "remarks",
        }
    }

    /// The label an operator reads.
    pub fn label(self, lang: Lang) -> &'static str {
        i18n::text(lang, &format!("field.{}", self.code()))
    }
}

/// What is wrong with a value. Never carries the value itself: messages end up in logs,
/// terminals and reports, and the value may be an ID number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    Required,
    TooLong {
        max: usize,
    },
    /// A character that may not appear here; controls are named by code point, never echoed.
    BadChar {
        what: String,
    },
    /// Needs a letter at start and end, no doubled separators.
    BadShape,
    Length {
        expected: usize,
        actual: usize,
    },
    LengthRange {
        min: usize,
        max: usize,
        actual: usize,
    },
    /// The 15-digit IDs of before 1999, withdrawn in 2013.
    ObsoleteId15,
    DigitsOnly,
    CheckChar,
    BadDate,
    UnknownProvince,
    TooYoung {
        min_age: u32,
    },
    FutureBirth,
    /// The number belongs to another document type (a permit typed as a passport…).
    WrongDocType,
    PhonePrefix,
    NotInList,
    ConsentMissing,
    /// A number stored by Excel as a float has lost its last digits.
    ExcelNumber,
    /// A letter where a resident ID has a digit (`O` for 0, `I` for 1): position 1-based.
    LetterInId {
        position: usize,
        letter: char,
    },
    /// A mainland resident's permit to Hong Kong/Macao (C…, W…), not a document to join with.
    MainlandExitPermit,
    HkMacaoPermitShape,
    TaiwanPermitShape,
    ChinesePassportShape,
    /// The roster says which residence permit, and the number's prefix says another.
    ResidencePermitPrefix {
        taiwan: bool,
    },
    /// A phone with letters or signs in it.
    PhoneDigits,
    /// Eight digits without a country code: a Hong Kong or Macao number missing +852/+853.
    PhoneNeedsCountryCode,
    /// A country code other than +86, +852, +853.
    PhoneCountry,
    /// A Hong Kong (+852) or Macao (+853) number that is not a mobile number.
    HkMoMobilePrefix {
        code: u16,
    },
    /// A passport-like number in a column headed 身份证号, on a row that states no type.
    PassportInIdColumn,
}

impl Reason {
    /// Stable machine code for JSON reports.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Required => "required",
            Reason::TooLong { .. } => "too_long",
            Reason::BadChar { .. } => "bad_char",
            Reason::BadShape => "bad_shape",
            Reason::Length { .. } => "length",
            Reason::LengthRange { .. } => "length_range",
            Reason::ObsoleteId15 => "obsolete_id15",
            Reason::DigitsOnly => "digits_only",
            Reason::CheckChar => "check_char",
            Reason::BadDate => "bad_date",
            Reason::UnknownProvince => "unknown_province",
            Reason::TooYoung { .. } => "too_young",
            Reason::FutureBirth => "future_birth",
            Reason::WrongDocType => "wrong_doc_type",
            Reason::PhonePrefix => "phone_prefix",
            Reason::NotInList => "not_in_list",
            Reason::ConsentMissing => "consent_missing",
            Reason::ExcelNumber => "excel_number",
            Reason::LetterInId { .. } => "letter_in_id",
            Reason::MainlandExitPermit => "mainland_exit_permit",
            Reason::HkMacaoPermitShape => "hk_macao_permit_shape",
            Reason::TaiwanPermitShape => "taiwan_permit_shape",
            Reason::ChinesePassportShape => "chinese_passport_shape",
            Reason::ResidencePermitPrefix { .. } => "residence_permit_prefix",
            Reason::PhoneDigits => "phone_digits",
            Reason::PhoneNeedsCountryCode => "phone_needs_country_code",
            Reason::PhoneCountry => "phone_country",
            Reason::HkMoMobilePrefix { .. } => "hk_mo_mobile_prefix",
            Reason::PassportInIdColumn => "passport_in_id_column",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match self {
            Reason::Required => t!(lang, "reason.required").into(),
            Reason::TooLong { max } => t!(lang, "reason.too_long", max = max),
            Reason::BadChar { what } => t!(lang, "reason.bad_char", what = what),
            Reason::BadShape => t!(lang, "reason.bad_shape").into(),
            Reason::Length { expected, actual } => {
                t!(lang, "reason.length", expected = expected, actual = actual)
            }
            Reason::LengthRange { min, max, actual } => {
                t!(
                    lang,
                    "reason.length_range",
                    min = min,
                    max = max,
                    actual = actual
                )
            }
            Reason::ObsoleteId15 => t!(lang, "reason.obsolete_id15").into(),
            Reason::DigitsOnly => t!(lang, "reason.digits_only").into(),
            Reason::CheckChar => t!(lang, "reason.check_char").into(),
            Reason::BadDate => t!(lang, "reason.bad_date").into(),
            Reason::UnknownProvince => t!(lang, "reason.unknown_province").into(),
            Reason::TooYoung { min_age } => t!(lang, "reason.too_young", min_age = min_age),
            Reason::FutureBirth => t!(lang, "reason.future_birth").into(),
            Reason::WrongDocType => t!(lang, "reason.wrong_doc_type").into(),
            Reason::PhonePrefix => t!(lang, "reason.phone_prefix").into(),
            Reason::NotInList => t!(lang, "reason.not_in_list").into(),
            Reason::ConsentMissing => t!(lang, "reason.consent_missing").into(),
            Reason::ExcelNumber => t!(lang, "reason.excel_number").into(),
            Reason::LetterInId {
                position: 18,
                letter,
            } => t!(lang, "reason.letter_in_id_last", letter = letter),
            Reason::LetterInId { position, letter } => {
                t!(
                    lang,
                    "reason.letter_in_id",
                    position = position,
                    letter = letter
                )
            }
            Reason::MainlandExitPermit => t!(lang, "reason.mainland_exit_permit").into(),
            Reason::HkMacaoPermitShape => t!(lang, "reason.hk_macao_permit_shape").into(),
            Reason::TaiwanPermitShape => t!(lang, "reason.taiwan_permit_shape").into(),
            Reason::ChinesePassportShape => t!(lang, "reason.chinese_passport_shape").into(),
            Reason::ResidencePermitPrefix { taiwan: true } => {
                t!(lang, "reason.residence_permit_taiwan").into()
            }
            Reason::ResidencePermitPrefix { taiwan: false } => {
                t!(lang, "reason.residence_permit_hk_macao").into()
            }
            Reason::PhoneDigits => t!(lang, "reason.phone_digits").into(),
            Reason::PhoneNeedsCountryCode => t!(lang, "reason.phone_needs_country_code").into(),
            Reason::PhoneCountry => t!(lang, "reason.phone_country").into(),
            Reason::HkMoMobilePrefix { code } => {
                t!(lang, "reason.hk_mo_mobile_prefix", code = code)
            }
            Reason::PassportInIdColumn => t!(lang, "reason.passport_in_id_column").into(),
        }
    }
}

/// A refused value: which field, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: Field,
    pub reason: Reason,
}

impl FieldError {
    pub fn new(field: Field, reason: Reason) -> Self {
        FieldError { field, reason }
    }

    /// "身份证号：校验位不正确…" — the field label, then the reason.
    pub fn message(&self, lang: Lang) -> String {
        let sep = match lang {
            Lang::Zh => "：",
            Lang::En => ": ",
        };
        format!(
            "{}{sep}{}",
            self.field.label(lang),
            self.reason.message(lang)
        )
    }

    /// The JSON shape used by `register`, `import` and the server:
    /// `{"field": "id_number", "code": "check_char", "message": "…"}`.
    pub fn to_json(&self, lang: Lang) -> serde_json::Value {
        serde_json::json!({
            "field": self.field.code(),
            "code": self.reason.code(),
            "message": self.message(lang),
        })
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for FieldError {}

impl Serialize for FieldError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json(Lang::En).serialize(s)
    }
}

/// Something worth telling the operator that does not stop the registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// The county part of the ID is in no GB/T 2260 revision we ship; the province is known.
    UnknownCounty,
}

impl Warning {
    pub fn code(&self) -> &'static str {
        match self {
            Warning::UnknownCounty => "unknown_county",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match self {
            Warning::UnknownCounty => t!(lang, "warning.unknown_county").into(),
        }
    }
}
