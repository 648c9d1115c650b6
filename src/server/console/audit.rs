//! `/audit`: the audit log, newest first, filtered by who or what, paged by id (admins).

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::filters::{some, url_pairs};
use super::{Chrome, Viewer};
use crate::server::db::audit::{AuditFilter, AuditRow};
use crate::server::refusal::Refusal;
use crate::server::state::ServerState;

pub const PAGE: i64 = 100;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AuditQuery {
    pub actor: String,
    pub action: String,
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

pub async fn page(
    State(state): State<Arc<ServerState>>,
    v: Viewer,
    Query(q): Query<AuditQuery>,
) -> Result<Response, Refusal> {
    v.require_admin()?;
    let filter = AuditFilter {
        actor: some(&q.actor),
        action: some(&q.action),
    };
    let mut rows = state.db.audit_page(&filter, q.before, PAGE + 1).await?;
    let next = if rows.len() > PAGE as usize {
        rows.truncate(PAGE as usize);
        rows.last().map(|last| {
            let base = url_pairs(&[("actor", &q.actor), ("action", &q.action)]);
            format!("/audit?{base}&before={}", last.id)
        })
    } else {
        None
    };
    Ok(AuditPage {
        c: Chrome::new(&v, "audit", "/audit"),
        q,
        rows,
        next,
    }
    .into_response())
}
