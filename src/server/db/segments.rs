//! Segments at the office (SPEC §12, docs/trust.md "Peers"): a laptop's records relayed by
//! another laptop or read from a backup file, stored as that laptop's own upload would be.
//!
//! - Which device a segment is of ([`OriginState`]): the key the office knows (bound once to
//!   a device, revoked or not), or, for a key it does not know yet, the device the segment
//!   names, not bound yet, whose binding key then checks the segment's binding proof.
//! - Every segment taken is noted by origin and counter with a digest of its bytes: the same
//!   segment again is `already_there`, other bytes under a counter taken are refused.
//! - Versions ([`Version`], [`rank`], kept in `batch::versions`, which a batch's transaction
//!   uses too): a write's place among its laptop's segments. Day
//!   summaries replace only those of a lower rank, so a segment older than the summaries
//!   kept never puts older counts back; a record that reached the office relayed is
//!   replaced by a newer version of it (edited while queued) from a later segment or from
//!   its laptop's own upload, instead of that upload being told `conflict`.
//! - A revoked key's valid range (`max_seq`) grows to the numbers relayed for it: cards it
//!   issued before it was lost are genuine, and were only late.

pub use super::batch::versions::{Version, rank};
use super::batch::versions::{days_fresh, lock_origin};
use super::batch::{bind, device_key, store_bound};
use super::conn::{Conn, args, first};
use super::office::bump;
use super::postgres::retrying;
use super::sql::sql;
use super::{BatchWrite, Db, DbError, Stored};
use crate::server::batch::Decision;

/// What the office knows of a segment's origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OriginState {
    /// The key is bound to `device` (by an upload, or a binding proof); `revoked`: the key's
    /// valid range is capped (`max_seq`).
    Known { device: String, revoked: bool },
    /// The office does not know the key; the device the segment names has none yet. Its
    /// binding key (if the office kept one) checks the segment's binding proof.
    Unbound {
        device: String,
        binding_key: Option<[u8; 32]>,
        revoked: bool,
    },
    /// The key cannot be this device's: a stable code (`key_id_taken`: another key has its
    /// id; `token_bound_to_other_key`: the device named has another key; `unbound_device`:
    /// no device named, or none of that name).
    Refused(&'static str),
}

/// What the checks before the transaction found; the transaction finds it again under its
/// locks and takes the segment only if it still holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    Known(String),
    /// The binding proof checked against this device's binding key.
    Unbound(String, [u8; 32]),
}

/// A segment to store: its body as its origin's upload.
#[derive(Clone, Debug)]
pub struct SegmentWrite {
    pub counter: u64,
    /// SHA-256 (hex) of the segment's text as received.
    pub digest: String,
    /// Who delivered it, for the office's records: a relay's device name, `backup`.
    pub via: String,
    /// The device the segment's header names (needed for a key not bound yet).
    pub named_device: Option<String>,
    pub expect: Expect,
    /// The body as the origin's upload: `device` the origin's, `version` the segment's.
    pub batch: BatchWrite,
}

/// What became of a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SegmentStored {
    /// This very segment was taken before.
    AlreadyThere,
    /// A stable code (the segment stays with whoever holds it).
    Refused(&'static str),
    /// Taken: one decision per candidate; its day summaries were older than those kept.
    Taken {
        decisions: Vec<Decision>,
        days_superseded: bool,
    },
}

impl Db {
    /// What the office knows of a segment's origin (read again, locked, when it is stored).
    pub async fn segment_origin(
        &self,
        key_id: String,
        public_key: String,
        named_device: Option<String>,
    ) -> Result<OriginState, DbError> {
        self.with(move |c| {
            Box::pin(
                async move { origin_state(c, &key_id, &public_key, named_device.as_deref()).await },
            )
        })
        .await
    }

    /// The digest of the segment taken under this origin and counter, if any.
    pub async fn segment_taken(
        &self,
        origin: String,
        counter: u64,
    ) -> Result<Option<String>, DbError> {
        self.with(move |c| Box::pin(async move { taken(c, &origin, counter).await }))
            .await
    }

    /// The public key (base64url) the device's token is bound to, if it is bound.
    pub async fn bound_key_of(&self, device: String) -> Result<Option<String>, DbError> {
        self.query(
            sql!(
                "SELECT k.public_key FROM devices d JOIN device_keys k ON k.key_id = d.key_id
                 WHERE d.name = $1"
            ),
            args![device],
            |r| r.text(0),
        )
        .await
        .map(first)
    }

    /// Stores a segment in one transaction: the same checks of its origin again under the
    /// transaction's locks (and the binding, for a key bound by its proof), then its body as
    /// the origin's upload, its day summaries only over older ones, a revoked key's range
    /// grown to its numbers, and the segment noted. A PostgreSQL deadlock is retried.
    pub async fn store_segment(&self, w: SegmentWrite) -> Result<SegmentStored, DbError> {
        let w = std::sync::Arc::new(w);
        retrying(|| {
            let w = std::sync::Arc::clone(&w);
            self.transaction(move |c| Box::pin(async move { store_segment(c, &w).await }))
        })
        .await
    }
}

async fn origin_state(
    c: &Conn<'_>,
    key_id: &str,
    public_key: &str,
    named_device: Option<&str>,
) -> Result<OriginState, DbError> {
    let known = device_key(c, key_id).await?;
    if let Some((key, device, revoked)) = known {
        return Ok(if key == public_key {
            OriginState::Known { device, revoked }
        } else {
            OriginState::Refused("key_id_taken")
        });
    }
    let Some(name) = named_device else {
        return Ok(OriginState::Refused("unbound_device"));
    };
    let device = c
        .query(
            sql!(
                "SELECT key_id, binding_key, revoked_at IS NOT NULL FROM devices
                 WHERE name = $1 FOR UPDATE"
            ),
            &args![name],
            |r| Ok((r.opt_text(0)?, r.opt_text(1)?, r.flag(2)?)),
        )
        .await
        .map(first)?;
    Ok(match device {
        None => OriginState::Refused("unbound_device"),
        Some((Some(_), _, _)) => OriginState::Refused("token_bound_to_other_key"),
        Some((None, binding_key, revoked)) => OriginState::Unbound {
            device: name.to_string(),
            binding_key: binding_key.and_then(|k| {
                data_encoding::BASE64URL_NOPAD
                    .decode(k.as_bytes())
                    .ok()?
                    .try_into()
                    .ok()
            }),
            revoked,
        },
    })
}

async fn taken(c: &Conn<'_>, origin: &str, counter: u64) -> Result<Option<String>, DbError> {
    c.query(
        sql!("SELECT digest FROM segments_taken WHERE origin = $1 AND counter = $2"),
        &args![origin, counter_int(counter)],
        |r| r.text(0),
    )
    .await
    .map(first)
}

fn counter_int(counter: u64) -> i64 {
    i64::try_from(counter).unwrap_or(i64::MAX)
}

async fn store_segment(c: &Conn<'_>, w: &SegmentWrite) -> Result<SegmentStored, DbError> {
    let b = &w.batch;
    let origin = &b.binding.public_key;
    // one laptop's segments one at a time, in every server
    lock_origin(c, origin).await?;
    match taken(c, origin, w.counter).await? {
        Some(d) if d == w.digest => return Ok(SegmentStored::AlreadyThere),
        // an origin never signs two segments with one counter
        Some(_) => return Ok(SegmentStored::Refused("segment_replayed")),
        None => {}
    }
    let state = origin_state(c, &b.binding.key_id, origin, w.named_device.as_deref()).await?;
    let mut changed = false;
    match (&w.expect, state) {
        (_, OriginState::Refused(code)) => return Ok(SegmentStored::Refused(code)),
        // bound meanwhile to this very key (its proof checked) is as good
        (Expect::Known(d) | Expect::Unbound(d, _), OriginState::Known { device, .. })
            if *d == device => {}
        (
            Expect::Unbound(d, checked),
            OriginState::Unbound {
                device,
                binding_key: Some(key),
                revoked,
            },
        ) if *d == device && *checked == key => {
            match bind(c, &device, &b.binding).await? {
                Ok(bound) => changed = bound,
                Err(refusal) => return Ok(SegmentStored::Refused(refusal.code())),
            }
            // a device revoked before its key was ever bound: the key is born revoked, its
            // range the numbers relayed for it
            if revoked {
                c.execute(
                    sql!(
                        "UPDATE device_keys SET max_seq = 0 WHERE key_id = $1 AND max_seq IS NULL"
                    ),
                    &args![&b.binding.key_id],
                )
                .await?;
            }
        }
        // what the checks before found no longer holds (a binding, a re-issue between):
        // refused now, the relay sends it again and the checks see the new state
        _ => return Ok(SegmentStored::Refused("unbound_device")),
    }
    let days_superseded = match &b.version {
        Some(v) if !b.days.is_empty() => !days_fresh(c, v).await?,
        _ => false,
    };
    let decisions = if days_superseded {
        let mut without = b.clone();
        without.days.clear();
        store_bound(c, &without, changed).await?
    } else {
        store_bound(c, b, changed).await?
    };
    let decisions = match decisions {
        Stored::Done(d) => d,
        Stored::Refused(r) => return Ok(SegmentStored::Refused(r.code())),
    };
    extend_range(c, b, &decisions).await?;
    c.execute(
        sql!(
            "INSERT INTO segments_taken (origin, counter, digest, device, via, records,
                received_at)
             VALUES ($1, $2, $3, $4, $5, $6, now())"
        ),
        &args![
            origin,
            counter_int(w.counter),
            &w.digest,
            &b.device,
            &w.via,
            b.candidates.len() as i64
        ],
    )
    .await?;
    c.execute(
        sql!(
            "UPDATE segment_origins SET last_counter = $2 WHERE origin = $1 AND last_counter < $2"
        ),
        &args![origin, counter_int(w.counter)],
    )
    .await?;
    Ok(SegmentStored::Taken {
        decisions,
        days_superseded,
    })
}

/// A revoked key's valid range (the bundle's `max_seq`) grows to the highest number the
/// office now holds of it from this segment; the bundle moves when it does.
async fn extend_range(c: &Conn<'_>, b: &BatchWrite, decisions: &[Decision]) -> Result<(), DbError> {
    let held = b
        .candidates
        .iter()
        .zip(decisions)
        .filter(|(_, d)| matches!(d, Decision::Accepted | Decision::AlreadyThere))
        .map(|(c, _)| c.member_no.clone());
    let top = i64::from(super::max_seq_of(held));
    let grown = c
        .execute(
            sql!(
                "UPDATE device_keys SET max_seq = $2
                 WHERE key_id = $1 AND max_seq IS NOT NULL AND max_seq < $2"
            ),
            &args![&b.binding.key_id, top],
        )
        .await?;
    if grown > 0 {
        bump(c).await?;
    }
    Ok(())
}
