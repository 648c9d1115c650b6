//! Every way the server refuses a request, as one enum: its HTTP status, its stable code (the
//! API's `error` field, the access log's `error`) and its message key, in one table
//! ([`Refusal::row`]). A handler returns `Result<Response, Refusal>` and reads as steps joined
//! by `?`.
//!
//! The words depend on who asked, which a handler's `Err` does not know: the refusal travels in
//! the response's extensions and the layer of the part of the site it came through says it —
//! [`in_json`] for the upload API, the verifier files and unknown paths (the request's
//! `Accept-Language`), the console's own layer for its pages (its language cookie, in the
//! console's frame). Without a layer it is still a whole answer: JSON in the default language.

use axum::extract::Request;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::bundle::BundleServeError;
use super::db::{BindRefusal, DbError};
use crate::i18n::{self, Lang};
use crate::protocol::{
    ErrorBody, MAX_DAYS_PER_BATCH, MAX_RECORDS_PER_BATCH, MAX_SEGMENTS_PER_REQUEST,
};

/// What a route's handler gives: its answer, or why the request was refused.
pub type Answer = Result<axum::response::Response, Refusal>;

/// Why a request was refused. Values carried are what its message names (never personal data
/// beyond what the sender itself sent, made safe to show).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No token, or one the office does not know (or revoked).
    Unauthorized,
    /// The database did not answer; nothing was changed (the detail is in the log only).
    DbUnavailable,
    /// Something that cannot happen did (a task panicked, the system had no randomness).
    Internal,
    NotFound,
    UnsupportedMediaType,
    /// A `Content-Encoding` other than gzip (or none).
    UnsupportedEncoding,
    /// A gzip body that does not inflate (damaged or cut).
    BadEncoding,
    /// A laptop of the previous release: it signs nothing, and must be upgraded.
    UpgradeRequired,
    /// The body is over `--max-body` bytes.
    TooLarge {
        max: usize,
    },
    /// A compressed body that inflates past `--max-body` bytes (a zip bomb, or too big).
    InflatedTooLarge {
        max: usize,
    },
    /// The server holds as many bodies as it will; the client should retry later.
    Busy,
    /// The body could not be read (cut off by the client).
    BodyRead,
    /// The body did not arrive within its deadline, or slower than the minimum rate.
    BodyTimeout,
    /// The `Host` header names neither this server's public host nor an address (DNS
    /// rebinding: a page of another site reaching us under its own name).
    WrongHost,
    BadDeviceKey,
    BadBatchSignature,
    /// Not a batch; `why` is the parser's text (it echoes at most what the sender sent).
    BadJson {
        why: String,
    },
    /// A member number or void of another laptop's key.
    ForeignMemberNumber {
        member_no: String,
        key_id: String,
    },
    TooManyRecords,
    TooManyDays,
    TokenBoundToOtherKey {
        key_id: String,
    },
    KeyIdTaken {
        key_id: String,
    },
    /// A new token signing with a revoked laptop's key: that key stays revoked.
    DeviceKeyRevoked {
        key_id: String,
    },
    /// A new token signing with a key in service for another device.
    KeyBoundToOtherDevice {
        key_id: String,
    },
    /// The database records another office key: this server's key file is stale.
    OfficeKeyChanged,
    /// A relay's signature (`booth-relay/1` over the body) does not verify.
    BadRelaySignature,
    /// A relay whose token is bound to no key yet (its own upload comes first).
    RelayNotBound,
    /// More segments in one request than `protocol::MAX_SEGMENTS_PER_REQUEST`.
    TooManySegments,
    // The console's.
    /// A change without this session's CSRF token, or from another origin.
    Csrf,
    AdminOnly,
    /// A request other than a page view, without a valid session.
    LoginNeeded,
    NoSuchMember,
    BadFormat,
    /// A filter's start date is not a date.
    BadFrom,
    /// A filter's end date is not a date.
    BadTo,
    /// A viewer's search by a whole phone or document number (an admin's action).
    FullNumberAdminOnly,
    /// An admin's searches by a whole number, over the limit for now.
    FullNumberTooOften,
}

impl Refusal {
    /// The one table: status, stable code, message key.
    fn row(&self) -> (StatusCode, &'static str, &'static str) {
        use Refusal::*;
        match self {
            Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "server.unauthorized",
            ),
            DbUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "db_unavailable",
                "server.db_unavailable",
            ),
            Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "server.internal",
            ),
            NotFound => (StatusCode::NOT_FOUND, "not_found", "server.not_found"),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "server.content_type",
            ),
            UnsupportedEncoding => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_encoding",
                "server.content_encoding",
            ),
            BadEncoding => (
                StatusCode::BAD_REQUEST,
                "bad_encoding",
                "server.bad_encoding",
            ),
            UpgradeRequired => (
                StatusCode::UPGRADE_REQUIRED,
                "upgrade_required",
                "server.upgrade_required",
            ),
            TooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "server.too_large",
            ),
            InflatedTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "inflated_too_large",
                "server.inflated_too_large",
            ),
            Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy", "server.busy"),
            BodyRead => (StatusCode::BAD_REQUEST, "body_read", "server.body_read"),
            BodyTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "server.body_timeout",
            ),
            WrongHost => (
                StatusCode::MISDIRECTED_REQUEST,
                "wrong_host",
                "server.wrong_host",
            ),
            BadDeviceKey => (
                StatusCode::FORBIDDEN,
                "bad_device_key",
                "server.bad_device_key",
            ),
            BadBatchSignature => (
                StatusCode::FORBIDDEN,
                "bad_batch_signature",
                "server.bad_batch_signature",
            ),
            BadJson { .. } => (StatusCode::BAD_REQUEST, "bad_json", "server.bad_json"),
            ForeignMemberNumber { .. } => (
                StatusCode::FORBIDDEN,
                "foreign_member_number",
                "server.foreign_member_number",
            ),
            TooManyRecords => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_records",
                "server.too_many_records",
            ),
            TooManyDays => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_days",
                "server.too_many_days",
            ),
            TokenBoundToOtherKey { .. } => (
                StatusCode::FORBIDDEN,
                "token_bound_to_other_key",
                "server.token_bound_to_other_key",
            ),
            KeyIdTaken { .. } => (StatusCode::FORBIDDEN, "key_id_taken", "server.key_id_taken"),
            DeviceKeyRevoked { .. } => (
                StatusCode::FORBIDDEN,
                "device_key_revoked",
                "server.device_key_revoked",
            ),
            KeyBoundToOtherDevice { .. } => (
                StatusCode::FORBIDDEN,
                "key_bound_to_other_device",
                "server.key_bound_to_other_device",
            ),
            OfficeKeyChanged => (
                StatusCode::SERVICE_UNAVAILABLE,
                "office_key_changed",
                "server.office_key_changed",
            ),
            BadRelaySignature => (
                StatusCode::FORBIDDEN,
                "bad_relay_signature",
                "server.bad_relay_signature",
            ),
            RelayNotBound => (
                StatusCode::FORBIDDEN,
                "relay_not_bound",
                "server.relay_not_bound",
            ),
            TooManySegments => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_segments",
                "server.too_many_segments",
            ),
            Csrf => (StatusCode::FORBIDDEN, "csrf", "console.csrf"),
            AdminOnly => (StatusCode::FORBIDDEN, "admin_only", "console.admin_only"),
            LoginNeeded => (
                StatusCode::UNAUTHORIZED,
                "login_needed",
                "console.login_needed",
            ),
            NoSuchMember => (
                StatusCode::NOT_FOUND,
                "no_such_member",
                "console.no_such_member",
            ),
            BadFormat => (StatusCode::BAD_REQUEST, "bad_format", "console.bad_format"),
            BadFrom => (StatusCode::BAD_REQUEST, "bad_from", "console.bad_from"),
            BadTo => (StatusCode::BAD_REQUEST, "bad_to", "console.bad_to"),
            FullNumberAdminOnly => (
                StatusCode::FORBIDDEN,
                "full_number_admin_only",
                "console.full_number_admin_only",
            ),
            FullNumberTooOften => (
                StatusCode::TOO_MANY_REQUESTS,
                "full_number_too_often",
                "console.full_number_too_often",
            ),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.row().0
    }

    /// The stable code: the API's `error`, the access log's `error`.
    pub fn code(&self) -> &'static str {
        self.row().1
    }

    /// The message's key in `assets/i18n/strings.toml`.
    pub fn key(&self) -> &'static str {
        self.row().2
    }

    /// The message for people, with what it names filled in.
    pub fn message(&self, lang: Lang) -> String {
        use Refusal::*;
        let key = self.key();
        match self {
            TooLarge { max } | InflatedTooLarge { max } => i18n::format(lang, key, &[("max", max)]),
            TooManyRecords => i18n::format(lang, key, &[("max", &MAX_RECORDS_PER_BATCH)]),
            TooManyDays => i18n::format(lang, key, &[("max", &MAX_DAYS_PER_BATCH)]),
            TooManySegments => i18n::format(lang, key, &[("max", &MAX_SEGMENTS_PER_REQUEST)]),
            BadJson { why } => i18n::format(lang, key, &[("why", why)]),
            ForeignMemberNumber { member_no, key_id } => {
                i18n::format(lang, key, &[("member_no", member_no), ("key_id", key_id)])
            }
            TokenBoundToOtherKey { key_id }
            | KeyIdTaken { key_id }
            | DeviceKeyRevoked { key_id }
            | KeyBoundToOtherDevice { key_id } => i18n::format(lang, key, &[("key_id", key_id)]),
            _ => i18n::text(lang, key).to_string(),
        }
    }

    /// The API's answer: `{"error": code, "message": …}` in `lang`, the refusal kept in the
    /// extensions for the access log.
    pub fn json(self, lang: Lang) -> Response {
        let body = ErrorBody {
            error: self.code().into(),
            message: self.message(lang),
        };
        let mut resp = (self.status(), axum::Json(body)).into_response();
        resp.extensions_mut().insert(self);
        resp
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        self.json(Lang::default())
    }
}

/// A database failure, as a refusal: the detail goes to the log only (it may name a value).
impl From<DbError> for Refusal {
    fn from(e: DbError) -> Refusal {
        tracing::error!(error = %e, "database");
        Refusal::DbUnavailable
    }
}

impl From<BundleServeError> for Refusal {
    fn from(e: BundleServeError) -> Refusal {
        tracing::error!(error = %e, "bundle not available");
        match e {
            BundleServeError::Db(_) => Refusal::DbUnavailable,
            BundleServeError::KeyChanged => Refusal::OfficeKeyChanged,
        }
    }
}

impl Refusal {
    /// The binding refusals of the database, for the key the batch was signed by.
    pub fn of_binding(b: BindRefusal, key_id: String) -> Refusal {
        match b {
            BindRefusal::TokenBoundToOtherKey => Refusal::TokenBoundToOtherKey { key_id },
            BindRefusal::KeyIdTaken => Refusal::KeyIdTaken { key_id },
            BindRefusal::DeviceKeyRevoked => Refusal::DeviceKeyRevoked { key_id },
            BindRefusal::KeyBoundToOtherDevice => Refusal::KeyBoundToOtherDevice { key_id },
        }
    }
}

/// The API's language: `Accept-Language` (the laptop sends its operator's), else Chinese.
pub fn accept_language(headers: &HeaderMap) -> Lang {
    headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::parse)
        .unwrap_or_default()
}

/// The layer of the upload API, the verifier files and unknown paths: a refusal says itself
/// in JSON, in the request's `Accept-Language`. Only the body changes: status, headers and
/// extensions (what the access log reads) are the handler's.
pub async fn in_json(req: Request, next: Next) -> Response {
    let lang = accept_language(req.headers());
    let resp = next.run(req).await;
    match resp.extensions().get::<Refusal>() {
        Some(r) if lang != Lang::default() => {
            let said = r.clone().json(lang);
            let (mut parts, _) = resp.into_parts();
            // the words' length is the language's
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            Response::from_parts(parts, said.into_body())
        }
        _ => resp,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    /// Read from the table's own text, so a new row is checked without being listed here.
    #[test]
    fn every_refusal_has_its_words_in_both_languages_and_a_code_of_its_own() {
        let src = include_str!("refusal.rs");
        let table = &src[src.find("fn row(").unwrap()..src.find("pub fn status(").unwrap()];
        let literals: Vec<&str> = table.split('"').skip(1).step_by(2).collect();
        let (keys, mut codes): (Vec<&str>, Vec<&str>) =
            literals.iter().partition(|l| l.contains('.'));
        assert_eq!(keys.len(), codes.len(), "each row: a code and a key");
        assert!(codes.len() >= 25, "the table was read: {codes:?}");
        let rows = codes.len();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), rows, "two refusals share a code");
        for key in keys {
            for lang in Lang::ALL {
                assert_ne!(i18n::text(lang, key), key, "{key} has no {lang} text");
            }
        }
    }

    #[test]
    fn the_wire_codes_and_statuses_are_the_documented_ones() {
        let r = Refusal::UpgradeRequired;
        assert_eq!((r.status().as_u16(), r.code()), (426, "upgrade_required"));
        let r = Refusal::TooLarge { max: 10 };
        assert_eq!((r.status().as_u16(), r.code()), (413, "too_large"));
        assert!(r.message(Lang::En).contains("10"));
        let r = Refusal::ForeignMemberNumber {
            member_no: "K7M2QX0001".into(),
            key_id: "K7M2QX".into(),
        };
        assert_eq!(r.status().as_u16(), 403);
        assert!(r.message(Lang::En).contains("K7M2QX0001"));
        // every value a message names is filled in, in both languages
        for r in [
            r,
            Refusal::TooLarge { max: 1 },
            Refusal::TooManyRecords,
            Refusal::TooManyDays,
            Refusal::TooManySegments,
            Refusal::BadJson { why: "x".into() },
            Refusal::TokenBoundToOtherKey { key_id: "k".into() },
            Refusal::KeyIdTaken { key_id: "k".into() },
            Refusal::DeviceKeyRevoked { key_id: "k".into() },
            Refusal::KeyBoundToOtherDevice { key_id: "k".into() },
        ] {
            for lang in Lang::ALL {
                let m = r.message(lang);
                assert!(!m.contains('{'), "{}: {m:?}", r.code());
            }
        }
    }

    /// The layer says the refusal in the request's language and keeps what the handler set.
    #[tokio::test]
    async fn a_refusal_is_said_in_the_requests_language_keeping_headers_and_extensions() {
        use axum::Router;
        use axum::body::Body;
        use axum::routing::get;
        use tower::ServiceExt;
        #[derive(Clone)]
        struct Mark;
        let handler = || async {
            let mut r = Refusal::Busy.into_response();
            r.headers_mut()
                .insert("connection", HeaderValue::from_static("close"));
            r.extensions_mut().insert(Mark);
            r
        };
        let app: Router = Router::new()
            .route("/", get(handler))
            .layer(axum::middleware::from_fn(in_json));
        for (lang, words) in [("en", "the server is busy"), ("zh-CN", "服务器正忙")] {
            let req = Request::get("/")
                .header(ACCEPT_LANGUAGE, lang)
                .body(Body::empty())
                .unwrap();
            let r = app.clone().oneshot(req).await.unwrap();
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(r.headers()["connection"], "close");
            assert!(r.extensions().get::<Mark>().is_some());
            assert_eq!(r.extensions().get::<Refusal>(), Some(&Refusal::Busy));
            let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["error"], "busy");
            assert!(v["message"].as_str().unwrap().contains(words), "{v}");
        }
    }

    #[test]
    fn accept_language_picks_the_language_and_defaults_to_chinese() {
        let mut h = HeaderMap::new();
        assert_eq!(accept_language(&h), Lang::Zh);
        h.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("en-US"));
        assert_eq!(accept_language(&h), Lang::En);
    }
}
