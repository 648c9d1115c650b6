//! The server's PostgreSQL backend, for a city-wide office: several stateless servers behind
//! a load balancer on one database. A pool of connections (deadpool); a batch is one
//! transaction of a handful of statements whatever its size: one multi-row insert through
//! `unnest`, then `= ANY($1)` look-ups for the records that did not go in.
//!
//! Concurrency: READ COMMITTED. `ON CONFLICT DO NOTHING` waits for a concurrent transaction
//! holding the same key and skips the row if that one commits; the look-up statements that
//! follow take a new snapshot and see the winner. Two batches inserting overlapping keys in
//! different orders can deadlock; PostgreSQL aborts one, and it is retried here.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use super::figures::{self, Breakdown, Dimensions, FigureFilter, FigureRow, Increments};
use super::{
    BatchWrite, BindRefusal, Binding, DbError, DeviceCount, KeyRow, MemberRow, OfficeState,
    REVOKED_BY_LAPTOP, REVOKED_DUPLICATE, Stored, classify_missed, max_seq_of, now_utc,
    split_first_occurrences,
};
use crate::server::batch::{Candidate, Decision};

/// Append only; `booth_schema.version` counts the migrations applied.
const MIGRATIONS: &[&str] = &[
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
    figures::PG_MIGRATION,
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
    figures::PG_MIGRATION_5,
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
];

/// The migration that created the figures' tables (1-based).
const FIGURES_VERSION: usize = 3;
/// The migration that added `booth_days.meeting_share`.
const MEETING_SHARE_VERSION: usize = 5;

/// Any number; the same in every server: serialises concurrent migrations.
const MIGRATION_LOCK: i64 = 0x0062_6f6f_7468; // "booth"
/// The first key of the per-day locks around the day totals (`store_days`).
const DAY_TOTALS_LOCK: i32 = 0x6461_7973; // "days"
const RETRIES: usize = 8;

pub struct PgDb {
    pool: Pool,
}

/// A timestamp column as text the way the SQLite backend keeps times: UTC, RFC 3339 with
/// milliseconds, so pages and exports show one format whichever database is behind them.
pub(crate) fn utc_text(column: &str) -> String {
    format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
}

pub(crate) fn pool_err(e: impl std::fmt::Display) -> DbError {
    DbError::Pool(e.to_string())
}

fn retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(&SqlState::T_R_DEADLOCK_DETECTED) | Some(&SqlState::T_R_SERIALIZATION_FAILURE)
    )
}

impl PgDb {
    pub async fn open(url: &str) -> Result<PgDb, DbError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|_| DbError::BadUrl)?;
        // The server's NOTICEs ("relation … already exists, skipping" at every start) are not
        // the office's concern: ask for warnings and errors only (the URL's own options kept).
        let options = match config.get_options() {
            Some(o) if !o.trim().is_empty() => format!("{o} -c client_min_messages=warning"),
            _ => "-c client_min_messages=warning".to_string(),
        };
        config.options(&options);
        let mgr = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(16)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(std::time::Duration::from_secs(10)))
            .wait_timeout(Some(std::time::Duration::from_secs(30)))
            .build()
            .map_err(pool_err)?;
        let db = PgDb { pool };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), DbError> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
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
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(DbError::TooNew {
                found: version,
                supported,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.batch_execute(sql).await?;
            if i + 1 == FIGURES_VERSION {
                backfill_figures(&tx).await?;
            }
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
        tx.commit().await?;
        Ok(())
    }

    /// A pooled connection, for the console's queries (db::users, db::search, …).
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, DbError> {
        self.pool.get().await.map_err(pool_err)
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client.execute("SELECT 1", &[]).await?;
        Ok(())
    }

    pub async fn device_for_token(&self, hash: &str) -> Result<Option<String>, DbError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let stmt = client
            .prepare_cached("SELECT name FROM devices WHERE token_hash = $1 AND revoked_at IS NULL")
            .await?;
        Ok(client.query_opt(&stmt, &[&hash]).await?.map(|r| r.get(0)))
    }

    pub async fn store_batch(&self, b: &BatchWrite) -> Result<Stored, DbError> {
        let mut attempt = 0;
        loop {
            match self.try_store_batch(b).await {
                Err(DbError::Postgres(e)) if retryable(&e) && attempt < RETRIES => {
                    attempt += 1;
                    tracing::info!(
                        attempt,
                        "batch transaction retried (deadlock/serialisation)"
                    );
                    let ms = 10 * (1u64 << attempt.min(6)) + u64::from(rand_u8());
                    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                }
                other => return other,
            }
        }
    }

    async fn try_store_batch(&self, b: &BatchWrite) -> Result<Stored, DbError> {
        let (device, batch_id, candidates) = (&b.device, &b.batch_id, &b.candidates);
        let mut client = self.pool.get().await.map_err(pool_err)?;
        let tx = client.transaction().await?;
        let mut changed = match bind(&tx, device, &b.binding).await? {
            Ok(changed) => changed,
            Err(refusal) => return Ok(Stored::Refused(refusal)),
        };
        let (first, rest) = split_first_occurrences(candidates);
        let col = |f: fn(&Candidate) -> String| -> Vec<String> {
            first.iter().map(|&i| f(&candidates[i])).collect()
        };
        let uuids = col(|c| c.uuid.clone());
        let nos = col(|c| c.member_no.clone());
        let persons = col(|c| c.person_key.clone());
        let hashes = col(|c| c.content_hash.clone());
        let records = col(|c| c.record.clone());
        let dates = col(|c| c.event_date.to_string());
        let names = col(|c| c.keys.name.clone());
        let tails = col(|c| c.keys.phone_tail.clone());
        let employers = col(|c| c.keys.employer.clone());
        let unions = col(|c| c.keys.union.clone());
        let places = col(|c| c.keys.place.clone());
        let forms: Vec<Option<String>> = first
            .iter()
            .map(|&i| candidates[i].keys.form.clone())
            .collect();
        let inserted: HashSet<String> = tx
            .query(
                "INSERT INTO members (uuid, member_no, person_key, content_hash, record, device,
                    batch_id, event_date, s_name, s_phone_tail, s_employer, s_union, s_place,
                    s_form)
                 SELECT u, n, p, h, r, $7, $8, d::date, sn, sp, se, su, spl, sf
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                    $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
                    AS t(u, n, p, h, r, d, sn, sp, se, su, spl, sf)
                 ON CONFLICT DO NOTHING
                 RETURNING uuid",
                &[
                    &uuids, &nos, &persons, &hashes, &records, &dates, &device, &batch_id, &names,
                    &tails, &employers, &unions, &places, &forms,
                ],
            )
            .await?
            .into_iter()
            .map(|r| r.get(0))
            .collect();
        let mut decisions = vec![Decision::Conflict; candidates.len()];
        let mut missed = rest;
        for &i in &first {
            if inserted.contains(&candidates[i].uuid) {
                decisions[i] = Decision::Accepted;
            } else {
                missed.push(i);
            }
        }
        if !missed.is_empty() {
            let m_uuids: Vec<String> = missed.iter().map(|&i| candidates[i].uuid.clone()).collect();
            let m_persons: Vec<String> = missed
                .iter()
                .map(|&i| candidates[i].person_key.clone())
                .collect();
            let by_uuid: HashMap<String, String> = tx
                .query(
                    "SELECT uuid, content_hash FROM members WHERE uuid = ANY($1)",
                    &[&m_uuids],
                )
                .await?
                .into_iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            let by_person: HashMap<String, String> = tx
                .query(
                    "SELECT person_key, member_no FROM members WHERE person_key = ANY($1)",
                    &[&m_persons],
                )
                .await?
                .into_iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            for &i in &missed {
                decisions[i] = classify_missed(&candidates[i], &by_uuid, &by_person);
            }
        }
        // The card of a record refused as the same person was handed out: revoke it. One
        // accepted later (the operator corrected the ID) is valid again.
        let mut revoke: Vec<String> = b.voids.clone();
        let mut sources: Vec<String> = vec![REVOKED_BY_LAPTOP.to_string(); b.voids.len()];
        let mut restore: Vec<String> = Vec::new();
        for (c, d) in candidates.iter().zip(&decisions) {
            match d {
                Decision::DuplicatePerson(_) => {
                    revoke.push(c.member_no.clone());
                    sources.push(REVOKED_DUPLICATE.to_string());
                }
                Decision::Accepted => restore.push(c.member_no.clone()),
                _ => {}
            }
        }
        if !revoke.is_empty() {
            changed |= tx
                .execute(
                    "INSERT INTO revoked (member_no, reason, source, device)
                     SELECT n, '', s, $3 FROM unnest($1::text[], $2::text[]) AS t(n, s)
                     ON CONFLICT DO NOTHING",
                    &[&revoke, &sources, &device],
                )
                .await?
                > 0;
        }
        if !restore.is_empty() {
            changed |= tx
                .execute(
                    "DELETE FROM revoked WHERE member_no = ANY($1) AND source = $2",
                    &[&restore, &REVOKED_DUPLICATE],
                )
                .await?
                > 0;
        }
        if changed {
            bump(&tx).await?;
        }
        add_increments(&tx, device, &Increments::of(candidates, &decisions)).await?;
        store_days(&tx, device, &b.days).await?;
        tx.commit().await?;
        Ok(Stored::Done(decisions))
    }

    pub async fn office_state(&self) -> Result<OfficeState, DbError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        office_state(&**client).await
    }

    pub async fn bundle_rows(&self) -> Result<(Vec<KeyRow>, Vec<String>), DbError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let keys = client
            .query(
                "SELECT key_id, public_key, device, union_name, key_from, max_seq
                 FROM device_keys ORDER BY key_id COLLATE \"C\"",
                &[],
            )
            .await?
            .into_iter()
            .map(|r| KeyRow {
                key_id: r.get(0),
                public_key: r.get(1),
                device: r.get(2),
                union: r.get(3),
                from: r.get(4),
                max_seq: r.get::<_, Option<i64>>(5).map(|m| m as u32),
            })
            .collect();
        let revoked = client
            .query(
                "SELECT member_no FROM revoked ORDER BY member_no COLLATE \"C\"",
                &[],
            )
            .await?
            .into_iter()
            .map(|r| r.get(0))
            .collect();
        Ok((keys, revoked))
    }

    pub async fn update_office(
        &self,
        f: impl FnOnce(&OfficeState) -> Result<(OfficeState, bool), DbError>,
    ) -> Result<OfficeState, DbError> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        let tx = client.transaction().await?;
        tx.execute("SELECT 1 FROM office WHERE id = 1 FOR UPDATE", &[])
            .await?;
        let (new, bumped) = f(&office_state(&*tx).await?)?;
        tx.execute(
            "UPDATE office SET office_key = $1, next_office_key = $2, server_url = $3
             WHERE id = 1",
            &[&new.office_key, &new.next_office_key, &new.server_url],
        )
        .await?;
        if bumped {
            bump(&tx).await?;
        }
        let state = office_state(&*tx).await?;
        tx.commit().await?;
        Ok(state)
    }

    pub async fn revoke_member(
        &self,
        member_no: &str,
        reason: &str,
        source: &str,
    ) -> Result<bool, DbError> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "INSERT INTO revoked (member_no, reason, source) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&member_no, &reason, &source],
            )
            .await?;
        if n > 0 {
            bump(&tx).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    pub async fn add_device(&self, name: &str, hash: &str) -> Result<(), DbError> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        let tx = client.transaction().await?;
        let existing = tx
            .query_opt(
                "SELECT revoked_at IS NOT NULL FROM devices WHERE name = $1 FOR UPDATE",
                &[&name],
            )
            .await?;
        match existing.map(|r| r.get::<_, bool>(0)) {
            Some(false) => return Err(DbError::DeviceExists),
            Some(true) => {
                tx.execute(
                    "UPDATE devices SET token_hash = $2, created_at = now(), revoked_at = NULL,
                        key_id = NULL
                     WHERE name = $1",
                    &[&name, &hash],
                )
                .await?
            }
            None => {
                tx.execute(
                    "INSERT INTO devices (name, token_hash) VALUES ($1, $2)",
                    &[&name, &hash],
                )
                .await?
            }
        };
        tx.commit().await?;
        Ok(())
    }

    /// Refuses the token from now on; the bundle then caps the laptop's key at the highest
    /// sequence it uploaded.
    pub async fn revoke_device(&self, name: &str) -> Result<(), DbError> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        let tx = client.transaction().await?;
        let Some(row) = tx
            .query_opt(
                "UPDATE devices SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL
                 RETURNING key_id",
                &[&name],
            )
            .await?
        else {
            return Err(DbError::NoSuchDevice);
        };
        if let Some(kid) = row.get::<_, Option<String>>(0) {
            let numbers: Vec<String> = tx
                .query(
                    "SELECT member_no FROM members WHERE substr(member_no, 1, 6) = $1",
                    &[&kid],
                )
                .await?
                .into_iter()
                .map(|r| r.get(0))
                .collect();
            tx.execute(
                "UPDATE device_keys SET max_seq = $2 WHERE key_id = $1",
                &[&kid, &i64::from(max_seq_of(numbers))],
            )
            .await?;
            bump(&tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every device the office issued a token to, and whether it is revoked.
    pub async fn devices(&self) -> Result<Vec<DeviceCount>, DbError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        Ok(client
            .query(
                "SELECT name, revoked_at IS NOT NULL FROM devices ORDER BY name",
                &[],
            )
            .await?
            .into_iter()
            .map(|r| DeviceCount {
                device: r.get(0),
                revoked: r.get(1),
                ..Default::default()
            })
            .collect())
    }

    pub async fn members_page(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, MemberRow)>, DbError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let rows = client
            .query(
                &format!(
                    "SELECT id, uuid, member_no, record, device, {}
                     FROM members WHERE id > $1 AND erased_at IS NULL ORDER BY id LIMIT $2",
                    utc_text("received_at")
                ),
                &[&after, &limit],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r.get(0),
                    MemberRow {
                        uuid: r.get(1),
                        member_no: r.get(2),
                        record: r.get(3),
                        device: r.get(4),
                        received_at: r.get(5),
                    },
                )
            })
            .collect())
    }
}

/// Adds what one batch's accepted members count to the figures' tables: one statement per
/// table, keys in sorted order (two batches of one place and day wait, not deadlock).
async fn add_increments(
    tx: &tokio_postgres::Transaction<'_>,
    device: &str,
    inc: &Increments,
) -> Result<(), DbError> {
    if inc.is_empty() {
        return Ok(());
    }
    let (mut d, mut u, mut p, mut imp, mut n) = (vec![], vec![], vec![], vec![], vec![]);
    for (((date, union, place), imported), count) in &inc.days {
        d.push(date.clone());
        u.push(union.clone());
        p.push(place.clone());
        imp.push(*imported);
        n.push(*count);
    }
    tx.execute(
        "INSERT INTO member_days (event_date, union_name, place, device, imported, n)
         SELECT d::date, u, p, $6, i, n
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::bigint[])
            AS t(d, u, p, i, n)
         ON CONFLICT (event_date, union_name, place, device, imported)
         DO UPDATE SET n = member_days.n + excluded.n",
        &[&d, &u, &p, &imp, &n, &device],
    )
    .await?;
    for (table, column, map) in [
        ("member_forms", "form", &inc.forms),
        ("member_needs", "need", &inc.needs),
    ] {
        if map.is_empty() {
            continue;
        }
        let (mut d, mut u, mut p, mut c, mut n) = (vec![], vec![], vec![], vec![], vec![]);
        for (((date, union, place), code), count) in map {
            d.push(date.clone());
            u.push(union.clone());
            p.push(place.clone());
            c.push(code.clone());
            n.push(*count);
        }
        tx.execute(
            &format!(
                "INSERT INTO {table} (event_date, union_name, place, device, {column}, n)
                 SELECT d::date, u, p, $6, c, n
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
                    AS t(d, u, p, c, n)
                 ON CONFLICT (event_date, union_name, place, device, {column})
                 DO UPDATE SET n = {table}.n + excluded.n"
            ),
            &[&d, &u, &p, &c, &n, &device],
        )
        .await?;
    }
    let (mut e, mut d, mut u, mut p) = (vec![], vec![], vec![], vec![]);
    for (enterprise, (date, union, place)) in inc.enterprises.keys() {
        e.push(enterprise.clone());
        d.push(date.clone());
        u.push(union.clone());
        p.push(place.clone());
    }
    tx.execute(
        "INSERT INTO enterprise_days (enterprise, event_date, union_name, place, device)
         SELECT e, d::date, u, p, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
            AS t(e, d, u, p)
         ON CONFLICT DO NOTHING",
        &[&e, &d, &u, &p, &device],
    )
    .await?;
    let mut distinct = e;
    distinct.sort();
    distinct.dedup();
    tx.execute(
        "INSERT INTO enterprises (enterprise) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
        &[&distinct],
    )
    .await?;
    let (mut d, mut item, mut n) = (vec![], vec![], vec![]);
    for ((date, it), count) in inc.day_items() {
        d.push(date);
        item.push(it);
        n.push(count);
    }
    tx.execute(
        "INSERT INTO figure_days (event_date, item, n)
         SELECT d::date, i, n FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(d, i, n)
         ON CONFLICT (event_date, item) DO UPDATE SET n = figure_days.n + excluded.n",
        &[&d, &item, &n],
    )
    .await?;
    add_names(tx, &inc.names(device)).await
}

/// Each day summary replaces the office's copy of it.
async fn store_days(
    tx: &tokio_postgres::Transaction<'_>,
    device: &str,
    days: &[crate::server::batch::DayRow],
) -> Result<(), DbError> {
    if days.is_empty() {
        return Ok(());
    }
    let mut rows: Vec<&crate::server::batch::DayRow> = days.iter().collect();
    rows.sort_by(|a, b| (a.date, &a.union, &a.place).cmp(&(b.date, &b.union, &b.place)));
    let col = |f: fn(&crate::server::batch::DayRow) -> String| -> Vec<String> {
        rows.iter().map(|d| f(d)).collect()
    };
    let num = |f: fn(&crate::server::batch::DayRow) -> u64| -> Vec<i64> {
        rows.iter().map(|d| f(d) as i64).collect()
    };
    tx.execute(
        "INSERT INTO booth_days (device, event_date, union_name, place, operator, consultations,
            needs, registrations, voids)
         SELECT $1, d::date, u, p, o, c, n, r, v
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[],
            $8::bigint[], $9::bigint[]) AS t(d, u, p, o, c, n, r, v)
         ON CONFLICT (device, event_date, union_name, place) DO UPDATE SET
            operator = excluded.operator, consultations = excluded.consultations,
            needs = excluded.needs, registrations = excluded.registrations,
            voids = excluded.voids, received_at = now()",
        &[
            &device,
            &col(|d| d.date.to_string()),
            &col(|d| d.union.clone()),
            &col(|d| d.place.clone()),
            &col(|d| d.operator.clone()),
            &num(|d| d.consultations),
            &col(figures::needs_json),
            &num(|d| d.registrations),
            &num(|d| d.voids),
        ],
    )
    .await?;
    // the summaries' needs as rows, replaced with them
    let (dates, unions, places) = (
        col(|d| d.date.to_string()),
        col(|d| d.union.clone()),
        col(|d| d.place.clone()),
    );
    tx.execute(
        "DELETE FROM booth_day_needs b USING unnest($2::text[], $3::text[], $4::text[])
            AS t(d, u, p)
         WHERE b.device = $1 AND b.event_date = t.d::date AND b.union_name = t.u
            AND b.place = t.p",
        &[&device, &dates, &unions, &places],
    )
    .await?;
    let (mut nd, mut nu, mut np, mut code, mut count) = (vec![], vec![], vec![], vec![], vec![]);
    for d in &rows {
        for (need, n) in d.needs.iter().filter(|(_, n)| **n > 0) {
            nd.push(d.date.to_string());
            nu.push(d.union.clone());
            np.push(d.place.clone());
            code.push(need.clone());
            count.push(*n as i64);
        }
    }
    tx.execute(
        "INSERT INTO booth_day_needs (device, event_date, union_name, place, need, n)
         SELECT $1, d::date, u, p, c, n
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
            AS t(d, u, p, c, n)",
        &[&device, &nd, &nu, &np, &code, &count],
    )
    .await?;
    tx.execute(
        &format!(
            "{} WHERE device = $1 AND (event_date, place) IN
                (SELECT d::date, p FROM unnest($2::text[], $3::text[]) AS t(d, p))",
            figures::MEETING_SHARE_UPDATE
        ),
        &[&device, &dates, &places],
    )
    .await?;
    // The day totals are summed again from every laptop's summaries of the day: one upload
    // at a time per day (in date order, so two uploads never wait on each other crosswise),
    // each summing what the ones before it committed.
    let mut days_sent = dates.clone();
    days_sent.sort();
    days_sent.dedup();
    for date in &days_sent {
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&DAY_TOTALS_LOCK, date],
        )
        .await?;
    }
    for sql in figures::booth_day_totals("event_date = ANY($1::text[]::date[])") {
        tx.execute(&sql, &[&days_sent]).await?;
    }
    add_names(tx, &figures::names_of_days(device, days)).await
}

/// Adds the names a batch used to the filters' pick lists.
async fn add_names(
    tx: &tokio_postgres::Transaction<'_>,
    names: &[(&str, &str)],
) -> Result<(), DbError> {
    let (kinds, names): (Vec<&str>, Vec<&str>) = names.iter().copied().unzip();
    tx.execute(
        "INSERT INTO figure_names (kind, name) SELECT * FROM unnest($1::text[], $2::text[])
         ON CONFLICT DO NOTHING",
        &[&kinds, &names],
    )
    .await?;
    Ok(())
}

/// Counts the members held before the figures' tables existed (once, when they are made).
async fn backfill_figures(tx: &tokio_postgres::Transaction<'_>) -> Result<(), DbError> {
    let mut by_device: HashMap<String, Increments> = HashMap::new();
    for row in tx.query("SELECT device, record FROM members", &[]).await? {
        let (device, record): (String, String) = (row.get(0), row.get(1));
        // stored only after the server's own checks: a record that does not parse now is
        // left out of the figures rather than stopping the server
        if let Ok(w) = serde_json::from_str::<crate::protocol::WireRecord>(&record) {
            by_device
                .entry(device)
                .or_default()
                .add(w.event_date, &crate::server::batch::Facets::of(&w));
        }
    }
    for (device, inc) in &by_device {
        add_increments(tx, device, inc).await?;
    }
    Ok(())
}

impl PgDb {
    pub(crate) async fn figure_rows(
        &self,
        f: &FigureFilter,
        breakdown: Breakdown,
    ) -> Result<Vec<FigureRow>, DbError> {
        let (sql, params) = figures::figure_query(f, breakdown, &figures::POSTGRES);
        let client = self.pool.get().await.map_err(pool_err)?;
        let p: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|s| s as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let count = |r: &tokio_postgres::Row, i: usize| r.get::<_, i64>(i).max(0) as u64;
        Ok(client
            .query(&sql, &p)
            .await?
            .iter()
            .map(|r| FigureRow {
                tag: r.get(0),
                key: r.get(1),
                n: [count(r, 2), count(r, 3), count(r, 4), count(r, 5)],
            })
            .collect())
    }

    pub(crate) async fn figure_dimensions(&self) -> Result<Dimensions, DbError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let rows = client
            .query("SELECT kind, name FROM figure_names", &[])
            .await?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        Ok(figures::dimensions(rows))
    }
}

/// See the SQLite backend's `bind`: the device row is locked first, so two first uploads
/// of one token cannot both bind.
async fn bind(
    tx: &tokio_postgres::Transaction<'_>,
    device: &str,
    b: &Binding,
) -> Result<Result<bool, BindRefusal>, DbError> {
    let bound: Option<String> = tx
        .query_one(
            "SELECT key_id FROM devices WHERE name = $1 FOR UPDATE",
            &[&device],
        )
        .await?
        .get(0);
    let key_of = |kid: String| async move {
        Ok::<_, DbError>(
            tx.query_opt(
                "SELECT public_key FROM device_keys WHERE key_id = $1",
                &[&kid],
            )
            .await?
            .map(|r| r.get::<_, String>(0)),
        )
    };
    if let Some(kid) = bound {
        return Ok(
            if key_of(kid).await?.as_deref() == Some(b.public_key.as_str()) {
                Ok(false)
            } else {
                Err(BindRefusal::TokenBoundToOtherKey)
            },
        );
    }
    let inserted = tx
        .execute(
            "INSERT INTO device_keys (key_id, public_key, device, union_name, key_from)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[&b.key_id, &b.public_key, &device, &b.union, &b.from],
        )
        .await?;
    if key_of(b.key_id.clone()).await?.as_deref() != Some(b.public_key.as_str()) {
        return Ok(Err(BindRefusal::KeyIdTaken));
    }
    let reissued = inserted == 0
        && tx
            .execute(
                "UPDATE device_keys SET max_seq = NULL, device = $2 WHERE key_id = $1
                   AND max_seq IS NOT NULL",
                &[&b.key_id, &device],
            )
            .await?
            > 0;
    tx.execute(
        "UPDATE devices SET key_id = $2 WHERE name = $1",
        &[&device, &b.key_id],
    )
    .await?;
    Ok(Ok(inserted > 0 || reissued))
}

pub(crate) async fn bump(tx: &tokio_postgres::Transaction<'_>) -> Result<(), DbError> {
    let now = now_utc();
    let at = now.get(..19).map(|s| format!("{s}Z")).unwrap_or_default();
    tx.execute(
        "UPDATE office SET bundle_version = bundle_version + 1, bundle_issued_at = $1
         WHERE id = 1",
        &[&at],
    )
    .await?;
    Ok(())
}

async fn office_state(c: &impl tokio_postgres::GenericClient) -> Result<OfficeState, DbError> {
    let r = c
        .query_one(
            "SELECT bundle_version, bundle_issued_at, office_key, next_office_key, server_url
             FROM office WHERE id = 1",
            &[],
        )
        .await?;
    Ok(OfficeState {
        version: r.get::<_, i64>(0) as u64,
        issued_at: r.get(1),
        office_key: r.get(2),
        next_office_key: r.get(3),
        server_url: r.get(4),
    })
}

fn rand_u8() -> u8 {
    let mut b = [0u8; 1];
    let _ = getrandom::fill(&mut b);
    b[0]
}
