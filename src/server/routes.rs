//! The server's one router: the upload API, the verifier files and the console, each a module
//! of its own that knows only the shared state; this file knows them all and nothing knows it.
//! Layers: refusals said in JSON for all but the console (which says its own as pages), the
//! host check and HSTS ([`guard`]) around all of it, and the access log around everything.
//! [`metrics_router`]: `/metrics`, on a listener of its own.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{HOST, STRICT_TRANSPORT_SECURITY};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use super::console::session;
use super::listener::ConnInfo;
use super::refusal::{self, Refusal};
use super::state::ServerState;
use super::{access_log, api, console, metrics, relay_api, verifier};

pub fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .merge(api::router())
        .merge(relay_api::router())
        .merge(verifier::router())
        .fallback(not_found)
        .layer(middleware::from_fn(refusal::in_json))
        .merge(console::router())
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            access_log::log,
        ))
        .with_state(state)
}

/// A year: browsers then never try plain HTTP for this host again.
const HSTS: &str = "max-age=31536000";

/// Where the office configured a public URL, a request naming another host is refused
/// (421): a page of another site whose name was re-pointed at this server (DNS rebinding)
/// sends its own name. An address literal (`192.168.1.5:8443`, `[::1]`) or `localhost`
/// cannot be re-pointed and is served. `/v1/health` answers whatever the host (load
/// balancers probe by address or by their own name). Under TLS, or when the trusted proxy
/// says the client came over HTTPS, every answer carries HSTS.
async fn guard(State(state): State<Arc<ServerState>>, req: Request, next: Next) -> Response {
    let tls = req.extensions().get::<ConnInfo>().is_some_and(|c| c.tls);
    let health = req.uri().path() == crate::protocol::PATH_HEALTH;
    let host = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host());
    let mut resp = match &state.public_host {
        Some(public) if !health && !host.is_some_and(|h| host_allowed(h, public)) => {
            let mut r = Refusal::WrongHost.into_response();
            // a fresh connection to the right name is what the client needs
            r.headers_mut()
                .insert("connection", HeaderValue::from_static("close"));
            r
        }
        _ => next.run(req).await,
    };
    if tls {
        resp.headers_mut()
            .insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    resp
}

/// Is `host` (a `Host` header: name or address, with or without a port) the public host,
/// an address literal or `localhost`?
fn host_allowed(host: &str, public: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(n, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                n
            } else {
                host
            }
        }),
    };
    let name = name.trim_end_matches('.');
    name.eq_ignore_ascii_case(public)
        || name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok()
}

/// The metrics listener's one route, `GET /metrics` (`metrics_listen`).
pub fn metrics_router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(state)
}

async fn scrape(
    axum::extract::State(state): axum::extract::State<Arc<ServerState>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let now = chrono::Utc::now().timestamp();
    let text = state
        .metrics
        .render(
            &state.db,
            state.body_budget.available_permits().saturating_mul(1024),
            now - session::IDLE_LIMIT,
            now - session::ABSOLUTE_LIMIT,
        )
        .await;
    (
        [(axum::http::header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        text,
    )
        .into_response()
}

async fn not_found() -> Refusal {
    Refusal::NotFound
}

#[cfg(test)]
mod tests {
    use super::host_allowed;

    #[test]
    fn hosts_served_under_a_public_name() {
        let public = "booth.office.lan";
        for ok in [
            "booth.office.lan",
            "BOOTH.office.lan:8443",
            "booth.office.lan.",
            "192.168.1.5:8443",
            "127.0.0.1",
            "[::1]:8443",
            "localhost:8443",
        ] {
            assert!(host_allowed(ok, public), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8443",
            "booth.office.lan.evil.example",
            "",
            "booth.office.lan:8443:1",
        ] {
            assert!(!host_allowed(bad, public), "{bad}");
        }
    }
}
