//! What ingest adds to the figures' tables.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::server::batch::{Candidate, DayRow, Decision};

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

    pub fn add(&mut self, date: NaiveDate, f: &crate::server::batch::Facets) {
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

    /// The same increments per day (`figure_days`' member items), keys sorted.
    pub fn day_items(&self) -> BTreeMap<(String, String), i64> {
        let mut items: BTreeMap<(String, String), i64> = BTreeMap::new();
        for (((date, _, _), _), n) in &self.days {
            *items.entry((date.clone(), "members".into())).or_default() += n;
        }
        for (prefix, map) in [("form:", &self.forms), ("need:", &self.needs)] {
            for (((date, _, _), code), n) in map {
                *items
                    .entry((date.clone(), format!("{prefix}{code}")))
                    .or_default() += n;
            }
        }
        items
    }
}

/// The members held before the figures' tables existed: (device, record).
pub(crate) const STORED_RECORDS: &str = "SELECT device, record FROM members";

/// What the stored records (device, record) add to the figures, per laptop. The records were
/// stored only after the server's own checks: one that does not parse now is left out of the
/// figures rather than stopping the server.
pub(crate) fn increments_of_stored(
    rows: impl IntoIterator<Item = (String, String)>,
) -> HashMap<String, Increments> {
    let mut by_device: HashMap<String, Increments> = HashMap::new();
    for (device, record) in rows {
        if let Ok(w) = serde_json::from_str::<crate::protocol::WireRecord>(&record) {
            by_device
                .entry(device)
                .or_default()
                .add(w.event_date, &crate::server::batch::Facets::of(&w));
        }
    }
    by_device
}

/// A day summary's needs as stored (a JSON object).
pub(crate) fn needs_json(day: &DayRow) -> String {
    serde_json::to_string(&day.needs).unwrap_or_else(|_| "{}".into())
}

/// The (kind, name) rows a batch adds to the filters' pick lists: its laptop and the unions
/// and places (pairs) it counted anything at, sorted.
pub(crate) fn names_of<'a>(
    device: &'a str,
    at: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<(&'static str, &'a str)> {
    let mut v: Vec<(&'static str, &'a str)> = Vec::new();
    for (union, place) in at {
        v.push(("union", union));
        v.push(("place", place));
    }
    if v.is_empty() {
        // nothing counted: the laptop is not yet a figure of the campaign
        return v;
    }
    v.push(("device", device));
    v.sort();
    v.dedup();
    v
}

impl Increments {
    /// The pick lists' rows of the members counted.
    pub fn names<'a>(&'a self, device: &'a str) -> Vec<(&'static str, &'a str)> {
        names_of(
            device,
            self.days
                .keys()
                .map(|((_, union, place), _)| (union.as_str(), place.as_str())),
        )
    }
}

/// The pick lists' rows of day summaries.
pub(crate) fn names_of_days<'a>(
    device: &'a str,
    days: &'a [DayRow],
) -> Vec<(&'static str, &'a str)> {
    names_of(
        device,
        days.iter().map(|d| (d.union.as_str(), d.place.as_str())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_laptop_joins_the_pick_lists_only_with_a_figure() {
        assert!(names_of("lap-1", []).is_empty());
        assert_eq!(
            names_of(
                "lap-1",
                [("朝阳区总工会", "望京"), ("朝阳区总工会", "望京")]
            ),
            [
                ("device", "lap-1"),
                ("place", "望京"),
                ("union", "朝阳区总工会")
            ]
        );
    }

    #[test]
    fn day_items_sum_the_increments_per_day() {
        let at = |d: &str, p: &str| (d.to_string(), "工会".to_string(), p.to_string());
        let mut inc = Increments::default();
        inc.days.insert((at("2026-11-24", "望京"), false), 2);
        inc.days.insert((at("2026-11-24", "亦庄"), true), 1);
        inc.forms
            .insert((at("2026-11-24", "望京"), "courier".into()), 2);
        inc.needs
            .insert((at("2026-11-25", "望京"), "legal_aid".into()), 1);
        let items: Vec<((String, String), i64)> = inc.day_items().into_iter().collect();
        assert_eq!(
            items,
            [
                (("2026-11-24".into(), "form:courier".into()), 2),
                (("2026-11-24".into(), "members".into()), 3),
                (("2026-11-25".into(), "need:legal_aid".into()), 1),
            ]
        );
    }
}
