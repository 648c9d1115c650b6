//! `/devices`: the laptops the office knows, their key and last upload; admins add one (its
//! token and enrolment code shown once, here and nowhere else) or revoke one. Each change is
//! audited.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{AdminChange, Chrome, Tr, Viewer, audited, redirect};
use crate::card::enrol::Enrolment;
use crate::server::auth;
use crate::server::db::DbError;
use crate::server::db::devices::{DeviceRow, NewToken};
use crate::server::refusal::Refusal;
use crate::server::state::ServerState;

#[derive(Template, WebTemplate)]
#[template(path = "devices.html")]
pub struct DevicesPage {
    pub c: Chrome,
    pub devices: Vec<DeviceRow>,
    /// A device just added: (name, token, enrolment code), shown this once.
    pub added: Option<(String, String, String)>,
    pub error: Option<String>,
    /// A published copy of the check page older than the bundle (issue 23 item 10): said.
    pub stale_copy: Option<String>,
}

/// The warning when the newest published copy of the page is older than the bundle: a card
/// revoked since still shows valid there.
async fn stale_copy(
    state: &ServerState,
    lang: crate::i18n::Lang,
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
            at = format!("{} UTC", at.get(..16).unwrap_or(&at).replace('T', " ")),
            current = current
        )
    }))
}

async fn render(
    state: &ServerState,
    v: &Viewer,
    added: Option<(String, String, String)>,
    error: Option<String>,
) -> Result<Response, Refusal> {
    Ok(DevicesPage {
        c: Chrome::new(v, "devices", "/devices"),
        devices: state.db.device_list().await?,
        added,
        error,
        stale_copy: stale_copy(state, v.lang).await?,
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
    match state
        .db
        .add_device(name.clone(), NewToken::of(&token))
        .await
    {
        Ok(()) => {}
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
    }
    .encode();
    render(&state, &v, Some((name, token, code)), None).await
}

pub async fn revoke(
    State(state): State<Arc<ServerState>>,
    Path(name): Path<String>,
    AdminChange { v, .. }: AdminChange<()>,
) -> Result<Response, Refusal> {
    match state.db.revoke_device(name.clone()).await {
        Ok(()) => {}
        Err(DbError::NoSuchDevice) => {
            refused(&state, &v, "device.revoke.refused", &name, "no_such_device").await?;
            let error = Tr(v.lang).t("server.no_such_device").into();
            return render(&state, &v, None, Some(error)).await;
        }
        Err(e) => return Err(e.into()),
    }
    state
        .db
        .audit(v.entry("device.revoke", name.clone(), 1))
        .await?;
    Ok(redirect("/devices"))
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
