//! `/audit`: the audit log, newest first, filtered by who or what, paged by id (admins).

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::members::url_pairs;
use super::{Chrome, Viewer, db_failed};
use crate::server::db::audit::{AuditFilter, AuditRow};
use crate::server::routes::App;

pub const PAGE: i64 = 100;

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub before: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub c: Chrome,
    pub q: AuditQuery,
    pub rows: Vec<AuditRow>,
    pub next: Option<String>,
}

pub async fn page(State(app): State<Arc<App>>, v: Viewer, Query(q): Query<AuditQuery>) -> Response {
    if let Err(r) = v.require_admin() {
        return r;
    }
    let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let filter = AuditFilter {
        actor: some(&q.actor),
        action: some(&q.action),
    };
    let mut rows = match app.db.audit_page(&filter, q.before, PAGE + 1).await {
        Ok(r) => r,
        Err(e) => return db_failed(v.lang, &e),
    };
    let next = if rows.len() > PAGE as usize {
        rows.truncate(PAGE as usize);
        rows.last().map(|last| {
            let base = url_pairs(&[("actor", &q.actor), ("action", &q.action)]);
            format!("/audit?{base}&before={}", last.id)
        })
    } else {
        None
    };
    AuditPage {
        c: Chrome::new(&v, "audit", "/audit"),
        q,
        rows,
        next,
    }
    .into_response()
}
