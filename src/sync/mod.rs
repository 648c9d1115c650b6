//! The end-of-day upload client. Runs on any thread with its own connection to the laptop's
//! database (the terminal UI calls [`upload`] from a background thread with
//! `Store::second_connection()`, and draws a gauge from the [`Progress`] it reports).
//!
//! Resumable and idempotent by construction: records are sent oldest first in batches;
//! a record leaves the queue only when the server's answer for it is stored, in the same
//! transaction for the whole batch. A killed or cut upload sends the unanswered records
//! again, and the server answers `already_there` for those it already has.

pub mod enrol;
pub mod http;
pub mod net;
pub mod watch;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde::Serialize;
use uuid::Uuid;

use chrono::NaiveDate;

use crate::card::bundle;
use crate::i18n::Lang;
use crate::protocol::{
    BatchItem, BatchRequest, DaySummary, MAX_DAYS_PER_BATCH, MAX_RECORDS_PER_BATCH, Status,
    WireRecord, content_hash,
};
use crate::store::members::StoredMember;
use crate::store::queue::{self, Answer, AnswerRow, UploadCounts};
use crate::store::trust;
use crate::store::{StoreError, now, timestamp};
use crate::t;
use http::{Http, HttpSetupError, SendError};
pub use net::{CertProblem, NetError, plain_http_host};

/// Where and how to upload.
#[derive(Clone, Debug)]
pub struct UploadSettings {
    /// `https://office.example:8443` (no path).
    pub server: String,
    pub token: String,
    /// PEM file of the office's certificate authority, for a self-signed office certificate.
    pub ca: Option<PathBuf>,
    /// Records per request.
    pub batch_size: usize,
    /// Stop retrying a batch after this long without an answer; its records stay queued.
    pub give_up_after: Duration,
    /// Time limit of one request.
    pub request_timeout: Duration,
    /// A request that makes no progress this long is abandoned and tried again (a stalled
    /// office never holds the operator longer).
    pub stall_after: Duration,
    /// Language of the server's rejection messages and of ours.
    pub lang: Lang,
    /// The office key's fingerprint from the enrolment: the bundle must be signed by it.
    /// Without one, the first bundle's key is pinned (and stored) at the first upload.
    pub office_key: Option<String>,
    /// The union name on this laptop's cards (for the office's bundle).
    pub union: String,
    /// The operator said yes to plain HTTP to another machine (`--allow-http`, the UI's
    /// question); without it such an upload is refused before anything is sent.
    pub allow_http: bool,
}

impl UploadSettings {
    /// The one way to build upload settings: from the laptop's configuration (server, token,
    /// CA, office key, union), with the defaults for the rest; the command line sets its
    /// flags on top. Refused while the server or the token is not set.
    pub fn from_config(
        config: &crate::config::Config,
        lang: Lang,
    ) -> Result<UploadSettings, UploadError> {
        let set = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let server = set(&config.server).ok_or(UploadError::NoServer)?;
        let token = set(&config.token).ok_or(UploadError::NoToken)?;
        Ok(UploadSettings {
            server,
            token,
            ca: config.ca.clone(),
            batch_size: crate::protocol::DEFAULT_BATCH,
            give_up_after: Duration::from_secs(300),
            request_timeout: Duration::from_secs(120),
            stall_after: Duration::from_secs(30),
            lang,
            office_key: config.office_key.clone(),
            union: crate::card::payload_union(&config.union, config.union_short.as_deref()),
            allow_http: false,
        })
    }
}

/// Reported as the upload goes, for a progress bar.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    Started {
        queued: u64,
    },
    Batch {
        /// Records answered so far in this run.
        done: u64,
        total: u64,
        accepted: u64,
        rejected: u64,
        /// Records still queued once this batch's answers are stored.
        remaining: u64,
    },
    /// A request failed in a way that may pass: the next try is `wait` away. Retries stop
    /// once `since` (the first failure of this batch) reaches `limit`.
    Retrying {
        attempt: u32,
        wait: Duration,
        reason: NetError,
        since: Duration,
        limit: Duration,
    },
}

/// A record the office did not take, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RejectedRecord {
    pub member_no: String,
    /// `invalid`, `duplicate_person`, `conflict`, or the first validation code.
    pub code: String,
    pub reason: String,
    /// For `duplicate_person`: the member number the office already has.
    pub server_member_no: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UploadReport {
    pub queued_at_start: u64,
    pub sent: u64,
    /// Stored by the office in this run.
    pub accepted: u64,
    /// The office already had them (a previous run was cut after the server stored them).
    pub already_there: u64,
    pub rejected: Vec<RejectedRecord>,
    /// Sent but not answered (edited during the upload, or missing from the answer): still
    /// queued, sent next time.
    pub unanswered: u64,
    pub remaining_queued: u64,
    pub batches: u64,
    pub retries: u64,
    /// Voided numbers the office was told of in this run.
    pub voids_reported: u64,
    /// Day summaries (per booth day and place) the office stored in this run.
    pub days_reported: u64,
    /// Day summaries the office refused (their reasons are in the log).
    pub days_rejected: u64,
    /// The version of the trust bundle this laptop holds after the run.
    pub bundle_version: Option<u64>,
    /// Why the bundle could not be refreshed (the upload itself went through).
    pub bundle_warning: Option<String>,
    #[serde(skip)]
    pub elapsed: Duration,
}

impl UploadReport {
    /// One line for the operator: sent, accepted, already there, rejected, still queued.
    pub fn summary(&self, lang: Lang) -> String {
        crate::t!(
            lang,
            "sync.done",
            sent = self.sent,
            accepted = self.accepted,
            already = self.already_there,
            rejected = self.rejected.len(),
            queued = self.remaining_queued
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("no server configured")]
    NoServer,
    #[error("no token configured")]
    NoToken,
    #[error(transparent)]
    Setup(#[from] HttpSetupError),
    #[error("the server refused the token: {0}")]
    Unauthorized(String),
    #[error("gave up after {} s: {}", after.as_secs(), why.code())]
    GaveUp { after: Duration, why: NetError },
    #[error("the server refused the batch ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("the server's certificate is not trusted: {0:?}")]
    Certificate(CertProblem),
    #[error("plain HTTP to {host} without --allow-http")]
    PlainHttp { host: String },
    #[error("cancelled")]
    Cancelled,
    #[error("the office refused this laptop's batch ({code}): {message}")]
    Binding { code: String, message: String },
    #[error("the office requires a newer booth: {0}")]
    UpgradeRequired(String),
    #[error("the office's trust bundle was refused: {0}")]
    Bundle(bundle::BundleError),
    #[error("the office gave no trust bundle (HTTP {status})")]
    NoBundle { status: u16 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl UploadError {
    /// Stable code for scripts and the uploads log.
    pub fn code(&self) -> &'static str {
        match self {
            UploadError::NoServer => "no_server",
            UploadError::NoToken => "no_token",
            UploadError::Setup(_) => "setup",
            UploadError::Unauthorized(_) => "unauthorized",
            UploadError::GaveUp { .. } => "unreachable",
            UploadError::Refused { .. } => "refused",
            UploadError::Certificate(_) => "certificate",
            UploadError::PlainHttp { .. } => "plain_http",
            UploadError::Cancelled => "cancelled",
            UploadError::Binding { code, .. } => match code.as_str() {
                "token_bound_to_other_key" => "token_bound_to_other_key",
                "key_id_taken" => "key_id_taken",
                "device_key_revoked" => "device_key_revoked",
                "key_bound_to_other_device" => "key_bound_to_other_device",
                "foreign_member_number" => "foreign_member_number",
                "bad_device_key" => "bad_device_key",
                _ => "bad_batch_signature",
            },
            UploadError::UpgradeRequired(_) => "upgrade_required",
            UploadError::Bundle(e) => e.code(),
            UploadError::NoBundle { .. } => "office_key_untrusted",
            UploadError::Store(_) => "store",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match self {
            UploadError::NoServer => t!(lang, "sync.no_server").into(),
            UploadError::NoToken => t!(lang, "sync.no_token").into(),
            UploadError::Setup(e) => t!(lang, "sync.setup", why = e),
            UploadError::Unauthorized(why) => t!(lang, "sync.unauthorized", why = why),
            UploadError::GaveUp { after, why } => t!(
                lang,
                "sync.gave_up",
                why = why.message(lang),
                after = duration_words(*after, lang)
            ),
            UploadError::Refused { status, message } => {
                t!(lang, "sync.refused", status = status, why = message)
            }
            UploadError::Certificate(p) => t!(lang, "sync.certificate", why = p.reason(lang)),
            UploadError::PlainHttp { host } => t!(lang, "sync.plain_http", host = host),
            UploadError::Cancelled => t!(lang, "sync.cancelled").into(),
            UploadError::Binding { code, message } => {
                t!(
                    lang,
                    "sync.binding",
                    why = binding_reason(code, message, lang)
                )
            }
            UploadError::UpgradeRequired(_) => t!(lang, "sync.upgrade").into(),
            UploadError::Bundle(e) => t!(lang, "sync.bundle_refused", why = e.message(lang)),
            UploadError::NoBundle { status } => t!(lang, "sync.no_bundle", status = status),
            UploadError::Store(e) => e.message(lang),
        }
    }
}

/// Uploads every queued record. Records the run in the `uploads` table whatever happens.
pub fn upload(
    conn: &mut Connection,
    settings: &UploadSettings,
    progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<UploadReport, UploadError> {
    if settings.server.trim().is_empty() {
        return Err(UploadError::NoServer);
    }
    if settings.token.trim().is_empty() {
        return Err(UploadError::NoToken);
    }
    // the token and everyone's personal data would cross the network readable
    if let Some(host) = plain_http_host(&settings.server)
        && !settings.allow_http
    {
        return Err(UploadError::PlainHttp { host });
    }
    let (key, key_created) = trust::device_key(conn)?;
    let http = std::sync::Arc::new(Http::new(
        &settings.server,
        &settings.token,
        settings.ca.as_deref(),
        settings.request_timeout,
        settings.lang,
        key,
    )?);
    let upload_id = queue::start_upload(conn, &settings.server, &now())?;
    let mut report = UploadReport::default();
    let mut counts = UploadCounts::default();
    let started = Instant::now();
    let result = run(
        conn,
        &http,
        settings,
        key_created,
        upload_id,
        &mut report,
        &mut counts,
        progress,
        cancel,
    );
    report.elapsed = started.elapsed();
    report.remaining_queued = queue::queued_count(conn).unwrap_or(report.remaining_queued);
    let outcome = match &result {
        Ok(()) if report.unanswered == 0 => "complete",
        Ok(()) => "incomplete",
        Err(e) => e.code(),
    };
    queue::finish_upload(conn, upload_id, counts, outcome, &now())?;
    tracing::info!(
        sent = report.sent,
        accepted = report.accepted,
        already_there = report.already_there,
        rejected = report.rejected.len(),
        remaining = report.remaining_queued,
        outcome,
        "upload finished"
    );
    result.map(|()| report)
}

#[allow(clippy::too_many_arguments)]
fn run(
    conn: &mut Connection,
    http: &std::sync::Arc<Http>,
    s: &UploadSettings,
    key_created: NaiveDate,
    upload_id: i64,
    report: &mut UploadReport,
    counts: &mut UploadCounts,
    progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<(), UploadError> {
    let device = queue::device_key_id(conn)?;
    // An enrolment not yet confirmed by a bundle: check the office before sending it anyone's
    // personal data.
    if s.office_key.is_some() && trust::kept_bundle(conn)?.is_none() {
        refresh_bundle(conn, http, s, report, true, progress, cancel)?;
    }
    let total = queue::queued_count(conn)?;
    report.queued_at_start = total;
    progress(Progress::Started { queued: total });
    let mut batch_size = s.batch_size.clamp(1, MAX_RECORDS_PER_BATCH);
    let mut after = 0i64;
    let mut done = 0u64;
    let mut voids = trust::unreported_voids(conn, MAX_RECORDS_PER_BATCH)?;
    // The segment counter is read before the day summaries: any segment at or below it
    // carries summaries no newer than these (SPEC §12, docs/trust.md "Peers").
    let segment_counter = crate::store::peers::segment_counter(conn)?;
    // The day summaries go with the first request, which is sent even with nothing queued.
    let mut days: Vec<DaySummary> = crate::store::days::day_summaries(conn, MAX_DAYS_PER_BATCH)?;
    let meta = BatchMeta {
        device: &device,
        key_created,
        union: &s.union,
        segment_counter: (segment_counter > 0).then_some(segment_counter),
    };
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(UploadError::Cancelled);
        }
        let records = queue::queued_batch(conn, after, batch_size)?;
        if records.is_empty() && voids.is_empty() && days.is_empty() {
            break;
        }
        let last_id = records.last().map(|r| r.id);
        let (body, sent) = batch_body(&meta, &records, &voids, &days)?;
        let body = std::sync::Arc::new(body);
        // on a thread of its own: a cancel or a stall never waits for the network
        let send = || {
            let (http, body) = (std::sync::Arc::clone(http), std::sync::Arc::clone(&body));
            watch::watched(cancel, s.stall_after, move |sent| http.send(&body, sent))
        };
        let resp = match retrying(s, report, progress, cancel, send) {
            Ok(r) => r,
            Err(Failure::TooLarge) if batch_size > 1 => {
                // The office's limit is lower than our batch: halve it and send again.
                batch_size = batch_size.div_ceil(2);
                tracing::info!(batch_size, "batch too large for the server; halved");
                continue;
            }
            Err(Failure::TooLarge) => {
                return Err(UploadError::Refused {
                    status: 413,
                    message: t!(s.lang, "sync.record_too_large").into(),
                });
            }
            Err(Failure::Stop(e)) => return Err(e),
        };
        if !voids.is_empty() {
            trust::mark_voids_reported(conn, &voids, &now())?;
            report.voids_reported += voids.len() as u64;
            voids.clear();
        }
        if !days.is_empty() {
            report.days_reported += resp.days_stored;
            report.days_rejected += resp.days_rejected.len() as u64;
            for d in &resp.days_rejected {
                let codes: Vec<&str> = d.errors.iter().map(|e| e.code.as_str()).collect();
                tracing::warn!(date = %d.date, codes = ?codes, "day summary refused by the office");
            }
            days.clear();
        }
        let Some(last_id) = last_id else { continue };
        after = last_id;
        report.batches += 1;
        report.sent += sent.len() as u64;
        counts.sent += sent.len() as u64;

        let mut answers = Vec::with_capacity(sent.len());
        let mut by_uuid: std::collections::HashMap<Uuid, &StoredMember> =
            sent.iter().map(|m| (m.uuid, m)).collect();
        for r in &resp.results {
            // Answers about records we did not send, or twice about one, are ignored.
            let Some(m) = by_uuid.remove(&r.uuid) else {
                continue;
            };
            let answer = match r.status {
                Status::Accepted => {
                    report.accepted += 1;
                    counts.accepted += 1;
                    Answer::Uploaded
                }
                Status::AlreadyThere => {
                    report.already_there += 1;
                    counts.accepted += 1;
                    Answer::Uploaded
                }
                other => {
                    counts.rejected += 1;
                    let (code, reason) = match other {
                        Status::DuplicatePerson => (
                            "duplicate_person".to_string(),
                            t!(
                                s.lang,
                                "sync.duplicate_person",
                                member_no = r.member_no.clone().unwrap_or_default()
                            ),
                        ),
                        Status::Conflict => {
                            ("conflict".to_string(), t!(s.lang, "sync.conflict").into())
                        }
                        _ => (
                            r.errors
                                .first()
                                .map(|e| e.code.clone())
                                .unwrap_or_else(|| "rejected".into()),
                            r.errors
                                .iter()
                                .map(|e| e.message.clone())
                                .collect::<Vec<_>>()
                                .join("; "),
                        ),
                    };
                    let server_member_no = (other == Status::DuplicatePerson)
                        .then(|| r.member_no.clone())
                        .flatten();
                    report.rejected.push(RejectedRecord {
                        member_no: m.member_no.grouped(),
                        code: code.clone(),
                        reason: reason.clone(),
                        server_member_no: server_member_no.clone(),
                    });
                    Answer::Rejected {
                        code,
                        reason,
                        server_member_no,
                    }
                }
            };
            answers.push(AnswerRow {
                uuid: m.uuid,
                sent_updated_at: m.updated_at,
                answer,
            });
        }
        let changed = queue::record_answers(conn, upload_id, &answers, *counts, &now())?;
        report.unanswered += (sent.len() - changed) as u64;
        done += sent.len() as u64;
        progress(Progress::Batch {
            done,
            total,
            accepted: counts.accepted,
            rejected: counts.rejected,
            remaining: queue::queued_count(conn)?,
        });
    }
    refresh_bundle(conn, http, s, report, false, progress, cancel)
}

/// Fetches the office's bundle and keeps it if it is trusted and not older than the one
/// kept. Trusted: signed by the enrolled office key, or by the kept bundle's key or the next
/// key it announces (rotation); a laptop never enrolled pins the first bundle's key.
/// `strict`: a refused bundle stops the upload (the enrolment check); otherwise it is a
/// warning in the report.
fn refresh_bundle(
    conn: &mut Connection,
    http: &std::sync::Arc<Http>,
    s: &UploadSettings,
    report: &mut UploadReport,
    strict: bool,
    progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<(), UploadError> {
    let kept = trust::kept_bundle(conn)?.and_then(|(_, text)| {
        let fp = bundle::claimed_fingerprint(&text)?;
        bundle::open(&text, &[fp]).ok()
    });
    let mut anchors: Vec<String> = s.office_key.iter().cloned().collect();
    if let Some(b) = &kept {
        anchors.extend(b.trusted_fingerprints());
        report.bundle_version = Some(b.version);
    }
    let known = kept.as_ref().map(|b| b.version);
    let fetch = || {
        let http = std::sync::Arc::clone(http);
        watch::watched(cancel, s.stall_after, move |_| http.fetch_bundle(known))
    };
    let fetched = if strict {
        // before anyone's personal data goes to this server, its office key must be checked:
        // no bundle, no upload (the network is tried as long as for a batch)
        match retrying(s, report, progress, cancel, fetch) {
            Ok(Some(text)) => text,
            Ok(None) => return Ok(()),
            Err(Failure::Stop(UploadError::Refused { status, .. })) => {
                return Err(UploadError::NoBundle { status });
            }
            Err(Failure::Stop(e)) => return Err(e),
            Err(Failure::TooLarge) => {
                return Err(UploadError::NoBundle { status: 413 });
            }
        }
    } else {
        match fetch() {
            Ok(Some(text)) => text,
            Ok(None) => return Ok(()),
            Err(SendError::Cancelled) => return Err(UploadError::Cancelled),
            Err(e) => {
                // no bundle (an older office server, the network): the upload stands
                report.bundle_warning = Some(match e {
                    SendError::Transient(n) => n.message(s.lang),
                    SendError::Certificate(p) => p.reason(s.lang).to_string(),
                    SendError::Refused { message, .. } => message,
                    _ => "bundle".into(),
                });
                return Ok(());
            }
        }
    };
    let pinning = anchors.is_empty();
    if pinning {
        anchors.extend(bundle::claimed_fingerprint(&fetched));
    }
    match bundle::open(&fetched, &anchors) {
        Ok(b) => {
            if trust::keep_bundle(conn, b.version, &b.text, &now())? {
                report.bundle_version = Some(b.version);
                // the page's address the office gives: QR codes open it (issue 23 item 10)
                if let Some(url) = &b.verify_url {
                    trust::set_setting(conn, "office_verify_url", url)?;
                }
                // also for `booth verify --bundle` here, which need not open the store
                if let Some(dir) = trust::data_dir_of(conn)
                    && let Err(e) = trust::record_newest(&dir, &b)
                {
                    tracing::warn!(error = %e, "newest bundle version not recorded");
                }
            } else if let Some(held) = known {
                // an older bundle never replaces the one held: the operator is told
                report.bundle_warning = Some(t!(
                    s.lang,
                    "sync.bundle_older",
                    version = b.version,
                    newest = held
                ));
            }
            if pinning {
                trust::set_setting(conn, "office_key", &b.fingerprint())?;
                tracing::info!(fingerprint = b.fingerprint(), "office key pinned");
            }
            Ok(())
        }
        Err(e) if strict => Err(UploadError::Bundle(e)),
        Err(e) => {
            tracing::warn!(code = e.code(), "trust bundle refused");
            report.bundle_warning = Some(e.message(s.lang));
            Ok(())
        }
    }
}

/// What every batch says about the laptop.
pub(crate) struct BatchMeta<'a> {
    pub(crate) device: &'a str,
    pub(crate) key_created: NaiveDate,
    pub(crate) union: &'a str,
    /// On a direct upload, the laptop's segment counter (`BatchRequest::segment_counter`).
    pub(crate) segment_counter: Option<u64>,
}

/// The request body for a batch, and the records it carries. (The peers' segments seal the
/// same body: `peers::replicate`.)
pub(crate) fn batch_body(
    meta: &BatchMeta<'_>,
    records: &[StoredMember],
    voids: &[String],
    days: &[DaySummary],
) -> Result<(Vec<u8>, Vec<StoredMember>), UploadError> {
    let mut items = Vec::with_capacity(records.len());
    let mut sent = Vec::with_capacity(records.len());
    for m in records {
        // Queued records are never purged; a record without content cannot be sent.
        let Some(member) = &m.member else { continue };
        let record = serde_json::to_value(WireRecord {
            member: member.clone(),
            consent_at: timestamp(&m.consent_at),
            created_at: timestamp(&m.created_at),
            event_date: m.event_date,
            union: m.event.union.clone(),
            place: m.event.place.clone(),
            operator: m.event.operator.clone(),
            imported: m.imported,
        })
        .map_err(|e| StoreError::Damaged(e.to_string()))?;
        items.push(BatchItem {
            uuid: m.uuid,
            member_no: m.member_no.as_str().to_string(),
            content_hash: content_hash(&record),
            record,
        });
        sent.push(m.clone());
    }
    let body = serde_json::to_vec(&BatchRequest {
        batch_id: Uuid::new_v4(),
        device_key_id: meta.device.to_string(),
        records: items,
        voids: voids.to_vec(),
        key_created: Some(meta.key_created),
        union: (!meta.union.is_empty()).then(|| meta.union.to_string()),
        days: days.to_vec(),
        segment_counter: meta.segment_counter,
    })
    .map_err(|e| StoreError::Damaged(e.to_string()))?;
    Ok((body, sent))
}

enum Failure {
    TooLarge,
    Stop(UploadError),
}

/// Tries `attempt` until it is answered; transient failures are retried with exponential
/// backoff and jitter until `give_up_after` has passed since the first failure, each retry
/// reported. Every other failure stops at once.
fn retrying<T>(
    s: &UploadSettings,
    report: &mut UploadReport,
    progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
    mut attempt_once: impl FnMut() -> Result<T, SendError>,
) -> Result<T, Failure> {
    let mut first_failure: Option<Instant> = None;
    let mut attempt = 0u32;
    loop {
        match attempt_once() {
            Ok(r) => return Ok(r),
            Err(SendError::Transient(why)) => {
                let since = first_failure.get_or_insert_with(Instant::now).elapsed();
                attempt += 1;
                report.retries += 1;
                let wait = backoff(attempt);
                if since + wait > s.give_up_after {
                    tracing::warn!(attempt, reason = why.code(), "upload gave up");
                    return Err(Failure::Stop(UploadError::GaveUp {
                        after: s.give_up_after,
                        why,
                    }));
                }
                tracing::info!(
                    attempt,
                    wait_ms = wait.as_millis() as u64,
                    reason = why.code(),
                    "upload retry"
                );
                progress(Progress::Retrying {
                    attempt,
                    wait,
                    reason: why,
                    since,
                    limit: s.give_up_after,
                });
                sleep_unless_cancelled(wait, cancel).map_err(Failure::Stop)?;
            }
            Err(SendError::TooLarge) => return Err(Failure::TooLarge),
            Err(SendError::Cancelled) => return Err(Failure::Stop(UploadError::Cancelled)),
            Err(other) => return Err(Failure::Stop(stopped(other))),
        }
    }
}

/// A failure retrying will not fix, as the upload's error.
fn stopped(e: SendError) -> UploadError {
    match e {
        SendError::Unauthorized(m) => UploadError::Unauthorized(m),
        SendError::Binding { code, message } => UploadError::Binding { code, message },
        SendError::UpgradeRequired(m) => UploadError::UpgradeRequired(m),
        SendError::Certificate(p) => UploadError::Certificate(p),
        SendError::Refused { status, message } => UploadError::Refused { status, message },
        SendError::TooLarge => UploadError::Refused {
            status: 413,
            message: String::new(),
        },
        SendError::Transient(why) => UploadError::GaveUp {
            after: Duration::ZERO,
            why,
        },
        SendError::Cancelled => UploadError::Cancelled,
    }
}

/// Why the office refused this laptop's batch, in the operator's words for the codes this
/// release knows (the server's own message otherwise).
fn binding_reason(code: &str, server_message: &str, lang: Lang) -> String {
    match code {
        "token_bound_to_other_key" => t!(lang, "sync.refusal.token_bound_to_other_key").into(),
        "key_id_taken" => t!(lang, "sync.refusal.key_id_taken").into(),
        "device_key_revoked" => t!(lang, "sync.refusal.device_key_revoked").into(),
        "key_bound_to_other_device" => t!(lang, "sync.refusal.key_bound_to_other_device").into(),
        "foreign_member_number" => t!(lang, "sync.refusal.foreign_member_number").into(),
        "bad_batch_signature" => t!(lang, "sync.refusal.bad_batch_signature").into(),
        "bad_device_key" => t!(lang, "sync.refusal.bad_device_key").into(),
        _ => crate::member::text::display_safe(server_message).into_owned(),
    }
}

/// "5 分钟" / "90 秒": how long retries went on.
pub fn duration_words(d: Duration, lang: Lang) -> String {
    let secs = d.as_secs();
    if secs >= 60 && secs.is_multiple_of(60) {
        t!(lang, "sync.minutes", n = secs / 60)
    } else {
        t!(lang, "sync.seconds", n = secs)
    }
}

/// 250 ms doubling to at most 8 s, with "equal jitter" (half fixed, half random) so that many
/// laptops coming back after an office outage do not retry in step.
pub fn backoff(attempt: u32) -> Duration {
    let base = 250u64
        .saturating_mul(1 << attempt.saturating_sub(1).min(5))
        .min(8_000);
    let mut r = [0u8; 2];
    let _ = getrandom::fill(&mut r);
    let jitter = u64::from(u16::from_le_bytes(r)) * (base / 2) / u64::from(u16::MAX);
    Duration::from_millis(base / 2 + jitter)
}

fn sleep_unless_cancelled(total: Duration, cancel: &AtomicBool) -> Result<(), UploadError> {
    let until = Instant::now() + total;
    while Instant::now() < until {
        if cancel.load(Ordering::Relaxed) {
            return Err(UploadError::Cancelled);
        }
        std::thread::sleep((until - Instant::now()).min(Duration::from_millis(100)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_bounded() {
        for a in 1..20 {
            let d = backoff(a);
            assert!(d <= Duration::from_millis(8_000), "{d:?}");
            assert!(d >= Duration::from_millis(125), "{d:?}");
        }
        assert!(backoff(1) <= Duration::from_millis(250));
        assert!(backoff(10) >= Duration::from_millis(4_000));
    }
}
