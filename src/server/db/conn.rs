//! The one place that tells the backends apart for a statement written once: parameters
//! ([`Value`]), rows read through one trait ([`Row`], so one mapper serves both), a connection
//! of either backend ([`Conn`]), and the dispatch ([`Db::with`], [`Db::transaction`]).
//!
//! A SQLite call runs on a blocking thread holding the connection's lock; PostgreSQL's awaits
//! a pooled connection. The work itself is one `async` body for both: on SQLite every
//! statement is done when its future is first polled, so the body runs to its end at once
//! (`now_or_never`) on that thread; on PostgreSQL it is awaited as any query.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};

use futures_util::FutureExt;
use rusqlite::Connection;
use rusqlite::types::ToSqlOutput;
use tokio_postgres::types::ToSql as PgToSql;

use super::postgres::PgDb;
use super::sql::{Backend, Stmt};
use super::sqlite::SqliteDb;
use super::{Db, DbError, blocking, now_utc};

/// A statement's parameter. Owned: a SQLite call carries it to another thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    Text(String),
    OptText(Option<String>),
    /// BIGINT on PostgreSQL, which binds integers by width: every integer column a shared
    /// statement binds is a BIGINT (ids, counts, times in seconds, sequences).
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
}

impl Value {
    fn pg(&self) -> &(dyn PgToSql + Sync) {
        match self {
            Value::Text(v) => v,
            Value::OptText(v) => v,
            Value::Int(v) => v,
            Value::OptInt(v) => v,
            Value::Bool(v) => v,
        }
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::ToSql;
        match self {
            Value::Text(v) => ToSql::to_sql(v),
            Value::OptText(v) => ToSql::to_sql(v),
            Value::Int(v) => ToSql::to_sql(v),
            Value::OptInt(v) => ToSql::to_sql(v),
            Value::Bool(v) => ToSql::to_sql(v),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident($conv:expr)),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::$variant($conv(v))
            }
        }
    )*};
}

value_from! {
    String => Text(|v| v),
    &str => Text(str::to_string),
    &String => Text(String::clone),
    Option<String> => OptText(|v| v),
    i64 => Int(|v| v),
    Option<i64> => OptInt(|v| v),
    bool => Bool(|v| v),
}

/// The parameters of a statement, each turned into a [`Value`]: `args![name, 42_i64]` (an
/// array: `&args![…]` for a connection, `args![…]` for `Db::query`, which takes a `Vec`).
macro_rules! args {
    ($($v:expr),* $(,)?) => {
        [$($crate::server::db::conn::Value::from($v)),*]
    };
}
pub(crate) use args;

/// A row of either backend, read by column (0-based). A mapper takes `&dyn Row`, so one
/// function maps a statement's rows on both.
pub(crate) trait Row {
    fn text(&self, i: usize) -> Result<String, DbError>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, DbError>;
    fn int(&self, i: usize) -> Result<i64, DbError>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, DbError>;
    fn flag(&self, i: usize) -> Result<bool, DbError>;

    /// A count or version as stored (never below 0).
    fn count(&self, i: usize) -> Result<u64, DbError> {
        Ok(self.int(i)?.max(0) as u64)
    }

    /// A text column that may be NULL (a LEFT JOIN's), NULL read as "".
    fn text_or_empty(&self, i: usize) -> Result<String, DbError> {
        Ok(self.opt_text(i)?.unwrap_or_default())
    }

    /// A sequence number (NULL: none).
    fn opt_u32(&self, i: usize) -> Result<Option<u32>, DbError> {
        self.opt_int(i)?
            .map(|v| u32::try_from(v).map_err(|_| DbError::Damaged(format!("column {i}: {v}"))))
            .transpose()
    }
}

/// Reads a struct from a row, its fields from the columns in the statement's order, each by
/// the [`Row`] method named beside it (no column index kept in step by hand):
/// `from_row! { r => KeyRow { key_id: text, public_key: text, max_seq: opt_u32 } }`.
macro_rules! from_row {
    { $row:expr => $t:ident { $($field:ident: $read:ident),* $(,)? } } => {{
        let row: &dyn $crate::server::db::conn::Row = $row;
        let mut at = 0;
        $t { $($field: row.$read($crate::server::db::conn::next_column(&mut at))?),* }
    }};
}
pub(crate) use from_row;

/// The column after `at` (for [`from_row!`]).
pub(crate) fn next_column(at: &mut usize) -> usize {
    *at += 1;
    *at - 1
}

macro_rules! row_of {
    ($row:ty, $get:ident) => {
        impl Row for $row {
            fn text(&self, i: usize) -> Result<String, DbError> {
                Ok(self.$get(i)?)
            }
            fn opt_text(&self, i: usize) -> Result<Option<String>, DbError> {
                Ok(self.$get(i)?)
            }
            fn int(&self, i: usize) -> Result<i64, DbError> {
                Ok(self.$get(i)?)
            }
            fn opt_int(&self, i: usize) -> Result<Option<i64>, DbError> {
                Ok(self.$get(i)?)
            }
            fn flag(&self, i: usize) -> Result<bool, DbError> {
                Ok(self.$get(i)?)
            }
        }
    };
}

row_of!(rusqlite::Row<'_>, get);
row_of!(tokio_postgres::Row, try_get);

/// A connection of either backend, for the length of one call or transaction.
pub(crate) enum Conn<'a> {
    Sqlite(SqliteConn<'a>),
    Pg(PgConn<'a>),
}

/// The SQLite connection, its lock held by the call, and the time the call began (what
/// `now()` stands for). Behind a mutex of its own so that, like a PostgreSQL connection, it
/// can be shared by the statements of one `async` body (`rusqlite::Connection` is `Send`,
/// not `Sync`); only this call's thread ever takes it.
pub(crate) struct SqliteConn<'a> {
    conn: Mutex<&'a mut Connection>,
    now: String,
}

impl<'a> SqliteConn<'a> {
    pub(crate) fn lock(&self) -> MutexGuard<'_, &'a mut Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn now(&self) -> &str {
        &self.now
    }

    /// Runs `f` on the statement (prepared once and cached) with its parameters: the values,
    /// then the call's time where the statement says `now()`.
    fn run<R>(
        &self,
        sql: &Stmt<'_>,
        args: &[Value],
        f: impl FnOnce(
            &mut rusqlite::CachedStatement<'_>,
            &[&dyn rusqlite::ToSql],
        ) -> Result<R, DbError>,
    ) -> Result<R, DbError> {
        let spelled = sql.spelled(Backend::Sqlite);
        let mut params: Vec<&dyn rusqlite::ToSql> =
            args.iter().map(|a| a as &dyn rusqlite::ToSql).collect();
        if let Some(k) = spelled.now {
            if k != args.len() + 1 {
                return Err(DbError::Internal(format!(
                    "a statement with now() as parameter {k} was given {} values",
                    args.len()
                )));
            }
            params.push(&self.now);
        }
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&spelled.text)?;
        f(&mut stmt, &params)
    }
}

/// A PostgreSQL connection for one call or transaction. A transaction's statements go to its
/// client as any other does (the connection is in the transaction until it ends), so one
/// shape serves both; fixed statements are prepared once per connection (deadpool's cache).
pub(crate) struct PgConn<'a> {
    client: &'a tokio_postgres::Client,
    cache: &'a deadpool_postgres::StatementCache,
}

type PgParams<'p> = [&'p (dyn PgToSql + Sync)];

impl<'a> PgConn<'a> {
    pub(crate) fn of_client(c: &'a deadpool_postgres::Client) -> PgConn<'a> {
        PgConn {
            client: c,
            cache: &c.statement_cache,
        }
    }

    pub(crate) fn of_tx(t: &'a deadpool_postgres::Transaction<'a>) -> PgConn<'a> {
        PgConn {
            client: t.client(),
            cache: &t.statement_cache,
        }
    }

    /// A built statement is prepared for this one run: PostgreSQL plans it with its values.
    async fn prepare(&self, sql: &Stmt<'_>) -> Result<tokio_postgres::Statement, DbError> {
        let text = &sql.spelled(Backend::Postgres).text;
        Ok(if sql.is_fixed() {
            self.cache.prepare(self.client, text).await?
        } else {
            self.client.prepare(text).await?
        })
    }

    pub(crate) async fn query(
        &self,
        sql: impl Into<Stmt<'_>>,
        params: &PgParams<'_>,
    ) -> Result<Vec<tokio_postgres::Row>, DbError> {
        let stmt = self.prepare(&sql.into()).await?;
        Ok(self.client.query(&stmt, params).await?)
    }

    pub(crate) async fn execute(
        &self,
        sql: impl Into<Stmt<'_>>,
        params: &PgParams<'_>,
    ) -> Result<u64, DbError> {
        let stmt = self.prepare(&sql.into()).await?;
        Ok(self.client.execute(&stmt, params).await?)
    }
}

/// The first row a statement gave, if any: `c.query(…).await.map(first)`.
pub(crate) fn first<T>(rows: Vec<T>) -> Option<T> {
    rows.into_iter().next()
}

/// The row a statement always gives (an aggregate, the office row): `….and_then(only)`.
pub(crate) fn only<T>(rows: Vec<T>) -> Result<T, DbError> {
    first(rows)
        .ok_or_else(|| DbError::Damaged("a statement that always gives a row gave none".into()))
}

impl Conn<'_> {
    /// When this happens, as the office's own records write it (`bundle_issued_at`): on
    /// SQLite the call's time, which `now()` also stands for; on PostgreSQL the moment asked.
    pub(crate) fn now(&self) -> String {
        match self {
            Conn::Sqlite(s) => s.now.clone(),
            Conn::Pg(_) => now_utc(),
        }
    }

    /// Runs a statement; the rows it changed.
    pub(crate) async fn execute(
        &self,
        sql: impl Into<Stmt<'_>>,
        args: &[Value],
    ) -> Result<u64, DbError> {
        let sql = sql.into();
        match self {
            Conn::Sqlite(s) => s.run(&sql, args, |stmt, p| Ok(stmt.execute(p)? as u64)),
            Conn::Pg(p) => p.execute(sql, &pg_params(args)).await,
        }
    }

    /// The rows of a statement, each through `map`.
    pub(crate) async fn query<T>(
        &self,
        sql: impl Into<Stmt<'_>>,
        args: &[Value],
        map: impl Fn(&dyn Row) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        let sql = sql.into();
        match self {
            Conn::Sqlite(s) => s.run(&sql, args, |stmt, p| {
                let mut rows = stmt.query(p)?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(map(r)?);
                }
                Ok(out)
            }),
            Conn::Pg(p) => {
                let rows = p.query(sql, &pg_params(args)).await?;
                rows.iter().map(|r| map(r)).collect()
            }
        }
    }
}

fn pg_params(args: &[Value]) -> Vec<&(dyn PgToSql + Sync)> {
    args.iter().map(Value::pg).collect()
}

/// What a body given a connection returns: a future that may borrow it, `Send` as axum
/// wants (PostgreSQL's runs on the request's task).
pub(crate) type Job<'c, T> = Pin<Box<dyn Future<Output = Result<T, DbError>> + Send + 'c>>;

/// A body run on a connection of either backend ([`Db::with`], [`Db::transaction`]).
pub(crate) trait Body<T>:
    for<'c, 'a> FnOnce(&'c Conn<'a>) -> Job<'c, T> + Send + 'static
{
}

impl<T, F> Body<T> for F where F: for<'c, 'a> FnOnce(&'c Conn<'a>) -> Job<'c, T> + Send + 'static {}

impl Db {
    /// Runs `f` on one connection, each statement on its own.
    pub(crate) async fn with<T: Send + 'static>(&self, f: impl Body<T>) -> Result<T, DbError> {
        self.run(false, f).await
    }

    /// Runs `f` in one transaction, committed when it returns `Ok`, rolled back otherwise.
    /// SQLite's is `IMMEDIATE` (the write lock at once: another process on the file waits for
    /// it rather than failing at the first write); PostgreSQL's is READ COMMITTED, rows
    /// locked as the statements say (`FOR UPDATE`).
    pub(crate) async fn transaction<T: Send + 'static>(
        &self,
        f: impl Body<T>,
    ) -> Result<T, DbError> {
        self.run(true, f).await
    }

    async fn run<T: Send + 'static>(&self, tx: bool, f: impl Body<T>) -> Result<T, DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || run_sqlite(&db, tx, f)).await
            }
            Db::Postgres(db) => run_pg(db, tx, f).await,
        }
    }

    /// One statement; the rows it changed.
    pub(crate) async fn execute(
        &self,
        sql: impl Into<Stmt<'static>>,
        args: impl Into<Vec<Value>>,
    ) -> Result<u64, DbError> {
        let (sql, args) = (sql.into(), args.into());
        self.with(move |c| Box::pin(async move { c.execute(sql, &args).await }))
            .await
    }

    /// One statement's rows, each through `map`.
    pub(crate) async fn query<T: Send + 'static>(
        &self,
        sql: impl Into<Stmt<'static>>,
        args: impl Into<Vec<Value>>,
        map: fn(&dyn Row) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        let (sql, args) = (sql.into(), args.into());
        self.with(move |c| Box::pin(async move { c.query(sql, &args, map).await }))
            .await
    }
}

fn run_sqlite<T>(db: &SqliteDb, tx: bool, f: impl Body<T>) -> Result<T, DbError> {
    let mut guard = db.lock();
    if tx {
        guard.execute_batch("BEGIN IMMEDIATE")?;
    }
    let out = {
        let conn = Conn::Sqlite(SqliteConn {
            conn: Mutex::new(&mut guard),
            now: now_utc(),
        });
        f(&conn).now_or_never().unwrap_or_else(|| {
            Err(DbError::Internal(
                "a SQLite statement did not finish at once".into(),
            ))
        })
    };
    if !tx {
        return out;
    }
    // A panic in `f` leaves the transaction open behind a poisoned lock: `SqliteDb::lock`
    // rolls it back for the next caller.
    let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
    if let Err(e) = guard.execute_batch(end) {
        if !guard.is_autocommit() {
            let _ = guard.execute_batch("ROLLBACK");
        }
        return Err(e.into());
    }
    out
}

async fn run_pg<T>(db: &PgDb, tx: bool, f: impl Body<T>) -> Result<T, DbError> {
    let mut client = db.client().await?;
    if !tx {
        return f(&Conn::Pg(PgConn::of_client(&client))).await;
    }
    let t = client.transaction().await?;
    let out = f(&Conn::Pg(PgConn::of_tx(&t))).await?;
    t.commit().await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::sql::sql;
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Mapped {
        text: String,
        none: Option<String>,
        int: i64,
        opt_int: Option<i64>,
        flag: bool,
    }

    fn mapped(r: &dyn Row) -> Result<Mapped, DbError> {
        Ok(from_row! { r => Mapped {
            text: text, none: opt_text, int: int, opt_int: opt_int, flag: flag
        } })
    }

    /// The parameters come back as they went in, through one mapper, on `db`.
    async fn round_trip(db: &Db) {
        let got = db
            .query(
                sql!("SELECT $2::text, $3::text, $1::bigint, $4::bigint, $5::boolean"),
                args![
                    i64::MAX,
                    "王 $1 ' \u{10FFFF}",
                    None::<String>,
                    Some(-7_i64),
                    true
                ],
                mapped,
            )
            .await
            .unwrap();
        assert_eq!(
            got,
            [Mapped {
                text: "王 $1 ' \u{10FFFF}".into(),
                none: None,
                int: i64::MAX,
                opt_int: Some(-7),
                flag: true,
            }]
        );
        // now() is the call's time, as RFC 3339 text on both
        let at = db
            .query(sql!("SELECT utc_text(now())"), vec![], |r| r.text(0))
            .await
            .and_then(only)
            .unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(&at).is_ok() && at.ends_with('Z'),
            "{at}"
        );
        // a failed transaction leaves nothing behind, and the connection usable
        let failed = db
            .transaction(|c| {
                Box::pin(async move {
                    c.execute(sql!("CREATE TABLE conn_test (v TEXT)"), &[])
                        .await?;
                    Err::<(), _>(DbError::NoSuchUser)
                })
            })
            .await;
        assert!(matches!(failed, Err(DbError::NoSuchUser)));
        let tables = db
            .query(sql!("SELECT count(*) FROM conn_test"), vec![], |r| r.int(0))
            .await;
        assert!(tables.is_err(), "the table was rolled back");
    }

    #[tokio::test]
    async fn values_and_rows_convert_alike_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("office.db");
        let db = Db::Sqlite(SqliteDb::open(path.to_str().unwrap()).unwrap());
        round_trip(&db).await;
    }

    #[tokio::test]
    async fn values_and_rows_convert_alike_on_postgres() {
        let Ok(url) = std::env::var("BOOTH_TEST_PG_URL") else {
            eprintln!("BOOTH_TEST_PG_URL not set: skipping the PostgreSQL variant of this test");
            return;
        };
        // no migration: the statements touch no table but the one rolled back
        let db = Db::Postgres(PgDb::connect(&url).unwrap());
        round_trip(&db).await;
    }
}
