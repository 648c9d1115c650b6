//! The server's one router: the upload API, the verifier files and the console, each a module
//! of its own that knows only the shared state; this file knows them all and nothing knows it.
//! Layers: refusals said in JSON for all but the console (which says its own as pages), and
//! the access log around everything. [`metrics_router`]: `/metrics`, on a listener of its own.

use std::sync::Arc;

use axum::Router;
use axum::middleware;

use super::console::session;
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
        .layer(middleware::from_fn_with_state(
            state.clone(),
            access_log::log,
        ))
        .with_state(state)
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
