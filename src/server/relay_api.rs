//! `POST /v1/segments` (docs/openapi.yaml, docs/trust.md "Peers"): a laptop delivers the
//! segments it holds for its peers. Its token and signature (`booth-relay/1` over the body)
//! say who delivered them, and only that: each segment is then taken on its origin's own
//! signature and binding ([`super::relay`]) and answered on its own — `accepted`,
//! `already_there`, or `refused` with a code — so one bad segment never holds back the rest.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::access_log::LogInfo;
use super::api::{gzip_answer, read_signed_upload, signed_upload_answer, signing_key};
use super::body::accepts_gzip;
use super::refusal::{Answer, Refusal};
use super::relay;
use super::state::ServerState;
use crate::card::bundle::key_text;
use crate::protocol::{self, MAX_SEGMENTS_PER_REQUEST, SegmentsRequest, SegmentsResponse};

pub fn router() -> Router<Arc<ServerState>> {
    Router::new().route(protocol::PATH_SEGMENTS, post(post_segments))
}

async fn post_segments(State(state): State<Arc<ServerState>>, req: Request) -> Response {
    let mut info = LogInfo::default();
    let gz = accepts_gzip(req.headers());
    let result = take_segments(&state, req, &mut info).await;
    gzip_answer(signed_upload_answer(result, info), gz).await
}

async fn take_segments(state: &ServerState, req: Request, info: &mut LogInfo) -> Answer {
    // the relay's token first, as for a batch
    let upload = read_signed_upload(state, req, info).await?;
    let (relay, held) = (&upload.device, &upload.held);
    let key = signing_key(
        &upload.key_header,
        &upload.sig_header,
        &protocol::relay_message(&held.bytes),
        Refusal::BadRelaySignature,
    )?;
    // the relay is one of the office's laptops, with the key its token is bound to (its own
    // upload, which comes first, bound it)
    match state.db.bound_key_of(relay.clone()).await? {
        Some(k) if k == key_text(&key) => {}
        Some(_) => {
            return Err(Refusal::TokenBoundToOtherKey {
                key_id: crate::card::keys::key_id_of(&key),
            });
        }
        None => return Err(Refusal::RelayNotBound),
    }
    let request: SegmentsRequest =
        serde_json::from_slice(&held.bytes).map_err(|e| Refusal::BadJson { why: e.to_string() })?;
    if request.segments.len() > MAX_SEGMENTS_PER_REQUEST {
        return Err(Refusal::TooManySegments);
    }
    let db_start = Instant::now();
    let mut results = Vec::with_capacity(request.segments.len());
    for text in &request.segments {
        let r = relay::take(&state.db, &state.seals, text, relay).await?;
        if let Some(c) = &r.records {
            info.records +=
                (c.accepted + c.already_there + c.conflict + c.duplicate_person + c.rejected)
                    as usize;
            info.accepted += c.accepted as usize;
            info.already_there += c.already_there as usize;
            info.conflict += c.conflict as usize;
            info.duplicate_person += c.duplicate_person as usize;
            info.rejected += c.rejected as usize;
            info.days += c.days_stored as usize;
        }
        if r.status == relay::REFUSED {
            // what was refused and why, never what the segment holds
            tracing::info!(
                relay = relay.as_str(),
                counter = r.counter,
                error = r.error.as_deref().unwrap_or("-"),
                "relayed segment refused"
            );
        }
        results.push(r);
    }
    info.db_ms = db_start.elapsed().as_millis() as u64;
    Ok(axum::Json(SegmentsResponse { results }).into_response())
}
