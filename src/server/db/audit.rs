//! The audit log (PIPL): every view of personal data, reveal, export, correction, erasure,
//! user and device change, with who, when, what and how many records. Append only: nothing
//! in the server updates or deletes a row.
//!
//! An entry's details are stored as fields (`fields`, a JSON object of names and values),
//! never joined into one text: a value typed into a filter (a newline, a `;`) stays that
//! field's value, and [`line`] shows every value quoted and escaped when it holds anything
//! but letters, digits and `-_.:/@()`, so no value can make a line of its own.

use std::collections::BTreeMap;

use serde::Serialize;

use super::conn::{Value, args, only};
use super::sql::sql;
use super::{Db, DbError};
use crate::server::unions::Scope;

/// The migration (both databases) that gave entries their fields (older entries have none),
/// and the index a user's rate of one action is counted by ([`Db::audit_count_since`]).
pub(crate) const FIELDS_MIGRATION: &str = "
    ALTER TABLE audit_log ADD COLUMN fields TEXT NOT NULL DEFAULT '{}';
    CREATE INDEX audit_log_action_actor ON audit_log (action, actor, at);
";

/// What to record. `target` names what was touched (a member number, a device, a user),
/// `fields` the details (a search's filters, an export's format), never personal data in
/// clear: a typed phone or document number is recorded masked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub actor: String,
    pub action: &'static str,
    pub target: String,
    pub count: i64,
    pub fields: BTreeMap<String, String>,
    /// The actor's node (SPEC §11): an entry is seen by users of that node and above.
    pub scope: Scope,
}

impl AuditEntry {
    pub fn new(actor: impl Into<String>, action: &'static str, target: impl Into<String>) -> Self {
        AuditEntry {
            actor: actor.into(),
            action,
            target: target.into(),
            count: 0,
            fields: BTreeMap::new(),
            scope: Scope::All,
        }
    }

    /// The actor's node (the root's unless said).
    pub fn scope(mut self, scope: &Scope) -> Self {
        self.scope = scope.clone();
        self
    }

    pub fn count(mut self, n: i64) -> Self {
        self.count = n;
        self
    }

    /// One more detail.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.fields.insert(name.to_string(), value.into());
        self
    }
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
    pub fields: BTreeMap<String, String>,
}

impl AuditRow {
    /// The entry's details as one line: `name=value …`, each value as [`shown`] puts it.
    pub fn fields_text(&self) -> String {
        self.fields
            .iter()
            .map(|(k, v)| format!("{}={}", shown(k), shown(v)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The entry as `booth server audit` prints it: time, actor, action, target, count,
    /// fields, every value escaped.
    pub fn line(&self) -> String {
        let mut out = format!(
            "{}  {}  {}  {}  {}",
            shown(&self.at),
            shown(&self.actor),
            shown(&self.action),
            shown(&self.target),
            self.count
        );
        if !self.fields.is_empty() {
            out.push_str("  ");
            out.push_str(&self.fields_text());
        }
        out
    }
}

/// A value as the log shows it: as it is when it holds only letters, digits and `-_.:/@()+`
/// (member numbers, device and user names, codes), else quoted with `"`, `\`, newlines and
/// every other control or invisible character escaped (`"a\nb;c"`); empty is `""`.
pub fn shown(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_alphanumeric() || "-_.:/@()+*".contains(c))
        && !v.chars().any(|c| c.escape_debug().count() > 1);
    if plain {
        v.to_string()
    } else {
        format!("{v:?}")
    }
}

/// Which entries to show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Only entries whose actor's node is in this part of the tree.
    pub scope: Scope,
}

impl Db {
    pub async fn audit(&self, e: AuditEntry) -> Result<(), DbError> {
        let fields =
            serde_json::to_string(&e.fields).map_err(|e| DbError::Internal(e.to_string()))?;
        self.execute(
            sql!(
                "INSERT INTO audit_log (at, actor, action, target, count, fields, scope)
                 VALUES (now(), $1, $2, $3, $4, $5, $6)"
            ),
            args![e.actor, e.action, e.target, e.count, fields, e.scope.code()],
        )
        .await?;
        Ok(())
    }

    /// How many entries of `action` by `actor` since `since`: a rate of that user's.
    pub async fn audit_count_since(
        &self,
        actor: &str,
        action: &'static str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<i64, DbError> {
        // RFC 3339 with milliseconds: what SQLite's column holds, so text compares as time
        let since = since.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        self.query(
            sql!(
                "SELECT count(*) FROM audit_log
                 WHERE actor = $1 AND action = $2 AND at > $3::text::timestamptz"
            ),
            args![actor.to_string(), action, since],
            |r| r.int(0),
        )
        .await
        .and_then(only)
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
            "SELECT id, utc_text(at), actor, action, target, count, fields FROM audit_log WHERE id < $1",
        );
        let mut params = args![before.unwrap_or(i64::MAX), limit].to_vec();
        for (column, value) in [("actor", &f.actor), ("action", &f.action)] {
            if let Some(v) = value {
                params.push(Value::from(v));
                sql.push_str(&format!(" AND {column} = ${}", params.len()));
            }
        }
        if let Scope::Under(code) = &f.scope {
            params.push(Value::from(code.as_str()));
            sql.push_str(&format!(
                " AND {}",
                super::unions::nodes_under("scope", params.len())
            ));
        }
        sql.push_str(" ORDER BY id DESC LIMIT $2");
        self.query(sql, params, |r| {
            let fields = r.text(6)?;
            Ok(AuditRow {
                id: r.int(0)?,
                at: r.text(1)?,
                actor: r.text(2)?,
                action: r.text(3)?,
                target: r.text(4)?,
                count: r.int(5)?,
                fields: serde_json::from_str(&fields).map_err(|_| {
                    DbError::Damaged(format!(
                        "audit_log fields of entry {}",
                        r.int(0).unwrap_or(0)
                    ))
                })?,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_value_makes_a_line_of_its_own() {
        assert_eq!(shown("K7M2QX00427"), "K7M2QX00427");
        assert_eq!(shown("cli:root"), "cli:root");
        assert_eq!(shown("市总工会"), "市总工会");
        assert_eq!(shown(""), "\"\"");
        assert_eq!(shown("a b"), "\"a b\"");
        assert_eq!(shown("x;y=z"), "\"x;y=z\"");
        assert_eq!(
            shown("x\n2026 admin member.erase"),
            "\"x\\n2026 admin member.erase\""
        );
        assert_eq!(shown("a\"b\\"), "\"a\\\"b\\\\\"");
        assert_eq!(shown("\u{202e}evil"), "\"\\u{202e}evil\"");
        let row = AuditRow {
            id: 1,
            at: "2026-11-01T00:00:00Z".into(),
            actor: "admin".into(),
            action: "members.search".into(),
            target: String::new(),
            count: 0,
            fields: [("union".to_string(), "A\r\nB;C".to_string())].into(),
        };
        assert!(!row.line().contains(['\n', '\r']));
        assert!(
            row.line().ends_with("union=\"A\\r\\nB;C\""),
            "{}",
            row.line()
        );
    }
}
