//! `/devices`: the laptops the office knows, their key and last upload; admins add one (its
//! token and enrolment code shown once, here and nowhere else) or revoke one. Each change is
//! audited.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Chrome, Tr, Viewer, db_failed, redirect};
use crate::card::enrol::Enrolment;
use crate::server::auth;
use crate::server::db::DbError;
use crate::server::db::devices::DeviceRow;
use crate::server::routes::App;

#[derive(Template, WebTemplate)]
#[template(path = "devices.html")]
pub struct DevicesPage {
    pub c: Chrome,
    pub devices: Vec<DeviceRow>,
    /// A device just added: (name, token, enrolment code), shown this once.
    pub added: Option<(String, String, String)>,
    pub error: Option<String>,
}

async fn render(
    app: &App,
    v: &Viewer,
    added: Option<(String, String, String)>,
    error: Option<String>,
) -> Response {
    match app.db.device_list().await {
        Ok(devices) => DevicesPage {
            c: Chrome::new(v, "devices", "/devices"),
            devices,
            added,
            error,
        }
        .into_response(),
        Err(e) => db_failed(v.lang, &e),
    }
}

pub async fn page(State(app): State<Arc<App>>, v: Viewer) -> Response {
    render(&app, &v, None, None).await
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
}

pub async fn add(
    State(app): State<Arc<App>>,
    v: Viewer,
    headers: HeaderMap,
    Form(f): Form<AddForm>,
) -> Response {
    if let Err(r) = v.admin_change(&headers, &f.csrf) {
        return r;
    }
    let tr = Tr(v.lang);
    let name = f.name.trim().to_string();
    if !auth::valid_device_name(&name) {
        return render(&app, &v, None, Some(tr.t("server.bad_device_name").into())).await;
    }
    let Ok(token) = auth::new_token() else {
        return render(&app, &v, None, Some(tr.t("console.db_failed").into())).await;
    };
    let result = async {
        app.db
            .add_device(name.clone(), crate::protocol::token_hash(&token))
            .await?;
        app.db.audit(v.entry("device.add", name.clone(), 1)).await?;
        app.db.office_state().await
    }
    .await;
    match result {
        Ok(state) => {
            let code = Enrolment {
                server: state.server_url,
                token: token.clone(),
                office_key: app.office.fingerprint(),
                device: Some(name.clone()),
                seal_key: Some(app.office.seal_key().public().to_text()),
            }
            .encode();
            render(&app, &v, Some((name, token, code)), None).await
        }
        Err(DbError::DeviceExists) => {
            render(&app, &v, None, Some(tr.t("server.device_exists").into())).await
        }
        Err(e) => db_failed(v.lang, &e),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

pub async fn revoke(
    State(app): State<Arc<App>>,
    v: Viewer,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = v.admin_change(&headers, &f.csrf) {
        return r;
    }
    let result = async {
        app.db.revoke_device(name.clone()).await?;
        app.db
            .audit(v.entry("device.revoke", name.clone(), 1))
            .await
    }
    .await;
    match result {
        Ok(()) => redirect("/devices"),
        Err(DbError::NoSuchDevice) => {
            render(
                &app,
                &v,
                None,
                Some(Tr(v.lang).t("server.no_such_device").into()),
            )
            .await
        }
        Err(e) => db_failed(v.lang, &e),
    }
}
