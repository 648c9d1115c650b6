//! Taking a laptop's segments at the office (SPEC §12, docs/trust.md "Peers"), whoever
//! delivers them: another laptop relaying what it holds (`POST /v1/segments`, the route in
//! `relay_api`), or a backup file (`booth server import-backup`, the console's devices page).
//!
//! A segment is taken on its **origin's** signature and binding, never on its deliverer's
//! word: opened (strict signature), its origin found (the key the office knows, or the binding
//! proof under the binding key the office kept for the device it names), opened with the
//! office's sealing key, every number in it the origin's (`card::segment::accept`), then its
//! records and day summaries checked and stored exactly as the origin's own upload would be
//! (`ingest`, `db::segments`): counted for the origin's device and day, stored once.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::api::{binding_of, own_voids};
use super::batch::{Candidate, Decision};
use super::db::segments::{Expect, OriginState, SegmentStored, SegmentWrite, Version};
use super::db::{BatchWrite, Db, DbError};
use super::ingest;
pub use super::state::Seals;
use crate::card::segment::{self, Segment, SegmentError};
use crate::i18n::Lang;
use crate::protocol::{
    BatchRequest, MAX_DAYS_PER_BATCH, MAX_RECORDS_PER_BATCH, SegmentCounts, SegmentResult,
};

/// Statuses of a segment's answer.
pub const ACCEPTED: &str = "accepted";
pub const ALREADY_THERE: &str = "already_there";
pub const REFUSED: &str = "refused";

fn refused(origin: &str, counter: u64, code: &str) -> SegmentResult {
    SegmentResult {
        origin: origin.to_string(),
        counter,
        status: REFUSED.into(),
        error: Some(code.to_string()),
        ..Default::default()
    }
}

/// What a segment that does not open says of itself (to name it in the answer): its
/// header's origin and counter, unchecked; nothing when even that is unreadable.
fn claimed(text: &str) -> (String, u64) {
    #[derive(serde::Deserialize)]
    struct Env {
        header: String,
    }
    #[derive(serde::Deserialize)]
    struct Head {
        origin: String,
        counter: u64,
    }
    serde_json::from_str::<Env>(text)
        .ok()
        .and_then(|e| {
            data_encoding::BASE64URL_NOPAD
                .decode(e.header.as_bytes())
                .ok()
        })
        .and_then(|h| serde_json::from_slice::<Head>(&h).ok())
        .map(|h| (h.origin, h.counter))
        .unwrap_or_default()
}

/// Takes one segment as received (text); `via` says who delivered it (a relay's device name,
/// `backup`). Refusals are answers, not errors: only the database failing is an error (the
/// deliverer sends the segment again).
pub async fn take(
    db: &Db,
    seals: &Arc<Seals>,
    text: &str,
    via: &str,
) -> Result<SegmentResult, DbError> {
    match Segment::open(text) {
        Ok(seg) => take_opened(db, seals, seg, via).await,
        Err(e) => {
            let (origin, counter) = claimed(text);
            Ok(refused(&origin, counter, e.code()))
        }
    }
}

/// As [`take`], for a segment whose signature [`Segment::open`] checked already.
pub async fn take_opened(
    db: &Db,
    seals: &Arc<Seals>,
    seg: Segment,
    via: &str,
) -> Result<SegmentResult, DbError> {
    let origin = seg.header.origin.clone();
    let counter = seg.header.counter;
    let digest = data_encoding::HEXLOWER.encode(&Sha256::digest(seg.text.as_bytes()));
    // the same segment again costs one look-up
    match db.segment_taken(origin.clone(), counter).await? {
        Some(d) if d == digest => return Ok(already_there(&origin, counter)),
        Some(_) => return Ok(refused(&origin, counter, "segment_replayed")),
        None => {}
    }
    let state = db
        .segment_origin(
            seg.header.key_id.clone(),
            origin.clone(),
            seg.header.device.clone(),
        )
        .await?;
    let (expect, binding_key) = match state {
        OriginState::Refused(code) => return Ok(refused(&origin, counter, code)),
        OriginState::Known { device, .. } => (Expect::Known(device), None),
        OriginState::Unbound {
            device,
            binding_key: Some(key),
            ..
        } => (Expect::Unbound(device, key), Some(key)),
        OriginState::Unbound { .. } => return Ok(refused(&origin, counter, "unbound_device")),
    };
    let device = match &expect {
        Expect::Known(d) | Expect::Unbound(d, _) => d.clone(),
    };
    // opening and checking the records is CPU work: off the async workers
    let (seals_, seg_) = (Arc::clone(seals), seg.clone());
    let prepared = tokio::task::spawn_blocking(move || prepare(&seals_, &seg_, binding_key))
        .await
        .map_err(|e| DbError::Internal(e.to_string()))?;
    let (request, candidates, rejected, days) = match prepared {
        Ok(p) => p,
        Err(code) => return Ok(refused(&origin, counter, code)),
    };
    let voids = match own_voids(&request, &seg.header.key_id) {
        Ok(v) => v,
        Err(r) => return Ok(refused(&origin, counter, r.code())),
    };
    let days_sent = days.len() as u64;
    let write = SegmentWrite {
        counter,
        digest,
        via: via.to_string(),
        named_device: seg.header.device.clone(),
        expect,
        batch: BatchWrite {
            device,
            batch_id: request.batch_id.to_string(),
            binding: binding_of(&request, &seg.origin, &seg.header.key_id),
            candidates,
            voids,
            days,
            version: Some(Version::segment(origin.clone(), counter)),
        },
    };
    let candidates = write.batch.candidates.clone();
    Ok(match db.store_segment(write).await? {
        SegmentStored::AlreadyThere => already_there(&origin, counter),
        SegmentStored::Refused(code) => refused(&origin, counter, code),
        SegmentStored::Taken {
            decisions,
            days_superseded,
        } => SegmentResult {
            origin,
            counter,
            status: ACCEPTED.into(),
            error: None,
            records: Some(counts(
                &candidates,
                &decisions,
                rejected,
                if days_superseded { 0 } else { days_sent },
            )),
            days_superseded,
        },
    })
}

fn already_there(origin: &str, counter: u64) -> SegmentResult {
    SegmentResult {
        origin: origin.to_string(),
        counter,
        status: ALREADY_THERE.into(),
        ..Default::default()
    }
}

type Prepared = (BatchRequest, Vec<Candidate>, u64, Vec<super::batch::DayRow>);

/// Everything that needs no database: the pure checks (`segment::accept`: binding proof,
/// seal, every number the origin's), then the body read as an upload request and its
/// records and day summaries checked as an upload's (`ingest`). A segment whose records
/// fail those checks is still taken: they are answered `rejected`, as in an upload.
fn prepare(
    seals: &Seals,
    seg: &Segment,
    binding_key: Option<[u8; 32]>,
) -> Result<Prepared, &'static str> {
    let seal = seals
        .for_segment(seg)
        .ok_or(SegmentError::OtherOffice.code())?;
    let bound = binding_key.is_none().then_some(&seg.origin);
    let body =
        segment::accept(seg, seal, None, bound, binding_key.as_ref()).map_err(|e| e.code())?;
    let request: BatchRequest =
        serde_json::from_slice(&body).map_err(|_| SegmentError::Malformed("body").code())?;
    if request.records.len() > MAX_RECORDS_PER_BATCH || request.days.len() > MAX_DAYS_PER_BATCH {
        return Err("segment_too_large");
    }
    // the office's date, as for an upload; the words of the checks are not sent to a relay
    let today = chrono::Local::now().date_naive();
    let mut candidates = Vec::with_capacity(request.records.len());
    let mut rejected = 0;
    for (i, item) in request.records.iter().enumerate() {
        match ingest::check(i, item, today, Lang::default()) {
            Ok(c) => candidates.push(c),
            Err(_) => rejected += 1,
        }
    }
    let (days, _) = ingest::check_days(&request.days, today, Lang::default());
    Ok((request, candidates, rejected, days))
}

/// A segment's records by what became of them.
fn counts(
    candidates: &[Candidate],
    decisions: &[Decision],
    rejected: u64,
    days_stored: u64,
) -> SegmentCounts {
    let mut c = SegmentCounts {
        rejected,
        days_stored,
        ..Default::default()
    };
    for d in decisions.iter().take(candidates.len()) {
        match d {
            Decision::Accepted => c.accepted += 1,
            Decision::AlreadyThere => c.already_there += 1,
            Decision::Conflict => c.conflict += 1,
            Decision::DuplicatePerson(_) => c.duplicate_person += 1,
        }
    }
    c
}

/// What importing a backup file did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    /// The key id of the laptop that wrote the file.
    pub written_by: String,
    /// One answer per segment, in the file's order.
    pub segments: Vec<SegmentResult>,
    /// The records of the segments taken now, summed.
    pub records: SegmentCounts,
}

impl Imported {
    pub fn refused(&self) -> usize {
        self.segments.iter().filter(|s| s.status == REFUSED).count()
    }

    pub fn taken(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| s.status == ACCEPTED)
            .count()
    }

    pub fn already_there(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| s.status == ALREADY_THERE)
            .count()
    }
}

/// Why a backup file was not imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not a backup, or its signature (or one segment's) does not check.
    #[error("{0}")]
    File(SegmentError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Imports a backup file (`booth backup --out FILE`): its writer's signature over every
/// segment in it, then each segment taken as a relayed one would be. Idempotent: a file
/// imported again finds every segment `already_there`.
pub async fn import_backup(
    db: &Db,
    seals: &Arc<Seals>,
    text: &str,
) -> Result<Imported, ImportError> {
    let (by, segments) = segment::open_backup(text).map_err(ImportError::File)?;
    let mut out = Imported {
        written_by: crate::card::keys::key_id_of(&by),
        ..Default::default()
    };
    for seg in segments {
        let r = take_opened(db, seals, seg, "backup").await?;
        if let Some(c) = &r.records {
            add_counts(&mut out.records, c);
        }
        out.segments.push(r);
    }
    Ok(out)
}

pub fn add_counts(sum: &mut SegmentCounts, c: &SegmentCounts) {
    sum.accepted += c.accepted;
    sum.already_there += c.already_there;
    sum.conflict += c.conflict;
    sum.duplicate_person += c.duplicate_person;
    sum.rejected += c.rejected;
    sum.days_stored += c.days_stored;
}

/// A refusal's words for people (the CLI's and the console's import), by its code.
pub fn reason(code: &str, lang: Lang) -> &'static str {
    let key = match code {
        "segment_format" => "segment.segment_format",
        "segment_malformed" => "segment.segment_malformed",
        "segment_too_large" => "segment.segment_too_large",
        "bad_device_key" => "segment.bad_device_key",
        "bad_segment_signature" => "segment.bad_segment_signature",
        "segment_replayed" => "segment.segment_replayed",
        "segment_other_office" => "segment.segment_other_office",
        "segment_sealed" => "segment.segment_sealed",
        "bad_binding_proof" => "segment.bad_binding_proof",
        "unbound_device" => "segment.unbound_device",
        "token_bound_to_other_key" => "segment.token_bound_to_other_key",
        "foreign_member_number" => "segment.foreign_member_number",
        "key_id_taken" => "segment.key_id_taken",
        "device_key_revoked" => "segment.device_key_revoked",
        "key_bound_to_other_device" => "segment.key_bound_to_other_device",
        _ => "segment.other",
    };
    crate::i18n::text(lang, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code a segment can be refused with has its words, in both languages.
    #[test]
    fn every_refusal_of_a_segment_has_its_words() {
        let src = include_str!("relay.rs");
        let table = &src[src.find("let key = match code {").unwrap()..];
        let table = &table[..table.find("};").unwrap()];
        let codes: Vec<&str> = table.split('"').skip(1).step_by(4).collect();
        assert!(codes.len() >= 15, "{codes:?}");
        for code in codes.iter().copied().chain(["no such code"]) {
            for lang in Lang::ALL {
                let words = reason(code, lang);
                assert!(!words.starts_with("segment."), "{code} has no {lang} text");
            }
        }
        assert_ne!(
            reason("segment_replayed", Lang::En),
            reason("no such code", Lang::En)
        );
    }

    #[test]
    fn a_segment_that_does_not_open_is_named_by_what_it_claims() {
        let key = crate::card::DeviceKey::from_secret(&[7; 32]);
        let office = crate::card::office::OfficeKey::generate().unwrap();
        let seg = Segment::make(
            &key,
            &office.seal_key().public(),
            &segment::Making {
                device: None,
                binding: None,
                counter: 9,
                created_at: "2026-11-24T10:42:00+08:00".into(),
                records: 0,
                voids: 0,
                days: 0,
            },
            b"{}",
        )
        .unwrap();
        let (origin, counter) = claimed(&seg.text);
        assert_eq!((origin, counter), (seg.header.origin.clone(), 9));
        assert_eq!(claimed("not json"), (String::new(), 0));
    }
}
