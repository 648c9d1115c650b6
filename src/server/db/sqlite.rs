//! The server's SQLite backend: one connection behind a mutex (SQLite has one writer anyway),
//! used from `spawn_blocking`. The bundled library is SQLCipher, but with no `PRAGMA key` it
//! reads and writes plain SQLite files: the office machine's disk encryption protects them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    DayCount, DbError, DeviceCount, MemberRow, ServerStats, classify_missed, now_utc,
    split_first_occurrences,
};
use crate::server::ingest::{Candidate, Decision};

/// Append only. `PRAGMA user_version` counts the migrations applied.
const MIGRATIONS: &[&str] = &[r#"
    CREATE TABLE devices (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        -- SHA-256 hex of the token; the token itself is shown once and never stored.
        token_hash  TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL,
        revoked_at  TEXT
    );
    CREATE TABLE members (
        id           INTEGER PRIMARY KEY,
        uuid         TEXT NOT NULL UNIQUE,
        member_no    TEXT NOT NULL UNIQUE,
        person_key   TEXT NOT NULL UNIQUE,
        content_hash TEXT NOT NULL,
        record       TEXT NOT NULL,
        device       TEXT NOT NULL,
        batch_id     TEXT NOT NULL,
        event_date   TEXT NOT NULL,
        received_at  TEXT NOT NULL
    );
    CREATE INDEX members_event_date ON members (event_date);
    CREATE INDEX members_device ON members (device);
    "#];

#[derive(Clone)]
pub struct SqliteDb {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteDb {
    pub fn open(path: &str) -> Result<SqliteDb, DbError> {
        let mut conn = Connection::open(path)?;
        // FULL: a batch answered "accepted" survives a power cut; the laptop will purge it.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 10000;",
        )?;
        migrate(&mut conn)?;
        Ok(SqliteDb {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction open (rusqlite rolls back
        // on drop), so a poisoned lock is still a usable connection.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn ping(&self) -> Result<(), DbError> {
        self.lock().query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    pub fn device_for_token(&self, hash: &str) -> Result<Option<String>, DbError> {
        Ok(self
            .lock()
            .prepare_cached(
                "SELECT name FROM devices WHERE token_hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([hash], |r| r.get(0))
            .optional()?)
    }

    pub fn store_batch(
        &self,
        device: &str,
        batch_id: &str,
        candidates: &[Candidate],
    ) -> Result<Vec<Decision>, DbError> {
        let mut conn = self.lock();
        // IMMEDIATE: take the write lock now, so another process on the same file waits
        // (busy_timeout) instead of failing at the first insert.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_utc();
        let mut decisions = vec![Decision::Conflict; candidates.len()];
        let (first, rest) = split_first_occurrences(candidates);
        let mut missed = rest;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO members (uuid, member_no, person_key, content_hash, record, device,
                    batch_id, event_date, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT DO NOTHING",
            )?;
            for i in first {
                let c = &candidates[i];
                let n = insert.execute(params![
                    c.uuid,
                    c.member_no,
                    c.person_key,
                    c.content_hash,
                    c.record,
                    device,
                    batch_id,
                    c.event_date.to_string(),
                    now,
                ])?;
                if n == 1 {
                    decisions[i] = Decision::Accepted;
                } else {
                    missed.push(i);
                }
            }
        }
        if !missed.is_empty() {
            let mut by_uuid = HashMap::new();
            let mut by_person = HashMap::new();
            let mut q_uuid =
                tx.prepare_cached("SELECT content_hash FROM members WHERE uuid = ?1")?;
            let mut q_person =
                tx.prepare_cached("SELECT member_no FROM members WHERE person_key = ?1")?;
            for &i in &missed {
                let c = &candidates[i];
                if let Some(h) = q_uuid
                    .query_row([&c.uuid], |r| r.get::<_, String>(0))
                    .optional()?
                {
                    by_uuid.insert(c.uuid.clone(), h);
                }
                if let Some(no) = q_person
                    .query_row([&c.person_key], |r| r.get::<_, String>(0))
                    .optional()?
                {
                    by_person.insert(c.person_key.clone(), no);
                }
            }
            for &i in &missed {
                decisions[i] = classify_missed(&candidates[i], &by_uuid, &by_person);
            }
        }
        tx.commit()?;
        Ok(decisions)
    }

    pub fn add_device(&self, name: &str, hash: &str) -> Result<(), DbError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<Option<String>> = tx
            .query_row(
                "SELECT revoked_at FROM devices WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        match existing {
            Some(None) => return Err(DbError::DeviceExists),
            // A revoked name gets a fresh token: the laptop was re-issued.
            Some(Some(_)) => tx.execute(
                "UPDATE devices SET token_hash = ?2, created_at = ?3, revoked_at = NULL
                 WHERE name = ?1",
                params![name, hash, now_utc()],
            )?,
            None => tx.execute(
                "INSERT INTO devices (name, token_hash, created_at) VALUES (?1, ?2, ?3)",
                params![name, hash, now_utc()],
            )?,
        };
        tx.commit()?;
        Ok(())
    }

    pub fn revoke_device(&self, name: &str) -> Result<(), DbError> {
        let n = self.lock().execute(
            "UPDATE devices SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
            params![name, now_utc()],
        )?;
        if n == 0 {
            return Err(DbError::NoSuchDevice);
        }
        Ok(())
    }

    pub fn stats(&self) -> Result<ServerStats, DbError> {
        let conn = self.lock();
        let members: u64 = conn.query_row("SELECT count(*) FROM members", [], |r| r.get(0))?;
        let by_device = conn
            .prepare(
                "SELECT d.name, count(m.id), d.revoked_at IS NOT NULL FROM devices d
                 LEFT JOIN members m ON m.device = d.name GROUP BY d.name ORDER BY d.name",
            )?
            .query_map([], |r| {
                Ok(DeviceCount {
                    device: r.get(0)?,
                    members: r.get(1)?,
                    revoked: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let by_day = conn
            .prepare(
                "SELECT event_date, count(*) FROM members GROUP BY event_date ORDER BY event_date",
            )?
            .query_map([], |r| {
                Ok(DayCount {
                    date: r.get(0)?,
                    members: r.get(1)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(ServerStats {
            members,
            by_device,
            by_day,
        })
    }

    pub fn members_page(&self, after: i64, limit: i64) -> Result<Vec<(i64, MemberRow)>, DbError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT id, uuid, member_no, record, device, received_at FROM members
             WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit], |r| {
            Ok((
                r.get(0)?,
                MemberRow {
                    uuid: r.get(1)?,
                    member_no: r.get(2)?,
                    record: r.get(3)?,
                    device: r.get(4)?,
                    received_at: r.get(5)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let supported = MIGRATIONS.len() as i64;
    loop {
        // The version is read inside the write transaction: two servers starting on one file
        // cannot both apply the same migration.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > supported {
            return Err(DbError::TooNew {
                found: version,
                supported,
            });
        }
        if version == supported {
            return Ok(());
        }
        tx.execute_batch(MIGRATIONS[version as usize])?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
        tracing::info!(version = version + 1, "server schema migrated (sqlite)");
    }
}
