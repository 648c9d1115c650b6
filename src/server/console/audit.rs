//! `/audit`: the audit log, newest first, filtered by who or what (a select of the actions,
//! named in words), paged by id (admins); times in the office's time zone, member numbers
//! grouped as printed.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::filters::{some, url_pairs};
use super::{Chrome, Tr, Viewer};
use crate::card::MemberNo;
use crate::server::db::audit::AuditFilter;
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
    pub rows: Vec<Shown>,
    pub next: Option<String>,
    /// Every action with its name in words, for the filter's select.
    pub actions: Vec<(&'static str, &'static str)>,
}

/// An entry as the page shows it: the office's local time, the action in words (its code
/// kept beside), a member number grouped as printed.
pub struct Shown {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub action_label: String,
    pub target: String,
    pub count: i64,
    /// The entry's details, escaped (`AuditRow::fields_text`).
    pub fields: String,
}

/// The actions the console, the command line and the upload API record, with the message
/// key of each one's name in words.
pub const ACTIONS: &[(&str, &str)] = &[
    ("members.search", "console.action.members_search"),
    ("member.view", "console.action.member_view"),
    ("member.reveal", "console.action.member_reveal"),
    ("member.review", "console.action.member_review"),
    ("member.correct", "console.action.member_correct"),
    ("member.void", "console.action.member_void"),
    ("member.erase", "console.action.member_erase"),
    ("export", "console.action.export"),
    ("device.add", "console.action.device_add"),
    ("device.revoke", "console.action.device_revoke"),
    ("device.reissue", "console.action.device_reissue"),
    ("backup.import", "console.action.backup_import"),
    ("user.add", "console.action.user_add"),
    ("user.remove", "console.action.user_remove"),
    ("login", "console.action.login"),
    ("logout", "console.action.logout"),
];

/// An action's name in words; an action this list does not know reads as its code.
pub fn action_label(tr: Tr, code: &str) -> String {
    ACTIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or_else(|| code.to_string(), |(_, key)| tr.t(key).to_string())
}

/// A target as printed: a member number grouped (`X8ZE89-00GJ-0`), anything else as it is.
fn target_shown(target: &str) -> String {
    target
        .parse::<MemberNo>()
        .map(|n| n.grouped())
        .unwrap_or_else(|_| target.to_string())
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
        scope: v.scope.clone(),
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
    let c = Chrome::new(&v, "audit", "/audit");
    let tr = c.tr;
    let rows = rows
        .into_iter()
        .map(|r| Shown {
            fields: r.fields_text(),
            at: v.zone.shown(&r.at),
            action_label: action_label(tr, &r.action),
            target: target_shown(&r.target),
            actor: r.actor,
            action: r.action,
            count: r.count,
        })
        .collect();
    let actions = ACTIONS
        .iter()
        .map(|(code, key)| (*code, tr.t(key)))
        .collect();
    Ok(AuditPage {
        c,
        q,
        rows,
        next,
        actions,
    }
    .into_response())
}
