//! HTTP: routes, the batch handler, and the access log.
//!
//! The access log is one JSON line per request (tracing, set up in `main`): method, path,
//! status, duration, device name and record counts. Never a name, ID number or phone: the
//! handler passes only counts to the log, through a response extension.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use serde_json::json;

use super::auth::bearer;
use super::db::{BatchWrite, BindRefusal, Binding, Db, Stored};
use super::ingest::{self, Candidate};
use super::{bundle, page};
use crate::card::MemberNo;
use crate::card::keys::{acceptable_key, key_id_of, verify_strict};
use crate::card::office::OfficeKey;
use crate::i18n::Lang;
use crate::protocol::{
    self, BatchRequest, BatchResponse, ErrorBody, HEADER_DEVICE_KEY, HEADER_SIGNATURE, ItemResult,
    MAX_DAYS_PER_BATCH, MAX_RECORDS_PER_BATCH, Status,
};
use crate::t;

pub struct App {
    pub db: Db,
    pub max_body: usize,
    /// Request-body bytes held at once across all requests, in KiB: past it, a new body
    /// waits (and gets 503 "busy" after a while) instead of growing the server's memory.
    pub body_budget: Arc<tokio::sync::Semaphore>,
    /// Batches being decoded, checked and stored at once. A decoded batch takes several times
    /// its body in memory and the database takes one writer (SQLite) or a pool's worth
    /// (PostgreSQL) anyway: more in flight only queue inside, holding memory while they wait.
    pub batch_slots: tokio::sync::Semaphore,
    pub office: Arc<OfficeKey>,
    /// The verification page with its trust anchors filled in.
    page: String,
    /// The last bundle signed, by version: rebuilt only when the version moves.
    bundle_cache: tokio::sync::Mutex<Option<(u64, Arc<String>)>>,
}

impl App {
    /// `body_memory`: bytes of request bodies held at once (at least one largest body).
    pub fn new(db: Db, max_body: usize, body_memory: usize, office: Arc<OfficeKey>) -> App {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let budget_kib = body_memory.max(max_body).div_ceil(1024);
        App {
            db,
            max_body,
            body_budget: Arc::new(tokio::sync::Semaphore::new(budget_kib)),
            batch_slots: tokio::sync::Semaphore::new((2 * cores).max(4)),
            page: page::index_html(&office.fingerprint(), protocol::PATH_BUNDLE),
            office,
            bundle_cache: tokio::sync::Mutex::new(None),
        }
    }

    /// The current bundle (version, envelope text).
    pub async fn bundle(&self) -> Result<(u64, Arc<String>), bundle::BundleServeError> {
        let state = self.db.office_state().await?;
        let mut cache = self.bundle_cache.lock().await;
        if let Some((v, text)) = cache.as_ref()
            && *v == state.version
        {
            return Ok((*v, text.clone()));
        }
        let text = Arc::new(bundle::build(&self.db, &self.office, &state).await?);
        *cache = Some((state.version, text.clone()));
        Ok((state.version, text))
    }
}

/// Request bodies held at once unless `--body-memory` says otherwise: 96 MiB (six
/// maximum-size batches, or hundreds of ordinary ones: a batch of 500 records is about 0.5 MB).
pub const DEFAULT_BODY_MEMORY: usize = 96 * 1024 * 1024;
/// How long a body may wait for the budget before the client is told to come back later.
const BODY_BUDGET_WAIT: Duration = Duration::from_secs(20);

/// What the access log may say about a request (no personal data by construction).
#[derive(Clone, Debug, Default)]
struct LogInfo {
    device: Option<String>,
    records: usize,
    accepted: usize,
    already_there: usize,
    rejected: usize,
    duplicate_person: usize,
    conflict: usize,
    /// Day summaries sent, and refused.
    days: usize,
    days_rejected: usize,
    db_ms: u64,
    error: Option<&'static str>,
}

pub fn router(app: Arc<App>) -> Router {
    let mut r = Router::new()
        .route(protocol::PATH_HEALTH, get(health))
        .route(protocol::PATH_BATCHES, post(post_batch))
        .route(protocol::PATH_BUNDLE, get(get_bundle))
        .route(page::SERVICE_WORKER_PATH, get(service_worker))
        .route("/verifier/{*path}", get(verifier_file));
    for p in page::PAGE_PATHS {
        r = r.route(p, get(verification_page));
    }
    r.merge(super::console::router())
        .fallback(not_found)
        .layer(middleware::from_fn(access_log))
        .with_state(app)
}

async fn access_log(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    // Only our own route names reach the log; anything else is "other" (paths are input).
    let path: &'static str = match req.uri().path() {
        protocol::PATH_BATCHES => protocol::PATH_BATCHES,
        protocol::PATH_HEALTH => protocol::PATH_HEALTH,
        protocol::PATH_BUNDLE => protocol::PATH_BUNDLE,
        "/v" | "/V" | "/v/" | "/V/" => "/v",
        page::SERVICE_WORKER_PATH => page::SERVICE_WORKER_PATH,
        p if p.starts_with(page::FILES_PREFIX) => "/verifier/*",
        // the console: its route names only (a member number in a path is not logged)
        "/" => "/",
        "/login" => "/login",
        "/logout" => "/logout",
        "/members" => "/members",
        "/members/export" => "/members/export",
        "/devices" => "/devices",
        "/audit" => "/audit",
        p if p.starts_with("/members/") => "/members/*",
        p if p.starts_with("/devices/") => "/devices/*",
        p if p.starts_with("/console/") => "/console/*",
        p if p.starts_with("/lang/") => "/lang/*",
        _ => "other",
    };
    let resp = next.run(req).await;
    let info = resp
        .extensions()
        .get::<LogInfo>()
        .cloned()
        .unwrap_or_default();
    tracing::info!(
        target: "access",
        method = %method,
        path,
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
        error = info.error.unwrap_or("-"),
    );
    resp
}

fn lang_of(headers: &HeaderMap) -> Lang {
    headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::parse)
        .unwrap_or_default()
}

fn error(status: StatusCode, code: &'static str, message: String, info: LogInfo) -> Response {
    let mut resp = (
        status,
        axum::Json(ErrorBody {
            error: code.into(),
            message,
        }),
    )
        .into_response();
    resp.extensions_mut().insert(LogInfo {
        error: Some(code),
        ..info
    });
    resp
}

async fn health(State(app): State<Arc<App>>) -> Response {
    match app.db.ping().await {
        Ok(()) => axum::Json(json!({
            "status": "ok",
            "db": app.db.kind(),
            "version": env!("CARGO_PKG_VERSION"),
        }))
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health: database unreachable");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "db_unavailable",
                t!(Lang::En, "server.db_unavailable").into(),
                LogInfo::default(),
            )
        }
    }
}

/// A page or one of its files, under the CSP the page was built for.
fn static_response(bytes: Vec<u8>, content_type: &'static str) -> Response {
    use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY};
    (
        [
            (CONTENT_TYPE, content_type),
            (CONTENT_SECURITY_POLICY, page::CSP),
            (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (REFERRER_POLICY, "no-referrer"),
            // the service worker asks the network first anyway
            (CACHE_CONTROL, "no-cache"),
        ],
        bytes,
    )
        .into_response()
}

async fn verification_page(State(app): State<Arc<App>>) -> Response {
    static_response(
        app.page.clone().into_bytes(),
        page::content_type("index.html"),
    )
}

async fn service_worker() -> Response {
    static_response(
        page::service_worker().to_vec(),
        page::content_type("v-sw.js"),
    )
}

async fn verifier_file(
    axum::extract::Path(path): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    match page::file(&path) {
        Some(bytes) => static_response(bytes.to_vec(), page::content_type(&path)),
        None => not_found(headers).await,
    }
}

async fn get_bundle(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    use axum::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
    let lang = lang_of(&headers);
    let (version, text) = match app.bundle().await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "bundle not available");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                e.code(),
                e.message(lang),
                LogInfo::default(),
            );
        }
    };
    let etag = format!("\"{version}\"");
    let fresh = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let status = if fresh {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let body = if fresh {
        String::new()
    } else {
        (*text).clone()
    };
    (
        status,
        [
            (CONTENT_TYPE, "application/json".to_string()),
            (ETAG, etag),
            (CACHE_CONTROL, "no-cache".to_string()),
        ],
        body,
    )
        .into_response()
}

async fn not_found(headers: HeaderMap) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        t!(lang_of(&headers), "server.not_found").into(),
        LogInfo::default(),
    )
}

enum BodyError {
    TooLarge,
    Read,
    Timeout,
    /// The server holds as many bodies as it will; the client should retry later.
    Busy,
}

/// A request body in memory, with its share of the server's body budget (given back when
/// the request is done with it).
struct HeldBody {
    bytes: Vec<u8>,
    _budget: tokio::sync::OwnedSemaphorePermit,
}

/// Reads at most `limit` bytes, each KiB taken from `budget` as it arrives. Past the limit
/// the rest is read and thrown away (up to a bound) before answering 413, so the client sees
/// the answer rather than a reset connection while it is still sending. A body that trickles
/// in slower than the time limit is cut.
async fn read_body(
    body: Body,
    limit: usize,
    budget: Arc<tokio::sync::Semaphore>,
) -> Result<HeldBody, BodyError> {
    const DRAIN_MAX: usize = 256 * 1024 * 1024;
    let read = async move {
        let mut body = body;
        // Sized once from the announced length: growing by doubling would copy the body and
        // leave up to twice its size resident, outside what the budget counts. Untouched
        // capacity costs no memory until the bytes arrive.
        let announced =
            usize::try_from(axum::body::HttpBody::size_hint(&body).upper().unwrap_or(0))
                .unwrap_or(0);
        let mut buf = Vec::with_capacity(announced.min(limit));
        let mut held = budget
            .clone()
            .try_acquire_many_owned(0)
            .map_err(|_| BodyError::Busy)?;
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| BodyError::Read)?;
            if let Ok(data) = frame.into_data() {
                seen = seen.saturating_add(data.len());
                if seen > limit {
                    if seen > DRAIN_MAX {
                        break;
                    }
                    continue;
                }
                let need = (buf.len() + data.len()).div_ceil(1024) - held.num_permits();
                if need > 0 {
                    let more = tokio::time::timeout(
                        BODY_BUDGET_WAIT,
                        budget.clone().acquire_many_owned(need as u32),
                    )
                    .await
                    .map_err(|_| BodyError::Busy)?
                    .map_err(|_| BodyError::Busy)?;
                    held.merge(more);
                }
                buf.extend_from_slice(&data);
            }
        }
        if seen > limit {
            Err(BodyError::TooLarge)
        } else {
            Ok(HeldBody {
                bytes: buf,
                _budget: held,
            })
        }
    };
    tokio::time::timeout(Duration::from_secs(120), read)
        .await
        .unwrap_or(Err(BodyError::Timeout))
}

/// The batch's signing key, if the signature over the exact body bytes checks out strictly.
/// Errors are reason codes.
fn check_signature(
    key_header: &str,
    sig_header: &str,
    body: &[u8],
) -> Result<ed25519_dalek::VerifyingKey, &'static str> {
    use data_encoding::BASE64URL_NOPAD;
    let key_bytes: [u8; 32] = BASE64URL_NOPAD
        .decode(key_header.trim().as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("bad_device_key")?;
    let key = acceptable_key(&key_bytes).map_err(|_| "bad_device_key")?;
    let sig: [u8; 64] = BASE64URL_NOPAD
        .decode(sig_header.trim().as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("bad_batch_signature")?;
    if !verify_strict(&key, &protocol::batch_message(body), &sig) {
        return Err("bad_batch_signature");
    }
    Ok(key)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

async fn post_batch(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let lang = lang_of(headers);
    let mut info = LogInfo::default();

    // Authentication first: an unknown client gets nothing else out of us.
    let Some(token) = bearer(headers) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            t!(lang, "server.unauthorized").into(),
            info,
        );
    };
    let device = match app.db.device_for_token(protocol::token_hash(token)).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            return error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                t!(lang, "server.unauthorized").into(),
                info,
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "token look-up failed");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "db_unavailable",
                t!(lang, "server.db_unavailable").into(),
                info,
            );
        }
    };
    info.device = Some(device.clone());

    if !is_json(headers) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            t!(lang, "server.content_type").into(),
            info,
        );
    }
    // A laptop of the previous release signs nothing: it must be upgraded, not refused
    // for what it cannot know.
    let (Some(key_header), Some(sig_header)) = (
        headers.get(HEADER_DEVICE_KEY).and_then(|v| v.to_str().ok()),
        headers.get(HEADER_SIGNATURE).and_then(|v| v.to_str().ok()),
    ) else {
        return error(
            StatusCode::UPGRADE_REQUIRED,
            "upgrade_required",
            t!(lang, "server.upgrade_required").into(),
            info,
        );
    };
    let (key_header, sig_header) = (key_header.to_string(), sig_header.to_string());
    let held = match read_body(body, app.max_body, app.body_budget.clone()).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                t!(lang, "server.too_large", max = app.max_body),
                info,
            );
        }
        Err(BodyError::Busy) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                t!(lang, "server.busy").into(),
                info,
            );
        }
        Err(BodyError::Read | BodyError::Timeout) => {
            return error(
                StatusCode::BAD_REQUEST,
                "body_read",
                t!(lang, "server.body_read").into(),
                info,
            );
        }
    };
    let bytes = &held.bytes;
    // Closed only at shutdown, and then the request is not served anyway.
    let Ok(_slot) = app.batch_slots.acquire().await else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "db_unavailable",
            t!(lang, "server.db_unavailable").into(),
            info,
        );
    };
    let key = match check_signature(&key_header, &sig_header, bytes) {
        Ok(k) => k,
        Err(code) => {
            let message = match code {
                "bad_device_key" => t!(lang, "server.bad_device_key").into(),
                _ => t!(lang, "server.bad_batch_signature").into(),
            };
            return error(StatusCode::FORBIDDEN, code, message, info);
        }
    };
    let key_id = key_id_of(&key);
    let batch: BatchRequest = match serde_json::from_slice(bytes) {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_json",
                t!(lang, "server.bad_json", why = e),
                info,
            );
        }
    };
    if batch.device_key_id != key_id {
        return error(
            StatusCode::FORBIDDEN,
            "bad_device_key",
            t!(lang, "server.bad_device_key").into(),
            info,
        );
    }
    // Only this key's numbers: a token cannot claim another laptop's members or voids.
    let numbers = batch
        .records
        .iter()
        .filter_map(|r| r.member_no.parse::<MemberNo>().ok());
    let mut voids = Vec::with_capacity(batch.voids.len());
    let mut foreign = numbers
        .map(|n| n.to_string())
        .find(|n| !n.starts_with(&key_id));
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
    if let Some(n) = foreign {
        return error(
            StatusCode::FORBIDDEN,
            "foreign_member_number",
            t!(
                lang,
                "server.foreign_member_number",
                member_no = n,
                key_id = key_id
            ),
            info,
        );
    }
    let binding = Binding {
        key_id: key_id.clone(),
        public_key: crate::card::bundle::key_text(&key),
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
    };
    info.records = batch.records.len();
    if batch.records.len() > MAX_RECORDS_PER_BATCH {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_records",
            t!(lang, "server.too_many_records", max = MAX_RECORDS_PER_BATCH),
            info,
        );
    }
    if batch.days.len() > MAX_DAYS_PER_BATCH {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_days",
            t!(lang, "server.too_many_days", max = MAX_DAYS_PER_BATCH),
            info,
        );
    }
    info.days = batch.days.len();

    // Hashing and validation are CPU work: off the async workers.
    let today = chrono::Local::now().date_naive();
    let checked = tokio::task::spawn_blocking(move || {
        let mut answers: Vec<Option<ItemResult>> = vec![None; batch.records.len()];
        let mut candidates: Vec<Candidate> = Vec::new();
        for (i, item) in batch.records.iter().enumerate() {
            match ingest::check(i, item, today, lang) {
                Ok(c) => candidates.push(c),
                Err(answer) => answers[i] = Some(answer),
            }
        }
        let days = ingest::check_days(&batch.days, today, lang);
        (batch.batch_id, answers, candidates, days)
    })
    .await;
    let Ok((batch_id, mut answers, candidates, (days, days_rejected))) = checked else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            t!(lang, "server.internal").into(),
            info,
        );
    };

    let db_start = Instant::now();
    let stored = app
        .db
        .store_batch(BatchWrite {
            device,
            batch_id: batch_id.to_string(),
            binding,
            candidates: candidates.clone(),
            voids,
            days: days.clone(),
        })
        .await;
    info.db_ms = db_start.elapsed().as_millis() as u64;
    let decisions = match stored {
        Ok(Stored::Done(d)) => d,
        Ok(Stored::Refused(refusal)) => {
            let message = match refusal {
                BindRefusal::TokenBoundToOtherKey => {
                    t!(lang, "server.token_bound_to_other_key", key_id = key_id)
                }
                BindRefusal::KeyIdTaken => t!(lang, "server.key_id_taken", key_id = key_id),
            };
            return error(StatusCode::FORBIDDEN, refusal.code(), message, info);
        }
        Err(e) => {
            // Nothing of the batch is stored (one transaction): the client retries it.
            tracing::error!(error = %e, "batch not stored");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "db_unavailable",
                t!(lang, "server.db_unavailable").into(),
                info,
            );
        }
    };
    for (c, d) in candidates.iter().zip(&decisions) {
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
    let mut resp = axum::Json(BatchResponse {
        batch_id,
        results,
        days_stored: days.len() as u64,
        days_rejected,
    })
    .into_response();
    resp.extensions_mut().insert(info);
    resp
}
