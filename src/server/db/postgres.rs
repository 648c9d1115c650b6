//! The server's PostgreSQL backend, for a city-wide office: several stateless servers behind
//! a load balancer on one database. A pool of connections (deadpool); a batch is one
//! transaction of a handful of statements whatever its size: one multi-row insert through
//! `unnest`, then `= ANY($1)` look-ups for the records that did not go in.
//!
//! Concurrency: READ COMMITTED. `ON CONFLICT DO NOTHING` waits for a concurrent transaction
//! holding the same key and skips the row if that one commits; the look-up statements that
//! follow take a new snapshot and see the winner. Two batches inserting overlapping keys in
//! different orders can deadlock; PostgreSQL aborts one, and it is retried ([`retrying`]).
//!
//! What is PostgreSQL's own here: the pool, the retry, and the VACUUM after an erase. Its `unnest` statements and
//! advisory locks are in `batch/postgres.rs`, its migrations in `postgres_schema.rs`;
//! everything else is written once (`conn`).

use std::future::Future;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use super::DbError;

const RETRIES: usize = 8;

pub struct PgDb {
    pool: Pool,
}

pub(crate) fn pool_err(e: impl std::fmt::Display) -> DbError {
    DbError::Pool(e.to_string())
}

impl PgDb {
    /// The pool alone (connections are made as they are asked for).
    pub(crate) fn connect(url: &str) -> Result<PgDb, DbError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|_| DbError::BadUrl)?;
        // The server's NOTICEs ("relation … already exists, skipping" at every start) are not
        // the office's concern: ask for warnings and errors only (the URL's own options kept,
        // and over ours). `work_mem` 32 MB per sort or bitmap (PostgreSQL's default is 4 MB):
        // a district's user searching a surname ANDs a name bitmap with one of 320,000 laptop
        // rows, which at 4 MB turns lossy — 0.45–2 s at 5 M members, 85 ms at 32 MB.
        let options = match config.get_options() {
            Some(o) if !o.trim().is_empty() => {
                format!("-c work_mem=32MB {o} -c client_min_messages=warning")
            }
            _ => "-c work_mem=32MB -c client_min_messages=warning".to_string(),
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
        Ok(PgDb { pool })
    }

    /// `VACUUM` of `tables` (after an erase): the dead versions of the erased rows and their
    /// index entries are removed, so no row, index or page inspection finds the person any
    /// more. Outside any transaction, as VACUUM must be. `INDEX_CLEANUP ON`: with one dead
    /// row on under 2 % of the table's pages a plain VACUUM skips the indexes, and the name
    /// and ID number would stay in theirs (0.6–2 s at 1,000,000 members).
    pub(crate) async fn vacuum(&self, tables: &str) -> Result<(), DbError> {
        self.client()
            .await?
            .batch_execute(&format!("VACUUM (INDEX_CLEANUP ON) {tables}"))
            .await?;
        Ok(())
    }

    /// The pool's connections: made and idle, made and in use, at most.
    pub(crate) fn pool_status(&self) -> super::PoolStatus {
        let s = self.pool.status();
        super::PoolStatus {
            idle: s.available,
            in_use: s.size.saturating_sub(s.available),
            max: s.max_size,
        }
    }

    /// A pooled connection.
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Client, DbError> {
        self.pool.get().await.map_err(pool_err)
    }
}

/// Runs `attempt` again (up to [`RETRIES`] times, after a growing random pause) while
/// PostgreSQL aborts it as a deadlock or serialisation failure. Any other outcome, and every
/// SQLite one, is returned as it is.
pub(crate) async fn retrying<T, F: Future<Output = Result<T, DbError>>>(
    mut attempt: impl FnMut() -> F,
) -> Result<T, DbError> {
    let mut retried = 0;
    loop {
        match attempt().await {
            Err(DbError::Postgres(e)) if retryable(&e) && retried < RETRIES => {
                retried += 1;
                tracing::info!(
                    attempt = retried,
                    "batch transaction retried (deadlock/serialisation)"
                );
                let ms = 10 * (1u64 << retried.min(6)) + u64::from(rand_u8());
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
            other => return other,
        }
    }
}

fn retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(&SqlState::T_R_DEADLOCK_DETECTED) | Some(&SqlState::T_R_SERIALIZATION_FAILURE)
    )
}

fn rand_u8() -> u8 {
    let mut b = [0u8; 1];
    let _ = getrandom::fill(&mut b);
    b[0]
}
