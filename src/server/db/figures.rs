//! The campaign's figures at the office (SPEC §8), served from tables kept up to date at
//! ingest rather than counted over the members table per request:
//!
//! - `booth_days`: each laptop's latest summary per booth day, union and place (replaced by
//!   every upload): consultations with their needs, booth sign-ups, voids;
//! - `member_days`, `member_forms`, `member_needs`: the members the office holds, counted
//!   per day, union, place and device (and employment form, need) when they are inserted;
//! - `enterprise_days`, `enterprises`: the distinct employers, per day, union, place and
//!   device, and overall.
//!
//! A figures request reads a few thousand aggregate rows, whatever the number of members.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{Db, DbError, blocking};
use crate::server::ingest::{Candidate, DayRow, Decision};

/// Which part of the campaign a figure covers; `None` = everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FigureFilter {
    /// Inclusive.
    pub from: Option<NaiveDate>,
    /// Inclusive.
    pub to: Option<NaiveDate>,
    pub union: Option<String>,
    pub place: Option<String>,
    pub device: Option<String>,
}

impl FigureFilter {
    fn is_everything(&self) -> bool {
        *self == FigureFilter::default()
    }
}

/// The dashboard's pick lists: (unions, places, devices), each sorted.
pub type Dimensions = (Vec<String>, Vec<String>, Vec<String>);

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub meetings: u64,
    pub consultations: u64,
    pub registered: u64,
    pub members: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub meetings: u64,
    pub consultations: u64,
    pub registered: u64,
    pub members: u64,
    pub enterprises: u64,
    /// Ascending.
    pub by_day: Vec<(NaiveDate, Counts)>,
    /// Most registered first.
    pub by_place: Vec<(String, Counts)>,
    pub by_union: Vec<(String, Counts)>,
    pub by_device: Vec<(String, Counts)>,
    /// Need code → count (consultations' and members'), most first.
    pub needs: Vec<(String, u64)>,
    /// Employment-form code → members, most first.
    pub employment_forms: Vec<(String, u64)>,
}

impl Db {
    /// The figures for the part of the campaign `filter` names.
    pub async fn figures(&self, filter: &FigureFilter) -> Result<Figures, DbError> {
        let raw = match self {
            Db::Sqlite(db) => {
                let (db, filter) = (db.clone(), filter.clone());
                blocking(move || db.figure_rows(&filter)).await?
            }
            Db::Postgres(db) => db.figure_rows(filter).await?,
        };
        Ok(raw.into_figures())
    }

    /// Distinct values for the dashboard's filter pick lists.
    pub async fn figure_dimensions(&self) -> Result<Dimensions, DbError> {
        match self {
            Db::Sqlite(db) => {
                let db = db.clone();
                blocking(move || db.figure_dimensions()).await
            }
            Db::Postgres(db) => db.figure_dimensions().await,
        }
    }
}

// ---- the tables -------------------------------------------------------------------------

/// The SQLite migration that adds the figures' tables (empty: see [`Increments`] for how
/// members already held are counted).
pub(crate) const SQLITE_MIGRATION: &str = r#"
    CREATE TABLE booth_days (
        device        TEXT NOT NULL,
        event_date    TEXT NOT NULL,
        union_name    TEXT NOT NULL,
        place         TEXT NOT NULL,
        operator      TEXT NOT NULL,
        consultations INTEGER NOT NULL,
        -- need code -> consultations that named it, as a JSON object
        needs         TEXT NOT NULL,
        registrations INTEGER NOT NULL,
        voids         INTEGER NOT NULL,
        received_at   TEXT NOT NULL,
        PRIMARY KEY (device, event_date, union_name, place)
    );
    CREATE INDEX booth_days_date ON booth_days (event_date);
    CREATE TABLE member_days (
        event_date TEXT NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        imported   INTEGER NOT NULL,
        n          INTEGER NOT NULL,
        PRIMARY KEY (event_date, union_name, place, device, imported)
    );
    CREATE TABLE member_forms (
        event_date TEXT NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        form       TEXT NOT NULL,
        n          INTEGER NOT NULL,
        PRIMARY KEY (event_date, union_name, place, device, form)
    );
    CREATE TABLE member_needs (
        event_date TEXT NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        need       TEXT NOT NULL,
        n          INTEGER NOT NULL,
        PRIMARY KEY (event_date, union_name, place, device, need)
    );
    CREATE TABLE enterprise_days (
        enterprise TEXT NOT NULL,
        event_date TEXT NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        PRIMARY KEY (enterprise, event_date, union_name, place, device)
    );
    CREATE TABLE enterprises (enterprise TEXT PRIMARY KEY);
"#;

/// The PostgreSQL migration that adds the figures' tables.
pub(crate) const PG_MIGRATION: &str = r#"
    CREATE TABLE booth_days (
        device        TEXT NOT NULL,
        event_date    DATE NOT NULL,
        union_name    TEXT NOT NULL,
        place         TEXT NOT NULL,
        operator      TEXT NOT NULL,
        consultations BIGINT NOT NULL,
        needs         TEXT NOT NULL,
        registrations BIGINT NOT NULL,
        voids         BIGINT NOT NULL,
        received_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (device, event_date, union_name, place)
    );
    CREATE INDEX booth_days_date ON booth_days (event_date);
    CREATE TABLE member_days (
        event_date DATE NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        imported   BOOLEAN NOT NULL,
        n          BIGINT NOT NULL,
        PRIMARY KEY (event_date, union_name, place, device, imported)
    );
    CREATE TABLE member_forms (
        event_date DATE NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        form       TEXT NOT NULL,
        n          BIGINT NOT NULL,
        PRIMARY KEY (event_date, union_name, place, device, form)
    );
    CREATE TABLE member_needs (
        event_date DATE NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        need       TEXT NOT NULL,
        n          BIGINT NOT NULL,
        PRIMARY KEY (event_date, union_name, place, device, need)
    );
    CREATE TABLE enterprise_days (
        enterprise TEXT NOT NULL,
        event_date DATE NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        PRIMARY KEY (enterprise, event_date, union_name, place, device)
    );
    CREATE TABLE enterprises (enterprise TEXT PRIMARY KEY);
"#;

// ---- at ingest ----------------------------------------------------------------------------

/// Where a member is counted: (date, union, place).
pub(crate) type Where = (String, String, String);

/// What the members accepted in one batch add to the figures' tables, summed per key (one
/// statement per table on PostgreSQL; keys sorted, so concurrent batches lock in one order).
#[derive(Debug, Default)]
pub(crate) struct Increments {
    pub days: BTreeMap<(Where, bool), i64>,
    pub forms: BTreeMap<(Where, String), i64>,
    pub needs: BTreeMap<(Where, String), i64>,
    pub enterprises: BTreeMap<(String, Where), ()>,
}

impl Increments {
    /// The accepted candidates' increments.
    pub fn of(candidates: &[Candidate], decisions: &[Decision]) -> Increments {
        let mut inc = Increments::default();
        for (c, d) in candidates.iter().zip(decisions) {
            if *d == Decision::Accepted {
                inc.add(c.event_date, &c.facets);
            }
        }
        inc
    }

    pub fn add(&mut self, date: NaiveDate, f: &crate::server::ingest::Facets) {
        let at: Where = (date.to_string(), f.union.clone(), f.place.clone());
        *self.days.entry((at.clone(), f.imported)).or_default() += 1;
        if !f.employment_form.is_empty() {
            *self
                .forms
                .entry((at.clone(), f.employment_form.clone()))
                .or_default() += 1;
        }
        for need in &f.needs {
            *self.needs.entry((at.clone(), need.clone())).or_default() += 1;
        }
        self.enterprises.insert((f.enterprise.clone(), at), ());
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }
}

/// A day summary's needs as stored (a JSON object).
pub(crate) fn needs_json(day: &DayRow) -> String {
    serde_json::to_string(&day.needs).unwrap_or_else(|_| "{}".into())
}

// ---- reading ------------------------------------------------------------------------------

/// One `booth_days` row as read.
pub(crate) struct DayIn {
    pub date: String,
    pub union: String,
    pub place: String,
    pub device: String,
    pub consultations: u64,
    pub registrations: u64,
    pub needs: String,
}

/// One `member_days` row (or a sum of them) as read.
pub(crate) struct MembersIn {
    pub date: String,
    pub union: String,
    pub place: String,
    pub device: String,
    pub n: u64,
}

/// What the database hands back for a filter, before it is summed up.
#[derive(Default)]
pub(crate) struct RawFigures {
    pub days: Vec<DayIn>,
    pub members: Vec<MembersIn>,
    pub forms: Vec<(String, u64)>,
    pub needs: Vec<(String, u64)>,
    pub enterprises: u64,
}

/// A filter as SQL: the `WHERE` clause (or "") over the figures' tables' common columns and
/// its text parameters in order. `ph(i)` writes the i-th placeholder (1-based), `date` wraps
/// a placeholder compared with `event_date`.
pub(crate) fn where_clause(
    f: &FigureFilter,
    ph: impl Fn(usize) -> String,
    date: impl Fn(String) -> String,
) -> (String, Vec<String>) {
    let mut terms = Vec::new();
    let mut params = Vec::new();
    let mut push = |column: &str, op: &str, value: String, is_date: bool| {
        params.push(value);
        let p = ph(params.len());
        let p = if is_date { date(p) } else { p };
        terms.push(format!("{column} {op} {p}"));
    };
    if let Some(d) = f.from {
        push("event_date", ">=", d.to_string(), true);
    }
    if let Some(d) = f.to {
        push("event_date", "<=", d.to_string(), true);
    }
    if let Some(u) = &f.union {
        push("union_name", "=", u.clone(), false);
    }
    if let Some(p) = &f.place {
        push("place", "=", p.clone(), false);
    }
    if let Some(d) = &f.device {
        push("device", "=", d.clone(), false);
    }
    if terms.is_empty() {
        (String::new(), params)
    } else {
        (format!(" WHERE {}", terms.join(" AND ")), params)
    }
}

/// Whether only the overall enterprises table is needed (no filter).
pub(crate) fn overall(f: &FigureFilter) -> bool {
    f.is_everything()
}

/// Counts under construction for one group, with the meetings seen.
#[derive(Default)]
struct Group {
    counts: Counts,
    meetings: HashSet<(String, String, String)>,
}

impl Group {
    fn day(&mut self, d: &DayIn) {
        self.counts.consultations += d.consultations;
        self.counts.registered += d.registrations;
        if d.consultations + d.registrations > 0 {
            self.meetings
                .insert((d.device.clone(), d.date.clone(), d.place.clone()));
        }
    }

    fn done(mut self) -> Counts {
        self.counts.meetings = self.meetings.len() as u64;
        self.counts
    }
}

fn ranked(groups: HashMap<String, Group>) -> Vec<(String, Counts)> {
    let mut v: Vec<(String, Counts)> = groups.into_iter().map(|(k, g)| (k, g.done())).collect();
    v.sort_by(|a, b| {
        b.1.registered
            .cmp(&a.1.registered)
            .then(b.1.members.cmp(&a.1.members))
            .then(b.1.consultations.cmp(&a.1.consultations))
            .then(a.0.cmp(&b.0))
    });
    v
}

fn most_first(map: HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = map.into_iter().filter(|(_, n)| *n > 0).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

impl RawFigures {
    pub fn into_figures(self) -> Figures {
        let mut all = Group::default();
        let mut by_day: HashMap<String, Group> = HashMap::new();
        let mut by_place: HashMap<String, Group> = HashMap::new();
        let mut by_union: HashMap<String, Group> = HashMap::new();
        let mut by_device: HashMap<String, Group> = HashMap::new();
        let mut needs: HashMap<String, u64> = HashMap::new();
        for d in &self.days {
            all.day(d);
            by_day.entry(d.date.clone()).or_default().day(d);
            by_place.entry(d.place.clone()).or_default().day(d);
            by_union.entry(d.union.clone()).or_default().day(d);
            by_device.entry(d.device.clone()).or_default().day(d);
            // written by this server from a checked map; anything else counts nothing
            let named: BTreeMap<String, u64> = serde_json::from_str(&d.needs).unwrap_or_default();
            for (code, n) in named {
                *needs.entry(code).or_default() += n;
            }
        }
        for m in &self.members {
            all.counts.members += m.n;
            by_day.entry(m.date.clone()).or_default().counts.members += m.n;
            by_place.entry(m.place.clone()).or_default().counts.members += m.n;
            by_union.entry(m.union.clone()).or_default().counts.members += m.n;
            by_device
                .entry(m.device.clone())
                .or_default()
                .counts
                .members += m.n;
        }
        for (code, n) in self.needs {
            *needs.entry(code).or_default() += n;
        }
        let mut days: Vec<(NaiveDate, Counts)> = by_day
            .into_iter()
            .filter_map(|(d, g)| Some((d.parse().ok()?, g.done())))
            .collect();
        days.sort_by_key(|(d, _)| *d);
        let all = all.done();
        Figures {
            meetings: all.meetings,
            consultations: all.consultations,
            registered: all.registered,
            members: all.members,
            enterprises: self.enterprises,
            by_day: days,
            by_place: ranked(by_place),
            by_union: ranked(by_union),
            by_device: ranked(by_device),
            needs: most_first(needs),
            employment_forms: most_first(self.forms.into_iter().collect()),
        }
    }
}

/// The distinct values of one column over the summaries and the members, sorted.
pub(crate) fn merge_sorted(a: Vec<String>, b: Vec<String>) -> Vec<String> {
    let mut v: Vec<String> = a.into_iter().chain(b).collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, place: &str, device: &str, c: u64, r: u64) -> DayIn {
        DayIn {
            date: date.into(),
            union: "朝阳区总工会".into(),
            place: place.into(),
            device: device.into(),
            consultations: c,
            registrations: r,
            needs: r#"{"legal_aid":1}"#.into(),
        }
    }

    #[test]
    fn meetings_are_distinct_device_date_place_with_something_done() {
        let raw = RawFigures {
            days: vec![
                day("2026-11-24", "望京", "a", 3, 2),
                day("2026-11-24", "亦庄", "b", 4, 1),
                // nothing happened here: no meeting
                day("2026-11-25", "望京", "a", 0, 0),
            ],
            members: vec![MembersIn {
                date: "2026-11-24".into(),
                union: "朝阳区总工会".into(),
                place: "望京".into(),
                device: "a".into(),
                n: 2,
            }],
            forms: vec![("courier".into(), 1), ("other".into(), 0)],
            needs: vec![("skills".into(), 2)],
            enterprises: 1,
        };
        let f = raw.into_figures();
        assert_eq!(
            (f.meetings, f.consultations, f.registered, f.members),
            (2, 7, 3, 2)
        );
        assert_eq!(f.by_day.len(), 2);
        assert_eq!(f.by_day[0].1.meetings, 2);
        assert_eq!(f.by_day[1].1.meetings, 0);
        assert_eq!(f.by_place[0].0, "望京");
        assert_eq!(f.by_place[0].1.members, 2);
        assert_eq!(f.by_union[0].1.meetings, 2);
        assert_eq!(f.needs, vec![("legal_aid".into(), 3), ("skills".into(), 2)]);
        assert_eq!(f.employment_forms, vec![("courier".into(), 1)]);
    }

    #[test]
    fn a_filter_becomes_placeholders_in_order() {
        let f = FigureFilter {
            from: NaiveDate::from_ymd_opt(2026, 11, 1),
            place: Some("望京".into()),
            ..Default::default()
        };
        let (sql, params) = where_clause(&f, |i| format!("${i}"), |p| format!("{p}::date"));
        assert_eq!(sql, " WHERE event_date >= $1::date AND place = $2");
        assert_eq!(params, ["2026-11-01", "望京"]);
        assert_eq!(
            where_clause(&FigureFilter::default(), |_| "?".into(), |p| p),
            (String::new(), vec![])
        );
    }
}
