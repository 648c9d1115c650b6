//! The member record: what is typed or imported ([`MemberInput`]), and what validation makes of
//! it ([`Member`]). [`validate`] is the one gate; the form, import, the command line and the
//! ingest server all call it, so a record means the same everywhere.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::document::{DocKind, Document, IdFacts, parse_document};
use super::error::{Field, FieldError, Reason, Warning};
use super::name::parse_name;
use super::options::ListKind;
use super::phone::parse_phone;
use super::text::{codepoint, first_hazard, tidy};
use super::uscc::parse_uscc;

/// Lengths of the free-text fields, in characters.
pub const MAX_EMPLOYER: usize = 100;
pub const MAX_OCCUPATION: usize = 50;
pub const MAX_REMARKS: usize = 500;

/// A registration as typed or imported: every field as text, nothing checked yet.
/// This is also the shape of a saved draft.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemberInput {
    pub name: String,
    pub doc_type: DocKind,
    pub id_number: String,
    pub phone: String,
    pub employer: String,
    pub consent: bool,
    pub ethnicity: String,
    pub political_status: String,
    pub education: String,
    pub occupation: String,
    pub employment_form: String,
    pub migrant_worker: String,
    pub employer_uscc: String,
    /// Codes or labels separated by `,`, `，`, `、` or `;`; anything not in the list is kept as
    /// free text under "other".
    pub needs: String,
    pub remarks: String,
}

impl MemberInput {
    /// True when nothing has been typed (an empty draft need not be kept).
    pub fn is_blank(&self) -> bool {
        *self
            == MemberInput {
                doc_type: self.doc_type,
                ..MemberInput::default()
            }
    }
}

/// The optional part of the record (SPEC §2), normalised: list fields hold codes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Details {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ethnicity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub political_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub education: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occupation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employment_form: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrant_worker: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employer_uscc: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs_other: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remarks: Option<String>,
}

/// A validated registration. Consent is implied: validation refuses a record without it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    pub document: Document,
    pub phone: String,
    pub employer: String,
    #[serde(flatten)]
    pub details: Details,
}

impl Member {
    /// The employer as the office counts enterprises (SPEC §8): by its unified social credit
    /// code when given, else by its name with all spaces removed and full-width characters
    /// folded. The prefix keeps a code and a name that happen to be equal apart.
    pub fn enterprise_key(&self) -> String {
        enterprise_key(&self.employer, self.details.employer_uscc.as_deref())
    }

    /// Back to text fields, so a stored record can be edited in the form or re-validated by
    /// the server with exactly the rules used at the booth.
    pub fn to_input(&self) -> MemberInput {
        let d = &self.details;
        let mut needs = d.needs.clone();
        if let Some(other) = &d.needs_other {
            needs.push(other.clone());
        }
        MemberInput {
            name: self.name.clone(),
            doc_type: self.document.kind,
            id_number: self.document.number.clone(),
            phone: self.phone.clone(),
            employer: self.employer.clone(),
            consent: true,
            ethnicity: d.ethnicity.clone().unwrap_or_default(),
            political_status: d.political_status.clone().unwrap_or_default(),
            education: d.education.clone().unwrap_or_default(),
            occupation: d.occupation.clone().unwrap_or_default(),
            employment_form: d.employment_form.clone().unwrap_or_default(),
            migrant_worker: match d.migrant_worker {
                Some(true) => "yes".into(),
                Some(false) => "no".into(),
                None => String::new(),
            },
            employer_uscc: d.employer_uscc.clone().unwrap_or_default(),
            needs: needs.join(","),
            remarks: d.remarks.clone().unwrap_or_default(),
        }
    }
}

/// A record that passed validation, the facts its ID number carries, and any warnings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validated {
    pub member: Member,
    pub facts: Option<IdFacts>,
    pub warnings: Vec<Warning>,
}

/// Checks every field and returns all the problems at once, so the operator fixes them in one
/// pass. `today` is the registration date (the age rule is about the day of joining).
pub fn validate(input: &MemberInput, today: NaiveDate) -> Result<Validated, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut check = |field: Field, r: Result<(), Reason>| {
        if let Err(reason) = r {
            errors.push(FieldError::new(field, reason));
        }
    };

    let name = parse_name(&input.name);
    check(Field::Name, name.as_ref().map(|_| ()).map_err(Clone::clone));
    let doc = parse_document(input.doc_type, &input.id_number, today);
    check(
        Field::IdNumber,
        doc.as_ref().map(|_| ()).map_err(Clone::clone),
    );
    let phone = parse_phone(&input.phone);
    check(
        Field::Phone,
        phone.as_ref().map(|_| ()).map_err(Clone::clone),
    );
    let employer = free_text(&input.employer, MAX_EMPLOYER, true);
    check(
        Field::Employer,
        employer.as_ref().map(|_| ()).map_err(Clone::clone),
    );
    check(
        Field::Consent,
        if input.consent {
            Ok(())
        } else {
            Err(Reason::ConsentMissing)
        },
    );

    let mut details = Details::default();
    let mut pick = |field: Field, kind: ListKind, raw: &str| -> Option<String> {
        if raw.trim().is_empty() {
            return None;
        }
        match kind.find(raw) {
            Some(c) => Some(c.code.clone()),
            None => {
                check(field, Err(Reason::NotInList));
                None
            }
        }
    };
    details.ethnicity = pick(Field::Ethnicity, ListKind::Ethnicity, &input.ethnicity);
    details.political_status = pick(
        Field::PoliticalStatus,
        ListKind::PoliticalStatus,
        &input.political_status,
    );
    details.education = pick(Field::Education, ListKind::Education, &input.education);
    details.employment_form = pick(
        Field::EmploymentForm,
        ListKind::EmploymentForm,
        &input.employment_form,
    );
    match free_text(&input.occupation, MAX_OCCUPATION, false) {
        Ok(s) => details.occupation = s,
        Err(r) => check(Field::Occupation, Err(r)),
    }
    match parse_yes_no(&input.migrant_worker) {
        Ok(v) => details.migrant_worker = v,
        Err(r) => check(Field::MigrantWorker, Err(r)),
    }
    if !input.employer_uscc.trim().is_empty() {
        match parse_uscc(&input.employer_uscc) {
            Ok(s) => details.employer_uscc = Some(s),
            Err(r) => check(Field::EmployerUscc, Err(r)),
        }
    }
    match parse_needs(&input.needs) {
        Ok((codes, other)) => {
            details.needs = codes;
            details.needs_other = other;
        }
        Err(r) => check(Field::Needs, Err(r)),
    }
    match free_text(&input.remarks, MAX_REMARKS, false) {
        Ok(s) => details.remarks = s,
        Err(r) => check(Field::Remarks, Err(r)),
    }

    if !errors.is_empty() {
        errors.sort_by_key(|e| e.field);
        return Err(errors);
    }
    let doc = doc.expect("no errors");
    Ok(Validated {
        member: Member {
            name: name.expect("no errors"),
            document: doc.document,
            phone: phone.expect("no errors"),
            employer: employer.expect("no errors").unwrap_or_default(),
            details,
        },
        facts: doc.facts,
        warnings: doc.warnings,
    })
}

/// See [`Member::enterprise_key`].
pub fn enterprise_key(employer: &str, uscc: Option<&str>) -> String {
    match uscc.map(super::uscc::normalize_uscc) {
        Some(code) if !code.is_empty() => format!("c:{code}"),
        _ => {
            let name: String = employer
                .chars()
                .map(super::text::fold_width)
                .filter(|c| !c.is_whitespace())
                .collect();
            format!("n:{name}")
        }
    }
}

/// Tidied text with no hazardous characters, at most `max` characters; `None` when empty.
pub fn free_text(raw: &str, max: usize, required: bool) -> Result<Option<String>, Reason> {
    if let Some(c) = first_hazard(raw) {
        return Err(Reason::BadChar { what: codepoint(c) });
    }
    let s = tidy(raw);
    if s.is_empty() {
        return if required {
            Err(Reason::Required)
        } else {
            Ok(None)
        };
    }
    if s.chars().count() > max {
        return Err(Reason::TooLong { max });
    }
    Ok(Some(s))
}

/// 是/否, yes/no, y/n, true/false, 1/0, √/×; empty is "not asked".
pub fn parse_yes_no(raw: &str) -> Result<Option<bool>, Reason> {
    let s = tidy(raw).to_lowercase();
    match s.as_str() {
        "" => Ok(None),
        "是" | "yes" | "y" | "true" | "1" | "√" | "✓" | "同意" => Ok(Some(true)),
        "否" | "no" | "n" | "false" | "0" | "×" | "x" | "不同意" => Ok(Some(false)),
        _ => Err(Reason::NotInList),
    }
}

/// Splits typed or imported needs into the list's codes (in order, no repeats) and the
/// free-text parts for "other". The one place that knows the separators: the form, import and
/// the server all split here.
pub fn split_needs(raw: &str) -> (Vec<String>, Vec<String>) {
    let mut codes: Vec<String> = Vec::new();
    let mut other: Vec<String> = Vec::new();
    for part in raw.split([',', '，', '、', ';', '；', '\n']) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        match ListKind::Needs.find(part) {
            Some(c) => {
                if !codes.contains(&c.code) {
                    codes.push(c.code.clone());
                }
            }
            None => other.push(part.to_string()),
        }
    }
    (codes, other)
}

/// Splits a needs cell into known codes and free text for "other".
fn parse_needs(raw: &str) -> Result<(Vec<String>, Option<String>), Reason> {
    let (mut codes, other) = split_needs(raw);
    let other = if other.is_empty() {
        None
    } else {
        if !codes.iter().any(|c| c == "other") {
            codes.push("other".into());
        }
        free_text(&other.join("、"), 100, false)?
    };
    Ok((codes, other))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    fn good() -> MemberInput {
        MemberInput {
            name: "葛婷婷".into(),
            id_number: "11010519491231002X".into(),
            phone: "13800138000".into(),
            employer: "某某快递有限公司".into(),
            consent: true,
            ..Default::default()
        }
    }

    #[test]
    fn enterprises_are_keyed_by_credit_code_else_by_the_folded_name() {
        let typed = |employer: &str, uscc: &str| {
            let input = MemberInput {
                employer: employer.into(),
                employer_uscc: uscc.into(),
                ..good()
            };
            validate(&input, today()).unwrap().member.enterprise_key()
        };
        // spaces (ideographic ones too) and full-width letters make no new enterprise
        assert_eq!(typed("京东 物流", ""), typed("京东物流", ""));
        assert_eq!(typed("京东\u{3000}物流", ""), typed("京东物流", ""));
        assert_eq!(typed("ＪＤ 物流（北京）", ""), typed("JD物流(北京)", ""));
        assert_ne!(typed("京东物流", ""), typed("顺丰速运", ""));
        // a credit code decides whatever the name says
        let code = "91350100M000100Y43";
        assert_eq!(typed("京东物流", code), typed("京东物流北京分公司", code));
        assert_eq!(typed("京东物流", code), format!("c:{code}"));
        assert_ne!(typed("京东物流", code), typed("京东物流", ""));
        // the raw function folds by itself, for callers with unvalidated text
        assert_eq!(enterprise_key(" ＡＢ c ", None), "n:ABc");
    }

    #[test]
    fn a_good_record_validates() {
        let v = validate(&good(), today()).unwrap();
        assert_eq!(v.member.name, "葛婷婷");
        assert_eq!(v.member.document.kind, DocKind::ResidentId);
        assert!(v.facts.is_some());
    }

    #[test]
    fn all_errors_come_back_at_once_naming_fields() {
        let input = MemberInput {
            name: "".into(),
            id_number: "110105194912310021".into(),
            phone: "12345".into(),
            employer: " ".into(),
            consent: false,
            ethnicity: "火星族".into(),
            ..Default::default()
        };
        let errs = validate(&input, today()).unwrap_err();
        let fields: Vec<Field> = errs.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            vec![
                Field::Name,
                Field::IdNumber,
                Field::Phone,
                Field::Employer,
                Field::Consent,
                Field::Ethnicity
            ]
        );
        let msg = errs[1].message(crate::i18n::Lang::Zh);
        assert!(msg.starts_with("证件号码："), "{msg}");
    }

    #[test]
    fn optional_fields_are_normalised_to_codes() {
        let input = MemberInput {
            ethnicity: "汉".into(),
            employment_form: "外卖配送员".into(),
            migrant_worker: "是".into(),
            needs: "法律援助、技能培训，夜校".into(),
            employer_uscc: "91110000802100433B".into(),
            ..good()
        };
        let v = validate(&input, today()).unwrap();
        let d = &v.member.details;
        assert_eq!(d.ethnicity.as_deref(), Some("01"));
        assert_eq!(d.employment_form.as_deref(), Some("food_delivery"));
        assert_eq!(d.migrant_worker, Some(true));
        assert_eq!(d.needs, vec!["legal_aid", "skills", "other"]);
        assert_eq!(d.needs_other.as_deref(), Some("夜校"));
    }

    #[test]
    fn round_trip_through_input_is_stable() {
        let input = MemberInput {
            ethnicity: "回族".into(),
            needs: "心理健康,夜校".into(),
            migrant_worker: "否".into(),
            ..good()
        };
        let v = validate(&input, today()).unwrap();
        let again = validate(&v.member.to_input(), today()).unwrap();
        assert_eq!(v.member, again.member);
    }

    #[test]
    fn escape_sequences_in_free_text_are_refused() {
        let input = MemberInput {
            employer: "某公司\u{1b}]0;pwned\u{7}".into(),
            remarks: "ok\u{202e}".into(),
            ..good()
        };
        let errs = validate(&input, today()).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert!(
            errs.iter()
                .all(|e| matches!(e.reason, Reason::BadChar { .. }))
        );
    }

    #[test]
    fn blank_input() {
        assert!(MemberInput::default().is_blank());
        assert!(
            MemberInput {
                doc_type: DocKind::Passport,
                ..Default::default()
            }
            .is_blank()
        );
        assert!(!good().is_blank());
    }
}
