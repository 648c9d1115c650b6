//! The server's storage: SQLite for one office machine, PostgreSQL for a city-wide office
//! with several servers behind a load balancer. Enum dispatch: two backends, no trait
//! objects needed.
//!
//! Both keep one row per record and enforce, by unique constraints, one row per UUID, per
//! member number and per person (normalised document number). A batch is one transaction
//! (`batch`).
//!
//! Each statement is written once, in PostgreSQL's spelling, where it is used:
//! - `sql`: the statement, and its SQLite spelling made from it once (`$n` → `?n`, casts and
//!   `COLLATE "C"` and `FOR UPDATE` dropped, `now()` bound to the call's time, `utc_text(x)`
//!   for timestamps read as text);
//! - `conn`: the parameters (`Value`), rows read through one trait so one mapper serves both,
//!   and the one dispatch: `Db::with` and `Db::transaction` hand an `async` body a connection
//!   of either backend (SQLite's on a blocking thread, holding its lock; PostgreSQL's from the
//!   pool), and `Db::query`/`Db::execute` run one statement;
//! - the modules by what they keep (`devices`, `office`, `batch`, `segments`, `users`,
//!   `audit`, `pipl`, `search`, `figures`) hold the statements and bodies, once for both;
//! - what really differs has files of its own: `sqlite` and `postgres` open a connection
//!   (and PostgreSQL's deadlock retry); `batch/sqlite` and `batch/postgres` write a batch's
//!   rows (one statement per row on SQLite, `unnest` and advisory locks on PostgreSQL);
//!   `sqlite_schema` and `postgres_schema` hold the migrations, which `Db::open` runs.
//!
//! Inside `db/` too, modules depend one way: the backends know nothing of the modules that
//! use them (`server::module_graph` checks it).

pub mod audit;
mod batch;
pub(crate) mod conn;
pub mod devices;
pub mod figures;
mod office;
pub mod pipl;
pub mod postgres;
mod postgres_schema;
pub mod search;
pub mod segments;
pub(crate) mod sql;
pub mod sqlite;
mod sqlite_schema;
pub mod unions;
#[cfg(test)]
mod upgrade_tests;
pub mod users;

pub use figures::{Breakdown, Counts, FigureFilter, Figures};

use serde::Serialize;
use tokio_postgres::error::SqlState;

use self::conn::args;
use self::sql::{Backend, sql};
use super::batch::{Candidate, Decision};
use crate::i18n::Lang;
use crate::t;

/// The laptop key a batch was signed with, and what the bundle will say about it.
#[derive(Clone, Debug)]
pub struct Binding {
    pub key_id: String,
    /// Unpadded base64url of the 32-byte public key.
    pub public_key: String,
    pub union: String,
    /// The key's creation date, `YYYY-MM-DD`.
    pub from: String,
}

/// Why a token and a key do not go together: the whole request is refused (403).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindRefusal {
    /// The token's first upload bound it to another laptop's key.
    TokenBoundToOtherKey,
    /// Another laptop's key has the same 30-bit key id.
    KeyIdTaken,
    /// The key is a revoked laptop's: it stays revoked, under any token.
    DeviceKeyRevoked,
    /// The key is in service for another device: a token of this one cannot take it.
    KeyBoundToOtherDevice,
}

impl BindRefusal {
    pub fn code(self) -> &'static str {
        match self {
            BindRefusal::TokenBoundToOtherKey => "token_bound_to_other_key",
            BindRefusal::KeyIdTaken => "key_id_taken",
            BindRefusal::DeviceKeyRevoked => "device_key_revoked",
            BindRefusal::KeyBoundToOtherDevice => "key_bound_to_other_device",
        }
    }
}

/// What storing a batch came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    Refused(BindRefusal),
    /// One decision per candidate, in order.
    Done(Vec<Decision>),
}

/// The office's row: the bundle's version and date, the office keys, the server's address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OfficeState {
    pub version: u64,
    pub issued_at: String,
    /// The office key in use (base64url public key), recorded by the first server command.
    pub office_key: Option<String>,
    /// During a rotation: the key that will sign next.
    pub next_office_key: Option<String>,
    /// The address enrolment codes carry (`booth server init --server-url`).
    pub server_url: Option<String>,
}

/// A bound laptop key, as the bundle lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRow {
    pub key_id: String,
    pub public_key: String,
    pub device: String,
    pub union: String,
    pub from: String,
    pub max_seq: Option<u32>,
}

/// Where a revocation came from (kept with the reason at the office, never in the bundle).
pub const REVOKED_BY_LAPTOP: &str = "laptop";
pub const REVOKED_BY_OFFICE: &str = "office";
pub const REVOKED_DUPLICATE: &str = "duplicate_person";

/// The highest sequence among member numbers (canonical), 0 if none.
pub(crate) fn max_seq_of(numbers: impl IntoIterator<Item = String>) -> u32 {
    numbers
        .into_iter()
        .filter_map(|n| n.parse::<crate::card::MemberNo>().ok())
        .map(|n| n.seq())
        .max()
        .unwrap_or(0)
}

/// A database's connections ([`Db::pool_status`]).
#[derive(Clone, Copy, Debug)]
pub struct PoolStatus {
    pub idle: usize,
    pub in_use: usize,
    pub max: usize,
}

/// A database as `server check-config` sees it ([`Db::probe`]).
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Probe {
    /// Whether the office's tables were made (a missing SQLite file is made at start).
    pub exists: bool,
    /// Its schema version (0: none).
    pub version: i64,
    /// This booth's: an older database is upgraded at start, a newer one refused.
    pub supported: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database URL must be sqlite:FILE or postgres://…")]
    BadUrl,
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {}", pg_text(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("PostgreSQL pool: {0}")]
    Pool(String),
    #[error("the database schema is newer ({found}) than this server ({supported})")]
    TooNew { found: i64, supported: i64 },
    #[error("a device with this name already has a valid token")]
    DeviceExists,
    #[error("no such device")]
    NoSuchDevice,
    #[error("the device is revoked: it cannot be re-issued")]
    DeviceRevoked,
    #[error("an office user with this name already exists")]
    UserExists,
    #[error("no such office user")]
    NoSuchUser,
    #[error("no such union in the office's tree")]
    NoSuchUnion,
    #[error("no such member")]
    NoSuchMember,
    #[error("another member holds this document number")]
    PersonTaken,
    #[error("damaged row: {0}")]
    Damaged(String),
    #[error("internal: {0}")]
    Internal(String),
    /// A refused office change (rotation out of order…), message already in the user's
    /// language.
    #[error("{1}")]
    Office(&'static str, String),
}

/// A PostgreSQL error as the log and messages say it: its SQLSTATE and the constraint,
/// table and column it names, never the server's message, DETAIL or HINT, which quote the
/// values (a unique violation's DETAIL is `Key (person_key)=(<the ID number>) already
/// exists`). Errors of the connection itself are said whole (they hold no value).
fn pg_text(e: &tokio_postgres::Error) -> String {
    let Some(db) = e.as_db_error() else {
        return e.to_string();
    };
    let mut out = format!("{} {}", db.severity(), db.code().code());
    for (what, name) in [
        ("constraint", db.constraint()),
        ("table", db.table()),
        ("column", db.column()),
    ] {
        if let Some(name) = name {
            out.push_str(&format!(" {what} {name}"));
        }
    }
    out
}

impl DbError {
    /// A unique constraint refused the row (SQLite reports any constraint so).
    pub(crate) fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => {
                f.code == rusqlite::ErrorCode::ConstraintViolation
            }
            DbError::Postgres(e) => e.code() == Some(&SqlState::UNIQUE_VIOLATION),
            _ => false,
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match self {
            DbError::BadUrl => t!(lang, "server.bad_db_url").into(),
            DbError::TooNew { found, supported } => {
                t!(
                    lang,
                    "server.db_too_new",
                    found = found,
                    supported = supported
                )
            }
            DbError::DeviceExists => t!(lang, "server.device_exists").into(),
            DbError::NoSuchDevice => t!(lang, "server.no_such_device").into(),
            DbError::DeviceRevoked => t!(lang, "server.device_revoked").into(),
            DbError::UserExists => t!(lang, "console.user_exists").into(),
            DbError::NoSuchUser => t!(lang, "console.no_such_user").into(),
            DbError::NoSuchMember => t!(lang, "console.no_such_member").into(),
            DbError::NoSuchUnion => t!(lang, "unions.no_such_union").into(),
            DbError::PersonTaken => t!(lang, "console.person_taken").into(),
            DbError::Office(_, message) => message.clone(),
            other => t!(lang, "server.db_error", why = other),
        }
    }
}

/// A batch as the database stores it.
#[derive(Clone, Debug)]
pub struct BatchWrite {
    pub device: String,
    pub batch_id: String,
    pub binding: Binding,
    pub candidates: Vec<Candidate>,
    /// Member numbers voided on the laptop (canonical, of the binding's key).
    pub voids: Vec<String>,
    /// The laptop's day summaries that passed the checks: each replaces the office's copy.
    pub days: Vec<super::batch::DayRow>,
    /// Where this write stands among its laptop's segments (a relayed segment, or a direct
    /// upload of a laptop in a group): its day summaries replace only older ones, and its
    /// records replace older versions of theirs that arrived relayed. `None`: a laptop
    /// outside any group, as before.
    pub version: Option<batch::versions::Version>,
}

/// One stored record, for the office's export.
#[derive(Clone, Debug)]
pub struct MemberRow {
    pub uuid: String,
    pub member_no: String,
    pub record: String,
    pub device: String,
    pub received_at: String,
    /// The card's state at the office, and why.
    pub status: search::CardStatus,
    pub status_reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeviceCount {
    pub device: String,
    pub revoked: bool,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DayCount {
    pub date: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// `booth server stats`: the campaign's figures (SPEC §8), with the devices the office
/// issued tokens to.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ServerStats {
    /// One per person, imports included.
    pub members: u64,
    pub meetings: u64,
    pub consultations: u64,
    /// Booth sign-ups, voided ones and imports excluded.
    pub registered: u64,
    pub enterprises: u64,
    /// Every device with a token, and any other that sent figures.
    pub by_device: Vec<DeviceCount>,
    /// By booth (registration) date, ascending.
    pub by_day: Vec<DayCount>,
    pub by_place: Vec<NamedCounts>,
    pub by_union: Vec<NamedCounts>,
    pub needs: Vec<CodeCount>,
    pub employment_forms: Vec<CodeCount>,
    /// The new forms of employment (couriers, riders, drivers…), reported apart.
    pub new_employment_forms: NewForms,
    /// The node of the union tree these figures are of (SPEC §11).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub union: Option<UnionRef>,
    /// The node's own laptops' part (the rest is its children's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own: Option<figures::NodeFigures>,
    /// Each child of the node, with the same figures as the node.
    pub children: Vec<figures::ChildFigures>,
}

/// A node as the figures name it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UnionRef {
    pub code: String,
    pub name: String,
}

/// A node's name for people: the root's is the office's own word.
pub fn node_name(n: &crate::server::unions::UnionNode, lang: Lang) -> String {
    if n.code == crate::server::unions::ROOT && n.name.is_empty() {
        t!(lang, "unions.root_name").into()
    } else {
        n.name.clone()
    }
}

/// The counts of one place or union.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NamedCounts {
    /// A union's node code (`by_union`); none for places.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub name: String,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CodeCount {
    pub code: String,
    /// The name in the language asked for.
    pub label: String,
    pub count: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NewForms {
    /// Members in any of the new forms of employment.
    pub members: u64,
    pub by_form: Vec<CodeCount>,
}

impl ServerStats {
    /// The figures laid out for `server stats`, with the device list (names and revocation)
    /// from `devices`.
    pub fn of(figures: Figures, devices: Vec<DeviceCount>, lang: Lang) -> ServerStats {
        use crate::member::options::{ListKind, is_new_employment_form};
        let label = |kind: ListKind, code: &str| {
            kind.by_code(code)
                .map(|o| o.label(lang).to_string())
                .unwrap_or_else(|| code.to_string())
        };
        let codes = |kind: ListKind, v: &[(String, u64)]| -> Vec<CodeCount> {
            v.iter()
                .map(|(code, count)| CodeCount {
                    label: label(kind, code),
                    code: code.clone(),
                    count: *count,
                })
                .collect()
        };
        let mut by_device = devices;
        for (name, c) in &figures.by_device {
            let i = match by_device.iter().position(|d| d.device == *name) {
                Some(i) => i,
                None => {
                    by_device.push(DeviceCount {
                        device: name.clone(),
                        ..Default::default()
                    });
                    by_device.len() - 1
                }
            };
            by_device[i].counts = c.clone();
        }
        by_device.sort_by(|a, b| a.device.cmp(&b.device));
        let named = |v: Vec<(String, Counts)>| -> Vec<NamedCounts> {
            v.into_iter()
                .map(|(name, counts)| NamedCounts {
                    code: None,
                    name,
                    counts,
                })
                .collect()
        };
        let forms = codes(ListKind::EmploymentForm, &figures.employment_forms);
        let new_forms: Vec<CodeCount> = forms
            .iter()
            .filter(|f| is_new_employment_form(&f.code))
            .cloned()
            .collect();
        ServerStats {
            members: figures.members,
            meetings: figures.meetings,
            consultations: figures.consultations,
            registered: figures.registered,
            enterprises: figures.enterprises,
            by_device,
            by_day: figures
                .by_day
                .into_iter()
                .map(|(date, counts)| DayCount {
                    date: date.to_string(),
                    counts,
                })
                .collect(),
            by_place: named(figures.by_place),
            by_union: named(figures.by_union),
            needs: codes(ListKind::Needs, &figures.needs),
            employment_forms: forms,
            new_employment_forms: NewForms {
                members: new_forms.iter().map(|f| f.count).sum(),
                by_form: new_forms,
            },
            union: None,
            own: None,
            children: Vec::new(),
        }
    }
}

pub enum Db {
    Sqlite(sqlite::SqliteDb),
    Postgres(postgres::PgDb),
}

impl Db {
    /// Opens (creating if need be) and migrates.
    pub async fn open(url: &str) -> Result<Db, DbError> {
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.trim_start_matches("//").to_string();
            if path.is_empty() {
                return Err(DbError::BadUrl);
            }
            let db = blocking(move || {
                let db = sqlite::SqliteDb::open(&path)?;
                sqlite_schema::migrate(&mut db.lock())?;
                Ok(db)
            })
            .await?;
            Db::Sqlite(db).keyed().await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let db = postgres::PgDb::connect(url)?;
            postgres_schema::migrate(&db).await?;
            Db::Postgres(db).keyed().await
        } else {
            Err(DbError::BadUrl)
        }
    }

    /// `server backup`: an online, consistent copy of a SQLite office database into `out`
    /// (an empty file the caller made): see [`sqlite::SqliteDb::copy_file`].
    pub async fn copy_sqlite(
        src: std::path::PathBuf,
        out: std::path::PathBuf,
    ) -> Result<(), DbError> {
        blocking(move || sqlite::SqliteDb::copy_file(&src, &out)).await
    }

    /// Before its file is moved (a restore): SQLite's WAL checkpointed into the file and
    /// emptied, so that the file alone is the database. Nothing to do on PostgreSQL.
    pub async fn settle(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                match blocking(move || db.checkpoint()).await? {
                    true => Ok(()),
                    false => Err(DbError::Internal(
                        "WAL checkpoint kept from finishing".into(),
                    )),
                }
            }
            Db::Postgres(_) => Ok(()),
        }
    }

    /// What `server check-config` says of a database, read without opening it for the server
    /// (no migration, no file made): whether it exists, its schema version and this booth's.
    pub async fn probe(url: &str) -> Result<Probe, DbError> {
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = std::path::PathBuf::from(path.trim_start_matches("//"));
            if path.as_os_str().is_empty() {
                return Err(DbError::BadUrl);
            }
            let supported = sqlite_schema::supported();
            if !path.exists() {
                return Ok(Probe {
                    exists: false,
                    version: 0,
                    supported,
                });
            }
            let version = blocking(move || {
                let conn = rusqlite::Connection::open_with_flags(
                    &path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )?;
                Ok(conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?)
            })
            .await?;
            Ok(Probe {
                exists: true,
                version,
                supported,
            })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let db = postgres::PgDb::connect(url)?;
            let version = postgres_schema::version(&db).await?;
            Ok(Probe {
                exists: version > 0,
                version,
                supported: postgres_schema::supported(),
            })
        } else {
            Err(DbError::BadUrl)
        }
    }

    /// Records stored before the console's search keys existed get them now (once).
    async fn keyed(self) -> Result<Db, DbError> {
        let n = self.backfill_search_keys().await?;
        if n > 0 {
            tracing::info!(records = n, "search keys filled for older records");
        }
        Ok(self)
    }

    pub fn kind(&self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The database's connections now, for `/metrics`.
    pub fn pool_status(&self) -> PoolStatus {
        match self {
            // one connection behind a lock: in use while a statement holds it
            Db::Sqlite(db) => {
                let in_use = usize::from(db.is_busy());
                PoolStatus {
                    idle: 1 - in_use,
                    in_use,
                    max: 1,
                }
            }
            Db::Postgres(db) => db.pool_status(),
        }
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        self.query(sql!("SELECT 1"), vec![], |_| Ok(())).await?;
        Ok(())
    }

    /// `booth server stats`: the figures of the node `union` and below (the whole campaign
    /// for the root), with its children's, names in `lang`.
    pub async fn stats(&self, lang: Lang, union: &str) -> Result<ServerStats, DbError> {
        let node = self
            .union_node(union.to_string())
            .await?
            .ok_or(DbError::NoSuchUnion)?;
        let scope = crate::server::unions::Scope::of_code(&node.code);
        let devices = self.devices(&scope).await?;
        let filter = FigureFilter {
            scope: scope.clone(),
            ..Default::default()
        };
        let figures = self.figures(&filter, Breakdown::All).await?;
        let tree = self.union_tree().await?;
        let children: Vec<_> = tree
            .iter()
            .filter(|n| n.parent.as_deref() == Some(node.code.as_str()))
            .cloned()
            .collect();
        let (children, own) = self.child_figures(&node, &children, &filter).await?;
        let mut stats = ServerStats::of(figures, devices, lang);
        let names: std::collections::HashMap<&str, &crate::server::unions::UnionNode> =
            tree.iter().map(|n| (n.code.as_str(), n)).collect();
        for u in &mut stats.by_union {
            u.code = Some(u.name.clone());
            u.name = names
                .get(u.name.as_str())
                .map(|n| node_name(n, lang))
                .unwrap_or_else(|| u.name.clone());
        }
        stats.union = Some(UnionRef {
            name: node_name(&node, lang),
            code: node.code,
        });
        stats.own = Some(own);
        stats.children = children;
        Ok(stats)
    }

    /// Up to `limit` records after row `after` (keyset paging), for export.
    pub async fn members_page(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, MemberRow)>, DbError> {
        self.query(
            sql!(
                "SELECT m.uuid, m.member_no, m.record, m.device, utc_text(m.received_at), m.id,
                    v.source, v.reason
                 FROM members m LEFT JOIN revoked v ON v.member_no = m.member_no
                 WHERE m.id > $1 AND m.erased_at IS NULL ORDER BY m.id LIMIT $2"
            ),
            args![after, limit],
            |r| {
                let row = MemberRow {
                    uuid: r.text(0)?,
                    member_no: r.text(1)?,
                    record: r.text(2)?,
                    device: r.text(3)?,
                    received_at: r.text(4)?,
                    status: search::card_status(r.opt_text(6)?.as_deref()),
                    status_reason: r.text_or_empty(7)?,
                };
                Ok((r.int(5)?, row))
            },
        )
        .await
    }
}

/// `Ok` when a statement changed a row, else `otherwise` (no such user, member, …).
pub(crate) fn changed_a_row(rows: u64, otherwise: DbError) -> Result<(), DbError> {
    if rows == 0 { Err(otherwise) } else { Ok(()) }
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DbError> + Send + 'static,
) -> Result<T, DbError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DbError::Internal(e.to_string()))?
}

pub(crate) fn now_utc() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's sessions sort and build bitmaps in 32 MB; an office's own `options` in the
    /// URL win.
    #[tokio::test]
    async fn the_server_s_postgres_sessions_get_32_mb_of_work_memory() {
        let Ok(url) = std::env::var("BOOTH_TEST_PG_URL") else {
            eprintln!("BOOTH_TEST_PG_URL not set: skipping");
            return;
        };
        for (url, want) in [
            (url.clone(), "32MB"),
            (format!("{url}?options=-c%20work_mem%3D8MB"), "8MB"),
        ] {
            let pg = postgres::PgDb::connect(&url).unwrap();
            let client = pg.client().await.unwrap();
            let row = client.query_one("SHOW work_mem", &[]).await.unwrap();
            assert_eq!(row.get::<_, String>(0), want, "{url}");
        }
    }

    /// A unique violation's DETAIL quotes the key: the error as logged names the constraint
    /// and the SQLSTATE, never the value.
    #[tokio::test]
    async fn a_postgres_error_is_logged_without_its_values() {
        let Ok(url) = std::env::var("BOOTH_TEST_PG_URL") else {
            eprintln!("BOOTH_TEST_PG_URL not set: skipping");
            return;
        };
        let pg = postgres::PgDb::connect(&url).unwrap();
        let client = pg.client().await.unwrap();
        client
            .batch_execute(
                "CREATE TEMP TABLE people (person_key TEXT CONSTRAINT people_key UNIQUE);
                 INSERT INTO people VALUES ('110105198805120173')",
            )
            .await
            .unwrap();
        let e = client
            .execute("INSERT INTO people VALUES ('110105198805120173')", &[])
            .await
            .unwrap_err();
        // what tokio-postgres holds, and what booth would have written
        let db = e.as_db_error().unwrap();
        assert!(format!("{db}").contains("110105198805120173"));
        let e = DbError::from(e);
        assert!(e.is_unique_violation());
        for text in [e.to_string(), format!("{e:#}"), e.message(Lang::En)] {
            assert!(!text.contains("110105198805120173"), "{text}");
            assert!(
                text.contains("23505") && text.contains("people_key"),
                "{text}"
            );
        }
    }
}
