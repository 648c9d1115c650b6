//! The day's figures: consultations, sign-ups, conversion, queue states, per hour, by
//! employment form, top needs, last upload. Read from columns kept after purge.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use super::{Store, StoreError, parse_timestamp};

/// Counts for one day or for all days.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Counts {
    /// People who asked but did not join (the tally key).
    pub consultations: u64,
    /// Sign-ups (records made), voided ones excluded.
    pub registered: u64,
    pub queued: u64,
    pub uploaded: u64,
    pub voided: u64,
    pub rejected: u64,
    /// registered / (registered + consultations); 0 when nobody came.
    pub conversion: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DayFigures {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub counts: Counts,
    /// Sign-ups per hour of the day (0–23).
    pub per_hour: [u64; 24],
    /// Sign-ups by employment-form code ("" for not asked).
    pub by_employment_form: BTreeMap<String, u64>,
    /// Needs codes, most asked first (sign-ups' and consultations').
    pub top_needs: Vec<(String, u64)>,
    /// All days together.
    pub all_days: Counts,
    pub last_upload: Option<LastUpload>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LastUpload {
    pub at: DateTime<FixedOffset>,
    pub sent: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub outcome: Option<String>,
}

impl Store {
    /// A consultation without needs (see [`Store::consult`]).
    pub fn add_consultation(&mut self, now: &DateTime<FixedOffset>) -> Result<u64, StoreError> {
        self.consult(&[], now)
    }

    /// Undo for a tally pressed by mistake: removes the day's latest consultation.
    pub fn remove_last_consultation(&mut self, day: NaiveDate) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "DELETE FROM consultations WHERE id = (SELECT max(id) FROM consultations WHERE event_date = ?1)",
            [day.to_string()],
        )?;
        Ok(n > 0)
    }

    pub fn day_figures(&self, day: NaiveDate) -> Result<DayFigures, StoreError> {
        day_figures(&self.conn, day)
    }

    pub fn status_counts(&self, day: NaiveDate) -> Result<StatusCounts, StoreError> {
        status_counts(&self.conn, day)
    }
}

/// The few figures the status bar shows, from indexed counts only (cheap at any size).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub consultations: u64,
    pub registered: u64,
    pub queued: u64,
}

impl StatusCounts {
    pub fn conversion(&self) -> f64 {
        let asked = self.registered + self.consultations;
        if asked == 0 {
            0.0
        } else {
            self.registered as f64 / asked as f64
        }
    }
}

pub fn status_counts(conn: &Connection, day: NaiveDate) -> Result<StatusCounts, StoreError> {
    let d = day.to_string();
    Ok(StatusCounts {
        consultations: consultations_on(conn, day)?,
        registered: conn
            .prepare_cached(
                "SELECT count(*) FROM members WHERE event_date = ?1 AND state != 'voided'",
            )?
            .query_row([&d], |r| r.get(0))?,
        queued: super::queue::queued_count(conn)?,
    })
}

/// The consultations counted on `day`.
pub fn consultations_on(conn: &Connection, day: NaiveDate) -> Result<u64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM consultations WHERE event_date = ?1")?
        .query_row([day.to_string()], |r| r.get(0))?)
}

fn counts(conn: &Connection, day: Option<NaiveDate>) -> Result<Counts, StoreError> {
    let d = day.map(|d| d.to_string());
    let mut c = Counts {
        consultations: conn.query_row(
            "SELECT count(*) FROM consultations WHERE ?1 IS NULL OR event_date = ?1",
            [&d],
            |r| r.get(0),
        )?,
        ..Counts::default()
    };
    let mut stmt = conn.prepare_cached(
        "SELECT state, count(*) FROM members WHERE ?1 IS NULL OR event_date = ?1 GROUP BY state",
    )?;
    let rows = stmt.query_map([&d], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?;
    for row in rows {
        let (state, n) = row?;
        match state.as_str() {
            "queued" => c.queued = n,
            "uploaded" => c.uploaded = n,
            "voided" => c.voided = n,
            "rejected" => c.rejected = n,
            _ => {}
        }
    }
    c.registered = c.queued + c.uploaded + c.rejected;
    let asked = c.registered + c.consultations;
    c.conversion = if asked == 0 {
        0.0
    } else {
        c.registered as f64 / asked as f64
    };
    Ok(c)
}

pub fn day_figures(conn: &Connection, day: NaiveDate) -> Result<DayFigures, StoreError> {
    let d = day.to_string();
    let mut f = DayFigures {
        date: day,
        counts: counts(conn, Some(day))?,
        all_days: counts(conn, None)?,
        ..DayFigures::default()
    };
    let mut stmt = conn.prepare_cached(
        "SELECT CAST(substr(created_at, 12, 2) AS INTEGER), count(*) FROM members
         WHERE event_date = ?1 AND state != 'voided' GROUP BY 1",
    )?;
    for row in stmt.query_map([&d], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, u64>(1)?)))? {
        let (h, n) = row?;
        if (0..24).contains(&h) {
            f.per_hour[h as usize] = n;
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT coalesce(employment_form, ''), count(*) FROM members
         WHERE event_date = ?1 AND state != 'voided' GROUP BY 1",
    )?;
    for row in stmt.query_map([&d], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))? {
        let (k, n) = row?;
        f.by_employment_form.insert(k, n);
    }
    let mut needs: BTreeMap<String, u64> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT needs FROM members WHERE event_date = ?1 AND state != 'voided' AND needs != ''",
    )?;
    for row in stmt.query_map([&d], |r| r.get::<_, String>(0))? {
        for code in row?.split(',').filter(|s| !s.is_empty()) {
            *needs.entry(code.to_string()).or_default() += 1;
        }
    }
    // what people who did not join asked for counts too
    for (code, n) in super::days::consultation_needs(conn, day)? {
        *needs.entry(code).or_default() += n;
    }
    let mut top: Vec<(String, u64)> = needs.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    f.top_needs = top;
    f.last_upload = conn
        .query_row(
            "SELECT coalesce(finished_at, started_at), sent, accepted, rejected, outcome
             FROM uploads ORDER BY id DESC LIMIT 1",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, u64>(1)?,
                    r.get::<_, u64>(2)?,
                    r.get::<_, u64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            },
        )
        .optional()?
        .and_then(|(at, sent, accepted, rejected, outcome)| {
            Some(LastUpload {
                at: parse_timestamp(&at)?,
                sent,
                accepted,
                rejected,
                outcome,
            })
        });
    Ok(f)
}

#[cfg(test)]
mod tests {
    use crate::member::{MemberInput, validate};

    #[test]
    fn figures_count_states_and_conversion() {
        let (_d, mut store) = crate::store::test_store();
        let now = crate::store::now();
        store.add_consultation(&now).unwrap();
        store.add_consultation(&now).unwrap();
        store.add_consultation(&now).unwrap();
        assert!(store.remove_last_consultation(now.date_naive()).unwrap());
        let input = MemberInput {
            name: "葛婷婷".into(),
            id_number: "11010519491231002X".into(),
            phone: "13800138000".into(),
            employer: "某公司".into(),
            consent: true,
            employment_form: "courier".into(),
            needs: "legal_aid,skills".into(),
            ..Default::default()
        };
        let v = validate(&input, now.date_naive()).unwrap();
        let event = crate::config::Config::default().event();
        store.register(&v, &event, &now).unwrap();
        let f = store.day_figures(now.date_naive()).unwrap();
        assert_eq!(f.counts.consultations, 2);
        assert_eq!(f.counts.registered, 1);
        assert_eq!(f.counts.queued, 1);
        assert!((f.counts.conversion - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(f.per_hour.iter().sum::<u64>(), 1);
        assert_eq!(f.by_employment_form.get("courier"), Some(&1));
        assert_eq!(f.top_needs.len(), 2);
        assert_eq!(f.all_days, f.counts);
    }
}
