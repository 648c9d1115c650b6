//! Who is asking: the logged-in office user of a request ([`Viewer`], from the session
//! cookie, refreshed and expired here), what a change must carry (this session's CSRF token,
//! sent from this origin: [`WithToken`], [`same_origin`]) and a change only admins may make
//! ([`AdminChange`]), and the audit entry a view of personal data needs ([`audited`]).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::frame::{Chrome, Seen, Tr};
use super::session::{
    self, ABSOLUTE_LIMIT, IDLE_LIMIT, SESSION_COOKIE, TOUCH_EVERY, cookie_value, id_hash,
};
use super::{cookie_lang, now_secs, redirect, safe_next};
use crate::i18n::Lang;
use crate::server::db::audit::AuditEntry;
use crate::server::db::users::Role;
use crate::server::listener::ConnInfo;
use crate::server::refusal::Refusal;
use crate::server::state::ServerState;
use crate::server::unions::Scope;
use crate::server::zone::Zone;

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
    /// The office's time zone: every time a page shows is in it (SPEC §14).
    pub zone: Zone,
    /// The part of the union tree this user sees (SPEC §11): every query of the console
    /// carries it.
    pub scope: Scope,
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
        AuditEntry::new(self.user.clone(), action, target)
            .count(count)
            .scope(&self.scope)
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

    /// Found within `v`'s part of the tree: outside it, not found (as if it did not exist).
    fn find(
        key: Self::Key,
        state: &ServerState,
        v: &Viewer,
    ) -> impl Future<Output = Result<Self, Refusal>> + Send;
}

impl ChangeTarget for () {
    type Key = ();

    async fn find(_: (), _: &ServerState, _: &Viewer) -> Result<(), Refusal> {
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
        let parts_path = parts.uri.path().to_string();
        let req = Request::from_parts(parts, body);
        let axum::Form(sent) = axum::Form::<WithToken<F>>::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if let Err(refusal) = v.admin_change(&headers, &sent.csrf) {
            // a user who is not an admin trying an admin's change, on the record
            if refusal == Refusal::AdminOnly {
                let path: String = parts_path.chars().take(200).collect();
                let entry = v.entry("change.refused", path, 0).with("why", "admin_only");
                audited(state, entry)
                    .await
                    .map_err(IntoResponse::into_response)?;
            }
            return Err(refusal.into_response());
        }
        let on = T::find(key, state, &v)
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

impl Chrome {
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
        let zone = state
            .db
            .zone()
            .await
            .map_err(|e| Refusal::from(e).into_response())?;
        let viewer = Viewer {
            user: row.user,
            role: row.role,
            scope: row.scope,
            csrf: row.csrf,
            lang,
            id_hash: hash,
            tls,
            zone,
        };
        if let Some(seen) = parts.extensions.get::<Seen>() {
            let _ = seen.0.set(Chrome::new(&viewer, "", "/"));
        }
        Ok(viewer)
    }
}

/// A refused login on the record: `login.failed` (a wrong password, an unknown name) or
/// `login.locked` (refused while the name or the address is locked), with the client's
/// address. The actor is the name typed when an office user has it; any other name may be a
/// password typed in the wrong box, so only its first character is kept (`x*******`).
///
/// `login.locked` is kept once a minute per name and address ([`first_in_a_minute`]): a
/// refused guess costs its sender one small request (it comes before any password work), and
/// an entry for each would let a flood fill the disk through the audit log. A failed login
/// has had its password checked (a bounded few at a time): each is kept.
pub async fn login_refused(
    state: &ServerState,
    action: &'static str,
    name: &str,
    addr: &str,
) -> Result<(), Refusal> {
    if action == "login.locked" && !first_in_a_minute(name, addr) {
        return Ok(());
    }
    let known = !name.is_empty() && state.db.user(name.to_string()).await?.is_some();
    let entry = if known {
        AuditEntry::new(name, action, "")
    } else {
        AuditEntry::new("-", action, "").with("name", super::mask::name(name))
    };
    audited(state, entry.with("address", addr)).await
}

/// True for the first `login.locked` of a name and address in a minute, in this server. The
/// names are held in memory only, cut at 64 characters, at most 10,000 pairs (the oldest go
/// first, then all: a flood of new pairs gets its entries, each once).
fn first_in_a_minute(name: &str, addr: &str) -> bool {
    const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);
    const MOST: usize = 10_000;
    static SEEN: std::sync::OnceLock<std::sync::Mutex<HashMap<String, std::time::Instant>>> =
        std::sync::OnceLock::new();
    let key = format!("{}\u{0}{addr}", name.chars().take(64).collect::<String>());
    let now = std::time::Instant::now();
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if seen.len() >= MOST {
        seen.retain(|_, at| now.duration_since(*at) < MINUTE);
        if seen.len() >= MOST {
            seen.clear();
        }
    }
    match seen.get(&key) {
        Some(at) if now.duration_since(*at) < MINUTE => false,
        _ => {
            seen.insert(key, now);
            true
        }
    }
}

/// Records an audit entry; a page with personal data is not shown if its view cannot be
/// recorded (PIPL: every view is on the record).
pub async fn audited(state: &ServerState, e: AuditEntry) -> Result<(), Refusal> {
    Ok(state.db.audit(e).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
