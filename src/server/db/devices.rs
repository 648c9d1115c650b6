//! The laptops the office knows: their upload tokens (issued, checked, revoked) and the list
//! the console's `/devices` and `server stats` show.

use serde::Serialize;

use super::conn::{Conn, args, first, from_row};
use super::office::bump;
use super::sql::sql;
use super::{Db, DbError, DeviceCount, max_seq_of};

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
    /// When the office last received a record from it.
    pub last_upload: Option<String>,
}

impl Db {
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

    pub async fn add_device(&self, name: String, token: NewToken) -> Result<(), DbError> {
        self.transaction(move |c| Box::pin(add_device(c, name, token)))
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

    /// Every device the office issued a token to, and whether it is revoked.
    pub(crate) async fn devices(&self) -> Result<Vec<DeviceCount>, DbError> {
        self.query(
            sql!("SELECT name, revoked_at IS NOT NULL FROM devices ORDER BY name"),
            vec![],
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

    /// Every device, by name. The last upload is one index seek per device
    /// (`members (device, received_at)`), not a scan of the members.
    pub async fn device_list(&self) -> Result<Vec<DeviceRow>, DbError> {
        self.query(
            sql!(
                "SELECT d.name, d.key_id, utc_text(d.created_at), utc_text(d.revoked_at),
                    (SELECT utc_text(max(m.received_at)) FROM members m WHERE m.device = d.name)
                 FROM devices d ORDER BY d.name"
            ),
            vec![],
            |r| {
                Ok(from_row! { r => DeviceRow {
                    name: text, key_id: opt_text, created_at: text, revoked_at: opt_text,
                    last_upload: opt_text
                } })
            },
        )
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

async fn add_device(c: &Conn<'_>, name: String, token: NewToken) -> Result<(), DbError> {
    let revoked = revoked(c, &name).await?;
    let name_and_hash = args![name, token.hash, token.binding_key];
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
            c.execute(fresh, &name_and_hash).await?
        }
        None => {
            let add = sql!(
                "INSERT INTO devices (name, token_hash, created_at, binding_key)
                 VALUES ($1, $2, now(), $3)"
            );
            c.execute(add, &name_and_hash).await?
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
