//! The card verification page's routes (its content is `page`): `/v`, `/V`, `/v/`, `/V/` (the
//! page with this office's trust anchors), `/v-sw.js` and `/verifier/…`, each under the CSP the
//! page was built and checked for.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, VARY,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::body::accepts_gzip;
use super::page;
use super::refusal::Refusal;
use super::state::ServerState;

pub fn router() -> Router<Arc<ServerState>> {
    let mut r = Router::new()
        .route(page::SERVICE_WORKER_PATH, get(service_worker))
        .route(&format!("{}{{*path}}", page::FILES_PREFIX), get(file));
    for p in page::PAGE_PATHS {
        r = r.route(p, get(verification_page));
    }
    r
}

/// A page or one of its files, under the CSP the page was built for; the gzipped copy when
/// the browser takes gzip (issue 23 item 9: the first visit's weight).
fn static_response(
    headers: &HeaderMap,
    plain: &[u8],
    gzipped: impl FnOnce() -> Vec<u8>,
    content_type: &'static str,
) -> Response {
    let common = [
        (CONTENT_TYPE, content_type),
        (CONTENT_SECURITY_POLICY, page::CSP),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (REFERRER_POLICY, "no-referrer"),
        // the service worker answers from its copy and refreshes it behind
        (CACHE_CONTROL, "no-cache"),
        (VARY, "Accept-Encoding"),
    ];
    if accepts_gzip(headers) {
        (common, [(CONTENT_ENCODING, "gzip")], gzipped()).into_response()
    } else {
        (common, plain.to_vec()).into_response()
    }
}

async fn verification_page(State(state): State<Arc<ServerState>>, headers: HeaderMap) -> Response {
    static_response(
        &headers,
        state.page.as_bytes(),
        || state.page_gz.clone(),
        page::content_type("index.html"),
    )
}

async fn service_worker(headers: HeaderMap) -> Response {
    static_response(
        &headers,
        page::service_worker(),
        || page::service_worker_gzipped().to_vec(),
        page::content_type("v-sw.js"),
    )
}

async fn file(Path(path): Path<String>, headers: HeaderMap) -> Result<Response, Refusal> {
    let bytes = page::file(&path).ok_or(Refusal::NotFound)?;
    Ok(static_response(
        &headers,
        bytes,
        || page::file_gzipped(&path).unwrap_or_default().to_vec(),
        page::content_type(&path),
    ))
}
