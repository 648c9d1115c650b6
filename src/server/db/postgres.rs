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

use super::{
    DayCount, DbError, DeviceCount, MemberRow, ServerStats, classify_missed,
    split_first_occurrences,
};
use crate::server::ingest::{Candidate, Decision};

/// Append only; `booth_schema.version` counts the migrations applied.
const MIGRATIONS: &[&str] = &[r#"
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
    "#];

/// Any number; the same in every server: serialises concurrent migrations.
const MIGRATION_LOCK: i64 = 0x0062_6f6f_7468; // "booth"
const RETRIES: usize = 8;

pub struct PgDb {
    pool: Pool,
}

fn pool_err(e: impl std::fmt::Display) -> DbError {
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
            tx.execute("UPDATE booth_schema SET version = $1", &[&((i + 1) as i64)])
                .await?;
            tracing::info!(version = i + 1, "server schema migrated (postgres)");
        }
        tx.commit().await?;
        Ok(())
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

    pub async fn store_batch(
        &self,
        device: &str,
        batch_id: &str,
        candidates: &[Candidate],
    ) -> Result<Vec<Decision>, DbError> {
        let mut attempt = 0;
        loop {
            match self.try_store_batch(device, batch_id, candidates).await {
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

    async fn try_store_batch(
        &self,
        device: &str,
        batch_id: &str,
        candidates: &[Candidate],
    ) -> Result<Vec<Decision>, DbError> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        let tx = client.transaction().await?;
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
        let inserted: HashSet<String> = tx
            .query(
                "INSERT INTO members (uuid, member_no, person_key, content_hash, record, device,
                    batch_id, event_date)
                 SELECT u, n, p, h, r, $7, $8, d::date
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
                    AS t(u, n, p, h, r, d)
                 ON CONFLICT DO NOTHING
                 RETURNING uuid",
                &[
                    &uuids, &nos, &persons, &hashes, &records, &dates, &device, &batch_id,
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
        tx.commit().await?;
        Ok(decisions)
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
                    "UPDATE devices SET token_hash = $2, created_at = now(), revoked_at = NULL
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

    pub async fn revoke_device(&self, name: &str) -> Result<(), DbError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let n = client
            .execute(
                "UPDATE devices SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL",
                &[&name],
            )
            .await?;
        if n == 0 {
            return Err(DbError::NoSuchDevice);
        }
        Ok(())
    }

    pub async fn stats(&self) -> Result<ServerStats, DbError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let members: i64 = client
            .query_one("SELECT count(*) FROM members", &[])
            .await?
            .get(0);
        let by_device = client
            .query(
                "SELECT d.name, count(m.id), d.revoked_at IS NOT NULL FROM devices d
                 LEFT JOIN members m ON m.device = d.name
                 GROUP BY d.name, d.revoked_at ORDER BY d.name",
                &[],
            )
            .await?
            .into_iter()
            .map(|r| DeviceCount {
                device: r.get(0),
                members: r.get::<_, i64>(1) as u64,
                revoked: r.get(2),
            })
            .collect();
        let by_day = client
            .query(
                "SELECT event_date::text, count(*) FROM members GROUP BY event_date
                 ORDER BY event_date",
                &[],
            )
            .await?
            .into_iter()
            .map(|r| DayCount {
                date: r.get(0),
                members: r.get::<_, i64>(1) as u64,
            })
            .collect();
        Ok(ServerStats {
            members: members as u64,
            by_device,
            by_day,
        })
    }

    pub async fn members_page(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, MemberRow)>, DbError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let rows = client
            .query(
                "SELECT id, uuid, member_no, record, device,
                    to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')
                 FROM members WHERE id > $1 ORDER BY id LIMIT $2",
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

fn rand_u8() -> u8 {
    let mut b = [0u8; 1];
    let _ = getrandom::fill(&mut b);
    b[0]
}
