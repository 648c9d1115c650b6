//! The upload API the laptops speak (docs/upload-protocol.md, docs/openapi.yaml): `/v1/health`,
//! `/v1/bundle` and `POST /v1/batches`, whose handler is a chain of steps joined by `?`, each
//! step's refusal one [`Refusal`]. What the access log may say of a batch (device, counts) is
//! handed to it in a response extension, refused or not.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ed25519_dalek::VerifyingKey;
use serde_json::json;

use super::access_log::LogInfo;
use super::auth::bearer;
use super::batch::Candidate;
use super::body::{HeldBody, accepts_gzip, gzip, read_body_decoded};
use super::db::segments::Version;
use super::db::{BatchWrite, Binding, Stored};
use super::ingest;
use super::refusal::{Answer, Refusal, accept_language};
use super::state::ServerState;
use crate::card::MemberNo;
use crate::card::keys::{acceptable_key, key_id_of, verify_strict};
use crate::i18n::Lang;
use crate::protocol::{
    self, BatchRequest, BatchResponse, DayRejected, HEADER_DEVICE_KEY, HEADER_SIGNATURE,
    ItemResult, MAX_DAYS_PER_BATCH, MAX_RECORDS_PER_BATCH, Status,
};

pub fn router() -> Router<Arc<ServerState>> {
    Router::new()
        .route(protocol::PATH_HEALTH, get(health))
        .route(protocol::PATH_BATCHES, post(post_batch))
        .route(protocol::PATH_BUNDLE, get(get_bundle))
}

async fn health(State(state): State<Arc<ServerState>>) -> Result<Response, Refusal> {
    state.db.ping().await?;
    Ok(axum::Json(json!({
        "status": "ok",
        "db": state.db.kind(),
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response())
}

async fn get_bundle(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    use axum::http::StatusCode;
    use axum::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
    let (version, text) = state.bundle().await?;
    let etag = format!("\"{version}\"");
    let fresh = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let (status, body) = if fresh {
        (StatusCode::NOT_MODIFIED, String::new())
    } else {
        (StatusCode::OK, (*text).clone())
    };
    Ok((
        status,
        [
            (CONTENT_TYPE, "application/json".to_string()),
            (ETAG, etag),
            (CACHE_CONTROL, "no-cache".to_string()),
        ],
        body,
    )
        .into_response())
}

/// `POST /v1/batches`: the access log learns the device and the counts even of a batch
/// refused part-way.
async fn post_batch(State(state): State<Arc<ServerState>>, req: Request) -> Response {
    let mut info = LogInfo::default();
    let gz = accepts_gzip(req.headers());
    let result = store_batch(&state, req, &mut info).await;
    gzip_answer(signed_upload_answer(result, info), gz).await
}

/// A 200 answer gzipped for a client that takes gzip (`Accept-Encoding`): a batch's answer
/// names every record's UUID, a third of the bytes on a weak link otherwise.
pub(super) async fn gzip_answer(resp: Response, wanted: bool) -> Response {
    use axum::http::header::{CONTENT_ENCODING, CONTENT_LENGTH, VARY};
    if !wanted || resp.status() != axum::http::StatusCode::OK {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    // our own JSON answer, already in memory
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Refusal::Internal.into_response();
    };
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    if bytes.len() < 256 {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    parts
        .headers
        .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    Response::from_parts(parts, axum::body::Body::from(gzip(&bytes)))
}

/// The answer to a signed upload (a batch, relayed segments), with what the access log learnt.
pub(super) fn signed_upload_answer(result: Answer, info: LogInfo) -> Response {
    let mut resp = result.into_response();
    if !info.body_read {
        // Refused before its body was read: the connection closes after the answer (the rest
        // of the body is still on its way), and saying so keeps a client from sending its
        // next request down it.
        resp.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    resp.extensions_mut().insert(info);
    resp
}

async fn store_batch(state: &ServerState, req: Request, info: &mut LogInfo) -> Answer {
    let upload = read_signed_upload(state, req, info).await?;
    let (device, held) = (&upload.device, &upload.held);
    let lang = accept_language(&upload.headers);
    let key = check_signature(&upload.key_header, &upload.sig_header, &held.bytes)?;
    let key_id = key_id_of(&key);
    let batch: BatchRequest =
        serde_json::from_slice(&held.bytes).map_err(|e| Refusal::BadJson { why: e.to_string() })?;
    if batch.device_key_id != key_id {
        return Err(Refusal::BadDeviceKey);
    }
    let voids = own_voids(&batch, &key_id)?;
    let binding = binding_of(&batch, &key, &key_id);
    // a laptop in a group: where this upload stands among its segments (SPEC §12)
    let version = batch
        .segment_counter
        .map(|k| Version::upload(binding.public_key.clone(), k));
    info.records = batch.records.len();
    if batch.records.len() > MAX_RECORDS_PER_BATCH {
        return Err(Refusal::TooManyRecords);
    }
    if batch.days.len() > MAX_DAYS_PER_BATCH {
        return Err(Refusal::TooManyDays);
    }
    info.days = batch.days.len();
    let checked = check_records(batch, lang).await?;

    let db_start = Instant::now();
    let stored = state
        .db
        .store_batch(BatchWrite {
            device: device.clone(),
            batch_id: checked.batch_id.to_string(),
            binding,
            candidates: checked.candidates.clone(),
            voids,
            days: checked.days.clone(),
            version,
        })
        .await;
    info.db_ms = db_start.elapsed().as_millis() as u64;
    // An error stored nothing of the batch (one transaction): the client retries it.
    let decisions = match stored? {
        Stored::Done(d) => d,
        Stored::Refused(refusal) => return Err(Refusal::of_binding(refusal, key_id)),
    };
    Ok(answer(checked, &decisions, info))
}

/// The device a bearer token was issued to (not revoked).
/// A signed upload's parts, read in the order every upload route takes them.
pub(super) struct SignedUpload<'a> {
    pub headers: HeaderMap,
    /// The device the bearer token names.
    pub device: String,
    pub key_header: String,
    pub sig_header: String,
    pub held: HeldBody,
    /// One of the batch slots, held while the upload is stored.
    pub _slot: tokio::sync::SemaphorePermit<'a>,
}

/// Reads what `POST /v1/batches` and `POST /v1/segments` both read first: the token
/// (authentication first: an unknown client gets nothing else out of us), a JSON body with
/// its signature headers, the body within the size limit and the shared body budget
/// (inflated if gzipped), then a batch slot.
pub(super) async fn read_signed_upload<'a>(
    state: &'a ServerState,
    req: Request,
    info: &mut LogInfo,
) -> Result<SignedUpload<'a>, Refusal> {
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let device = device_of(state, &headers).await?;
    info.device = Some(device.clone());
    require_json(&headers)?;
    let (key_header, sig_header) = signature_headers(&headers)?;
    // a gzip body inflated under the same limit and budget; the signature is over the JSON
    let held = read_body_decoded(&headers, body, state.max_body, state.body_budget.clone()).await?;
    info.body_read = true;
    // Closed only at shutdown, and then the request is not served anyway.
    let _slot = state
        .batch_slots
        .acquire()
        .await
        .map_err(|_| Refusal::DbUnavailable)?;
    Ok(SignedUpload {
        headers,
        device,
        key_header,
        sig_header,
        held,
        _slot,
    })
}

pub(super) async fn device_of(state: &ServerState, headers: &HeaderMap) -> Result<String, Refusal> {
    let token = bearer(headers).ok_or(Refusal::Unauthorized)?;
    state
        .db
        .device_for_token(protocol::token_hash(token))
        .await?
        .ok_or(Refusal::Unauthorized)
}

pub(super) fn require_json(headers: &HeaderMap) -> Result<(), Refusal> {
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if json {
        Ok(())
    } else {
        Err(Refusal::UnsupportedMediaType)
    }
}

/// The device key and signature headers. A laptop of the previous release signs nothing: it
/// must be upgraded, not refused for what it cannot know.
pub(super) fn signature_headers(headers: &HeaderMap) -> Result<(String, String), Refusal> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    match (text(HEADER_DEVICE_KEY), text(HEADER_SIGNATURE)) {
        (Some(key), Some(sig)) => Ok((key.to_string(), sig.to_string())),
        _ => Err(Refusal::UpgradeRequired),
    }
}

/// The batch's signing key, if the signature over the exact body bytes checks out strictly.
fn check_signature(
    key_header: &str,
    sig_header: &str,
    body: &[u8],
) -> Result<VerifyingKey, Refusal> {
    signing_key(
        key_header,
        sig_header,
        &protocol::batch_message(body),
        Refusal::BadBatchSignature,
    )
}

/// The key of the headers, if its signature over `message` checks out strictly; `bad` is the
/// refusal of a signature that does not.
pub(super) fn signing_key(
    key_header: &str,
    sig_header: &str,
    message: &[u8],
    bad: Refusal,
) -> Result<VerifyingKey, Refusal> {
    use data_encoding::BASE64URL_NOPAD;
    let key_bytes: [u8; 32] = BASE64URL_NOPAD
        .decode(key_header.trim().as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(Refusal::BadDeviceKey)?;
    let key = acceptable_key(&key_bytes).map_err(|_| Refusal::BadDeviceKey)?;
    let sig: [u8; 64] = BASE64URL_NOPAD
        .decode(sig_header.trim().as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad.clone())?;
    if !verify_strict(&key, message, &sig) {
        return Err(bad);
    }
    Ok(key)
}

/// The batch's voids, once every member number and void in it is this key's: a token cannot
/// claim another laptop's members or voids.
pub(super) fn own_voids(batch: &BatchRequest, key_id: &str) -> Result<Vec<String>, Refusal> {
    let mut voids = Vec::with_capacity(batch.voids.len());
    let mut foreign = batch
        .records
        .iter()
        .filter_map(|r| r.member_no.parse::<MemberNo>().ok())
        .map(|n| n.to_string())
        .find(|n| !n.starts_with(key_id));
    for v in &batch.voids {
        match v.parse::<MemberNo>() {
            Ok(n) if n.device() == key_id => voids.push(n.as_str().to_string()),
            _ => {
                foreign.get_or_insert_with(|| {
                    crate::member::text::display_safe(v)
                        .chars()
                        .take(20)
                        .collect()
                });
            }
        }
    }
    match foreign {
        Some(member_no) => Err(Refusal::ForeignMemberNumber {
            member_no,
            key_id: key_id.to_string(),
        }),
        None => Ok(voids),
    }
}

/// What the batch tells of its key, for the bundle (bound to the token at its first upload).
pub(super) fn binding_of(batch: &BatchRequest, key: &VerifyingKey, key_id: &str) -> Binding {
    Binding {
        key_id: key_id.to_string(),
        public_key: crate::card::bundle::key_text(key),
        union: batch
            .union
            .as_deref()
            .map(|u| {
                crate::member::text::display_safe(u)
                    .chars()
                    .take(60)
                    .collect()
            })
            .unwrap_or_default(),
        from: batch
            .key_created
            .unwrap_or_else(|| chrono::Utc::now().date_naive())
            .to_string(),
    }
}

/// A batch after the checks that need no database.
struct Checked {
    batch_id: uuid::Uuid,
    /// The final answers of the records that did not pass, by position.
    answers: Vec<Option<ItemResult>>,
    candidates: Vec<Candidate>,
    days: Vec<super::batch::DayRow>,
    days_rejected: Vec<DayRejected>,
}

/// Hashing and validation are CPU work: off the async workers.
async fn check_records(batch: BatchRequest, lang: Lang) -> Result<Checked, Refusal> {
    let today = chrono::Local::now().date_naive();
    tokio::task::spawn_blocking(move || {
        let mut answers: Vec<Option<ItemResult>> = vec![None; batch.records.len()];
        let mut candidates: Vec<Candidate> = Vec::new();
        for (i, item) in batch.records.iter().enumerate() {
            match ingest::check(i, item, today, lang) {
                Ok(c) => candidates.push(c),
                Err(answer) => answers[i] = Some(answer),
            }
        }
        let (days, days_rejected) = ingest::check_days(&batch.days, today, lang);
        Checked {
            batch_id: batch.batch_id,
            answers,
            candidates,
            days,
            days_rejected,
        }
    })
    .await
    .map_err(|_| Refusal::Internal)
}

/// One answer per record in the request's order, counted for the access log.
fn answer(checked: Checked, decisions: &[super::batch::Decision], info: &mut LogInfo) -> Response {
    let Checked {
        batch_id,
        mut answers,
        candidates,
        days,
        days_rejected,
    } = checked;
    for (c, d) in candidates.iter().zip(decisions) {
        answers[c.index] = Some(ingest::answer(&c.uuid, d));
    }
    let results: Vec<ItemResult> = answers.into_iter().flatten().collect();
    for r in &results {
        match r.status {
            Status::Accepted => info.accepted += 1,
            Status::AlreadyThere => info.already_there += 1,
            Status::Rejected => info.rejected += 1,
            Status::DuplicatePerson => info.duplicate_person += 1,
            Status::Conflict => info.conflict += 1,
        }
    }
    info.days_rejected = days_rejected.len();
    axum::Json(BatchResponse {
        batch_id,
        results,
        days_stored: days.len() as u64,
        days_rejected,
    })
    .into_response()
}
