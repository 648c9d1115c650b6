//! The PostgreSQL steps of storing a batch: each table's rows in one `unnest` statement, the
//! look-ups with `= ANY($1)`, and the per-day advisory locks around the day totals.

use std::collections::{HashMap, HashSet};

use super::Held;
use crate::server::batch::{Candidate, Decision};
use crate::server::db::conn::PgConn;
use crate::server::db::figures::{self, Increments};
use crate::server::db::{BatchWrite, DbError, REVOKED_BY_LAPTOP, REVOKED_DUPLICATE};

/// The first key of the per-day locks around the day totals (`store_days`).
const DAY_TOTALS_LOCK: i32 = 0x6461_7973; // "days"

/// Inserts the first occurrences (`first`, indexes into the batch) in one statement; whether
/// each went in.
pub(crate) async fn insert_members(
    tx: &PgConn<'_>,
    b: &BatchWrite,
    first: &[usize],
) -> Result<Vec<bool>, DbError> {
    let (device, batch_id, candidates) = (&b.device, &b.batch_id, &b.candidates);
    let col = |f: fn(&Candidate) -> String| -> Vec<String> {
        first.iter().map(|&i| f(&candidates[i])).collect()
    };
    let uuids = col(|c| c.uuid.clone());
    let nos = col(|c| c.member_no.clone());
    let persons = col(|c| c.person_key.clone());
    let hashes = col(|c| c.content_hash.clone());
    let records = col(|c| c.record.clone());
    let dates = col(|c| c.event_date.to_string());
    let names = col(|c| c.keys.name.clone());
    let tails = col(|c| c.keys.phone_tail.clone());
    let employers = col(|c| c.keys.employer.clone());
    let unions = col(|c| c.keys.union.clone());
    let places = col(|c| c.keys.place.clone());
    let rank: Option<i64> = b.version.as_ref().map(|v| v.rank);
    let forms: Vec<Option<String>> = first
        .iter()
        .map(|&i| candidates[i].keys.form.clone())
        .collect();
    let inserted: HashSet<String> = tx
        .query(
            "INSERT INTO members (uuid, member_no, person_key, content_hash, record, device,
                batch_id, event_date, s_name, s_phone_tail, s_employer, s_union, s_place,
                s_form, version_rank)
             SELECT u, n, p, h, r, $7, $8, d::date, sn, sp, se, su, spl, sf, $15::bigint
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
                AS t(u, n, p, h, r, d, sn, sp, se, su, spl, sf)
             ON CONFLICT DO NOTHING
             RETURNING uuid",
            &[
                &uuids, &nos, &persons, &hashes, &records, &dates, &device, &batch_id, &names,
                &tails, &employers, &unions, &places, &forms, &rank,
            ],
        )
        .await?
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    Ok(uuids.iter().map(|u| inserted.contains(u)).collect())
}

/// What holds the UUIDs and persons of the records that did not go in, a statement each.
pub(crate) async fn look_up(tx: &PgConn<'_>, missed: &[&Candidate]) -> Result<Held, DbError> {
    let uuids: Vec<&str> = missed.iter().map(|c| c.uuid.as_str()).collect();
    let persons: Vec<&str> = missed.iter().map(|c| c.person_key.as_str()).collect();
    let pairs = |rows: Vec<tokio_postgres::Row>| -> HashMap<String, String> {
        rows.into_iter().map(|r| (r.get(0), r.get(1))).collect()
    };
    let by_uuid = tx
        .query(
            "SELECT uuid, content_hash FROM members WHERE uuid = ANY($1)",
            &[&uuids],
        )
        .await?;
    let by_person = tx
        .query(
            "SELECT person_key, member_no FROM members WHERE person_key = ANY($1)",
            &[&persons],
        )
        .await?;
    Ok(Held {
        by_uuid: pairs(by_uuid),
        by_person: pairs(by_person),
    })
}

/// Revokes the numbers of records refused as the same person and the laptop's voids, and
/// restores those accepted, a statement each; whether the bundle changed.
pub(crate) async fn revoke(
    tx: &PgConn<'_>,
    b: &BatchWrite,
    decisions: &[Decision],
) -> Result<bool, DbError> {
    let mut revoke: Vec<String> = b.voids.clone();
    let mut sources: Vec<String> = vec![REVOKED_BY_LAPTOP.to_string(); b.voids.len()];
    let mut restore: Vec<String> = Vec::new();
    for (c, d) in b.candidates.iter().zip(decisions) {
        match d {
            Decision::DuplicatePerson(_) => {
                revoke.push(c.member_no.clone());
                sources.push(REVOKED_DUPLICATE.to_string());
            }
            Decision::Accepted => restore.push(c.member_no.clone()),
            _ => {}
        }
    }
    let mut changed = false;
    if !b.voids.is_empty() {
        // the laptop's summary now leaves these out of its sign-ups itself
        tx.execute(
            "DELETE FROM office_voids WHERE member_no = ANY($1)",
            &[&b.voids],
        )
        .await?;
    }
    if !revoke.is_empty() {
        changed |= tx
            .execute(
                "INSERT INTO revoked (member_no, reason, source, device)
                 SELECT n, '', s, $3 FROM unnest($1::text[], $2::text[]) AS t(n, s)
                 ON CONFLICT DO NOTHING",
                &[&revoke, &sources, &b.device],
            )
            .await?
            > 0;
    }
    if !restore.is_empty() {
        changed |= tx
            .execute(
                "DELETE FROM revoked WHERE member_no = ANY($1) AND source = $2",
                &[&restore, &REVOKED_DUPLICATE],
            )
            .await?
            > 0;
    }
    Ok(changed)
}

/// Adds what one batch's accepted members count to the figures' tables: one statement per
/// table, keys in sorted order (two batches of one place and day wait, not deadlock).
pub(crate) async fn add_increments(
    tx: &PgConn<'_>,
    device: &str,
    inc: &Increments,
) -> Result<(), DbError> {
    if inc.is_empty() {
        return Ok(());
    }
    let (mut d, mut u, mut p, mut imp, mut n) = (vec![], vec![], vec![], vec![], vec![]);
    for (((date, union, place), imported), count) in &inc.days {
        d.push(date.clone());
        u.push(union.clone());
        p.push(place.clone());
        imp.push(*imported);
        n.push(*count);
    }
    tx.execute(
        "INSERT INTO member_days (event_date, union_name, place, device, imported, n)
         SELECT d::date, u, p, $6, i, n
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::bigint[])
            AS t(d, u, p, i, n)
         ON CONFLICT (event_date, union_name, place, device, imported)
         DO UPDATE SET n = member_days.n + excluded.n",
        &[&d, &u, &p, &imp, &n, &device],
    )
    .await?;
    for (table, column, map) in [
        ("member_forms", "form", &inc.forms),
        ("member_needs", "need", &inc.needs),
    ] {
        if map.is_empty() {
            continue;
        }
        let (mut d, mut u, mut p, mut c, mut n) = (vec![], vec![], vec![], vec![], vec![]);
        for (((date, union, place), code), count) in map {
            d.push(date.clone());
            u.push(union.clone());
            p.push(place.clone());
            c.push(code.clone());
            n.push(*count);
        }
        tx.execute(
            &format!(
                "INSERT INTO {table} (event_date, union_name, place, device, {column}, n)
                 SELECT d::date, u, p, $6, c, n
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
                    AS t(d, u, p, c, n)
                 ON CONFLICT (event_date, union_name, place, device, {column})
                 DO UPDATE SET n = {table}.n + excluded.n"
            ),
            &[&d, &u, &p, &c, &n, &device],
        )
        .await?;
    }
    let (mut e, mut d, mut u, mut p) = (vec![], vec![], vec![], vec![]);
    for (enterprise, (date, union, place)) in inc.enterprises.keys() {
        e.push(enterprise.clone());
        d.push(date.clone());
        u.push(union.clone());
        p.push(place.clone());
    }
    tx.execute(
        "INSERT INTO enterprise_days (enterprise, event_date, union_name, place, device)
         SELECT e, d::date, u, p, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
            AS t(e, d, u, p)
         ON CONFLICT DO NOTHING",
        &[&e, &d, &u, &p, &device],
    )
    .await?;
    let mut distinct = e;
    distinct.sort();
    distinct.dedup();
    tx.execute(
        "INSERT INTO enterprises (enterprise) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
        &[&distinct],
    )
    .await?;
    let (mut d, mut item, mut n) = (vec![], vec![], vec![]);
    for ((date, it), count) in inc.day_items() {
        d.push(date);
        item.push(it);
        n.push(count);
    }
    tx.execute(
        "INSERT INTO figure_days (event_date, item, n)
         SELECT d::date, i, n FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(d, i, n)
         ON CONFLICT (event_date, item) DO UPDATE SET n = figure_days.n + excluded.n",
        &[&d, &item, &n],
    )
    .await?;
    add_names(tx, &inc.names(device)).await
}

/// Each day summary replaces the office's copy of it.
pub(crate) async fn store_days(
    tx: &PgConn<'_>,
    device: &str,
    days: &[crate::server::batch::DayRow],
) -> Result<(), DbError> {
    if days.is_empty() {
        return Ok(());
    }
    let mut rows: Vec<&crate::server::batch::DayRow> = days.iter().collect();
    rows.sort_by(|a, b| (a.date, &a.union, &a.place).cmp(&(b.date, &b.union, &b.place)));
    let col = |f: fn(&crate::server::batch::DayRow) -> String| -> Vec<String> {
        rows.iter().map(|d| f(d)).collect()
    };
    let num = |f: fn(&crate::server::batch::DayRow) -> u64| -> Vec<i64> {
        rows.iter().map(|d| f(d) as i64).collect()
    };
    tx.execute(
        "INSERT INTO booth_days (device, event_date, union_name, place, operator, consultations,
            needs, registrations, voids)
         SELECT $1, d::date, u, p, o, c, n, r, v
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[],
            $8::bigint[], $9::bigint[]) AS t(d, u, p, o, c, n, r, v)
         ON CONFLICT (device, event_date, union_name, place) DO UPDATE SET
            operator = excluded.operator, consultations = excluded.consultations,
            needs = excluded.needs, registrations = excluded.registrations,
            voids = excluded.voids, received_at = now()",
        &[
            &device,
            &col(|d| d.date.to_string()),
            &col(|d| d.union.clone()),
            &col(|d| d.place.clone()),
            &col(|d| d.operator.clone()),
            &num(|d| d.consultations),
            &col(figures::needs_json),
            &num(|d| d.registrations),
            &num(|d| d.voids),
        ],
    )
    .await?;
    // the summaries' needs as rows, replaced with them
    let (dates, unions, places) = (
        col(|d| d.date.to_string()),
        col(|d| d.union.clone()),
        col(|d| d.place.clone()),
    );
    tx.execute(
        "DELETE FROM booth_day_needs b USING unnest($2::text[], $3::text[], $4::text[])
            AS t(d, u, p)
         WHERE b.device = $1 AND b.event_date = t.d::date AND b.union_name = t.u
            AND b.place = t.p",
        &[&device, &dates, &unions, &places],
    )
    .await?;
    let (mut nd, mut nu, mut np, mut code, mut count) = (vec![], vec![], vec![], vec![], vec![]);
    for d in &rows {
        for (need, n) in d.needs.iter().filter(|(_, n)| **n > 0) {
            nd.push(d.date.to_string());
            nu.push(d.union.clone());
            np.push(d.place.clone());
            code.push(need.clone());
            count.push(*n as i64);
        }
    }
    tx.execute(
        "INSERT INTO booth_day_needs (device, event_date, union_name, place, need, n)
         SELECT $1, d::date, u, p, c, n
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
            AS t(d, u, p, c, n)",
        &[&device, &nd, &nu, &np, &code, &count],
    )
    .await?;
    tx.execute(
        &format!(
            "{} WHERE device = $1 AND (event_date, place) IN
                (SELECT d::date, p FROM unnest($2::text[], $3::text[]) AS t(d, p))",
            figures::MEETING_SHARE_UPDATE
        ),
        &[&device, &dates, &places],
    )
    .await?;
    // The day totals are summed again from every laptop's summaries of the day: one upload
    // at a time per day (in date order, so two uploads never wait on each other crosswise),
    // each summing what the ones before it committed.
    let mut days_sent = dates.clone();
    days_sent.sort();
    days_sent.dedup();
    for date in &days_sent {
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&DAY_TOTALS_LOCK, date],
        )
        .await?;
    }
    for sql in figures::booth_day_totals("event_date = ANY($1::text[]::date[])") {
        tx.execute(&sql, &[&days_sent]).await?;
    }
    add_names(tx, &figures::names_of_days(device, days)).await
}

/// Adds the names a batch used to the filters' pick lists.
async fn add_names(tx: &PgConn<'_>, names: &[(&str, &str)]) -> Result<(), DbError> {
    let (kinds, names): (Vec<&str>, Vec<&str>) = names.iter().copied().unzip();
    tx.execute(
        "INSERT INTO figure_names (kind, name) SELECT * FROM unnest($1::text[], $2::text[])
         ON CONFLICT DO NOTHING",
        &[&kinds, &names],
    )
    .await?;
    Ok(())
}
