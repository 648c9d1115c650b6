//! The access log: one JSON line per request (tracing, target `access`, set up in `main`):
//! method, the route's name as the router matched it (`MatchedPath`: `/members/{no}`, never
//! the member number in the path; anything unmatched is `other`), status, duration, the
//! refusal's code, and for a batch the device name and record counts. Never a name, ID number
//! or phone: a handler passes only counts, through a response extension ([`LogInfo`]).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::metrics::{RECORD_OUTCOMES, UPLOAD_ROUTES};
use super::refusal::Refusal;
use super::state::ServerState;

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

/// Logs the request, and counts it in the metrics (an upload and its records too).
pub async fn log(State(state): State<Arc<ServerState>>, req: Request, next: Next) -> Response {
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
    let refusal = resp.extensions().get::<Refusal>().map(Refusal::code);
    let error = refusal.unwrap_or("-");
    let took = start.elapsed();
    let m = &state.metrics;
    m.request(method.as_str(), &route, resp.status().as_u16());
    if method == axum::http::Method::POST && UPLOAD_ROUTES.contains(&route.as_str()) {
        m.upload(&route, refusal, took);
        for (outcome, n) in RECORD_OUTCOMES.into_iter().zip([
            info.accepted,
            info.already_there,
            info.rejected,
            info.duplicate_person,
            info.conflict,
        ]) {
            m.records(outcome, n);
        }
        m.days(
            info.days.saturating_sub(info.days_rejected),
            info.days_rejected,
        );
    }
    tracing::info!(
        target: "access",
        method = %method,
        path = route,
        status = resp.status().as_u16(),
        duration_ms = took.as_millis() as u64,
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
