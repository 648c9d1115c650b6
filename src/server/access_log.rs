//! The access log: one JSON line per request (tracing, target `access`, set up in `main`):
//! method, the route's name as the router matched it (`MatchedPath`: `/members/{no}`, never
//! the member number in the path; anything unmatched is `other`), status, duration, the
//! refusal's code, and for a batch the device name and record counts. Never a name, ID number
//! or phone: a handler passes only counts, through a response extension ([`LogInfo`]).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

use super::refusal::Refusal;

/// What the access log may say about a request (no personal data by construction).
#[derive(Clone, Debug, Default)]
pub struct LogInfo {
    pub device: Option<String>,
    pub records: usize,
    pub accepted: usize,
    pub already_there: usize,
    pub rejected: usize,
    pub duplicate_person: usize,
    pub conflict: usize,
    /// Day summaries sent, and refused.
    pub days: usize,
    pub days_rejected: usize,
    pub db_ms: u64,
    /// Whether the upload's body was read to its end: when it was not, the connection is
    /// closed after the answer (`api::signed_upload_answer`).
    pub body_read: bool,
}

pub async fn log(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    // The route's template only: paths are input, and may hold a member number.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_string(), |p| p.as_str().to_string());
    let resp = next.run(req).await;
    let info = resp
        .extensions()
        .get::<LogInfo>()
        .cloned()
        .unwrap_or_default();
    let error = resp
        .extensions()
        .get::<Refusal>()
        .map_or("-", Refusal::code);
    tracing::info!(
        target: "access",
        method = %method,
        path = route,
        status = resp.status().as_u16(),
        duration_ms = start.elapsed().as_millis() as u64,
        device = info.device.as_deref().unwrap_or("-"),
        records = info.records,
        accepted = info.accepted,
        already_there = info.already_there,
        rejected = info.rejected,
        duplicate_person = info.duplicate_person,
        conflict = info.conflict,
        days = info.days,
        days_rejected = info.days_rejected,
        db_ms = info.db_ms,
        error,
    );
    resp
}
