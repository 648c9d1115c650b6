//! The union office's console (SPEC §8), served by `booth server run` on the same address:
//! server-rendered pages (askama templates beside this module, compiled into the binary),
//! one file per page as in kanidm's admin views, a little vendored htmx the pages do not
//! depend on, and a strict Content-Security-Policy (no inline script or style anywhere).
//!
//! - [`viewer`]: who is asking (the session's user), what a change must carry (CSRF token,
//!   origin) and a change only admins may make; [`session`]: passwords, session cookies, CSRF
//!   tokens, expiry.
//! - [`frame`]: the strings and frame of every page, and how a refusal reads as a page (this
//!   module's layer: in the frame for a logged-in user).
//! - [`login`]: `/login`, `/logout`, `/lang/…`.
//! - [`dashboard`] (`/`) with [`svg`] charts; [`members`] (`/members`, a member's page, reveal,
//!   review, correction, erasure); [`export`] (streamed csv/xlsx); [`devices`], with
//!   [`backup`] (a laptop's backup file taken); [`audit`].
//! - [`mask`]: what a list shows of an ID number or a phone; [`filters`]: how the pages read
//!   their filter fields.
//!
//! Handlers return `Result<Response, Refusal>`.

pub mod audit;
pub mod backup;
pub mod dashboard;
pub mod devices;
pub mod export;
pub mod filters;
pub mod frame;
pub mod login;
pub mod mask;
pub mod members;
pub mod rollup;
pub mod session;
pub mod svg;
pub mod viewer;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use frame::{Chrome, Tr, thousands};
pub use viewer::{AdminChange, ChangeTarget, Viewer, WithToken, audited, same_origin};

use super::body;
use super::refusal::Refusal;
use super::state::ServerState;
use crate::i18n::Lang;
use session::{LANG_COOKIE, cookie_value};

/// No script but our own files, no inline style, no framing, forms only to us.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";

/// The console's own static files (`assets/console/`), served under `/console/`.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../assets/console/console.css"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../assets/console/vendor/htmx/htmx.min.js"),
    ),
];

pub fn router() -> Router<Arc<ServerState>> {
    Router::new()
        .route("/", get(dashboard::page))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/lang/{code}", get(login::set_lang))
        .route(
            "/members",
            get(members::list::page).post(members::list::search),
        )
        .route("/members/export", get(export::download))
        .route("/members/{no}", get(members::detail::page))
        .route("/members/{no}/reveal", post(members::actions::reveal))
        .route("/members/{no}/review", post(members::actions::review))
        .route("/members/{no}/correct", post(members::actions::correct))
        .route("/members/{no}/erase", post(members::actions::erase))
        .route("/members/{no}/revoke", post(members::actions::revoke))
        .route("/devices", get(devices::page).post(devices::add))
        .route("/devices/{name}/revoke", post(devices::revoke))
        .route("/devices/silent-days", post(devices::set_silent_days))
        .route("/devices/backup", post(backup::import))
        .route("/audit", get(audit::page))
        .route("/console/{file}", get(static_file))
        .layer(middleware::from_fn(form_bodies))
        .layer(middleware::from_fn(frame::refusals_as_pages))
        .layer(middleware::from_fn(security_headers))
}

/// Every console answer: the CSP, no caching of pages with personal data, no sniffing, no
/// framing, no referrer leaving with a member number in it.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with
    // our own forms, and the CSRF check wants the real origin
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(axum::http::header::CACHE_CONTROL) {
        h.insert(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
    }
    resp
}

/// The largest console form (`application/x-www-form-urlencoded`): a correction with every
/// field filled is a few KiB.
const FORM_LIMIT: usize = 64 * 1024;

/// A console form's body arrives whole within [`body::FORM_PACE`] (20 s) or the request is
/// cut with 408, before any handler sees it: the form extractors would otherwise wait on a
/// client dribbling one byte every few seconds for as long as it kept going. (Files, the
/// backup's multipart body, are read by their handler at the upload pace.) Forms are small
/// enough not to draw on the body budget: the connection cap bounds them.
async fn form_bodies(req: Request, next: Next) -> Response {
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let budget = Arc::new(tokio::sync::Semaphore::new(FORM_LIMIT.div_ceil(1024)));
    match body::read_body_paced(body, FORM_LIMIT, budget, body::FORM_PACE).await {
        Ok(held) => {
            let req = Request::from_parts(parts, axum::body::Body::from(held.bytes));
            next.run(req).await
        }
        Err(refusal) => {
            let mut r = refusal.into_response();
            // the rest of the body may still be on its way: this connection is done
            r.headers_mut()
                .insert("connection", HeaderValue::from_static("close"));
            r
        }
    }
}

async fn static_file(
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Result<Response, Refusal> {
    let (_, ctype, bytes) = FILES
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or(Refusal::NotFound)?;
    Ok((
        [
            (CONTENT_TYPE, *ctype),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        *bytes,
    )
        .into_response())
}

/// The console's language: the `booth_lang` cookie, else Chinese (SPEC §8). (The upload API
/// reads `Accept-Language` instead: `refusal::accept_language`.)
pub fn cookie_lang(headers: &HeaderMap) -> Lang {
    cookie_value(headers, LANG_COOKIE)
        .and_then(|c| Lang::parse(&c))
        .unwrap_or_default()
}

/// The pages a redirect may come back to: the console's own GET routes (a member's page by
/// its number), nothing else.
const PAGES: &[&str] = &[
    "/",
    "/login",
    "/members",
    "/members/export",
    "/devices",
    "/audit",
];

/// A path the console itself serves, to come back to after logging in or switching the
/// language; anything else goes home. Browsers strip tabs and newlines from a URL and read
/// a backslash as `/`, so `/<tab>/evil.example/` and `/\evil.example` would leave the site: only
/// printable ASCII without a backslash is taken (a query's own characters come
/// percent-encoded), and the path must be one of [`PAGES`] or `/members/<number>`.
pub fn safe_next(p: &str) -> String {
    let printable = p.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    let (path, _query) = p.split_once('?').unwrap_or((p, ""));
    let served = PAGES.contains(&path)
        || path.strip_prefix("/members/").is_some_and(|no| {
            !no.is_empty()
                && no.len() <= 32
                && no.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if printable && served && !p.contains('#') && p.len() < 2048 {
        p.to_string()
    } else {
        "/".to_string()
    }
}

pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_string())]).into_response()
}

/// True for an htmx request (answered with the page's partial, kanidm's pattern).
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request") && !headers.contains_key("hx-boosted")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_site_paths_are_followed() {
        assert_eq!(safe_next("/members?q=1"), "/members?q=1");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("/\\evil"), "/");
        assert_eq!(
            safe_next("/members/K7M2QX-0042-7"),
            "/members/K7M2QX-0042-7"
        );
        assert_eq!(safe_next("/login?next=%2Faudit"), "/login?next=%2Faudit");
        for evil in [
            "/\t/evil.example/",
            "/\n/evil.example/",
            "/ /evil.example/",
            "/%09/evil.example/",
            "/%2F%2Fevil.example",
            "/members/../\\evil",
            "/members/x/..//evil.example",
            "/\u{ff0f}evil.example",
            "/audit#//evil",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_next(evil), "/", "{evil:?}");
        }
    }

    /// Every key in the templates (`tr.t("…")`) and every `"console.…"` key named in the
    /// console's code exists in both languages (the i18n test reads only `t!` calls).
    #[test]
    fn every_key_in_the_templates_exists() {
        // every file under console/, templates and the members' folder included
        let mut files = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/server/console"
        ))];
        while let Some(dir) = dirs.pop() {
            for path in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        let (mut missing, mut seen) = (Vec::new(), 0);
        for path in files {
            let src = std::fs::read_to_string(&path).unwrap();
            let mut keys: Vec<String> = src
                .split("tr.t(\"")
                .skip(1)
                .map(|p| p.split('"').next().unwrap().to_string())
                .collect();
            keys.extend(
                src.split("\"console.")
                    .skip(1)
                    .map(|p| format!("console.{}", p.split('"').next().unwrap()))
                    .filter(|k| !k.ends_with(".css")),
            );
            // only what looks like a key (this test's own text names the patterns)
            let is_key = |k: &str| {
                !k.is_empty()
                    && !k.ends_with('.')
                    && k.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._".contains(c))
            };
            for key in keys.into_iter().filter(|k| is_key(k)) {
                seen += 1;
                if crate::i18n::text(Lang::Zh, &key) == key {
                    missing.push(format!("{}: {key}", path.display()));
                }
            }
        }
        assert!(seen > 50, "the console names its strings");
        assert!(missing.is_empty(), "missing strings: {missing:#?}");
    }
}
