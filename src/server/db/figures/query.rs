//! Reading the figures: one query per request, its rows already summed per group.
//!
//! Every branch of the query returns the same six columns — a tag naming what the row is,
//! a key (a date, a place, a code …) and four counts — so each backend only runs it and
//! hands the rows back; [`Assembly`] turns them into [`Figures`].
//!
//! Which tables a request reads depends on its filter:
//! - dates only (or nothing): the day totals (`figure_days`, one row per day and item) give
//!   the totals, the days, needs and employment forms; the aggregate tables are read once
//!   per breakdown still wanted (places; unions and laptops for `server stats`);
//! - a union, place or laptop: the aggregate tables, under that filter.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{Breakdown, Counts, Dimensions, FigureFilter, Figures};
use crate::server::db::DbError;
use crate::server::db::conn::{Row, Value};
use crate::server::db::unions::devices_under;
use crate::server::unions::Scope;

/// A breakdown of the figures, and the column it groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    Day,
    Place,
    Union,
    Device,
    Total,
}

impl Group {
    const ALL: [Group; 5] = [
        Group::Day,
        Group::Place,
        Group::Union,
        Group::Device,
        Group::Total,
    ];

    fn tag(self) -> &'static str {
        match self {
            Group::Day => "day",
            Group::Place => "place",
            Group::Union => "union",
            Group::Device => "device",
            Group::Total => "total",
        }
    }

    /// What the group's rows are joined with: the devices, for their node (the aggregate
    /// tables' own columns have names `devices` lacks, so the filter needs no alias).
    fn join(self) -> &'static str {
        match self {
            Group::Union => " LEFT JOIN devices ud ON ud.name = device",
            _ => "",
        }
    }

    fn of_tag(tag: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.tag() == tag)
    }

    /// (key expression, GROUP BY clause).
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            Group::Day => (DATE_TEXT, " GROUP BY event_date"),
            Group::Place => ("place", " GROUP BY place"),
            // by node of the union tree (SPEC §11): the device's (joined in: see `join`), the
            // root's for a device the office does not know
            Group::Union => ("coalesce(ud.union_code, 'root')", " GROUP BY 2"),
            Group::Device => ("device", " GROUP BY device"),
            Group::Total => ("''", ""),
        }
    }
}

/// Row tags besides the groups' (`b:GROUP` booth sums, `m:GROUP` member sums).
const FORM: &str = "form";
const NEED: &str = "need";
const ENTERPRISES: &str = "enterprises";
/// `r:ITEM`: one `figure_days` row, keyed by its date.
const DAY_ITEM: &str = "r:";

/// `event_date` as `YYYY-MM-DD` text (SQLite keeps it so).
const DATE_TEXT: &str = "event_date::text";

/// The figures' query for one filter, and its parameters.
pub(crate) fn figure_query(f: &FigureFilter, breakdown: Breakdown) -> (String, Vec<Value>) {
    let (cond, params) = where_clause(f);
    let dates_only =
        f.union.is_none() && f.place.is_none() && f.device.is_none() && f.scope.is_all();
    let wanted: Vec<Group> = Group::ALL
        .into_iter()
        .filter(|g| {
            breakdown == Breakdown::All || matches!(g, Group::Day | Group::Place | Group::Total)
        })
        // with dates only, the day totals give the days and the totals
        .filter(|g| !dates_only || !matches!(g, Group::Day | Group::Total))
        // every count is a sum over days: the totals are the days' (one scan less per table)
        .filter(|g| *g != Group::Total || dates_only)
        .collect();
    let sum = |e: &str| format!("CAST(coalesce(sum({e}), 0) AS BIGINT)");
    let booth_sums = [
        sum("consultations"),
        sum("registrations"),
        sum("meeting_share"),
        sum("CASE WHEN consultations + registrations > 0 THEN 1 ELSE 0 END"),
    ]
    .join(", ");
    let member_sums = format!("{}, 0, 0, 0", sum("n"));
    let mut branches = Vec::new();
    for g in &wanted {
        let (key, group_by) = g.sql();
        let (tag, join) = (g.tag(), g.join());
        branches.push(format!(
            "SELECT 'b:{tag}', {key}, {booth_sums} FROM booth_days{join}{cond}{group_by}"
        ));
        branches.push(format!(
            "SELECT 'm:{tag}', {key}, {member_sums} FROM member_days{join}{cond}{group_by}"
        ));
    }
    // the office's voids of booth sign-ups, for every group shown (the day totals have none)
    for g in Group::ALL {
        if wanted.contains(&g) || (dates_only && matches!(g, Group::Day | Group::Total)) {
            let (key, group_by) = g.sql();
            let (tag, join) = (g.tag(), g.join());
            branches.push(format!(
                "SELECT 'v:{tag}', {key}, count(*), 0, 0, 0 FROM office_voids{join}{cond}{group_by}"
            ));
        }
    }
    if dates_only {
        branches.push(format!(
            "SELECT '{DAY_ITEM}' || item, {DATE_TEXT}, n, 0, 0, 0 FROM figure_days{cond}"
        ));
    } else {
        branches.push(format!(
            "SELECT '{FORM}', form, {member_sums} FROM member_forms{cond} GROUP BY form"
        ));
        branches.push(format!(
            "SELECT '{NEED}', need, {member_sums} FROM (SELECT need, n FROM member_needs{cond}
                UNION ALL SELECT need, n FROM booth_day_needs{cond}) t GROUP BY need"
        ));
    }
    let only_scope = FigureFilter {
        scope: Scope::All,
        ..f.clone()
    }
    .is_everything();
    branches.push(if f.is_everything() {
        format!("SELECT '{ENTERPRISES}', '', count(*), 0, 0, 0 FROM enterprises")
    } else if only_scope {
        // a node's whole part: its employers are kept by node (db::unions), and the node's
        // code is the filter's one parameter
        format!(
            "SELECT '{ENTERPRISES}', '', count(*), 0, 0, 0 FROM union_enterprises WHERE code = $1"
        )
    } else {
        // GROUP BY hashes; count(DISTINCT) sorts
        format!(
            "SELECT '{ENTERPRISES}', '', count(*), 0, 0, 0 FROM
                (SELECT enterprise FROM enterprise_days{cond} GROUP BY enterprise) t"
        )
    });
    (
        branches.join(" UNION ALL "),
        params.into_iter().map(Value::Text).collect(),
    )
}

/// A filter as SQL: the `WHERE` clause (or "") over the figures' tables' common columns and
/// its text parameters in order, each placeholder written once and used by every branch.
pub(crate) fn where_clause(f: &FigureFilter) -> (String, Vec<String>) {
    let mut terms = Vec::new();
    let mut params = Vec::new();
    let mut push = |column: &str, op: &str, value: String, is_date: bool| {
        params.push(value);
        let n = params.len();
        // a text parameter compared with PostgreSQL's DATE column
        let cast = if is_date { "::text::date" } else { "" };
        terms.push(format!("{column} {op} ${n}{cast}"));
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
    if let Scope::Under(code) = &f.scope {
        params.push(code.clone());
        terms.push(devices_under("device", params.len()));
    }
    if terms.is_empty() {
        (String::new(), params)
    } else {
        (format!(" WHERE {}", terms.join(" AND ")), params)
    }
}

/// One row of the figures' query.
#[derive(Clone, Debug)]
pub(crate) struct FigureRow {
    pub tag: String,
    pub key: String,
    pub n: [u64; 4],
}

impl FigureRow {
    pub(crate) fn of(r: &dyn Row) -> Result<FigureRow, DbError> {
        Ok(FigureRow {
            tag: r.text(0)?,
            key: r.text(1)?,
            n: [r.count(2)?, r.count(3)?, r.count(4)?, r.count(5)?],
        })
    }
}

/// Booth sums of one group and key, before the meetings are decided.
#[derive(Default)]
struct Booth {
    consultations: u64,
    registered: u64,
    /// Σ `meeting_share`: the meetings, each counted once.
    meeting_shares: u64,
    /// Rows with something done: the meetings within one union.
    active_rows: u64,
}

/// The figures under construction from the query's rows.
#[derive(Default)]
pub(crate) struct Assembly {
    booth: HashMap<(&'static str, String), Booth>,
    members: HashMap<(&'static str, String), u64>,
    /// Booth sign-ups whose cards the office voided (taken off `registered`).
    office_voids: HashMap<(&'static str, String), u64>,
    forms: HashMap<String, u64>,
    needs: HashMap<String, u64>,
    enterprises: u64,
}

impl Assembly {
    pub fn add(&mut self, row: FigureRow) {
        let FigureRow { tag, key, n } = row;
        if let Some(item) = tag.strip_prefix(DAY_ITEM) {
            self.add_day_item(item, key, n[0]);
        } else if let Some((side, group)) = tag.split_once(':') {
            let Some(group) = Group::of_tag(group) else {
                return;
            };
            if side == "b" {
                let b = self.booth.entry((group.tag(), key)).or_default();
                b.consultations += n[0];
                b.registered += n[1];
                b.meeting_shares += n[2];
                b.active_rows += n[3];
            } else if side == "v" {
                *self.office_voids.entry((group.tag(), key)).or_default() += n[0];
            } else {
                *self.members.entry((group.tag(), key)).or_default() += n[0];
            }
        } else {
            match tag.as_str() {
                FORM => *self.forms.entry(key).or_default() += n[0],
                NEED => *self.needs.entry(key).or_default() += n[0],
                ENTERPRISES => self.enterprises += n[0],
                _ => {}
            }
        }
    }

    /// A `figure_days` row: counted for its day and in the totals.
    fn add_day_item(&mut self, item: &str, date: String, n: u64) {
        let at = |g: Group, date: &str| {
            (
                g.tag(),
                if g == Group::Day {
                    date.into()
                } else {
                    String::new()
                },
            )
        };
        for g in [Group::Day, Group::Total] {
            match item {
                "consultations" => self.booth.entry(at(g, &date)).or_default().consultations += n,
                "registrations" => self.booth.entry(at(g, &date)).or_default().registered += n,
                "meetings" => self.booth.entry(at(g, &date)).or_default().meeting_shares += n,
                "members" => *self.members.entry(at(g, &date)).or_default() += n,
                _ => {}
            }
        }
        if let Some(code) = item.strip_prefix("form:") {
            *self.forms.entry(code.into()).or_default() += n;
        } else if let Some(code) = item
            .strip_prefix("need:")
            .or_else(|| item.strip_prefix("bneed:"))
        {
            *self.needs.entry(code.into()).or_default() += n;
        }
    }

    /// The figures; `one_union` when the filter names a union (then each meeting has at
    /// most one row, and the active rows are its meetings).
    pub fn into_figures(self, one_union: bool) -> Figures {
        let mut groups: HashMap<&'static str, HashMap<String, Counts>> = HashMap::new();
        for ((group, key), b) in self.booth {
            let by_rows = one_union;
            let c = groups.entry(group).or_default().entry(key).or_default();
            c.consultations += b.consultations;
            c.registered += b.registered;
            c.meetings += if by_rows {
                b.active_rows
            } else {
                b.meeting_shares
            };
        }
        for ((group, key), n) in self.office_voids {
            let c = groups.entry(group).or_default().entry(key).or_default();
            c.registered = c.registered.saturating_sub(n);
        }
        for ((group, key), n) in self.members {
            groups
                .entry(group)
                .or_default()
                .entry(key)
                .or_default()
                .members += n;
        }
        let mut take = |g: Group| groups.remove(g.tag()).unwrap_or_default();
        let total = take(Group::Total).into_values().next();
        let mut by_day: Vec<(NaiveDate, Counts)> = take(Group::Day)
            .into_iter()
            .filter_map(|(d, c)| Some((d.parse().ok()?, c)))
            .collect();
        // read apart (the day totals) or summed from the days: every count is a day's sum
        let all = total.unwrap_or_else(|| {
            by_day.iter().fold(Counts::default(), |mut all, (_, c)| {
                all.meetings += c.meetings;
                all.consultations += c.consultations;
                all.registered += c.registered;
                all.members += c.members;
                all
            })
        });
        by_day.sort_by_key(|(d, _)| *d);
        Figures {
            meetings: all.meetings,
            consultations: all.consultations,
            registered: all.registered,
            members: all.members,
            enterprises: self.enterprises,
            by_day,
            by_place: ranked(take(Group::Place)),
            by_union: ranked(take(Group::Union)),
            by_device: ranked(take(Group::Device)),
            needs: most_first(self.needs),
            employment_forms: most_first(self.forms),
        }
    }
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

fn most_first(map: HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = map.into_iter().filter(|(_, n)| *n > 0).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
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

    fn row(tag: &str, key: &str, n: [u64; 4]) -> FigureRow {
        FigureRow {
            tag: tag.into(),
            key: key.into(),
            n,
        }
    }

    /// Two laptops; laptop a sent 望京's 24th under two unions (one meeting, two rows).
    fn aggregate_rows() -> Vec<FigureRow> {
        vec![
            row("b:total", "", [9, 4, 2, 3]),
            row("b:day", "2026-11-24", [9, 4, 2, 3]),
            row("b:day", "2026-11-25", [0, 0, 0, 0]),
            row("b:place", "望京", [5, 3, 1, 2]),
            row("b:place", "亦庄", [4, 1, 1, 1]),
            row("b:union", "D1", [7, 3, 2, 2]),
            row("b:union", "S11", [2, 1, 0, 1]),
            row("b:device", "a", [5, 3, 1, 2]),
            row("b:device", "b", [4, 1, 1, 1]),
            row("m:total", "", [2, 0, 0, 0]),
            row("m:day", "2026-11-24", [2, 0, 0, 0]),
            row("m:place", "望京", [2, 0, 0, 0]),
            row("m:union", "D1", [2, 0, 0, 0]),
            row("m:device", "a", [2, 0, 0, 0]),
            row(FORM, "courier", [1, 0, 0, 0]),
            row(FORM, "other", [0, 0, 0, 0]),
            row(NEED, "skills", [2, 0, 0, 0]),
            row(NEED, "legal_aid", [3, 0, 0, 0]),
            row(ENTERPRISES, "", [1, 0, 0, 0]),
            row("x:nonsense", "", [5, 5, 5, 5]),
        ]
    }

    fn assemble(rows: Vec<FigureRow>, one_union: bool) -> Figures {
        let mut a = Assembly::default();
        for r in rows {
            a.add(r);
        }
        a.into_figures(one_union)
    }

    #[test]
    fn a_meeting_counts_once_across_unions_and_nodes_sum_their_shares() {
        let f = assemble(aggregate_rows(), false);
        assert_eq!(
            (
                f.meetings,
                f.consultations,
                f.registered,
                f.members,
                f.enterprises
            ),
            (2, 9, 4, 2, 1)
        );
        assert_eq!(f.by_day.len(), 2);
        assert_eq!(f.by_day[0].1.meetings, 2);
        assert_eq!(f.by_day[1].1.meetings, 0);
        assert_eq!(f.by_place[0].0, "望京");
        assert_eq!(f.by_place[0].1.meetings, 1);
        assert_eq!(f.by_place[0].1.members, 2);
        // by node: a laptop's meetings are its node's, each once
        let unions: Vec<(&str, u64)> = f
            .by_union
            .iter()
            .map(|(u, c)| (u.as_str(), c.meetings))
            .collect();
        assert_eq!(unions, [("D1", 2), ("S11", 0)]);
        assert_eq!(f.needs, vec![("legal_aid".into(), 3), ("skills".into(), 2)]);
        assert_eq!(f.employment_forms, vec![("courier".into(), 1)]);
    }

    #[test]
    fn under_a_union_filter_the_active_rows_are_the_meetings() {
        let f = assemble(aggregate_rows(), true);
        assert_eq!(f.meetings, 3);
        assert_eq!(f.by_place[0].1.meetings, 2);
    }

    #[test]
    fn day_totals_give_the_days_the_totals_needs_and_forms() {
        let day =
            |item: &str, date: &str, n: u64| row(&format!("{DAY_ITEM}{item}"), date, [n, 0, 0, 0]);
        let f = assemble(
            vec![
                day("consultations", "2026-11-24", 5),
                day("consultations", "2026-11-25", 2),
                day("registrations", "2026-11-24", 3),
                day("meetings", "2026-11-24", 2),
                day("meetings", "2026-11-25", 1),
                day("members", "2026-11-24", 4),
                day("form:courier", "2026-11-24", 3),
                day("form:courier", "2026-11-25", 1),
                day("need:legal_aid", "2026-11-24", 1),
                day("bneed:legal_aid", "2026-11-25", 2),
                day("bneed:skills", "2026-11-25", 1),
                row("m:place", "望京", [4, 0, 0, 0]),
            ],
            false,
        );
        assert_eq!(
            (f.meetings, f.consultations, f.registered, f.members),
            (3, 7, 3, 4)
        );
        let days: Vec<(String, u64, u64)> = f
            .by_day
            .iter()
            .map(|(d, c)| (d.to_string(), c.meetings, c.members))
            .collect();
        assert_eq!(
            days,
            [("2026-11-24".into(), 2, 4), ("2026-11-25".into(), 1, 0)]
        );
        assert_eq!(f.needs, vec![("legal_aid".into(), 3), ("skills".into(), 1)]);
        assert_eq!(f.employment_forms, vec![("courier".into(), 4)]);
        assert_eq!(f.by_place[0].1.members, 4);
    }

    #[test]
    fn a_filter_becomes_placeholders_in_order() {
        let f = FigureFilter {
            from: NaiveDate::from_ymd_opt(2026, 11, 1),
            place: Some("望京".into()),
            ..Default::default()
        };
        let (sql, params) = where_clause(&f);
        assert_eq!(sql, " WHERE event_date >= $1::text::date AND place = $2");
        assert_eq!(params, ["2026-11-01", "望京"]);
        assert_eq!(
            where_clause(&FigureFilter::default()),
            (String::new(), vec![])
        );
    }

    #[test]
    fn dates_only_read_the_day_totals_and_other_filters_the_aggregates() {
        let month = FigureFilter {
            from: NaiveDate::from_ymd_opt(2026, 11, 1),
            to: NaiveDate::from_ymd_opt(2026, 11, 30),
            ..Default::default()
        };
        let (sql, params) = figure_query(&month, Breakdown::Dashboard);
        assert!(sql.contains("FROM figure_days"), "{sql}");
        assert!(!sql.contains("member_forms"), "{sql}");
        assert!(
            !sql.contains("'b:day'") && sql.contains("'b:place'"),
            "{sql}"
        );
        assert!(!sql.contains("'b:union'"), "{sql}");
        assert_eq!(params.len(), 2);
        let union = FigureFilter {
            union: Some("朝阳区总工会".into()),
            ..month
        };
        let (sql, _) = figure_query(&union, Breakdown::All);
        assert!(!sql.contains("figure_days"), "{sql}");
        assert!(
            sql.contains("'b:day'") && sql.contains("'m:device'"),
            "{sql}"
        );
        assert!(sql.contains("union_name = $3"), "{sql}");
    }

    #[test]
    fn the_pick_lists_come_sorted() {
        let dims = dimensions(vec![
            ("place".into(), "望京".into()),
            ("place".into(), "亦庄".into()),
            ("union".into(), "u".into()),
            ("device".into(), "d".into()),
            ("other".into(), "x".into()),
        ]);
        assert_eq!(
            dims,
            (
                vec!["u".into()],
                vec!["亦庄".into(), "望京".into()],
                vec!["d".into()]
            )
        );
    }
}
