//! `/members`: the list, newest first, 50 rows a page (keyset-paged by id; by position when
//! sorted by date, name or union), ID and phone masked, each card's state (有效 / 已作废 /
//! 已撤销) and how many members match; an htmx request gets the table alone (kanidm's
//! pattern). The search box posts its text: a whole ID, passport or phone number is searched
//! there (admins only) and never stands in a URL. Each page shown is audited with its
//! filters (a number masked) and how many rows it showed.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::full_number;
use super::query::{ListQuery, describe};
use super::{review_choices, review_label};
use crate::card::MemberNo;
use crate::member::options::ListKind;
use crate::protocol::WireRecord;
use crate::server::console::{
    Chrome, Tr, Viewer, WithToken, audited, is_htmx, mask, redirect, thousands,
};
use crate::server::db::search::{COUNT_CAP, CardStatus, ListRow, Needle, Sort};
use crate::server::refusal::Refusal;
use crate::server::state::ServerState;
use crate::t;

/// Rows per page.
pub const PAGE: i64 = 50;

/// A member as a list row shows it.
pub struct Row {
    pub no: String,
    pub grouped: String,
    pub name: String,
    pub id_masked: String,
    pub phone_masked: String,
    pub employer: String,
    pub union: String,
    pub place: String,
    pub date: String,
    pub review: &'static str,
    pub review_label: &'static str,
    pub status: &'static str,
    pub status_label: &'static str,
    pub status_reason: String,
}

fn row(tr: Tr, r: &ListRow) -> Row {
    let rec = serde_json::from_str::<WireRecord>(&r.record).ok();
    let grouped = r
        .member_no
        .parse::<MemberNo>()
        .map(|n| n.grouped())
        .unwrap_or_else(|_| r.member_no.clone());
    let (name, id, phone, employer, union, place) = match &rec {
        Some(w) => (
            w.member.name.clone(),
            mask::id_number(&w.member.document.number),
            mask::phone(&w.member.phone),
            w.member.employer.clone(),
            w.union.clone(),
            w.place.clone(),
        ),
        None => Default::default(),
    };
    Row {
        no: r.member_no.clone(),
        grouped,
        name,
        id_masked: id,
        phone_masked: phone,
        employer,
        union,
        place,
        date: r.event_date.clone(),
        review: r.review.code(),
        review_label: review_label(tr, r.review),
        status: r.status.code(),
        status_label: r.status.label(tr.0),
        status_reason: r.status_reason.clone(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "members.html")]
pub struct MembersPage {
    pub c: Chrome,
    pub q: ListQuery,
    pub t: MembersTable,
    /// The list's filters for its export links; `None` when the search was a whole number
    /// (it is never put in a link).
    pub export_query: Option<String>,
    pub reviews: Vec<(&'static str, &'static str)>,
    pub statuses: Vec<(&'static str, &'static str)>,
    pub sorts: Vec<(&'static str, &'static str)>,
    pub forms: Vec<(String, String)>,
}

/// The results: the rows, the paging links, the count.
pub struct MembersTable {
    /// A filter that is not one, or a search not this user's to make (said in the results,
    /// so an htmx answer says it too).
    pub error: Option<&'static str>,
    pub rows: Vec<Row>,
    pub next: Option<String>,
    pub first: Option<String>,
    /// "共 1,234 人" (or "超过 1,000 人"), when a search ran.
    pub count: Option<String>,
}

/// The results alone (an htmx request).
#[derive(Template, WebTemplate)]
#[template(path = "members_table.html")]
pub struct MembersPartial {
    pub c: Chrome,
    pub t: MembersTable,
}

/// May this viewer search by a whole ID, passport or phone number? Admins only: a viewer who
/// sees `*******0123` must not find the number by trying whole numbers (SPEC §8, the security
/// rules); an admin's search is audited with the number masked.
pub fn full_number_search_allowed(v: &Viewer) -> bool {
    v.is_admin()
}

/// Whether the text typed may stand in a URL (history, logs, a proxy's logs): never a whole
/// number, and never a run of digits that may be one being typed (`1101051949…`).
fn fits_a_url(q: &ListQuery) -> bool {
    let digits: String = q.q.chars().filter(|c| !c.is_whitespace()).collect();
    let number_being_typed =
        digits.len() > 4 && digits.chars().all(|c| c.is_ascii_digit() || c == '-');
    !number_being_typed && !Needle::parse(&q.q).is_full_number()
}

/// `GET /members?…`: the list. A whole number in the URL is not searched (it is typed in
/// the box, which posts it).
pub async fn page(
    State(state): State<Arc<ServerState>>,
    v: Viewer,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(q): Query<ListQuery>,
) -> Result<Response, Refusal> {
    let here = raw.map_or("/members".into(), |r| format!("/members?{r}"));
    // a viewer's whole number is refused by the rule itself (with its message, on the record)
    if !fits_a_url(&q) && v.is_admin() {
        let q = ListQuery {
            q: String::new(),
            ..q
        };
        return answer(
            &state,
            &v,
            &headers,
            q,
            "/members",
            Some("console.number_in_box"),
        )
        .await;
    }
    answer(&state, &v, &headers, q, &here, None).await
}

/// `POST /members`: the search box's form (its text never in a URL). A search that may
/// stand in one is sent on to it (htmx: answered here, with the URL to show).
pub async fn search(
    State(state): State<Arc<ServerState>>,
    v: Viewer,
    headers: HeaderMap,
    axum::Form(sent): axum::Form<WithToken<ListQuery>>,
) -> Result<Response, Refusal> {
    v.check_csrf(&headers, &sent.csrf)?;
    let q = ListQuery {
        before: None,
        skip: None,
        ..sent.form
    };
    if fits_a_url(&q) {
        let to = format!("/members?{}", q.view_query());
        if !is_htmx(&headers) {
            return Ok(redirect(&to));
        }
        let mut resp = answer(&state, &v, &headers, q, &to, None).await?;
        if let Ok(h) = axum::http::HeaderValue::from_str(&to) {
            resp.headers_mut().insert("hx-push-url", h);
        }
        return Ok(resp);
    }
    answer(&state, &v, &headers, q, "/members", None).await
}

async fn answer(
    state: &ServerState,
    v: &Viewer,
    headers: &HeaderMap,
    q: ListQuery,
    here: &str,
    note: Option<&'static str>,
) -> Result<Response, Refusal> {
    let c = Chrome::new(v, "members", here);
    let tr = c.tr;
    let in_url = fits_a_url(&q);
    // a filter that is not one, or a whole-number search not this user's to make, is said
    // in the results, the list left empty
    let (filter, mut error) = match (note, full_number::rule(state, v, &q.q).await) {
        (Some(note), _) => (None, Some(note)),
        (None, Err(r @ (Refusal::FullNumberAdminOnly | Refusal::FullNumberTooOften))) => {
            (None, Some(r.key()))
        }
        (None, Err(other)) => return Err(other),
        (None, Ok(())) => match q.filter(&v.scope) {
            Ok(f) => (Some(f), None),
            Err(bad) => (None, Some(bad.key())),
        },
    };
    // a passport's number (which the rule does not count): an admin's search too
    let filter = match filter {
        Some(mut f) if f.needle.as_ref().is_some_and(Needle::is_full_number) => {
            if full_number_search_allowed(v) {
                Some(f)
            } else {
                f.needle = f.needle.take().and_then(Needle::without_full_number);
                if f.needle.is_none() {
                    error = Some(Refusal::FullNumberAdminOnly.key());
                    None
                } else {
                    Some(f)
                }
            }
        }
        f => f,
    };
    let mut table = MembersTable {
        error: None,
        rows: Vec::new(),
        next: None,
        first: None,
        count: None,
    };
    if let Some(filter) = &filter {
        let sort = q.sort();
        let found = state
            .db
            .list_members(filter, sort, q.start(), PAGE + 1)
            .await?;
        let shown = &found[..found.len().min(PAGE as usize)];
        let count = state.db.count_members(filter).await?;
        table.count = Some(count_text(tr, count));
        if in_url {
            if found.len() > PAGE as usize
                && let Some(last) = shown.last()
            {
                table.next = Some(match sort {
                    Sort::Newest => format!("/members?{}&before={}", q.view_query(), last.id),
                    _ => format!(
                        "/members?{}&skip={}",
                        q.view_query(),
                        q.skip.unwrap_or(0) + PAGE
                    ),
                });
            }
            table.first = q.start().map(|_| format!("/members?{}", q.view_query()));
        }
        let mut entry = v.entry("members.search", "", shown.len() as i64);
        entry.fields = describe(filter);
        audited(state, entry).await?;
        table.rows = shown.iter().map(|r| row(tr, r)).collect();
    }
    table.error = error;
    if is_htmx(headers) {
        return Ok(MembersPartial { c, t: table }.into_response());
    }
    let forms = ListKind::EmploymentForm
        .choices()
        .iter()
        .map(|ch| (ch.code.clone(), ch.label(v.lang).to_string()))
        .collect();
    Ok(MembersPage {
        reviews: review_choices(tr),
        statuses: status_choices(tr),
        sorts: sort_choices(tr),
        export_query: in_url.then(|| q.view_query()),
        c,
        q,
        t: table,
        forms,
    }
    .into_response())
}

/// "共 1,234 人", or "超过 1,000 人" past the count's cap.
fn count_text(tr: Tr, n: i64) -> String {
    let lang = tr.0;
    if n > COUNT_CAP {
        t!(
            lang,
            "console.count_over",
            count = thousands(COUNT_CAP as u64)
        )
    } else {
        t!(lang, "console.count", count = thousands(n.max(0) as u64))
    }
}

/// Every card state with its label, for the filter's choices.
pub fn status_choices(tr: Tr) -> Vec<(&'static str, &'static str)> {
    CardStatus::ALL
        .iter()
        .map(|s| (s.code(), s.label(tr.0)))
        .collect()
}

fn sort_choices(tr: Tr) -> Vec<(&'static str, &'static str)> {
    Sort::ALL
        .iter()
        .map(|s| {
            let key = match s {
                Sort::Newest => "console.sort_new",
                Sort::Date => "console.sort_date",
                Sort::Name => "console.sort_name",
                Sort::Union => "console.sort_union",
            };
            (s.code(), tr.t(key))
        })
        .collect()
}
