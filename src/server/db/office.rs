//! The office's row and what the trust bundle lists (docs/trust.md): the bundle's version and
//! date, the office keys, the bound laptop keys and the revoked member numbers.

use super::conn::{Conn, Row, args, from_row, only};
use super::sql::sql;
use super::{Db, DbError, KeyRow, OfficeState};
use crate::server::zone::Zone;

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

    /// The verification page's public address the office gave (`server init --verify-url`):
    /// enrolment codes and the bundle carry it (issue 23 item 10).
    pub async fn verify_url(&self) -> Result<Option<String>, DbError> {
        self.with(|c| Box::pin(verify_url(c))).await
    }

    /// Sets (or clears) the page's address; the bundle version goes up when it changes, so
    /// laptops take the new one at their next upload.
    pub async fn set_verify_url(&self, url: Option<String>) -> Result<(), DbError> {
        self.transaction(move |c| {
            Box::pin(async move {
                lock_office(c).await?;
                if verify_url(c).await? == url {
                    return Ok(());
                }
                c.execute(
                    sql!("UPDATE office SET verify_url = $1 WHERE id = 1"),
                    &args![url],
                )
                .await?;
                bump(c).await
            })
        })
        .await
    }

    /// The newest copy of the page and bundle written for a static host (`publish-verifier`,
    /// or `server run --publish-dir`): its bundle version and when, if any was.
    pub async fn published(&self) -> Result<Option<(u64, String)>, DbError> {
        self.with(|c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        sql!("SELECT published_version, published_at FROM office WHERE id = 1"),
                        &[],
                        |r| Ok(r.opt_int(0)?.zip(r.opt_text(1)?)),
                    )
                    .await?;
                Ok(rows
                    .into_iter()
                    .flatten()
                    .next()
                    .map(|(v, at)| (v.max(0) as u64, at)))
            })
        })
        .await
    }

    /// Records that a copy of bundle `version` was published now (never lowers it).
    pub async fn set_published(&self, version: u64) -> Result<(), DbError> {
        self.with(move |c| {
            Box::pin(async move {
                let now = c.now();
                c.execute(
                    sql!(
                        "UPDATE office SET published_version = $1, published_at = $2
                         WHERE id = 1 AND (published_version IS NULL OR published_version <= $1)"
                    ),
                    &args![version as i64, now],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Revokes a member number at the office (`by`: the console user or `cli:<os user>`);
    /// false if it already was.
    pub async fn revoke_member(
        &self,
        member_no: String,
        reason: String,
        source: &'static str,
        by: String,
    ) -> Result<bool, DbError> {
        self.transaction(move |c| {
            Box::pin(async move { revoke(c, &member_no, &reason, source, Some(&by)).await })
        })
        .await
    }

    /// The office's time zone (SPEC §14; Asia/Shanghai until `server init --time-zone`).
    pub async fn zone(&self) -> Result<Zone, DbError> {
        let stored = self
            .query(
                sql!("SELECT time_zone FROM office WHERE id = 1"),
                args![],
                |r| r.opt_text(0),
            )
            .await?;
        Ok(Zone::of_stored(
            stored.into_iter().flatten().next().as_deref(),
        ))
    }

    pub async fn set_zone(&self, zone: Zone) -> Result<(), DbError> {
        self.execute(
            sql!("UPDATE office SET time_zone = $1 WHERE id = 1"),
            args![zone.name()],
        )
        .await?;
        Ok(())
    }
}

async fn verify_url(c: &Conn<'_>) -> Result<Option<String>, DbError> {
    let rows = c
        .query(
            sql!("SELECT verify_url FROM office WHERE id = 1"),
            &[],
            |r| r.opt_text(0),
        )
        .await?;
    Ok(rows.into_iter().flatten().next())
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

/// The office row locked until the transaction ends (PostgreSQL; SQLite's transaction holds
/// the write lock already).
async fn lock_office(c: &Conn<'_>) -> Result<(), DbError> {
    let lock = sql!("SELECT 1 FROM office WHERE id = 1 FOR UPDATE");
    c.query(lock, &[], |_| Ok(())).await?;
    Ok(())
}

async fn update_office(
    c: &Conn<'_>,
    f: impl FnOnce(&OfficeState) -> Result<(OfficeState, bool), DbError>,
) -> Result<OfficeState, DbError> {
    lock_office(c).await?;
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
    by: Option<&str>,
) -> Result<bool, DbError> {
    let n = c
        .execute(
            sql!(
                "INSERT INTO revoked (member_no, reason, source, by_user, revoked_at)
                 VALUES ($1, $2, $3, $4, now()) ON CONFLICT DO NOTHING"
            ),
            &args![member_no, reason, source, by.map(str::to_string)],
        )
        .await?;
    if n > 0 {
        bump(c).await?;
        if source == super::REVOKED_BY_OFFICE {
            count_office_void(c, member_no).await?;
        }
    }
    Ok(n > 0)
}

/// A card the office voids no longer counts as a booth sign-up (现场入会, issue 23 item 6):
/// the laptop's day summaries count its own voids only, so the office keeps its own, one row
/// per member, which the figures subtract. An imported record was never a sign-up. When the
/// laptop later voids the card too, its next summary leaves it out and the row goes
/// (`batch::*::revoke`).
async fn count_office_void(c: &Conn<'_>, member_no: &str) -> Result<(), DbError> {
    let stored = c
        .query(
            sql!("SELECT device, record FROM members WHERE member_no = $1"),
            &args![member_no],
            |r| Ok((r.text(0)?, r.text(1)?)),
        )
        .await?;
    let Some((device, record)) = stored.into_iter().next() else {
        return Ok(());
    };
    let Ok(w) = serde_json::from_str::<crate::protocol::WireRecord>(&record) else {
        return Ok(());
    };
    if w.imported {
        return Ok(());
    }
    c.execute(
        sql!(
            "INSERT INTO office_voids (member_no, device, event_date, union_name, place)
             VALUES ($1, $2, $3::text::date, $4, $5) ON CONFLICT DO NOTHING"
        ),
        &args![
            member_no,
            device,
            w.event_date.to_string(),
            w.union,
            w.place
        ],
    )
    .await?;
    Ok(())
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
