//! The laptop's side of the trust chain (docs/trust.md): the enrolment (server, token, office
//! fingerprint in the encrypted settings), the newest trust bundle, the newest bundle version
//! seen of each office ([`NEWEST_BUNDLES_FILE`]: no bundle older is ever taken), the voids the
//! office has not been told of yet, a new key pair before the first registration, and what
//! the laptop trusts when it checks a card by itself ([`Store::local_trust`]).
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

/// The newest bundle version seen of each office key, in clear (versions and fingerprints,
/// nothing personal), so that a folder with no store yet — a service point's PC running
/// `booth verify --bundle` — keeps the rule too.
pub const NEWEST_BUNDLES_FILE: &str = "newest-bundles.json";

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
    #[error("{path}, the newest trust bundles seen, cannot be used: {why}")]
    Newest { path: PathBuf, why: String },
    #[error("trust bundle version {version} is older than version {newest}, already seen")]
    Older { version: u64, newest: u64 },
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
            LocalTrustError::Newest { path, why } => {
                t!(
                    lang,
                    "cli.newest_bundles_bad",
                    path = path.display(),
                    why = why
                )
            }
            LocalTrustError::Older { version, newest } => {
                t!(lang, "cli.bundle_older", version = version, newest = newest)
            }
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

/// What [`NEWEST_BUNDLES_FILE`] says of one office key.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Seen {
    version: u64,
    /// The key that bundle announced as next (rotation): bundles of this key are then held to
    /// that key's newest too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct NewestBundles {
    /// Office key fingerprint → the newest bundle seen signed by it.
    offices: std::collections::BTreeMap<String, Seen>,
}

fn read_newest(dir: &Path) -> Result<NewestBundles, LocalTrustError> {
    let path = dir.join(NEWEST_BUNDLES_FILE);
    let bad = |why: String| LocalTrustError::Newest {
        path: path.clone(),
        why,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| bad(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(NewestBundles::default()),
        Err(e) => Err(bad(e.to_string())),
    }
}

/// The newest bundle version this data folder has seen for bundles signed by `fingerprint`:
/// its own, and that of the keys it announced after it (a rotation moves on, never back).
pub fn newest_seen(dir: &Path, fingerprint: &str) -> Result<Option<u64>, LocalTrustError> {
    let all = read_newest(dir)?;
    let mut newest = None;
    let mut fp = Some(fingerprint.to_string());
    // a chain of rotations, bounded: a file edited into a loop ends here
    for _ in 0..all.offices.len() {
        let Some(seen) = fp.as_ref().and_then(|f| all.offices.get(f)) else {
            break;
        };
        newest = newest.max(Some(seen.version));
        fp = seen.next.clone();
    }
    Ok(newest)
}

/// Refuses `b` if this data folder has seen a newer bundle of its office (or the caller knows
/// of one: `also`, the store's kept bundle); otherwise records it as the newest seen.
pub fn take_bundle(
    dir: &Path,
    b: &bundle::Bundle,
    also: Option<u64>,
) -> Result<(), LocalTrustError> {
    let fp = b.fingerprint();
    if let Some(newest) = newest_seen(dir, &fp)?.max(also)
        && b.version < newest
    {
        return Err(LocalTrustError::Older {
            version: b.version,
            newest,
        });
    }
    record_newest(dir, b)
}

/// Records `b` as the newest bundle seen of its office key, unless a newer one is recorded.
/// Written whole to a temporary file and renamed over the old one.
pub fn record_newest(dir: &Path, b: &bundle::Bundle) -> Result<(), LocalTrustError> {
    let mut all = read_newest(dir)?;
    let seen = all.offices.entry(b.fingerprint()).or_default();
    if seen.version > b.version {
        return Ok(());
    }
    *seen = Seen {
        version: b.version,
        next: b
            .next_office_key
            .as_ref()
            .map(crate::card::office::fingerprint),
    };
    let path = dir.join(NEWEST_BUNDLES_FILE);
    let failed = |e: std::io::Error| LocalTrustError::Newest {
        path: path.clone(),
        why: e.to_string(),
    };
    super::ensure_dir(dir).map_err(failed)?;
    // one writer per process at a time; another process has its own temporary file
    let tmp = dir.join(format!("{NEWEST_BUNDLES_FILE}.{}.tmp", std::process::id()));
    let text = serde_json::to_string_pretty(&all).unwrap_or_default();
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(failed)
}

/// The data folder of a store's connection (the upload's own, on its thread).
pub fn data_dir_of(conn: &Connection) -> Option<PathBuf> {
    Path::new(conn.path()?).parent().map(Path::to_path_buf)
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
        if let Some(v) = &e.verify_url {
            self.set_config("office_verify_url", v, lang)?;
        }
        // The office's node for a laptop that was never told its union (SPEC §11); a union
        // set on the laptop stays what its cards print. A short name is taken first: the
        // full name may be too long for the QR payload without it.
        if let Some(u) = &e.union
            && self.setting("union")?.is_none()
        {
            if !u.short.is_empty() && self.setting("union_short")?.is_none() {
                self.set_config("union_short", &u.short, lang)?;
            }
            self.set_config("union", &u.name, lang)?;
        }
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

    fn bundle_of(
        key: &crate::card::office::OfficeKey,
        version: u64,
        next: Option<&crate::card::office::OfficeKey>,
    ) -> bundle::Bundle {
        bundle::Bundle {
            version,
            issued_at: String::new(),
            office_key: key.public(),
            next_office_key: next.map(|k| k.public()),
            keys: Default::default(),
            seal_key: None,
            verify_url: None,
            max_seq: Default::default(),
            revoked: Default::default(),
            text: String::new(),
        }
    }

    #[test]
    fn the_newest_bundle_seen_holds_across_a_rotation_and_never_goes_back() {
        use crate::card::office::OfficeKey;
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("fresh");
        let (old, new) = (
            OfficeKey::generate().unwrap(),
            OfficeKey::generate().unwrap(),
        );
        take_bundle(&dir, &bundle_of(&old, 5, None), None).unwrap();
        assert!(matches!(
            take_bundle(&dir, &bundle_of(&old, 4, None), None),
            Err(LocalTrustError::Older {
                version: 4,
                newest: 5
            })
        ));
        take_bundle(&dir, &bundle_of(&old, 5, None), None).unwrap();
        // what the caller knows of counts too (the store's kept bundle)
        assert!(take_bundle(&dir, &bundle_of(&old, 6, None), Some(7)).is_err());
        // the old key announces the new one; the new key's bundles move on from there, and
        // the old key's are held to them
        take_bundle(&dir, &bundle_of(&old, 8, Some(&new)), None).unwrap();
        take_bundle(&dir, &bundle_of(&new, 9, None), None).unwrap();
        assert_eq!(newest_seen(&dir, &old.fingerprint()).unwrap(), Some(9));
        assert!(take_bundle(&dir, &bundle_of(&old, 8, Some(&new)), None).is_err());
        // a lower version recorded later changes nothing
        record_newest(&dir, &bundle_of(&new, 3, None)).unwrap();
        assert_eq!(newest_seen(&dir, &new.fingerprint()).unwrap(), Some(9));
        std::fs::write(dir.join(NEWEST_BUNDLES_FILE), "{").unwrap();
        assert!(matches!(
            newest_seen(&dir, &new.fingerprint()),
            Err(LocalTrustError::Newest { .. })
        ));
    }

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
