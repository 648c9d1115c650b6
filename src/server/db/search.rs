//! Finding members in the office's database (the console's `/members`): search keys kept
//! beside each record at ingest, what a typed query means, and the keyset-paged list.
//!
//! The record itself is JSON; searching it at 5,000,000 members needs columns with indexes:
//! - `s_name`: the name, folded ([`fold`]); searched by prefix (a surname, a whole name).
//! - `s_phone_tail`: the last four digits of the phone, nothing more (the full number stays in
//!   the record only; an 11-digit query also checks the record's phone on the tail's rows).
//! - `s_employer`: the employer, folded; searched by prefix.
//! - `member_no` (canonical): prefix; `s_union`, `s_place`, `s_form`, `device`, `event_date`:
//!   exact filters.
//!
//! Every list is newest first (`id DESC`) and paged by the last id seen, so page 1,000 costs
//! what page 1 costs. Prefix ranges (`>= p AND < p || U+10FFFF`) compare bytes: SQLite's
//! default collation, and PostgreSQL's C-collated columns (docs/console.md). The one thing
//! spelled per backend is how a name's beginning and a record's phone are matched
//! ([`where_clause`]).

use serde::Serialize;

use rusqlite::{Connection, params};

use super::conn::{Conn, PgConn, Row, Value, args, from_row};
use super::sql::{Backend, sql};
use super::{Db, DbError};
pub use crate::server::batch::{SearchKeys, fold};

/// What the search box's text is taken to mean.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Needle {
    /// Nothing typed: every member.
    All,
    /// A member number or its beginning (canonical symbols).
    MemberNo(String),
    /// Four digits: the phone's last four; eleven digits: a whole mobile number.
    Phone { tail: String, full: Option<String> },
    /// A name's or an employer's beginning (folded).
    Text(String),
}

impl Needle {
    /// Four digits are a phone's tail; a mobile number (1[3-9], eleven digits) a phone; a
    /// whole member number, or ASCII letters and digits mixed (at least five), a member
    /// number's beginning; anything else a name's or employer's beginning.
    pub fn parse(q: &str) -> Needle {
        let f: String = fold(q)
            .chars()
            .filter(|c| !crate::member::text::is_dash(*c))
            .collect();
        if f.is_empty() {
            return Needle::All;
        }
        if let Ok(no) = f.parse::<crate::card::MemberNo>() {
            return Needle::MemberNo(no.as_str().to_string());
        }
        let all_digits = f.chars().all(|c| c.is_ascii_digit());
        if all_digits && f.len() == 4 {
            return Needle::Phone {
                tail: f,
                full: None,
            };
        }
        if all_digits
            && f.len() == 11
            && f.starts_with('1')
            && matches!(f.as_bytes()[1], b'3'..=b'9')
        {
            return Needle::Phone {
                tail: f[7..].to_string(),
                full: Some(f),
            };
        }
        let alnum = f.chars().all(|c| c.is_ascii_alphanumeric());
        if alnum && f.len() >= 5 && f.chars().any(|c| c.is_ascii_digit()) {
            // Crockford's look-alikes, as MemberNo's own parser reads them
            let canon: String = f
                .to_ascii_uppercase()
                .chars()
                .map(|c| match c {
                    'I' | 'L' => '1',
                    'O' => '0',
                    c => c,
                })
                .collect();
            return Needle::MemberNo(canon);
        }
        Needle::Text(f)
    }
}

/// Review states an admin sets per member (SPEC §8): 待审核 / 已审核 / 有疑问.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Review {
    Pending,
    Approved,
    Questioned,
}

impl Review {
    pub const ALL: [Review; 3] = [Review::Pending, Review::Approved, Review::Questioned];

    pub fn code(self) -> &'static str {
        match self {
            Review::Pending => "pending",
            Review::Approved => "approved",
            Review::Questioned => "questioned",
        }
    }

    pub fn parse(s: &str) -> Option<Review> {
        Review::ALL.into_iter().find(|r| r.code() == s)
    }

    /// A member's state as stored: no review row (or an unknown code) is pending.
    pub fn of_stored(status: Option<String>) -> Review {
        status
            .as_deref()
            .and_then(Review::parse)
            .unwrap_or(Review::Pending)
    }
}

/// A filtered view of the members (the list, and its export).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberFilter {
    pub needle: Option<Needle>,
    pub union: Option<String>,
    pub place: Option<String>,
    pub device: Option<String>,
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    pub review: Option<Review>,
    pub form: Option<String>,
}

/// One member as the list shows it (the record is masked by the page, not here).
#[derive(Clone, Debug)]
pub struct ListRow {
    pub id: i64,
    pub uuid: String,
    pub member_no: String,
    pub record: String,
    pub device: String,
    pub event_date: String,
    pub received_at: String,
    pub review: Review,
}

/// The end of a prefix range: every string starting with `p` is below it.
fn prefix_end(p: &str) -> String {
    format!("{p}\u{10FFFF}")
}

/// `p` as a LIKE pattern for the texts that begin with it (`\` escapes).
fn like_prefix(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 1);
    for c in p.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The WHERE clause and parameters of a filter (`$n` placeholders), as `backend` runs it best:
/// - a name's or employer's beginning: PostgreSQL plans `LIKE 'p%'` from the histogram's own
///   entries (a common surname: walk the newest rows; a rare one: the index), where a byte
///   range `>= p AND < p||U+10FFFF` of CJK text is estimated at almost no rows, and a surname
///   shared by 50,000 members was sorted whole (0.3–0.8 s). SQLite's LIKE ignores case and
///   skips the index: a range there.
/// - the record's phone: each database's own JSON accessor.
pub(crate) fn where_clause(
    f: &MemberFilter,
    before: Option<i64>,
    backend: Backend,
) -> (String, Vec<Value>) {
    let mut parts = vec!["m.erased_at IS NULL".to_string()];
    let mut params: Vec<Value> = Vec::new();
    let push = |p: String, params: &mut Vec<Value>| {
        params.push(Value::Text(p));
        params.len()
    };
    match &f.needle {
        None | Some(Needle::All) => {}
        Some(Needle::MemberNo(p)) => {
            let a = push(p.clone(), &mut params);
            let b = push(prefix_end(p), &mut params);
            parts.push(format!(
                "(m.member_no COLLATE \"C\") >= ${a} AND (m.member_no COLLATE \"C\") < ${b}"
            ));
        }
        Some(Needle::Phone { tail, full }) => {
            let a = push(tail.clone(), &mut params);
            parts.push(format!("m.s_phone_tail = ${a}"));
            if let Some(full) = full {
                let b = push(full.clone(), &mut params);
                parts.push(match backend {
                    Backend::Sqlite => format!("json_extract(m.record, '$.phone') = ${b}"),
                    Backend::Postgres => format!("(m.record::json->>'phone') = ${b}"),
                });
            }
        }
        Some(Needle::Text(p)) if backend == Backend::Postgres => {
            let a = push(like_prefix(p), &mut params);
            parts.push(format!("(m.s_name LIKE ${a} OR m.s_employer LIKE ${a})"));
        }
        Some(Needle::Text(p)) => {
            let a = push(p.clone(), &mut params);
            let b = push(prefix_end(p), &mut params);
            parts.push(format!(
                "((m.s_name >= ${a} AND m.s_name < ${b}) OR (m.s_employer >= ${a} AND m.s_employer < ${b}))"
            ));
        }
    }
    // a date is bound as text and compared with PostgreSQL's DATE column
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string());
    for (compared, value, cast) in [
        ("m.s_union =", f.union.clone(), ""),
        ("m.s_place =", f.place.clone(), ""),
        ("m.device =", f.device.clone(), ""),
        ("m.s_form =", f.form.clone(), ""),
        ("m.event_date >=", date(f.from), "::text::date"),
        ("m.event_date <=", date(f.to), "::text::date"),
    ] {
        if let Some(v) = value {
            let n = push(v, &mut params);
            parts.push(format!("{compared} ${n}{cast}"));
        }
    }
    match f.review {
        None => {}
        Some(Review::Pending) => parts.push(
            "NOT EXISTS (SELECT 1 FROM member_reviews r WHERE r.member_id = m.id AND r.status <> 'pending')"
                .into(),
        ),
        Some(r) => {
            let n = push(r.code().into(), &mut params);
            parts.push(format!(
                "EXISTS (SELECT 1 FROM member_reviews r WHERE r.member_id = m.id AND r.status = ${n})"
            ));
        }
    }
    if let Some(b) = before {
        params.push(Value::Int(b));
        parts.push(format!("m.id < ${}", params.len()));
    }
    (parts.join(" AND "), params)
}

impl Db {
    /// Up to `limit` members matching `filter`, newest first, below id `before`.
    pub async fn search_members(
        &self,
        filter: &MemberFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ListRow>, DbError> {
        let (w, params) = where_clause(filter, before, self.backend());
        let sql = format!(
            "SELECT {} FROM members m WHERE {w} ORDER BY m.id DESC LIMIT {limit}",
            list_columns!()
        );
        self.query(sql, params, list_row).await
    }

    /// Fills the search keys of records stored before the console existed (or by an older
    /// server), a page at a time; returns how many were filled.
    pub async fn backfill_search_keys(&self) -> Result<u64, DbError> {
        let mut total = 0u64;
        loop {
            let unkeyed = sql!(
                "SELECT id, record FROM members WHERE s_name IS NULL AND erased_at IS NULL
                 ORDER BY id LIMIT 2000"
            );
            let rows = self
                .query(unkeyed, args![], |r| Ok((r.int(0)?, r.text(1)?)))
                .await?;
            if rows.is_empty() {
                return Ok(total);
            }
            let keyed: Vec<(i64, SearchKeys)> = rows
                .into_iter()
                .map(|(id, record)| (id, keys_of_record(&record)))
                .collect();
            total += keyed.len() as u64;
            self.transaction(move |c| Box::pin(set_keys(c, keyed)))
                .await?;
        }
    }
}

/// Stores the keys of records that had none: a statement per row on SQLite, one on PostgreSQL.
async fn set_keys(c: &Conn<'_>, keyed: Vec<(i64, SearchKeys)>) -> Result<(), DbError> {
    match c {
        Conn::Sqlite(s) => set_keys_sqlite(&s.lock(), &keyed),
        Conn::Pg(p) => set_keys_postgres(p, &keyed).await,
    }
}

/// Fills the search keys of records stored before they existed.
fn set_keys_sqlite(tx: &Connection, keyed: &[(i64, SearchKeys)]) -> Result<(), DbError> {
    let mut up = tx.prepare_cached(
        "UPDATE members SET s_name = ?2, s_phone_tail = ?3, s_employer = ?4,
            s_union = ?5, s_place = ?6, s_form = ?7 WHERE id = ?1",
    )?;
    for (id, k) in keyed {
        up.execute(params![
            id,
            k.name,
            k.phone_tail,
            k.employer,
            k.union,
            k.place,
            k.form
        ])?;
    }
    Ok(())
}

/// Fills the search keys of records stored before they existed, in one statement.
async fn set_keys_postgres(tx: &PgConn<'_>, keyed: &[(i64, SearchKeys)]) -> Result<(), DbError> {
    let col =
        |f: fn(&SearchKeys) -> String| -> Vec<String> { keyed.iter().map(|(_, k)| f(k)).collect() };
    let ids: Vec<i64> = keyed.iter().map(|(id, _)| *id).collect();
    let forms: Vec<Option<String>> = keyed.iter().map(|(_, k)| k.form.clone()).collect();
    tx.execute(
        "UPDATE members m SET s_name = t.n, s_phone_tail = t.p, s_employer = t.e,
            s_union = t.u, s_place = t.pl, s_form = t.f
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
            $6::text[], $7::text[]) AS t(id, n, p, e, u, pl, f)
         WHERE m.id = t.id",
        &[
            &ids,
            &col(|k| k.name.clone()),
            &col(|k| k.phone_tail.clone()),
            &col(|k| k.employer.clone()),
            &col(|k| k.union.clone()),
            &col(|k| k.place.clone()),
            &forms,
        ],
    )
    .await?;
    Ok(())
}

/// The keys of a stored record; a record that does not parse gets empty keys (it is then
/// found by member number only, and not filled again).
pub fn keys_of_record(record: &str) -> SearchKeys {
    match serde_json::from_str::<crate::protocol::WireRecord>(record) {
        Ok(r) => SearchKeys::of(&r.member, &r.union, &r.place),
        Err(_) => SearchKeys::default(),
    }
}

/// The columns of a [`ListRow`] over `members m` (a literal, so other statements can begin
/// with them: `concat!("SELECT ", list_columns!(), …)`).
macro_rules! list_columns {
    () => {
        "m.id, m.uuid, m.member_no, m.record, m.device, m.event_date::text, \
         utc_text(m.received_at), \
         (SELECT r.status FROM member_reviews r WHERE r.member_id = m.id)"
    };
}
pub(crate) use list_columns;

/// How many columns [`list_columns!`] reads.
pub(crate) const LIST_WIDTH: usize = 8;

pub(crate) fn list_row(r: &dyn Row) -> Result<ListRow, DbError> {
    Ok(from_row! { r => ListRow {
        id: int, uuid: text, member_no: text, record: text, device: text, event_date: text,
        received_at: text, review: review
    } })
}

/// A member's review state as a column (`member_reviews.status`, NULL when never reviewed).
trait ReviewColumn {
    fn review(&self, i: usize) -> Result<Review, DbError>;
}

impl ReviewColumn for dyn Row + '_ {
    fn review(&self, i: usize) -> Result<Review, DbError> {
        Ok(Review::of_stored(self.opt_text(i)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_member_number_is_exact_in_any_spelling() {
        let no = crate::card::MemberNo::new("K7M2QX", 42).unwrap();
        let grouped = no.grouped().to_lowercase();
        assert_eq!(
            Needle::parse(&grouped),
            Needle::MemberNo(no.as_str().to_string())
        );
    }

    #[test]
    fn a_typed_percent_or_underscore_is_itself_in_a_like_prefix() {
        assert_eq!(like_prefix("王"), "王%");
        assert_eq!(like_prefix("50%_a\\b"), "50\\%\\_a\\\\b%");
        let f = MemberFilter {
            needle: Some(Needle::parse("王")),
            ..Default::default()
        };
        let (sql, params) = where_clause(&f, None, Backend::Postgres);
        assert!(
            sql.contains("m.s_name LIKE $1 OR m.s_employer LIKE $1"),
            "{sql}"
        );
        assert_eq!(params, [Value::Text("王%".into())]);
        let (sql, _) = where_clause(&f, None, Backend::Sqlite);
        assert!(sql.contains("m.s_name >= $1 AND m.s_name < $2"), "{sql}");
    }

    #[test]
    fn queries_mean_what_an_office_types() {
        assert_eq!(Needle::parse("  "), Needle::All);
        assert_eq!(
            Needle::parse("8000"),
            Needle::Phone {
                tail: "8000".into(),
                full: None
            }
        );
        assert_eq!(
            Needle::parse("138-0013-8000"),
            Needle::Phone {
                tail: "8000".into(),
                full: Some("13800138000".into())
            }
        );
        assert_eq!(Needle::parse("葛婷"), Needle::Text("葛婷".into()));
        assert_eq!(Needle::parse("京东 物流"), Needle::Text("京东物流".into()));
        assert_eq!(Needle::parse("ＪＤ"), Needle::Text("jd".into()));
        assert_eq!(Needle::parse("k7m2q"), Needle::MemberNo("K7M2Q".into()));
        assert_eq!(Needle::parse("k7m2qo"), Needle::MemberNo("K7M2Q0".into()));
    }

    #[test]
    fn folding_makes_keys_and_queries_agree() {
        assert_eq!(fold("Ｊｏｈｎ　Ｓｍｉｔｈ"), "johnsmith");
        assert_eq!(fold("北京 京东"), "北京京东");
        assert!(prefix_end("葛").as_str() > "葛婷婷");
    }
}
