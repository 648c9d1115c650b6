//! Registration: one validated record in its own transaction, or many in one (import). The
//! member number comes from the device's sequence, kept in the transaction and written back
//! on commit; the keyed person hash finds a duplicate in the INSERT itself. Also the device
//! row (key pair and pepper), made on first use.

use chrono::{DateTime, FixedOffset};
use rusqlite::{Connection, OptionalExtension, ToSql, Transaction, params};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::row::{RecordColumns, find_by_hash};
use super::{Existing, RegisterError, StoredMember};
use crate::card::number::MAX_SEQ;
use crate::card::{DeviceKey, MemberNo};
use crate::member::{BoothEvent, Document, Validated};
use crate::store::{Device, Store, StoreError, parse_timestamp, timestamp};

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
            timestamp(&crate::store::now())
        ],
    )?;
    tracing::info!(key_id = key.key_id(), "device key created");
    Ok(Device { key, pepper })
}

pub(super) fn person_hash(pepper: &[u8; 32], doc: &Document) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(pepper);
    h.update(doc.person_key().as_bytes());
    h.finalize().into()
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
    let uuid_text = uuid.to_string();
    let head: [&dyn ToSql; 3] = [&uuid_text, &member_no.as_str(), &hash.as_slice()];
    let tail: [&dyn ToSql; 6] = [
        &stamp.text,
        &event.union,
        &event.place,
        &stamp.date,
        &event.operator,
        &imported,
    ];
    let values: Vec<&dyn ToSql> = head.into_iter().chain(c.values()).chain(tail).collect();
    let inserted = tx
        .prepare_cached(
            "INSERT INTO members (uuid, member_no, person_hash, doc_kind, record, name, phone_tail,
                gender, birth_date, region, employment_form, needs, consent_at, union_name, place,
                event_date, operator, created_at, updated_at, state, imported)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                ?13, ?13, 'queued', ?18)",
        )?
        .execute(&*values);
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
pub(super) fn write_transaction(conn: &mut Connection) -> Result<Transaction<'_>, StoreError> {
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
}
