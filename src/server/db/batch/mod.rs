//! Storing a laptop's batch, one transaction on either backend: bind the token to the batch's
//! key (or refuse), insert the records, classify those that did not go in, revoke what the
//! batch voided or refused as the same person, and keep the figures.
//!
//! Records are inserted with `ON CONFLICT DO NOTHING`; those that did not go in are then
//! classified by looking at what is there (same UUID and hash: already there; same UUID,
//! other hash: conflict; same person: duplicate). The constraint, not a prior read, decides,
//! so two servers racing on the same person cannot both insert it. The inserts, look-ups and
//! counts are each backend's own (one statement per row on SQLite, `unnest` on PostgreSQL);
//! the rest is written once here.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

mod postgres;
mod sqlite;
pub(crate) mod versions;

pub(crate) use postgres::add_increments as pg_add_increments;
pub(crate) use sqlite::add_increments as sqlite_add_increments;

use super::conn::{Conn, args, first, only};
use super::figures::Increments;
use super::office::bump;
use super::postgres::retrying;
use super::sql::sql;
use super::{BatchWrite, BindRefusal, Binding, Db, DbError, Stored};
use crate::server::batch::{Candidate, Decision};

impl Db {
    /// Stores a batch in one transaction: binds the token to the batch's key (or refuses),
    /// inserts the records, revokes the laptop's voids and the `duplicate_person` numbers.
    /// A PostgreSQL deadlock with a concurrent batch is retried ([`retrying`]).
    pub async fn store_batch(&self, batch: BatchWrite) -> Result<Stored, DbError> {
        let batch = Arc::new(batch);
        retrying(|| {
            let b = Arc::clone(&batch);
            self.transaction(move |c| Box::pin(async move { store(c, &b).await }))
        })
        .await
    }
}

async fn store(c: &Conn<'_>, b: &BatchWrite) -> Result<Stored, DbError> {
    let changed = match bind(c, &b.device, &b.binding).await? {
        Ok(changed) => changed,
        Err(refusal) => return Ok(Stored::Refused(refusal)),
    };
    store_bound(c, b, changed).await
}

/// The batch of a device whose key is settled (bound now, or known already: a relayed
/// segment's, `db::segments`): its records, revocations, day summaries and figures.
/// `changed`: the bundle changed already (a binding).
pub(super) async fn store_bound(
    c: &Conn<'_>,
    b: &BatchWrite,
    mut changed: bool,
) -> Result<Stored, DbError> {
    let candidates = &b.candidates;
    let mut decisions = vec![Decision::Conflict; candidates.len()];
    let (first, mut missed) = split_first_occurrences(candidates);
    let inserted = match c {
        Conn::Sqlite(s) => sqlite::insert_members(&s.lock(), b, &first, s.now())?,
        Conn::Pg(p) => postgres::insert_members(p, b, &first).await?,
    };
    for (&i, inserted) in first.iter().zip(inserted) {
        if inserted {
            decisions[i] = Decision::Accepted;
        } else {
            missed.push(i);
        }
    }
    if !missed.is_empty() {
        let those: Vec<&Candidate> = missed.iter().map(|&i| &candidates[i]).collect();
        let held = match c {
            Conn::Sqlite(s) => sqlite::look_up(&s.lock(), &those)?,
            Conn::Pg(p) => postgres::look_up(p, &those).await?,
        };
        for &i in &missed {
            decisions[i] = classify_missed(&candidates[i], &held);
        }
        // a newer version of a record that reached the office relayed (SPEC §12)
        if let Some(v) = &b.version {
            versions::newer_versions(c, b, v, &mut decisions).await?;
        }
    }
    // The card of a record refused as the same person was handed out: revoke it. One
    // accepted later (the operator corrected the ID) is valid again.
    changed |= match c {
        Conn::Sqlite(s) => sqlite::revoke(&s.lock(), b, &decisions, s.now())?,
        Conn::Pg(p) => postgres::revoke(p, b, &decisions).await?,
    };
    if changed {
        bump(c).await?;
    }
    let increments = Increments::of(candidates, &decisions);
    // A laptop in a group: its day summaries only over older ones (db::segments).
    let days: &[crate::server::batch::DayRow] = match &b.version {
        Some(v) if !b.days.is_empty() && !versions::days_fresh(c, v).await? => &[],
        _ => &b.days,
    };
    match c {
        Conn::Sqlite(s) => {
            let conn = s.lock();
            sqlite::add_increments(&conn, &b.device, &increments)?;
            sqlite::store_days(&conn, &b.device, days, s.now())?;
        }
        Conn::Pg(p) => {
            postgres::add_increments(p, &b.device, &increments).await?;
            postgres::store_days(p, &b.device, days).await?;
        }
    }
    Ok(Stored::Done(decisions))
}

/// Binds the device's token to the batch's key, or checks it is bound to it. `Ok(Err(_))`
/// refuses the request; `Ok(Ok(true))` when the bundle changed. The device row is locked
/// first (PostgreSQL), so two first uploads of one token cannot both bind.
///
/// A token not bound yet binds only a key the office has never seen (or, in service, this
/// same device's): a revoked laptop's key is never put back in service, and a key in service
/// for one device is never moved to another (which would lock that device out). A device
/// re-issued on purpose (`add-device --reissue`) keeps its binding, so its new token is
/// already bound to its key.
pub(super) async fn bind(
    c: &Conn<'_>,
    device: &str,
    b: &Binding,
) -> Result<Result<bool, BindRefusal>, DbError> {
    let bound = c
        .query(
            sql!("SELECT key_id FROM devices WHERE name = $1 FOR UPDATE"),
            &args![device],
            |r| r.opt_text(0),
        )
        .await
        .and_then(only)?;
    if let Some(kid) = bound {
        let same = device_key(c, &kid)
            .await?
            .is_some_and(|(public_key, _, _)| public_key == b.public_key);
        return Ok(if same {
            Ok(false)
        } else {
            Err(BindRefusal::TokenBoundToOtherKey)
        });
    }
    let inserted = c
        .execute(
            sql!(
                "INSERT INTO device_keys (key_id, public_key, device, union_name, key_from, bound_at)
                 VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT DO NOTHING"
            ),
            &args![&b.key_id, &b.public_key, device, &b.union, &b.from],
        )
        .await?;
    if inserted == 0 {
        // The key id is the office's already: another key's, or this very key.
        match device_key(c, &b.key_id).await? {
            Some((public_key, _, _)) if public_key != b.public_key => {
                return Ok(Err(BindRefusal::KeyIdTaken));
            }
            Some((_, _, true)) => return Ok(Err(BindRefusal::DeviceKeyRevoked)),
            Some((_, owner, false)) if owner != device => {
                return Ok(Err(BindRefusal::KeyBoundToOtherDevice));
            }
            // in service, and this device's own: its binding comes back as it was
            Some(_) => {}
            None => return Err(DbError::Internal("a device key vanished".into())),
        }
    }
    // The binding key is needed only until the device is bound (a binding proof of a laptop
    // lost before its first upload): a copy of the database then proves nothing.
    c.execute(
        sql!("UPDATE devices SET key_id = $2, binding_key = NULL WHERE name = $1"),
        &args![device, &b.key_id],
    )
    .await?;
    Ok(Ok(inserted > 0))
}

/// A device key the office knows: its public key, the device it serves and whether it is
/// revoked. One reading for binding a token and for taking a relayed segment.
pub(in crate::server::db) async fn device_key(
    c: &Conn<'_>,
    key_id: &str,
) -> Result<Option<(String, String, bool)>, DbError> {
    c.query(
        sql!("SELECT public_key, device, max_seq IS NOT NULL FROM device_keys WHERE key_id = $1"),
        &args![key_id],
        |r| Ok((r.text(0)?, r.text(1)?, r.flag(2)?)),
    )
    .await
    .map(first)
}

/// Splits a batch into records to insert in one go (first occurrence of each UUID, member
/// number and person within the batch) and the rest, classified after the insert.
pub(crate) fn split_first_occurrences(candidates: &[Candidate]) -> (Vec<usize>, Vec<usize>) {
    let mut seen_uuid = HashSet::new();
    let mut seen_no = HashSet::new();
    let mut seen_person = HashSet::new();
    let (mut first, mut rest) = (Vec::new(), Vec::new());
    for (i, c) in candidates.iter().enumerate() {
        let new_uuid = seen_uuid.insert(c.uuid.as_str());
        let new_no = seen_no.insert(c.member_no.as_str());
        let new_person = seen_person.insert(c.person_key.as_str());
        if new_uuid && new_no && new_person {
            first.push(i);
        } else {
            rest.push(i);
        }
    }
    (first, rest)
}

/// What the database holds for the UUIDs and persons of records that did not go in.
pub(crate) struct Held {
    /// uuid → content hash
    pub by_uuid: HashMap<String, String>,
    /// person key → member number (canonical)
    pub by_person: HashMap<String, String>,
}

/// The decision for a record that was not inserted, from what the database holds now.
pub(crate) fn classify_missed(c: &Candidate, held: &Held) -> Decision {
    if let Some(hash) = held.by_uuid.get(&c.uuid) {
        if hash.eq_ignore_ascii_case(&c.content_hash) {
            Decision::AlreadyThere
        } else {
            Decision::Conflict
        }
    } else if let Some(no) = held.by_person.get(&c.person_key) {
        Decision::DuplicatePerson(display_member_no(no))
    } else {
        // Neither the UUID nor the person is there: the member number is taken by another
        // record, which only a broken or forged client can cause.
        Decision::Conflict
    }
}

/// The grouped form people read (`K7M2QX-0042-7`).
fn display_member_no(canonical: &str) -> String {
    canonical
        .parse::<crate::card::MemberNo>()
        .map(|n| n.grouped())
        .unwrap_or_else(|_| canonical.to_string())
}
