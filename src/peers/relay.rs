//! What a laptop does with the segments it holds for its peers: sends them to the office
//! with its own upload (`POST /v1/segments`; the office takes each on its origin's
//! signature and binding proof, never on this laptop's token), and writes them with its own
//! queue to a backup file when there is no second laptop.

use std::io::Write;
use std::path::Path;

use rusqlite::Connection;
use serde::Serialize;

use crate::card::segment::backup_text;
use crate::protocol::{SegmentsRequest, SegmentsResponse};
use crate::store::peers as sp;
use crate::store::{StoreError, trust};
use crate::sync::UploadSettings;
use crate::sync::http::{Http, SendError};

/// Segments per request: as many as the office takes in one.
const SEGMENTS_PER_REQUEST: usize = crate::protocol::MAX_SEGMENTS_PER_REQUEST;

/// What a relay upload did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RelayReport {
    /// Segments sent.
    pub sent: u64,
    /// Records in segments the office took (or had).
    pub records_delivered: u64,
    pub accepted: u64,
    pub already_there: u64,
    /// Segments the office refused (origin key id, counter, code); still held.
    pub refused: Vec<(String, u64, String)>,
    /// Records still held for peers.
    pub still_held: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the office server does not take records relayed for other laptops yet (HTTP {0})")]
    NotSupported(u16),
    #[error("{0}")]
    Send(String),
}

impl RelayError {
    pub fn code(&self) -> &'static str {
        match self {
            RelayError::Store(_) => "store",
            RelayError::NotSupported(_) => "relay_not_supported",
            RelayError::Send(_) => "relay_failed",
        }
    }
}

/// Records held for peers (all origins but this laptop).
pub fn held_total(conn: &Connection) -> Result<u64, StoreError> {
    let own = trust::device_key(conn)?.0.public().to_bytes();
    Ok(sp::held_records(conn, &own)?.iter().map(|(_, n)| n).sum())
}

/// Sends every held segment to the office; those it takes (or has) are dropped here.
pub fn upload_held(conn: &mut Connection, s: &UploadSettings) -> Result<RelayReport, RelayError> {
    let (key, _) = trust::device_key(conn)?;
    let own = key.public().to_bytes();
    let mut report = RelayReport::default();
    let origins: Vec<[u8; 32]> = sp::origins(conn)?
        .into_iter()
        .filter(|o| *o != own)
        .collect();
    if origins.is_empty() {
        return Ok(report);
    }
    let http = Http::new(
        &s.server,
        &s.token,
        s.ca.as_deref(),
        s.request_timeout,
        s.lang,
        key,
    )
    .map_err(|e| RelayError::Send(e.to_string()))?;
    for origin in origins {
        let mut after = 0;
        loop {
            let batch = sp::segments_after(conn, &origin, after, SEGMENTS_PER_REQUEST)?;
            let Some(last) = batch.last() else { break };
            after = last.counter;
            let body = serde_json::to_vec(&SegmentsRequest {
                segments: batch.iter().map(|k| k.text.clone()).collect(),
            })
            .map_err(|e| RelayError::Send(e.to_string()))?;
            report.sent += batch.len() as u64;
            let answer: SegmentsResponse = match http.send_segments(&body) {
                Ok(a) => a,
                Err(SendError::Refused { status, .. }) if status == 404 || status == 405 => {
                    return Err(RelayError::NotSupported(status));
                }
                Err(SendError::Refused { message, .. }) => return Err(RelayError::Send(message)),
                Err(SendError::Transient(n)) => {
                    return Err(RelayError::Send(n.message(s.lang)));
                }
                Err(SendError::Certificate(p)) => {
                    return Err(RelayError::Send(p.reason(s.lang).to_string()));
                }
                Err(other) => return Err(RelayError::Send(format!("{other:?}"))),
            };
            for r in answer.results {
                let Some(o) = crate::peers::wire::unb64(&r.origin)
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .filter(|o| *o == origin)
                else {
                    continue;
                };
                let Some(kept) = batch.iter().find(|k| k.counter == r.counter) else {
                    continue;
                };
                match r.status.as_str() {
                    "accepted" | "already_there" => {
                        if r.status == "accepted" {
                            report.accepted += 1;
                        } else {
                            report.already_there += 1;
                        }
                        report.records_delivered += crate::card::segment::Segment::open(&kept.text)
                            .map(|s| s.header.records)
                            .unwrap_or(0);
                        sp::drop_segment(conn, &o, r.counter)?;
                    }
                    _ => report.refused.push((
                        crate::card::keys::acceptable_key(&o)
                            .map(|k| crate::card::keys::key_id_of(&k))
                            .unwrap_or_default(),
                        r.counter,
                        r.error.unwrap_or_default(),
                    )),
                }
            }
        }
    }
    report.still_held = held_total(conn)?;
    Ok(report)
}

/// What a backup file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BackupReport {
    pub segments: u64,
    /// This laptop's queued records in it.
    pub own_records: u64,
    /// Records held for peers in it.
    pub held_records: u64,
}

/// Writes this laptop's unacknowledged queue (one snapshot segment) and every held segment
/// to `out` (written beside it and renamed when complete; 0600).
pub fn backup(conn: &mut Connection, out: &Path) -> Result<BackupReport, BackupError> {
    let own_segment = super::replicate::snapshot_segment(conn)?;
    let (key, _) = trust::device_key(conn)?;
    let own = key.public().to_bytes();
    let mut report = BackupReport {
        segments: 1,
        own_records: own_segment.header.records,
        held_records: 0,
    };
    let mut texts = vec![own_segment.text];
    for origin in sp::origins(conn)?.into_iter().filter(|o| *o != own) {
        for kept in sp::segments_after(conn, &origin, 0, usize::MAX)? {
            if let Ok(seg) = crate::card::segment::Segment::open(&kept.text) {
                report.held_records += seg.header.records;
            }
            report.segments += 1;
            texts.push(kept.text);
        }
    }
    let text = backup_text(&key, &sp::now_text(), &texts);
    let part = out.with_extension("part");
    let mut f = private_file(&part)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&part, out)?;
    Ok(report)
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Replicate(#[from] super::replicate::ReplicateError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the file: {0}")]
    Io(#[from] std::io::Error),
}
