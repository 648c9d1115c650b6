//! The server's storage: SQLite for one office machine, PostgreSQL for a city-wide office
//! with several servers behind a load balancer. Enum dispatch: two backends, no trait
//! objects needed.
//!
//! Both keep one row per record and enforce, by unique constraints, one row per UUID, per
//! member number and per person (normalised document number). A batch is one transaction.
//! Records are inserted with `ON CONFLICT DO NOTHING`; those that did not go in are then
//! classified by looking at what is there (same UUID and hash: already there; same UUID,
//! other hash: conflict; same person: duplicate). The constraint, not a prior read, decides,
//! so two servers racing on the same person cannot both insert it.

pub mod audit;
pub mod devices;
pub mod figures;
pub mod pipl;
pub(crate) mod placeholders;
pub mod postgres;
pub mod search;
pub mod sqlite;
pub mod users;

pub use figures::{Breakdown, Counts, FigureFilter, Figures};

use std::collections::HashMap;

use serde::Serialize;

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
}

impl BindRefusal {
    pub fn code(self) -> &'static str {
        match self {
            BindRefusal::TokenBoundToOtherKey => "token_bound_to_other_key",
            BindRefusal::KeyIdTaken => "key_id_taken",
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

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database URL must be sqlite:FILE or postgres://…")]
    BadUrl,
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("PostgreSQL pool: {0}")]
    Pool(String),
    #[error("the database schema is newer ({found}) than this server ({supported})")]
    TooNew { found: i64, supported: i64 },
    #[error("a device with this name already has a valid token")]
    DeviceExists,
    #[error("no such device")]
    NoSuchDevice,
    #[error("an office user with this name already exists")]
    UserExists,
    #[error("no such office user")]
    NoSuchUser,
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

impl DbError {
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
            DbError::UserExists => t!(lang, "console.user_exists").into(),
            DbError::NoSuchUser => t!(lang, "console.no_such_user").into(),
            DbError::NoSuchMember => t!(lang, "console.no_such_member").into(),
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
}

/// One stored record, for the office's export.
#[derive(Clone, Debug)]
pub struct MemberRow {
    pub uuid: String,
    pub member_no: String,
    pub record: String,
    pub device: String,
    pub received_at: String,
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
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
}

/// The counts of one place or union.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NamedCounts {
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
                .map(|(name, counts)| NamedCounts { name, counts })
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
            let db = tokio::task::spawn_blocking(move || sqlite::SqliteDb::open(&path))
                .await
                .map_err(|e| DbError::Internal(e.to_string()))??;
            Db::Sqlite(db).keyed().await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Db::Postgres(postgres::PgDb::open(url).await?).keyed().await
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
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || db.ping()).await
            }
            Db::Postgres(db) => db.ping().await,
        }
    }

    /// The device name for a token's hash, if the token is valid (not revoked).
    pub async fn device_for_token(&self, hash: String) -> Result<Option<String>, DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || db.device_for_token(&hash)).await
            }
            Db::Postgres(db) => db.device_for_token(&hash).await,
        }
    }

    /// Stores a batch in one transaction: binds the token to the batch's key (or refuses),
    /// inserts the records, revokes the laptop's voids and the `duplicate_person` numbers.
    pub async fn store_batch(&self, batch: BatchWrite) -> Result<Stored, DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || db.store_batch(&batch)).await
            }
            Db::Postgres(db) => db.store_batch(&batch).await,
        }
    }

    pub async fn office_state(&self) -> Result<OfficeState, DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || db.office_state()).await
            }
            Db::Postgres(db) => db.office_state().await,
        }
    }

    /// The bound keys (by key id) and the revoked numbers (sorted), for the bundle.
    pub async fn bundle_rows(&self) -> Result<(Vec<KeyRow>, Vec<String>), DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || db.bundle_rows()).await
            }
            Db::Postgres(db) => db.bundle_rows().await,
        }
    }

    /// Changes the office row: `f` gets the current state and returns the new one (or an
    /// error); the bundle version goes up when `bump` says so.
    pub async fn update_office(
        &self,
        f: impl FnOnce(&OfficeState) -> Result<(OfficeState, bool), DbError> + Send + 'static,
    ) -> Result<OfficeState, DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || db.update_office(f)).await
            }
            Db::Postgres(db) => db.update_office(f).await,
        }
    }

    /// Revokes a member number at the office; false if it already was.
    pub async fn revoke_member(
        &self,
        member_no: String,
        reason: String,
        source: &'static str,
    ) -> Result<bool, DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || db.revoke_member(&member_no, &reason, source)).await
            }
            Db::Postgres(db) => db.revoke_member(&member_no, &reason, source).await,
        }
    }

    pub async fn add_device(&self, name: String, hash: String) -> Result<(), DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || db.add_device(&name, &hash)).await
            }
            Db::Postgres(db) => db.add_device(&name, &hash).await,
        }
    }

    pub async fn revoke_device(&self, name: String) -> Result<(), DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || db.revoke_device(&name)).await
            }
            Db::Postgres(db) => db.revoke_device(&name).await,
        }
    }

    /// `booth server stats`: the figures of the whole campaign, names in `lang`.
    pub async fn stats(&self, lang: Lang) -> Result<ServerStats, DbError> {
        let devices = match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || db.devices()).await?
            }
            Db::Postgres(db) => db.devices().await?,
        };
        let figures = self
            .figures(&FigureFilter::default(), Breakdown::All)
            .await?;
        Ok(ServerStats::of(figures, devices, lang))
    }

    /// Up to `limit` records after row `after` (keyset paging), for export.
    pub async fn members_page(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, MemberRow)>, DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || db.members_page(after, limit)).await
            }
            Db::Postgres(db) => db.members_page(after, limit).await,
        }
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

/// Splits a batch into records to insert in one go (first occurrence of each UUID, member
/// number and person within the batch) and the rest, classified after the insert.
pub(crate) fn split_first_occurrences(candidates: &[Candidate]) -> (Vec<usize>, Vec<usize>) {
    let mut seen_uuid = std::collections::HashSet::new();
    let mut seen_no = std::collections::HashSet::new();
    let mut seen_person = std::collections::HashSet::new();
    let (mut first, mut rest) = (Vec::new(), Vec::new());
    for (i, c) in candidates.iter().enumerate() {
        let new_uuid = seen_uuid.insert(c.uuid.as_str());
        let new_no = seen_no.insert(c.member_no.as_str());
        let new_person = seen_person.insert(c.person_key.as_str());
        if new_uuid && new_no && new_person {
            first.push(i);
        } else {
            rest.push(i);
        }
    }
    (first, rest)
}

/// The decision for a record that was not inserted, from what the database holds now.
/// `by_uuid`: uuid → content hash; `by_person`: person key → member number (canonical).
pub(crate) fn classify_missed(
    c: &Candidate,
    by_uuid: &HashMap<String, String>,
    by_person: &HashMap<String, String>,
) -> Decision {
    if let Some(hash) = by_uuid.get(&c.uuid) {
        if hash.eq_ignore_ascii_case(&c.content_hash) {
            Decision::AlreadyThere
        } else {
            Decision::Conflict
        }
    } else if let Some(no) = by_person.get(&c.person_key) {
        Decision::DuplicatePerson(display_member_no(no))
    } else {
        // Neither the UUID nor the person is there: the member number is taken by another
        // record, which only a broken or forged client can cause.
        Decision::Conflict
    }
}

/// The grouped form people read (`K7M2QX-0042-7`).
fn display_member_no(canonical: &str) -> String {
    canonical
        .parse::<crate::card::MemberNo>()
        .map(|n| n.grouped())
        .unwrap_or_else(|_| canonical.to_string())
}

pub(crate) fn now_utc() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}
