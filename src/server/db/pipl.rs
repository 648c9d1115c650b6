//! One member at the office: the record with its review state, and the office's PIPL duties
//! on it — correcting the record, and erasing the person on request (the personal fields
//! go, the member number is revoked through the bundle, the figures stay).

use rusqlite::{OptionalExtension, params};
use tokio_postgres::error::SqlState;

use super::postgres::utc_text;
use super::search::Review;
use super::{Db, DbError, REVOKED_BY_OFFICE, blocking, changed_a_row, now_utc};
use crate::server::batch::SearchKeys;

/// Why a member's number was revoked at the office when it was erased (office records only).
pub const ERASED_REASON: &str = "erased on request (PIPL)";

#[derive(Clone, Debug)]
pub struct MemberDetail {
    pub id: i64,
    pub uuid: String,
    pub member_no: String,
    pub record: String,
    pub device: String,
    pub event_date: String,
    pub received_at: String,
    pub review: Review,
    pub review_comment: String,
    pub review_by: Option<String>,
    pub corrected_at: Option<String>,
    pub erased_at: Option<String>,
    /// Where a revocation came from (`laptop`, `office`, `duplicate_person`), if revoked.
    pub revoked: Option<String>,
}

fn unique_violation_sqlite(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

impl Db {
    pub async fn member_detail(&self, member_no: String) -> Result<Option<MemberDetail>, DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || {
                    Ok(db
                        .lock()
                        .prepare_cached(
                            "SELECT m.id, m.uuid, m.member_no, m.record, m.device, m.event_date,
                                m.received_at, r.status, r.comment, r.by_user, m.corrected_at,
                                m.erased_at, v.source
                             FROM members m
                             LEFT JOIN member_reviews r ON r.member_id = m.id
                             LEFT JOIN revoked v ON v.member_no = m.member_no
                             WHERE m.member_no = ?1",
                        )?
                        .query_row([&member_no], |r| {
                            Ok(MemberDetail {
                                id: r.get(0)?,
                                uuid: r.get(1)?,
                                member_no: r.get(2)?,
                                record: r.get(3)?,
                                device: r.get(4)?,
                                event_date: r.get(5)?,
                                received_at: r.get(6)?,
                                review: Review::of_stored(r.get(7)?),
                                review_comment: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
                                review_by: r.get(9)?,
                                corrected_at: r.get(10)?,
                                erased_at: r.get(11)?,
                                revoked: r.get(12)?,
                            })
                        })
                        .optional()?)
                })
                .await
            }
            Db::Postgres(db) => {
                let sql = format!(
                    "SELECT m.id, m.uuid, m.member_no, m.record, m.device, m.event_date::text,
                        {}, r.status, r.comment, r.by_user, {}, {}, v.source
                     FROM members m
                     LEFT JOIN member_reviews r ON r.member_id = m.id
                     LEFT JOIN revoked v ON v.member_no = m.member_no
                     WHERE m.member_no = $1",
                    utc_text("m.received_at"),
                    utc_text("m.corrected_at"),
                    utc_text("m.erased_at")
                );
                Ok(db
                    .client()
                    .await?
                    .query_opt(&sql, &[&member_no])
                    .await?
                    .map(|r| MemberDetail {
                        id: r.get(0),
                        uuid: r.get(1),
                        member_no: r.get(2),
                        record: r.get(3),
                        device: r.get(4),
                        event_date: r.get(5),
                        received_at: r.get(6),
                        review: Review::of_stored(r.get(7)),
                        review_comment: r.get::<_, Option<String>>(8).unwrap_or_default(),
                        review_by: r.get(9),
                        corrected_at: r.get(10),
                        erased_at: r.get(11),
                        revoked: r.get(12),
                    }))
            }
        }
    }

    pub async fn set_review(
        &self,
        member_id: i64,
        review: Review,
        comment: String,
        by: String,
    ) -> Result<(), DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || {
                    db.lock().execute(
                        "INSERT INTO member_reviews (member_id, status, comment, by_user, at)
                         VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (member_id) DO UPDATE SET status = ?2, comment = ?3,
                            by_user = ?4, at = ?5",
                        params![member_id, review.code(), comment, by, now_utc()],
                    )?;
                    Ok(())
                })
                .await
            }
            Db::Postgres(db) => {
                db.client()
                    .await?
                    .execute(
                        "INSERT INTO member_reviews (member_id, status, comment, by_user)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (member_id) DO UPDATE SET status = $2, comment = $3,
                            by_user = $4, at = now()",
                        &[&member_id, &review.code(), &comment, &by],
                    )
                    .await?;
                Ok(())
            }
        }
    }

    /// Replaces a member's record by its corrected form (already validated by the caller
    /// with `member::validate`). The content hash stays the laptop's, so a laptop resending
    /// the original is still told "already there".
    pub async fn correct_member(
        &self,
        member_no: String,
        record: String,
        person_key: String,
        keys: SearchKeys,
    ) -> Result<(), DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || {
                    let n = db
                        .lock()
                        .execute(
                            "UPDATE members SET record = ?2, person_key = ?3, s_name = ?4,
                                s_phone_tail = ?5, s_employer = ?6, s_form = ?7, corrected_at = ?8
                             WHERE member_no = ?1 AND erased_at IS NULL",
                            params![
                                member_no,
                                record,
                                person_key,
                                keys.name,
                                keys.phone_tail,
                                keys.employer,
                                keys.form,
                                now_utc()
                            ],
                        )
                        .map_err(|e| {
                            if unique_violation_sqlite(&e) {
                                DbError::PersonTaken
                            } else {
                                e.into()
                            }
                        })?;
                    changed_a_row(n as u64, DbError::NoSuchMember)
                })
                .await
            }
            Db::Postgres(db) => {
                let n = db
                    .client()
                    .await?
                    .execute(
                        "UPDATE members SET record = $2, person_key = $3, s_name = $4,
                            s_phone_tail = $5, s_employer = $6, s_form = $7, corrected_at = now()
                         WHERE member_no = $1 AND erased_at IS NULL",
                        &[
                            &member_no,
                            &record,
                            &person_key,
                            &keys.name,
                            &keys.phone_tail,
                            &keys.employer,
                            &keys.form,
                        ],
                    )
                    .await
                    .map_err(|e| {
                        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                            DbError::PersonTaken
                        } else {
                            e.into()
                        }
                    })?;
                changed_a_row(n, DbError::NoSuchMember)
            }
        }
    }

    /// Erases a member in one transaction: the record becomes `remains` (no personal
    /// field), the person key and content hash are dropped, the search keys that name the
    /// person are cleared, the review comment goes, and the member number is revoked (the
    /// bundle's version moves). The row stays, so the figures do not change.
    pub async fn erase_member(&self, member_no: String, remains: String) -> Result<(), DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || {
                    let mut conn = db.lock();
                    let tx =
                        conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                    let now = now_utc();
                    let id: Option<i64> = tx
                        .query_row(
                            "UPDATE members SET record = ?2, person_key = 'erased:' || uuid,
                                content_hash = 'erased', s_name = NULL, s_phone_tail = NULL,
                                s_employer = NULL, erased_at = ?3
                             WHERE member_no = ?1 AND erased_at IS NULL RETURNING id",
                            params![member_no, remains, now],
                            |r| r.get(0),
                        )
                        .optional()?;
                    let Some(id) = id else {
                        return Err(DbError::NoSuchMember);
                    };
                    tx.execute("DELETE FROM member_reviews WHERE member_id = ?1", [id])?;
                    let revoked = tx.execute(
                        "INSERT INTO revoked (member_no, reason, source, revoked_at)
                         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                        params![member_no, ERASED_REASON, REVOKED_BY_OFFICE, now],
                    )?;
                    if revoked > 0 {
                        super::sqlite::bump(&tx, &now)?;
                    }
                    tx.commit()?;
                    Ok(())
                })
                .await
            }
            Db::Postgres(db) => {
                let mut c = db.client().await?;
                let tx = c.transaction().await?;
                let Some(row) = tx
                    .query_opt(
                        "UPDATE members SET record = $2, person_key = 'erased:' || uuid,
                            content_hash = 'erased', s_name = NULL, s_phone_tail = NULL,
                            s_employer = NULL, erased_at = now()
                         WHERE member_no = $1 AND erased_at IS NULL RETURNING id",
                        &[&member_no, &remains],
                    )
                    .await?
                else {
                    return Err(DbError::NoSuchMember);
                };
                let id: i64 = row.get(0);
                tx.execute("DELETE FROM member_reviews WHERE member_id = $1", &[&id])
                    .await?;
                let revoked = tx
                    .execute(
                        "INSERT INTO revoked (member_no, reason, source) VALUES ($1, $2, $3)
                         ON CONFLICT DO NOTHING",
                        &[&member_no, &ERASED_REASON, &REVOKED_BY_OFFICE],
                    )
                    .await?;
                if revoked > 0 {
                    super::postgres::bump(&tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    }
}
