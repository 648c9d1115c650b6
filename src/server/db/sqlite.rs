//! The server's SQLite backend: one connection behind a mutex (SQLite has one writer anyway),
//! used from `spawn_blocking`. The bundled library is SQLCipher, but with no `PRAGMA key` it
//! reads and writes plain SQLite files: the office machine's disk encryption protects them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::figures::{self, Breakdown, Dimensions, FigureFilter, FigureRow, Increments};
use super::{
    BatchWrite, BindRefusal, DbError, DeviceCount, KeyRow, MemberRow, OfficeState,
    REVOKED_BY_LAPTOP, REVOKED_DUPLICATE, Stored, classify_missed, max_seq_of, now_utc,
    split_first_occurrences,
};
use crate::server::batch::Decision;

/// Append only. `PRAGMA user_version` counts the migrations applied.
const MIGRATIONS: &[&str] = &[
    r#"
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
    "#,
    // 2: the trust chain (docs/trust.md): tokens bound to laptop keys, revocations, the
    // bundle's version and the office keys.
    r#"
    ALTER TABLE devices ADD COLUMN key_id TEXT;
    CREATE TABLE device_keys (
        key_id      TEXT PRIMARY KEY,
        public_key  TEXT NOT NULL UNIQUE,
        device      TEXT NOT NULL,
        union_name  TEXT NOT NULL,
        key_from    TEXT NOT NULL,
        -- set when the laptop is revoked: its codes above this sequence are invalid
        max_seq     INTEGER,
        bound_at    TEXT NOT NULL
    );
    CREATE TABLE revoked (
        member_no   TEXT PRIMARY KEY,
        -- the office's own record: never in the bundle
        reason      TEXT NOT NULL,
        source      TEXT NOT NULL,
        device      TEXT,
        revoked_at  TEXT NOT NULL
    );
    CREATE TABLE office (
        id               INTEGER PRIMARY KEY CHECK (id = 1),
        bundle_version   INTEGER NOT NULL,
        bundle_issued_at TEXT NOT NULL,
        office_key       TEXT,
        next_office_key  TEXT,
        server_url       TEXT
    );
    INSERT INTO office (id, bundle_version, bundle_issued_at)
        VALUES (1, 1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
    "#,
    // 3: the campaign's figures (SPEC §8), kept at ingest; members held before are counted
    // by `backfill_figures` right after.
    figures::SQLITE_MIGRATION,
    // 4: the office console (docs/console.md): office users, sessions shared by every server,
    // failed-login counts, the audit log, review states, and search keys kept beside each
    // record at ingest (never the full phone or ID: those stay in the record only).
    r#"
    CREATE TABLE office_users (
        name          TEXT PRIMARY KEY,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
        password_hash TEXT NOT NULL,
        created_at    TEXT NOT NULL
    );
    CREATE TABLE console_sessions (
        -- SHA-256 of the cookie's value: a copy of the database opens no session
        id_hash    TEXT PRIMARY KEY,
        user_name  TEXT NOT NULL,
        csrf       TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        seen_at    INTEGER NOT NULL
    );
    CREATE INDEX console_sessions_user ON console_sessions (user_name);
    CREATE TABLE login_failures (
        key          TEXT PRIMARY KEY,
        failures     INTEGER NOT NULL,
        last_at      INTEGER NOT NULL,
        locked_until INTEGER NOT NULL
    );
    CREATE TABLE audit_log (
        id     INTEGER PRIMARY KEY,
        at     TEXT NOT NULL,
        actor  TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        count  INTEGER NOT NULL
    );
    CREATE INDEX audit_log_actor ON audit_log (actor, id);
    CREATE INDEX audit_log_action ON audit_log (action, id);
    CREATE TABLE member_reviews (
        member_id INTEGER PRIMARY KEY,
        status    TEXT NOT NULL,
        comment   TEXT NOT NULL,
        by_user   TEXT NOT NULL,
        at        TEXT NOT NULL
    );
    CREATE INDEX member_reviews_status ON member_reviews (status, member_id);
    ALTER TABLE members ADD COLUMN s_name TEXT;
    ALTER TABLE members ADD COLUMN s_phone_tail TEXT;
    ALTER TABLE members ADD COLUMN s_employer TEXT;
    ALTER TABLE members ADD COLUMN s_union TEXT;
    ALTER TABLE members ADD COLUMN s_place TEXT;
    ALTER TABLE members ADD COLUMN s_form TEXT;
    ALTER TABLE members ADD COLUMN corrected_at TEXT;
    ALTER TABLE members ADD COLUMN erased_at TEXT;
    CREATE INDEX members_s_name ON members (s_name);
    CREATE INDEX members_s_phone_tail ON members (s_phone_tail);
    CREATE INDEX members_s_employer ON members (s_employer);
    CREATE INDEX members_s_union ON members (s_union);
    CREATE INDEX members_s_place ON members (s_place);
    CREATE INDEX members_device_received ON members (device, received_at);
    "#,
    // 5: the figures read in a few aggregate passes at campaign scale (db::figures).
    figures::SQLITE_MIGRATION_5,
];

/// The migration that created the figures' tables (1-based).
const FIGURES_VERSION: i64 = 3;
/// The migration that added `booth_days.meeting_share`.
const MEETING_SHARE_VERSION: i64 = 5;

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

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
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

    pub fn store_batch(&self, b: &BatchWrite) -> Result<Stored, DbError> {
        let mut conn = self.lock();
        // IMMEDIATE: take the write lock now, so another process on the same file waits
        // (busy_timeout) instead of failing at the first insert.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_utc();
        let mut changed = match bind(&tx, &b.device, &b.binding, &now)? {
            Ok(changed) => changed,
            Err(refusal) => return Ok(Stored::Refused(refusal)),
        };
        let candidates = &b.candidates;
        let mut decisions = vec![Decision::Conflict; candidates.len()];
        let (first, rest) = split_first_occurrences(candidates);
        let mut missed = rest;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO members (uuid, member_no, person_key, content_hash, record, device,
                    batch_id, event_date, received_at, s_name, s_phone_tail, s_employer,
                    s_union, s_place, s_form)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                 ON CONFLICT DO NOTHING",
            )?;
            for i in first {
                let c = &candidates[i];
                let k = &c.keys;
                let n = insert.execute(params![
                    c.uuid,
                    c.member_no,
                    c.person_key,
                    c.content_hash,
                    c.record,
                    b.device,
                    b.batch_id,
                    c.event_date.to_string(),
                    now,
                    k.name,
                    k.phone_tail,
                    k.employer,
                    k.union,
                    k.place,
                    k.form,
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
        {
            // The card of a record refused as the same person was handed out: revoke it.
            // One accepted later (the operator corrected the ID) is valid again.
            let mut revoke = tx.prepare_cached(
                "INSERT INTO revoked (member_no, reason, source, device, revoked_at)
                 VALUES (?1, '', ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            )?;
            let mut restore =
                tx.prepare_cached("DELETE FROM revoked WHERE member_no = ?1 AND source = ?2")?;
            for (c, d) in candidates.iter().zip(&decisions) {
                changed |= match d {
                    Decision::DuplicatePerson(_) => {
                        revoke.execute(params![c.member_no, REVOKED_DUPLICATE, b.device, now])?
                    }
                    Decision::Accepted => {
                        restore.execute(params![c.member_no, REVOKED_DUPLICATE])?
                    }
                    _ => 0,
                } > 0;
            }
            for no in &b.voids {
                changed |= revoke.execute(params![no, REVOKED_BY_LAPTOP, b.device, now])? > 0;
            }
        }
        if changed {
            bump(&tx, &now)?;
        }
        add_increments(&tx, &b.device, &Increments::of(candidates, &decisions))?;
        store_days(&tx, &b.device, &b.days, &now)?;
        tx.commit()?;
        Ok(Stored::Done(decisions))
    }

    pub fn office_state(&self) -> Result<OfficeState, DbError> {
        office_state(&self.lock())
    }

    pub fn bundle_rows(&self) -> Result<(Vec<KeyRow>, Vec<String>), DbError> {
        let conn = self.lock();
        let keys = conn
            .prepare(
                "SELECT key_id, public_key, device, union_name, key_from, max_seq
                 FROM device_keys ORDER BY key_id",
            )?
            .query_map([], |r| {
                Ok(KeyRow {
                    key_id: r.get(0)?,
                    public_key: r.get(1)?,
                    device: r.get(2)?,
                    union: r.get(3)?,
                    from: r.get(4)?,
                    max_seq: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let revoked = conn
            .prepare("SELECT member_no FROM revoked ORDER BY member_no")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok((keys, revoked))
    }

    pub fn update_office(
        &self,
        f: impl FnOnce(&OfficeState) -> Result<(OfficeState, bool), DbError>,
    ) -> Result<OfficeState, DbError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (new, bumped) = f(&office_state(&tx)?)?;
        tx.execute(
            "UPDATE office SET office_key = ?1, next_office_key = ?2, server_url = ?3 WHERE id = 1",
            params![new.office_key, new.next_office_key, new.server_url],
        )?;
        if bumped {
            bump(&tx, &now_utc())?;
        }
        let state = office_state(&tx)?;
        tx.commit()?;
        Ok(state)
    }

    pub fn revoke_member(
        &self,
        member_no: &str,
        reason: &str,
        source: &str,
    ) -> Result<bool, DbError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_utc();
        let n = tx.execute(
            "INSERT INTO revoked (member_no, reason, source, revoked_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
            params![member_no, reason, source, now],
        )?;
        if n > 0 {
            bump(&tx, &now)?;
        }
        tx.commit()?;
        Ok(n > 0)
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
            // A revoked name gets a fresh token: the laptop was re-issued, and its first
            // upload binds the token again.
            Some(Some(_)) => tx.execute(
                "UPDATE devices SET token_hash = ?2, created_at = ?3, revoked_at = NULL,
                    key_id = NULL
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

    /// Refuses the token from now on; the bundle then caps the laptop's key at the highest
    /// sequence it uploaded (a stolen laptop cannot issue new valid cards).
    pub fn revoke_device(&self, name: &str) -> Result<(), DbError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_utc();
        let key_id: Option<Option<String>> = tx
            .query_row(
                "SELECT key_id FROM devices WHERE name = ?1 AND revoked_at IS NULL",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        let Some(key_id) = key_id else {
            return Err(DbError::NoSuchDevice);
        };
        tx.execute(
            "UPDATE devices SET revoked_at = ?2 WHERE name = ?1",
            params![name, now],
        )?;
        if let Some(kid) = key_id {
            let numbers: Vec<String> = tx
                .prepare("SELECT member_no FROM members WHERE substr(member_no, 1, 6) = ?1")?
                .query_map([&kid], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            tx.execute(
                "UPDATE device_keys SET max_seq = ?2 WHERE key_id = ?1",
                params![kid, max_seq_of(numbers)],
            )?;
            bump(&tx, &now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Every device the office issued a token to, and whether it is revoked.
    pub fn devices(&self) -> Result<Vec<DeviceCount>, DbError> {
        Ok(self
            .lock()
            .prepare("SELECT name, revoked_at IS NOT NULL FROM devices ORDER BY name")?
            .query_map([], |r| {
                Ok(DeviceCount {
                    device: r.get(0)?,
                    revoked: r.get(1)?,
                    ..Default::default()
                })
            })?
            .collect::<Result<_, _>>()?)
    }

    pub fn members_page(&self, after: i64, limit: i64) -> Result<Vec<(i64, MemberRow)>, DbError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT id, uuid, member_no, record, device, received_at FROM members
             WHERE id > ?1 AND erased_at IS NULL ORDER BY id LIMIT ?2",
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

/// Binds the device's token to the batch's key, or checks it is bound to it. `Ok(Err(_))`
/// refuses the request; `Ok(Ok(true))` when the bundle changed.
fn bind(
    tx: &Connection,
    device: &str,
    b: &super::Binding,
    now: &str,
) -> Result<Result<bool, BindRefusal>, DbError> {
    let bound: Option<String> = tx.query_row(
        "SELECT key_id FROM devices WHERE name = ?1",
        [device],
        |r| r.get(0),
    )?;
    let key_of = |kid: &str| -> Result<Option<String>, DbError> {
        Ok(tx
            .query_row(
                "SELECT public_key FROM device_keys WHERE key_id = ?1",
                [kid],
                |r| r.get(0),
            )
            .optional()?)
    };
    if let Some(kid) = bound {
        return Ok(if key_of(&kid)?.as_deref() == Some(b.public_key.as_str()) {
            Ok(false)
        } else {
            Err(BindRefusal::TokenBoundToOtherKey)
        });
    }
    let inserted = tx.execute(
        "INSERT INTO device_keys (key_id, public_key, device, union_name, key_from, bound_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        params![b.key_id, b.public_key, device, b.union, b.from, now],
    )?;
    if key_of(&b.key_id)?.as_deref() != Some(b.public_key.as_str()) {
        return Ok(Err(BindRefusal::KeyIdTaken));
    }
    // The same laptop under a new token (re-issued): in service again.
    let reissued = inserted == 0
        && tx.execute(
            "UPDATE device_keys SET max_seq = NULL, device = ?2 WHERE key_id = ?1
               AND max_seq IS NOT NULL",
            params![b.key_id, device],
        )? > 0;
    tx.execute(
        "UPDATE devices SET key_id = ?2 WHERE name = ?1",
        params![device, b.key_id],
    )?;
    Ok(Ok(inserted > 0 || reissued))
}

pub(crate) fn bump(tx: &Connection, now: &str) -> Result<(), DbError> {
    // whole seconds: the bundle says when it changed, not to the millisecond
    let at = now.get(..19).map(|s| format!("{s}Z")).unwrap_or_default();
    tx.execute(
        "UPDATE office SET bundle_version = bundle_version + 1, bundle_issued_at = ?1
         WHERE id = 1",
        [at],
    )?;
    Ok(())
}

fn office_state(conn: &Connection) -> Result<OfficeState, DbError> {
    Ok(conn.query_row(
        "SELECT bundle_version, bundle_issued_at, office_key, next_office_key, server_url
         FROM office WHERE id = 1",
        [],
        |r| {
            Ok(OfficeState {
                version: r.get::<_, i64>(0)? as u64,
                issued_at: r.get(1)?,
                office_key: r.get(2)?,
                next_office_key: r.get(3)?,
                server_url: r.get(4)?,
            })
        },
    )?)
}

/// Adds what one batch's accepted members count to the figures' tables.
fn add_increments(tx: &Connection, device: &str, inc: &Increments) -> Result<(), DbError> {
    if inc.is_empty() {
        return Ok(());
    }
    let mut days = tx.prepare_cached(
        "INSERT INTO member_days (event_date, union_name, place, device, imported, n)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (event_date, union_name, place, device, imported)
         DO UPDATE SET n = n + excluded.n",
    )?;
    for (((date, union, place), imported), n) in &inc.days {
        days.execute(params![date, union, place, device, imported, n])?;
    }
    for (table, column, map) in [
        ("member_forms", "form", &inc.forms),
        ("member_needs", "need", &inc.needs),
    ] {
        let mut stmt = tx.prepare_cached(&format!(
            "INSERT INTO {table} (event_date, union_name, place, device, {column}, n)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (event_date, union_name, place, device, {column})
             DO UPDATE SET n = n + excluded.n"
        ))?;
        for (((date, union, place), code), n) in map {
            stmt.execute(params![date, union, place, device, code, n])?;
        }
    }
    let mut ent_days = tx.prepare_cached(
        "INSERT INTO enterprise_days (enterprise, event_date, union_name, place, device)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
    )?;
    let mut ents = tx.prepare_cached(
        "INSERT INTO enterprises (enterprise) VALUES (?1) ON CONFLICT DO NOTHING",
    )?;
    for (enterprise, (date, union, place)) in inc.enterprises.keys() {
        ent_days.execute(params![enterprise, date, union, place, device])?;
        ents.execute([enterprise])?;
    }
    let mut day_items = tx.prepare_cached(
        "INSERT INTO figure_days (event_date, item, n) VALUES (?1, ?2, ?3)
         ON CONFLICT (event_date, item) DO UPDATE SET n = n + excluded.n",
    )?;
    for ((date, item), n) in inc.day_items() {
        day_items.execute(params![date, item, n])?;
    }
    add_names(tx, &inc.names(device))
}

/// Each day summary replaces the office's copy of it.
fn store_days(
    tx: &Connection,
    device: &str,
    days: &[crate::server::batch::DayRow],
    now: &str,
) -> Result<(), DbError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO booth_days (device, event_date, union_name, place, operator, consultations,
            needs, registrations, voids, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (device, event_date, union_name, place) DO UPDATE SET
            operator = excluded.operator, consultations = excluded.consultations,
            needs = excluded.needs, registrations = excluded.registrations,
            voids = excluded.voids, received_at = excluded.received_at",
    )?;
    for d in days {
        stmt.execute(params![
            device,
            d.date.to_string(),
            d.union,
            d.place,
            d.operator,
            d.consultations as i64,
            figures::needs_json(d),
            d.registrations as i64,
            d.voids as i64,
            now
        ])?;
    }
    // the summaries' needs as rows, replaced with them
    let mut clear = tx.prepare_cached(
        "DELETE FROM booth_day_needs
         WHERE device = ?1 AND event_date = ?2 AND union_name = ?3 AND place = ?4",
    )?;
    let mut need = tx.prepare_cached(
        "INSERT INTO booth_day_needs (device, event_date, union_name, place, need, n)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut share = tx.prepare_cached(&format!(
        "{} WHERE device = ?1 AND event_date = ?2 AND place = ?3",
        figures::MEETING_SHARE_UPDATE
    ))?;
    for d in days {
        let date = d.date.to_string();
        clear.execute(params![device, date, d.union, d.place])?;
        for (code, n) in d.needs.iter().filter(|(_, n)| **n > 0) {
            need.execute(params![device, date, d.union, d.place, code, *n as i64])?;
        }
        share.execute(params![device, date, d.place])?;
    }
    let [clear_totals, sum_totals] = figures::booth_day_totals("event_date = ?1");
    let mut dates: Vec<String> = days.iter().map(|d| d.date.to_string()).collect();
    dates.sort();
    dates.dedup();
    for date in &dates {
        tx.prepare_cached(&clear_totals)?.execute([date])?;
        tx.prepare_cached(&sum_totals)?.execute([date])?;
    }
    add_names(tx, &figures::names_of_days(device, days))
}

/// Adds the names a batch used to the filters' pick lists.
fn add_names(tx: &Connection, names: &[(&str, &str)]) -> Result<(), DbError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO figure_names (kind, name) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?;
    for (kind, name) in names {
        stmt.execute([kind, name])?;
    }
    Ok(())
}

impl SqliteDb {
    pub(crate) fn figure_rows(
        &self,
        f: &FigureFilter,
        breakdown: Breakdown,
    ) -> Result<Vec<FigureRow>, DbError> {
        let (sql, params) = figures::figure_query(f, breakdown, &figures::SQLITE);
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| {
            let count = |i: usize| r.get::<_, i64>(i).map(|n| n.max(0) as u64);
            Ok(FigureRow {
                tag: r.get(0)?,
                key: r.get(1)?,
                n: [count(2)?, count(3)?, count(4)?, count(5)?],
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn figure_dimensions(&self) -> Result<Dimensions, DbError> {
        let conn = self.lock();
        let rows = conn
            .prepare_cached("SELECT kind, name FROM figure_names")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(figures::dimensions(rows))
    }
}

/// Counts the members held before the figures' tables existed (once, when they are made).
fn backfill_figures(tx: &Connection) -> Result<(), DbError> {
    let mut by_device: HashMap<String, Increments> = HashMap::new();
    {
        let mut stmt = tx.prepare("SELECT device, record FROM members")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (device, record) = row?;
            // stored only after the server's own checks: a record that does not parse now
            // is left out of the figures rather than stopping the server
            if let Ok(w) = serde_json::from_str::<crate::protocol::WireRecord>(&record) {
                by_device
                    .entry(device)
                    .or_default()
                    .add(w.event_date, &crate::server::batch::Facets::of(&w));
            }
        }
    }
    for (device, inc) in &by_device {
        add_increments(tx, device, inc)?;
    }
    Ok(())
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
        if version + 1 == FIGURES_VERSION {
            backfill_figures(&tx)?;
        }
        if version + 1 == MEETING_SHARE_VERSION {
            tx.execute_batch(figures::MEETING_SHARE_UPDATE)?;
            for sql in figures::booth_day_totals("1 = 1") {
                tx.execute(&sql, [])?;
            }
        }
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
        tracing::info!(version = version + 1, "server schema migrated (sqlite)");
    }
}
