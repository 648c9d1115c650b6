//! The PostgreSQL schema: its migrations, applied in order at start (`booth_schema.version`
//! counts them) in one transaction under an advisory lock, so servers starting together
//! apply each once.

use super::DbError;
use super::conn::PgConn;
use super::figures;
use super::postgres::PgDb;

/// Append only; `booth_schema.version` counts the migrations applied.
fn migrations() -> Vec<&'static str> {
    vec![
        r#"
    CREATE TABLE devices (
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        token_hash  TEXT NOT NULL UNIQUE,
        created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
        revoked_at  TIMESTAMPTZ
    );
    CREATE TABLE members (
        id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        uuid         TEXT NOT NULL UNIQUE,
        member_no    TEXT NOT NULL UNIQUE,
        person_key   TEXT NOT NULL UNIQUE,
        content_hash TEXT NOT NULL,
        -- TEXT, not JSONB: kept byte for byte as sent (JSONB would reorder keys).
        record       TEXT NOT NULL,
        device       TEXT NOT NULL,
        batch_id     TEXT NOT NULL,
        event_date   DATE NOT NULL,
        received_at  TIMESTAMPTZ NOT NULL DEFAULT now()
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
        max_seq     BIGINT,
        bound_at    TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE revoked (
        member_no   TEXT PRIMARY KEY,
        reason      TEXT NOT NULL,
        source      TEXT NOT NULL,
        device      TEXT,
        revoked_at  TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE office (
        id               INTEGER PRIMARY KEY CHECK (id = 1),
        bundle_version   BIGINT NOT NULL,
        bundle_issued_at TEXT NOT NULL,
        office_key       TEXT,
        next_office_key  TEXT,
        server_url       TEXT
    );
    INSERT INTO office (id, bundle_version, bundle_issued_at)
        VALUES (1, 1, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
    "#,
        // 3: the campaign's figures (SPEC §8), kept at ingest; members held before are counted
        // by `backfill_figures` right after.
        &figures::PG_MIGRATION,
        // 4: the office console (docs/console.md). Search keys are C-collated: a prefix range
        // (`>= 'x' AND < 'x\u{10FFFF}'`, or LIKE 'x%') walks their plain btree whatever the
        // database's locale, like text_pattern_ops, and the same index serves ordering.
        r#"
    CREATE TABLE office_users (
        name          TEXT PRIMARY KEY,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
        password_hash TEXT NOT NULL,
        created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE console_sessions (
        id_hash    TEXT PRIMARY KEY,
        user_name  TEXT NOT NULL,
        csrf       TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        seen_at    BIGINT NOT NULL
    );
    CREATE INDEX console_sessions_user ON console_sessions (user_name);
    CREATE TABLE login_failures (
        key          TEXT PRIMARY KEY,
        failures     BIGINT NOT NULL,
        last_at      BIGINT NOT NULL,
        locked_until BIGINT NOT NULL
    );
    CREATE TABLE audit_log (
        id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at     TIMESTAMPTZ NOT NULL DEFAULT now(),
        actor  TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        count  BIGINT NOT NULL
    );
    CREATE INDEX audit_log_actor ON audit_log (actor, id);
    CREATE INDEX audit_log_action ON audit_log (action, id);
    CREATE TABLE member_reviews (
        member_id BIGINT PRIMARY KEY,
        status    TEXT NOT NULL,
        comment   TEXT NOT NULL,
        by_user   TEXT NOT NULL,
        at        TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX member_reviews_status ON member_reviews (status, member_id);
    ALTER TABLE members
        ADD COLUMN s_name TEXT COLLATE "C",
        ADD COLUMN s_phone_tail TEXT COLLATE "C",
        ADD COLUMN s_employer TEXT COLLATE "C",
        ADD COLUMN s_union TEXT,
        ADD COLUMN s_place TEXT,
        ADD COLUMN s_form TEXT,
        ADD COLUMN corrected_at TIMESTAMPTZ,
        ADD COLUMN erased_at TIMESTAMPTZ;
    CREATE INDEX members_s_name ON members (s_name);
    CREATE INDEX members_s_phone_tail ON members (s_phone_tail, id);
    CREATE INDEX members_s_employer ON members (s_employer);
    CREATE INDEX members_s_union ON members (s_union, id);
    CREATE INDEX members_s_place ON members (s_place, id);
    CREATE INDEX members_no_prefix ON members ((member_no COLLATE "C"));
    CREATE INDEX members_device_received ON members (device, received_at);
    "#,
        // 5: the figures read in a few aggregate passes at campaign scale (db::figures).
        &figures::PG_MIGRATION_5,
        // 6: a name search plans from the histogram's own entries (db::search, `LIKE 'p%'`): with
        // the default 100 of them, a surname held by 1 % of members can fall between two and be
        // taken for a rare one (its 50,000 rows then sorted whole: 0.3–0.9 s at 5M members). A
        // thousand entries see every surname above 0.1 %.
        r#"
    ALTER TABLE members
        ALTER COLUMN s_name SET STATISTICS 1000,
        ALTER COLUMN s_employer SET STATISTICS 1000;
    ANALYZE members;
    "#,
        // 7: records relayed by peers and backup files (SPEC §12; the columns and tables are
        // described with SQLite's migration, `sqlite_schema::SEGMENTS_MIGRATION`).
        r#"
    ALTER TABLE devices ADD COLUMN binding_key TEXT;
    ALTER TABLE members ADD COLUMN version_rank BIGINT;
    CREATE TABLE segment_origins (
        origin       TEXT PRIMARY KEY,
        last_counter BIGINT NOT NULL,
        days_rank    BIGINT NOT NULL
    );
    CREATE TABLE segments_taken (
        origin      TEXT NOT NULL,
        counter     BIGINT NOT NULL,
        digest      TEXT NOT NULL,
        device      TEXT NOT NULL,
        via         TEXT NOT NULL,
        records     BIGINT NOT NULL,
        received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (origin, counter)
    );
    "#,
        // 8: an audit entry's details as fields, not joined into its target (db::audit).
        super::audit::FIELDS_MIGRATION,
        // 9: the page's address and the published copy's version (issue 23 item 10; described
        // with SQLite's migration, the same statements).
        super::sqlite_schema::PAGE_ADDRESS_MIGRATION,
        // 10: the office's daily work: described with SQLite's migration
        // (`sqlite_schema::OFFICE_DAILY_MIGRATION`). Statement-level triggers with transition
        // tables: a batch of 500 rows adds its few distinct names in one statement.
        r#"
    ALTER TABLE office ADD COLUMN time_zone TEXT;
    ALTER TABLE office ADD COLUMN silent_days BIGINT;
    ALTER TABLE revoked ADD COLUMN by_user TEXT;
    CREATE TABLE search_names (
        kind TEXT NOT NULL CHECK (kind IN ('employer', 'union')),
        name TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (kind, name)
    );
    INSERT INTO search_names (kind, name)
        SELECT DISTINCT 'employer', s_employer FROM members
        WHERE s_employer IS NOT NULL AND s_employer <> '' AND erased_at IS NULL
        UNION SELECT DISTINCT 'union', s_union FROM members
        WHERE s_union IS NOT NULL AND s_union <> '' AND erased_at IS NULL
        ON CONFLICT DO NOTHING;
    CREATE FUNCTION search_names_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO search_names (kind, name)
            SELECT 'employer', s_employer FROM new_rows
            WHERE s_employer IS NOT NULL AND s_employer <> ''
            UNION SELECT 'union', s_union FROM new_rows
            WHERE s_union IS NOT NULL AND s_union <> ''
            ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$;
    CREATE FUNCTION search_names_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO search_names (kind, name)
            SELECT 'employer', s_employer FROM new_rows
            WHERE s_employer IS NOT NULL AND s_employer <> ''
            UNION SELECT 'union', s_union FROM new_rows
            WHERE s_union IS NOT NULL AND s_union <> ''
            ON CONFLICT DO NOTHING;
        DELETE FROM search_names n
            USING (SELECT DISTINCT o.s_employer FROM old_rows o
                   WHERE o.s_employer IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM new_rows w WHERE w.s_employer = o.s_employer)) g
            WHERE n.kind = 'employer' AND n.name = g.s_employer
            AND NOT EXISTS (SELECT 1 FROM members m WHERE m.s_employer = g.s_employer);
        DELETE FROM search_names n
            USING (SELECT DISTINCT o.s_union FROM old_rows o
                   WHERE o.s_union IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM new_rows w WHERE w.s_union = o.s_union)) g
            WHERE n.kind = 'union' AND n.name = g.s_union
            AND NOT EXISTS (SELECT 1 FROM members m WHERE m.s_union = g.s_union);
        RETURN NULL;
    END $$;
    CREATE TRIGGER members_names_added AFTER INSERT ON members
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION search_names_added();
    CREATE TRIGGER members_names_changed AFTER UPDATE ON members
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION search_names_changed();
    "#,
        // 11: the union tree (SPEC §11, db::unions; the same statements as SQLite's).
        super::unions::TREE_MIGRATION,
        // 12: the cards the office voided that were booth sign-ups (db::figures::schema).
        &figures::PG_OFFICE_VOIDS,
        // 13: the distinct employers under each node (db::unions::UNION_ENTERPRISES_*).
        super::unions::UNION_ENTERPRISES_PG,
        // 14: a union's or a place's members over a few days (db::search)
        super::search::UNION_PLACE_DATE_MIGRATION,
    ]
}

/// The migration that created the figures' tables (1-based).
const FIGURES_VERSION: usize = 3;
/// The migration that added `booth_days.meeting_share`.
const MEETING_SHARE_VERSION: usize = 5;

/// Any number; the same in every server: serialises concurrent migrations.
const MIGRATION_LOCK: i64 = 0x0062_6f6f_7468; // "booth"

/// The schema version this booth makes (the number of its migrations).
pub(crate) fn supported() -> i64 {
    migrations().len() as i64
}

/// The database's schema version, read without changing anything (0: none made yet).
pub(crate) async fn version(db: &PgDb) -> Result<i64, DbError> {
    let client = db.client().await?;
    let made: bool = client
        .query_one("SELECT to_regclass('booth_schema') IS NOT NULL", &[])
        .await?
        .get(0);
    if !made {
        return Ok(0);
    }
    Ok(client
        .query_opt("SELECT version FROM booth_schema", &[])
        .await?
        .map_or(0, |r| r.get(0)))
}

/// Applies the migrations this server knows and the database lacks.
pub(crate) async fn migrate(db: &PgDb) -> Result<(), DbError> {
    migrate_to(db, supported()).await
}

/// Applies the migrations up to `target` (the office database of an earlier booth, whose
/// last migration was `target`: the upgrade tests make their old databases so).
pub(super) async fn migrate_to(db: &PgDb, target: i64) -> Result<(), DbError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS booth_schema (version BIGINT NOT NULL)")
        .await?;
    let version: i64 = match tx
        .query_opt("SELECT version FROM booth_schema", &[])
        .await?
    {
        Some(r) => r.get(0),
        None => {
            tx.execute("INSERT INTO booth_schema (version) VALUES (0)", &[])
                .await?;
            0
        }
    };
    let migrations = migrations();
    let supported = migrations.len() as i64;
    if version > supported {
        return Err(DbError::TooNew {
            found: version,
            supported,
        });
    }
    let target = target.min(supported);
    for (i, sql) in migrations
        .iter()
        .enumerate()
        .take(target.max(0) as usize)
        .skip(version as usize)
    {
        tx.batch_execute(sql).await?;
        if i + 1 == MEETING_SHARE_VERSION {
            tx.batch_execute(figures::MEETING_SHARE_UPDATE).await?;
            for sql in figures::booth_day_totals("1 = 1") {
                tx.batch_execute(&sql).await?;
            }
        }
        tx.execute("UPDATE booth_schema SET version = $1", &[&((i + 1) as i64)])
            .await?;
        tracing::info!(version = i + 1, "server schema migrated (postgres)");
    }
    // The members held before the figures' tables existed, counted by today's ingest code
    // (which writes the tables of every later migration too): after the last migration.
    if version < FIGURES_VERSION as i64 && target >= FIGURES_VERSION as i64 {
        backfill_figures(&PgConn::of_tx(&tx)).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Counts the members held before the figures' tables existed (once, when they are made).
pub(super) async fn backfill_figures(tx: &PgConn<'_>) -> Result<(), DbError> {
    let rows: Vec<(String, String)> = tx
        .query(figures::STORED_RECORDS, &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (device, inc) in &figures::increments_of_stored(rows) {
        super::batch::pg_add_increments(tx, device, inc).await?;
    }
    Ok(())
}
