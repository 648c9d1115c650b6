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

use std::collections::{BTreeMap, HashMap};

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
    pub(crate) fn is_everything(&self) -> bool {
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
        Ok(raw.into_figures(filter.union.is_some()))
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

// ---- migration 5: figures read in a few aggregate passes --------------------------------

/// Marks, per booth day row, whether it is the one that counts its meeting: a meeting is a
/// distinct device × date × place with something done (SPEC §8), and one laptop may send a
/// place's day under two unions. The row with the least union name among the active ones
/// carries the meeting, so every grouping but the union's sums `meeting_share` instead of
/// counting distinct triples per request. (The same SQL on both databases.)
pub(crate) const MEETING_SHARE_UPDATE: &str = "UPDATE booth_days SET meeting_share = CASE
        WHEN consultations + registrations > 0 AND union_name = (
            SELECT min(x.union_name) FROM booth_days x
            WHERE x.device = booth_days.device AND x.event_date = booth_days.event_date
              AND x.place = booth_days.place AND x.consultations + x.registrations > 0)
        THEN 1 ELSE 0 END";

/// SQLite migration 5: meeting shares, the summaries' needs as rows, the filter pick lists,
/// and indexes for counting distinct employers under a filter.
pub(crate) const SQLITE_MIGRATION_5: &str = r#"
    ALTER TABLE booth_days ADD COLUMN meeting_share INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE booth_day_needs (
        device     TEXT NOT NULL,
        event_date TEXT NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        need       TEXT NOT NULL,
        n          INTEGER NOT NULL,
        PRIMARY KEY (device, event_date, union_name, place, need)
    );
    INSERT INTO booth_day_needs
        SELECT b.device, b.event_date, b.union_name, b.place, j.key, j.value
        FROM booth_days b, json_each(b.needs) j WHERE j.type = 'integer' AND j.value > 0;
    CREATE TABLE figure_names (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (kind, name)
    );
    INSERT OR IGNORE INTO figure_names
        SELECT 'union', union_name FROM booth_days UNION SELECT 'union', union_name FROM member_days
        UNION SELECT 'place', place FROM booth_days UNION SELECT 'place', place FROM member_days
        UNION SELECT 'device', device FROM booth_days UNION SELECT 'device', device FROM member_days;
    CREATE INDEX enterprise_days_date ON enterprise_days (event_date, enterprise);
    CREATE INDEX enterprise_days_union ON enterprise_days (union_name, event_date, enterprise);
    CREATE INDEX enterprise_days_place ON enterprise_days (place, event_date, enterprise);
    CREATE INDEX enterprise_days_device ON enterprise_days (device, event_date, enterprise);
"#;

/// PostgreSQL migration 5 (see [`SQLITE_MIGRATION_5`]).
pub(crate) const PG_MIGRATION_5: &str = r#"
    ALTER TABLE booth_days ADD COLUMN meeting_share BIGINT NOT NULL DEFAULT 0;
    CREATE TABLE booth_day_needs (
        device     TEXT NOT NULL,
        event_date DATE NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        need       TEXT NOT NULL,
        n          BIGINT NOT NULL,
        PRIMARY KEY (device, event_date, union_name, place, need)
    );
    INSERT INTO booth_day_needs
        SELECT b.device, b.event_date, b.union_name, b.place, j.key, j.value::bigint
        FROM booth_days b, jsonb_each(b.needs::jsonb) j
        WHERE jsonb_typeof(j.value) = 'number' AND j.value::bigint > 0;
    CREATE TABLE figure_names (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (kind, name)
    );
    INSERT INTO figure_names
        SELECT 'union', union_name FROM booth_days UNION SELECT 'union', union_name FROM member_days
        UNION SELECT 'place', place FROM booth_days UNION SELECT 'place', place FROM member_days
        UNION SELECT 'device', device FROM booth_days UNION SELECT 'device', device FROM member_days;
    CREATE INDEX enterprise_days_date ON enterprise_days (event_date, enterprise);
    CREATE INDEX enterprise_days_union ON enterprise_days (union_name, event_date, enterprise);
    CREATE INDEX enterprise_days_place ON enterprise_days (place, event_date, enterprise);
    CREATE INDEX enterprise_days_device ON enterprise_days (device, event_date, enterprise);
"#;

/// The (kind, name) rows a batch adds to the filters' pick lists.
pub(crate) fn names_of<'a>(
    device: &'a str,
    unions: impl IntoIterator<Item = &'a str>,
    places: impl IntoIterator<Item = &'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut v: Vec<(&'static str, &'a str)> = Vec::new();
    v.extend(unions.into_iter().map(|u| ("union", u)));
    v.extend(places.into_iter().map(|p| ("place", p)));
    if v.is_empty() {
        // nothing counted: the laptop is not yet a figure of the campaign
        return v;
    }
    v.push(("device", device));
    v.sort();
    v.dedup();
    v
}

// ---- reading ------------------------------------------------------------------------------

/// How one database spells what the figures' queries need.
pub(crate) struct Dialect {
    /// The i-th placeholder (1-based); each is written once and may be used in several
    /// branches of a query (`$1` / `?1`).
    pub placeholder: fn(usize) -> String,
    /// A placeholder compared with `event_date`.
    pub date_param: fn(String) -> String,
    /// `event_date` as `YYYY-MM-DD` text.
    pub date_text: &'static str,
}

pub(crate) const SQLITE: Dialect = Dialect {
    placeholder: sqlite_placeholder,
    date_param: std::convert::identity,
    date_text: "event_date",
};

pub(crate) const POSTGRES: Dialect = Dialect {
    placeholder: pg_placeholder,
    date_param: pg_date,
    date_text: "event_date::text",
};

fn sqlite_placeholder(i: usize) -> String {
    format!("?{i}")
}

fn pg_placeholder(i: usize) -> String {
    format!("${i}")
}

fn pg_date(p: String) -> String {
    format!("{p}::text::date")
}

/// The group a sums row belongs to.
const BY_DAY: &str = "day";
const BY_PLACE: &str = "place";
const BY_UNION: &str = "union";
const BY_DEVICE: &str = "device";
const TOTAL: &str = "total";

/// The figures' queries for one filter, all bound to the same text parameters.
pub(crate) struct FigureQueries {
    pub params: Vec<String>,
    /// (group, key, consultations, registrations, meeting shares, active rows) per group.
    pub booth: String,
    /// (group, key, members) per group.
    pub members: String,
    /// (form, members).
    pub forms: String,
    /// (need, count) over members and consultations.
    pub needs: String,
    /// One count.
    pub enterprises: String,
}

/// One `GROUP BY` per breakdown and one total, in a single `UNION ALL`: a few thousand rows
/// come back however many booth days there are.
fn grouped(table: &str, sums: &str, cond: &str, date_text: &str) -> String {
    [
        (BY_DAY, date_text, "GROUP BY event_date"),
        (BY_PLACE, "place", "GROUP BY place"),
        (BY_UNION, "union_name", "GROUP BY union_name"),
        (BY_DEVICE, "device", "GROUP BY device"),
        (TOTAL, "''", ""),
    ]
    .iter()
    .map(|(group, key, group_by)| {
        format!("SELECT '{group}', {key}, {sums} FROM {table}{cond} {group_by}")
    })
    .collect::<Vec<_>>()
    .join(" UNION ALL ")
}

impl FigureQueries {
    pub fn new(f: &FigureFilter, d: &Dialect) -> FigureQueries {
        let (cond, params) = where_clause(f, d.placeholder, d.date_param);
        let sum = |e: &str| format!("CAST(coalesce(sum({e}), 0) AS BIGINT)");
        let booth_sums = [
            sum("consultations"),
            sum("registrations"),
            sum("meeting_share"),
            sum("CASE WHEN consultations + registrations > 0 THEN 1 ELSE 0 END"),
        ]
        .join(", ");
        let enterprises = if f.is_everything() {
            "SELECT count(*) FROM enterprises".to_string()
        } else {
            format!("SELECT count(DISTINCT enterprise) FROM enterprise_days{cond}")
        };
        FigureQueries {
            booth: grouped("booth_days", &booth_sums, &cond, d.date_text),
            members: grouped("member_days", &sum("n"), &cond, d.date_text),
            forms: format!(
                "SELECT form, {} FROM member_forms{cond} GROUP BY form",
                sum("n")
            ),
            needs: format!(
                "SELECT need, {} FROM (SELECT need, n FROM member_needs{cond}
                    UNION ALL SELECT need, n FROM booth_day_needs{cond}) t GROUP BY need",
                sum("n")
            ),
            enterprises,
            params,
        }
    }
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

/// One row of the booth days' sums.
pub(crate) struct BoothSums {
    pub group: String,
    pub key: String,
    pub consultations: u64,
    pub registrations: u64,
    /// Σ `meeting_share`: the meetings, where each counts once.
    pub meeting_shares: u64,
    /// Rows with something done: the meetings within one union.
    pub active_rows: u64,
}

/// What the database hands back for a filter: already summed per group.
#[derive(Default)]
pub(crate) struct RawFigures {
    pub booth: Vec<BoothSums>,
    /// (group, key, members).
    pub members: Vec<(String, String, u64)>,
    pub forms: Vec<(String, u64)>,
    pub needs: Vec<(String, u64)>,
    pub enterprises: u64,
}

fn ranked(groups: HashMap<String, Counts>) -> Vec<(String, Counts)> {
    let mut v: Vec<(String, Counts)> = groups.into_iter().collect();
    v.sort_by(|a, b| {
        b.1.registered
            .cmp(&a.1.registered)
            .then(b.1.members.cmp(&a.1.members))
            .then(b.1.consultations.cmp(&a.1.consultations))
            .then(a.0.cmp(&b.0))
    });
    v
}

fn most_first(rows: Vec<(String, u64)>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = rows.into_iter().filter(|(_, n)| *n > 0).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

impl RawFigures {
    /// The figures; `one_union` when the filter names a union (then each meeting has at
    /// most one row, and the active rows are its meetings).
    pub fn into_figures(self, one_union: bool) -> Figures {
        let mut groups: HashMap<&str, HashMap<String, Counts>> = HashMap::new();
        for b in self.booth {
            let by_rows = one_union || b.group == BY_UNION;
            let c = groups
                .entry(group_name(&b.group))
                .or_default()
                .entry(b.key)
                .or_default();
            c.consultations += b.consultations;
            c.registered += b.registrations;
            c.meetings += if by_rows {
                b.active_rows
            } else {
                b.meeting_shares
            };
        }
        for (group, key, n) in self.members {
            groups
                .entry(group_name(&group))
                .or_default()
                .entry(key)
                .or_default()
                .members += n;
        }
        let mut take = |g: &str| groups.remove(g).unwrap_or_default();
        let all = take(TOTAL).into_values().next().unwrap_or_default();
        let mut by_day: Vec<(NaiveDate, Counts)> = take(BY_DAY)
            .into_iter()
            .filter_map(|(d, c)| Some((d.parse().ok()?, c)))
            .collect();
        by_day.sort_by_key(|(d, _)| *d);
        Figures {
            meetings: all.meetings,
            consultations: all.consultations,
            registered: all.registered,
            members: all.members,
            enterprises: self.enterprises,
            by_day,
            by_place: ranked(take(BY_PLACE)),
            by_union: ranked(take(BY_UNION)),
            by_device: ranked(take(BY_DEVICE)),
            needs: most_first(self.needs),
            employment_forms: most_first(self.forms),
        }
    }
}

/// The group names as constants (the database hands back owned text).
fn group_name(g: &str) -> &'static str {
    [BY_DAY, BY_PLACE, BY_UNION, BY_DEVICE, TOTAL]
        .into_iter()
        .find(|k| *k == g)
        .unwrap_or("")
}

/// The pick lists from `figure_names` rows (kind, name), sorted by name.
pub(crate) fn dimensions(rows: Vec<(String, String)>) -> Dimensions {
    let (mut unions, mut places, mut devices) = (Vec::new(), Vec::new(), Vec::new());
    for (kind, name) in rows {
        match kind.as_str() {
            "union" => unions.push(name),
            "place" => places.push(name),
            "device" => devices.push(name),
            _ => {}
        }
    }
    for v in [&mut unions, &mut places, &mut devices] {
        v.sort();
    }
    (unions, places, devices)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booth(group: &str, key: &str, c: u64, r: u64, shares: u64, active: u64) -> BoothSums {
        BoothSums {
            group: group.into(),
            key: key.into(),
            consultations: c,
            registrations: r,
            meeting_shares: shares,
            active_rows: active,
        }
    }

    /// Two laptops; laptop a sent 望京's 24th under two unions (one meeting, two rows).
    fn raw() -> RawFigures {
        RawFigures {
            booth: vec![
                booth(TOTAL, "", 9, 4, 2, 3),
                booth(BY_DAY, "2026-11-24", 9, 4, 2, 3),
                booth(BY_DAY, "2026-11-25", 0, 0, 0, 0),
                booth(BY_PLACE, "望京", 5, 3, 1, 2),
                booth(BY_PLACE, "亦庄", 4, 1, 1, 1),
                booth(BY_UNION, "朝阳区总工会", 7, 3, 2, 2),
                booth(BY_UNION, "望京街道工会", 2, 1, 0, 1),
                booth(BY_DEVICE, "a", 5, 3, 1, 2),
                booth(BY_DEVICE, "b", 4, 1, 1, 1),
            ],
            members: vec![
                (TOTAL.into(), "".into(), 2),
                (BY_DAY.into(), "2026-11-24".into(), 2),
                (BY_PLACE.into(), "望京".into(), 2),
                (BY_UNION.into(), "朝阳区总工会".into(), 2),
                (BY_DEVICE.into(), "a".into(), 2),
            ],
            forms: vec![("courier".into(), 1), ("other".into(), 0)],
            needs: vec![("skills".into(), 2), ("legal_aid".into(), 3)],
            enterprises: 1,
        }
    }

    #[test]
    fn a_meeting_counts_once_across_unions_but_in_each_unions_own_figures() {
        let f = raw().into_figures(false);
        assert_eq!(
            (f.meetings, f.consultations, f.registered, f.members),
            (2, 9, 4, 2)
        );
        assert_eq!(f.by_day.len(), 2);
        assert_eq!(f.by_day[0].1.meetings, 2);
        assert_eq!(f.by_day[1].1.meetings, 0);
        assert_eq!(f.by_place[0].0, "望京");
        assert_eq!(f.by_place[0].1.meetings, 1);
        assert_eq!(f.by_place[0].1.members, 2);
        // within a union, every active row is one of its meetings
        let unions: Vec<(&str, u64)> = f
            .by_union
            .iter()
            .map(|(u, c)| (u.as_str(), c.meetings))
            .collect();
        assert_eq!(unions, [("朝阳区总工会", 2), ("望京街道工会", 1)]);
        assert_eq!(f.needs, vec![("legal_aid".into(), 3), ("skills".into(), 2)]);
        assert_eq!(f.employment_forms, vec![("courier".into(), 1)]);
    }

    #[test]
    fn under_a_union_filter_the_active_rows_are_the_meetings() {
        let f = raw().into_figures(true);
        assert_eq!(f.meetings, 3);
        assert_eq!(f.by_place[0].1.meetings, 2);
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

    #[test]
    fn the_pick_lists_come_sorted_and_a_laptop_joins_them_only_with_a_figure() {
        assert!(names_of("lap-1", [], []).is_empty());
        assert_eq!(
            names_of("lap-1", ["朝阳区总工会", "朝阳区总工会"], ["望京"]),
            [
                ("device", "lap-1"),
                ("place", "望京"),
                ("union", "朝阳区总工会")
            ]
        );
        let dims = dimensions(vec![
            ("place".into(), "望京".into()),
            ("place".into(), "亦庄".into()),
            ("union".into(), "u".into()),
            ("device".into(), "d".into()),
        ]);
        assert_eq!(dims.1, ["亦庄", "望京"]);
    }
}
