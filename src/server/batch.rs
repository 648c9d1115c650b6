//! What one batch becomes on its way from the checks (`ingest`) to the database (`db`): the
//! records that passed ([`Candidate`], with their [`Facets`] and [`SearchKeys`]), the day
//! summaries that passed ([`DayRow`]) and what the database decided ([`Decision`]). Both sides
//! name these types here, so neither imports the other.

use chrono::NaiveDate;

use crate::member::Member;
use crate::member::text::fold_width;
use crate::protocol::{DaySummary, WireRecord};

/// A record that passed every check the database is not needed for.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// Its position in the batch (answers keep the request's order).
    pub index: usize,
    pub uuid: String,
    pub member_no: String,
    /// `Document::person_key()` of the validated document: one row per person.
    pub person_key: String,
    pub content_hash: String,
    /// The record as the laptop sent it (the hash covers its canonical form).
    pub record: String,
    pub event_date: NaiveDate,
    /// What the office's figures count of it (kept up to date at ingest).
    pub facets: Facets,
    /// What the console finds the record by (db::search).
    pub keys: SearchKeys,
}

/// A record as the office's figures see it (SPEC §8): where and when, booth sign-up or
/// import, employment form, needs and enterprise. No personal data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facets {
    pub union: String,
    pub place: String,
    pub imported: bool,
    /// Employment-form code, "" when not asked.
    pub employment_form: String,
    /// Need codes of the list.
    pub needs: Vec<String>,
    /// `Member::enterprise_key`.
    pub enterprise: String,
}

impl Facets {
    /// The facets of a record the laptop sent (already checked).
    pub fn of(record: &WireRecord) -> Facets {
        let d = &record.member.details;
        Facets {
            union: record.union.clone(),
            place: record.place.clone(),
            imported: record.imported,
            employment_form: d.employment_form.clone().unwrap_or_default(),
            needs: d.needs.clone(),
            enterprise: record.member.enterprise_key(),
        }
    }
}

/// The searchable form of a text: full-width folded, spaces removed, ASCII lower-cased.
/// The same function makes the keys at ingest and reads the query, so they always agree.
pub fn fold(s: &str) -> String {
    s.chars()
        .map(fold_width)
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// What ingest stores beside a record for the console to find it by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchKeys {
    pub name: String,
    pub phone_tail: String,
    pub employer: String,
    pub union: String,
    pub place: String,
    pub form: Option<String>,
}

impl SearchKeys {
    pub fn of(member: &Member, union: &str, place: &str) -> SearchKeys {
        let digits: Vec<char> = member.phone.chars().filter(char::is_ascii_digit).collect();
        let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
        SearchKeys {
            name: fold(&member.name),
            phone_tail: tail,
            employer: fold(&member.employer),
            union: union.to_string(),
            place: place.to_string(),
            form: member.details.employment_form.clone(),
        }
    }
}

/// A day summary that passed the laptop's rules, tidied as the laptop tidies: only
/// `ingest::check_days` makes one, so the database stores nothing else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayRow(DaySummary);

impl DayRow {
    /// For `ingest::check_days` alone, once the summary passed (the reason this is not `pub`).
    pub(in crate::server) fn checked(d: DaySummary) -> DayRow {
        DayRow(d)
    }
}

impl std::ops::Deref for DayRow {
    type Target = DaySummary;

    fn deref(&self) -> &DaySummary {
        &self.0
    }
}

/// What the database decided for a candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Accepted,
    AlreadyThere,
    Conflict,
    /// The member number the office already has for this person.
    DuplicatePerson(String),
}
