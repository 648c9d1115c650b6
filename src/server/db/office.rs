//! The office's row and what the trust bundle lists (docs/trust.md): the bundle's version and
//! date, the office keys, the bound laptop keys and the revoked member numbers.

use super::conn::{Conn, Row, args, from_row, only};
use super::sql::sql;
use super::{Db, DbError, KeyRow, OfficeState};

impl Db {
    pub async fn office_state(&self) -> Result<OfficeState, DbError> {
        self.with(|c| Box::pin(office_state(c))).await
    }

    /// The bound keys (by key id) and the revoked numbers (sorted), for the bundle.
    pub async fn bundle_rows(&self) -> Result<(Vec<KeyRow>, Vec<String>), DbError> {
        self.with(|c| Box::pin(bundle_rows(c))).await
    }

    /// Changes the office row: `f` gets the current state and returns the new one (or an
    /// error); the bundle version goes up when `bump` says so.
    pub async fn update_office(
        &self,
        f: impl FnOnce(&OfficeState) -> Result<(OfficeState, bool), DbError> + Send + 'static,
    ) -> Result<OfficeState, DbError> {
        self.transaction(move |c| Box::pin(update_office(c, f)))
            .await
    }

    /// After a restore: the bundle version raised to `at_least` (or by one, if it is there
    /// already), dated now, so that laptops, which never take an older bundle, take the next.
    pub async fn raise_bundle_version(&self, at_least: u64) -> Result<OfficeState, DbError> {
        self.transaction(move |c| {
            Box::pin(async move {
                let now = office_state(c).await?;
                let version = at_least.max(now.version.saturating_add(1));
                let at = c
                    .now()
                    .get(..19)
                    .map(|s| format!("{s}Z"))
                    .unwrap_or_default();
                c.execute(
                    sql!(
                        "UPDATE office SET bundle_version = $1, bundle_issued_at = $2 WHERE id = 1"
                    ),
                    &args![i64::try_from(version).unwrap_or(i64::MAX), at],
                )
                .await?;
                office_state(c).await
            })
        })
        .await
    }

    /// Revokes a member number at the office; false if it already was.
    pub async fn revoke_member(
        &self,
        member_no: String,
        reason: String,
        source: &'static str,
    ) -> Result<bool, DbError> {
        self.transaction(move |c| {
            Box::pin(async move { revoke(c, &member_no, &reason, source).await })
        })
        .await
    }
}

async fn bundle_rows(c: &Conn<'_>) -> Result<(Vec<KeyRow>, Vec<String>), DbError> {
    let keys = sql!(
        "SELECT key_id, public_key, device, union_name, key_from, max_seq
         FROM device_keys ORDER BY key_id COLLATE \"C\""
    );
    let revoked = sql!("SELECT member_no FROM revoked ORDER BY member_no COLLATE \"C\"");
    Ok((
        c.query(keys, &[], key_row).await?,
        c.query(revoked, &[], |r| r.text(0)).await?,
    ))
}

async fn update_office(
    c: &Conn<'_>,
    f: impl FnOnce(&OfficeState) -> Result<(OfficeState, bool), DbError>,
) -> Result<OfficeState, DbError> {
    let lock = sql!("SELECT 1 FROM office WHERE id = 1 FOR UPDATE");
    c.query(lock, &[], |_| Ok(())).await?;
    let (new, bumped) = f(&office_state(c).await?)?;
    let update = sql!(
        "UPDATE office SET office_key = $1, next_office_key = $2, server_url = $3 WHERE id = 1"
    );
    let keys = args![new.office_key, new.next_office_key, new.server_url];
    c.execute(update, &keys).await?;
    if bumped {
        bump(c).await?;
    }
    office_state(c).await
}

fn key_row(r: &dyn Row) -> Result<KeyRow, DbError> {
    Ok(from_row! { r => KeyRow {
        key_id: text, public_key: text, device: text, union: text, from: text, max_seq: opt_u32
    } })
}

async fn office_state(c: &Conn<'_>) -> Result<OfficeState, DbError> {
    c.query(
        sql!(
            "SELECT bundle_version, bundle_issued_at, office_key, next_office_key, server_url
             FROM office WHERE id = 1"
        ),
        &[],
        |r| {
            Ok(from_row! { r => OfficeState {
                version: count, issued_at: text,
                office_key: opt_text, next_office_key: opt_text, server_url: opt_text
            } })
        },
    )
    .await
    .and_then(only)
}

/// Revokes a member number (a new bundle version if it was not yet); whether it was new.
pub(crate) async fn revoke(
    c: &Conn<'_>,
    member_no: &str,
    reason: &str,
    source: &str,
) -> Result<bool, DbError> {
    let n = c
        .execute(
            sql!(
                "INSERT INTO revoked (member_no, reason, source, revoked_at)
                 VALUES ($1, $2, $3, now()) ON CONFLICT DO NOTHING"
            ),
            &args![member_no, reason, source],
        )
        .await?;
    if n > 0 {
        bump(c).await?;
    }
    Ok(n > 0)
}

/// The bundle changed: its version goes up, dated now.
pub(crate) async fn bump(c: &Conn<'_>) -> Result<(), DbError> {
    // whole seconds: the bundle says when it changed, not to the millisecond
    let now = c.now();
    let at = now.get(..19).map(|s| format!("{s}Z")).unwrap_or_default();
    c.execute(
        sql!(
            "UPDATE office SET bundle_version = bundle_version + 1, bundle_issued_at = $1
             WHERE id = 1"
        ),
        &args![at],
    )
    .await?;
    Ok(())
}
