//! The one table of exported columns, and the profiles that pick from it.
//!
//! Every column is written once: its key, how its value reads as text (CSV, and xlsx text
//! cells), the date or time it holds (xlsx writes those as date cells), and its width in a
//! spreadsheet. A [`Profile`] is an ordered choice of columns with the header each carries:
//!
//! - [`OFFICE_COPY`]: every field of the record (29 columns) — `booth export` on the laptop
//!   and `booth server export` at the office;
//! - [`CONSOLE_VIEW`]: the 14 columns of the console's member list, the card's state and
//!   reason, and its review state —
//!   the console's export of a filtered view.
//!
//! Which columns an export carries is a choice made here, in one place, for every writer.

use chrono::{DateTime, FixedOffset, NaiveDate};

use super::ExportRow;
use crate::i18n::Lang;
use crate::member::options::ListKind;
use crate::t;

/// A date, or a local time with its offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moment {
    Date(NaiveDate),
    Time(DateTime<FixedOffset>),
}

/// One exported column.
pub struct Column {
    /// Stable name (the JSON key and the English header's meaning).
    pub key: &'static str,
    /// The value as text, in the operator's language.
    pub value: fn(&ExportRow, Lang) -> String,
    /// For dates and times, the value itself (a real date cell in xlsx).
    pub moment: Option<fn(&ExportRow) -> Option<Moment>>,
    /// Width in a spreadsheet, in characters.
    pub width: u16,
}

/// A time as CSV writes it: local, with the offset.
pub fn local_time(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%:z").to_string()
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

/// Text, else another when it is empty.
trait OrElseEmpty {
    fn or_else_empty(self, other: &Option<String>) -> String;
}

impl OrElseEmpty for String {
    fn or_else_empty(self, other: &Option<String>) -> String {
        if self.is_empty() { opt(other) } else { self }
    }
}

/// A value of the record, or empty once the record was purged or erased.
fn of_member(m: &ExportRow, f: impl Fn(&crate::member::Member) -> String) -> String {
    m.member.as_ref().map(f).unwrap_or_default()
}

/// An optional detail of the record (None once purged or not asked).
fn of_detail(
    m: &ExportRow,
    f: impl Fn(&crate::member::Details) -> &Option<String>,
) -> Option<String> {
    m.member.as_ref().and_then(|x| f(&x.details).clone())
}

fn list_label(kind: ListKind, code: &Option<String>, lang: Lang) -> String {
    code.as_deref()
        .map(|c| kind.label(c, lang))
        .unwrap_or_default()
}

fn time_text(t: &Option<DateTime<FixedOffset>>) -> String {
    t.as_ref().map(local_time).unwrap_or_default()
}

fn needs_text(m: &ExportRow, l: Lang) -> String {
    let mut v: Vec<String> = m
        .needs
        .iter()
        .filter(|c| *c != "other")
        .map(|c| ListKind::Needs.label(c, l))
        .collect();
    if let Some(o) = m
        .member
        .as_ref()
        .and_then(|x| x.details.needs_other.clone())
    {
        v.push(o);
    }
    v.join(match l {
        Lang::Zh => "、",
        Lang::En => "; ",
    })
}

/// Every column any export writes.
pub const COLUMNS: &[Column] = &[
    Column {
        key: "member_no",
        value: |m, _| m.member_no.grouped(),
        moment: None,
        width: 16,
    },
    Column {
        key: "name",
        value: |m, _| of_member(m, |x| x.name.clone()),
        moment: None,
        width: 10,
    },
    Column {
        key: "gender",
        value: |m, l| m.gender.map(|g| g.label(l).to_string()).unwrap_or_default(),
        moment: None,
        width: 10,
    },
    Column {
        key: "birth_date",
        value: |m, _| m.birth_date.map(|d| d.to_string()).unwrap_or_default(),
        moment: Some(|m| m.birth_date.map(Moment::Date)),
        width: 12,
    },
    Column {
        key: "ethnicity",
        value: |m, l| list_label(ListKind::Ethnicity, &of_detail(m, |d| &d.ethnicity), l),
        moment: None,
        width: 10,
    },
    Column {
        key: "doc_type",
        value: |m, l| of_member(m, |x| x.document.kind.label(l).to_string()),
        moment: None,
        width: 10,
    },
    Column {
        key: "id_number",
        value: |m, _| of_member(m, |x| x.document.number.clone()),
        moment: None,
        width: 22,
    },
    Column {
        key: "phone",
        value: |m, _| of_member(m, |x| x.phone.clone()),
        moment: None,
        width: 16,
    },
    Column {
        key: "employer",
        value: |m, _| of_member(m, |x| x.employer.clone()),
        moment: None,
        width: 22,
    },
    Column {
        key: "employer_uscc",
        value: |m, _| of_member(m, |x| opt(&x.details.employer_uscc)),
        moment: None,
        width: 16,
    },
    Column {
        key: "political_status",
        value: |m, l| {
            list_label(
                ListKind::PoliticalStatus,
                &of_detail(m, |d| &d.political_status),
                l,
            )
        },
        moment: None,
        width: 10,
    },
    Column {
        key: "education",
        value: |m, l| list_label(ListKind::Education, &of_detail(m, |d| &d.education), l),
        moment: None,
        width: 10,
    },
    Column {
        key: "occupation",
        value: |m, _| of_member(m, |x| opt(&x.details.occupation)),
        moment: None,
        width: 10,
    },
    Column {
        key: "employment_form",
        value: |m, l| list_label(ListKind::EmploymentForm, &m.employment_form, l),
        moment: None,
        width: 10,
    },
    Column {
        key: "migrant_worker",
        value: |m, l| match m.member.as_ref().and_then(|x| x.details.migrant_worker) {
            Some(true) => t!(l, "common.yes").into(),
            Some(false) => t!(l, "common.no").into(),
            None => String::new(),
        },
        moment: None,
        width: 10,
    },
    Column {
        key: "needs",
        value: needs_text,
        moment: None,
        width: 22,
    },
    Column {
        key: "region",
        value: |m, _| opt(&m.region),
        moment: None,
        width: 22,
    },
    Column {
        key: "remarks",
        value: |m, _| of_member(m, |x| opt(&x.details.remarks)),
        moment: None,
        width: 22,
    },
    Column {
        key: "consent_at",
        value: |m, _| time_text(&m.consent_at),
        moment: Some(|m| m.consent_at.map(Moment::Time)),
        width: 26,
    },
    Column {
        key: "event_date",
        value: |m, _| m.event_date.to_string(),
        moment: Some(|m| Some(Moment::Date(m.event_date))),
        width: 12,
    },
    Column {
        key: "place",
        value: |m, _| m.event.place.clone(),
        moment: None,
        width: 10,
    },
    Column {
        key: "union",
        value: |m, _| m.event.union.clone(),
        moment: None,
        width: 10,
    },
    Column {
        key: "operator",
        value: |m, _| m.event.operator.clone(),
        moment: None,
        width: 10,
    },
    Column {
        key: "created_at",
        value: |m, _| time_text(&m.created_at),
        moment: Some(|m| m.created_at.map(Moment::Time)),
        width: 26,
    },
    // the laptop's queue state, or at the office the card's state: one word per state
    Column {
        key: "state",
        value: |m, l| match (m.state, m.status) {
            (Some(s), _) => s.label(l).to_string(),
            (None, Some(s)) => s.label(l).to_string(),
            (None, None) => String::new(),
        },
        moment: None,
        width: 10,
    },
    Column {
        key: "state_reason",
        value: |m, _| opt(&m.state_reason).or_else_empty(&m.status_reason),
        moment: None,
        width: 22,
    },
    Column {
        key: "server_member_no",
        value: |m, _| opt(&m.server_member_no),
        moment: None,
        width: 10,
    },
    Column {
        key: "device",
        value: |m, _| opt(&m.device),
        moment: None,
        width: 10,
    },
    Column {
        key: "uuid",
        value: |m, _| m.uuid.to_string(),
        moment: None,
        width: 22,
    },
    Column {
        key: "review",
        value: |m, l| {
            m.review
                .map(|k| crate::i18n::text(l, k).to_string())
                .unwrap_or_default()
        },
        moment: None,
        width: 10,
    },
];

/// An ordered choice of columns, each with the message key of its header, and the name of
/// the sheet they go on.
pub struct Profile {
    /// (column key, header message key)
    pub columns: &'static [(&'static str, &'static str)],
    /// The message key of the sheet's name (numbered when the rows need several sheets).
    pub sheet: &'static str,
}

/// Every field of the record: the laptop's export and `booth server export`.
pub const OFFICE_COPY: Profile = Profile {
    columns: &[
        ("member_no", "export.col.member_no"),
        ("name", "export.col.name"),
        ("gender", "export.col.gender"),
        ("birth_date", "export.col.birth_date"),
        ("ethnicity", "export.col.ethnicity"),
        ("doc_type", "export.col.doc_type"),
        ("id_number", "export.col.id_number"),
        ("phone", "export.col.phone"),
        ("employer", "export.col.employer"),
        ("employer_uscc", "export.col.employer_uscc"),
        ("political_status", "export.col.political_status"),
        ("education", "export.col.education"),
        ("occupation", "export.col.occupation"),
        ("employment_form", "export.col.employment_form"),
        ("migrant_worker", "export.col.migrant_worker"),
        ("needs", "export.col.needs"),
        ("region", "export.col.region"),
        ("remarks", "export.col.remarks"),
        ("consent_at", "export.col.consent_at"),
        ("event_date", "export.col.event_date"),
        ("place", "export.col.place"),
        ("union", "export.col.union"),
        ("operator", "export.col.operator"),
        ("created_at", "export.col.created_at"),
        ("state", "export.col.state"),
        ("state_reason", "export.col.state_reason"),
        ("server_member_no", "export.col.server_member_no"),
        ("device", "export.col.device"),
        ("uuid", "export.col.uuid"),
    ],
    sheet: "export.sheet_name",
};

/// The console's member list as a file: what the list shows, in full, and the review.
pub const CONSOLE_VIEW: Profile = Profile {
    columns: &[
        ("member_no", "console.col.member_no"),
        ("name", "field.name"),
        ("id_number", "field.id_number"),
        ("phone", "field.phone"),
        ("employer", "field.employer"),
        ("employer_uscc", "field.employer_uscc"),
        ("employment_form", "field.employment_form"),
        ("union", "console.col.union"),
        ("place", "console.col.place"),
        ("event_date", "console.col.date"),
        ("device", "console.col.device"),
        ("state", "console.col.status"),
        ("state_reason", "console.col.status_reason"),
        ("review", "console.col.review"),
    ],
    sheet: "console.export_sheet",
};

/// A column of a profile, ready to write: the column and its header text.
pub struct Chosen {
    pub column: &'static Column,
    pub header: &'static str,
}

impl Profile {
    /// The profile's columns in order, with their headers in `lang`.
    pub fn chosen(&self, lang: Lang) -> Vec<Chosen> {
        self.columns
            .iter()
            .filter_map(|(key, header)| {
                let column = COLUMNS.iter().find(|c| c.key == *key);
                // a profile naming no column is caught by the tests below
                debug_assert!(column.is_some(), "no column {key}");
                Some(Chosen {
                    column: column?,
                    header: crate::i18n::text(lang, header),
                })
            })
            .collect()
    }

    /// Whether the profile shows what the ID number says (gender, birth date, region): the
    /// office works it out again from the record, which costs a validation per row.
    pub fn shows_id_facts(&self) -> bool {
        self.keys()
            .any(|k| matches!(k, "gender" | "birth_date" | "region"))
    }

    /// The keys of the profile's columns, in order (for tests and docs).
    pub fn keys(&self) -> impl Iterator<Item = &'static str> {
        self.columns.iter().map(|(k, _)| *k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_names_real_columns_with_headers_in_both_languages() {
        for profile in [&OFFICE_COPY, &CONSOLE_VIEW] {
            for (key, header) in profile.columns {
                assert!(COLUMNS.iter().any(|c| c.key == *key), "no column {key}");
                for lang in Lang::ALL {
                    assert_ne!(
                        crate::i18n::text(lang, header),
                        *header,
                        "no header {header}"
                    );
                }
            }
            for lang in Lang::ALL {
                assert_ne!(crate::i18n::text(lang, profile.sheet), profile.sheet);
            }
        }
        assert_eq!(OFFICE_COPY.columns.len(), 29);
        assert!(OFFICE_COPY.shows_id_facts() && !CONSOLE_VIEW.shows_id_facts());
        assert_eq!(CONSOLE_VIEW.columns.len(), 14);
        let mut keys: Vec<_> = COLUMNS.iter().map(|c| c.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), COLUMNS.len(), "a column key twice");
    }
}
