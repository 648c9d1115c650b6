//! The booth day as the office counts it (SPEC §8): consultations with the needs named, and
//! a summary per day and place (consultations, booth sign-ups, voids) that every upload
//! sends. Summaries are read from the rows themselves, so they are always the laptop's
//! current count: a later upload replaces the office's copy.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{Connection, params};

use super::{Store, StoreError, timestamp};
use crate::member::options::ListKind;

/// One booth day and place, as the laptop counts it now: what an upload sends.
pub use crate::protocol::DaySummary;

/// The list's need codes among `needs`, in order, each once; anything else is dropped (the
/// callers map what was typed to codes first, with `member::record::split_needs`).
fn known_needs(needs: &[String]) -> Vec<&str> {
    let mut codes: Vec<&str> = Vec::new();
    for n in needs {
        if ListKind::Needs.by_code(n).is_some() && !codes.contains(&n.as_str()) {
            codes.push(n);
        }
    }
    codes
}

impl Store {
    /// Counts a person who asked but did not join, with the needs they named (codes of the
    /// needs list), at the booth configured now. Returns the day's consultations.
    pub fn consult(
        &mut self,
        needs: &[String],
        now: &DateTime<FixedOffset>,
    ) -> Result<u64, StoreError> {
        let event = self.config()?.event();
        let day = now.date_naive().to_string();
        self.conn.execute(
            "INSERT INTO consultations (at, event_date, needs, union_name, place, operator)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                timestamp(now),
                day,
                known_needs(needs).join(","),
                event.union,
                event.place,
                event.operator
            ],
        )?;
        super::stats::consultations_on(&self.conn, now.date_naive())
    }

    /// Sets the needs of the day's latest consultation (the TUI's keys after F6); false when
    /// the day has none.
    pub fn set_last_consultation_needs(
        &mut self,
        day: NaiveDate,
        needs: &[String],
    ) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE consultations SET needs = ?2
             WHERE id = (SELECT max(id) FROM consultations WHERE event_date = ?1)",
            params![day.to_string(), known_needs(needs).join(",")],
        )?;
        Ok(n > 0)
    }

    pub fn day_summaries(&self, limit: usize) -> Result<Vec<DaySummary>, StoreError> {
        day_summaries(&self.conn, limit)
    }
}

/// (date, union, place).
type Key = (String, String, String);
/// Summaries by key, each with the time of the entry its operator comes from.
type Days = HashMap<Key, (DaySummary, String)>;

/// The summary for a key (made on first sight); its operator is the latest entry's.
fn entry(days: &mut Days, key: Key, operator: String, at: String) -> Option<&mut DaySummary> {
    let date = key.0.parse::<NaiveDate>().ok()?;
    let (summary, latest) = days.entry(key.clone()).or_insert_with(|| {
        (
            DaySummary {
                date,
                union: key.1,
                place: key.2,
                ..DaySummary::default()
            },
            String::new(),
        )
    });
    if at > *latest {
        summary.operator = operator;
        *latest = at;
    }
    Some(summary)
}

/// Every booth day and place this laptop has, newest first, at most `limit`.
pub fn day_summaries(conn: &Connection, limit: usize) -> Result<Vec<DaySummary>, StoreError> {
    let mut days: Days = HashMap::new();
    // SQLite's bare columns beside max(): the operator of the group's latest row.
    let mut stmt = conn.prepare_cached(
        "SELECT event_date, union_name, place, operator, max(at), count(*)
         FROM consultations GROUP BY event_date, union_name, place",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            (r.get(0)?, r.get(1)?, r.get(2)?),
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, u64>(5)?,
        ))
    })?;
    for row in rows {
        let (key, operator, at, n) = row?;
        if let Some(s) = entry(&mut days, key, operator, at) {
            s.consultations = n;
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT event_date, union_name, place, operator, max(created_at),
            sum(state != 'voided'), sum(state = 'voided')
         FROM members WHERE imported = 0 GROUP BY event_date, union_name, place",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            (r.get(0)?, r.get(1)?, r.get(2)?),
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, u64>(5)?,
            r.get::<_, u64>(6)?,
        ))
    })?;
    for row in rows {
        let (key, operator, at, registrations, voids) = row?;
        if let Some(s) = entry(&mut days, key, operator, at) {
            s.registrations = registrations;
            s.voids = voids;
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT event_date, union_name, place, needs FROM consultations WHERE needs != ''",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            (r.get::<_, String>(0)?, r.get(1)?, r.get(2)?),
            r.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (key, needs) = row?;
        if let Some((s, _)) = days.get_mut(&key) {
            for code in needs.split(',').filter(|c| !c.is_empty()) {
                *s.needs.entry(code.to_string()).or_default() += 1;
            }
        }
    }
    let mut out: Vec<DaySummary> = days.into_values().map(|(s, _)| s).collect();
    out.sort_by(|a, b| {
        b.date
            .cmp(&a.date)
            .then_with(|| a.place.cmp(&b.place))
            .then_with(|| a.union.cmp(&b.union))
    });
    out.truncate(limit);
    Ok(out)
}

/// The day's needs named at consultations, code → count (the dashboard adds them to the
/// sign-ups' needs).
pub fn consultation_needs(
    conn: &Connection,
    day: NaiveDate,
) -> Result<BTreeMap<String, u64>, StoreError> {
    let mut needs = BTreeMap::new();
    let mut stmt = conn
        .prepare_cached("SELECT needs FROM consultations WHERE event_date = ?1 AND needs != ''")?;
    for row in stmt.query_map([day.to_string()], |r| r.get::<_, String>(0))? {
        for code in row?.split(',').filter(|c| !c.is_empty()) {
            *needs.entry(code.to_string()).or_default() += 1;
        }
    }
    Ok(needs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use crate::member::{MemberInput, validate};

    fn at(day: u32, hour: u32) -> DateTime<FixedOffset> {
        chrono::DateTime::parse_from_rfc3339(&format!("2026-11-{day:02}T{hour:02}:00:00+08:00"))
            .unwrap()
    }

    fn person(id: &str) -> MemberInput {
        MemberInput {
            name: "葛婷婷".into(),
            id_number: id.into(),
            phone: "13800138000".into(),
            employer: "某公司".into(),
            consent: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_consultation_keeps_the_list_s_needs_once_each_and_nothing_else() {
        let (_d, mut store) = crate::store::test_store();
        let needs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let now = at(24, 9);
        assert_eq!(
            store
                .consult(&needs(&["legal_aid", "skills", "legal_aid", "夜校"]), &now)
                .unwrap(),
            1
        );
        assert_eq!(store.consult(&[], &now).unwrap(), 2);
        let day = now.date_naive();
        let got = consultation_needs(&store.conn, day).unwrap();
        assert_eq!(
            got,
            [("legal_aid".to_string(), 1), ("skills".to_string(), 1)].into()
        );
        // the keys after F6 change the latest one's needs
        assert!(
            store
                .set_last_consultation_needs(day, &needs(&["skills", "childcare"]))
                .unwrap()
        );
        let got = consultation_needs(&store.conn, day).unwrap();
        assert_eq!(got.get("skills"), Some(&2));
        assert_eq!(got.get("childcare"), Some(&1));
        assert!(
            !store
                .set_last_consultation_needs(at(25, 9).date_naive(), &[])
                .unwrap()
        );
        // undo takes the last one back, whatever its needs
        assert!(store.remove_last_consultation(day).unwrap());
        assert_eq!(store.day_figures(day).unwrap().counts.consultations, 1);
    }

    #[test]
    fn summaries_per_day_and_place_count_booth_sign_ups_voids_and_needs() {
        let (_d, mut store) = crate::store::test_store();
        store.set_config("union", "朝阳区总工会", Lang::Zh).unwrap();
        store.set_config("place", "望京", Lang::Zh).unwrap();
        store.set_config("operator", "李", Lang::Zh).unwrap();
        let legal = vec!["legal_aid".to_string()];
        store.consult(&legal, &at(24, 9)).unwrap();
        store.consult(&[], &at(24, 10)).unwrap();
        let event = store.config().unwrap().event();
        let a = validate(&person("11010519491231002X"), at(24, 9).date_naive()).unwrap();
        let b = validate(&person("110105198808080023"), at(24, 9).date_naive()).unwrap();
        let m = store.register(&a, &event, &at(24, 11)).unwrap();
        store.register(&b, &event, &at(24, 11)).unwrap();
        store.void(&m.member_no, "登记错了", &at(24, 12)).unwrap();
        // an import is a member, not a booth sign-up
        let c = validate(&person("320102199303030076"), at(24, 9).date_naive()).unwrap();
        let mut batch = store.import_batch().unwrap();
        batch.register(&c, &event, &at(24, 13)).unwrap();
        batch.commit().unwrap();
        // the next day at another place, with another operator
        store.set_config("place", "亦庄", Lang::Zh).unwrap();
        store.set_config("operator", "王", Lang::Zh).unwrap();
        store.consult(&legal, &at(25, 9)).unwrap();

        let days = store.day_summaries(100).unwrap();
        assert_eq!(days.len(), 2, "{days:?}");
        assert_eq!(
            days[0],
            DaySummary {
                date: at(25, 9).date_naive(),
                union: "朝阳区总工会".into(),
                place: "亦庄".into(),
                operator: "王".into(),
                consultations: 1,
                needs: [("legal_aid".to_string(), 1)].into(),
                registrations: 0,
                voids: 0,
            }
        );
        assert_eq!(
            days[1],
            DaySummary {
                date: at(24, 9).date_naive(),
                union: "朝阳区总工会".into(),
                place: "望京".into(),
                operator: "李".into(),
                consultations: 2,
                needs: [("legal_aid".to_string(), 1)].into(),
                registrations: 1,
                voids: 1,
            }
        );
        // newest first, cut at the limit
        assert_eq!(store.day_summaries(1).unwrap(), days[..1]);
        let imported: bool = store
            .conn
            .query_row(
                "SELECT imported FROM members WHERE event_date = '2026-11-24'
                 AND created_at LIKE '%T13:%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(imported);
    }

    /// A folder from the previous release: its consultations were counted at the booth
    /// configured then (= now), its records are booth sign-ups.
    #[test]
    fn consultations_from_before_get_the_configured_booth() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (i, sql) in super::super::schema::MIGRATIONS.iter().take(5).enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", (i + 1) as i64)
                .unwrap();
        }
        conn.execute(
            "INSERT INTO settings (key, value) VALUES ('place', '望京')",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO consultations (at, event_date) VALUES ('2026-11-24T09:00:00+08:00', '2026-11-24')",
            [],
        )
        .unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        let days = day_summaries(&conn, 10).unwrap();
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].place, "望京");
        assert_eq!(days[0].union, "工会");
        assert_eq!(days[0].operator, "经办人");
        assert_eq!(days[0].consultations, 1);
    }
}
