//! `/members`: search (name, member number, phone tail, employer), filters, keyset paging,
//! ID and phone masked, review states; a member's page, where an admin reveals the full ID
//! and phone (recorded), sets the review state, corrects the record or erases the person
//! (PIPL). Every view of personal data is in the audit log, with how many records it showed.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::dashboard::date;
use super::{Chrome, Tr, Viewer, audited, db_failed, is_htmx, mask, redirect};
use crate::card::MemberNo;
use crate::member::options::ListKind;
use crate::member::validate;
use crate::protocol::WireRecord;
use crate::server::db::DbError;
use crate::server::db::pipl::MemberDetail;
use crate::server::db::search::{ListRow, MemberFilter, Needle, Review, SearchKeys};
use crate::server::routes::App;

/// Rows per page.
pub const PAGE: i64 = 50;

#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub union: String,
    #[serde(default)]
    pub place: String,
    #[serde(default)]
    pub device: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub review: String,
    #[serde(default)]
    pub form: String,
    #[serde(default)]
    pub before: Option<i64>,
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.chars().take(200).collect())
}

impl ListQuery {
    pub fn filter(&self) -> Result<MemberFilter, &'static str> {
        Ok(MemberFilter {
            needle: Some(Needle::parse(&self.q.chars().take(100).collect::<String>())),
            union: some(&self.union),
            place: some(&self.place),
            device: some(&self.device),
            from: date(&self.from, "console.bad_from")?,
            to: date(&self.to, "console.bad_to")?,
            review: Review::parse(self.review.trim()),
            form: some(&self.form),
        })
    }

    /// Any filter besides the search box (the filters' panel then starts open).
    pub fn has_filters(&self) -> bool {
        [
            &self.union,
            &self.place,
            &self.device,
            &self.from,
            &self.to,
            &self.review,
            &self.form,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }

    /// The query string of this view without the page position (for links and exports).
    pub fn view_query(&self) -> String {
        let mut s = url_pairs(&[
            ("q", &self.q),
            ("union", &self.union),
            ("place", &self.place),
            ("device", &self.device),
            ("from", &self.from),
            ("to", &self.to),
            ("review", &self.review),
            ("form", &self.form),
        ]);
        if s.is_empty() {
            s.push_str("x=");
        }
        s
    }
}

pub fn url_pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v.trim(), percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// What the audit log says a search was: its kind and filters, never a typed name or phone.
pub fn describe(f: &MemberFilter) -> String {
    let mut parts = Vec::new();
    match &f.needle {
        None | Some(Needle::All) => {}
        Some(Needle::MemberNo(p)) => parts.push(format!("member_no={p}")),
        Some(Needle::Phone { .. }) => parts.push("q=phone".into()),
        Some(Needle::Text(_)) => parts.push("q=name_or_employer".into()),
    }
    for (k, v) in [
        ("union", &f.union),
        ("place", &f.place),
        ("device", &f.device),
        ("form", &f.form),
    ] {
        if let Some(v) = v {
            parts.push(format!("{k}={v}"));
        }
    }
    if let Some(d) = f.from {
        parts.push(format!("from={d}"));
    }
    if let Some(d) = f.to {
        parts.push(format!("to={d}"));
    }
    if let Some(r) = f.review {
        parts.push(format!("review={}", r.code()));
    }
    parts.join(";")
}

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

pub fn review_label(tr: Tr, r: Review) -> &'static str {
    match r {
        Review::Pending => tr.t("console.review.pending"),
        Review::Approved => tr.t("console.review.approved"),
        Review::Questioned => tr.t("console.review.questioned"),
    }
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
    pub rows: Vec<Row>,
    pub next: Option<String>,
    pub first: Option<String>,
}

pub async fn list(
    State(app): State<Arc<App>>,
    v: Viewer,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(q): Query<ListQuery>,
) -> Response {
    let here = raw.map_or("/members".into(), |r| format!("/members?{r}"));
    let c = Chrome::new(&v, "members", &here);
    let tr = c.tr;
    let (filter, error) = match q.filter() {
        Ok(f) => (Some(f), None),
        Err(k) => (None, Some(k)),
    };
    let mut rows = Vec::new();
    let mut next = None;
    if let Some(filter) = &filter {
        let found = match app.db.search_members(filter, q.before, PAGE + 1).await {
            Ok(r) => r,
            Err(e) => return db_failed(v.lang, &e),
        };
        let shown = &found[..found.len().min(PAGE as usize)];
        if found.len() > PAGE as usize
            && let Some(last) = shown.last()
        {
            next = Some(format!("/members?{}&before={}", q.view_query(), last.id));
        }
        if let Err(r) = audited(
            &app,
            &v,
            v.entry("members.search", describe(filter), shown.len() as i64),
        )
        .await
        {
            return r;
        }
        rows = shown.iter().map(|r| row(tr, r)).collect();
    }
    let first = q.before.map(|_| format!("/members?{}", q.view_query()));
    if is_htmx(&headers) {
        return MembersTable {
            c,
            rows,
            next,
            first,
        }
        .into_response();
    }
    let forms = ListKind::EmploymentForm
        .choices()
        .iter()
        .map(|ch| (ch.code.clone(), ch.label(v.lang).to_string()))
        .collect();
    MembersPage {
        reviews: Review::ALL
            .iter()
            .map(|r| (r.code(), review_label(tr, *r)))
            .collect(),
        export_query: q.view_query(),
        c,
        q,
        error,
        rows,
        next,
        first,
        forms,
    }
    .into_response()
}

/// One field of a member's page.
pub struct Field {
    pub label: &'static str,
    pub value: String,
    /// Shown masked (until an admin reveals it).
    pub masked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "member.html")]
pub struct MemberPage {
    pub c: Chrome,
    pub no: String,
    pub grouped: String,
    pub fields: Vec<Field>,
    pub revealed: bool,
    pub erased: bool,
    pub revoked: bool,
    pub review: &'static str,
    pub review_label: &'static str,
    pub review_comment: String,
    pub review_by: String,
    pub reviews: Vec<(&'static str, &'static str)>,
    pub errors: Vec<String>,
    pub notice: Option<&'static str>,
}

fn member_page(
    v: &Viewer,
    d: &MemberDetail,
    revealed: bool,
    errors: Vec<String>,
    notice: Option<&'static str>,
) -> MemberPage {
    let grouped = d
        .member_no
        .parse::<MemberNo>()
        .map(|n| n.grouped())
        .unwrap_or_else(|_| d.member_no.clone());
    let c = Chrome::new(v, "members", &format!("/members/{}", d.member_no));
    let tr = c.tr;
    let rec = serde_json::from_str::<WireRecord>(&d.record).ok();
    let mut fields = Vec::new();
    let mut push = |key: &'static str, value: String, masked: bool| {
        fields.push(Field {
            label: tr.t(key),
            value,
            masked,
        })
    };
    if let (Some(w), None) = (&rec, &d.erased_at) {
        let m = &w.member;
        push("field.name", m.name.clone(), false);
        let (id, phone) = if revealed {
            (m.document.number.clone(), m.phone.clone())
        } else {
            (mask::id_number(&m.document.number), mask::phone(&m.phone))
        };
        push("field.id_number", id, !revealed);
        push("field.phone", phone, !revealed);
        push("field.employer", m.employer.clone(), false);
        if let Some(u) = &m.details.employer_uscc {
            push("field.employer_uscc", u.clone(), false);
        }
        if let Some(f) = &m.details.employment_form {
            push(
                "field.employment_form",
                ListKind::EmploymentForm.label(f, v.lang),
                false,
            );
        }
        if !m.details.needs.is_empty() {
            let needs: Vec<String> = m
                .details
                .needs
                .iter()
                .map(|n| ListKind::Needs.label(n, v.lang))
                .collect();
            push("field.needs", needs.join("、"), false);
        }
        push("console.col.union", w.union.clone(), false);
        push("console.col.place", w.place.clone(), false);
    }
    push("console.col.date", d.event_date.clone(), false);
    push("console.col.device", d.device.clone(), false);
    push("console.col.received", d.received_at.clone(), false);
    if let Some(at) = &d.corrected_at {
        push("console.col.corrected", at.clone(), false);
    }
    if let Some(at) = &d.erased_at {
        push("console.col.erased", at.clone(), false);
    }
    MemberPage {
        no: d.member_no.clone(),
        grouped,
        fields,
        revealed,
        erased: d.erased_at.is_some(),
        revoked: d.revoked.is_some(),
        review: d.review.code(),
        review_label: review_label(tr, d.review),
        review_comment: d.review_comment.clone(),
        review_by: d.review_by.clone().unwrap_or_default(),
        reviews: Review::ALL
            .iter()
            .map(|r| (r.code(), review_label(tr, *r)))
            .collect(),
        errors,
        notice,
        c,
    }
}

/// The member an admin's change is about, once the change may be made at all.
async fn member_to_change(
    app: &App,
    v: &Viewer,
    headers: &HeaderMap,
    csrf: &str,
    no: &str,
) -> Result<MemberDetail, Response> {
    v.admin_change(headers, csrf)?;
    find(app, v, no).await
}

/// The member behind a path's number (any spelling), or the page to answer instead.
async fn find(app: &App, v: &Viewer, no: &str) -> Result<MemberDetail, Response> {
    let Ok(no) = no.parse::<MemberNo>() else {
        return Err(v.refused(StatusCode::NOT_FOUND, "console.no_such_member"));
    };
    match app.db.member_detail(no.as_str().to_string()).await {
        Ok(Some(d)) => Ok(d),
        Ok(None) => Err(v.refused(StatusCode::NOT_FOUND, "console.no_such_member")),
        Err(e) => Err(db_failed(v.lang, &e)),
    }
}

pub async fn detail(State(app): State<Arc<App>>, v: Viewer, Path(no): Path<String>) -> Response {
    let d = match find(&app, &v, &no).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    if let Err(r) = audited(&app, &v, v.entry("member.view", d.member_no.clone(), 1)).await {
        return r;
    }
    member_page(&v, &d, false, Vec::new(), None).into_response()
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// Admins only: the page again with the full ID number and phone, recorded as a reveal.
pub async fn reveal(
    State(app): State<Arc<App>>,
    v: Viewer,
    headers: HeaderMap,
    Path(no): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let d = match member_to_change(&app, &v, &headers, &f.csrf, &no).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    if let Err(r) = audited(&app, &v, v.entry("member.reveal", d.member_no.clone(), 1)).await {
        return r;
    }
    member_page(&v, &d, true, Vec::new(), None).into_response()
}

#[derive(Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub comment: String,
}

pub async fn review(
    State(app): State<Arc<App>>,
    v: Viewer,
    headers: HeaderMap,
    Path(no): Path<String>,
    Form(f): Form<ReviewForm>,
) -> Response {
    let d = match member_to_change(&app, &v, &headers, &f.csrf, &no).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Some(status) = Review::parse(&f.status) else {
        return member_page(
            &v,
            &d,
            false,
            vec![Tr(v.lang).t("console.bad_review").into()],
            None,
        )
        .into_response();
    };
    let comment: String = f.comment.trim().chars().take(500).collect();
    let result = async {
        app.db
            .set_review(d.id, status, comment, v.user.clone())
            .await?;
        app.db
            .audit(v.entry("member.review", d.member_no.clone(), 1))
            .await
    }
    .await;
    match result {
        Ok(()) => redirect(&format!("/members/{}", d.member_no)),
        Err(e) => db_failed(v.lang, &e),
    }
}

#[derive(Deserialize)]
pub struct CorrectForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub employer: String,
}

/// Admins only: replaces the fields given (empty ones are kept), checked with the booth's
/// own rules; each correction is audited.
pub async fn correct(
    State(app): State<Arc<App>>,
    v: Viewer,
    headers: HeaderMap,
    Path(no): Path<String>,
    Form(f): Form<CorrectForm>,
) -> Response {
    let d = match member_to_change(&app, &v, &headers, &f.csrf, &no).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let tr = Tr(v.lang);
    let Some(w) = serde_json::from_str::<WireRecord>(&d.record)
        .ok()
        .filter(|_| d.erased_at.is_none())
    else {
        return member_page(
            &v,
            &d,
            false,
            vec![tr.t("console.cannot_correct").into()],
            None,
        )
        .into_response();
    };
    let mut input = w.member.to_input();
    for (field, new) in [
        (&mut input.name, &f.name),
        (&mut input.id_number, &f.id_number),
        (&mut input.phone, &f.phone),
        (&mut input.employer, &f.employer),
    ] {
        if !new.trim().is_empty() {
            *field = new.chars().take(200).collect();
        }
    }
    let valid = match validate(&input, w.event_date) {
        Ok(valid) => valid,
        Err(errors) => {
            let msgs = errors.iter().map(|e| e.message(v.lang)).collect();
            return member_page(&v, &d, false, msgs, None).into_response();
        }
    };
    let keys = SearchKeys::of(&valid.member, &w.union, &w.place);
    let person_key = valid.member.document.person_key();
    let record = WireRecord {
        member: valid.member,
        ..w
    };
    let Ok(json) = serde_json::to_string(&record) else {
        return v.refused(StatusCode::INTERNAL_SERVER_ERROR, "console.db_failed");
    };
    let result = async {
        app.db
            .correct_member(d.member_no.clone(), json, person_key, keys)
            .await?;
        app.db
            .audit(v.entry("member.correct", d.member_no.clone(), 1))
            .await
    }
    .await;
    match result {
        Ok(()) => match find(&app, &v, &no).await {
            Ok(d) => {
                member_page(&v, &d, false, Vec::new(), Some("console.corrected")).into_response()
            }
            Err(r) => r,
        },
        Err(DbError::PersonTaken) => member_page(
            &v,
            &d,
            false,
            vec![tr.t("console.person_taken").into()],
            None,
        )
        .into_response(),
        Err(e) => db_failed(v.lang, &e),
    }
}

#[derive(Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub confirm: String,
}

/// What stays of an erased member: where and when it was registered (the figures), nothing
/// that names the person.
pub fn remains(d: &MemberDetail) -> String {
    let w = serde_json::from_str::<WireRecord>(&d.record).ok();
    serde_json::json!({
        "erased": true,
        "event_date": d.event_date,
        "union": w.as_ref().map(|w| w.union.clone()),
        "place": w.as_ref().map(|w| w.place.clone()),
        "employment_form": w.as_ref().and_then(|w| w.member.details.employment_form.clone()),
    })
    .to_string()
}

/// Admins only, on the person's request: personal fields removed, the member number revoked,
/// the figures kept.
pub async fn erase(
    State(app): State<Arc<App>>,
    v: Viewer,
    headers: HeaderMap,
    Path(no): Path<String>,
    Form(f): Form<EraseForm>,
) -> Response {
    let d = match member_to_change(&app, &v, &headers, &f.csrf, &no).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    if f.confirm != "yes" {
        return member_page(
            &v,
            &d,
            false,
            vec![Tr(v.lang).t("console.erase_confirm_needed").into()],
            None,
        )
        .into_response();
    }
    let result = async {
        app.db
            .erase_member(d.member_no.clone(), remains(&d))
            .await?;
        app.db
            .audit(v.entry("member.erase", d.member_no.clone(), 1))
            .await
    }
    .await;
    match result {
        Ok(()) | Err(DbError::NoSuchMember) => match find(&app, &v, &no).await {
            Ok(d) => member_page(&v, &d, false, Vec::new(), Some("console.erased")).into_response(),
            Err(r) => r,
        },
        Err(e) => db_failed(v.lang, &e),
    }
}
