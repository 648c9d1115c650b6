//! Versions of a laptop's writes (SPEC §12, docs/trust.md "Peers"): where an upload or a
//! relayed segment stands among that laptop's segments ([`Version`], [`rank`]), and what that
//! decides inside a batch's transaction — its day summaries replace only those of a lower
//! rank ([`days_fresh`]), and its records replace older versions of theirs that came relayed
//! ([`newer_versions`]). `db::segments` stores the segments themselves.

use super::super::conn::{Conn, args, first};
use super::super::figures::Increments;
use super::super::sql::sql;
use super::super::{BatchWrite, DbError};
use crate::server::batch::{Decision, Facets};

/// A write's rank among its laptop's segments: 2 × counter for the segment of that counter,
/// 2 × counter + 1 for a direct upload that read its day summaries when the laptop's last
/// segment was that counter (they are at least as new as that segment's, and may be older
/// than the next one's).
pub fn rank(counter: u64, direct: bool) -> i64 {
    let counter = i64::try_from(counter)
        .unwrap_or(i64::MAX / 4)
        .min(i64::MAX / 4);
    2 * counter + i64::from(direct)
}

/// Where a write stands among its laptop's segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// The laptop's public key (base64url).
    pub origin: String,
    pub rank: i64,
}

impl Version {
    pub fn segment(origin: String, counter: u64) -> Version {
        Version {
            origin,
            rank: rank(counter, false),
        }
    }

    pub fn upload(origin: String, segment_counter: u64) -> Version {
        Version {
            origin,
            rank: rank(segment_counter, true),
        }
    }
}

/// The origin's row, made if missing and locked until the transaction ends: every write of
/// one laptop's segments and day summaries goes through it one at a time.
pub(crate) async fn lock_origin(c: &Conn<'_>, origin: &str) -> Result<i64, DbError> {
    c.execute(
        sql!(
            "INSERT INTO segment_origins (origin, last_counter, days_rank) VALUES ($1, 0, -1)
             ON CONFLICT DO NOTHING"
        ),
        &args![origin],
    )
    .await?;
    let kept = c
        .query(
            sql!("SELECT days_rank FROM segment_origins WHERE origin = $1 FOR UPDATE"),
            &args![origin],
            |r| r.int(0),
        )
        .await
        .map(first)?;
    Ok(kept.unwrap_or(-1))
}

/// Whether a write of this version may replace the laptop's day summaries (none kept of a
/// higher rank); if so, its rank is kept from now on. Equal ranks pass: a direct upload
/// repeated with no segment made since is newer, and the same segment twice is stopped
/// before (`already_there`).
pub(crate) async fn days_fresh(c: &Conn<'_>, v: &Version) -> Result<bool, DbError> {
    let kept = lock_origin(c, &v.origin).await?;
    if v.rank < kept {
        return Ok(false);
    }
    c.execute(
        sql!("UPDATE segment_origins SET days_rank = $2 WHERE origin = $1"),
        &args![&v.origin, v.rank],
    )
    .await?;
    Ok(true)
}

/// Records answered `conflict` (the office has their UUID with another content) that are
/// versions of one record of this laptop: a stored version of a lower rank — it came relayed,
/// and this one is newer — is replaced (the figures follow: the old version's counts are
/// taken back, the new one's added as an accepted record's); a stored version of a higher
/// rank is the newer one, and this one is `already_there` in effect. A version stored without
/// a rank (a laptop outside any group), corrected or erased at the office, or whose new
/// document is another member's, stays as it is.
pub(crate) async fn newer_versions(
    c: &Conn<'_>,
    b: &BatchWrite,
    v: &Version,
    decisions: &mut [Decision],
) -> Result<(), DbError> {
    for (i, cand) in b.candidates.iter().enumerate() {
        if decisions[i] != Decision::Conflict {
            continue;
        }
        let stored = c
            .query(
                sql!(
                    "SELECT device, member_no, version_rank, record FROM members
                     WHERE uuid = $1 AND erased_at IS NULL AND corrected_at IS NULL"
                ),
                &args![&cand.uuid],
                |r| Ok((r.text(0)?, r.text(1)?, r.opt_int(2)?, r.text(3)?)),
            )
            .await
            .map(first)?;
        let Some((device, member_no, Some(kept), old)) = stored else {
            continue;
        };
        if device != b.device || member_no != cand.member_no || kept == v.rank {
            continue;
        }
        if kept > v.rank {
            decisions[i] = Decision::AlreadyThere;
            continue;
        }
        let person_taken = c
            .query(
                sql!("SELECT 1 FROM members WHERE person_key = $1 AND uuid <> $2"),
                &args![&cand.person_key, &cand.uuid],
                |_| Ok(()),
            )
            .await?;
        if !person_taken.is_empty() {
            continue;
        }
        let k = &cand.keys;
        c.execute(
            sql!(
                "UPDATE members SET person_key = $2, content_hash = $3, record = $4,
                    event_date = $5::text::date, s_name = $6, s_phone_tail = $7,
                    s_employer = $8, s_union = $9, s_place = $10, s_form = $11,
                    version_rank = $12
                 WHERE uuid = $1"
            ),
            &args![
                &cand.uuid,
                &cand.person_key,
                &cand.content_hash,
                &cand.record,
                cand.event_date.to_string(),
                &k.name,
                &k.phone_tail,
                &k.employer,
                &k.union,
                &k.place,
                k.form.clone(),
                v.rank
            ],
        )
        .await?;
        // the old version's counts go; the new one counts as accepted (`Increments::of`)
        if let Ok(w) = serde_json::from_str::<crate::protocol::WireRecord>(&old) {
            let mut back = Increments::default();
            back.add(w.event_date, &Facets::of(&w));
            // taken back: the counts, not the enterprise seen (a set, as its figures are)
            back.days.values_mut().for_each(|n| *n = -*n);
            back.forms.values_mut().for_each(|n| *n = -*n);
            back.needs.values_mut().for_each(|n| *n = -*n);
            back.enterprises.clear();
            add_increments(c, &b.device, &back).await?;
        }
        decisions[i] = Decision::Accepted;
    }
    Ok(())
}

async fn add_increments(c: &Conn<'_>, device: &str, inc: &Increments) -> Result<(), DbError> {
    match c {
        Conn::Sqlite(s) => super::sqlite::add_increments(&s.lock(), device, inc),
        Conn::Pg(p) => super::postgres::add_increments(p, device, inc).await,
    }
}
