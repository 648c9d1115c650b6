//! The part of a batch's processing that needs no database: envelope checks, the content
//! hash, and the shared validation (`member::validate`, with the record's own registration
//! date as "today"). What passes becomes a [`Candidate`] for the database to classify
//! (the batch's types are in `batch`, which the database names too).

use chrono::NaiveDate;

use super::batch::{Candidate, DayRow, Decision, Facets, SearchKeys};
use crate::card::MemberNo;
use crate::i18n::Lang;
use crate::member::options::ListKind;
use crate::member::state::PLACE_MAX_CHARS;
use crate::member::{BoothEvent, validate};
use crate::protocol::{
    BatchItem, DayRejected, DaySummary, ItemResult, MAX_DAY_COUNT, Status, WireError, WireRecord,
    canonical_json, content_hash,
};
use crate::t;

fn rejected(item: &BatchItem, errors: Vec<WireError>) -> ItemResult {
    ItemResult {
        uuid: item.uuid,
        status: Status::Rejected,
        member_no: None,
        errors,
    }
}

fn wire_error(field: &str, code: &str, message: String) -> WireError {
    WireError {
        field: field.into(),
        code: code.into(),
        message,
    }
}

/// A registration day the office can believe: not before the first booth release's cards
/// could be dated (2020), not after tomorrow of the office's clock (laptop clocks drift).
fn plausible_day(day: NaiveDate, today: NaiveDate) -> bool {
    let first = NaiveDate::from_ymd_opt(2020, 1, 1).expect("valid date");
    day >= first && day <= today + chrono::Days::new(1)
}

/// Checks one record; `Err` is its final answer. `today` is the office's date.
pub fn check(
    index: usize,
    item: &BatchItem,
    today: NaiveDate,
    lang: Lang,
) -> Result<Candidate, ItemResult> {
    let member_no: MemberNo = item.member_no.parse().map_err(|_| {
        rejected(
            item,
            vec![wire_error(
                "member_no",
                "bad_member_no",
                t!(lang, "server.bad_member_no").into(),
            )],
        )
    })?;
    let hash = content_hash(&item.record);
    if !hash.eq_ignore_ascii_case(&item.content_hash) {
        return Err(rejected(
            item,
            vec![wire_error(
                "content_hash",
                "hash_mismatch",
                t!(lang, "server.hash_mismatch").into(),
            )],
        ));
    }
    let record: WireRecord = serde_json::from_value(item.record.clone()).map_err(|e| {
        // serde's message names the missing or mistyped field; it echoes at most a value the
        // sender itself sent, and it is never logged.
        rejected(
            item,
            vec![wire_error(
                "record",
                "malformed",
                t!(lang, "server.malformed_record", why = e),
            )],
        )
    })?;
    let v = validate(&record.member.to_input(), record.event_date).map_err(|errs| {
        rejected(
            item,
            errs.iter()
                .map(|e| wire_error(e.field.code(), e.reason.code(), e.message(lang)))
                .collect(),
        )
    })?;
    let event = BoothEvent {
        union: record.union.clone(),
        place: record.place.clone(),
        operator: record.operator.clone(),
    }
    .checked()
    .map_err(|(field, reason)| {
        let message = reason.message(lang);
        rejected(item, vec![wire_error(field, reason.code(), message)])
    })?;
    for (field, at) in [
        ("consent_at", &record.consent_at),
        ("created_at", &record.created_at),
    ] {
        if chrono::DateTime::parse_from_rfc3339(at).is_err() || at.len() > 40 {
            return Err(rejected(
                item,
                vec![wire_error(
                    field,
                    "bad_time",
                    t!(lang, "server.bad_time").into(),
                )],
            ));
        }
    }
    if !plausible_day(record.event_date, today) {
        return Err(rejected(
            item,
            vec![wire_error(
                "event_date",
                "bad_date",
                t!(lang, "server.bad_event_date").into(),
            )],
        ));
    }
    // What is stored is what the laptop would have sent for this record: the validated,
    // tidied form, nothing more. Anything else (extra fields, untidy text) is not a booth's.
    let tidy = WireRecord {
        member: v.member.clone(),
        union: event.union.clone(),
        place: event.place.clone(),
        operator: event.operator,
        ..record.clone()
    };
    let canonical = serde_json::to_value(&tidy).unwrap_or_default();
    if canonical_json(&canonical) != canonical_json(&item.record) {
        return Err(rejected(
            item,
            vec![wire_error(
                "record",
                "not_canonical",
                t!(lang, "server.not_canonical").into(),
            )],
        ));
    }
    let keys = SearchKeys::of(&v.member, &event.union, &event.place);
    Ok(Candidate {
        keys,
        index,
        uuid: item.uuid.to_string(),
        member_no: member_no.as_str().to_string(),
        person_key: v.member.document.person_key(),
        content_hash: hash,
        record: serde_json::to_string(&item.record).unwrap_or_default(),
        event_date: record.event_date,
        facets: Facets::of(&tidy),
    })
}

/// Checks the day summaries of a request with the laptop's rules: the booth's fields as
/// `config set` holds them, a plausible date, counts within bounds, needs of the list and
/// no more than the consultations, one summary per day, union and place. Returns the rows
/// to store and the refused ones.
pub fn check_days(
    days: &[DaySummary],
    today: NaiveDate,
    lang: Lang,
) -> (Vec<DayRow>, Vec<DayRejected>) {
    let mut rows: Vec<DayRow> = Vec::new();
    let mut refused = Vec::new();
    for d in days {
        match check_day(d, today, lang) {
            Ok(row) => {
                let same =
                    |r: &DayRow| r.date == row.date && r.union == row.union && r.place == row.place;
                if rows.iter().any(same) {
                    refused.push(day_refused(
                        d,
                        wire_error(
                            "date",
                            "duplicate_day",
                            t!(lang, "server.duplicate_day").into(),
                        ),
                    ));
                } else {
                    rows.push(row);
                }
            }
            Err(e) => refused.push(day_refused(d, e)),
        }
    }
    (rows, refused)
}

fn day_refused(d: &DaySummary, error: WireError) -> DayRejected {
    DayRejected {
        date: d.date,
        // echoed for the laptop's log: only what it sent, made safe to show, cut short
        place: crate::member::text::display_safe(&d.place)
            .chars()
            .take(PLACE_MAX_CHARS)
            .collect(),
        errors: vec![error],
    }
}

fn check_day(d: &DaySummary, today: NaiveDate, lang: Lang) -> Result<DayRow, WireError> {
    let event = BoothEvent {
        union: d.union.clone(),
        place: d.place.clone(),
        operator: d.operator.clone(),
    }
    .checked()
    .map_err(|(field, reason)| wire_error(field, reason.code(), reason.message(lang)))?;
    if !plausible_day(d.date, today) {
        return Err(wire_error(
            "date",
            "bad_date",
            t!(lang, "server.bad_event_date").into(),
        ));
    }
    let too_many = |field: &str| {
        wire_error(
            field,
            "too_large",
            t!(lang, "server.day_count_too_large", max = MAX_DAY_COUNT),
        )
    };
    for (field, n) in [
        ("consultations", d.consultations),
        ("registrations", d.registrations),
        ("voids", d.voids),
    ] {
        if n > MAX_DAY_COUNT {
            return Err(too_many(field));
        }
    }
    for (code, &n) in &d.needs {
        if ListKind::Needs.by_code(code).is_none() {
            return Err(wire_error(
                "needs",
                "unknown_need",
                t!(lang, "server.unknown_need").into(),
            ));
        }
        if n > d.consultations {
            return Err(wire_error(
                "needs",
                "more_needs_than_consultations",
                t!(lang, "server.needs_over_consultations").into(),
            ));
        }
    }
    Ok(DayRow::checked(DaySummary {
        date: d.date,
        union: event.union,
        place: event.place,
        operator: event.operator,
        consultations: d.consultations,
        needs: d
            .needs
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(c, n)| (c.clone(), *n))
            .collect(),
        registrations: d.registrations,
        voids: d.voids,
    }))
}

/// The answer for a candidate once the database decided.
pub fn answer(uuid: &str, d: &Decision) -> ItemResult {
    let uuid = uuid.parse().unwrap_or_default();
    match d {
        Decision::Accepted => ItemResult {
            uuid,
            status: Status::Accepted,
            member_no: None,
            errors: vec![],
        },
        Decision::AlreadyThere => ItemResult {
            uuid,
            status: Status::AlreadyThere,
            member_no: None,
            errors: vec![],
        },
        Decision::Conflict => ItemResult {
            uuid,
            status: Status::Conflict,
            member_no: None,
            errors: vec![],
        },
        Decision::DuplicatePerson(no) => ItemResult {
            uuid,
            status: Status::DuplicatePerson,
            member_no: Some(no.clone()),
            errors: vec![],
        },
    }
}
