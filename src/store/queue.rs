//! The upload queue: queued batches, the server's answers, the uploads log, and the purge of
//! personal data after the retention period.
//!
//! Free functions over a `&Connection`, because the upload runs on a background thread with
//! its own connection ([`Store::second_connection`]) while the UI thread owns the [`Store`].

use std::path::Path;

use chrono::{DateTime, Duration, FixedOffset};
use rusqlite::{Connection, params};
use serde::Serialize;
use uuid::Uuid;

use super::members::{COLUMNS, StoredMember, from_row};
use super::{Store, StoreError, timestamp};

/// This laptop's key id (the first six symbols of its member numbers).
pub fn device_key_id(conn: &Connection) -> Result<String, StoreError> {
    Ok(conn.query_row("SELECT key_id FROM device WHERE id = 1", [], |r| r.get(0))?)
}

pub fn queued_count(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM members WHERE state = 'queued'")?
        .query_row([], |r| r.get(0))?)
}

/// Up to `limit` queued records after row `after_id`, oldest first.
pub fn queued_batch(
    conn: &Connection,
    after_id: i64,
    limit: usize,
) -> Result<Vec<StoredMember>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM members WHERE state = 'queued' AND id > ?1 ORDER BY id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after_id, limit as i64], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What the laptop keeps of the server's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// `accepted` or `already_there`: the office has it.
    Uploaded,
    /// `rejected`, `duplicate_person` or `conflict`: the operator fixes or voids it.
    Rejected {
        code: String,
        reason: String,
        server_member_no: Option<String>,
    },
}

/// One record's answer. `sent_updated_at` is the record's `updated_at` when it was sent: an
/// answer about content the operator has edited since is not applied (it stays queued).
#[derive(Clone, Debug)]
pub struct AnswerRow {
    pub uuid: Uuid,
    pub sent_updated_at: DateTime<FixedOffset>,
    pub answer: Answer,
}

/// Running totals of an upload, kept in the `uploads` table as it goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UploadCounts {
    pub sent: u64,
    pub accepted: u64,
    pub rejected: u64,
}

/// Stores a batch's answers and the upload's totals in one transaction; returns how many
/// records changed state.
pub fn record_answers(
    conn: &mut Connection,
    upload_id: i64,
    answers: &[AnswerRow],
    counts: UploadCounts,
    now: &DateTime<FixedOffset>,
) -> Result<usize, StoreError> {
    let tx = conn.transaction()?;
    let now_s = timestamp(now);
    let mut changed = 0;
    {
        let mut uploaded = tx.prepare_cached(
            "UPDATE members SET state = 'uploaded', answered_at = ?3, state_reason = NULL,
                reject_code = NULL, server_member_no = NULL
             WHERE uuid = ?1 AND state = 'queued' AND julianday(updated_at) = julianday(?2)",
        )?;
        let mut rejected = tx.prepare_cached(
            "UPDATE members SET state = 'rejected', answered_at = ?3, reject_code = ?4,
                state_reason = ?5, server_member_no = ?6
             WHERE uuid = ?1 AND state = 'queued' AND julianday(updated_at) = julianday(?2)",
        )?;
        for a in answers {
            let uuid = a.uuid.to_string();
            let sent = timestamp(&a.sent_updated_at);
            changed += match &a.answer {
                Answer::Uploaded => uploaded.execute(params![uuid, sent, now_s])?,
                Answer::Rejected {
                    code,
                    reason,
                    server_member_no,
                } => {
                    rejected.execute(params![uuid, sent, now_s, code, reason, server_member_no])?
                }
            };
        }
    }
    update_upload(&tx, upload_id, counts, None, None)?;
    tx.commit()?;
    Ok(changed)
}

/// Opens a row in the uploads log; returns its id.
pub fn start_upload(
    conn: &Connection,
    server: &str,
    now: &DateTime<FixedOffset>,
) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        // the peers' segment counter at the start: segments up to it are all in this upload
        "INSERT INTO uploads (started_at, server, segment_counter)
         VALUES (?1, ?2, (SELECT segment_counter FROM peer_self WHERE id = 1)) RETURNING id",
        params![timestamp(now), server],
        |r| r.get(0),
    )?)
}

fn update_upload(
    conn: &Connection,
    id: i64,
    c: UploadCounts,
    outcome: Option<&str>,
    finished: Option<&DateTime<FixedOffset>>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE uploads SET sent = ?2, accepted = ?3, rejected = ?4,
            outcome = coalesce(?5, outcome), finished_at = coalesce(?6, finished_at)
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        c.sent as i64,
        c.accepted as i64,
        c.rejected as i64,
        outcome,
        finished.map(timestamp)
    ])?;
    Ok(())
}

/// Closes an upload's row with its outcome (`complete`, `incomplete`, `unauthorized`, …).
pub fn finish_upload(
    conn: &Connection,
    id: i64,
    counts: UploadCounts,
    outcome: &str,
    now: &DateTime<FixedOffset>,
) -> Result<(), StoreError> {
    update_upload(conn, id, counts, Some(outcome), Some(now))
}

/// What a purge removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// Records whose personal data was removed.
    pub purged: u64,
    /// Saved slip images deleted with them.
    pub slips_deleted: u64,
}

/// Removes the personal data of records the office acknowledged more than `retention_days`
/// ago: the record JSON (name, ID number, phone, employer…), name, phone tail, gender, birth
/// date, region and the person hash. Kept for the day's figures: state, dates, employment
/// form, needs, member number, UUID, the booth. Queued and rejected records are never
/// touched. Their saved slips (`<data>/slips/<member no>.png`) are deleted too.
pub fn purge(
    conn: &mut Connection,
    data_dir: &Path,
    retention_days: u32,
    now: &DateTime<FixedOffset>,
) -> Result<PurgeReport, StoreError> {
    let cutoff = *now - Duration::days(i64::from(retention_days));
    // Overwrite freed content instead of leaving it in free pages (they are encrypted too,
    // but "gone" should mean gone for whoever later learns the passphrase).
    conn.execute_batch("PRAGMA secure_delete = ON;")?;
    let tx = conn.transaction()?;
    // julianday() reads the stored UTC offsets, so the comparison is in absolute time.
    let numbers: Vec<String> = tx
        .prepare_cached(
            "SELECT member_no FROM members
             WHERE state = 'uploaded' AND record IS NOT NULL AND answered_at IS NOT NULL
               AND julianday(answered_at) <= julianday(?1)",
        )?
        .query_map([timestamp(&cutoff)], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if numbers.is_empty() {
        return Ok(PurgeReport::default());
    }
    {
        let mut clear = tx.prepare_cached(
            "UPDATE members SET record = NULL, name = NULL, phone_tail = NULL, gender = NULL,
                birth_date = NULL, region = NULL, person_hash = NULL, purged_at = ?2
             WHERE member_no = ?1 AND state = 'uploaded'",
        )?;
        let now_s = timestamp(now);
        for no in &numbers {
            clear.execute(params![no, now_s])?;
        }
    }
    tx.commit()?;
    let slips_deleted = super::slips::remove(data_dir, numbers.iter().map(String::as_str));
    tracing::info!(
        purged = numbers.len(),
        slips_deleted,
        retention_days,
        "personal data purged"
    );
    Ok(PurgeReport {
        purged: numbers.len() as u64,
        slips_deleted,
    })
}

impl Store {
    /// Purges personal data past the retention period (see [`purge`]).
    pub fn purge(
        &mut self,
        retention_days: u32,
        now: &DateTime<FixedOffset>,
    ) -> Result<PurgeReport, StoreError> {
        let dir = self.dir().to_path_buf();
        purge(&mut self.conn, &dir, retention_days, now)
    }

    pub fn queued_count(&self) -> Result<u64, StoreError> {
        queued_count(&self.conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::{MemberInput, validate};

    #[test]
    fn answers_then_purge_after_retention_only() {
        let (dir, mut store) = crate::store::test_store();
        let now = crate::store::now();
        let mut uuids = Vec::new();
        for (i, id) in ["11010519491231002X", "110105197001010011"]
            .iter()
            .enumerate()
        {
            let input = MemberInput {
                name: ["葛婷婷", "王芳"][i].into(),
                id_number: (*id).into(),
                phone: "13800138000".into(),
                employer: "某公司".into(),
                consent: true,
                employment_form: "courier".into(),
                ..Default::default()
            };
            let v = validate(&input, now.date_naive()).unwrap();
            let m = store
                .register(&v, &crate::config::Config::default().event(), &now)
                .unwrap();
            uuids.push(m);
        }
        let conn = store.connection();
        let batch = queued_batch(conn, 0, 10).unwrap();
        assert_eq!(batch.len(), 2);
        let id = start_upload(conn, "https://office", &now).unwrap();
        let answers = vec![
            AnswerRow {
                uuid: uuids[0].uuid,
                sent_updated_at: uuids[0].updated_at,
                answer: Answer::Uploaded,
            },
            AnswerRow {
                uuid: uuids[1].uuid,
                sent_updated_at: uuids[1].updated_at,
                answer: Answer::Rejected {
                    code: "duplicate_person".into(),
                    reason: "duplicate_person".into(),
                    server_member_no: Some("X".into()),
                },
            },
        ];
        let counts = UploadCounts {
            sent: 2,
            accepted: 1,
            rejected: 1,
        };
        assert_eq!(record_answers(conn, id, &answers, counts, &now).unwrap(), 2);
        finish_upload(conn, id, counts, "complete", &now).unwrap();
        assert_eq!(queued_count(conn).unwrap(), 0);

        // Not yet past retention.
        assert_eq!(store.purge(7, &now).unwrap().purged, 0);
        let figures_before = store.day_figures(now.date_naive()).unwrap();
        std::fs::create_dir_all(dir.path().join("slips")).unwrap();
        let slip = dir
            .path()
            .join("slips")
            .join(format!("{}.png", uuids[0].member_no.as_str()));
        std::fs::write(&slip, b"png").unwrap();
        let later = now + Duration::days(8);
        let r = store.purge(7, &later).unwrap();
        assert_eq!(r.purged, 1);
        assert_eq!(r.slips_deleted, 1);
        assert!(!slip.exists());
        let m = store.get(&uuids[0].member_no).unwrap().unwrap();
        assert!(m.member.is_none());
        assert!(m.facts.birth_date.is_none());
        assert_eq!(m.employment_form.as_deref(), Some("courier"));
        // The rejected one keeps everything.
        assert!(
            store
                .get(&uuids[1].member_no)
                .unwrap()
                .unwrap()
                .member
                .is_some()
        );
        let mut figures_after = store.day_figures(now.date_naive()).unwrap();
        figures_after.last_upload = figures_before.last_upload.clone();
        assert_eq!(figures_after, figures_before);
        assert_eq!(store.purge(7, &later).unwrap().purged, 0);
    }
}
