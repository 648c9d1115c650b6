//! One member at the office: the record with its review state, and the office's PIPL duties
//! on it — correcting the record, and erasing the person on request (the personal fields
//! go, the member number is revoked through the bundle, the figures stay).

use super::conn::{Conn, args, first, only};
use super::office::revoke;
use super::search::{LIST_WIDTH, ListRow, Review, SearchKeys, list_columns, list_row};
use super::sql::sql;
use super::unions::scope_condition;
use super::{Db, DbError, REVOKED_BY_OFFICE};
use crate::server::unions::Scope;

/// Why a member's number was revoked at the office when it was erased (office records only).
pub const ERASED_REASON: &str = "erased on request (PIPL)";

/// A member as its page shows it: the list's row (read through, as `detail.record`) and more.
#[derive(Clone, Debug)]
pub struct MemberDetail {
    pub member: ListRow,
    pub corrected_at: Option<String>,
    pub erased_at: Option<String>,
    /// Where a revocation came from (`laptop`, `office`, `duplicate_person`), if revoked.
    pub revoked: Option<String>,
    /// Its reason, who made it (a console user, `cli:<os user>`, else the laptop that
    /// voided it) and when (UTC).
    pub revoked_reason: String,
    pub revoked_by: Option<String>,
    pub revoked_at: Option<String>,
    /// Who set the review state (`member.review`), and why.
    pub review_by: Option<String>,
    pub review_comment: String,
}

impl std::ops::Deref for MemberDetail {
    type Target = ListRow;

    fn deref(&self) -> &ListRow {
        &self.member
    }
}

impl Db {
    /// The member numbered `member_no` if it is within `scope` (SPEC §11: a member outside
    /// the user's part of the tree is not found, as one that does not exist).
    pub async fn member_detail(
        &self,
        member_no: String,
        scope: &Scope,
    ) -> Result<Option<MemberDetail>, DbError> {
        let mut params = args![member_no].to_vec();
        let within = scope_condition(scope, "m.device", &mut params)
            .map_or_else(String::new, |c| format!(" AND {c}"));
        self.query(
            format!(
                concat!(
                    "SELECT ",
                    list_columns!(),
                    ", r.comment, r.by_user, utc_text(m.corrected_at), utc_text(m.erased_at),
                       v.source, v.reason, coalesce(v.by_user, v.device), utc_text(v.revoked_at)
                     FROM members m
                     LEFT JOIN member_reviews r ON r.member_id = m.id
                     LEFT JOIN revoked v ON v.member_no = m.member_no
                     WHERE m.member_no = $1{}"
                ),
                within
            ),
            params,
            |r| {
                // the list's columns, then these
                Ok(MemberDetail {
                    member: list_row(r)?,
                    review_comment: r.text_or_empty(LIST_WIDTH)?,
                    review_by: r.opt_text(LIST_WIDTH + 1)?,
                    corrected_at: r.opt_text(LIST_WIDTH + 2)?,
                    erased_at: r.opt_text(LIST_WIDTH + 3)?,
                    revoked: r.opt_text(LIST_WIDTH + 4)?,
                    revoked_reason: r.text_or_empty(LIST_WIDTH + 5)?,
                    revoked_by: r.opt_text(LIST_WIDTH + 6)?,
                    revoked_at: r.opt_text(LIST_WIDTH + 7)?,
                })
            },
        )
        .await
        .map(first)
    }

    pub async fn set_review(
        &self,
        member_id: i64,
        review: Review,
        comment: String,
        by: String,
    ) -> Result<(), DbError> {
        let upsert = sql!(
            "INSERT INTO member_reviews (member_id, status, comment, by_user, at)
             VALUES ($1, $2, $3, $4, now())
             ON CONFLICT (member_id) DO UPDATE SET status = $2, comment = $3, by_user = $4,
                at = now()"
        );
        self.execute(upsert, args![member_id, review.code(), comment, by])
            .await?;
        Ok(())
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
        // Another member's document number is refused by the statement itself, not by the
        // unique index: PostgreSQL writes a unique violation to its own log with a DETAIL
        // that quotes the key, the ID number in clear. (Two corrections racing to one number
        // still meet the index, refused the same way.)
        let n = self
            .execute(
                sql!(
                    "UPDATE members SET record = $2, person_key = $3, s_name = $4,
                        s_phone_tail = $5, s_employer = $6, s_form = $7, corrected_at = now()
                     WHERE member_no = $1 AND erased_at IS NULL
                       AND NOT EXISTS (SELECT 1 FROM members o
                                       WHERE o.person_key = $3 AND o.member_no <> $1)"
                ),
                args![
                    member_no.clone(),
                    record,
                    person_key.clone(),
                    keys.name,
                    keys.phone_tail,
                    keys.employer,
                    keys.form
                ],
            )
            .await
            .map_err(|e| {
                if e.is_unique_violation() {
                    DbError::PersonTaken
                } else {
                    e
                }
            })?;
        if n > 0 {
            return Ok(());
        }
        let taken = self
            .query(
                sql!("SELECT count(*) FROM members WHERE person_key = $1 AND member_no <> $2"),
                args![person_key, member_no],
                |r| r.int(0),
            )
            .await
            .and_then(only)?;
        Err(if taken > 0 {
            DbError::PersonTaken
        } else {
            DbError::NoSuchMember
        })
    }

    /// Erases a member in one transaction: the record becomes `remains` (no personal
    /// field), the person key and content hash are dropped, the search keys that name the
    /// person are cleared, the review comment goes, and the member number is revoked (the
    /// bundle's version moves). The row stays, so the figures do not change.
    ///
    /// Then what the database keeps of the old row outside it goes ([`Db::scrub_erased`]).
    pub async fn erase_member(&self, member_no: String, remains: String) -> Result<(), DbError> {
        self.transaction(move |c| Box::pin(erase_member(c, member_no, remains)))
            .await?;
        self.scrub_erased().await;
        Ok(())
    }

    /// After an erase, the person's bytes out of the files: SQLite zeroes deleted content as
    /// it goes (`secure_delete`) and its WAL is checkpointed and truncated; PostgreSQL's
    /// tables are vacuumed (dead row versions and index entries removed). The erase stands
    /// either way: a failure here is logged, and the next erase tries again (docs/console.md
    /// says what WAL archives and backups still hold, and for how long).
    pub async fn scrub_erased(&self) {
        let done = match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                super::blocking(move || db.checkpoint()).await
            }
            Db::Postgres(db) => db.vacuum(ERASED_TABLES).await.map(|()| true),
        };
        match done {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                "after an erase: the WAL checkpoint was kept from finishing by a reader"
            ),
            Err(e) => tracing::warn!(error = %e, "after an erase: the database was not cleaned"),
        }
    }
}

/// The tables an erase changes rows of (PostgreSQL vacuums them after it).
const ERASED_TABLES: &str = "members, member_reviews, search_names";

async fn erase_member(c: &Conn<'_>, member_no: String, remains: String) -> Result<(), DbError> {
    let erase = sql!(
        "UPDATE members SET record = $2, person_key = 'erased:' || uuid, content_hash = 'erased',
            s_name = NULL, s_phone_tail = NULL, s_employer = NULL, erased_at = now()
         WHERE member_no = $1 AND erased_at IS NULL RETURNING id"
    );
    let erased = args![&member_no, remains];
    let Some(id) = c.query(erase, &erased, |r| r.int(0)).await.map(first)? else {
        return Err(DbError::NoSuchMember);
    };
    let review = sql!("DELETE FROM member_reviews WHERE member_id = $1");
    c.execute(review, &args![id]).await?;
    revoke(c, &member_no, ERASED_REASON, REVOKED_BY_OFFICE, None).await?;
    Ok(())
}
