//! The server's SQLite backend, for one office machine: one connection behind a mutex (SQLite
//! has one writer anyway), used from `spawn_blocking`. The bundled library is SQLCipher, but
//! with no `PRAGMA key` it reads and writes plain SQLite files: the office machine's disk
//! encryption protects them.
//!
//! What is SQLite's own here: opening the file (deleted content zeroed: `secure_delete`), and
//! the checkpoint that empties the WAL after an erase. A batch's rows written one statement per row
//! are in `batch/sqlite.rs`, its migrations in `sqlite_schema.rs`; everything else is
//! written once (`conn`).

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;

use super::DbError;

#[derive(Clone)]
pub struct SqliteDb {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteDb {
    /// Opens the file (migrations are `sqlite_schema::migrate`, run by `Db::open`).
    pub fn open(path: &str) -> Result<SqliteDb, DbError> {
        let conn = Connection::open(path)?;
        // FULL: a batch answered "accepted" survives a power cut; the laptop will purge it.
        // secure_delete: what a statement deletes or overwrites (an erased person's record,
        // their index entries, freed pages) is overwritten with zeros, not left in free space.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 10000;
             PRAGMA secure_delete = ON;",
        )?;
        Ok(SqliteDb {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Copies the WAL into the database and cuts the WAL file to nothing (after an erase: its
    /// older frames still hold the pages as they were, the person in them). `false` when a
    /// reader in another process kept it from finishing within the busy timeout.
    pub(crate) fn checkpoint(&self) -> Result<bool, DbError> {
        let busy: i64 = self
            .lock()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        Ok(busy == 0)
    }

    /// An online, consistent copy of the database file `src` into `out` (a new, empty file
    /// the caller made with the mode it wants): `VACUUM INTO` on a read-only connection reads
    /// one snapshot (WAL: a running server goes on writing meanwhile, and what it commits
    /// after the snapshot is not in the copy) and writes a compact file.
    pub fn copy_file(src: &Path, out: &Path) -> Result<(), DbError> {
        let conn = Connection::open_with_flags(
            src,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute("VACUUM INTO ?1", [out.to_string_lossy()])?;
        Ok(())
    }

    /// Whether a statement holds the connection now.
    pub(crate) fn is_busy(&self) -> bool {
        matches!(
            self.conn.try_lock(),
            Err(std::sync::TryLockError::WouldBlock)
        )
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock may have left a transaction open: it is rolled back
        // here, and the connection is usable again.
        self.conn.lock().unwrap_or_else(|poisoned| {
            let conn = poisoned.into_inner();
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            conn
        })
    }
}
