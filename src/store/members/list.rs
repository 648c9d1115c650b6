//! Many records at once: the records screen's search (keyset paging), the filters that name
//! a group (a day, an employer), and walks over every record of a state or a filter, one row
//! at a time.

use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{Connection, Row, params};

use super::StoredMember;
use super::row::{COLUMNS, bad, from_row};
use crate::card::MemberNo;
use crate::member::{Member, State};
use crate::store::{Store, StoreError, parse_timestamp};

/// A line of the records list: enough to find someone, no ID number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub id: i64,
    pub member_no: MemberNo,
    pub name: Option<String>,
    pub phone_tail: Option<String>,
    pub employer: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub state: State,
}

/// Which records an export or list covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateFilter {
    All,
    Only(State),
}

impl StateFilter {
    pub fn parse(s: &str) -> Option<StateFilter> {
        if s == "all" {
            Some(StateFilter::All)
        } else {
            State::parse(s).map(StateFilter::Only)
        }
    }
}

/// A search of the records list that names a group worth a batch of cards: one booth day
/// (`2026-11-24`), or the workers of an employer (`@顺丰`: the employer's name holds the text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListFilter {
    Date(NaiveDate),
    Employer(String),
}

impl ListFilter {
    /// The filter a search text asks for, if it is one.
    pub fn parse(query: &str) -> Option<ListFilter> {
        let q = crate::member::text::tidy(query);
        if let Some(rest) = q.strip_prefix('@').or_else(|| q.strip_prefix('＠')) {
            let rest = rest.trim();
            return (!rest.is_empty()).then(|| ListFilter::Employer(rest.to_string()));
        }
        NaiveDate::parse_from_str(&q, "%Y-%m-%d")
            .ok()
            .map(ListFilter::Date)
    }

    /// The SQL condition and its one parameter.
    fn condition(&self) -> (&'static str, String) {
        match self {
            ListFilter::Date(d) => ("event_date = ?1", d.format("%Y-%m-%d").to_string()),
            // a scan of the records, on a worker thread; the employer is only in the record
            ListFilter::Employer(e) => (
                "instr(json_extract(record, '$.employer'), ?1) > 0",
                e.clone(),
            ),
        }
    }
}

/// Calls `f` for every record `filter` names, in registration order, one at a time, on any
/// connection to the store (a worker thread's).
pub fn for_each_matching<E: From<StoreError>>(
    conn: &Connection,
    filter: &ListFilter,
    mut f: impl FnMut(StoredMember) -> Result<(), E>,
) -> Result<(), E> {
    let (cond, param) = filter.condition();
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM members WHERE {cond} ORDER BY id"
        ))
        .map_err(StoreError::from)?;
    let mut rows = stmt.query([param]).map_err(StoreError::from)?;
    while let Some(row) = rows.next().map_err(StoreError::from)? {
        f(from_row(row).map_err(StoreError::from)?)?;
    }
    Ok(())
}

/// Search for the records screen: a member-number prefix, the last four digits of a phone,
/// the start of a name, or a [`ListFilter`] (a day, an employer); newest first, `limit` rows before `before_id` (keyset paging:
/// as fast on page 1,000 as on page 1).
pub fn search(
    conn: &Connection,
    query: &str,
    before_id: Option<i64>,
    limit: usize,
) -> Result<Vec<Summary>, StoreError> {
    let q = crate::member::text::tidy(query);
    let before = before_id.unwrap_or(i64::MAX);
    let map = |r: &Row<'_>| -> rusqlite::Result<Summary> {
        let record: Option<String> = r.get(3)?;
        let employer = record
            .and_then(|j| serde_json::from_str::<Member>(&j).ok())
            .map(|m| m.employer);
        Ok(Summary {
            id: r.get(0)?,
            member_no: r
                .get::<_, String>(1)?
                .parse()
                .map_err(|_| bad("member number"))?,
            name: r.get(2)?,
            phone_tail: r.get(4)?,
            employer,
            created_at: parse_timestamp(&r.get::<_, String>(5)?).ok_or_else(|| bad("timestamp"))?,
            state: State::parse(&r.get::<_, String>(6)?).ok_or_else(|| bad("state"))?,
        })
    };
    let select = "SELECT id, member_no, name, record, phone_tail, created_at, state FROM members";
    let limit = limit as i64;
    let rows: Vec<Summary> = if let Some(filter) = ListFilter::parse(&q) {
        let (cond, param) = filter.condition();
        conn.prepare_cached(&format!(
            "{select} WHERE {cond} AND id < ?2 ORDER BY id DESC LIMIT ?3"
        ))?
        .query_map(params![param, before, limit], map)?
        .collect::<Result<_, _>>()?
    } else if q.is_empty() {
        conn.prepare_cached(&format!("{select} WHERE id < ?1 ORDER BY id DESC LIMIT ?2"))?
            .query_map(params![before, limit], map)?
            .collect::<Result<_, _>>()?
    } else if q.len() == 4 && q.bytes().all(|b| b.is_ascii_digit()) {
        conn.prepare_cached(&format!(
            "{select} WHERE phone_tail = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
        ))?
        .query_map(params![q, before, limit], map)?
        .collect::<Result<_, _>>()?
    } else {
        // Member numbers are typed with dashes and look-alikes; names are matched by prefix
        // through the index (GLOB with a literal prefix), never by a full scan.
        let no_prefix: String = q
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .filter_map(crate::card::number::symbol_value)
            .map(|v| crate::card::number::ALPHABET[v as usize] as char)
            .collect();
        let glob_escape = |s: &str| -> String {
            s.chars()
                .map(|c| match c {
                    '*' | '?' | '[' | ']' => format!("[{c}]"),
                    _ => c.to_string(),
                })
                .collect()
        };
        let name_glob = format!("{}*", glob_escape(&q));
        let no_glob =
            if no_prefix.len() >= 3 && q.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                format!("{}*", glob_escape(&no_prefix))
            } else {
                // matches nothing
                "\u{1}".to_string()
            };
        conn
            .prepare_cached(&format!(
                "SELECT * FROM (
                    SELECT * FROM ({select} WHERE name GLOB ?1 AND id < ?3 ORDER BY id DESC LIMIT ?4)
                    UNION
                    SELECT * FROM ({select} WHERE member_no GLOB ?2 AND id < ?3 ORDER BY id DESC LIMIT ?4)
                 ) ORDER BY id DESC LIMIT ?4"
            ))?
            .query_map(params![name_glob, no_glob, before, limit], map)?
            .collect::<Result<_, _>>()?
    };
    Ok(rows)
}

impl Store {
    /// Calls `f` for every record matching `filter`, in registration order, without loading
    /// them all at once.
    pub fn for_each<E: From<StoreError>>(
        &self,
        filter: StateFilter,
        mut f: impl FnMut(StoredMember) -> Result<(), E>,
    ) -> Result<(), E> {
        let (sql, state) = match filter {
            StateFilter::All => (format!("SELECT {COLUMNS} FROM members ORDER BY id"), None),
            StateFilter::Only(s) => (
                format!("SELECT {COLUMNS} FROM members WHERE state = ?1 ORDER BY id"),
                Some(s.code()),
            ),
        };
        let mut stmt = self.conn.prepare(&sql).map_err(StoreError::from)?;
        let mut rows = match state {
            Some(s) => stmt.query([s]),
            None => stmt.query([]),
        }
        .map_err(StoreError::from)?;
        while let Some(row) = rows.next().map_err(StoreError::from)? {
            f(from_row(row).map_err(StoreError::from)?)?;
        }
        Ok(())
    }

    /// Search for the records screen (see [`search`]).
    pub fn search(
        &self,
        query: &str,
        before_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Summary>, StoreError> {
        search(&self.conn, query, before_id, limit)
    }

    /// Recent employers (most frequent today first), for the form's suggestions.
    pub fn recent_employers(
        &self,
        day: NaiveDate,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        // Over the last 500 registrations only (walking the rowid backwards, no index): enough
        // to know the depot of the day, and as cheap after an import of 100,000 as on a
        // quiet day.
        let mut stmt = self.conn.prepare_cached(
            "SELECT json_extract(record, '$.employer') AS e, count(*) AS n FROM
                (SELECT id, record, event_date, state FROM members ORDER BY id DESC LIMIT 500)
             WHERE event_date = ?1 AND record IS NOT NULL AND state != 'voided'
             GROUP BY e ORDER BY n DESC, max(id) DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![day.to_string(), limit as i64], |r| {
            r.get::<_, String>(0)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
