//! This laptop's replicas: what changed in its queue since the last segment — records
//! (new or edited while queued), voids not yet reported, and the day summaries when they
//! changed — sealed to the office and signed, under the next counter. The body is the
//! upload request body the office already knows (`sync::batch_body`), so the office ingests
//! a relayed segment as that laptop's upload.
//!
//! Also the origin's mark: once an upload completed, every segment made before it started
//! is at the office; the origin signs that, and its peers drop what they hold of it.

use rusqlite::Connection;
use sha2::{Digest, Sha256};

use crate::card::seal::SealPublic;
use crate::card::segment::{Making, Segment};
use crate::store::peers as sp;
use crate::store::{StoreError, trust};

/// Records per segment: a catch-up after a gap is many segments, each quick to check.
pub const RECORDS_PER_SEGMENT: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum ReplicateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no office sealing key yet (enrol with a new code, or upload once)")]
    NoSealKey,
    #[error("sealing failed")]
    Seal,
}

impl From<rusqlite::Error> for ReplicateError {
    fn from(e: rusqlite::Error) -> Self {
        ReplicateError::Store(e.into())
    }
}

/// The office's sealing key: the newest kept bundle's, else the enrolment code's.
pub fn seal_key(conn: &Connection) -> Result<Option<SealPublic>, StoreError> {
    if let Some((_, text)) = trust::kept_bundle(conn)?
        && let Some(fp) = crate::card::bundle::claimed_fingerprint(&text)
        && let Ok(b) = crate::card::bundle::open(&text, &[fp])
        && let Some(k) = b.seal_key
    {
        return Ok(Some(k));
    }
    Ok(sp::enrolment(conn)?
        .1
        .and_then(|t| SealPublic::from_text(&t).ok()))
}

/// Makes the next own segment if anything changed; `None` when nothing did.
pub fn next_segment(conn: &mut Connection) -> Result<Option<Segment>, ReplicateError> {
    let records = sp::unsealed_records(conn, RECORDS_PER_SEGMENT)?;
    let voids = sp::unsealed_voids(conn)?;
    let days = crate::store::days::day_summaries(conn, crate::protocol::MAX_DAYS_PER_BATCH)?;
    let digest = data_encoding::HEXLOWER.encode(&Sha256::digest(
        serde_json::to_vec(&days).unwrap_or_default(),
    ));
    let days_changed = digest != sp::days_digest(conn)? && !days.is_empty();
    if records.is_empty() && voids.is_empty() && !days_changed {
        return Ok(None);
    }
    make(
        conn,
        records,
        voids,
        days_changed.then_some((days, digest)),
        true,
    )
    .map(Some)
}

/// The whole unacknowledged queue as one segment (a backup file's): every queued record,
/// every void not reported, every day summary. Peers get it too, like any own segment.
pub fn snapshot_segment(conn: &mut Connection) -> Result<Segment, ReplicateError> {
    let mut records = Vec::new();
    let mut after = 0;
    loop {
        let batch = crate::store::queue::queued_batch(conn, after, 5_000)?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        records.extend(batch);
    }
    let voids = crate::store::trust::unreported_voids(conn, usize::MAX >> 1)?
        .into_iter()
        .map(|n| (0, n))
        .collect();
    let days = crate::store::days::day_summaries(conn, crate::protocol::MAX_DAYS_PER_BATCH)?;
    make(conn, records, voids, Some((days, String::new())), false)
}

/// Seals, signs and keeps a segment of these; `track`: note what went in (the peers'
/// stream), else leave the notes alone (a backup's snapshot).
fn make(
    conn: &mut Connection,
    records: Vec<crate::store::members::StoredMember>,
    voids: Vec<(i64, String)>,
    days: Option<(Vec<crate::protocol::DaySummary>, String)>,
    track: bool,
) -> Result<Segment, ReplicateError> {
    let days_changed = days.is_some();
    let (days, digest) = days.unwrap_or_default();
    let seal = seal_key(conn)?.ok_or(ReplicateError::NoSealKey)?;
    let (key, key_created) = trust::device_key(conn)?;
    let config = sp::config_on(conn)?;
    let union = crate::card::payload_union(&config.union, config.union_short.as_deref());
    let device = sp::enrolment(conn)?.0;
    let binding = match (&device, &config.token) {
        (Some(d), Some(t)) => Some(crate::card::segment::binding_proof(t, d, &key.public())),
        _ => None,
    };
    let void_numbers: Vec<String> = voids.iter().map(|(_, n)| n.clone()).collect();
    let sent_days = if days_changed { days } else { Vec::new() };
    let meta = crate::sync::BatchMeta {
        device: key.key_id(),
        key_created,
        union: &union,
        // the segment's header carries its counter
        segment_counter: None,
    };
    let (body, sent) = crate::sync::batch_body(&meta, &records, &void_numbers, &sent_days)
        .map_err(|_| ReplicateError::Seal)?;
    let tx = conn.transaction()?;
    let counter = sp::next_counter(&tx)?;
    let now = sp::now_text();
    let segment = Segment::make(
        &key,
        &seal,
        &Making {
            device: device.as_deref(),
            binding,
            counter,
            created_at: now.clone(),
            records: sent.len() as u64,
            voids: void_numbers.len() as u64,
            days: sent_days.len() as u64,
        },
        &body,
    )
    .map_err(|_| ReplicateError::Seal)?;
    let own = key.public().to_bytes();
    sp::keep_segment(
        &tx,
        &own,
        counter,
        &segment.text,
        sent.len() as u64,
        &now,
        &now,
    )?;
    let sealed: Vec<(i64, String)> = sent
        .iter()
        .map(|m| (m.id, crate::store::timestamp(&m.updated_at)))
        .collect();
    let void_ids: Vec<i64> = voids.iter().map(|(id, _)| *id).collect();
    if track {
        sp::mark_sealed(&tx, &sealed, &void_ids)?;
        if days_changed {
            sp::set_days_digest(&tx, &digest)?;
        }
    }
    tx.commit()?;
    Ok(segment)
}

/// The origin's new mark, when an upload completed since the last one: signed, kept (own
/// segments up to it dropped) and returned to tell the peers.
pub fn new_mark(conn: &Connection) -> Result<Option<String>, StoreError> {
    let (key, _) = trust::device_key(conn)?;
    let own = key.public().to_bytes();
    let acked = sp::acked_by_upload(conn)?;
    if acked <= sp::acked(conn, &own)? {
        return Ok(None);
    }
    let statement = super::wire::Mark::sign(&key, acked);
    sp::take_mark(conn, &own, acked, &statement)?;
    Ok(Some(statement))
}
