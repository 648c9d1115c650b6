//! `booth server export`: the office's copy of all records, through the same export writers
//! as the laptop (same Chinese headers, same formula neutralisation, same
//! temp-file-and-rename), from rows of its own.

use chrono::DateTime;

use super::db::{Db, MemberRow};
use crate::export::{ExportError, ExportRow, RecordSource};
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
                f(export_row(&row)?)?;
            }
        }
    }
}

fn damaged(what: &str) -> ExportError {
    ExportError::Source(format!("server row: {what}"))
}

/// A server row as an export row. The derived facts (gender, birth date, region) are worked
/// out again by the same validation the record passed on the way in.
fn export_row(row: &MemberRow) -> Result<ExportRow, ExportError> {
    let r: WireRecord = serde_json::from_str(&row.record).map_err(|_| damaged("record"))?;
    let facts = validate(&r.member.to_input(), r.event_date)
        .ok()
        .and_then(|v| v.facts);
    let ts = |s: &str| DateTime::parse_from_rfc3339(s).map_err(|_| damaged("timestamp"));
    Ok(ExportRow {
        uuid: row.uuid.parse().map_err(|_| damaged("uuid"))?,
        member_no: row.member_no.parse().map_err(|_| damaged("member_no"))?,
        gender: facts.as_ref().map(|f| f.gender),
        birth_date: facts.as_ref().map(|f| f.birth_date),
        region: facts
            .as_ref()
            .and_then(|f| f.region.as_ref().map(|r| r.name.clone())),
        employment_form: r.member.details.employment_form.clone(),
        needs: r.member.details.needs.clone(),
        event: BoothEvent {
            union: r.union.clone(),
            place: r.place.clone(),
            operator: r.operator.clone(),
        },
        event_date: r.event_date,
        consent_at: ts(&r.consent_at)?,
        created_at: ts(&r.created_at)?,
        updated_at: ts(&row.received_at)?,
        state: None,
        state_reason: None,
        server_member_no: None,
        purged_at: None,
        device: Some(row.device.clone()),
        member: Some(r.member),
    })
}
