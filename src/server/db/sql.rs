//! A statement written once, in PostgreSQL's spelling, and how each backend is given it.
//!
//! The few places where the two databases spell one statement differently are rewritten here,
//! outside quoted strings and identifiers (a `$` or `::` inside `'…'` stays as it is):
//!
//! | written            | PostgreSQL runs                          | SQLite runs                   |
//! |--------------------|------------------------------------------|-------------------------------|
//! | `$n`               | `$n`                                     | `?n`                          |
//! | `x::type`          | `x::type`                                | `x` (dates are text already)  |
//! | `COLLATE "C"`      | `COLLATE "C"`                            | nothing (it compares bytes)   |
//! | `FOR UPDATE`       | `FOR UPDATE`                             | nothing (its write transaction holds the file) |
//! | `now()`            | `now()` (the transaction's start)        | `?k`, bound to the transaction's time |
//! | `utc_text(x)`      | `to_char(x AT TIME ZONE 'UTC', …)`       | `x` (kept as that text)       |
//!
//! `now()` becomes the parameter after the statement's highest one, and the connection binds
//! the time its call or transaction began (RFC 3339 UTC with milliseconds, what SQLite's TEXT
//! columns hold), so every row one transaction writes carries one time, as on PostgreSQL.
//! `utc_text` gives both backends' timestamps one text form for pages and exports.
//!
//! A fixed statement ([`Sql`], made by [`sql!`]) is rewritten once per process and
//! kept; a statement built at run time (a search's filter) is rewritten per call, which costs
//! far less than the query.

use std::borrow::Cow;
use std::sync::OnceLock;

/// Which database a statement is spelled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// A statement as one backend runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Spelled {
    pub text: String,
    /// SQLite: the parameter `now()` became.
    pub now: Option<usize>,
}

/// A fixed statement: its text and, once asked for, each backend's spelling.
pub(crate) struct Sql {
    text: &'static str,
    sqlite: OnceLock<Spelled>,
    postgres: OnceLock<Spelled>,
}

impl Sql {
    pub(crate) const fn new(text: &'static str) -> Sql {
        Sql {
            text,
            sqlite: OnceLock::new(),
            postgres: OnceLock::new(),
        }
    }

    pub(crate) fn spelled(&self, backend: Backend) -> &Spelled {
        let cell = match backend {
            Backend::Sqlite => &self.sqlite,
            Backend::Postgres => &self.postgres,
        };
        cell.get_or_init(|| spell(self.text, backend))
    }
}

/// A fixed statement, kept in a `static` of its own where it is written: `sql!("SELECT …")`.
macro_rules! sql {
    ($text:expr) => {{
        static STATEMENT: $crate::server::db::sql::Sql = $crate::server::db::sql::Sql::new($text);
        &STATEMENT
    }};
}
pub(crate) use sql;

/// What a connection is asked to run: a fixed statement (prepared once and cached by both
/// backends) or one built at run time (PostgreSQL plans it with its values each time, which a
/// search wants: a plan made once for a common surname walks the table for a rare one).
#[derive(Clone)]
pub(crate) enum Stmt<'s> {
    Fixed(&'static Sql),
    Built(Cow<'s, str>),
}

impl Stmt<'_> {
    pub(crate) fn spelled(&self, backend: Backend) -> Cow<'_, Spelled> {
        match self {
            Stmt::Fixed(s) => Cow::Borrowed(s.spelled(backend)),
            Stmt::Built(text) => Cow::Owned(spell(text, backend)),
        }
    }

    pub(crate) fn is_fixed(&self) -> bool {
        matches!(self, Stmt::Fixed(_))
    }
}

impl From<&'static Sql> for Stmt<'static> {
    fn from(s: &'static Sql) -> Self {
        Stmt::Fixed(s)
    }
}

impl From<String> for Stmt<'static> {
    fn from(s: String) -> Self {
        Stmt::Built(Cow::Owned(s))
    }
}

impl<'s> From<&'s str> for Stmt<'s> {
    fn from(s: &'s str) -> Self {
        Stmt::Built(Cow::Borrowed(s))
    }
}

impl<'s> From<&'s String> for Stmt<'s> {
    fn from(s: &'s String) -> Self {
        Stmt::Built(Cow::Borrowed(s))
    }
}

/// Stands for `now()` in SQLite's text until the statement's highest parameter is known.
const NOW_MARK: &str = "\u{0}now\u{0}";

/// `sql` as `backend` runs it (see the module's table).
pub(crate) fn spell(sql: &str, backend: Backend) -> Spelled {
    let mut max_param = 0;
    let mut uses_now = false;
    let text = rewrite(sql, backend, &mut max_param, &mut uses_now);
    if uses_now {
        let k = max_param + 1;
        Spelled {
            text: text.replace(NOW_MARK, &format!("?{k}")),
            now: Some(k),
        }
    } else {
        Spelled { text, now: None }
    }
}

fn rewrite(sql: &str, backend: Backend, max_param: &mut usize, uses_now: &mut bool) -> String {
    let sqlite = backend == Backend::Sqlite;
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 16);
    // `sql[plain..i]` is copied as it is when something to rewrite (or the end) is reached
    let mut plain = 0;
    let mut i = 0;
    while i < b.len() {
        let rest = &sql[i..];
        let word_start = i == 0 || !is_word(b[i - 1]);
        let (skip, put): (usize, Cow<str>) = match b[i] {
            b'\'' | b'"' => {
                let end = quoted_end(b, i);
                (end - i, Cow::Borrowed(&sql[i..end]))
            }
            b'-' if rest.starts_with("--") => {
                let end = rest.find('\n').map_or(b.len(), |n| i + n);
                (end - i, Cow::Borrowed(&sql[i..end]))
            }
            b'$' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let digits = count(b, i + 1, |c| c.is_ascii_digit());
                let n: usize = sql[i + 1..i + 1 + digits].parse().unwrap_or(0);
                *max_param = (*max_param).max(n);
                let mark = if sqlite { "?" } else { "$" };
                let p = format!("{mark}{}", &sql[i + 1..i + 1 + digits]);
                (1 + digits, Cow::Owned(p))
            }
            b':' if sqlite && rest.starts_with("::") => {
                (2 + count(b, i + 2, |c| is_word(*c)), "".into())
            }
            _ if word_start && sqlite && keyword(rest, "COLLATE \"C\"") => (11, "".into()),
            _ if word_start && sqlite && keyword(rest, "FOR UPDATE") => (10, "".into()),
            _ if word_start && keyword(rest, "now()") => {
                *uses_now |= sqlite;
                (5, if sqlite { NOW_MARK } else { &rest[..5] }.into())
            }
            _ if word_start && keyword(rest, "utc_text(") => {
                let open = i + "utc_text".len();
                let close = closing_paren(b, open);
                let inner = rewrite(&sql[open + 1..close], backend, max_param, uses_now);
                let put = if sqlite {
                    inner
                } else {
                    format!(
                        "to_char({inner} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
                    )
                };
                (close + 1 - i, Cow::Owned(put))
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&sql[plain..i]);
        out.push_str(&put);
        i += skip;
        plain = i;
    }
    out.push_str(&sql[plain..]);
    out
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn count(b: &[u8], from: usize, f: impl Fn(&u8) -> bool) -> usize {
    b[from.min(b.len())..].iter().take_while(|c| f(c)).count()
}

/// `rest` begins with `word` (any case), not followed by more of a word.
fn keyword(rest: &str, word: &str) -> bool {
    rest.len() >= word.len()
        && rest.as_bytes()[..word.len()].eq_ignore_ascii_case(word.as_bytes())
        && (word.ends_with(['(', ')', '"'])
            || !rest.as_bytes().get(word.len()).is_some_and(|c| is_word(*c)))
}

/// Just past the quote that closes the one at `start` (a doubled quote is part of the text).
fn quoted_end(b: &[u8], start: usize) -> usize {
    let q = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// The `)` that closes the `(` at `open`, quotes skipped.
fn closing_paren(b: &[u8], open: usize) -> usize {
    let mut depth = 0;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' => {
                i = quoted_end(b, i);
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len().saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case: (written, SQLite's, PostgreSQL's). Fragments of statements, so that no
    /// statement stands twice in the source.
    fn check(cases: &[(&str, &str, &str)]) {
        for (written, sqlite, postgres) in cases {
            assert_eq!(spell(written, Backend::Sqlite).text, *sqlite, "{written}");
            assert_eq!(
                spell(written, Backend::Postgres).text,
                *postgres,
                "{written}"
            );
        }
    }

    #[test]
    fn numbered_parameters_keep_their_numbers_in_any_order() {
        check(&[
            (
                "SET key_id = $2 WHERE name = $1 AND $10 = $1",
                "SET key_id = ?2 WHERE name = ?1 AND ?10 = ?1",
                "SET key_id = $2 WHERE name = $1 AND $10 = $1",
            ),
            ("$", "$", "$"),
            ("x = $", "x = $", "x = $"),
        ]);
    }

    #[test]
    fn quoted_text_and_comments_are_left_alone() {
        check(&[
            (
                "json_extract(m.record, '$.phone') = $1",
                "json_extract(m.record, '$.phone') = ?1",
                "json_extract(m.record, '$.phone') = $1",
            ),
            (
                "'it''s $1::text', \"a::b $2\" < $3",
                "'it''s $1::text', \"a::b $2\" < ?3",
                "'it''s $1::text', \"a::b $2\" < $3",
            ),
            (
                "1 -- it's $1\nWHERE x = $2",
                "1 -- it's $1\nWHERE x = ?2",
                "1 -- it's $1\nWHERE x = $2",
            ),
            // an unclosed quote runs to the end
            ("x = 'open $1", "x = 'open $1", "x = 'open $1"),
        ]);
    }

    #[test]
    fn casts_collations_and_row_locks_are_postgresql_only() {
        check(&[
            (
                "m.event_date::text, m.event_date >= $1::text::date",
                "m.event_date, m.event_date >= ?1",
                "m.event_date::text, m.event_date >= $1::text::date",
            ),
            (
                "(m.member_no COLLATE \"C\") < $2 FOR UPDATE",
                "(m.member_no ) < ?2 ",
                "(m.member_no COLLATE \"C\") < $2 FOR UPDATE",
            ),
            // only the whole words
            (
                "x_for_update, for_updates, collate_c",
                "x_for_update, for_updates, collate_c",
                "x_for_update, for_updates, collate_c",
            ),
        ]);
    }

    #[test]
    fn now_is_the_parameter_after_the_last() {
        let s = "VALUES ($1, $2, $3, now())";
        assert_eq!(spell(s, Backend::Sqlite).now, Some(4));
        assert_eq!(spell(s, Backend::Postgres).now, None);
        check(&[
            (s, "VALUES (?1, ?2, ?3, ?4)", s),
            (
                "SET a = now(), b = NOW() WHERE id = $1",
                "SET a = ?2, b = ?2 WHERE id = ?1",
                "SET a = now(), b = NOW() WHERE id = $1",
            ),
            ("snow(), now_ish", "snow(), now_ish", "snow(), now_ish"),
        ]);
        assert_eq!(spell("snow()", Backend::Sqlite).now, None);
    }

    #[test]
    fn utc_text_is_text_on_both() {
        check(&[(
            "utc_text(max(m.received_at)), utc_text(d.created_at)",
            "max(m.received_at), d.created_at",
            "to_char(max(m.received_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), \
             to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
        )]);
    }

    #[test]
    fn a_fixed_statement_is_spelled_once() {
        let s = sql!("DELETE FROM t WHERE a = $1");
        let first: *const Spelled = s.spelled(Backend::Sqlite);
        let again: *const Spelled = s.spelled(Backend::Sqlite);
        assert_eq!(first, again);
        assert!(s.spelled(Backend::Sqlite).text.ends_with("a = ?1"));
        assert!(s.spelled(Backend::Postgres).text.ends_with("a = $1"));
    }
}
