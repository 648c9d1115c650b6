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
use super::unions::scope_condition;
use super::{Db, DbError, REVOKED_BY_LAPTOP};
pub use crate::member::state::CardStatus;
pub use crate::server::batch::{SearchKeys, fold};
use crate::server::unions::Scope;

/// What the search box's text is taken to mean.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Needle {
    /// Nothing typed: every member.
    All,
    /// A member number or its beginning (canonical symbols).
    MemberNo(String),
    /// Four digits: the phone's last four; eleven digits: a whole mobile number.
    Phone { tail: String, full: Option<String> },
    /// A name's or an employer's beginning (folded), or a part (two characters or more) of
    /// an employer's or a union's name.
    Text(String),
    /// A whole document number: the person keys it may be (`Document::person_key`), found
    /// through the unique person key's index; `or_member_no` when the same text could also
    /// begin a member number (a passport's shape).
    Document {
        keys: Vec<String>,
        or_member_no: Option<String>,
    },
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
        let member_no =
            (alnum && f.len() >= 5 && f.chars().any(|c| c.is_ascii_digit())).then(|| {
                // Crockford's look-alikes, as MemberNo's own parser reads them
                f.to_ascii_uppercase()
                    .chars()
                    .map(|c| match c {
                        'I' | 'L' => '1',
                        'O' => '0',
                        c => c,
                    })
                    .collect::<String>()
            });
        let keys = document_keys(&f);
        if !keys.is_empty() {
            // a member number has 11 symbols (device, sequence, check): a longer text begins none
            use crate::card::number::{DEVICE_LEN, SEQ_LEN};
            let member_no_len = DEVICE_LEN + SEQ_LEN + 1;
            return Needle::Document {
                keys,
                or_member_no: member_no.filter(|p| p.len() <= member_no_len),
            };
        }
        match member_no {
            Some(no) => Needle::MemberNo(no),
            None => Needle::Text(f),
        }
    }

    /// A whole phone or document number: an admin's search (SPEC §8, the security rules).
    pub fn is_full_number(&self) -> bool {
        matches!(
            self,
            Needle::Phone { full: Some(_), .. } | Needle::Document { .. }
        )
    }

    /// The same search for someone who may not search by a whole number: a passport's shape
    /// is still a member number's beginning; anything else is nothing to search by.
    pub fn without_full_number(self) -> Option<Needle> {
        match self {
            Needle::Document {
                or_member_no: Some(no),
                ..
            } => Some(Needle::MemberNo(no)),
            Needle::Document { .. } | Needle::Phone { full: Some(_), .. } => None,
            n => Some(n),
        }
    }
}

/// The person keys a typed number may be (`Document::person_key` of each kind it fits):
/// an 18-character number of the ID family with its check character right; a passport or
/// a Hong Kong / Macao permit (one or two letters, then 5–9 digits: `E12345678`,
/// `H1234567801`); a Taiwan permit (8 digits). Nothing for anything else.
fn document_keys(folded: &str) -> Vec<String> {
    use crate::member::document::{check_char, normalize_number};
    let n = normalize_number(folded);
    let b = n.as_bytes();
    if b.len() == 18 && b[..17].iter().all(u8::is_ascii_digit) {
        return if check_char(&b[..17]) as u8 == b[17] {
            vec![n]
        } else {
            Vec::new()
        };
    }
    let letters = b.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    let digits_after = b[letters..].iter().all(u8::is_ascii_digit);
    if (1..=2).contains(&letters) && digits_after && (letters + 5..=letters + 9).contains(&b.len())
    {
        let mut keys = vec![format!("P:{n}")];
        keys.push(format!("HM:{}", &n[..n.len().min(9)]));
        return keys;
    }
    if b.len() == 8 && b.iter().all(u8::is_ascii_digit) {
        return vec![format!("TW:{n}")];
    }
    Vec::new()
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
    /// 有效 / 已作废 / 已撤销: a card's state at the office.
    pub status: Option<CardStatus>,
    /// The user's part of the union tree (SPEC §11): the members of its laptops only,
    /// written into the query itself.
    pub scope: Scope,
}

/// How a list is ordered: the newest received first (keyset-paged by id), or by the
/// registration date, the name or the union (paged by position).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    Newest,
    Date,
    Name,
    Union,
}

impl Sort {
    pub const ALL: [Sort; 4] = [Sort::Newest, Sort::Date, Sort::Name, Sort::Union];

    pub fn code(self) -> &'static str {
        match self {
            Sort::Newest => "new",
            Sort::Date => "date",
            Sort::Name => "name",
            Sort::Union => "union",
        }
    }

    pub fn parse(s: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|x| x.code() == s)
    }

    fn order_by(self) -> &'static str {
        match self {
            Sort::Newest => "m.id DESC",
            Sort::Date => "m.event_date DESC, m.id DESC",
            Sort::Name => "m.s_name, m.id",
            Sort::Union => "m.s_union, m.event_date DESC, m.id DESC",
        }
    }
}

/// Where a page of a list starts: below an id (newest first), or after so many rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    Before(i64),
    Offset(i64),
}

/// The employer and union names a part of a name matched (`search_names`), when they are
/// few enough to be named in the query; `None`: many (the query reads the table itself).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    pub employers: Vec<String>,
    pub unions: Vec<String>,
}

/// More matched names than this and the members' rows are walked newest first instead.
const NAMES_NAMED: i64 = 400;

/// Migration (both databases): a union's or a place's members over a date range — the
/// dashboard's drill-down into the list — by one index range. Without it PostgreSQL counts
/// them by AND-ing two bitmaps of half a million entries each at 5 M members (0.3–0.4 s).
pub(crate) const UNION_PLACE_DATE_MIGRATION: &str = "
    CREATE INDEX members_union_date ON members (s_union, event_date);
    CREATE INDEX members_place_date ON members (s_place, event_date);
";

/// What a search looks up before its statement is written.
#[derive(Debug, Default)]
pub(crate) struct Lookups {
    /// The employer and union names an infix matches (when few do).
    pub names: Option<Names>,
    /// A scoped user's laptops (`None`: everything, or not looked up).
    pub devices: Option<Vec<String>>,
}

/// A result count is exact up to here ("超过 1,000 人" past it): counting further reads a heap
/// row per match (a surname held by 1 % of 5 M members: 10,000 rows, 60–70 ms, the list
/// itself 6 ms), and a clerk looking for one person narrows a search long before.
pub const COUNT_CAP: i64 = 1_000;

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
    /// Revoked at the office or voided on the laptop, and why (the office's own record).
    pub status: CardStatus,
    pub status_reason: String,
}

/// The end of a prefix range: every string starting with `p` is below it.
fn prefix_end(p: &str) -> String {
    format!("{p}\u{10FFFF}")
}

/// `p` as a LIKE pattern for the texts that begin with it (`\` escapes).
fn like_prefix(p: &str) -> String {
    let mut out = like_escaped(p);
    out.push('%');
    out
}

/// `p` with LIKE's `%`, `_` and `\` escaped.
fn like_escaped(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 1);
    for c in p.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `p` as a LIKE pattern for the texts that hold it anywhere.
fn like_infix(p: &str) -> String {
    format!("%{}%", like_escaped(p))
}

/// A part of a name worth looking for inside names: two characters or more.
fn is_infix(p: &str) -> bool {
    p.chars().count() >= 2
}

/// The WHERE clause and parameters of a filter (`$n` placeholders), as `backend` runs it best:
/// - a name's or employer's beginning: PostgreSQL plans `LIKE 'p%'` from the histogram's own
///   entries (a common surname: walk the newest rows; a rare one: the index), where a byte
///   range `>= p AND < p||U+10FFFF` of CJK text is estimated at almost no rows, and a surname
///   shared by 50,000 members was sorted whole (0.3–0.8 s). SQLite's LIKE ignores case and
///   skips the index: a range there.
/// - a part of an employer's or union's name: the names it matched (`names`, looked up first
///   in `search_names`) as a list the members' indexes serve; when they are many (a part as
///   common as 公司), the table itself, read while the newest rows are walked.
/// - the record's phone: each database's own JSON accessor.
pub(crate) fn where_clause(
    f: &MemberFilter,
    before: Option<i64>,
    backend: Backend,
    looked: &Lookups,
) -> (String, Vec<Value>) {
    let names = looked.names.as_ref();
    let mut parts = vec!["m.erased_at IS NULL".to_string()];
    let mut params: Vec<Value> = Vec::new();
    let push = |p: String, params: &mut Vec<Value>| {
        params.push(Value::Text(p));
        params.len()
    };
    // first, so that no other part of a search is ever read outside the user's part: the
    // node's laptops as a list when they were looked up (the planner then knows a street
    // reads 2 laptops of 500 and takes their index), else as a subquery
    match (&f.scope, &looked.devices) {
        (Scope::All, _) => {}
        (Scope::Under(_), Some(list)) if list.is_empty() => parts.push("1 = 0".into()),
        (Scope::Under(_), Some(list)) => {
            let list: Vec<String> = list
                .iter()
                .map(|d| format!("${}", push(d.clone(), &mut params)))
                .collect();
            parts.push(format!("m.device IN ({})", list.join(", ")));
        }
        (Scope::Under(_), None) => {
            if let Some(c) = scope_condition(&f.scope, "m.device", &mut params) {
                parts.push(c);
            }
        }
    }
    let member_no = |p: &str, params: &mut Vec<Value>| {
        let a = push(p.to_string(), params);
        let b = push(prefix_end(p), params);
        format!("(m.member_no COLLATE \"C\") >= ${a} AND (m.member_no COLLATE \"C\") < ${b}")
    };
    match &f.needle {
        None | Some(Needle::All) => {}
        Some(Needle::MemberNo(p)) => {
            let w = member_no(p, &mut params);
            parts.push(w);
        }
        Some(Needle::Document { keys, or_member_no }) => {
            let list: Vec<String> = keys
                .iter()
                .map(|k| format!("${}", push(k.clone(), &mut params)))
                .collect();
            let by_key = format!("m.person_key IN ({})", list.join(", "));
            parts.push(match or_member_no {
                Some(p) => format!("({by_key} OR ({}))", member_no(p, &mut params)),
                None => by_key,
            });
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
        Some(Needle::Text(p)) => {
            let mut any = Vec::new();
            if backend == Backend::Postgres {
                let a = push(like_prefix(p), &mut params);
                any.push(format!("m.s_name LIKE ${a}"));
                if !is_infix(p) {
                    any.push(format!("m.s_employer LIKE ${a}"));
                }
            } else {
                let a = push(p.clone(), &mut params);
                let b = push(prefix_end(p), &mut params);
                any.push(format!("(m.s_name >= ${a} AND m.s_name < ${b})"));
                if !is_infix(p) {
                    any.push(format!("(m.s_employer >= ${a} AND m.s_employer < ${b})"));
                }
            }
            if is_infix(p) {
                match names {
                    Some(n) => {
                        for (column, list) in [("s_employer", &n.employers), ("s_union", &n.unions)]
                        {
                            if list.is_empty() {
                                continue;
                            }
                            let list: Vec<String> = list
                                .iter()
                                .map(|v| format!("${}", push(v.clone(), &mut params)))
                                .collect();
                            any.push(format!("m.{column} IN ({})", list.join(", ")));
                        }
                    }
                    None => {
                        let a = push(like_infix(p), &mut params);
                        for (column, kind) in [("s_employer", "employer"), ("s_union", "union")] {
                            any.push(format!(
                                "m.{column} IN (SELECT n.name FROM search_names n \
                                 WHERE n.kind = '{kind}' AND n.name LIKE ${a} ESCAPE '\\')"
                            ));
                        }
                    }
                }
            }
            parts.push(format!("({})", any.join(" OR ")));
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
    let revoked = "SELECT 1 FROM revoked v WHERE v.member_no = m.member_no";
    match f.status {
        None => {}
        Some(CardStatus::Valid) => parts.push(format!("NOT EXISTS ({revoked})")),
        Some(s) => {
            let n = push(REVOKED_BY_LAPTOP.into(), &mut params);
            let op = if s == CardStatus::Voided { "=" } else { "<>" };
            parts.push(format!("EXISTS ({revoked} AND v.source {op} ${n})"));
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
        let from = before.map(Start::Before);
        self.list_members(filter, Sort::Newest, from, limit).await
    }

    /// Up to `limit` members matching `filter` in the order `sort`, from `from`.
    pub async fn list_members(
        &self,
        filter: &MemberFilter,
        sort: Sort,
        from: Option<Start>,
        limit: i64,
    ) -> Result<Vec<ListRow>, DbError> {
        let looked = self.lookups(filter).await?;
        let before = match from {
            Some(Start::Before(id)) if sort == Sort::Newest => Some(id),
            _ => None,
        };
        let offset = match from {
            Some(Start::Offset(n)) if sort != Sort::Newest => n.max(0),
            _ => 0,
        };
        let (w, params) = where_clause(filter, before, self.backend(), &looked);
        let sql = format!(
            "SELECT {} FROM members m WHERE {w} ORDER BY {} LIMIT {limit} OFFSET {offset}",
            list_columns!(),
            sort.order_by()
        );
        self.query(sql, params, list_row).await
    }

    /// How many members match `filter`, counted up to [`COUNT_CAP`] + 1 (a list says "约" past it).
    pub async fn count_members(&self, filter: &MemberFilter) -> Result<i64, DbError> {
        let looked = self.lookups(filter).await?;
        let (w, params) = where_clause(filter, None, self.backend(), &looked);
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM members m WHERE {w} LIMIT {}) t",
            COUNT_CAP + 1
        );
        Ok(self
            .query(sql, params, |r| r.int(0))
            .await?
            .into_iter()
            .next()
            .unwrap_or(0))
    }

    /// What a search's statement names: the names its infix matches, a scoped user's laptops.
    async fn lookups(&self, filter: &MemberFilter) -> Result<Lookups, DbError> {
        Ok(Lookups {
            names: self.names_of(filter).await?,
            devices: self.scope_devices(&filter.scope).await?,
        })
    }

    /// The employer and union names holding a typed part (two characters or more), when at
    /// most [`NAMES_NAMED`] do; `None` for any other search, or when more do.
    async fn names_of(&self, filter: &MemberFilter) -> Result<Option<Names>, DbError> {
        let Some(Needle::Text(p)) = &filter.needle else {
            return Ok(None);
        };
        if !is_infix(p) {
            return Ok(None);
        }
        let found = self
            .query(
                sql!(
                    "SELECT kind, name FROM search_names WHERE name LIKE $1 ESCAPE '\\'
                     LIMIT $2"
                ),
                args![like_infix(p), NAMES_NAMED + 1],
                |r| Ok((r.text(0)?, r.text(1)?)),
            )
            .await?;
        if found.len() as i64 > NAMES_NAMED {
            return Ok(None);
        }
        let mut names = Names::default();
        for (kind, name) in found {
            if kind == "union" {
                names.unions.push(name);
            } else {
                names.employers.push(name);
            }
        }
        Ok(Some(names))
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
         (SELECT r.status FROM member_reviews r WHERE r.member_id = m.id), \
         (SELECT rv.source FROM revoked rv WHERE rv.member_no = m.member_no), \
         (SELECT rv.reason FROM revoked rv WHERE rv.member_no = m.member_no)"
    };
}
pub(crate) use list_columns;

/// How many columns [`list_columns!`] reads.
pub(crate) const LIST_WIDTH: usize = 10;

pub(crate) fn list_row(r: &dyn Row) -> Result<ListRow, DbError> {
    Ok(from_row! { r => ListRow {
        id: int, uuid: text, member_no: text, record: text, device: text, event_date: text,
        received_at: text, review: review, status: card_status, status_reason: text_or_empty
    } })
}

/// A card's state at the office from `revoked.source` (NULL: valid).
pub fn card_status(source: Option<&str>) -> CardStatus {
    match source {
        None => CardStatus::Valid,
        Some(REVOKED_BY_LAPTOP) => CardStatus::Voided,
        Some(_) => CardStatus::Revoked,
    }
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

/// A card's state as a column (`revoked.source`, NULL when not revoked).
trait StatusColumn {
    fn card_status(&self, i: usize) -> Result<CardStatus, DbError>;
}

impl StatusColumn for dyn Row + '_ {
    fn card_status(&self, i: usize) -> Result<CardStatus, DbError> {
        Ok(card_status(self.opt_text(i)?.as_deref()))
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
        let (sql, params) = where_clause(&f, None, Backend::Postgres, &Lookups::default());
        assert!(
            sql.contains("m.s_name LIKE $1 OR m.s_employer LIKE $1"),
            "{sql}"
        );
        assert_eq!(params, [Value::Text("王%".into())]);
        let (sql, _) = where_clause(&f, None, Backend::Sqlite, &Lookups::default());
        assert!(sql.contains("m.s_name >= $1 AND m.s_name < $2"), "{sql}");
    }

    /// A node's user's search carries the node in the statement itself, before any other
    /// part (its parameter first); the root's carries nothing.
    #[test]
    fn a_scoped_search_is_of_the_node_s_laptops_in_the_query() {
        let mut f = MemberFilter {
            needle: Some(Needle::parse("王")),
            scope: Scope::Under("D1".into()),
            ..Default::default()
        };
        let (sql, params) = where_clause(&f, Some(9), Backend::Postgres, &Lookups::default());
        assert!(
            sql.contains("m.device IN (SELECT sd.name FROM devices sd JOIN union_closure sc"),
            "{sql}"
        );
        assert!(sql.contains("sc.ancestor = $1") && sql.contains("m.s_name LIKE $2"));
        assert_eq!(
            params,
            [
                Value::Text("D1".into()),
                Value::Text("王%".into()),
                Value::Int(9)
            ]
        );
        f.scope = Scope::All;
        let (sql, params) = where_clause(&f, None, Backend::Sqlite, &Lookups::default());
        assert!(!sql.contains("union_closure"), "{sql}");
        assert_eq!(params.len(), 2);
    }

    /// Looked up first, a node's laptops are the statement's first list; a node without any
    /// reads nothing.
    #[test]
    fn a_scoped_search_lists_the_node_s_laptops_when_looked_up() {
        let f = MemberFilter {
            needle: Some(Needle::parse("王")),
            scope: Scope::Under("S11".into()),
            ..Default::default()
        };
        let looked = Lookups {
            devices: Some(vec!["lap-a".into(), "lap-b".into()]),
            ..Default::default()
        };
        let (sql, params) = where_clause(&f, None, Backend::Postgres, &looked);
        assert!(sql.contains("m.device IN ($1, $2) AND"), "{sql}");
        assert_eq!(
            params[..2],
            [Value::Text("lap-a".into()), Value::Text("lap-b".into())]
        );
        let none = Lookups {
            devices: Some(Vec::new()),
            ..Default::default()
        };
        let (sql, _) = where_clause(&f, None, Backend::Sqlite, &none);
        assert!(sql.contains("1 = 0"), "{sql}");
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
