//! Member records in the store: registration (one transaction each, or batched for import),
//! lookup, search, edit, void, and the queue states.

use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{Device, Store, StoreError, parse_timestamp, timestamp};
use crate::card::number::MAX_SEQ;
use crate::card::{Card, DeviceKey, MemberNo, payload_union};
use crate::i18n::Lang;
use crate::member::{BoothEvent, Document, Gender, Member, State, Validated};

/// What a record's ID number said (kept apart from the JSON so lists need not parse it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredFacts {
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
    pub region: Option<String>,
}

/// A record as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMember {
    pub id: i64,
    pub uuid: Uuid,
    pub member_no: MemberNo,
    /// `None` once purged after upload and the retention period.
    pub member: Option<Member>,
    pub facts: StoredFacts,
    pub employment_form: Option<String>,
    pub needs: Vec<String>,
    pub event: BoothEvent,
    pub event_date: NaiveDate,
    pub consent_at: DateTime<FixedOffset>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    pub state: State,
    /// Why voided, or the server's rejection.
    pub state_reason: Option<String>,
    /// For `duplicate_person` answers: the member number the office already has.
    pub server_member_no: Option<String>,
    pub purged_at: Option<DateTime<FixedOffset>>,
    /// Registered by `booth import`, not at the booth (the office counts it as a member, not
    /// as a booth sign-up).
    pub imported: bool,
}

impl StoredMember {
    /// See [`crate::member::may_edit`].
    pub fn may_edit(&self) -> bool {
        crate::member::may_edit(self.state, self.member.is_some())
    }

    /// See [`crate::member::may_print`].
    pub fn may_print(&self) -> bool {
        crate::member::may_print(self.state, self.member.is_some())
    }

    /// What this record's card states (the union name as [`payload_union`] decides).
    pub fn card(&self, union_short: Option<&str>) -> Card {
        Card {
            member_no: self.member_no.clone(),
            union: payload_union(&self.event.union, union_short),
            issued: self.event_date,
        }
    }

    /// What the card's QR holds: the code, or its URL form when the laptop names the
    /// verification page's address (`verify_url`), so a phone camera opens the page.
    pub fn qr_text(
        &self,
        union_short: Option<&str>,
        verify_url: Option<&str>,
        key: &DeviceKey,
    ) -> Result<String, crate::card::payload::IssueError> {
        let code = self.payload(union_short, key)?;
        Ok(match verify_url {
            Some(base) => crate::card::trust::url_form(base, &code),
            None => code,
        })
    }

    /// The signed QR payload of this record's card.
    pub fn payload(
        &self,
        union_short: Option<&str>,
        key: &DeviceKey,
    ) -> Result<String, crate::card::payload::IssueError> {
        crate::card::payload::issue(&self.card(union_short), key)
    }
}

/// The person already registered here, for the "already a member" message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Existing {
    pub member_no: MemberNo,
    pub name: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub state: State,
}

impl Existing {
    /// The name, safe to show (empty once purged).
    pub fn display_name(&self) -> std::borrow::Cow<'_, str> {
        self.name
            .as_deref()
            .map(crate::member::text::display_safe)
            .unwrap_or_default()
    }

    pub fn message(&self, lang: Lang) -> String {
        crate::t!(
            lang,
            "register.duplicate",
            name = self.display_name(),
            when = self.created_at.format("%Y-%m-%d %H:%M"),
            member_no = self.member_no
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("this person is already registered ({})", .0.member_no)]
    Duplicate(Box<Existing>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for RegisterError {
    fn from(e: rusqlite::Error) -> Self {
        RegisterError::Store(e.into())
    }
}

/// Loads the device row, making the key pair and pepper on first use.
pub(crate) fn ensure_device(conn: &mut Connection) -> Result<Device, StoreError> {
    let row: Option<(Vec<u8>, Vec<u8>)> = conn
        .query_row(
            "SELECT secret_key, pepper FROM device WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((secret, pepper)) = row {
        let secret: Zeroizing<[u8; 32]> = Zeroizing::new(
            secret
                .try_into()
                .map_err(|_| StoreError::Damaged("device key".into()))?,
        );
        let pepper: [u8; 32] = pepper
            .try_into()
            .map_err(|_| StoreError::Damaged("device pepper".into()))?;
        return Ok(Device {
            key: DeviceKey::from_secret(&secret),
            pepper: Zeroizing::new(pepper),
        });
    }
    let key = DeviceKey::generate().map_err(|e| StoreError::Damaged(e.to_string()))?;
    let mut pepper = Zeroizing::new([0u8; 32]);
    getrandom::fill(pepper.as_mut()).map_err(|e| StoreError::Damaged(e.to_string()))?;
    conn.execute(
        "INSERT INTO device (id, secret_key, key_id, pepper, next_seq, created_at)
         VALUES (1, ?1, ?2, ?3, 1, ?4)",
        params![
            key.secret().as_slice(),
            key.key_id(),
            pepper.as_slice(),
            timestamp(&super::now())
        ],
    )?;
    tracing::info!(key_id = key.key_id(), "device key created");
    Ok(Device { key, pepper })
}

fn person_hash(pepper: &[u8; 32], doc: &Document) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(pepper);
    h.update(doc.person_key().as_bytes());
    h.finalize().into()
}

pub(crate) const COLUMNS: &str =
    "id, uuid, member_no, record, gender, birth_date, region, employment_form,
    needs, union_name, place, operator, event_date, consent_at, created_at, updated_at, state,
    state_reason, server_member_no, purged_at, imported";

fn bad(what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("bad {what}").into(),
    )
}

pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<StoredMember> {
    let ts = |i: usize| -> rusqlite::Result<DateTime<FixedOffset>> {
        parse_timestamp(&r.get::<_, String>(i)?).ok_or_else(|| bad("timestamp"))
    };
    let record: Option<String> = r.get(3)?;
    let member = match record {
        Some(json) => Some(serde_json::from_str(&json).map_err(|_| bad("record"))?),
        None => None,
    };
    let needs: String = r.get(8)?;
    Ok(StoredMember {
        id: r.get(0)?,
        uuid: r.get::<_, String>(1)?.parse().map_err(|_| bad("uuid"))?,
        member_no: r
            .get::<_, String>(2)?
            .parse()
            .map_err(|_| bad("member number"))?,
        member,
        facts: StoredFacts {
            gender: r
                .get::<_, Option<String>>(4)?
                .and_then(|g| Gender::parse(&g)),
            birth_date: r.get::<_, Option<String>>(5)?.and_then(|d| d.parse().ok()),
            region: r.get(6)?,
        },
        employment_form: r.get(7)?,
        needs: needs
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        event: BoothEvent {
            union: r.get(9)?,
            place: r.get(10)?,
            operator: r.get(11)?,
        },
        event_date: r
            .get::<_, String>(12)?
            .parse()
            .map_err(|_| bad("event date"))?,
        consent_at: ts(13)?,
        created_at: ts(14)?,
        updated_at: ts(15)?,
        state: State::parse(&r.get::<_, String>(16)?).ok_or_else(|| bad("state"))?,
        state_reason: r.get(17)?,
        server_member_no: r.get(18)?,
        purged_at: r
            .get::<_, Option<String>>(19)?
            .and_then(|s| parse_timestamp(&s)),
        imported: r.get(20)?,
    })
}

fn find_by_hash(conn: &Connection, hash: &[u8; 32]) -> rusqlite::Result<Option<Existing>> {
    conn.prepare_cached(
        "SELECT member_no, name, created_at, state FROM members WHERE person_hash = ?1",
    )?
    .query_row([hash.as_slice()], |r| {
        Ok(Existing {
            member_no: r
                .get::<_, String>(0)?
                .parse()
                .map_err(|_| bad("member number"))?,
            name: r.get(1)?,
            created_at: parse_timestamp(&r.get::<_, String>(2)?).ok_or_else(|| bad("timestamp"))?,
            state: State::parse(&r.get::<_, String>(3)?).ok_or_else(|| bad("state"))?,
        })
    })
    .optional()
}

/// The columns a validated record fills besides its identity: the record JSON and what is kept
/// apart from it for search and figures. One place for insert and update.
struct RecordColumns {
    doc_kind: &'static str,
    record: String,
    name: String,
    phone_tail: String,
    gender: Option<&'static str>,
    birth_date: Option<String>,
    region: Option<String>,
    employment_form: Option<String>,
    needs: String,
}

impl RecordColumns {
    fn of(v: &Validated) -> Result<RecordColumns, StoreError> {
        let m = &v.member;
        let facts = v.facts.as_ref();
        Ok(RecordColumns {
            doc_kind: m.document.kind.code(),
            record: serde_json::to_string(m).map_err(|e| StoreError::Damaged(e.to_string()))?,
            name: m.name.clone(),
            phone_tail: m.phone[m.phone.len().saturating_sub(4)..].to_string(),
            gender: facts.map(|f| f.gender.code()),
            birth_date: facts.map(|f| f.birth_date.to_string()),
            region: facts.and_then(|f| f.region.as_ref().map(|r| r.name.clone())),
            employment_form: m.details.employment_form.clone(),
            needs: m.details.needs.join(","),
        })
    }
}

/// A registration time, formatted once for all the rows of an import that share it.
struct Stamp {
    /// The time as the caller gave it (the cache key).
    given: DateTime<FixedOffset>,
    text: String,
    date: String,
}

impl Stamp {
    fn of(now: &DateTime<FixedOffset>) -> Stamp {
        let text = timestamp(now);
        // what a re-read returns: whole seconds
        let at = parse_timestamp(&text).unwrap_or(*now);
        Stamp {
            given: *now,
            date: at.date_naive().to_string(),
            text,
        }
    }
}

/// Inserts one validated record inside an open transaction. Shared by [`Store::register`]
/// (a transaction of one) and import (batches, `imported`).
fn insert(
    tx: &Connection,
    device: &Device,
    next_seq: &mut u32,
    v: &Validated,
    event: &BoothEvent,
    stamp: &Stamp,
    imported: bool,
) -> Result<Registered, RegisterError> {
    let hash = person_hash(&device.pepper, &v.member.document);
    let seq = *next_seq;
    if seq > MAX_SEQ {
        return Err(StoreError::SequenceExhausted(MAX_SEQ).into());
    }
    let member_no =
        MemberNo::new(device.key.key_id(), seq).ok_or(StoreError::SequenceExhausted(MAX_SEQ))?;
    // v7: time-ordered, so the uuid index grows at its end instead of touching pages at
    // random (import speed), and a record's UUID says roughly when it was made.
    let uuid = Uuid::now_v7();
    let c = RecordColumns::of(v)?;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO members (uuid, member_no, person_hash, doc_kind, record, name, phone_tail,
                gender, birth_date, region, employment_form, needs, consent_at, union_name, place,
                event_date, operator, created_at, updated_at, state, imported)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                ?13, ?13, 'queued', ?18)",
        )?
        .execute(params![
            uuid.to_string(),
            member_no.as_str(),
            hash.as_slice(),
            c.doc_kind,
            c.record,
            c.name,
            c.phone_tail,
            c.gender,
            c.birth_date,
            c.region,
            c.employment_form,
            c.needs,
            stamp.text,
            event.union,
            event.place,
            stamp.date,
            event.operator,
            imported,
        ]);
    // The unique person hash decides, in the same statement: no look-up first. A failed
    // single-row INSERT leaves the transaction as it was.
    if let Err(e) = inserted {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
            && let Some(existing) = find_by_hash(tx, &hash)?
        {
            return Err(RegisterError::Duplicate(Box::new(existing)));
        }
        return Err(e.into());
    }
    let id = tx.last_insert_rowid();
    *next_seq += 1;
    Ok(Registered {
        id,
        uuid,
        member_no,
    })
}

/// What a registration inside a batch returns: enough to report it, nothing copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registered {
    pub id: i64,
    pub uuid: Uuid,
    pub member_no: MemberNo,
}

/// Registrations made in one transaction (import). Dropped without [`Batch::commit`], it
/// rolls back: a killed import leaves whole batches or nothing.
pub struct Batch<'a> {
    tx: Transaction<'a>,
    device: &'a Device,
    /// The member sequence, kept here during the batch and written back on commit.
    next_seq: u32,
    stamp: Option<Stamp>,
    /// `booth import`'s rows: members, not booth sign-ups.
    imported: bool,
}

/// A transaction that takes the write lock at once (BEGIN IMMEDIATE): with the draft writer
/// on a second connection, a read-then-write transaction could otherwise fail with
/// SQLITE_BUSY instead of waiting its turn.
fn write_transaction(conn: &mut Connection) -> Result<Transaction<'_>, StoreError> {
    Ok(conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
}

fn read_seq(conn: &Connection) -> Result<u32, StoreError> {
    let seq: i64 = conn
        .prepare_cached("SELECT next_seq FROM device WHERE id = 1")?
        .query_row([], |r| r.get(0))?;
    u32::try_from(seq).map_err(|_| StoreError::SequenceExhausted(MAX_SEQ))
}

fn write_seq(conn: &Connection, seq: u32) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE device SET next_seq = ?1 WHERE id = 1")?
        .execute([seq])?;
    Ok(())
}

impl Batch<'_> {
    /// One row: a single INSERT (the unique person hash catches duplicates in the same
    /// statement). A failure that is not a duplicate (disk full) aborts the batch: the caller
    /// drops it, and the whole batch rolls back.
    pub fn register(
        &mut self,
        v: &Validated,
        event: &BoothEvent,
        now: &DateTime<FixedOffset>,
    ) -> Result<Registered, RegisterError> {
        let stamp = match &mut self.stamp {
            Some(s) if s.given == *now => s,
            slot => slot.insert(Stamp::of(now)),
        };
        insert(
            &self.tx,
            self.device,
            &mut self.next_seq,
            v,
            event,
            stamp,
            self.imported,
        )
    }

    /// Whether this person is already in the store (including rows of this batch).
    pub fn find_person(&self, doc: &Document) -> Result<Option<Existing>, StoreError> {
        Ok(find_by_hash(
            &self.tx,
            &person_hash(&self.device.pepper, doc),
        )?)
    }

    pub fn commit(self) -> Result<(), StoreError> {
        write_seq(&self.tx, self.next_seq)?;
        self.tx.commit()?;
        Ok(())
    }
}

/// A line of the records list: enough to find someone, no ID number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub id: i64,
    pub member_no: MemberNo,
    pub name: Option<String>,
    pub phone_tail: Option<String>,
    pub employer: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub state: State,
}

/// Which records an export or list covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateFilter {
    All,
    Only(State),
}

impl StateFilter {
    pub fn parse(s: &str) -> Option<StateFilter> {
        if s == "all" {
            Some(StateFilter::All)
        } else {
            State::parse(s).map(StateFilter::Only)
        }
    }
}

impl Store {
    /// The keyed hash this store indexes a person by (what the unique index holds; never
    /// the document number itself). Public for benchmarks that insert identical rows.
    pub fn person_hash(&self, doc: &Document) -> [u8; 32] {
        person_hash(&self.device.pepper, doc)
    }

    /// Registers one validated record in its own transaction.
    pub fn register(
        &mut self,
        v: &Validated,
        event: &BoothEvent,
        now: &DateTime<FixedOffset>,
    ) -> Result<StoredMember, RegisterError> {
        let mut batch = self.batch()?;
        let r = batch.register(v, event, now)?;
        batch.commit()?;
        tracing::info!(member_no = %r.member_no, "registered");
        // Read back: the one mapping from a row to a record, whole seconds and all.
        Ok(self.get(&r.member_no)?.ok_or(StoreError::NotFound)?)
    }

    /// Opens a batch of booth sign-ups in one transaction.
    pub fn batch(&mut self) -> Result<Batch<'_>, StoreError> {
        self.open_batch(false)
    }

    /// Opens a batch of registrations from a staff list (`booth import`): members, not booth
    /// sign-ups, in the office's figures.
    pub fn import_batch(&mut self) -> Result<Batch<'_>, StoreError> {
        self.open_batch(true)
    }

    fn open_batch(&mut self, imported: bool) -> Result<Batch<'_>, StoreError> {
        let tx = write_transaction(&mut self.conn)?;
        let next_seq = read_seq(&tx)?;
        Ok(Batch {
            tx,
            device: &self.device,
            next_seq,
            stamp: None,
            imported,
        })
    }

    /// The record of a person with this document, if registered here (voided ones aside).
    pub fn find_person(&self, doc: &Document) -> Result<Option<Existing>, StoreError> {
        Ok(find_by_hash(
            &self.conn,
            &person_hash(&self.device.pepper, doc),
        )?)
    }

    pub fn get(&self, member_no: &MemberNo) -> Result<Option<StoredMember>, StoreError> {
        get_on(&self.conn, member_no)
    }

    /// Calls `f` for every record matching `filter`, in registration order, without loading
    /// them all at once.
    pub fn for_each<E: From<StoreError>>(
        &self,
        filter: StateFilter,
        mut f: impl FnMut(StoredMember) -> Result<(), E>,
    ) -> Result<(), E> {
        let (sql, state) = match filter {
            StateFilter::All => (format!("SELECT {COLUMNS} FROM members ORDER BY id"), None),
            StateFilter::Only(s) => (
                format!("SELECT {COLUMNS} FROM members WHERE state = ?1 ORDER BY id"),
                Some(s.code()),
            ),
        };
        let mut stmt = self.conn.prepare(&sql).map_err(StoreError::from)?;
        let mut rows = match state {
            Some(s) => stmt.query([s]),
            None => stmt.query([]),
        }
        .map_err(StoreError::from)?;
        while let Some(row) = rows.next().map_err(StoreError::from)? {
            f(from_row(row).map_err(StoreError::from)?)?;
        }
        Ok(())
    }

    /// Search for the records screen (see [`search`]).
    pub fn search(
        &self,
        query: &str,
        before_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Summary>, StoreError> {
        search(&self.conn, query, before_id, limit)
    }

    /// Replaces a record's content (the edit screen, or fixing a rejected record). Only
    /// records not yet at the office can change; a rejected record goes back to the queue.
    pub fn update(
        &mut self,
        member_no: &MemberNo,
        v: &Validated,
        now: &DateTime<FixedOffset>,
    ) -> Result<StoredMember, RegisterError> {
        let tx = write_transaction(&mut self.conn)?;
        let current = tx
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM members WHERE member_no = ?1"
            ))?
            .query_row([member_no.as_str()], from_row)
            .optional()?
            .ok_or(StoreError::NotFound)?;
        if !current.may_edit() {
            return Err(StoreError::WrongState(current.state).into());
        }
        let hash = person_hash(&self.device.pepper, &v.member.document);
        if let Some(existing) = find_by_hash(&tx, &hash)?
            && existing.member_no != *member_no
        {
            return Err(RegisterError::Duplicate(Box::new(existing)));
        }
        let c = RecordColumns::of(v)?;
        tx.execute(
            "UPDATE members SET person_hash = ?2, doc_kind = ?3, record = ?4, name = ?5,
                phone_tail = ?6, gender = ?7, birth_date = ?8, region = ?9, employment_form = ?10,
                needs = ?11, updated_at = ?12, state = 'queued', state_reason = NULL,
                server_member_no = NULL
             WHERE member_no = ?1",
            params![
                member_no.as_str(),
                hash.as_slice(),
                c.doc_kind,
                c.record,
                c.name,
                c.phone_tail,
                c.gender,
                c.birth_date,
                c.region,
                c.employment_form,
                c.needs,
                timestamp(now),
            ],
        )?;
        let updated = tx
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM members WHERE member_no = ?1"
            ))?
            .query_row([member_no.as_str()], from_row)?;
        tx.commit()?;
        tracing::info!(%member_no, "record edited");
        Ok(updated)
    }

    /// Voids a record that has not reached the office. The person may be registered again.
    pub fn void(
        &mut self,
        member_no: &MemberNo,
        reason: &str,
        now: &DateTime<FixedOffset>,
    ) -> Result<(), StoreError> {
        let tx = write_transaction(&mut self.conn)?;
        let current = tx
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM members WHERE member_no = ?1"
            ))?
            .query_row([member_no.as_str()], from_row)
            .optional()?
            .ok_or(StoreError::NotFound)?;
        if !current.may_edit() {
            return Err(StoreError::WrongState(current.state));
        }
        tx.execute(
            "UPDATE members SET state = 'voided', state_reason = ?2, person_hash = NULL,
                updated_at = ?3 WHERE member_no = ?1",
            params![member_no.as_str(), reason, timestamp(now)],
        )?;
        tx.commit()?;
        // a voided member's saved slip would still verify
        super::slips::remove(self.dir(), [member_no.as_str()]);
        tracing::info!(%member_no, "record voided");
        Ok(())
    }

    /// Recent employers (most frequent today first), for the form's suggestions.
    pub fn recent_employers(
        &self,
        day: NaiveDate,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        // Over the last 500 registrations only (walking the rowid backwards, no index): enough
        // to know the depot of the day, and as cheap after an import of 100,000 as on a
        // quiet day.
        let mut stmt = self.conn.prepare_cached(
            "SELECT json_extract(record, '$.employer') AS e, count(*) AS n FROM
                (SELECT id, record, event_date, state FROM members ORDER BY id DESC LIMIT 500)
             WHERE event_date = ?1 AND record IS NOT NULL AND state != 'voided'
             GROUP BY e ORDER BY n DESC, max(id) DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![day.to_string(), limit as i64], |r| {
            r.get::<_, String>(0)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// A record by member number on any connection to the store (a background thread's
/// [`Store::second_connection`]).
pub fn get_on(conn: &Connection, member_no: &MemberNo) -> Result<Option<StoredMember>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM members WHERE member_no = ?1"
        ))?
        .query_row([member_no.as_str()], from_row)
        .optional()?)
}

/// A search of the records list that names a group worth a batch of cards: one booth day
/// (`2026-11-24`), or the workers of an employer (`@顺丰`: the employer's name holds the text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListFilter {
    Date(NaiveDate),
    Employer(String),
}

impl ListFilter {
    /// The filter a search text asks for, if it is one.
    pub fn parse(query: &str) -> Option<ListFilter> {
        let q = crate::member::text::tidy(query);
        if let Some(rest) = q.strip_prefix('@').or_else(|| q.strip_prefix('＠')) {
            let rest = rest.trim();
            return (!rest.is_empty()).then(|| ListFilter::Employer(rest.to_string()));
        }
        NaiveDate::parse_from_str(&q, "%Y-%m-%d")
            .ok()
            .map(ListFilter::Date)
    }

    /// The SQL condition and its one parameter.
    fn condition(&self) -> (&'static str, String) {
        match self {
            ListFilter::Date(d) => ("event_date = ?1", d.format("%Y-%m-%d").to_string()),
            // a scan of the records, on a worker thread; the employer is only in the record
            ListFilter::Employer(e) => (
                "instr(json_extract(record, '$.employer'), ?1) > 0",
                e.clone(),
            ),
        }
    }
}

/// Calls `f` for every record `filter` names, in registration order, one at a time, on any
/// connection to the store (a worker thread's).
pub fn for_each_matching<E: From<StoreError>>(
    conn: &Connection,
    filter: &ListFilter,
    mut f: impl FnMut(StoredMember) -> Result<(), E>,
) -> Result<(), E> {
    let (cond, param) = filter.condition();
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM members WHERE {cond} ORDER BY id"
        ))
        .map_err(StoreError::from)?;
    let mut rows = stmt.query([param]).map_err(StoreError::from)?;
    while let Some(row) = rows.next().map_err(StoreError::from)? {
        f(from_row(row).map_err(StoreError::from)?)?;
    }
    Ok(())
}

/// Search for the records screen: a member-number prefix, the last four digits of a phone,
/// the start of a name, or a [`ListFilter`] (a day, an employer); newest first, `limit` rows before `before_id` (keyset paging:
/// as fast on page 1,000 as on page 1).
pub fn search(
    conn: &Connection,
    query: &str,
    before_id: Option<i64>,
    limit: usize,
) -> Result<Vec<Summary>, StoreError> {
    let q = crate::member::text::tidy(query);
    let before = before_id.unwrap_or(i64::MAX);
    let map = |r: &Row<'_>| -> rusqlite::Result<Summary> {
        let record: Option<String> = r.get(3)?;
        let employer = record
            .and_then(|j| serde_json::from_str::<Member>(&j).ok())
            .map(|m| m.employer);
        Ok(Summary {
            id: r.get(0)?,
            member_no: r
                .get::<_, String>(1)?
                .parse()
                .map_err(|_| bad("member number"))?,
            name: r.get(2)?,
            phone_tail: r.get(4)?,
            employer,
            created_at: parse_timestamp(&r.get::<_, String>(5)?).ok_or_else(|| bad("timestamp"))?,
            state: State::parse(&r.get::<_, String>(6)?).ok_or_else(|| bad("state"))?,
        })
    };
    let select = "SELECT id, member_no, name, record, phone_tail, created_at, state FROM members";
    let limit = limit as i64;
    let rows: Vec<Summary> = if let Some(filter) = ListFilter::parse(&q) {
        let (cond, param) = filter.condition();
        conn.prepare_cached(&format!(
            "{select} WHERE {cond} AND id < ?2 ORDER BY id DESC LIMIT ?3"
        ))?
        .query_map(params![param, before, limit], map)?
        .collect::<Result<_, _>>()?
    } else if q.is_empty() {
        conn.prepare_cached(&format!("{select} WHERE id < ?1 ORDER BY id DESC LIMIT ?2"))?
            .query_map(params![before, limit], map)?
            .collect::<Result<_, _>>()?
    } else if q.len() == 4 && q.bytes().all(|b| b.is_ascii_digit()) {
        conn.prepare_cached(&format!(
            "{select} WHERE phone_tail = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
        ))?
        .query_map(params![q, before, limit], map)?
        .collect::<Result<_, _>>()?
    } else {
        // Member numbers are typed with dashes and look-alikes; names are matched by prefix
        // through the index (GLOB with a literal prefix), never by a full scan.
        let no_prefix: String = q
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .filter_map(crate::card::number::symbol_value)
            .map(|v| crate::card::number::ALPHABET[v as usize] as char)
            .collect();
        let glob_escape = |s: &str| -> String {
            s.chars()
                .map(|c| match c {
                    '*' | '?' | '[' | ']' => format!("[{c}]"),
                    _ => c.to_string(),
                })
                .collect()
        };
        let name_glob = format!("{}*", glob_escape(&q));
        let no_glob =
            if no_prefix.len() >= 3 && q.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                format!("{}*", glob_escape(&no_prefix))
            } else {
                // matches nothing
                "\u{1}".to_string()
            };
        conn
            .prepare_cached(&format!(
                "SELECT * FROM (
                    SELECT * FROM ({select} WHERE name GLOB ?1 AND id < ?3 ORDER BY id DESC LIMIT ?4)
                    UNION
                    SELECT * FROM ({select} WHERE member_no GLOB ?2 AND id < ?3 ORDER BY id DESC LIMIT ?4)
                 ) ORDER BY id DESC LIMIT ?4"
            ))?
            .query_map(params![name_glob, no_glob, before, limit], map)?
            .collect::<Result<_, _>>()?
    };
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::{MemberInput, validate};

    #[test]
    fn a_day_or_an_employer_is_a_filter_anything_else_a_search() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert_eq!(
            ListFilter::parse(" 2026-11-24 "),
            Some(ListFilter::Date(day))
        );
        // full-width digits and at sign, as an IME types them
        assert_eq!(
            ListFilter::parse("２０２６-１１-２４"),
            Some(ListFilter::Date(day))
        );
        assert_eq!(
            ListFilter::parse("＠顺丰 速运"),
            Some(ListFilter::Employer("顺丰 速运".into()))
        );
        for search in ["", "@", "@  ", "2026-13-01", "葛婷", "2222", "5NC0DH"] {
            assert_eq!(ListFilter::parse(search), None, "{search}");
        }
    }
    use crate::store::test_store as fast_store;

    fn input(id: &str) -> MemberInput {
        MemberInput {
            name: "葛婷婷".into(),
            id_number: id.into(),
            phone: "13800138000".into(),
            employer: "某公司".into(),
            consent: true,
            ..Default::default()
        }
    }

    fn event() -> BoothEvent {
        BoothEvent {
            union: "朝阳区总工会".into(),
            place: "望京".into(),
            operator: "李".into(),
        }
    }

    #[test]
    fn register_then_duplicate_then_void_then_again() {
        let (_d, mut store) = fast_store();
        let now = crate::store::now();
        let v = validate(&input("11010519491231002X"), now.date_naive()).unwrap();
        let m = store.register(&v, &event(), &now).unwrap();
        assert_eq!(m.member_no.device(), store.device_key().key_id());
        assert_eq!(store.get(&m.member_no).unwrap().unwrap(), m);
        match store.register(&v, &event(), &now) {
            Err(RegisterError::Duplicate(e)) => {
                assert_eq!(e.member_no, m.member_no);
                assert!(e.message(Lang::Zh).contains("葛婷婷"));
            }
            other => panic!("expected duplicate, got {other:?}"),
        }
        store.void(&m.member_no, "登记错了", &now).unwrap();
        let again = store.register(&v, &event(), &now).unwrap();
        assert_ne!(again.member_no, m.member_no);
        assert_eq!(again.member_no.seq(), m.member_no.seq() + 1);
    }

    #[test]
    fn search_by_name_prefix_phone_tail_and_number() {
        let (_d, mut store) = fast_store();
        let now = crate::store::now();
        let v = validate(&input("11010519491231002X"), now.date_naive()).unwrap();
        let m = store.register(&v, &event(), &now).unwrap();
        assert_eq!(store.search("葛", None, 10).unwrap().len(), 1);
        assert_eq!(store.search("8000", None, 10).unwrap().len(), 1);
        assert_eq!(
            store
                .search(&m.member_no.grouped()[..5].to_lowercase(), None, 10)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(store.search("王", None, 10).unwrap().len(), 0);
        assert_eq!(store.search("*", None, 10).unwrap().len(), 0);
        assert_eq!(store.search("", None, 10).unwrap().len(), 1);
    }

    #[test]
    fn only_queued_or_rejected_records_change() {
        let (_d, mut store) = fast_store();
        let now = crate::store::now();
        let v = validate(&input("11010519491231002X"), now.date_naive()).unwrap();
        let m = store.register(&v, &event(), &now).unwrap();
        let mut edited = input("11010519491231002X");
        edited.employer = "另一家公司".into();
        let v2 = validate(&edited, now.date_naive()).unwrap();
        let u = store.update(&m.member_no, &v2, &now).unwrap();
        assert_eq!(u.member.unwrap().employer, "另一家公司");
        store
            .connection()
            .execute("UPDATE members SET state = 'uploaded'", [])
            .unwrap();
        assert!(matches!(
            store.update(&m.member_no, &v2, &now),
            Err(RegisterError::Store(StoreError::WrongState(
                State::Uploaded
            )))
        ));
        assert!(matches!(
            store.void(&m.member_no, "x", &now),
            Err(StoreError::WrongState(State::Uploaded))
        ));
    }
}

#[cfg(test)]
mod seq_tests {
    use crate::member::{MemberInput, validate};

    #[test]
    fn different_people_get_consecutive_numbers() {
        let (_d, mut store) = crate::store::test_store();
        let now = crate::store::now();
        let ev = crate::config::Config::default().event();
        let mk = |id: &str| MemberInput {
            name: "张三".into(),
            id_number: id.into(),
            phone: "13800138000".into(),
            employer: "某公司".into(),
            consent: true,
            ..Default::default()
        };
        let a = store
            .register(
                &validate(&mk("11010519491231002X"), now.date_naive()).unwrap(),
                &ev,
                &now,
            )
            .unwrap();
        let b = store.register(
            &validate(&mk("110105198001010016"), now.date_naive()).unwrap(),
            &ev,
            &now,
        );
        let b = b.unwrap();
        assert_eq!(b.member_no.seq(), a.member_no.seq() + 1);
        // a batch continues the sequence, and a single registration after it too
        let mut batch = store.batch().unwrap();
        let c = batch
            .register(
                &validate(&mk("110105199001010010"), now.date_naive()).unwrap(),
                &ev,
                &now,
            )
            .unwrap();
        batch.commit().unwrap();
        assert_eq!(c.member_no.seq(), b.member_no.seq() + 1);
        let d = store.register(
            &validate(&mk("110105199101010018"), now.date_naive()).unwrap(),
            &ev,
            &now,
        );
        assert_eq!(d.unwrap().member_no.seq(), c.member_no.seq() + 1);
    }
}
