//! The union office's console (SPEC §8), served by `booth server run` on the same address:
//! server-rendered pages (askama templates beside this module, compiled into the binary),
//! one file per page as in kanidm's admin views, a little vendored htmx the pages do not
//! depend on, and a strict Content-Security-Policy (no inline script or style anywhere).
//!
//! - [`session`]: passwords, session cookies, CSRF tokens, expiry.
//! - [`login`]: `/login`, `/logout`, `/lang/…`.
//! - [`dashboard`] (`/`) with [`svg`] charts; [`members`] (`/members`, a member's page, reveal,
//!   review, correction, erasure); [`export`] (streamed csv/xlsx); [`devices`]; [`audit`].
//! - [`mask`]: what a list shows of an ID number or a phone; [`filters`]: how the pages read
//!   their filter fields.
//!
//! Handlers return `Result<Response, Refusal>`; this module's layer says a refusal as a page,
//! in the console's frame when the request was a logged-in user's.

pub mod audit;
pub mod dashboard;
pub mod devices;
pub mod export;
pub mod filters;
pub mod login;
pub mod mask;
pub mod members;
pub mod session;
pub mod svg;

use std::sync::{Arc, OnceLock};

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY, SET_COOKIE,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::db::audit::AuditEntry;
use super::db::users::Role;
use super::listener::ConnInfo;
use super::refusal::Refusal;
use super::state::ServerState;
use crate::i18n::Lang;
use session::{
    ABSOLUTE_LIMIT, IDLE_LIMIT, LANG_COOKIE, SESSION_COOKIE, TOUCH_EVERY, cookie_value, id_hash,
};

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
        .route("/members", get(members::list::page))
        .route("/members/export", get(export::download))
        .route("/members/{no}", get(members::detail::page))
        .route("/members/{no}/reveal", post(members::actions::reveal))
        .route("/members/{no}/review", post(members::actions::review))
        .route("/members/{no}/correct", post(members::actions::correct))
        .route("/members/{no}/erase", post(members::actions::erase))
        .route("/devices", get(devices::page).post(devices::add))
        .route("/devices/{name}/revoke", post(devices::revoke))
        .route("/audit", get(audit::page))
        .route("/console/{file}", get(static_file))
        .layer(middleware::from_fn(refusals_as_pages))
        .layer(middleware::from_fn(security_headers))
}

/// The logged-in user of a request, once its [`Viewer`] was found: a slot the refusal layer
/// puts in the request and the extractor fills, so a refusal is framed with its navigation.
#[derive(Clone, Default)]
struct Seen(Arc<OnceLock<Chrome>>);

/// A refusal as the console says it: the page in the frame for a logged-in user (the way on
/// is one click), a short page in the cookie's language for anyone else. Status, headers
/// (`hx-redirect`, a cleared cookie) and extensions (the code for the access log) stay.
async fn refusals_as_pages(mut req: Request, next: Next) -> Response {
    let lang = cookie_lang(req.headers());
    let seen = Seen::default();
    req.extensions_mut().insert(seen.clone());
    let resp = next.run(req).await;
    let Some(refusal) = resp.extensions().get::<Refusal>() else {
        return resp;
    };
    let status = resp.status();
    let message = refusal.message(lang);
    let framed = seen.0.get().and_then(|c| {
        RefusedPage {
            c: c.clone(),
            status: status.as_u16(),
            message: refusal.message(c.tr.0),
        }
        .render()
        .ok()
    });
    let html = framed.unwrap_or_else(|| bare_page(lang, status, &message));
    let (mut parts, _) = resp.into_parts();
    parts.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(html))
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

/// Strings for the templates: `{{ c.tr.t("console.nav.members") }}`.
#[derive(Clone, Copy, Debug)]
pub struct Tr(pub Lang);

impl Tr {
    pub fn t(&self, key: &str) -> &'static str {
        crate::i18n::text(self.0, key)
    }

    pub fn code(&self) -> &'static str {
        match self.0 {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn other(&self) -> &'static str {
        match self.0 {
            Lang::Zh => "en",
            Lang::En => "zh",
        }
    }

    pub fn other_label(&self) -> &'static str {
        match self.0 {
            Lang::Zh => "English",
            Lang::En => "中文",
        }
    }

    /// A count with thousands separators (`1,300,900`).
    pub fn num(&self, n: &u64) -> String {
        thousands(*n)
    }
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// What every page's frame needs: the language, who is logged in, the CSRF token for its
/// forms, the current section of the navigation.
#[derive(Clone, Debug)]
pub struct Chrome {
    pub tr: Tr,
    pub user: String,
    pub admin: bool,
    pub csrf: String,
    pub nav: &'static str,
    /// The path the language switch comes back to.
    pub here: String,
}

impl Chrome {
    /// `here` for a query string (the language switch's `next`).
    pub fn here_encoded(&self) -> String {
        percent_encoding::utf8_percent_encode(&self.here, percent_encoding::NON_ALPHANUMERIC)
            .to_string()
    }

    pub fn new(v: &Viewer, nav: &'static str, here: &str) -> Chrome {
        Chrome {
            tr: Tr(v.lang),
            user: v.user.clone(),
            admin: v.role == Role::Admin,
            csrf: v.csrf.clone(),
            nav,
            here: safe_next(here),
        }
    }
}

/// The console's language: the `booth_lang` cookie, else Chinese (SPEC §8). (The upload API
/// reads `Accept-Language` instead: `refusal::accept_language`.)
pub fn cookie_lang(headers: &HeaderMap) -> Lang {
    cookie_value(headers, LANG_COOKIE)
        .and_then(|c| Lang::parse(&c))
        .unwrap_or_default()
}

/// A same-site path to come back to; anything else (`//host`, `http:…`) goes home.
pub fn safe_next(p: &str) -> String {
    if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') && p.len() < 2048 {
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

/// The logged-in office user of a request. Without a valid session, a page request is
/// redirected to `/login` (htmx is told to load it whole), anything else refused.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub user: String,
    pub role: Role,
    pub csrf: String,
    pub lang: Lang,
    pub id_hash: String,
    pub tls: bool,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Refuses a change without this session's CSRF token, or sent from another origin.
    pub fn check_csrf(&self, headers: &HeaderMap, token: &str) -> Result<(), Refusal> {
        if !same_origin(headers) || !session::same_secret(token, &self.csrf) {
            return Err(Refusal::Csrf);
        }
        Ok(())
    }

    /// Admins only (reveal, review, correct, erase, devices, audit, export).
    pub fn require_admin(&self) -> Result<(), Refusal> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Refusal::AdminOnly)
        }
    }

    /// A change only admins may make: this session's CSRF token first, then the role.
    pub fn admin_change(&self, headers: &HeaderMap, token: &str) -> Result<(), Refusal> {
        self.check_csrf(headers, token)?;
        self.require_admin()
    }

    pub fn entry(&self, action: &'static str, target: impl Into<String>, count: i64) -> AuditEntry {
        AuditEntry {
            actor: self.user.clone(),
            action,
            target: target.into(),
            count,
        }
    }
}

/// A form as the console's pages send it: the page's CSRF token beside the form's own fields.
#[derive(serde::Deserialize)]
pub struct WithToken<F> {
    #[serde(default)]
    pub csrf: String,
    #[serde(flatten)]
    pub form: F,
}

/// What an admin's change is about, found from the path once the change is allowed, so that
/// no one else learns whether it exists (`()`: nothing but the form).
pub trait ChangeTarget: Sized {
    /// What the path names, read before the body.
    type Key: FromRequestParts<Arc<ServerState>, Rejection: IntoResponse> + Send;

    fn find(
        key: Self::Key,
        state: &ServerState,
    ) -> impl Future<Output = Result<Self, Refusal>> + Send;
}

impl ChangeTarget for () {
    type Key = ();

    async fn find(_: (), _: &ServerState) -> Result<(), Refusal> {
        Ok(())
    }
}

/// A change only an admin may make, as the handler receives it: the session's user, the form
/// (`()` for none but the token) once its CSRF token and origin were checked and then the
/// role, and what the change is about. Stated in the signature, a change cannot forget to check.
pub struct AdminChange<F, T = ()> {
    pub v: Viewer,
    pub form: F,
    /// What the change is on (a member).
    pub on: T,
}

impl<F, T> FromRequest<Arc<ServerState>> for AdminChange<F, T>
where
    F: serde::de::DeserializeOwned + Send,
    T: ChangeTarget,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &Arc<ServerState>) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let v = Viewer::from_request_parts(&mut parts, state).await?;
        let key = T::Key::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let headers = parts.headers.clone();
        let req = Request::from_parts(parts, body);
        let axum::Form(sent) = axum::Form::<WithToken<F>>::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        v.admin_change(&headers, &sent.csrf)
            .map_err(IntoResponse::into_response)?;
        let on = T::find(key, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(AdminChange {
            v,
            form: sent.form,
            on,
        })
    }
}

/// An `Origin` header, when the browser sends one, names this very host.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(axum::http::header::ORIGIN) else {
        return true;
    };
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    origin.to_str().ok().is_some_and(|o| {
        o.strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"))
            .is_some_and(|rest| !host.is_empty() && rest == host)
    })
}

/// Why a logged-in user's request was refused, in the console's frame.
#[derive(askama::Template)]
#[template(path = "refused.html")]
pub struct RefusedPage {
    pub c: Chrome,
    pub status: u16,
    pub message: String,
}

/// A short page saying why a request without a session was refused, in its language.
fn bare_page(lang: Lang, status: StatusCode, message: &str) -> String {
    let tr = Tr(lang);
    // the messages are ours, but a page is no place to trust that
    let escaped = match askama::filters::escape(message, askama::filters::Html) {
        Ok(e) => e.to_string(),
        Err(never) => match never {},
    };
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"stylesheet\" href=\"/console/console.css\"><title>{}</title></head>\
         <body><main class=\"narrow\"><p class=\"error\" role=\"alert\">{}</p>\
         <p><a href=\"/\">{}</a></p></main></body></html>",
        tr.code(),
        status.as_u16(),
        escaped,
        tr.t("console.nav.dashboard"),
    )
}

fn to_login(parts: &Parts, clear: bool, tls: bool) -> Response {
    let mut resp =
        if parts.method == axum::http::Method::GET && !parts.headers.contains_key("hx-request") {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let to = if next == "/" {
                "/login".to_string()
            } else {
                format!(
                    "/login?next={}",
                    percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
                )
            };
            redirect(&to)
        } else {
            let mut r = Refusal::LoginNeeded.into_response();
            r.headers_mut()
                .insert("hx-redirect", HeaderValue::from_static("/login"));
            r
        };
    if clear && let Ok(v) = HeaderValue::from_str(&session::cleared_session_cookie(tls)) {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

impl FromRequestParts<Arc<ServerState>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ServerState>,
    ) -> Result<Viewer, Response> {
        let lang = cookie_lang(&parts.headers);
        let tls = parts.extensions.get::<ConnInfo>().is_some_and(|c| c.tls);
        let Some(id) = cookie_value(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(parts, false, tls));
        };
        let hash = id_hash(&id);
        let now = now_secs();
        let row = state
            .db
            .session(hash.clone())
            .await
            .map_err(|e| Refusal::from(e).into_response())?;
        let Some(row) = row else {
            return Err(to_login(parts, true, tls));
        };
        if now - row.seen_at > IDLE_LIMIT || now - row.created_at > ABSOLUTE_LIMIT {
            // this one, and any other expired session met on the way
            let _ = state
                .db
                .end_sessions(Some(hash), now - IDLE_LIMIT, now - ABSOLUTE_LIMIT)
                .await;
            return Err(to_login(parts, true, tls));
        }
        if now - row.seen_at > TOUCH_EVERY {
            let _ = state.db.touch_session(hash.clone(), now).await;
        }
        let viewer = Viewer {
            user: row.user,
            role: row.role,
            csrf: row.csrf,
            lang,
            id_hash: hash,
            tls,
        };
        if let Some(seen) = parts.extensions.get::<Seen>() {
            let _ = seen.0.set(Chrome::new(&viewer, "", "/"));
        }
        Ok(viewer)
    }
}

/// Records an audit entry; a page with personal data is not shown if its view cannot be
/// recorded (PIPL: every view is on the record).
pub async fn audited(state: &ServerState, e: AuditEntry) -> Result<(), Refusal> {
    Ok(state.db.audit(e).await?)
}

/// True for an htmx request (answered with the page's partial, kanidm's pattern).
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request") && !headers.contains_key("hx-boosted")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refusal reads as a page: in the frame (navigation, logout) when the request's viewer
    /// was found, a short page otherwise; status, headers and the code for the log stay.
    #[tokio::test]
    async fn refusals_are_said_as_pages_framed_for_a_viewer() {
        use axum::Extension;
        use tower::ServiceExt;
        let framed = |Extension(seen): Extension<Seen>| async move {
            let v = Viewer {
                user: "anna".into(),
                role: Role::Viewer,
                csrf: "tok".into(),
                lang: Lang::En,
                id_hash: String::new(),
                tls: false,
            };
            let _ = seen.0.set(Chrome::new(&v, "", "/"));
            Refusal::AdminOnly
        };
        let app: Router = Router::new()
            .route("/framed", get(framed))
            .route("/bare", get(|| async { Refusal::NoSuchMember }))
            .layer(middleware::from_fn(refusals_as_pages));
        let ask = |path: &str| {
            Request::get(path)
                .header("cookie", "booth_lang=en")
                .body(Body::empty())
                .unwrap()
        };
        let body = |r: Response| async {
            let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
            String::from_utf8(b.to_vec()).unwrap()
        };
        let r = app.clone().oneshot(ask("/framed")).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(r.extensions().get::<Refusal>(), Some(&Refusal::AdminOnly));
        assert!(
            r.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let page = body(r).await;
        assert!(
            page.contains("Only an administrator can do this."),
            "{page}"
        );
        assert!(
            page.contains("id=\"logout\"") && page.contains("anna"),
            "{page}"
        );
        let r = app.oneshot(ask("/bare")).await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let page = body(r).await;
        assert!(
            page.contains("No such member.") && !page.contains("logout"),
            "{page}"
        );
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_300_900), "1,300,900");
    }

    #[test]
    fn only_same_site_paths_are_followed() {
        assert_eq!(safe_next("/members?q=1"), "/members?q=1");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("/\\evil"), "/");
    }

    #[test]
    fn origin_must_be_this_host_when_given() {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("127.0.0.1:8443"));
        assert!(same_origin(&h));
        h.insert("origin", HeaderValue::from_static("http://127.0.0.1:8443"));
        assert!(same_origin(&h));
        h.insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
        h.insert("origin", HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
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
