//! Changing a record that has not reached the office: its content replaced (the edit screen,
//! a rejected record fixed), or voided (registered by mistake). Uploaded records never change
//! here.

use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, ToSql, params};

use super::register::{person_hash, write_transaction};
use super::row::{RecordColumns, by_number, find_by_hash};
use super::{RegisterError, StoredMember};
use crate::card::MemberNo;
use crate::member::Validated;
use crate::store::{Store, StoreError, timestamp};

/// The record, if it may still change ([`StoredMember::may_edit`]).
fn editable(conn: &Connection, member_no: &MemberNo) -> Result<StoredMember, StoreError> {
    let current = by_number(conn, member_no)?.ok_or(StoreError::NotFound)?;
    if !current.may_edit() {
        return Err(StoreError::WrongState(current.state));
    }
    Ok(current)
}

impl Store {
    /// Replaces a record's content (the edit screen, or fixing a rejected record). Only
    /// records not yet at the office can change; a rejected record goes back to the queue.
    pub fn update(
        &mut self,
        member_no: &MemberNo,
        v: &Validated,
        now: &DateTime<FixedOffset>,
    ) -> Result<StoredMember, RegisterError> {
        let tx = write_transaction(&mut self.conn)?;
        editable(&tx, member_no)?;
        let hash = person_hash(&self.device.pepper, &v.member.document);
        if let Some(existing) = find_by_hash(&tx, &hash)?
            && existing.member_no != *member_no
        {
            return Err(RegisterError::Duplicate(Box::new(existing)));
        }
        let c = RecordColumns::of(v)?;
        let now = timestamp(now);
        let head: [&dyn ToSql; 2] = [&member_no.as_str(), &hash.as_slice()];
        let values: Vec<&dyn ToSql> = head
            .into_iter()
            .chain(c.values())
            .chain([&now as &dyn ToSql])
            .collect();
        tx.execute(
            "UPDATE members SET person_hash = ?2, doc_kind = ?3, record = ?4, name = ?5,
                phone_tail = ?6, gender = ?7, birth_date = ?8, region = ?9, employment_form = ?10,
                needs = ?11, updated_at = ?12, state = 'queued', state_reason = NULL,
                server_member_no = NULL
             WHERE member_no = ?1",
            &*values,
        )?;
        let updated = by_number(&tx, member_no)?.ok_or(StoreError::NotFound)?;
        tx.commit()?;
        tracing::info!(%member_no, "record edited");
        Ok(updated)
    }

    /// Voids a record that has not reached the office. The person may be registered again.
    pub fn void(
        &mut self,
        member_no: &MemberNo,
        reason: &str,
        now: &DateTime<FixedOffset>,
    ) -> Result<(), StoreError> {
        let tx = write_transaction(&mut self.conn)?;
        editable(&tx, member_no)?;
        tx.execute(
            "UPDATE members SET state = 'voided', state_reason = ?2, person_hash = NULL,
                updated_at = ?3 WHERE member_no = ?1",
            params![member_no.as_str(), reason, timestamp(now)],
        )?;
        tx.commit()?;
        // a voided member's saved slip would still verify
        crate::store::slips::remove(self.dir(), [member_no.as_str()]);
        tracing::info!(%member_no, "record voided");
        Ok(())
    }
}
