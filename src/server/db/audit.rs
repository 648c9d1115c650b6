//! The audit log (PIPL): every view of personal data, reveal, export, correction, erasure,
//! user and device change, with who, when, what and how many records. Append only: nothing
//! in the server updates or deletes a row.

use rusqlite::params;
use serde::Serialize;

use super::postgres::utc_text;
use super::{Db, DbError, blocking, now_utc};

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
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || {
                    db.lock()
                        .prepare_cached(
                            "INSERT INTO audit_log (at, actor, action, target, count)
                             VALUES (?1, ?2, ?3, ?4, ?5)",
                        )?
                        .execute(params![now_utc(), e.actor, e.action, e.target, e.count])?;
                    Ok(())
                })
                .await
            }
            Db::Postgres(db) => {
                let c = db.client().await?;
                let stmt = c
                    .prepare_cached(
                        "INSERT INTO audit_log (actor, action, target, count)
                         VALUES ($1, $2, $3, $4)",
                    )
                    .await?;
                c.execute(&stmt, &[&e.actor, &e.action, &e.target, &e.count])
                    .await?;
                Ok(())
            }
        }
    }

    /// Up to `limit` entries, newest first, below id `before` (keyset paging).
    pub async fn audit_page(
        &self,
        f: &AuditFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, DbError> {
        let before = before.unwrap_or(i64::MAX);
        let actor = f.actor.clone();
        let action = f.action.clone();
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || {
                    let conn = db.lock();
                    let mut stmt = conn.prepare_cached(
                        "SELECT id, at, actor, action, target, count FROM audit_log
                         WHERE id < ?1 AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR action = ?3)
                         ORDER BY id DESC LIMIT ?4",
                    )?;
                    let rows = stmt.query_map(params![before, actor, action, limit], |r| {
                        Ok(AuditRow {
                            id: r.get(0)?,
                            at: r.get(1)?,
                            actor: r.get(2)?,
                            action: r.get(3)?,
                            target: r.get(4)?,
                            count: r.get(5)?,
                        })
                    })?;
                    Ok(rows.collect::<Result<_, _>>()?)
                })
                .await
            }
            Db::Postgres(db) => {
                let c = db.client().await?;
                // Only the conditions asked for, so each shape gets its own index plan.
                let mut sql = format!(
                    "SELECT id, {}, actor, action, target, count FROM audit_log WHERE id < $1",
                    utc_text("at")
                );
                let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                    vec![&before, &limit];
                if let Some(a) = &actor {
                    params.push(a);
                    sql.push_str(&format!(" AND actor = ${}", params.len()));
                }
                if let Some(x) = &action {
                    params.push(x);
                    sql.push_str(&format!(" AND action = ${}", params.len()));
                }
                sql.push_str(" ORDER BY id DESC LIMIT $2");
                let stmt = c.prepare_cached(&sql).await?;
                let rows = c.query(&stmt, &params).await?;
                Ok(rows
                    .iter()
                    .map(|r| AuditRow {
                        id: r.get(0),
                        at: r.get(1),
                        actor: r.get(2),
                        action: r.get(3),
                        target: r.get(4),
                        count: r.get(5),
                    })
                    .collect())
            }
        }
    }
}
