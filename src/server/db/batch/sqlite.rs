//! The SQLite steps of storing a batch: one statement per row, each prepared once (on a local
//! file a row costs microseconds).

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::Held;
use crate::server::batch::{Candidate, Decision};
use crate::server::db::figures::{self, Increments};
use crate::server::db::{BatchWrite, DbError, REVOKED_BY_LAPTOP, REVOKED_DUPLICATE};

/// Inserts the first occurrences (`first`, indexes into the batch); whether each went in.
pub(crate) fn insert_members(
    tx: &Connection,
    b: &BatchWrite,
    first: &[usize],
    now: &str,
) -> Result<Vec<bool>, DbError> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO members (uuid, member_no, person_key, content_hash, record, device,
            batch_id, event_date, received_at, s_name, s_phone_tail, s_employer,
            s_union, s_place, s_form, version_rank)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT DO NOTHING",
    )?;
    let rank = b.version.as_ref().map(|v| v.rank);
    let mut inserted = Vec::with_capacity(first.len());
    for &i in first {
        let c = &b.candidates[i];
        let k = &c.keys;
        let n = insert.execute(params![
            c.uuid,
            c.member_no,
            c.person_key,
            c.content_hash,
            c.record,
            b.device,
            b.batch_id,
            c.event_date.to_string(),
            now,
            k.name,
            k.phone_tail,
            k.employer,
            k.union,
            k.place,
            k.form,
            rank,
        ])?;
        inserted.push(n == 1);
    }
    Ok(inserted)
}

/// What holds the UUIDs and persons of the records that did not go in, a look-up each.
pub(crate) fn look_up(tx: &Connection, missed: &[&Candidate]) -> Result<Held, DbError> {
    let mut by_uuid = HashMap::new();
    let mut by_person = HashMap::new();
    let mut q_uuid = tx.prepare_cached("SELECT content_hash FROM members WHERE uuid = ?1")?;
    let mut q_person = tx.prepare_cached("SELECT member_no FROM members WHERE person_key = ?1")?;
    for c in missed {
        if let Some(h) = q_uuid
            .query_row([&c.uuid], |r| r.get::<_, String>(0))
            .optional()?
        {
            by_uuid.insert(c.uuid.clone(), h);
        }
        if let Some(no) = q_person
            .query_row([&c.person_key], |r| r.get::<_, String>(0))
            .optional()?
        {
            by_person.insert(c.person_key.clone(), no);
        }
    }
    Ok(Held { by_uuid, by_person })
}

/// Revokes the numbers of records refused as the same person and the laptop's voids, and
/// restores those accepted; whether the bundle changed.
pub(crate) fn revoke(
    tx: &Connection,
    b: &BatchWrite,
    decisions: &[Decision],
    now: &str,
) -> Result<bool, DbError> {
    let mut revoke = tx.prepare_cached(
        "INSERT INTO revoked (member_no, reason, source, device, revoked_at)
         VALUES (?1, '', ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    )?;
    let mut restore =
        tx.prepare_cached("DELETE FROM revoked WHERE member_no = ?1 AND source = ?2")?;
    let mut changed = false;
    for (c, d) in b.candidates.iter().zip(decisions) {
        changed |= match d {
            Decision::DuplicatePerson(_) => {
                revoke.execute(params![c.member_no, REVOKED_DUPLICATE, b.device, now])?
            }
            Decision::Accepted => restore.execute(params![c.member_no, REVOKED_DUPLICATE])?,
            _ => 0,
        } > 0;
    }
    // the laptop's summary now leaves these out of its sign-ups itself
    let mut handed_back = tx.prepare_cached("DELETE FROM office_voids WHERE member_no = ?1")?;
    for no in &b.voids {
        changed |= revoke.execute(params![no, REVOKED_BY_LAPTOP, b.device, now])? > 0;
        handed_back.execute([no])?;
    }
    Ok(changed)
}

/// Adds what one batch's accepted members count to the figures' tables.
pub(crate) fn add_increments(
    tx: &Connection,
    device: &str,
    inc: &Increments,
) -> Result<(), DbError> {
    if inc.is_empty() {
        return Ok(());
    }
    let mut days = tx.prepare_cached(
        "INSERT INTO member_days (event_date, union_name, place, device, imported, n)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (event_date, union_name, place, device, imported)
         DO UPDATE SET n = n + excluded.n",
    )?;
    for (((date, union, place), imported), n) in &inc.days {
        days.execute(params![date, union, place, device, imported, n])?;
    }
    for (table, column, map) in [
        ("member_forms", "form", &inc.forms),
        ("member_needs", "need", &inc.needs),
    ] {
        let mut stmt = tx.prepare_cached(&format!(
            "INSERT INTO {table} (event_date, union_name, place, device, {column}, n)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (event_date, union_name, place, device, {column})
             DO UPDATE SET n = n + excluded.n"
        ))?;
        for (((date, union, place), code), n) in map {
            stmt.execute(params![date, union, place, device, code, n])?;
        }
    }
    let mut ent_days = tx.prepare_cached(
        "INSERT INTO enterprise_days (enterprise, event_date, union_name, place, device)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
    )?;
    let mut ents = tx.prepare_cached(
        "INSERT INTO enterprises (enterprise) VALUES (?1) ON CONFLICT DO NOTHING",
    )?;
    for (enterprise, (date, union, place)) in inc.enterprises.keys() {
        ent_days.execute(params![enterprise, date, union, place, device])?;
        ents.execute([enterprise])?;
    }
    let mut day_items = tx.prepare_cached(
        "INSERT INTO figure_days (event_date, item, n) VALUES (?1, ?2, ?3)
         ON CONFLICT (event_date, item) DO UPDATE SET n = n + excluded.n",
    )?;
    for ((date, item), n) in inc.day_items() {
        day_items.execute(params![date, item, n])?;
    }
    add_names(tx, &inc.names(device))
}

/// Each day summary replaces the office's copy of it.
pub(crate) fn store_days(
    tx: &Connection,
    device: &str,
    days: &[crate::server::batch::DayRow],
    now: &str,
) -> Result<(), DbError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO booth_days (device, event_date, union_name, place, operator, consultations,
            needs, registrations, voids, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (device, event_date, union_name, place) DO UPDATE SET
            operator = excluded.operator, consultations = excluded.consultations,
            needs = excluded.needs, registrations = excluded.registrations,
            voids = excluded.voids, received_at = excluded.received_at",
    )?;
    for d in days {
        stmt.execute(params![
            device,
            d.date.to_string(),
            d.union,
            d.place,
            d.operator,
            d.consultations as i64,
            figures::needs_json(d),
            d.registrations as i64,
            d.voids as i64,
            now
        ])?;
    }
    // the summaries' needs as rows, replaced with them
    let mut clear = tx.prepare_cached(
        "DELETE FROM booth_day_needs
         WHERE device = ?1 AND event_date = ?2 AND union_name = ?3 AND place = ?4",
    )?;
    let mut need = tx.prepare_cached(
        "INSERT INTO booth_day_needs (device, event_date, union_name, place, need, n)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut share = tx.prepare_cached(&format!(
        "{} WHERE device = ?1 AND event_date = ?2 AND place = ?3",
        figures::MEETING_SHARE_UPDATE
    ))?;
    for d in days {
        let date = d.date.to_string();
        clear.execute(params![device, date, d.union, d.place])?;
        for (code, n) in d.needs.iter().filter(|(_, n)| **n > 0) {
            need.execute(params![device, date, d.union, d.place, code, *n as i64])?;
        }
        share.execute(params![device, date, d.place])?;
    }
    let [clear_totals, sum_totals] = figures::booth_day_totals("event_date = ?1");
    let mut dates: Vec<String> = days.iter().map(|d| d.date.to_string()).collect();
    dates.sort();
    dates.dedup();
    for date in &dates {
        tx.prepare_cached(&clear_totals)?.execute([date])?;
        tx.prepare_cached(&sum_totals)?.execute([date])?;
    }
    add_names(tx, &figures::names_of_days(device, days))
}

/// Adds the names a batch used to the filters' pick lists.
fn add_names(tx: &Connection, names: &[(&str, &str)]) -> Result<(), DbError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO figure_names (kind, name) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?;
    for (kind, name) in names {
        stmt.execute([kind, name])?;
    }
    Ok(())
}
