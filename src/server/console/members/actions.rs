//! An admin's changes on a member's page, each behind this session's CSRF token and the
//! admin role, and each audited: reveal the full ID and phone, set the review state, revoke
//! the card (`server void`), correct the record (the booth's own validation), erase the
//! person on request (PIPL).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::detail::{find, member_page};
use crate::member::validate;
use crate::protocol::WireRecord;
use crate::server::batch::SearchKeys;
use crate::server::console::{AdminChange, ChangeTarget, Tr, Viewer, audited, redirect};
use crate::server::db::audit::AuditEntry;
use crate::server::db::pipl::MemberDetail;
use crate::server::db::search::Review;
use crate::server::db::{DbError, REVOKED_BY_OFFICE};
use crate::server::refusal::Refusal;
use crate::server::state::ServerState;

/// An admin's change of one member: the member the path names (any spelling).
impl ChangeTarget for MemberDetail {
    type Key = Path<String>;

    async fn find(
        Path(no): Path<String>,
        state: &ServerState,
        v: &Viewer,
    ) -> Result<MemberDetail, Refusal> {
        find(state, v, &no).await
    }
}

/// Admins only: the page again with the full ID number and phone, recorded as a reveal.
pub async fn reveal(
    State(state): State<Arc<ServerState>>,
    AdminChange { v, on: d, .. }: AdminChange<(), MemberDetail>,
) -> Result<Response, Refusal> {
    audited(&state, v.entry("member.reveal", d.member_no.clone(), 1)).await?;
    Ok(member_page(&v, &d, true, Vec::new(), None))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReviewForm {
    pub status: String,
    pub comment: String,
}

pub async fn review(
    State(state): State<Arc<ServerState>>,
    AdminChange { v, form: f, on: d }: AdminChange<ReviewForm, MemberDetail>,
) -> Result<Response, Refusal> {
    let Some(status) = Review::parse(&f.status) else {
        let error = Tr(v.lang).t("console.bad_review").into();
        return Ok(member_page(&v, &d, false, vec![error], None));
    };
    let comment: String = f.comment.trim().chars().take(500).collect();
    state
        .db
        .set_review(d.id, status, comment, v.user.clone())
        .await?;
    audited(&state, v.entry("member.review", d.member_no.clone(), 1)).await?;
    Ok(redirect(&format!("/members/{}", d.member_no)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CorrectForm {
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub employer: String,
}

/// Admins only: replaces the fields given (empty ones are kept), checked with the booth's
/// own rules; each correction is audited.
pub async fn correct(
    State(state): State<Arc<ServerState>>,
    AdminChange { v, form: f, on: d }: AdminChange<CorrectForm, MemberDetail>,
) -> Result<Response, Refusal> {
    let tr = Tr(v.lang);
    let Some(w) = serde_json::from_str::<WireRecord>(&d.record)
        .ok()
        .filter(|_| d.erased_at.is_none())
    else {
        refused(&state, &v, "member.correct.refused", &d, "erased").await?;
        let error = tr.t("console.cannot_correct").into();
        return Ok(member_page(&v, &d, false, vec![error], None));
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
            let fields: Vec<&str> = errors.iter().map(|e| e.field.code()).collect();
            let entry = refusal_entry(&v, "member.correct.refused", &d, "invalid")
                .with("fields", fields.join(","));
            audited(&state, entry).await?;
            let msgs = errors.iter().map(|e| e.message(v.lang)).collect();
            return Ok(member_page(&v, &d, false, msgs, None));
        }
    };
    let keys = SearchKeys::of(&valid.member, &w.union, &w.place);
    let person_key = valid.member.document.person_key();
    let record = WireRecord {
        member: valid.member,
        ..w
    };
    let json = serde_json::to_string(&record).map_err(|_| Refusal::Internal)?;
    match state
        .db
        .correct_member(d.member_no.clone(), json, person_key, keys)
        .await
    {
        Ok(()) => {}
        Err(DbError::PersonTaken) => {
            refused(&state, &v, "member.correct.refused", &d, "person_taken").await?;
            let error = tr.t("console.person_taken").into();
            return Ok(member_page(&v, &d, false, vec![error], None));
        }
        Err(e) => return Err(e.into()),
    }
    audited(&state, v.entry("member.correct", d.member_no.clone(), 1)).await?;
    let d = find(&state, &v, &d.member_no).await?;
    Ok(member_page(
        &v,
        &d,
        false,
        Vec::new(),
        Some("console.corrected"),
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EraseForm {
    pub confirm: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevokeForm {
    pub reason: String,
    pub confirm: String,
}

/// Admins only: revokes the member's card at the office, as `booth server void` does (its
/// number goes into the bundle's revoked list; the record stays, listed as 已撤销). A reason
/// and the confirmation tick are required; the revocation is audited.
pub async fn revoke(
    State(state): State<Arc<ServerState>>,
    AdminChange { v, form: f, on: d }: AdminChange<RevokeForm, MemberDetail>,
) -> Result<Response, Refusal> {
    let tr = Tr(v.lang);
    let reason = crate::member::record::free_text(&f.reason, 200, true)
        .ok()
        .flatten();
    let Some(reason) = reason else {
        refused(&state, &v, "member.void.refused", &d, "no_reason").await?;
        let error = tr.t("console.revoke_reason_needed").into();
        return Ok(member_page(&v, &d, false, vec![error], None));
    };
    if f.confirm != "yes" {
        refused(&state, &v, "member.void.refused", &d, "no_confirmation").await?;
        let error = tr.t("console.revoke_confirm_needed").into();
        return Ok(member_page(&v, &d, false, vec![error], None));
    }
    let new = state
        .db
        .revoke_member(
            d.member_no.clone(),
            reason,
            REVOKED_BY_OFFICE,
            v.user.clone(),
        )
        .await?;
    if new {
        // the same action as `server void`'s
        audited(&state, v.entry("member.void", d.member_no.clone(), 1)).await?;
    }
    let d = find(&state, &v, &d.member_no).await?;
    let notice = if new {
        "console.revoked_now"
    } else {
        "console.revoked_already"
    };
    Ok(member_page(&v, &d, false, Vec::new(), Some(notice)))
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
    State(state): State<Arc<ServerState>>,
    AdminChange { v, form: f, on: d }: AdminChange<EraseForm, MemberDetail>,
) -> Result<Response, Refusal> {
    if f.confirm != "yes" {
        refused(&state, &v, "member.erase.refused", &d, "no_confirmation").await?;
        let error = Tr(v.lang).t("console.erase_confirm_needed").into();
        return Ok(member_page(&v, &d, false, vec![error], None));
    }
    match state
        .db
        .erase_member(d.member_no.clone(), remains(&d))
        .await
    {
        // erased already (another admin, a second click): the page says so all the same
        Ok(()) => audited(&state, v.entry("member.erase", d.member_no.clone(), 1)).await?,
        Err(DbError::NoSuchMember) => {}
        Err(e) => return Err(e.into()),
    }
    let d = find(&state, &v, &d.member_no).await?;
    Ok(member_page(
        &v,
        &d,
        false,
        Vec::new(),
        Some("console.erased"),
    ))
}

/// An admin's change refused for what it asked (`member.correct.refused`,
/// `member.erase.refused`, with why): on the record as the change would have been.
fn refusal_entry(v: &Viewer, action: &'static str, d: &MemberDetail, why: &str) -> AuditEntry {
    v.entry(action, d.member_no.clone(), 0).with("why", why)
}

async fn refused(
    state: &ServerState,
    v: &Viewer,
    action: &'static str,
    d: &MemberDetail,
    why: &str,
) -> Result<(), Refusal> {
    audited(state, refusal_entry(v, action, d, why)).await
}
