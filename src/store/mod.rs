//! The encrypted store of a data folder.
//!
//! - The whole database is SQLCipher (AES-256, HMAC per page): tables, indexes, the WAL and
//!   any spilled temp data. Temp storage is kept in memory (`temp_store = MEMORY`).
//! - The 32-byte key is derived from the passphrase with Argon2id; the salt and cost are in
//!   `keyfile.toml` (see [`keyfile`]). Nothing else is in clear but the newest trust bundle
//!   version seen of each office key (`newest-bundles.json`, see [`trust`]).
//! - One process per folder: an exclusive lock on `booth.lock` (released by the OS if the
//!   process dies), so a second `booth` gets a clear "in use" error instead of racing.
//! - `synchronous = FULL` in WAL mode: a registration acknowledged on screen survives a power
//!   cut.
//!
//! Layout of a data folder:
//! ```text
//! keyfile.toml   KDF salt and parameters, UI language (clear, no secret)
//! booth.db       SQLCipher database (+ -wal, -shm while open)
//! booth.lock     lock file (empty)
//! newest-bundles.json  the newest trust bundle version seen per office key (clear, nothing personal)
//! logs/          daily log files (no personal data)
//! slips/         slips saved as PNG when no printer took them (purged with the records)
//! ```

pub mod batch;
pub mod booth_day;
pub mod days;
pub mod drafts;
pub mod keyfile;
pub mod members;
pub mod peers;
pub mod queue;
pub mod schema;
pub mod settings;
pub mod slips;
pub mod stats;
pub mod trust;

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, OpenFlags};
use zeroize::Zeroizing;

use crate::card::DeviceKey;
use crate::i18n::Lang;
use crate::member::State;
use crate::t;
pub use keyfile::{KdfParams, KeyFile, KeyFileError};
pub use members::{Existing, RegisterError, StoredMember};
pub use settings::SetError;

pub const DB_FILE: &str = "booth.db";
pub const LOCK_FILE: &str = "booth.lock";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the data folder {0} is in use by another booth process")]
    InUse(PathBuf),
    #[error("wrong passphrase")]
    WrongPassphrase,
    #[error("the database stayed busy")]
    Busy,
    #[error("the data folder {0} is not set up")]
    NotInitialised(PathBuf),
    #[error("the data folder is damaged: {0}")]
    Damaged(String),
    #[error("the disk is full")]
    DiskFull,
    #[error(
        "the database was written by a newer booth (schema {found}; this build knows {supported})"
    )]
    TooNew { found: i64, supported: i64 },
    #[error("this laptop has issued all {0} member numbers its key allows")]
    SequenceExhausted(u32),
    #[error("no such record")]
    NotFound,
    #[error("a record in state {0} cannot be changed")]
    WrongState(State),
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error("file system: {0}")]
    Io(std::io::Error),
    #[error("database: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DiskFull,
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                StoreError::Busy
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull {
            StoreError::DiskFull
        } else {
            StoreError::Io(e)
        }
    }
}

impl StoreError {
    /// SQLite reports a write that hit a full disk as a plain I/O error. Looking at the
    /// filesystem of the data folder tells "disk full" (what the operator can act on) from
    /// other I/O failures.
    pub fn diagnose(self, dir: &Path) -> StoreError {
        let io_like = match &self {
            StoreError::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::SystemIoFailure | rusqlite::ErrorCode::CannotOpen)
            ),
            StoreError::Io(_) => true,
            _ => false,
        };
        if io_like && free_space(dir).is_some_and(|free| free < 256 * 1024) {
            StoreError::DiskFull
        } else {
            self
        }
    }

    /// One line for the operator, in their language.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            StoreError::InUse(dir) => t!(lang, "store.in_use", dir = dir.display()),
            StoreError::WrongPassphrase => t!(lang, "store.wrong_passphrase").into(),
            StoreError::Busy => t!(lang, "store.busy").into(),
            StoreError::NotInitialised(dir) => {
                t!(lang, "store.not_initialised", dir = dir.display())
            }
            StoreError::Damaged(why) => t!(lang, "store.damaged", why = why),
            StoreError::DiskFull => t!(lang, "store.disk_full").into(),
            StoreError::TooNew { found, supported } => {
                t!(lang, "store.too_new", found = found, supported = supported)
            }
            StoreError::SequenceExhausted(n) => t!(lang, "store.sequence_exhausted", n = n),
            StoreError::NotFound => t!(lang, "store.not_found").into(),
            StoreError::WrongState(s) => t!(lang, "store.wrong_state", state = s.label(lang)),
            StoreError::KeyFile(e) => t!(lang, "store.keyfile", why = e),
            StoreError::Io(e) => t!(lang, "store.io", why = e),
            StoreError::Sqlite(e) => t!(lang, "store.sqlite", why = e),
        }
    }
}

/// The laptop identity loaded at unlock.
pub(crate) struct Device {
    pub key: DeviceKey,
    pub pepper: Zeroizing<[u8; 32]>,
}

/// An unlocked data folder.
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) device: Device,
    dir: PathBuf,
    keyfile: KeyFile,
    /// Kept while unlocked: background connections need it, and the idle lock compares a
    /// re-typed passphrase against it. Zeroised on drop.
    key: Zeroizing<[u8; 32]>,
    _lock: File,
}

/// True if `dir` holds a set-up data folder (its keyfile exists).
pub fn is_initialised(dir: &Path) -> bool {
    dir.join(keyfile::FILE_NAME).is_file()
}

/// Creates the folder private to this user (0700).
pub fn ensure_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

fn lock(dir: &Path) -> Result<File, StoreError> {
    ensure_dir(dir)?;
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))?;
    // A lock held for a moment is not "in use": a child this process (or another booth)
    // forks holds a copy of the lock's descriptor until it execs, so a folder closed and
    // opened again just then would be refused. Another booth holding the folder keeps it for
    // longer than this grace.
    let deadline = std::time::Instant::now() + LOCK_GRACE;
    loop {
        match f.try_lock() {
            Ok(()) => return Ok(f),
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StoreError::InUse(dir.to_path_buf()));
            }
            Err(fs::TryLockError::Error(e)) => return Err(e.into()),
        }
    }
}

/// How long a busy lock is waited for before the folder counts as in use.
const LOCK_GRACE: std::time::Duration = std::time::Duration::from_millis(300);

impl Store {
    /// Sets up an empty data folder: keyfile, database, device key.
    pub fn create(dir: &Path, passphrase: &[u8], lang: Lang) -> Result<Store, StoreError> {
        let lock = lock(dir)?;
        if is_initialised(dir) {
            return Err(StoreError::Damaged(
                "already set up; refusing to overwrite".into(),
            ));
        }
        if dir.join(DB_FILE).exists() {
            return Err(StoreError::Damaged(format!(
                "{DB_FILE} exists without {}",
                keyfile::FILE_NAME
            )));
        }
        let kf = KeyFile::new(KdfParams::for_new_folder(), lang)?;
        // The keyfile goes first: if power fails before the database is made, the next start
        // finds a keyfile and no database, and finishes the setup.
        kf.write(dir)?;
        Store::open_locked(dir, passphrase, kf, lock)
    }

    /// Unlocks a set-up data folder.
    pub fn open(dir: &Path, passphrase: &[u8]) -> Result<Store, StoreError> {
        let lock = lock(dir)?;
        if !is_initialised(dir) {
            return Err(StoreError::NotInitialised(dir.to_path_buf()));
        }
        let kf = KeyFile::read(dir)?;
        Store::open_locked(dir, passphrase, kf, lock)
    }

    fn open_locked(
        dir: &Path,
        passphrase: &[u8],
        kf: KeyFile,
        lock: File,
    ) -> Result<Store, StoreError> {
        let key = kf.derive_key(passphrase)?;
        let path = dir.join(DB_FILE);
        let fresh = !path.exists();
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if fresh {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let mut conn = Connection::open_with_flags(&path, flags)?;
        apply_key(&conn, &key)?;
        // The first read decrypts page 1: a wrong key fails here, before anything is written.
        match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        }) {
            Ok(_) => {}
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
                return Err(StoreError::WrongPassphrase);
            }
            Err(e) => return Err(e.into()),
        }
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA temp_store = MEMORY;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )?;
        schema::migrate(&mut conn)?;
        let device = members::ensure_device(&mut conn)?;
        tracing::info!(key_id = device.key.key_id(), fresh, "store unlocked");
        Ok(Store {
            conn,
            device,
            dir: dir.to_path_buf(),
            keyfile: kf,
            key,
            _lock: lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn device_key(&self) -> &DeviceKey {
        &self.device.key
    }

    pub fn keyfile(&self) -> &KeyFile {
        &self.keyfile
    }

    /// Remembers the UI language in the clear keyfile too, for the next passphrase prompt.
    pub fn set_prompt_language(&mut self, lang: Lang) -> Result<(), StoreError> {
        if self.keyfile.language != lang {
            self.keyfile.language = lang;
            self.keyfile.write(&self.dir)?;
        }
        Ok(())
    }

    /// A second connection to the same database, for a background thread (drafts, search).
    /// Same key; the folder lock is held by this `Store`.
    pub fn second_connection(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            self.dir.join(DB_FILE),
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        apply_key(&conn, &self.key)?;
        conn.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY; PRAGMA busy_timeout = 5000;",
        )?;
        Ok(conn)
    }

    /// True if `passphrase` unlocks this folder (for the idle lock screen). Costs one KDF run.
    pub fn check_passphrase(&self, passphrase: &[u8]) -> Result<bool, StoreError> {
        use subtle::ConstantTimeEq;
        let candidate = self.keyfile.derive_key(passphrase)?;
        // no early exit on the first differing byte
        Ok(bool::from(candidate[..].ct_eq(&self.key[..])))
    }

    /// Bulk mode (import): commits stop waiting for the disk (`synchronous = NORMAL`, still
    /// crash-safe in WAL mode, but the last commits may be lost to a power cut). Leaving it
    /// flushes everything to disk (a full WAL checkpoint) and returns to `FULL`.
    pub fn bulk_mode(&mut self, on: bool) -> Result<(), StoreError> {
        if on {
            // A bigger page cache: random keys (person hashes) touch many index pages, and
            // every page evicted and read back is re-encrypted and re-authenticated.
            // No automatic checkpoints while importing: the WAL is copied into the database
            // once, when bulk mode ends.
            self.conn.execute_batch(
                "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;
                 PRAGMA wal_autocheckpoint = 0;",
            )?;
        } else {
            self.conn.execute_batch(
                "PRAGMA synchronous = FULL; PRAGMA cache_size = -2000;
                 PRAGMA wal_autocheckpoint = 1000;",
            )?;
            self.conn
                .query_row("PRAGMA wal_checkpoint(FULL)", [], |_| Ok(()))?;
        }
        Ok(())
    }

    /// `PRAGMA integrity_check` (and SQLCipher's HMAC check of every page).
    pub fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        for r in rows {
            let r = r?;
            if r != "ok" {
                problems.push(r);
            }
        }
        Ok(problems)
    }

    /// Raw access for tests and benchmarks.
    #[doc(hidden)]
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

fn apply_key(conn: &Connection, key: &[u8; 32]) -> Result<(), StoreError> {
    // SQLCipher writes its own diagnostics to stderr by default: a wrong passphrase would
    // print three lines over our one-line error, or garble the terminal UI.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    // A raw 256-bit key (x'…') skips SQLCipher's own PBKDF2: Argon2id already did that work.
    // Built in place, its full size reserved first: no copy of the key is left unwiped.
    let mut pragma = Zeroizing::new(String::with_capacity(96));
    pragma.push_str("PRAGMA key = \"x'");
    data_encoding::HEXLOWER.encode_append(key, &mut pragma);
    pragma.push_str("'\";");
    conn.execute_batch(&pragma)?;
    Ok(())
}

/// Bytes available to this user on the filesystem holding `dir`.
pub fn free_space(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        let st = rustix::fs::statvfs(dir).ok()?;
        Some(st.f_bavail.saturating_mul(st.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Timestamps are stored as local time with the UTC offset, to the second.
pub fn timestamp(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

pub fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

/// Now, in local time.
pub fn now() -> DateTime<FixedOffset> {
    chrono::Local::now().fixed_offset()
}

/// A fresh store in a temporary folder, with the fast KDF (unit tests).
#[cfg(test)]
pub(crate) fn test_store() -> (tempfile::TempDir, Store) {
    // SAFETY: tests in this crate only ever set this variable to the same value.
    unsafe { std::env::set_var("BOOTH_KDF", "fast") };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path(), b"pw", Lang::Zh).unwrap();
    (dir, store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_passphrase_and_second_process_are_refused() {
        let (dir, store) = test_store();
        assert!(matches!(
            Store::open(dir.path(), b"pw"),
            Err(StoreError::InUse(_))
        ));
        drop(store);
        assert!(matches!(
            Store::open(dir.path(), b"wrong"),
            Err(StoreError::WrongPassphrase)
        ));
        let again = Store::open(dir.path(), b"pw").unwrap();
        assert!(again.integrity_check().unwrap().is_empty());
        assert!(again.check_passphrase(b"pw").unwrap());
        assert!(!again.check_passphrase(b"pW").unwrap());
    }

    #[test]
    fn nothing_personal_in_clear_in_the_folder() {
        let (dir, mut store) = test_store();
        let now = now();
        let input = crate::member::MemberInput {
            name: "葛婷婷".into(),
            id_number: "11010519491231002X".into(),
            phone: "13800138000".into(),
            employer: "某公司".into(),
            consent: true,
            ..Default::default()
        };
        let v = crate::member::validate(&input, now.date_naive()).unwrap();
        store
            .register(&v, &crate::config::Config::default().event(), &now)
            .unwrap();
        store.save_draft(&input, &now).unwrap();
        let scan = |when: &str| {
            for entry in fs::read_dir(dir.path()).unwrap() {
                let bytes = fs::read(entry.unwrap().path()).unwrap_or_default();
                for needle in ["葛婷婷".as_bytes(), b"11010519491231002X", b"13800138000"] {
                    assert!(
                        !bytes.windows(needle.len()).any(|w| w == needle),
                        "personal data in clear ({when})"
                    );
                }
            }
        };
        // With the store open (WAL not yet checkpointed), then after closing.
        scan("store open");
        drop(store);
        scan("store closed");
    }
}
