//! The laptop's side of the trust chain (docs/trust.md): the enrolment (server, token, office
//! fingerprint in the encrypted settings), the newest trust bundle, the voids the office has
//! not been told of yet, a new key pair before the first registration, and what the laptop
//! trusts when it checks a card by itself ([`Store::local_trust`]).
//!
//! Free functions over a `&Connection` where the upload (a background thread with its own
//! connection) needs them.

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, StoreError, timestamp};
use crate::card::bundle::{self, BundleError};
use crate::card::enrol::Enrolment;
use crate::card::keys::{KeyLineError, KeyRing};
use crate::card::{DeviceKey, Trust, TrustedKey};
use crate::i18n::Lang;
use crate::t;

/// The hand-made list of trusted keys a data folder may hold (`booth verify` adds it).
pub const TRUSTED_KEYS_FILE: &str = "trusted-keys.txt";

/// Why the laptop's own trust could not be put together.
#[derive(Debug, thiserror::Error)]
pub enum LocalTrustError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the kept trust bundle: {0}")]
    Bundle(#[from] BundleError),
    #[error("cannot read the trusted-key file {path}: {why}")]
    KeysRead { path: PathBuf, why: std::io::Error },
    #[error("the trusted-key file {path} is refused: {why}")]
    KeysBad { path: PathBuf, why: KeyLineError },
    #[error("key id {key_id} in {path} names another key than the office's bundle")]
    KeysConflict { path: PathBuf, key_id: String },
}

impl LocalTrustError {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            LocalTrustError::Store(e) => e.message(lang),
            LocalTrustError::Bundle(e) => e.message(lang),
            LocalTrustError::KeysRead { path, why } => {
                t!(lang, "cli.keys_read", path = path.display(), why = why)
            }
            LocalTrustError::KeysBad { path, why } => {
                t!(lang, "cli.keys_bad", path = path.display(), why = why)
            }
            LocalTrustError::KeysConflict { path, key_id } => t!(
                lang,
                "cli.keys_conflict",
                path = path.display(),
                key_id = key_id
            ),
        }
    }
}

/// A trusted-key file: `booth verify --keys FILE`, or the data folder's own.
pub fn read_key_list(path: &Path) -> Result<KeyRing, LocalTrustError> {
    let text = std::fs::read_to_string(path).map_err(|why| LocalTrustError::KeysRead {
        path: path.into(),
        why,
    })?;
    KeyRing::parse(&text).map_err(|why| LocalTrustError::KeysBad {
        path: path.into(),
        why,
    })
}

/// The kept bundle: its version and text.
pub fn kept_bundle(conn: &Connection) -> Result<Option<(u64, String)>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT version, text FROM trust_bundle WHERE id = 1",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
        )
        .optional()?)
}

/// Keeps a bundle (already opened and checked by the caller) unless an older version.
pub fn keep_bundle(
    conn: &Connection,
    version: u64,
    text: &str,
    now: &DateTime<FixedOffset>,
) -> Result<bool, StoreError> {
    let n = conn.execute(
        "INSERT INTO trust_bundle (id, version, text, received_at) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, text = excluded.text,
            received_at = excluded.received_at
         WHERE excluded.version >= trust_bundle.version",
        params![version as i64, text, timestamp(now)],
    )?;
    Ok(n > 0)
}

/// Voided member numbers (canonical) the office has not been told of, oldest first.
pub fn unreported_voids(conn: &Connection, limit: usize) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT member_no FROM members WHERE state = 'voided' AND void_reported_at IS NULL
         ORDER BY id LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn mark_voids_reported(
    conn: &mut Connection,
    numbers: &[String],
    now: &DateTime<FixedOffset>,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "UPDATE members SET void_reported_at = ?2 WHERE member_no = ?1 AND state = 'voided'",
        )?;
        for n in numbers {
            stmt.execute(params![n, timestamp(now)])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Every voided number of this laptop: `booth verify` here refuses them at once.
pub fn voided_numbers(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT member_no FROM members WHERE state = 'voided'")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// This laptop's signing key and the day it was made (the bundle's `from`).
pub fn device_key(conn: &Connection) -> Result<(DeviceKey, NaiveDate), StoreError> {
    let (secret, created): (Vec<u8>, String) = conn.query_row(
        "SELECT secret_key, created_at FROM device WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let secret: zeroize::Zeroizing<[u8; 32]> = zeroize::Zeroizing::new(
        secret
            .try_into()
            .map_err(|_| StoreError::Damaged("device key".into()))?,
    );
    let created = super::parse_timestamp(&created)
        .map(|t| t.date_naive())
        .unwrap_or_else(|| super::now().date_naive());
    Ok((DeviceKey::from_secret(&secret), created))
}

/// A setting written from a background connection (the office fingerprint pinned at the
/// first upload of a laptop that was not enrolled with a code).
pub use super::settings::write_setting as set_setting;

/// Why a new key pair was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegenerateError {
    #[error("this laptop has registered members: their numbers and cards belong to its key")]
    HasRecords,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for RegenerateError {
    fn from(e: rusqlite::Error) -> Self {
        RegenerateError::Store(e.into())
    }
}

impl Store {
    /// Takes an enrolment code: server (the code's, else `server`), token and office
    /// fingerprint. A different office's fingerprint drops the kept bundle.
    pub fn enroll(
        &mut self,
        e: &Enrolment,
        server: Option<&str>,
        lang: Lang,
    ) -> Result<(), super::SetError> {
        let server = e.server.as_deref().or(server);
        let previous = self.config()?.office_key;
        if let Some(s) = server {
            self.set_config("server", s, lang)?;
        }
        self.set_config("token", &e.token, lang)?;
        self.set_config("office_key", &e.office_key, lang)?;
        super::peers::remember_enrolment(&self.conn, e).map_err(super::SetError::Store)?;
        if previous.as_deref() != Some(e.office_key.as_str()) {
            self.conn
                .execute("DELETE FROM trust_bundle", [])
                .map_err(|e| super::SetError::Store(e.into()))?;
        }
        Ok(())
    }

    pub fn kept_bundle(&self) -> Result<Option<(u64, String)>, StoreError> {
        kept_bundle(&self.conn)
    }

    pub fn voided_numbers(&self) -> Result<Vec<String>, StoreError> {
        voided_numbers(&self.conn)
    }

    /// What this laptop trusts when it checks a card by itself: the newest bundle it holds
    /// (checked against the office's key when it was kept), the data folder's
    /// [`TRUSTED_KEYS_FILE`] if any, and its own key (issued by `issuer`) with its own voids
    /// revoked.
    pub fn local_trust(&self, issuer: String) -> Result<Trust, LocalTrustError> {
        let mut t = match self.kept_bundle()? {
            Some((_, text)) => {
                // checked against the office's key when kept; opened again for its contents
                let fp = bundle::claimed_fingerprint(&text).unwrap_or_default();
                Trust::from_bundle(&bundle::open(&text, &[fp])?)
            }
            None => Trust::default(),
        };
        let file = self.dir().join(TRUSTED_KEYS_FILE);
        if file.exists() {
            t.add_keys(&read_key_list(&file)?)
                .map_err(|c| LocalTrustError::KeysConflict {
                    path: file.clone(),
                    key_id: c.0,
                })?;
        }
        let own = self.device_key();
        t.add_own(TrustedKey {
            key_id: own.key_id().to_string(),
            key: own.public(),
            issuer,
        });
        t.revoked.extend(self.voided_numbers()?);
        Ok(t)
    }

    /// A new key pair, allowed only before the first registration (numbers and cards carry
    /// the key id). For a laptop whose key id the office found taken.
    pub fn regenerate_key(&mut self) -> Result<&DeviceKey, RegenerateError> {
        let tx = self.conn.transaction()?;
        let n: i64 = tx.query_row("SELECT count(*) FROM members", [], |r| r.get(0))?;
        if n > 0 {
            return Err(RegenerateError::HasRecords);
        }
        let key = DeviceKey::generate().map_err(|e| StoreError::Damaged(e.to_string()))?;
        tx.execute(
            "UPDATE device SET secret_key = ?1, key_id = ?2, next_seq = 1, created_at = ?3
             WHERE id = 1",
            params![
                key.secret().as_slice(),
                key.key_id(),
                timestamp(&super::now())
            ],
        )?;
        tx.commit()?;
        tracing::info!(key_id = key.key_id(), "device key regenerated");
        self.device.key = key;
        Ok(&self.device.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_only_move_forward_and_keys_regenerate_only_while_empty() {
        let (_d, mut store) = crate::store::test_store();
        let now = crate::store::now();
        assert!(keep_bundle(&store.conn, 5, "five", &now).unwrap());
        assert!(!keep_bundle(&store.conn, 4, "four", &now).unwrap());
        assert!(keep_bundle(&store.conn, 5, "five again", &now).unwrap());
        assert_eq!(store.kept_bundle().unwrap(), Some((5, "five again".into())));

        let old = store.device_key().key_id().to_string();
        let new = store.regenerate_key().unwrap().key_id().to_string();
        assert_ne!(old, new);
        assert_eq!(device_key(&store.conn).unwrap().0.key_id(), new);
        let input = crate::member::MemberInput {
            name: "葛婷婷".into(),
            id_number: "11010519491231002X".into(),
            phone: "13800138000".into(),
            employer: "某公司".into(),
            consent: true,
            ..Default::default()
        };
        let v = crate::member::validate(&input, now.date_naive()).unwrap();
        let m = store
            .register(&v, &crate::config::Config::default().event(), &now)
            .unwrap();
        assert!(m.member_no.as_str().starts_with(&new));
        assert!(matches!(
            store.regenerate_key(),
            Err(RegenerateError::HasRecords)
        ));
        store.void(&m.member_no, "错了", &now).unwrap();
        assert_eq!(
            unreported_voids(&store.conn, 10).unwrap(),
            vec![m.member_no.as_str().to_string()]
        );
        mark_voids_reported(&mut store.conn, &[m.member_no.as_str().into()], &now).unwrap();
        assert!(unreported_voids(&store.conn, 10).unwrap().is_empty());
        assert_eq!(store.voided_numbers().unwrap().len(), 1);
    }
}
