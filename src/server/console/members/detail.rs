//! A member's page (`/members/{no}`, any spelling of the number): the record with ID and
//! phone masked until an admin reveals them, the card's state (有效 / 已作废 / 已撤销: why, by
//! whom, when, in the office's time), the review state and its form, the forms of
//! revocation, correction and erasure. Each view is audited.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::{review_choices, review_label};
use crate::card::MemberNo;
use crate::member::options::ListKind;
use crate::protocol::WireRecord;
use crate::server::console::{Chrome, Viewer, audited, mask};
use crate::server::db::pipl::MemberDetail;
use crate::server::db::search::card_status;
use crate::server::refusal::Refusal;
use crate::server::state::ServerState;

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
    /// 有效 / 已作废 / 已撤销, and what the office knows of it: why, by whom, when.
    pub status: &'static str,
    pub status_label: &'static str,
    pub status_reason: String,
    pub status_by: String,
    pub status_at: String,
    pub review: &'static str,
    pub review_label: &'static str,
    pub review_comment: String,
    pub review_by: String,
    pub reviews: Vec<(&'static str, &'static str)>,
    pub errors: Vec<String>,
    pub notice: Option<&'static str>,
}

/// The page of member `d`: `revealed` shows the full ID and phone; `errors` are a form's,
/// `notice` says what was just done.
pub fn member_page(
    v: &Viewer,
    d: &MemberDetail,
    revealed: bool,
    errors: Vec<String>,
    notice: Option<&'static str>,
) -> Response {
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
    let zone = v.zone;
    push("console.col.date", d.event_date.clone(), false);
    push("console.col.device", d.device.clone(), false);
    push("console.col.received", zone.shown(&d.received_at), false);
    if let Some(at) = &d.corrected_at {
        push("console.col.corrected", zone.shown(at), false);
    }
    if let Some(at) = &d.erased_at {
        push("console.col.erased", zone.shown(at), false);
    }
    let status = card_status(d.revoked.as_deref());
    MemberPage {
        no: d.member_no.clone(),
        grouped,
        fields,
        revealed,
        erased: d.erased_at.is_some(),
        revoked: d.revoked.is_some(),
        status: status.code(),
        status_label: status.label(v.lang),
        status_reason: d.revoked_reason.clone(),
        status_by: d.revoked_by.clone().unwrap_or_default(),
        status_at: d
            .revoked_at
            .as_deref()
            .map(|t| zone.shown(t))
            .unwrap_or_default(),
        review: d.review.code(),
        review_label: review_label(tr, d.review),
        review_comment: d.review_comment.clone(),
        review_by: d.review_by.clone().unwrap_or_default(),
        reviews: review_choices(tr),
        errors,
        notice,
        c,
    }
    .into_response()
}

/// The member behind a path's number (any spelling), within the viewer's part of the tree:
/// one outside it answers as one that does not exist (SPEC §11).
pub async fn find(state: &ServerState, v: &Viewer, no: &str) -> Result<MemberDetail, Refusal> {
    let no = no.parse::<MemberNo>().map_err(|_| Refusal::NoSuchMember)?;
    state
        .db
        .member_detail(no.as_str().to_string(), &v.scope)
        .await?
        .ok_or(Refusal::NoSuchMember)
}

pub async fn page(
    State(state): State<Arc<ServerState>>,
    v: Viewer,
    Path(no): Path<String>,
) -> Result<Response, Refusal> {
    let d = find(&state, &v, &no).await?;
    audited(&state, v.entry("member.view", d.member_no.clone(), 1)).await?;
    Ok(member_page(&v, &d, false, Vec::new(), None))
}
