//! The card verification page's routes (its content is `page`): `/v`, `/V`, `/v/`, `/V/` (the
//! page with this office's trust anchors), `/v-sw.js` and `/verifier/…`, each under the CSP the
//! page was built and checked for.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS,
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

/// Whether the request's `Accept-Encoding` takes gzip (a `gzip` or `*` entry whose `q` is not 0).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|entry| {
            let mut parts = entry.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let zero = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !zero
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_is_read_as_rfc_9110_says() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(ACCEPT_ENCODING, v.parse().unwrap());
            accepts_gzip(&m)
        };
        assert!(h("gzip, deflate, br, zstd"));
        assert!(h("br;q=1.0, GZIP;q=0.5"));
        assert!(h("*"));
        assert!(!h("gzip;q=0"));
        assert!(!h("br, identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
