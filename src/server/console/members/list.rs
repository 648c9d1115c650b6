//! `/members`: the list, newest first, 50 rows a page (keyset-paged by id), ID and phone
//! masked; an htmx request gets the table alone (kanidm's pattern). Each page shown is
//! audited with its filters and how many rows it showed.

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
use crate::server::console::{Chrome, Tr, Viewer, audited, is_htmx, mask};
use crate::server::db::search::ListRow;
use crate::server::refusal::Refusal;
use crate::server::state::ServerState;

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
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "members.html")]
pub struct MembersPage {
    pub c: Chrome,
    pub q: ListQuery,
    pub error: Option<&'static str>,
    pub rows: Vec<Row>,
    pub next: Option<String>,
    pub first: Option<String>,
    pub export_query: String,
    pub reviews: Vec<(&'static str, &'static str)>,
    pub forms: Vec<(String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "members_table.html")]
pub struct MembersTable {
    pub c: Chrome,
    pub error: Option<&'static str>,
    pub rows: Vec<Row>,
    pub next: Option<String>,
    pub first: Option<String>,
}

pub async fn page(
    State(state): State<Arc<ServerState>>,
    v: Viewer,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(q): Query<ListQuery>,
) -> Result<Response, Refusal> {
    let here = raw.map_or("/members".into(), |r| format!("/members?{r}"));
    let c = Chrome::new(&v, "members", &here);
    let tr = c.tr;
    // a filter that is not one, or a whole-number search not this user's to make, is said
    // beside the form, the list left empty
    let (filter, error) = match full_number::rule(&state, &v, &q.q).await {
        Err(r @ (Refusal::FullNumberAdminOnly | Refusal::FullNumberTooOften)) => {
            (None, Some(r.key()))
        }
        Err(other) => return Err(other),
        Ok(()) => match q.filter() {
            Ok(f) => (Some(f), None),
            Err(bad) => (None, Some(bad.key())),
        },
    };
    let mut rows = Vec::new();
    let mut next = None;
    if let Some(filter) = &filter {
        let found = state.db.search_members(filter, q.before, PAGE + 1).await?;
        let shown = &found[..found.len().min(PAGE as usize)];
        if found.len() > PAGE as usize
            && let Some(last) = shown.last()
        {
            next = Some(format!("/members?{}&before={}", q.view_query(), last.id));
        }
        let mut entry = v.entry("members.search", "", shown.len() as i64);
        entry.fields = describe(filter);
        audited(&state, entry).await?;
        rows = shown.iter().map(|r| row(tr, r)).collect();
    }
    let first = q.before.map(|_| format!("/members?{}", q.view_query()));
    if is_htmx(&headers) {
        return Ok(MembersTable {
            c,
            error,
            rows,
            next,
            first,
        }
        .into_response());
    }
    let forms = ListKind::EmploymentForm
        .choices()
        .iter()
        .map(|ch| (ch.code.clone(), ch.label(v.lang).to_string()))
        .collect();
    Ok(MembersPage {
        reviews: review_choices(tr),
        export_query: q.view_query(),
        c,
        q,
        error,
        rows,
        next,
        first,
        forms,
    }
    .into_response())
}
