//! A stored member row and the record it holds: the one mapping from a row to a
//! [`StoredMember`], the one look-up by member number, the look-up by person hash, and the
//! columns a validated record fills (one place for insert and update).

use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, OptionalExtension, Row, ToSql};

use super::{Existing, StoredFacts, StoredMember};
use crate::card::MemberNo;
use crate::member::{BoothEvent, Gender, State, Validated};
use crate::store::{StoreError, parse_timestamp};

/// The columns [`from_row`] reads, in its order (a macro so the statements below are
/// literals, built once at compile time).
macro_rules! member_columns {
    () => {
        "id, uuid, member_no, record, gender, birth_date, region, employment_form, needs,
        union_name, place, operator, event_date, consent_at, created_at, updated_at, state,
        state_reason, server_member_no, purged_at, imported"
    };
}

pub(crate) const COLUMNS: &str = member_columns!();

/// The one look-up of a record by its member number.
const BY_NUMBER: &str = concat!(
    "SELECT ",
    member_columns!(),
    " FROM members WHERE member_no = ?1"
);

/// A record by member number, on any connection or inside an open transaction.
pub(crate) fn by_number(
    conn: &Connection,
    member_no: &MemberNo,
) -> Result<Option<StoredMember>, StoreError> {
    Ok(conn
        .prepare_cached(BY_NUMBER)?
        .query_row([member_no.as_str()], from_row)
        .optional()?)
}

pub(super) fn bad(what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("bad {what}").into(),
    )
}

pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<StoredMember> {
    let ts = |i: usize| -> rusqlite::Result<DateTime<FixedOffset>> {
        parse_timestamp(&r.get::<_, String>(i)?).ok_or_else(|| bad("timestamp"))
    };
    let record: Option<String> = r.get(3)?;
    let member = match record {
        Some(json) => Some(serde_json::from_str(&json).map_err(|_| bad("record"))?),
        None => None,
    };
    let needs: String = r.get(8)?;
    Ok(StoredMember {
        id: r.get(0)?,
        uuid: r.get::<_, String>(1)?.parse().map_err(|_| bad("uuid"))?,
        member_no: r
            .get::<_, String>(2)?
            .parse()
            .map_err(|_| bad("member number"))?,
        member,
        facts: StoredFacts {
            gender: r
                .get::<_, Option<String>>(4)?
                .and_then(|g| Gender::parse(&g)),
            birth_date: r.get::<_, Option<String>>(5)?.and_then(|d| d.parse().ok()),
            region: r.get(6)?,
        },
        employment_form: r.get(7)?,
        needs: needs
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        event: BoothEvent {
            union: r.get(9)?,
            place: r.get(10)?,
            operator: r.get(11)?,
        },
        event_date: r
            .get::<_, String>(12)?
            .parse()
            .map_err(|_| bad("event date"))?,
        consent_at: ts(13)?,
        created_at: ts(14)?,
        updated_at: ts(15)?,
        state: State::parse(&r.get::<_, String>(16)?).ok_or_else(|| bad("state"))?,
        state_reason: r.get(17)?,
        server_member_no: r.get(18)?,
        purged_at: r
            .get::<_, Option<String>>(19)?
            .and_then(|s| parse_timestamp(&s)),
        imported: r.get(20)?,
    })
}

pub(super) fn find_by_hash(
    conn: &Connection,
    hash: &[u8; 32],
) -> rusqlite::Result<Option<Existing>> {
    conn.prepare_cached(
        "SELECT member_no, name, created_at, state FROM members WHERE person_hash = ?1",
    )?
    .query_row([hash.as_slice()], |r| {
        Ok(Existing {
            member_no: r
                .get::<_, String>(0)?
                .parse()
                .map_err(|_| bad("member number"))?,
            name: r.get(1)?,
            created_at: parse_timestamp(&r.get::<_, String>(2)?).ok_or_else(|| bad("timestamp"))?,
            state: State::parse(&r.get::<_, String>(3)?).ok_or_else(|| bad("state"))?,
        })
    })
    .optional()
}

/// The columns a validated record fills besides its identity: the record JSON and what is kept
/// apart from it for search and figures. One place for insert and update.
pub(super) struct RecordColumns {
    pub doc_kind: &'static str,
    pub record: String,
    pub name: String,
    pub phone_tail: String,
    pub gender: Option<&'static str>,
    pub birth_date: Option<String>,
    pub region: Option<String>,
    pub employment_form: Option<String>,
    pub needs: String,
}

impl RecordColumns {
    pub fn of(v: &Validated) -> Result<RecordColumns, StoreError> {
        let m = &v.member;
        let facts = v.facts.as_ref();
        Ok(RecordColumns {
            doc_kind: m.document.kind.code(),
            record: serde_json::to_string(m).map_err(|e| StoreError::Damaged(e.to_string()))?,
            name: m.name.clone(),
            phone_tail: m.phone[m.phone.len().saturating_sub(4)..].to_string(),
            gender: facts.map(|f| f.gender.code()),
            birth_date: facts.map(|f| f.birth_date.to_string()),
            region: facts.and_then(|f| f.region.as_ref().map(|r| r.name.clone())),
            employment_form: m.details.employment_form.clone(),
            needs: m.details.needs.join(","),
        })
    }

    /// The columns in the order both statements bind them (`?4`…`?12` on insert, `?3`…`?11`
    /// on update).
    pub fn values(&self) -> [&dyn ToSql; 9] {
        [
            &self.doc_kind,
            &self.record,
            &self.name,
            &self.phone_tail,
            &self.gender,
            &self.birth_date,
            &self.region,
            &self.employment_form,
            &self.needs,
        ]
    }
}
