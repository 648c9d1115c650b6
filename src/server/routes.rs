//! The server's one router: the upload API, the verifier files and the console, each a module
//! of its own that knows only the shared state; this file knows them all and nothing knows it.
//! Layers: refusals said in JSON for all but the console (which says its own as pages), and
//! the access log around everything.

use std::sync::Arc;

use axum::Router;
use axum::middleware;

use super::refusal::{self, Refusal};
use super::state::ServerState;
use super::{access_log, api, console, relay_api, verifier};

pub fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .merge(api::router())
        .merge(relay_api::router())
        .merge(verifier::router())
        .fallback(not_found)
        .layer(middleware::from_fn(refusal::in_json))
        .merge(console::router())
        .layer(middleware::from_fn(access_log::log))
        .with_state(state)
}

async fn not_found() -> Refusal {
    Refusal::NotFound
}
