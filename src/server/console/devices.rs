//! `/devices`: the laptops the office knows, their key, last upload ("3 天前"), the records
//! and day summaries received, and a warning for a laptop silent for more than the office's
//! number of days (a setting here); admins add one (its token and enrolment code shown once,
//! here and nowhere else) or revoke one, after a confirmation (it cannot be undone). Each
//! change is audited.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{AdminChange, Chrome, Tr, Viewer, audited, redirect, thousands};
use crate::card::enrol::Enrolment;
use crate::server::auth;
use crate::server::db::DbError;
use crate::server::db::devices::{DeviceRow, NewToken};
use crate::server::refusal::Refusal;
use crate::server::state::ServerState;
use crate::server::unions::ROOT;
use crate::t;

#[derive(Template, WebTemplate)]
#[template(path = "devices.html")]
pub struct DevicesPage {
    pub c: Chrome,
    pub devices: Vec<Shown>,
    /// A device just added: (name, token, enrolment code), shown this once.
    pub added: Option<(String, String, String)>,
    pub error: Option<String>,
    /// After how many days without an upload a laptop is named.
    pub silent_days: i64,
    /// The laptops in service silent for longer than that (or never heard from).
    pub silent: Vec<String>,
    /// A published copy of the check page older than the bundle (issue 23 item 10): said.
    pub stale_copy: Option<String>,
    /// The nodes a new laptop may be put under: the user's own and those below (code, label).
    pub nodes: Vec<(String, String)>,
    /// The office's own settings and files (silent days, a laptop's backup): the root's
    /// users only.
    pub office_wide: bool,
}

/// The warning when the newest published copy of the page is older than the bundle: a card
/// revoked since still shows valid there.
async fn stale_copy(
    state: &ServerState,
    lang: crate::i18n::Lang,
    zone: crate::server::zone::Zone,
) -> Result<Option<String>, Refusal> {
    let Some((published, at)) = state.db.published().await? else {
        return Ok(None);
    };
    let current = state.db.office_state().await?.version;
    Ok((published < current).then(|| {
        crate::t!(
            lang,
            "console.published_stale",
            published = published,
            at = zone.shown(&at),
            current = current
        )
    }))
}

/// A device as the page shows it: times in the office's time zone, the last upload also
/// as "3 天前", and whether it has been silent too long.
pub struct Shown {
    pub name: String,
    pub key_id: Option<String>,
    pub created_at: String,
    pub revoked: bool,
    pub last_upload: Option<String>,
    pub last_upload_ago: String,
    pub records: String,
    pub day_summaries: String,
    pub silent: bool,
    /// The node it belongs to, as the page names it.
    pub node: String,
}

/// "今天", "昨天", "3 天前" (in the office's days).
pub fn days_ago(tr: Tr, days: i64) -> String {
    match days {
        i64::MIN..=0 => tr.t("console.today").to_string(),
        1 => tr.t("console.yesterday").to_string(),
        n => t!(tr.0, "console.days_ago", days = n),
    }
}

fn shown(v: &Viewer, tr: Tr, d: DeviceRow, silent_days: i64) -> Shown {
    let today = v.zone.today();
    let day_of = |t: &str| v.zone.of_text(t).map(|t| t.date_naive());
    let heard = d.last_upload.as_deref().or(Some(d.created_at.as_str()));
    let quiet = heard
        .and_then(day_of)
        .map(|day| (today - day).num_days())
        .unwrap_or(0);
    Shown {
        last_upload_ago: d
            .last_upload
            .as_deref()
            .and_then(day_of)
            .map(|day| days_ago(tr, (today - day).num_days()))
            .unwrap_or_else(|| tr.t("console.never").to_string()),
        last_upload: d.last_upload.as_deref().map(|t| v.zone.shown(t)),
        created_at: v.zone.shown(&d.created_at),
        revoked: d.revoked_at.is_some(),
        silent: d.revoked_at.is_none() && quiet > silent_days,
        records: thousands(d.records.max(0) as u64),
        day_summaries: thousands(d.day_summaries.max(0) as u64),
        node: node_label(tr, &d.union_code, &d.union_name),
        name: d.name,
        key_id: d.key_id,
    }
}

/// A node as the page names it: its name and code (the root: the office itself).
fn node_label(tr: Tr, code: &str, name: &str) -> String {
    if code == ROOT {
        tr.t("console.node_root").to_string()
    } else if name.is_empty() {
        code.to_string()
    } else {
        format!("{name} ({code})")
    }
}

async fn render(
    state: &ServerState,
    v: &Viewer,
    added: Option<(String, String, String)>,
    error: Option<String>,
) -> Result<Response, Refusal> {
    let c = Chrome::new(v, "devices", "/devices");
    let silent_days = state.db.silent_days().await?;
    let devices: Vec<Shown> = state
        .db
        .device_list(&v.scope)
        .await?
        .into_iter()
        .map(|d| shown(v, c.tr, d, silent_days))
        .collect();
    let nodes = state
        .db
        .unions_within(&v.scope)
        .await?
        .into_iter()
        .map(|n| (n.code.clone(), node_label(c.tr, &n.code, &n.name)))
        .collect();
    let silent = devices
        .iter()
        .filter(|d| d.silent)
        .map(|d| d.name.clone())
        .collect();
    Ok(DevicesPage {
        c,
        devices,
        added,
        error,
        silent_days,
        silent,
        stale_copy: stale_copy(state, v.lang, v.zone).await?,
        nodes,
        office_wide: v.scope.is_all(),
    }
    .into_response())
}

pub async fn page(State(state): State<Arc<ServerState>>, v: Viewer) -> Result<Response, Refusal> {
    render(&state, &v, None, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AddForm {
    pub name: String,
    /// The node's code (empty: the user's own node).
    pub union: String,
}

pub async fn add(
    State(state): State<Arc<ServerState>>,
    AdminChange { v, form: f, .. }: AdminChange<AddForm>,
) -> Result<Response, Refusal> {
    let tr = Tr(v.lang);
    let name = f.name.trim().to_string();
    if !auth::valid_device_name(&name) {
        refused(&state, &v, "device.add.refused", &name, "bad_name").await?;
        return render(
            &state,
            &v,
            None,
            Some(tr.t("server.bad_device_name").into()),
        )
        .await;
    }
    let Ok(token) = auth::new_token() else {
        return render(&state, &v, None, Some(tr.t("console.db_failed").into())).await;
    };
    // under the user's own node unless another within it is picked; one outside is refused
    // as one that does not exist (SPEC §11)
    let code = match f.union.trim() {
        "" => v.scope.code().to_string(),
        code => code.to_string(),
    };
    let added = if v.scope.is_all() {
        let union = (code != ROOT).then(|| code.clone());
        state
            .db
            .add_device(name.clone(), NewToken::of(&token), union)
            .await
    } else {
        state
            .db
            .add_device_within(&v.scope, name.clone(), NewToken::of(&token), code.clone())
            .await
    };
    match added {
        Ok(()) => {}
        Err(DbError::NoSuchUnion) => {
            refused(&state, &v, "device.add.refused", &name, "no_such_union").await?;
            let error = tr.t("console.no_such_union").into();
            let mut page = render(&state, &v, None, Some(error)).await?;
            *page.status_mut() = StatusCode::NOT_FOUND;
            return Ok(page);
        }
        Err(DbError::DeviceExists) => {
            refused(&state, &v, "device.add.refused", &name, "exists").await?;
            let error = tr.t("server.device_exists").into();
            return render(&state, &v, None, Some(error)).await;
        }
        Err(e) => return Err(e.into()),
    }
    state
        .db
        .audit(v.entry("device.add", name.clone(), 1))
        .await?;
    let office = state.db.office_state().await?;
    let verify_url = state.db.verify_url().await?;
    let code = Enrolment {
        server: office.server_url,
        token: token.clone(),
        office_key: state.office.fingerprint(),
        device: Some(name.clone()),
        seal_key: Some(state.office.seal_key().public().to_text()),
        verify_url,
        union: crate::server::unions::enrol_union(&state.db.device_union(name.clone()).await?),
    }
    .encode();
    render(&state, &v, Some((name, token, code)), None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevokeForm {
    pub confirm: String,
}

/// Admins only, once confirmed (it cannot be undone: the laptop's cards numbered after its
/// last upload stop verifying, and its token is refused).
pub async fn revoke(
    State(state): State<Arc<ServerState>>,
    Path(name): Path<String>,
    AdminChange { v, form: f, .. }: AdminChange<RevokeForm>,
) -> Result<Response, Refusal> {
    // an unknown laptop is said as such, confirmed or not; one outside the user's part of the
    // tree is unknown to them (SPEC §11: 404, as if it did not exist)
    let known = state.db.device_in_scope(&v.scope, name.clone()).await?;
    if !known {
        return unknown_device(&state, &v, &name).await;
    }
    if f.confirm != "yes" {
        refused(&state, &v, "device.revoke.refused", &name, "not_confirmed").await?;
        let error = Tr(v.lang).t("console.device_revoke_confirm_needed").into();
        return render(&state, &v, None, Some(error)).await;
    }
    match state.db.revoke_device(name.clone()).await {
        Ok(()) => {}
        Err(DbError::NoSuchDevice) => return unknown_device(&state, &v, &name).await,
        Err(e) => return Err(e.into()),
    }
    state
        .db
        .audit(v.entry("device.revoke", name.clone(), 1))
        .await?;
    Ok(redirect("/devices"))
}

/// A revocation of a laptop the office does not know, or not within the user's part of the
/// tree: the page with the error, answered 404, on the record.
async fn unknown_device(state: &ServerState, v: &Viewer, name: &str) -> Result<Response, Refusal> {
    refused(state, v, "device.revoke.refused", name, "no_such_device").await?;
    let error = Tr(v.lang).t("server.no_such_device").into();
    let mut page = render(state, v, None, Some(error)).await?;
    *page.status_mut() = StatusCode::NOT_FOUND;
    Ok(page)
}

/// An admin's device change refused for what it asked, on the record with why (the name as
/// typed, at most 64 characters).
async fn refused(
    state: &ServerState,
    v: &Viewer,
    action: &'static str,
    name: &str,
    why: &str,
) -> Result<(), Refusal> {
    let name: String = name.chars().take(64).collect();
    audited(state, v.entry(action, name, 0).with("why", why)).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SilentForm {
    pub days: String,
}

/// Admins only: after how many days without an upload a laptop is named (1–365).
pub async fn set_silent_days(
    State(state): State<Arc<ServerState>>,
    AdminChange { v, form: f, .. }: AdminChange<SilentForm>,
) -> Result<Response, Refusal> {
    // an office-wide setting: a node's user does not have it (SPEC §11)
    if !v.scope.is_all() {
        return Err(Refusal::NotFound);
    }
    match f.days.trim().parse::<i64>() {
        Ok(days @ 1..=365) => {
            state.db.set_silent_days(days).await?;
            Ok(redirect("/devices"))
        }
        _ => {
            let error = Tr(v.lang).t("console.bad_silent_days").into();
            render(&state, &v, None, Some(error)).await
        }
    }
}
