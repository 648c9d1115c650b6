//! The laptops the office knows: their upload tokens (issued, checked, revoked) and the list
//! the console's `/devices` and `server stats` show.

use serde::Serialize;

use super::conn::{Conn, args, first};
use super::office::bump;
use super::sql::sql;
use super::unions::{known_union, move_device, scope_condition};
use super::{Db, DbError, DeviceCount, max_seq_of};
use crate::server::unions::{ROOT, Scope};

/// What the office keeps of a new device token: its SHA-256 (to know the token) and its
/// binding key (to check the binding proof of a laptop lost before its first upload,
/// docs/trust.md "Peers"). Never the token itself.
#[derive(Clone, PartialEq, Eq)]
pub struct NewToken {
    pub hash: String,
    /// `card::segment::binding_key` of the token, base64url.
    pub binding_key: String,
}

impl NewToken {
    pub fn of(token: &str) -> NewToken {
        NewToken {
            hash: crate::protocol::token_hash(token),
            binding_key: data_encoding::BASE64URL_NOPAD
                .encode(crate::card::segment::binding_key(token).as_slice()),
        }
    }
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // the binding key proves a laptop's key: never in a log
        f.debug_struct("NewToken")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceRow {
    pub name: String,
    /// The laptop key its token is bound to (after its first upload).
    pub key_id: Option<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// When the office last received a record or a day summary from it (UTC).
    pub last_upload: Option<String>,
    /// Records and day summaries received from it (imported rosters among the records).
    pub records: i64,
    pub day_summaries: i64,
    /// The node it belongs to (SPEC §11): its code and name (empty for the root's).
    pub union_code: String,
    pub union_name: String,
}

/// A laptop silent for more days than this is named on the devices page, until the office
/// sets its own number there.
pub const DEFAULT_SILENT_DAYS: i64 = 3;

impl Db {
    /// After how many days without an upload the devices page warns about a laptop.
    pub async fn silent_days(&self) -> Result<i64, DbError> {
        let stored = self
            .query(
                sql!("SELECT silent_days FROM office WHERE id = 1"),
                args![],
                |r| r.opt_int(0),
            )
            .await?;
        Ok(stored
            .into_iter()
            .flatten()
            .next()
            .unwrap_or(DEFAULT_SILENT_DAYS))
    }

    pub async fn set_silent_days(&self, days: i64) -> Result<(), DbError> {
        self.execute(
            sql!("UPDATE office SET silent_days = $1 WHERE id = 1"),
            args![days],
        )
        .await?;
        Ok(())
    }

    /// The device name for a token's hash, if the token is valid (not revoked).
    pub async fn device_for_token(&self, hash: String) -> Result<Option<String>, DbError> {
        self.query(
            sql!("SELECT name FROM devices WHERE token_hash = $1 AND revoked_at IS NULL"),
            args![hash],
            |r| r.text(0),
        )
        .await
        .map(first)
    }

    /// A new device (or a new laptop under a revoked one's name), under the node `union`
    /// (the root for a new one when `None`; a revoked name keeps its node).
    pub async fn add_device(
        &self,
        name: String,
        token: NewToken,
        union: Option<String>,
    ) -> Result<(), DbError> {
        self.transaction(move |c| Box::pin(add_device(c, name, token, union)))
            .await
    }

    /// A new token for a device the office knows and has not revoked (`add-device --reissue`:
    /// its token was lost or leaked). The old token is refused from now on; the binding stays,
    /// so the new token works only with the laptop's own key. A revoked device is refused:
    /// its key stays revoked.
    pub async fn reissue_device(&self, name: String, token: NewToken) -> Result<(), DbError> {
        self.transaction(move |c| Box::pin(reissue_device(c, name, token)))
            .await
    }

    /// Refuses the token from now on; the bundle then caps the laptop's key at the highest
    /// sequence it uploaded (a stolen laptop cannot issue new valid cards).
    pub async fn revoke_device(&self, name: String) -> Result<(), DbError> {
        self.transaction(move |c| Box::pin(revoke_device(c, name)))
            .await
    }

    /// Every device the office issued a token to within `scope`, and whether it is revoked.
    pub(crate) async fn devices(&self, scope: &Scope) -> Result<Vec<DeviceCount>, DbError> {
        let mut params = Vec::new();
        let cond = scope_condition(scope, "name", &mut params)
            .map(|c| format!(" WHERE {c}"))
            .unwrap_or_default();
        self.query(
            format!("SELECT name, revoked_at IS NOT NULL FROM devices{cond} ORDER BY name"),
            params,
            |r| {
                Ok(DeviceCount {
                    device: r.text(0)?,
                    revoked: r.flag(1)?,
                    ..Default::default()
                })
            },
        )
        .await
    }

    /// Every device within `scope`, by name. The last record is one index seek per device
    /// (`members (device, received_at)`), not a scan of the members; the counts come from the
    /// figures' tables (a row per day and place), summed once for all devices.
    pub async fn device_list(&self, scope: &Scope) -> Result<Vec<DeviceRow>, DbError> {
        let mut params = Vec::new();
        let within = scope_condition(scope, "d.name", &mut params)
            .map(|c| format!(" WHERE {c}"))
            .unwrap_or_default();
        self.query(
            format!(
                "SELECT d.name, d.key_id, utc_text(d.created_at), utc_text(d.revoked_at),
                    (SELECT utc_text(max(m.received_at)) FROM members m WHERE m.device = d.name),
                    utc_text(b.last_at), coalesce(md.n, 0), coalesce(b.n, 0),
                    d.union_code, coalesce(u.name, '')
                 FROM devices d
                 LEFT JOIN unions u ON u.code = d.union_code
                 LEFT JOIN (SELECT device, sum(n)::bigint AS n FROM member_days GROUP BY device) md
                    ON md.device = d.name
                 LEFT JOIN (SELECT device, count(*) AS n, max(received_at) AS last_at
                            FROM booth_days GROUP BY device) b
                    ON b.device = d.name{within}
                 ORDER BY d.name"
            ),
            params,
            |r| {
                let records = r.opt_text(4)?;
                let days = r.opt_text(5)?;
                Ok(DeviceRow {
                    name: r.text(0)?,
                    key_id: r.opt_text(1)?,
                    created_at: r.text(2)?,
                    revoked_at: r.opt_text(3)?,
                    // the texts are one format (utc_text): the later sorts last
                    last_upload: records.into_iter().chain(days).max(),
                    records: r.int(6)?,
                    day_summaries: r.int(7)?,
                    union_code: r.text(8)?,
                    union_name: r.text(9)?,
                })
            },
        )
        .await
    }

    /// Whether the office knows a device of this name within `scope` (revoked or not).
    pub async fn device_in_scope(&self, scope: &Scope, name: String) -> Result<bool, DbError> {
        let mut params = args![name].to_vec();
        let within = scope_condition(scope, "name", &mut params)
            .map(|c| format!(" AND {c}"))
            .unwrap_or_default();
        let found = self
            .query(
                format!("SELECT name FROM devices WHERE name = $1{within}"),
                params,
                |r| r.text(0),
            )
            .await?;
        Ok(!found.is_empty())
    }

    /// A console user's new device (SPEC §11): under `code`, a node within `scope`
    /// ([`DbError::NoSuchUnion`] otherwise). A name the office holds outside the scope is
    /// [`DbError::DeviceExists`] even when revoked: re-adding a revoked name would move its
    /// laptop, and its history with it, into the user's part.
    pub async fn add_device_within(
        &self,
        scope: &Scope,
        name: String,
        token: NewToken,
        code: String,
    ) -> Result<(), DbError> {
        let scope = scope.code().to_string();
        self.transaction(move |c| {
            Box::pin(async move {
                let node = sql!(
                    "SELECT descendant FROM union_closure WHERE ancestor = $1 AND descendant = $2"
                );
                if c.query(node, &args![&scope, &code], |r| r.text(0))
                    .await?
                    .is_empty()
                {
                    return Err(DbError::NoSuchUnion);
                }
                let held = sql!(
                    "SELECT d.name FROM devices d WHERE d.name = $1 AND d.union_code NOT IN
                        (SELECT descendant FROM union_closure WHERE ancestor = $2)"
                );
                if !c
                    .query(held, &args![&name, &scope], |r| r.text(0))
                    .await?
                    .is_empty()
                {
                    return Err(DbError::DeviceExists);
                }
                add_device(c, name, token, Some(code)).await
            })
        })
        .await
    }
}

/// Whether the device is revoked, `None` if the office does not know it; its row locked
/// (PostgreSQL) until the transaction ends.
async fn revoked(c: &Conn<'_>, name: &str) -> Result<Option<bool>, DbError> {
    c.query(
        sql!("SELECT revoked_at IS NOT NULL FROM devices WHERE name = $1 FOR UPDATE"),
        &args![name],
        |r| r.flag(0),
    )
    .await
    .map(first)
}

async fn add_device(
    c: &Conn<'_>,
    name: String,
    token: NewToken,
    union: Option<String>,
) -> Result<(), DbError> {
    if let Some(code) = &union {
        known_union(c, code).await?;
    }
    let revoked = revoked(c, &name).await?;
    let name_and_hash = args![&name, &token.hash, &token.binding_key];
    match revoked {
        Some(false) => return Err(DbError::DeviceExists),
        // A revoked name gets a fresh token for a new laptop: its first upload binds the token
        // to a key the office has never seen (the revoked laptop's key stays revoked).
        Some(true) => {
            let fresh = sql!(
                "UPDATE devices SET token_hash = $2, created_at = now(), revoked_at = NULL,
                    key_id = NULL, binding_key = $3
                 WHERE name = $1"
            );
            c.execute(fresh, &name_and_hash).await?;
            if let Some(code) = union {
                move_device(c, &name, &code).await?;
            }
        }
        None => {
            let add = sql!(
                "INSERT INTO devices (name, token_hash, created_at, binding_key, union_code)
                 VALUES ($1, $2, now(), $3, $4)"
            );
            let code = union.unwrap_or_else(|| ROOT.to_string());
            c.execute(add, &args![name, token.hash, token.binding_key, code])
                .await?;
        }
    };
    Ok(())
}

async fn reissue_device(c: &Conn<'_>, name: String, token: NewToken) -> Result<(), DbError> {
    match revoked(c, &name).await? {
        None => Err(DbError::NoSuchDevice),
        Some(true) => Err(DbError::DeviceRevoked),
        Some(false) => {
            // A device not bound yet proves its key with the new token's binding key from now
            // on (the old token may have leaked); a bound one needs none.
            let reissue = sql!(
                "UPDATE devices SET token_hash = $2,
                    binding_key = CASE WHEN key_id IS NULL THEN $3 ELSE NULL END
                 WHERE name = $1"
            );
            c.execute(reissue, &args![name, token.hash, token.binding_key])
                .await?;
            Ok(())
        }
    }
}

async fn revoke_device(c: &Conn<'_>, name: String) -> Result<(), DbError> {
    let revoke = sql!(
        "UPDATE devices SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL
         RETURNING key_id"
    );
    let Some(key_id) = c
        .query(revoke, &args![name], |r| r.opt_text(0))
        .await
        .map(first)?
    else {
        return Err(DbError::NoSuchDevice);
    };
    if let Some(kid) = key_id {
        let numbers = sql!("SELECT member_no FROM members WHERE substr(member_no, 1, 6) = $1");
        let numbers = c.query(numbers, &args![&kid], |r| r.text(0)).await?;
        c.execute(
            sql!("UPDATE device_keys SET max_seq = $2 WHERE key_id = $1"),
            &args![&kid, i64::from(max_seq_of(numbers))],
        )
        .await?;
        bump(c).await?;
    }
    Ok(())
}
