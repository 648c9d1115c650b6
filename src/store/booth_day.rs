//! The booth day as the terminal UI counts it: sign-ups made at the booth, apart from the
//! workers a roster brought in (`booth import`, marked `imported`), which the office already
//! keeps apart. Imports never count in the status bar's or the dashboard's sign-ups and
//! conversion, never feed today's employers, and are marked in the records list. Also the
//! void of a record the office already has (its number is revoked at the next upload), and the
//! last booth sign-up, whose card F7 shows again after a restart.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{Connection, OptionalExtension, params};

use super::stats::{DayFigures, StatusCounts};
use super::{Store, StoreError, timestamp};
use crate::card::MemberNo;
use crate::member::State;

/// The status bar's figures: the day's consultations and booth sign-ups (imports left out),
/// and every record still to upload (imports included: they go to the office too).
pub fn status_counts(conn: &Connection, day: NaiveDate) -> Result<StatusCounts, StoreError> {
    let mut c = super::stats::status_counts(conn, day)?;
    c.registered = conn
        .prepare_cached(
            "SELECT count(*) FROM members
             WHERE event_date = ?1 AND imported = 0 AND state != 'voided'",
        )?
        .query_row([day.to_string()], |r| r.get(0))?;
    Ok(c)
}

/// The day's figures as the dashboard shows them: sign-ups, conversion, the hours, the
/// employment forms and the needs are the booth's (imports left out); the queue and the last
/// upload are the laptop's. With them, how many of the day's records a roster brought.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BoothFigures {
    pub figures: DayFigures,
    /// Workers of the day registered from a roster (not voided): not booth sign-ups.
    pub imported: u64,
}

pub fn figures(conn: &Connection, day: NaiveDate) -> Result<BoothFigures, StoreError> {
    let mut f = super::stats::day_figures(conn, day)?;
    let d = day.to_string();
    // the day's counts by state, booth sign-ups only (the partial index of booth days)
    let mut states: BTreeMap<String, u64> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT state, count(*) FROM members WHERE event_date = ?1 AND imported = 0 GROUP BY 1",
    )?;
    for row in stmt.query_map([&d], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))? {
        let (state, n) = row?;
        states.insert(state, n);
    }
    let n = |s: State| states.get(s.code()).copied().unwrap_or(0);
    let c = &mut f.counts;
    let day_total = c.queued + c.uploaded + c.rejected;
    c.queued = n(State::Queued);
    c.uploaded = n(State::Uploaded);
    c.rejected = n(State::Rejected);
    c.voided = n(State::Voided);
    c.registered = c.queued + c.uploaded + c.rejected;
    let imported = day_total - c.registered;
    let asked = c.registered + c.consultations;
    c.conversion = if asked == 0 {
        0.0
    } else {
        c.registered as f64 / asked as f64
    };
    f.per_hour = [0; 24];
    let mut stmt = conn.prepare_cached(
        "SELECT CAST(substr(created_at, 12, 2) AS INTEGER), count(*) FROM members
         WHERE event_date = ?1 AND imported = 0 AND state != 'voided' GROUP BY 1",
    )?;
    for row in stmt.query_map([&d], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, u64>(1)?)))? {
        let (h, n) = row?;
        if let Some(slot) = usize::try_from(h).ok().and_then(|h| f.per_hour.get_mut(h)) {
            *slot = n;
        }
    }
    f.by_employment_form.clear();
    let mut needs: BTreeMap<String, u64> = super::days::consultation_needs(conn, day)?;
    let mut stmt = conn.prepare_cached(
        "SELECT coalesce(employment_form, ''), needs FROM members
         WHERE event_date = ?1 AND imported = 0 AND state != 'voided'",
    )?;
    for row in stmt.query_map([&d], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })? {
        let (form, codes) = row?;
        *f.by_employment_form.entry(form).or_default() += 1;
        for code in codes.split(',').filter(|s| !s.is_empty()) {
            *needs.entry(code.to_string()).or_default() += 1;
        }
    }
    let mut top: Vec<(String, u64)> = needs.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    f.top_needs = top;
    Ok(BoothFigures {
        figures: f,
        imported,
    })
}

/// Today's employers for the form's suggestions, most frequent first: booth sign-ups only (a
/// roster of 100,000 brought in today says nothing about the depot of the day), read from the
/// partial index of booth days.
pub fn todays_employers(
    conn: &Connection,
    day: NaiveDate,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT json_extract(record, '$.employer') AS e, count(*) AS n FROM members
         WHERE event_date = ?1 AND imported = 0 AND state != 'voided' AND record IS NOT NULL
         GROUP BY e ORDER BY n DESC, max(id) DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![day.to_string(), limit as i64], |r| {
        r.get::<_, String>(0)
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Which of these record ids (a page of the records list) a roster brought in.
pub fn imported_among(conn: &Connection, ids: &[i64]) -> Result<HashSet<i64>, StoreError> {
    let mut out = HashSet::new();
    let mut stmt = conn.prepare_cached("SELECT imported FROM members WHERE id = ?1")?;
    for &id in ids {
        let imported: Option<bool> = stmt.query_row([id], |r| r.get(0)).optional()?;
        if imported == Some(true) {
            out.insert(id);
        }
    }
    Ok(out)
}

/// The newest booth sign-up still valid (not voided, not purged), for F7 after a restart.
pub fn last_booth_record(conn: &Connection) -> Result<Option<MemberNo>, StoreError> {
    let no: Option<String> = conn
        .prepare_cached(
            "SELECT member_no FROM members
             WHERE imported = 0 AND state != 'voided' AND record IS NOT NULL
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(no.and_then(|n| n.parse().ok()))
}

impl Store {
    /// [`status_counts`] on the store's connection.
    pub fn booth_counts(&self, day: NaiveDate) -> Result<StatusCounts, StoreError> {
        status_counts(&self.conn, day)
    }

    /// [`todays_employers`] on the store's connection.
    pub fn todays_employers(
        &self,
        day: NaiveDate,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        todays_employers(&self.conn, day, limit)
    }

    /// [`last_booth_record`] on the store's connection.
    pub fn last_booth_record(&self) -> Result<Option<MemberNo>, StoreError> {
        last_booth_record(&self.conn)
    }

    /// Voids a record, also one the office has already (a record registered by mistake, found
    /// after the upload): the number goes to the office with the next upload, which revokes
    /// it, so its card stops verifying everywhere. Voided or purged records cannot be voided.
    pub fn void_record(
        &mut self,
        member_no: &MemberNo,
        reason: &str,
        now: &DateTime<FixedOffset>,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (state, has_record): (String, bool) = tx
            .prepare_cached("SELECT state, record IS NOT NULL FROM members WHERE member_no = ?1")?
            .query_row([member_no.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .ok_or(StoreError::NotFound)?;
        let state = State::parse(&state).ok_or_else(|| StoreError::Damaged("state".into()))?;
        if state == State::Voided || !has_record {
            return Err(StoreError::WrongState(state));
        }
        // void_reported_at cleared: the next upload tells the office (see sync)
        tx.execute(
            "UPDATE members SET state = 'voided', state_reason = ?2, person_hash = NULL,
                void_reported_at = NULL, updated_at = ?3 WHERE member_no = ?1",
            params![member_no.as_str(), reason, timestamp(now)],
        )?;
        tx.commit()?;
        super::slips::remove(self.dir(), [member_no.as_str()]);
        tracing::info!(%member_no, was = state.code(), "record voided");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::{MemberInput, validate};

    fn input(name: &str, id: &str, employer: &str) -> MemberInput {
        MemberInput {
            name: name.into(),
            id_number: id.into(),
            phone: "13800138000".into(),
            employer: employer.into(),
            consent: true,
            ..Default::default()
        }
    }

    /// A booth sign-up and two workers of a roster on the same day: the roster's count apart.
    #[test]
    fn imports_are_not_booth_sign_ups() {
        let (_d, mut store) = crate::store::test_store();
        let now = crate::store::now();
        let day = now.date_naive();
        let event = crate::config::Config::default().event();
        store.add_consultation(&now).unwrap();
        let v = validate(&input("葛婷婷", "11010519491231002X", "顺丰速运"), day).unwrap();
        store.register(&v, &event, &now).unwrap();
        let mut batch = store.import_batch().unwrap();
        for (name, id) in [
            ("王建国", "110105198001010016"),
            ("蒋琳", "110105198808080023"),
        ] {
            let v = validate(&input(name, id, "某某物流"), day).unwrap();
            batch.register(&v, &event, &now).unwrap();
        }
        batch.commit().unwrap();

        let c = store.booth_counts(day).unwrap();
        assert_eq!((c.consultations, c.registered, c.queued), (1, 1, 3));
        assert!((c.conversion() - 0.5).abs() < 1e-9);
        let f = figures(&store.conn, day).unwrap();
        assert_eq!(f.imported, 2);
        assert_eq!(f.figures.counts.registered, 1);
        assert!((f.figures.counts.conversion - 0.5).abs() < 1e-9);
        assert_eq!(f.figures.per_hour.iter().sum::<u64>(), 1);
        assert_eq!(f.figures.by_employment_form.values().sum::<u64>(), 1);
        assert_eq!(f.figures.all_days.queued, 3, "the queue is the laptop's");
        assert_eq!(
            store.todays_employers(day, 8).unwrap(),
            vec!["顺丰速运".to_string()]
        );
        let rows = store.search("", None, 10).unwrap();
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let imported = imported_among(&store.conn, &ids).unwrap();
        assert_eq!(imported.len(), 2);
        let last = store.last_booth_record().unwrap().unwrap();
        assert_eq!(
            store.get(&last).unwrap().unwrap().member.unwrap().name,
            "葛婷婷",
            "the last booth sign-up, not the roster's last row"
        );
    }

    /// An uploaded record voided: its number is among the voids the next upload reports.
    #[test]
    fn an_uploaded_record_can_be_voided_and_is_reported() {
        let (_d, mut store) = crate::store::test_store();
        let now = crate::store::now();
        let event = crate::config::Config::default().event();
        let v = validate(
            &input("葛婷婷", "11010519491231002X", "顺丰速运"),
            now.date_naive(),
        )
        .unwrap();
        let m = store.register(&v, &event, &now).unwrap();
        store
            .conn
            .execute(
                "UPDATE members SET state = 'uploaded' WHERE member_no = ?1",
                [m.member_no.as_str()],
            )
            .unwrap();
        assert!(
            store.void(&m.member_no, "x", &now).is_err(),
            "the plain void keeps to records not at the office"
        );
        store.void_record(&m.member_no, "登记错了", &now).unwrap();
        let got = store.get(&m.member_no).unwrap().unwrap();
        assert_eq!(got.state, State::Voided);
        let voids = crate::store::trust::unreported_voids(&store.conn, 10).unwrap();
        assert_eq!(voids, vec![m.member_no.as_str().to_string()]);
        assert!(matches!(
            store.void_record(&m.member_no, "again", &now),
            Err(StoreError::WrongState(State::Voided))
        ));
        // the person may be registered again
        store.register(&v, &event, &now).unwrap();
    }
}
