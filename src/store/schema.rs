//! Schema migrations. `PRAGMA user_version` is the number of migrations applied; each runs in
//! its own transaction, so an interrupted upgrade leaves the previous version intact.

use rusqlite::Connection;

/// Append only: a released migration is never edited.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: first release
    r#"
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    -- The laptop's identity: Ed25519 seed, its key id, the pepper of person hashes, and the
    -- next member sequence number. One row.
    CREATE TABLE device (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        secret_key BLOB NOT NULL,
        key_id     TEXT NOT NULL,
        pepper     BLOB NOT NULL,
        next_seq   INTEGER NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;

    CREATE TABLE members (
        id            INTEGER PRIMARY KEY,
        uuid          TEXT NOT NULL UNIQUE,
        member_no     TEXT NOT NULL UNIQUE,
        -- SHA-256(pepper ‖ normalised document number): one person, one record. NULL once the
        -- record is voided, so the person can be registered again.
        person_hash   BLOB UNIQUE,
        doc_kind      TEXT NOT NULL,
        -- The validated record as JSON; NULL once purged after upload + retention.
        record        TEXT,
        name          TEXT,
        phone_tail    TEXT,
        gender        TEXT,
        birth_date    TEXT,
        region        TEXT,
        -- Kept after purge: the day's figures need them.
        employment_form TEXT,
        needs         TEXT NOT NULL DEFAULT '',
        consent_at    TEXT NOT NULL,
        union_name    TEXT NOT NULL,
        place         TEXT NOT NULL,
        event_date    TEXT NOT NULL,
        operator      TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        state         TEXT NOT NULL CHECK (state IN ('queued', 'uploaded', 'voided', 'rejected')),
        state_reason  TEXT,
        server_member_no TEXT,
        answered_at   TEXT,
        purged_at     TEXT
    ) STRICT;
    CREATE INDEX members_state ON members (state, id);
    CREATE INDEX members_event_date ON members (event_date);
    CREATE INDEX members_name ON members (name) WHERE name IS NOT NULL;
    CREATE INDEX members_phone_tail ON members (phone_tail) WHERE phone_tail IS NOT NULL;

    -- People who stopped and asked but did not join.
    CREATE TABLE consultations (
        id         INTEGER PRIMARY KEY,
        at         TEXT NOT NULL,
        event_date TEXT NOT NULL
    ) STRICT;
    CREATE INDEX consultations_date ON consultations (event_date);

    -- The registration form as typed, saved continuously. One row.
    CREATE TABLE draft (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        content    TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) STRICT;

    -- End-of-day uploads, for the dashboard's "last upload".
    CREATE TABLE uploads (
        id          INTEGER PRIMARY KEY,
        started_at  TEXT NOT NULL,
        finished_at TEXT,
        server      TEXT NOT NULL,
        sent        INTEGER NOT NULL DEFAULT 0,
        accepted    INTEGER NOT NULL DEFAULT 0,
        rejected    INTEGER NOT NULL DEFAULT 0,
        outcome     TEXT
    ) STRICT;
    "#,
    // 2: end-of-day upload
    r#"
    -- The server's answer code for a rejected record (invalid, duplicate_person, conflict),
    -- beside the human-readable reason in state_reason.
    ALTER TABLE members ADD COLUMN reject_code TEXT;
    -- Purge looks for uploaded records still holding personal data.
    CREATE INDEX members_purgeable ON members (answered_at)
        WHERE state = 'uploaded' AND record IS NOT NULL;
    "#,
    // 3: the day's counts from the index alone (no table rows read, even on a big day)
    r#"
    CREATE INDEX members_day_state ON members (event_date, state);
    DROP INDEX members_event_date;
    "#,
    // 4: the trust chain (docs/trust.md): voids reported to the office, the newest bundle
    r#"
    -- When the office was told of this void (it then revokes the number in its bundle).
    ALTER TABLE members ADD COLUMN void_reported_at TEXT;
    -- The newest trust bundle accepted from the office, as received. One row.
    CREATE TABLE trust_bundle (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        version     INTEGER NOT NULL,
        text        TEXT NOT NULL,
        received_at TEXT NOT NULL
    ) STRICT;
    "#,
    // 5: batch runs (cards printed one after another) resume where they stopped
    r#"
    -- Which member numbers a kind of batch output (the caller names it) has done, by which
    -- run and when: nobody is done twice unless asked.
    CREATE TABLE batch_done (
        kind      TEXT NOT NULL,
        member_no TEXT NOT NULL,
        run       TEXT NOT NULL,
        done_at   TEXT NOT NULL,
        PRIMARY KEY (kind, member_no)
    ) STRICT;
    "#,
    // 6: booth events for the office's figures (SPEC §8): where a consultation was counted
    // and what the worker needed; import rows told apart from booth sign-ups.
    r#"
    ALTER TABLE consultations ADD COLUMN needs TEXT NOT NULL DEFAULT '';
    ALTER TABLE consultations ADD COLUMN union_name TEXT NOT NULL DEFAULT '';
    ALTER TABLE consultations ADD COLUMN place TEXT NOT NULL DEFAULT '';
    ALTER TABLE consultations ADD COLUMN operator TEXT NOT NULL DEFAULT '';
    -- Consultations counted before were at the booth configured now (defaults as in
    -- config::Config::default, for a setting never changed).
    UPDATE consultations SET
        union_name = coalesce((SELECT value FROM settings WHERE key = 'union'), '工会'),
        place = coalesce((SELECT value FROM settings WHERE key = 'place'), '职工沟通会'),
        operator = coalesce((SELECT value FROM settings WHERE key = 'operator'), '经办人');
    -- 1: registered by `booth import`. Rows from before cannot be told apart: booth sign-ups.
    ALTER TABLE members ADD COLUMN imported INTEGER NOT NULL DEFAULT 0;
    -- The day summaries read booth sign-ups by day and place from this index alone.
    CREATE INDEX members_booth_days ON members (event_date, union_name, place, state)
        WHERE imported = 0;
    "#,
    // 7: a booth of several laptops (SPEC §12): the group, paired laptops, same-person
    // hashes, segments (store/peers.rs)
    super::peers::MIGRATION,
];

/// The schema version this build writes.
pub const CURRENT: i64 = MIGRATIONS.len() as i64;

/// Applies the missing migrations. A database from a newer build is refused, not downgraded.
pub fn migrate(conn: &mut Connection) -> Result<(), super::StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > CURRENT {
        return Err(super::StoreError::TooNew {
            found: version,
            supported: CURRENT,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "schema migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    /// A database left by an earlier release (here: after migration 2, with a member in it)
    /// is brought up to date with its rows intact, and the new index is the one queries use.
    #[test]
    fn an_older_database_is_upgraded_in_place() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (i, sql) in MIGRATIONS.iter().take(2).enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", (i + 1) as i64)
                .unwrap();
        }
        conn.execute(
            "INSERT INTO members (uuid, member_no, person_hash, doc_kind, record, name,
                phone_tail, needs, consent_at, union_name, place, event_date, operator,
                created_at, updated_at, state)
             VALUES ('u1', 'AAAAAA-0001-0', x'01', 'resident_id', '{}', 'n', '0000', '',
                't', 'u', 'p', '2026-11-24', 'o', 't', 't', 'queued')",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn), CURRENT);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM members", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT count(*) FROM members
                 WHERE event_date = '2026-11-24' AND state != 'voided'",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("members_day_state"), "{plan}");
        // running it again changes nothing
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn), CURRENT);
    }

    #[test]
    fn a_newer_database_is_refused_not_downgraded() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", CURRENT + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(crate::store::StoreError::TooNew { .. })
        ));
        assert_eq!(version(&conn), CURRENT + 1);
    }
}
