//! `/login`, `/logout` and the language switch. A login's guess is counted before its
//! password is checked, per name and address and per address, and waits its turn in the
//! name's queue when its address has failed at the name (db::users::Throttle); the check
//! itself goes through the server's password gate (`server::gate`: a bounded number of
//! logins inside, a few Argon2id hashes at once). An
//! unknown name takes the same path and the same Argon2id work as a wrong password.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::session::{self, ABSOLUTE_LIMIT, IDLE_LIMIT};
use super::{Chrome, Tr, Viewer, WithToken, cookie_lang, now_secs, redirect, safe_next};
use crate::i18n::Lang;
use crate::server::db::audit::AuditEntry;
use crate::server::db::users::{Admission, LoginKeys, Throttle};
use crate::server::listener::ConnInfo;
use crate::server::refusal::Refusal;
use crate::server::state::ServerState;

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub c: Chrome,
    pub next: String,
    pub username: String,
    pub error: Option<String>,
}

impl Chrome {
    /// The frame of a page seen before logging in.
    pub fn anonymous(lang: Lang, here: &str) -> Chrome {
        Chrome {
            tr: Tr(lang),
            user: String::new(),
            admin: false,
            csrf: String::new(),
            nav: "login",
            here: safe_next(here),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NextQuery {
    pub next: Option<String>,
}

pub async fn form(headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    let lang = cookie_lang(&headers);
    let next = safe_next(q.next.as_deref().unwrap_or("/"));
    let here = format!(
        "/login?next={}",
        percent_encoding::utf8_percent_encode(&next, percent_encoding::NON_ALPHANUMERIC)
    );
    LoginPage {
        c: Chrome::anonymous(lang, &here),
        next,
        username: String::new(),
        error: None,
    }
    .into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
    pub next: String,
}

pub async fn submit(
    State(state): State<Arc<ServerState>>,
    conn: Option<Extension<ConnInfo>>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, Refusal> {
    let lang = cookie_lang(&headers);
    let tr = Tr(lang);
    let next = safe_next(&f.next);
    // another site's page must not log a browser in (login CSRF)
    if !super::same_origin(&headers) {
        return Err(Refusal::Csrf);
    }
    let tls = conn.as_ref().is_some_and(|c| c.tls);
    let address = conn
        .as_ref()
        .map_or_else(|| "unknown".into(), |c| c.address_group());
    let name = f.username.trim().to_string();
    let page = |status: StatusCode, error: String, retry_after: Option<i64>| {
        let mut r = LoginPage {
            c: Chrome::anonymous(lang, "/login"),
            next: next.clone(),
            username: name.clone(),
            error: Some(error),
        }
        .into_response();
        *r.status_mut() = status;
        if let Some(v) = retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
            r.headers_mut().insert("retry-after", v);
        }
        r
    };
    let busy = |retry_after: u64| {
        state.metrics.login("busy");
        let secs = retry_after as i64;
        let message = crate::t!(lang, "console.login_busy", seconds = secs);
        page(StatusCode::SERVICE_UNAVAILABLE, message, Some(secs))
    };
    // A place at the password gate first: past its bound a flood is turned away before any
    // database work, so it cannot queue up in front of everything else either.
    let mut ticket = match state.password_gate.enter() {
        Ok(t) => t,
        Err(b) => return Ok(busy(b.retry_after)),
    };
    // A name no user has is counted under a shared key of its own (bounded rows), and goes
    // through every step a real name does.
    let user = if session::valid_user_name(&name) {
        state.db.user(name.clone()).await?
    } else {
        None
    };
    let keys = LoginKeys::new(
        &user
            .as_ref()
            .map_or_else(|| LoginKeys::unknown_name(&name), |u| u.name.clone()),
        &address,
    );
    let t = Throttle::default();
    match state.db.login_admit(keys.clone(), now_secs(), t).await? {
        Admission::Refused { retry_after } => {
            tracing::info!(target: "console", "login refused: too many guesses");
            state.metrics.login("throttled");
            super::viewer::login_refused(&state, "login.locked", &name, &address).await?;
            let message = crate::t!(lang, "console.login_wait", seconds = retry_after);
            return Ok(page(
                StatusCode::TOO_MANY_REQUESTS,
                message,
                Some(retry_after),
            ));
        }
        Admission::Check { wait } if wait > 0 => {
            // a queued guess waits outside the gate, holding no place in it
            drop(ticket);
            tokio::time::sleep(std::time::Duration::from_secs(wait as u64)).await;
            ticket = match state.password_gate.enter() {
                Ok(t) => t,
                Err(b) => return Ok(busy(b.retry_after)),
            };
        }
        Admission::Check { .. } => {}
    }
    let hash = user.as_ref().map_or_else(
        || session::dummy_hash().to_string(),
        |u| u.password_hash.clone(),
    );
    let good = match ticket.verify(f.password, hash).await {
        Ok(good) => good,
        // not checked: the guess stays counted, as it came
        Err(b) => return Ok(busy(b.retry_after)),
    };
    let Some(user) = user.filter(|_| good) else {
        state.db.login_failed(keys, now_secs(), t).await?;
        tracing::info!(target: "console", "login failed");
        super::viewer::login_refused(&state, "login.failed", &name, &address).await?;
        state.metrics.login("failed");
        return Ok(page(
            StatusCode::UNAUTHORIZED,
            tr.t("console.login_failed").into(),
            None,
        ));
    };
    // the system had no randomness to give: nothing to do but say so
    let (Ok(id), Ok(csrf)) = (session::random_token(), session::random_token()) else {
        return Err(Refusal::Internal);
    };
    let db = &state.db;
    let now = now_secs();
    db.login_succeeded(keys).await?;
    // expired sessions of anyone leave the table as new ones come in
    db.end_sessions(None, now - IDLE_LIMIT, now - ABSOLUTE_LIMIT)
        .await?;
    db.create_session(session::id_hash(&id), user.name.clone(), csrf, now)
        .await?;
    db.audit(AuditEntry::new(user.name.clone(), "login", "").scope(&user.scope))
        .await?;
    state.metrics.login("ok");
    let mut r = redirect(&next);
    if let Ok(v) = HeaderValue::from_str(&session::session_cookie(&id, tls)) {
        r.headers_mut().append(SET_COOKIE, v);
    }
    Ok(r)
}

pub async fn logout(
    State(state): State<Arc<ServerState>>,
    v: Viewer,
    headers: HeaderMap,
    Form(f): Form<WithToken<()>>,
) -> Result<Response, Refusal> {
    v.check_csrf(&headers, &f.csrf)?;
    let now = now_secs();
    state
        .db
        .end_sessions(
            Some(v.id_hash.clone()),
            now - IDLE_LIMIT,
            now - ABSOLUTE_LIMIT,
        )
        .await?;
    let _ = state.db.audit(v.entry("logout", "", 0)).await;
    let mut r = redirect("/login");
    if let Ok(c) = HeaderValue::from_str(&session::cleared_session_cookie(v.tls)) {
        r.headers_mut().append(SET_COOKIE, c);
    }
    Ok(r)
}

/// `/lang/en?next=/members`: remembers the language in a cookie and goes back.
pub async fn set_lang(
    Path(code): Path<String>,
    conn: Option<Extension<ConnInfo>>,
    Query(q): Query<NextQuery>,
) -> Response {
    let lang = Lang::parse(&code).unwrap_or_default();
    let tls = conn.is_some_and(|c| c.tls);
    let mut r = redirect(&safe_next(q.next.as_deref().unwrap_or("/")));
    if let Ok(c) = HeaderValue::from_str(&session::lang_cookie(lang, tls)) {
        r.headers_mut().append(SET_COOKIE, c);
    }
    r
}
