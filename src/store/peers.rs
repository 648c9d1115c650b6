//! What a laptop keeps about its booth group (SPEC §12, docs/trust.md "Peers"): the group's
//! secret, the paired laptops and their pinned keys, the same-person hashes the peers sent,
//! this laptop's own hashes, and segments — its own, and those it holds for peers.
//!
//! Held segments live in their own table, sealed: nothing in them reaches this laptop's
//! records list, export or figures, which read `members` and `consultations` only.
//!
//! Free functions over a `&Connection`: the peer service runs on its own threads with its
//! own connections ([`Store::share`]), beside the UI or the local socket's commands.

use std::fs::File;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use zeroize::Zeroizing;

use super::{Store, StoreError, timestamp};
use crate::card::DeviceKey;
use crate::member::Document;

/// Migration 7 (appended to [`super::schema::MIGRATIONS`]).
pub(crate) const MIGRATION: &str = r#"
    -- This laptop in its booth group: the group's secret (it keys the same-person hashes)
    -- and the counters of its own segments. One row.
    CREATE TABLE peer_self (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        group_secret    BLOB,
        segment_counter INTEGER NOT NULL DEFAULT 0,
        -- the digest of the day summaries last put in a segment
        days_digest     TEXT NOT NULL DEFAULT '',
        -- from the enrolment code: the device's name at the office, the office's sealing key
        device          TEXT,
        seal_key        TEXT
    ) STRICT;
    INSERT INTO peer_self (id) VALUES (1);
    -- the own segment counter when an upload started (store::queue::start_upload): once it
    -- completed, every own segment up to it is at the office
    ALTER TABLE uploads ADD COLUMN segment_counter INTEGER;

    -- The laptops of the group (pinned keys), and those this laptop forgot (never taken
    -- back from another member's word).
    CREATE TABLE peers (
        device_key    BLOB PRIMARY KEY,
        key_id        TEXT NOT NULL,
        name          TEXT NOT NULL,
        transport_key BLOB NOT NULL,
        -- the signed admission entry (passed on to laptops that join later)
        admission     TEXT NOT NULL,
        address       TEXT,
        last_seen     TEXT,
        forgotten     INTEGER NOT NULL DEFAULT 0
    ) STRICT;

    -- The peers' registrations as keyed hashes of the document number (never the number).
    CREATE TABLE peer_persons (
        origin    BLOB NOT NULL,
        member_no TEXT NOT NULL,
        hash      BLOB NOT NULL,
        at        TEXT NOT NULL,
        voided    INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (origin, member_no)
    ) STRICT;
    CREATE INDEX peer_persons_hash ON peer_persons (hash);

    -- This laptop's own records as the group sees them: the keyed hash, and which version
    -- of the record (and its void) went into a segment.
    CREATE TABLE peer_own (
        member_id         INTEGER PRIMARY KEY REFERENCES members (id),
        hash              BLOB,
        -- the peers were told of the void (the person is free again)
        told_void         INTEGER NOT NULL DEFAULT 0,
        sealed_updated_at TEXT,
        sealed_void       INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX peer_own_hash ON peer_own (hash) WHERE hash IS NOT NULL;

    -- Segments: this laptop's own (kept for peers that missed them) and those it holds for
    -- peers, byte for byte as signed.
    CREATE TABLE segments (
        origin      BLOB NOT NULL,
        counter     INTEGER NOT NULL,
        text        TEXT NOT NULL,
        records     INTEGER NOT NULL,
        created_at  TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (origin, counter)
    ) STRICT;

    -- Per origin: the counter up to which the office has everything, as the origin signed
    -- it (held segments up to it are dropped).
    CREATE TABLE segment_marks (
        origin    BLOB PRIMARY KEY,
        acked     INTEGER NOT NULL,
        statement TEXT NOT NULL
    ) STRICT;
"#;

/// Remembers what a segment needs from an enrolment code: the device's name at the office
/// and the office's sealing key. (The binding proof is made from the token, kept in the
/// settings, when a segment is made: a key regenerated after the enrolment gets its own.)
/// Called by [`Store::enroll`].
pub(crate) fn remember_enrolment(
    conn: &Connection,
    e: &crate::card::enrol::Enrolment,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE peer_self SET device = coalesce(?1, device), seal_key = coalesce(?2, seal_key)
         WHERE id = 1",
        params![e.device, e.seal_key],
    )?;
    Ok(())
}

/// The device name and the office's sealing key the enrolment code gave.
pub fn enrolment(conn: &Connection) -> Result<(Option<String>, Option<String>), StoreError> {
    Ok(conn.query_row(
        "SELECT device, seal_key FROM peer_self WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// The configuration read on any connection (the peer service's), stored values that do
/// not parse left at their default (the store's own reader logs them).
pub fn config_on(conn: &Connection) -> Result<crate::config::Config, StoreError> {
    let mut c = crate::config::Config::default();
    let mut stmt = conn.prepare_cached("SELECT key, value FROM settings")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (k, v) = row?;
        let _ = c.apply(&k, &v, crate::i18n::Lang::En);
    }
    Ok(c)
}

/// The group secret, if this laptop is in a group.
pub fn group_secret(conn: &Connection) -> Result<Option<Zeroizing<[u8; 32]>>, StoreError> {
    let v: Option<Vec<u8>> =
        conn.query_row("SELECT group_secret FROM peer_self WHERE id = 1", [], |r| {
            r.get(0)
        })?;
    Ok(v.and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(Zeroizing::new))
}

/// Sets the group secret; own hashes made under another one are made again.
pub fn set_group_secret(conn: &Connection, secret: &[u8; 32]) -> Result<(), StoreError> {
    let changed = conn.execute(
        "UPDATE peer_self SET group_secret = ?1 WHERE id = 1
         AND (group_secret IS NULL OR group_secret != ?1)",
        [secret.as_slice()],
    )?;
    if changed > 0 {
        conn.execute("UPDATE peer_own SET hash = NULL", [])?;
    }
    Ok(())
}

/// The same-person hash the group shares: HMAC-SHA256 under the group secret of the
/// normalised document number. Only this crosses to peers, never the number.
pub fn group_person_hash(secret: &[u8; 32], doc: &Document) -> [u8; 32] {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret)
        .expect("HMAC takes any key length");
    mac.update(b"booth-person/1");
    mac.update(doc.person_key().as_bytes());
    mac.finalize().into_bytes().into()
}

/// A laptop of the group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRow {
    pub device_key: [u8; 32],
    pub key_id: String,
    pub name: String,
    pub transport_key: [u8; 32],
    pub admission: String,
    pub address: Option<String>,
    pub last_seen: Option<String>,
    pub forgotten: bool,
}

fn key32(v: Vec<u8>) -> rusqlite::Result<[u8; 32]> {
    v.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            "not 32 bytes".into(),
        )
    })
}

/// Every laptop of the group (forgotten ones with `forgotten`), by name.
pub fn peers(conn: &Connection) -> Result<Vec<PeerRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT device_key, key_id, name, transport_key, admission, address, last_seen,
            forgotten FROM peers ORDER BY name, key_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PeerRow {
            device_key: key32(r.get(0)?)?,
            key_id: r.get(1)?,
            name: r.get(2)?,
            transport_key: key32(r.get(3)?)?,
            admission: r.get(4)?,
            address: r.get(5)?,
            last_seen: r.get(6)?,
            forgotten: r.get::<_, i64>(7)? != 0,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Pins a laptop (or updates its name and admission). A forgotten laptop stays forgotten
/// unless `again` (this laptop's own operator paired it anew).
pub fn pin_peer(conn: &Connection, p: &PeerRow, again: bool) -> Result<bool, StoreError> {
    let n = conn.execute(
        "INSERT INTO peers (device_key, key_id, name, transport_key, admission, address,
            last_seen, forgotten)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)
         ON CONFLICT (device_key) DO UPDATE SET
            name = excluded.name, transport_key = excluded.transport_key,
            admission = excluded.admission,
            address = coalesce(excluded.address, peers.address),
            forgotten = CASE WHEN ?8 THEN 0 ELSE peers.forgotten END
         WHERE ?8 OR peers.forgotten = 0",
        params![
            p.device_key.as_slice(),
            p.key_id,
            p.name,
            p.transport_key.as_slice(),
            p.admission,
            p.address,
            p.last_seen,
            again
        ],
    )?;
    Ok(n > 0)
}

/// Forgets the laptop(s) of that name (or key id): no more sessions, hashes or segments
/// taken from it. Returns how many.
pub fn forget(conn: &Connection, name: &str) -> Result<usize, StoreError> {
    let n = conn.execute(
        "UPDATE peers SET forgotten = 1 WHERE (name = ?1 OR key_id = ?1) AND forgotten = 0",
        [name],
    )?;
    conn.execute(
        "DELETE FROM peer_persons WHERE origin IN (SELECT device_key FROM peers WHERE forgotten = 1)",
        [],
    )?;
    Ok(n)
}

pub fn seen(
    conn: &Connection,
    device_key: &[u8; 32],
    address: Option<&str>,
    at: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE peers SET last_seen = ?2, address = coalesce(?3, address) WHERE device_key = ?1",
        params![device_key.as_slice(), at, address],
    )?;
    Ok(())
}

/// An address another member gave for a laptop this one has none for.
pub fn hint_address(
    conn: &Connection,
    device_key: &[u8; 32],
    address: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE peers SET address = ?2 WHERE device_key = ?1 AND address IS NULL",
        params![device_key.as_slice(), address],
    )?;
    Ok(())
}

/// A same-person hash as it travels between peers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PersonMark {
    /// Hex of the keyed hash.
    pub hash: String,
    pub member_no: String,
    /// When the origin registered the person (its clock, RFC 3339).
    pub at: String,
    #[serde(default)]
    pub voided: bool,
}

/// Makes the keyed hashes of own records that have none yet (new records, or after the
/// group secret changed) and notes voids; returns the marks that changed, to push to peers.
/// Records already purged keep no hash (their number is gone).
pub fn refresh_own_marks(conn: &Connection) -> Result<Vec<PersonMark>, StoreError> {
    let Some(secret) = group_secret(conn)? else {
        return Ok(Vec::new());
    };
    let mut changed = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT m.id, m.member_no, m.record, m.created_at, m.state = 'voided', o.hash
         FROM members m LEFT JOIN peer_own o ON o.member_id = m.id
         WHERE o.member_id IS NULL OR (o.hash IS NULL AND m.record IS NOT NULL)
            OR (m.state = 'voided' AND o.told_void = 0)",
    )?;
    type Row = (i64, String, Option<String>, String, bool, Option<Vec<u8>>);
    let rows: Vec<Row> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    drop(stmt);
    for (id, member_no, record, at, voided, old_hash) in rows {
        let hash = match (&old_hash, &record) {
            (Some(h), _) => Some(h.clone()),
            (None, Some(json)) => serde_json::from_str::<crate::member::Member>(json)
                .ok()
                .map(|m| group_person_hash(&secret, &m.document).to_vec()),
            (None, None) => None,
        };
        conn.execute(
            "INSERT INTO peer_own (member_id, hash, told_void) VALUES (?1, ?2, ?3)
             ON CONFLICT (member_id) DO UPDATE SET hash = excluded.hash,
                told_void = excluded.told_void",
            params![id, hash, voided],
        )?;
        if let Some(h) = hash {
            changed.push(PersonMark {
                hash: data_encoding::HEXLOWER.encode(&h),
                member_no,
                at,
                voided,
            });
        }
    }
    Ok(changed)
}

/// Every own mark (for a peer met again).
pub fn own_marks(conn: &Connection) -> Result<Vec<PersonMark>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.hash, m.member_no, m.created_at, m.state = 'voided'
         FROM peer_own o JOIN members m ON m.id = o.member_id WHERE o.hash IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PersonMark {
            hash: data_encoding::HEXLOWER.encode(&r.get::<_, Vec<u8>>(0)?),
            member_no: r.get(1)?,
            at: r.get(2)?,
            voided: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Takes a peer's marks (voided ones free the person again).
pub fn take_marks(
    conn: &mut Connection,
    origin: &[u8; 32],
    marks: &[PersonMark],
) -> Result<usize, StoreError> {
    let tx = conn.transaction()?;
    let mut n = 0;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO peer_persons (origin, member_no, hash, at, voided)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (origin, member_no) DO UPDATE SET hash = excluded.hash,
                at = excluded.at, voided = excluded.voided",
        )?;
        for m in marks {
            let Ok(hash) = data_encoding::HEXLOWER_PERMISSIVE.decode(m.hash.as_bytes()) else {
                continue;
            };
            if hash.len() != 32 || !m.member_no.starts_with(&key_id_of_bytes(origin)) {
                continue;
            }
            n += stmt.execute(params![
                origin.as_slice(),
                m.member_no,
                hash,
                m.at,
                m.voided
            ])?;
        }
    }
    tx.commit()?;
    Ok(n)
}

fn key_id_of_bytes(key: &[u8; 32]) -> String {
    crate::card::keys::acceptable_key(key)
        .map(|k| crate::card::keys::key_id_of(&k))
        .unwrap_or_default()
}

/// A person a paired laptop registered: where and when, and the member number — never the
/// other worker's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeerHit {
    /// The paired laptop's name (as its operator called it at pairing).
    pub laptop: String,
    pub member_no: String,
    /// RFC 3339, the other laptop's clock.
    pub at: String,
}

/// The peer registration of this document, if a paired laptop has one (not voided). What
/// the form and `register` check when a document number is complete.
pub fn peer_person(conn: &Connection, doc: &Document) -> Result<Option<PeerHit>, StoreError> {
    let Some(secret) = group_secret(conn)? else {
        return Ok(None);
    };
    let hash = group_person_hash(&secret, doc);
    Ok(conn
        .query_row(
            "SELECT p.name, pp.member_no, pp.at FROM peer_persons pp
             JOIN peers p ON p.device_key = pp.origin AND p.forgotten = 0
             WHERE pp.hash = ?1 AND pp.voided = 0 ORDER BY pp.at LIMIT 1",
            [hash.as_slice()],
            |r| {
                Ok(PeerHit {
                    laptop: r.get(0)?,
                    member_no: grouped(r.get(1)?),
                    at: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// A person registered here and on a paired laptop (made while apart, or within the same
/// two seconds): one of the two is to be voided. The records list (F3) shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// This laptop's record.
    pub member_no: String,
    pub registered_at: String,
    /// The other laptop's.
    pub laptop: String,
    pub other_member_no: String,
    pub other_at: String,
}

/// A member number as printed (with its dashes), whatever form it was kept in.
fn grouped(n: String) -> String {
    n.parse::<crate::card::MemberNo>()
        .map(|m| m.grouped())
        .unwrap_or(n)
}

/// Every such conflict, oldest first.
pub fn conflicts(conn: &Connection) -> Result<Vec<Conflict>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.member_no, m.created_at, p.name, pp.member_no, pp.at
         FROM peer_own o
         JOIN members m ON m.id = o.member_id AND m.state != 'voided'
         JOIN peer_persons pp ON pp.hash = o.hash AND pp.voided = 0
         JOIN peers p ON p.device_key = pp.origin AND p.forgotten = 0
         WHERE o.hash IS NOT NULL ORDER BY m.created_at, m.member_no",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Conflict {
            member_no: grouped(r.get(0)?),
            registered_at: r.get(1)?,
            laptop: r.get(2)?,
            other_member_no: grouped(r.get(3)?),
            other_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A segment as kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptSegment {
    pub origin: [u8; 32],
    pub counter: u64,
    pub text: String,
}

/// Keeps a segment (own or held) unless it is at or below the origin's mark or already
/// kept. Returns whether it was new. A different segment under a kept counter is refused
/// (`Ok(false)`): an origin never signs two segments with one counter.
pub fn keep_segment(
    conn: &Connection,
    origin: &[u8; 32],
    counter: u64,
    text: &str,
    records: u64,
    created_at: &str,
    now: &str,
) -> Result<bool, StoreError> {
    let mark = acked(conn, origin)?;
    if counter <= mark {
        return Ok(false);
    }
    let n = conn.execute(
        "INSERT INTO segments (origin, counter, text, records, created_at, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        params![
            origin.as_slice(),
            counter as i64,
            text,
            records as i64,
            created_at,
            now
        ],
    )?;
    Ok(n > 0)
}

/// The counter up to which the origin said the office has everything (0: none).
pub fn acked(conn: &Connection, origin: &[u8; 32]) -> Result<u64, StoreError> {
    let v: Option<i64> = conn
        .query_row(
            "SELECT acked FROM segment_marks WHERE origin = ?1",
            [origin.as_slice()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(v.unwrap_or(0).max(0) as u64)
}

/// Takes an origin's (checked) mark: segments up to it are dropped. Marks only go up.
pub fn take_mark(
    conn: &Connection,
    origin: &[u8; 32],
    acked_to: u64,
    statement: &str,
) -> Result<bool, StoreError> {
    let n = conn.execute(
        "INSERT INTO segment_marks (origin, acked, statement) VALUES (?1, ?2, ?3)
         ON CONFLICT (origin) DO UPDATE SET acked = excluded.acked,
            statement = excluded.statement WHERE excluded.acked > segment_marks.acked",
        params![origin.as_slice(), acked_to as i64, statement],
    )?;
    conn.execute(
        "DELETE FROM segments WHERE origin = ?1 AND counter <= ?2",
        params![origin.as_slice(), acked_to as i64],
    )?;
    Ok(n > 0)
}

/// Every mark, as signed by its origin (to pass on).
pub fn marks(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT statement FROM segment_marks")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Per origin, the highest counter kept with every one below it kept or acknowledged: what
/// a peer is asked to send above.
pub fn have(conn: &Connection) -> Result<Vec<([u8; 32], u64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT origin, counter FROM segments
         UNION SELECT origin, acked FROM segment_marks ORDER BY 1, 2",
    )?;
    let rows: Vec<([u8; 32], u64)> = stmt
        .query_map([], |r| {
            Ok((key32(r.get(0)?)?, r.get::<_, i64>(1)?.max(0) as u64))
        })?
        .collect::<Result<_, _>>()?;
    let mut out: Vec<([u8; 32], u64)> = Vec::new();
    for (origin, counter) in rows {
        match out.last_mut() {
            Some((o, c)) if *o == origin => {
                if counter == *c + 1 || counter <= *c {
                    *c = (*c).max(counter);
                }
            }
            _ => {
                // a run starts at 1, or at an acknowledged mark
                let base = acked(conn, &origin)?;
                out.push((origin, if counter <= base + 1 { counter } else { base }));
            }
        }
    }
    Ok(out)
}

/// Kept segments of `origin` above `after`, oldest first, at most `limit`.
pub fn segments_after(
    conn: &Connection,
    origin: &[u8; 32],
    after: u64,
    limit: usize,
) -> Result<Vec<KeptSegment>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT origin, counter, text FROM segments WHERE origin = ?1 AND counter > ?2
         ORDER BY counter LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![origin.as_slice(), after as i64, limit as i64],
        |r| {
            Ok(KeptSegment {
                origin: key32(r.get(0)?)?,
                counter: r.get::<_, i64>(1)?.max(0) as u64,
                text: r.get(2)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The origins this laptop keeps segments of.
pub fn origins(conn: &Connection) -> Result<Vec<[u8; 32]>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT origin FROM segments")?;
    let rows = stmt.query_map([], |r| key32(r.get(0)?))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records held for each other laptop (not this one's own): "为 2号电脑 保管 143 条".
pub fn held_records(conn: &Connection, own: &[u8; 32]) -> Result<Vec<([u8; 32], u64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT origin, sum(records) FROM segments WHERE origin != ?1 GROUP BY origin",
    )?;
    let rows = stmt.query_map([own.as_slice()], |r| {
        Ok((key32(r.get(0)?)?, r.get::<_, i64>(1)?.max(0) as u64))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Drops a held segment the office has taken (a relay's upload).
pub fn drop_segment(conn: &Connection, origin: &[u8; 32], counter: u64) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM segments WHERE origin = ?1 AND counter = ?2",
        params![origin.as_slice(), counter as i64],
    )?;
    Ok(())
}

/// The next own segment counter (taken: the caller's transaction keeps it or rolls back).
pub fn next_counter(conn: &Connection) -> Result<u64, StoreError> {
    let bumped = conn.execute(
        "UPDATE peer_self SET segment_counter = segment_counter + 1 WHERE id = 1",
        [],
    )?;
    if bumped == 0 {
        // no own row (the migration makes it): a counter of 0 would be reused
        return Err(rusqlite::Error::QueryReturnedNoRows.into());
    }
    segment_counter(conn)
}

/// The last own segment counter (0: none made yet). A direct upload sends it with its day
/// summaries, read before them, so the office keeps them over any segment at or below it.
pub fn segment_counter(conn: &Connection) -> Result<u64, StoreError> {
    let c: Option<i64> = conn
        .query_row(
            "SELECT segment_counter FROM peer_self WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(c.unwrap_or(0).max(0) as u64)
}

pub fn days_digest(conn: &Connection) -> Result<String, StoreError> {
    Ok(
        conn.query_row("SELECT days_digest FROM peer_self WHERE id = 1", [], |r| {
            r.get(0)
        })?,
    )
}

pub fn set_days_digest(conn: &Connection, digest: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE peer_self SET days_digest = ?1 WHERE id = 1",
        [digest],
    )?;
    Ok(())
}

/// Own records whose current version is in no segment yet (queued ones), oldest first.
pub fn unsealed_records(
    conn: &Connection,
    limit: usize,
) -> Result<Vec<super::members::StoredMember>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM members m LEFT JOIN peer_own o ON o.member_id = m.id
         WHERE m.state = 'queued'
            AND (o.sealed_updated_at IS NULL OR o.sealed_updated_at != m.updated_at)
         ORDER BY m.id LIMIT ?1",
        super::members::COLUMNS
            .split(',')
            .map(|c| format!("m.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    ))?;
    let rows = stmt.query_map([limit as i64], super::members::from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Own voids not yet reported to the office and in no segment yet (canonical numbers).
pub fn unsealed_voids(conn: &Connection) -> Result<Vec<(i64, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.id, m.member_no FROM members m LEFT JOIN peer_own o ON o.member_id = m.id
         WHERE m.state = 'voided' AND m.void_reported_at IS NULL
            AND coalesce(o.sealed_void, 0) = 0
         ORDER BY m.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get::<_, String>(1)?.replace('-', "").to_uppercase(),
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Notes which versions went into a segment.
pub fn mark_sealed(
    conn: &Connection,
    records: &[(i64, String)],
    voids: &[i64],
) -> Result<(), StoreError> {
    for (id, updated_at) in records {
        conn.execute(
            "INSERT INTO peer_own (member_id, sealed_updated_at) VALUES (?1, ?2)
             ON CONFLICT (member_id) DO UPDATE SET sealed_updated_at = excluded.sealed_updated_at",
            params![id, updated_at],
        )?;
    }
    for id in voids {
        conn.execute(
            "INSERT INTO peer_own (member_id, sealed_void) VALUES (?1, 1)
             ON CONFLICT (member_id) DO UPDATE SET sealed_void = 1",
            [id],
        )?;
    }
    Ok(())
}

/// The own segment counter at the start of the last upload that completed: every own
/// segment up to it is at the office (its records, voids and day summaries were all in
/// the queue that upload sent).
pub fn acked_by_upload(conn: &Connection) -> Result<u64, StoreError> {
    let v: Option<i64> = conn
        .query_row(
            "SELECT segment_counter FROM uploads WHERE outcome = 'complete'
             ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(v.unwrap_or(0).max(0) as u64)
}

impl Store {
    /// Another `Store` on this unlocked folder, for another thread of this process (the
    /// peer service, a command run for the local socket): its own connection, the same key,
    /// and a handle on the folder lock this process holds.
    pub fn share(&self) -> Result<Store, StoreError> {
        let conn = self.second_connection()?;
        let lock: File = self._lock.try_clone()?;
        Ok(Store {
            conn,
            device: super::Device {
                key: DeviceKey::from_secret(&self.device.key.secret()),
                pepper: self.device.pepper.clone(),
            },
            dir: self.dir.clone(),
            keyfile: self.keyfile.clone(),
            key: self.key.clone(),
            _lock: lock,
        })
    }

    /// The key the local socket's proofs are made with (HKDF of the store key): whoever
    /// knows the passphrase can make it, nobody learns the passphrase from it.
    pub fn local_socket_key(&self) -> Zeroizing<[u8; 32]> {
        local_socket_key(&self.key)
    }

    /// The peer registration of this document (see [`peer_person`]), for the form and
    /// `register`.
    pub fn peer_person(&self, doc: &Document) -> Result<Option<PeerHit>, StoreError> {
        peer_person(&self.conn, doc)
    }

    /// Persons registered here and on a paired laptop (see [`conflicts`]), for F3.
    pub fn peer_conflicts(&self) -> Result<Vec<Conflict>, StoreError> {
        conflicts(&self.conn)
    }

    /// The connection, for the peer service's free functions (it owns this `Store`).
    pub fn peer_connection(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// See [`Store::local_socket_key`]; the client derives the same from the passphrase.
pub fn local_socket_key(store_key: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    crate::card::seal::derive32(store_key, b"booth local socket v1")
}

/// The store key a passphrase gives for this folder (one Argon2id run), for the local
/// socket's client.
pub fn derive_store_key(
    dir: &std::path::Path,
    passphrase: &[u8],
) -> Result<Zeroizing<[u8; 32]>, StoreError> {
    let kf = super::KeyFile::read(dir)?;
    Ok(kf.derive_key(passphrase)?)
}

/// Now, as the peers' tables write times.
pub fn now_text() -> String {
    timestamp(&super::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(store: &mut Store, id: &str) -> String {
        let now = crate::store::now();
        let input = crate::member::MemberInput {
            name: "葛婷婷".into(),
            id_number: id.into(),
            phone: "13800138000".into(),
            employer: "某公司".into(),
            consent: true,
            ..Default::default()
        };
        let v = crate::member::validate(&input, now.date_naive()).unwrap();
        store
            .register(&v, &crate::config::Config::default().event(), &now)
            .unwrap()
            .member_no
            .grouped()
    }

    fn doc(id: &str) -> Document {
        let input = crate::member::MemberInput {
            name: "x".into(),
            id_number: id.into(),
            phone: "13800138000".into(),
            employer: "x".into(),
            consent: true,
            ..Default::default()
        };
        crate::member::validate(&input, crate::store::now().date_naive())
            .unwrap()
            .member
            .document
    }

    fn peer(n: u8, name: &str) -> PeerRow {
        let key = DeviceKey::from_secret(&[n; 32]);
        PeerRow {
            device_key: key.public().to_bytes(),
            key_id: key.key_id().into(),
            name: name.into(),
            transport_key: [n; 32],
            admission: "{}".into(),
            address: None,
            last_seen: None,
            forgotten: false,
        }
    }

    #[test]
    fn a_peers_person_is_found_and_a_person_on_both_is_a_conflict() {
        let (_d, mut store) = crate::store::test_store();
        let id = "11010519491231002X";
        // no group: no hashes, no hits
        register(&mut store, "110105198808080023");
        assert!(
            refresh_own_marks(store.peer_connection())
                .unwrap()
                .is_empty()
        );
        let conn = store.peer_connection();
        set_group_secret(conn, &[5; 32]).unwrap();
        let marks = refresh_own_marks(conn).unwrap();
        assert_eq!(marks.len(), 1);
        // nothing new the second time
        assert!(refresh_own_marks(conn).unwrap().is_empty());

        let b = peer(2, "lap-b");
        pin_peer(conn, &b, true).unwrap();
        let their = PersonMark {
            hash: data_encoding::HEXLOWER.encode(&group_person_hash(&[5; 32], &doc(id))),
            member_no: format!("{}-0042-7", b.key_id),
            at: "2026-11-24T10:42:00+08:00".into(),
            voided: false,
        };
        // a mark claiming another laptop's number is not taken
        let foreign = PersonMark {
            member_no: "000000-0001-0".into(),
            ..their.clone()
        };
        assert_eq!(take_marks(conn, &b.device_key, &[foreign]).unwrap(), 0);
        assert_eq!(
            take_marks(conn, &b.device_key, std::slice::from_ref(&their)).unwrap(),
            1
        );
        let hit = store.peer_person(&doc(id)).unwrap().unwrap();
        assert_eq!(hit.laptop, "lap-b");
        assert_eq!(hit.member_no, their.member_no);
        assert!(
            store
                .peer_person(&doc("320102199303030076"))
                .unwrap()
                .is_none()
        );

        // registered here too (made while apart): a conflict, until one is voided
        let mine = register(&mut store, id);
        refresh_own_marks(store.peer_connection()).unwrap();
        let c = store.peer_conflicts().unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(
            (c[0].member_no.as_str(), c[0].laptop.as_str()),
            (mine.as_str(), "lap-b")
        );
        let voided = PersonMark {
            voided: true,
            ..their
        };
        take_marks(store.peer_connection(), &b.device_key, &[voided]).unwrap();
        assert!(store.peer_conflicts().unwrap().is_empty());
        assert!(store.peer_person(&doc(id)).unwrap().is_none());

        // forgotten: its marks go, and another member's word does not bring it back
        assert_eq!(forget(store.peer_connection(), "lap-b").unwrap(), 1);
        assert!(!pin_peer(store.peer_connection(), &b, false).unwrap());
        assert!(peers(store.peer_connection()).unwrap()[0].forgotten);
    }

    #[test]
    fn segments_are_kept_once_and_dropped_at_the_origins_mark() {
        let (_d, mut store) = crate::store::test_store();
        let conn = store.peer_connection();
        let o = [9u8; 32];
        let now = now_text();
        for c in [1, 2, 3, 5] {
            assert!(keep_segment(conn, &o, c, &format!("s{c}"), 10, &now, &now).unwrap());
        }
        // the same counter again, with other bytes: not taken
        assert!(!keep_segment(conn, &o, 2, "other", 10, &now, &now).unwrap());
        // held without a gap up to 3
        assert_eq!(have(conn).unwrap(), vec![(o, 3)]);
        assert_eq!(held_records(conn, &[0; 32]).unwrap(), vec![(o, 40)]);
        assert!(take_mark(conn, &o, 3, "mark").unwrap());
        // an older mark does not go back
        assert!(!take_mark(conn, &o, 2, "old").unwrap());
        assert_eq!(acked(conn, &o).unwrap(), 3);
        assert_eq!(
            segments_after(conn, &o, 0, 10)
                .unwrap()
                .iter()
                .map(|s| s.counter)
                .collect::<Vec<_>>(),
            vec![5]
        );
        // at or below the mark: never kept again (a replay)
        assert!(!keep_segment(conn, &o, 1, "s1", 10, &now, &now).unwrap());
        assert!(keep_segment(conn, &o, 4, "s4", 10, &now, &now).unwrap());
        assert_eq!(have(conn).unwrap(), vec![(o, 5)]);
    }
}
