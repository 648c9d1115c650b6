//! The office's members as export rows, for the export writers the laptop uses too (same
//! column table, same Chinese headers, same formula neutralisation): `booth server export`
//! (every record, every field, through a temp file renamed into place) and the console's
//! export of a filtered view (its own columns, streamed).

use chrono::{DateTime, NaiveDate};

use super::db::search::{CardStatus, ListRow, Review};
use super::db::{Db, MemberRow};
use crate::export::{ExportError, ExportRow, OFFICE_COPY, Profile, RecordSource};
use crate::member::{BoothEvent, validate};
use crate::protocol::WireRecord;

/// Pages through the server's records; `each` runs outside the runtime's async context.
pub struct ServerSource<'a> {
    pub db: &'a Db,
    pub rt: &'a tokio::runtime::Runtime,
}

const PAGE: i64 = 2_000;

impl RecordSource for ServerSource<'_> {
    fn for_each_record(
        &self,
        f: &mut dyn FnMut(ExportRow) -> Result<(), ExportError>,
    ) -> Result<(), ExportError> {
        let mut after = 0;
        loop {
            let page = self
                .rt
                .block_on(self.db.members_page(after, PAGE))
                .map_err(|e| ExportError::Source(e.to_string()))?;
            let Some((last, _)) = page.last() else {
                return Ok(());
            };
            after = *last;
            for (_, row) in page {
                f(member_row(&row)?)?;
            }
        }
    }
}

fn damaged(what: &str) -> ExportError {
    ExportError::Source(format!("server row: {what}"))
}

/// A member of `booth server export` (never an erased one).
fn member_row(row: &MemberRow) -> Result<ExportRow, ExportError> {
    let r = row;
    let parts = [&r.uuid, &r.member_no, &r.record, &r.device, &r.received_at];
    let row = export_row(Stored::of(parts, None), None, OFFICE_COPY.shows_id_facts())?;
    Ok(with_status(row, r.status, &r.status_reason))
}

/// The card's state at the office and its reason, on an export row.
fn with_status(row: ExportRow, status: CardStatus, reason: &str) -> ExportRow {
    ExportRow {
        status: Some(status),
        status_reason: (!reason.is_empty()).then(|| reason.to_string()),
        ..row
    }
}

/// A member of the console's list, with its review, for the columns of `profile`.
pub fn list_row(row: &ListRow, profile: &Profile) -> Result<ExportRow, ExportError> {
    let r = row;
    let parts = [&r.uuid, &r.member_no, &r.record, &r.device, &r.received_at];
    let stored = Stored::of(parts, Some(&r.event_date));
    let row = export_row(stored, Some(review_key(r.review)), profile.shows_id_facts())?;
    Ok(with_status(row, r.status, &r.status_reason))
}

/// The message key of a review state's label.
fn review_key(r: Review) -> &'static str {
    match r {
        Review::Pending => "console.review.pending",
        Review::Approved => "console.review.approved",
        Review::Questioned => "console.review.questioned",
    }
}

/// One member as the office's database holds it.
struct Stored<'a> {
    uuid: &'a str,
    member_no: &'a str,
    record: &'a str,
    device: &'a str,
    received_at: &'a str,
    /// The registration date's own column, where the query has it: an erased member's
    /// record no longer says.
    event_date: Option<&'a str>,
}

impl<'a> Stored<'a> {
    /// Uuid, member number, record, laptop and time received, as both queries give them.
    fn of(parts: [&'a String; 5], event_date: Option<&'a String>) -> Stored<'a> {
        let [uuid, member_no, record, device, received_at] = parts;
        Stored {
            uuid,
            member_no,
            record,
            device,
            received_at,
            event_date: event_date.map(String::as_str),
        }
    }
}

/// An erased member's record: what stays of it names nobody (see the console's erase).
fn is_erased(record: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(record)
        .is_ok_and(|v| v.get("erased") == Some(&serde_json::Value::Bool(true)))
}

/// A server row as an export row. The derived facts (gender, birth date, region) are worked
/// out again, when `facts` asks for them, by the same validation the record passed on the
/// way in. An erased member keeps its number, date, laptop and review, and nothing that
/// names the person.
fn export_row(
    s: Stored<'_>,
    review: Option<&'static str>,
    facts: bool,
) -> Result<ExportRow, ExportError> {
    let wire = match serde_json::from_str::<WireRecord>(s.record) {
        Ok(r) => Some(r),
        Err(_) if is_erased(s.record) => None,
        Err(_) => return Err(damaged("record")),
    };
    let event_date = match (s.event_date, &wire) {
        (Some(d), _) => d.parse::<NaiveDate>().map_err(|_| damaged("event_date"))?,
        (None, Some(r)) => r.event_date,
        (None, None) => return Err(damaged("record")),
    };
    let facts = wire.as_ref().filter(|_| facts).and_then(|r| {
        validate(&r.member.to_input(), r.event_date)
            .ok()
            .and_then(|v| v.facts)
    });
    let ts = |s: &str| DateTime::parse_from_rfc3339(s).map_err(|_| damaged("timestamp"));
    let (consent_at, created_at) = match &wire {
        Some(r) => (Some(ts(&r.consent_at)?), Some(ts(&r.created_at)?)),
        None => (None, None),
    };
    let event = wire.as_ref().map_or_else(
        || BoothEvent {
            union: String::new(),
            place: String::new(),
            operator: String::new(),
        },
        |r| BoothEvent {
            union: r.union.clone(),
            place: r.place.clone(),
            operator: r.operator.clone(),
        },
    );
    Ok(ExportRow {
        uuid: s.uuid.parse().map_err(|_| damaged("uuid"))?,
        member_no: s.member_no.parse().map_err(|_| damaged("member_no"))?,
        gender: facts.as_ref().map(|f| f.gender),
        birth_date: facts.as_ref().map(|f| f.birth_date),
        region: facts
            .as_ref()
            .and_then(|f| f.region.as_ref().map(|r| r.name.clone())),
        employment_form: wire
            .as_ref()
            .and_then(|r| r.member.details.employment_form.clone()),
        needs: wire
            .as_ref()
            .map(|r| r.member.details.needs.clone())
            .unwrap_or_default(),
        event,
        event_date,
        consent_at,
        created_at,
        updated_at: ts(s.received_at)?,
        state: None,
        state_reason: None,
        server_member_no: None,
        purged_at: None,
        device: Some(s.device.to_string()),
        review,
        status: None,
        status_reason: None,
        member: wire.map(|r| r.member),
    })
}
