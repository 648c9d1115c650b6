//! The card verification page's routes (its content is `page`): `/v`, `/V`, `/v/`, `/V/` (the
//! page with this office's trust anchors), `/v-sw.js` and `/verifier/…`, each under the CSP the
//! page was built and checked for.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

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

/// A page or one of its files, under the CSP the page was built for.
fn static_response(bytes: Vec<u8>, content_type: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CONTENT_SECURITY_POLICY, page::CSP),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (REFERRER_POLICY, "no-referrer"),
            // the service worker asks the network first anyway
            (CACHE_CONTROL, "no-cache"),
        ],
        bytes,
    )
        .into_response()
}

async fn verification_page(State(state): State<Arc<ServerState>>) -> Response {
    static_response(
        state.page.clone().into_bytes(),
        page::content_type("index.html"),
    )
}

async fn service_worker() -> Response {
    static_response(
        page::service_worker().to_vec(),
        page::content_type("v-sw.js"),
    )
}

async fn file(Path(path): Path<String>) -> Result<Response, Refusal> {
    let bytes = page::file(&path).ok_or(Refusal::NotFound)?;
    Ok(static_response(bytes.to_vec(), page::content_type(&path)))
}
