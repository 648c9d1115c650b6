//! The SQLite schema: its migrations, applied in order at start (`PRAGMA user_version` counts
//! them), in one write transaction each, so two servers starting on one file cannot both apply
//! one.

use rusqlite::{Connection, TransactionBehavior};

use super::DbError;
use super::figures;

/// Append only. `PRAGMA user_version` counts the migrations applied.
pub(super) fn migrations() -> Vec<&'static str> {
    vec![
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
        &figures::SQLITE_MIGRATION,
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
        &figures::SQLITE_MIGRATION_5,
        // 6: records relayed by peers and backup files (SPEC §12, db::segments).
        SEGMENTS_MIGRATION,
        // 7: an audit entry's details as fields, not joined into its target (db::audit).
        super::audit::FIELDS_MIGRATION,
        // 8: cards open the page (issue 23 item 10): `office.verify_url`, the page's public
        // address the office gave (enrolment codes and the bundle carry it), and the newest
        // copy published for a static host (`published_version`, `published_at`), so that the
        // console can say when that copy is older than the bundle.
        PAGE_ADDRESS_MIGRATION,
        // 9: the office's daily work (docs/console.md): its time zone, who revoked a card, and
        // the distinct employer and union names an infix search reads.
        OFFICE_DAILY_MIGRATION,
        // 10: the union tree (SPEC §11, db::unions): nodes, their closure, the node of each
        // laptop, user and audit entry.
        super::unions::TREE_MIGRATION,
        // 11: the cards the office voided that were booth sign-ups (db::figures::schema).
        &figures::SQLITE_OFFICE_VOIDS,
        // 12: the distinct employers under each node (db::unions::UNION_ENTERPRISES_*).
        super::unions::UNION_ENTERPRISES_SQLITE,
        // 13: a union's or a place's members over a few days, read by one index range
        super::search::UNION_PLACE_DATE_MIGRATION,
    ]
}

/// - `office.time_zone`: the office's IANA zone (`server init --time-zone`; NULL is
///   Asia/Shanghai), for every time the console, the audit log and the exports show;
/// - `office.silent_days`: after how many days without an upload the devices page names a
///   laptop (NULL: 3);
/// - `revoked.by_user`: who revoked a card at the office (a console user, `cli:<os user>`);
/// - `search_names`: every distinct employer (folded, as `members.s_employer`) and union
///   name (`members.s_union`) of a member not erased, kept by triggers on every write to
///   `members`, so that a part of a name (`顺丰`, two characters: too short for trigram
///   indexes) is matched on tens of thousands of names and then joined through the
///   members' own indexes. A name no member holds any more (the last one erased or
///   corrected) leaves the table in the same statement (`secure_delete` zeroes it).
const OFFICE_DAILY_MIGRATION: &str = r#"
    ALTER TABLE office ADD COLUMN time_zone TEXT;
    ALTER TABLE office ADD COLUMN silent_days INTEGER;
    ALTER TABLE revoked ADD COLUMN by_user TEXT;
    CREATE TABLE search_names (
        kind TEXT NOT NULL CHECK (kind IN ('employer', 'union')),
        name TEXT NOT NULL,
        PRIMARY KEY (kind, name)
    ) WITHOUT ROWID;
    INSERT INTO search_names (kind, name)
        SELECT DISTINCT 'employer', s_employer FROM members
        WHERE s_employer IS NOT NULL AND s_employer <> '' AND erased_at IS NULL
        ON CONFLICT DO NOTHING;
    INSERT INTO search_names (kind, name)
        SELECT DISTINCT 'union', s_union FROM members
        WHERE s_union IS NOT NULL AND s_union <> '' AND erased_at IS NULL
        ON CONFLICT DO NOTHING;
    CREATE TRIGGER members_names_added AFTER INSERT ON members BEGIN
        INSERT INTO search_names (kind, name) SELECT 'employer', NEW.s_employer
            WHERE NEW.s_employer IS NOT NULL AND NEW.s_employer <> '' ON CONFLICT DO NOTHING;
        INSERT INTO search_names (kind, name) SELECT 'union', NEW.s_union
            WHERE NEW.s_union IS NOT NULL AND NEW.s_union <> '' ON CONFLICT DO NOTHING;
    END;
    CREATE TRIGGER members_names_changed AFTER UPDATE OF s_employer, s_union ON members BEGIN
        INSERT INTO search_names (kind, name) SELECT 'employer', NEW.s_employer
            WHERE NEW.s_employer IS NOT NULL AND NEW.s_employer <> '' ON CONFLICT DO NOTHING;
        INSERT INTO search_names (kind, name) SELECT 'union', NEW.s_union
            WHERE NEW.s_union IS NOT NULL AND NEW.s_union <> '' ON CONFLICT DO NOTHING;
        DELETE FROM search_names WHERE kind = 'employer' AND name = OLD.s_employer
            AND NOT EXISTS (SELECT 1 FROM members WHERE s_employer = OLD.s_employer);
        DELETE FROM search_names WHERE kind = 'union' AND name = OLD.s_union
            AND NOT EXISTS (SELECT 1 FROM members WHERE s_union = OLD.s_union);
    END;
    "#;

/// Relayed segments and backups (docs/trust.md "Peers"):
/// - `devices.binding_key`: HKDF of the device's token (base64url), kept from `add-device`
///   until the device's first key is bound, to check a binding proof (never the token);
/// - `members.version_rank`: which upload or segment the stored version of a record came
///   from (`db::segments::rank`), so that a newer edit of a relayed record replaces it;
/// - `segment_origins`: per laptop key, the highest segment counter taken and the rank of
///   the day summaries kept (an older segment's never replace them);
/// - `segments_taken`: every segment taken, by origin and counter, with a digest of its
///   bytes (the same segment again is `already_there`; other bytes under that counter are
///   refused) and who delivered it.
const SEGMENTS_MIGRATION: &str = r#"
    ALTER TABLE devices ADD COLUMN binding_key TEXT;
    ALTER TABLE members ADD COLUMN version_rank INTEGER;
    CREATE TABLE segment_origins (
        origin       TEXT PRIMARY KEY,
        last_counter INTEGER NOT NULL,
        days_rank    INTEGER NOT NULL
    );
    CREATE TABLE segments_taken (
        origin      TEXT NOT NULL,
        counter     INTEGER NOT NULL,
        digest      TEXT NOT NULL,
        device      TEXT NOT NULL,
        via         TEXT NOT NULL,
        records     INTEGER NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (origin, counter)
    );
    "#;

/// Described where the list of migrations names it (both databases).
pub(crate) const PAGE_ADDRESS_MIGRATION: &str = r#"
    ALTER TABLE office ADD COLUMN verify_url TEXT;
    ALTER TABLE office ADD COLUMN published_version BIGINT;
    ALTER TABLE office ADD COLUMN published_at TEXT;
    "#;

/// The migration that created the figures' tables (1-based).
const FIGURES_VERSION: i64 = 3;
/// The migration that added `booth_days.meeting_share`.
const MEETING_SHARE_VERSION: i64 = 5;

/// The schema version this booth makes (the number of its migrations).
pub(crate) fn supported() -> i64 {
    migrations().len() as i64
}

/// Applies the migrations this server knows and the file lacks.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    migrate_to(conn, supported())
}

/// Applies the migrations up to `target` (the office database of an earlier booth, whose
/// last migration was `target`: the upgrade tests make their old databases so).
pub(super) fn migrate_to(conn: &mut Connection, target: i64) -> Result<(), DbError> {
    let migrations = migrations();
    let supported = migrations.len() as i64;
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
        let target = target.min(supported);
        if version >= target {
            return Ok(());
        }
        // The members held before the figures' tables existed are counted by today's
        // ingest code, which writes the tables of every later migration too: from below the
        // figures, the rest is one transaction, counted after its last migration.
        let upto = if version < FIGURES_VERSION {
            target
        } else {
            version + 1
        };
        for v in version..upto {
            tx.execute_batch(migrations[v as usize])?;
            if v + 1 == MEETING_SHARE_VERSION {
                tx.execute_batch(figures::MEETING_SHARE_UPDATE)?;
                for sql in figures::booth_day_totals("1 = 1") {
                    tx.execute(&sql, [])?;
                }
            }
        }
        if version < FIGURES_VERSION && upto >= FIGURES_VERSION {
            backfill_figures(&tx)?;
        }
        tx.pragma_update(None, "user_version", upto)?;
        tx.commit()?;
        tracing::info!(from = version, to = upto, "server schema migrated (sqlite)");
    }
}

/// Counts the members held before the figures' tables existed (once, when they are made).
pub(super) fn backfill_figures(tx: &Connection) -> Result<(), DbError> {
    let rows: Vec<(String, String)> = tx
        .prepare(figures::STORED_RECORDS)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (device, inc) in &figures::increments_of_stored(rows) {
        super::batch::sqlite_add_increments(tx, device, inc)?;
    }
    Ok(())
}
