//! The audit log (PIPL): every view of personal data, reveal, export, correction, erasure,
//! user and device change, with who, when, what and how many records. Append only: nothing
//! in the server updates or deletes a row.

use serde::Serialize;

use super::conn::{Value, args, from_row};
use super::sql::sql;
use super::{Db, DbError};

/// What to record. `target` names what was touched (a member number, a search's filter, a
/// device, a user), never personal data itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub actor: String,
    pub action: &'static str,
    pub target: String,
    pub count: i64,
}

/// One recorded entry; `at` is UTC, RFC 3339 (shown in local time by whoever prints it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    #[serde(skip)]
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub count: i64,
}

/// Which entries to show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
}

impl Db {
    pub async fn audit(&self, e: AuditEntry) -> Result<(), DbError> {
        self.execute(
            sql!(
                "INSERT INTO audit_log (at, actor, action, target, count)
                 VALUES (now(), $1, $2, $3, $4)"
            ),
            args![e.actor, e.action, e.target, e.count],
        )
        .await?;
        Ok(())
    }

    /// Up to `limit` entries, newest first, below id `before` (keyset paging).
    pub async fn audit_page(
        &self,
        f: &AuditFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, DbError> {
        // Only the conditions asked for, so each shape gets its own index plan.
        let mut sql = String::from(
            "SELECT id, utc_text(at), actor, action, target, count FROM audit_log WHERE id < $1",
        );
        let mut params = args![before.unwrap_or(i64::MAX), limit].to_vec();
        for (column, value) in [("actor", &f.actor), ("action", &f.action)] {
            if let Some(v) = value {
                params.push(Value::from(v));
                sql.push_str(&format!(" AND {column} = ${}", params.len()));
            }
        }
        sql.push_str(" ORDER BY id DESC LIMIT $2");
        self.query(sql, params, |r| {
            Ok(from_row! { r => AuditRow {
                id: int, at: text, actor: text, action: text, target: text, count: int
            } })
        })
        .await
    }
}
