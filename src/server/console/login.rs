//! `/login`, `/logout` and the language switch. Failed logins are slowed per user name and
//! per address (db::users::Throttle), and an unknown name costs the same Argon2id work as a
//! wrong password.

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
use crate::server::db::users::Throttle;
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
    let addr = conn
        .as_ref()
        .map(|c| c.peer.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let name = f.username.trim().to_string();
    let user_key = format!("user:{name}");
    let addr_key = format!("addr:{addr}");
    let now = now_secs();
    let page = |status: StatusCode, error: String| {
        let mut r = LoginPage {
            c: Chrome::anonymous(lang, "/login"),
            next: next.clone(),
            username: name.clone(),
            error: Some(error),
        }
        .into_response();
        *r.status_mut() = status;
        r
    };
    let wait = state
        .db
        .login_wait(vec![user_key.clone(), addr_key.clone()], now)
        .await?;
    if wait > 0 {
        state.metrics.login("throttled");
        let mut r = page(
            StatusCode::TOO_MANY_REQUESTS,
            crate::t!(lang, "console.login_wait", seconds = wait),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert("retry-after", v);
        }
        return Ok(r);
    }
    let user = state.db.user(name.clone()).await?;
    let (hash, password) = (
        user.as_ref().map_or_else(
            || session::dummy_hash().to_string(),
            |u| u.password_hash.clone(),
        ),
        f.password,
    );
    let good = tokio::task::spawn_blocking(move || session::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| good) else {
        let t = Throttle::default();
        // the lock runs from the failure, not from the request's start: the password hash
        // alone takes a good part of a second
        state
            .db
            .login_failed(
                vec![(user_key, t.free_per_user), (addr_key, t.free_per_address)],
                now_secs(),
                t,
            )
            .await?;
        tracing::info!(target: "console", "login failed");
        state.metrics.login("failed");
        return Ok(page(
            StatusCode::UNAUTHORIZED,
            tr.t("console.login_failed").into(),
        ));
    };
    // the system had no randomness to give: nothing to do but say so
    let (Ok(id), Ok(csrf)) = (session::random_token(), session::random_token()) else {
        return Err(Refusal::Internal);
    };
    let db = &state.db;
    db.login_succeeded(user_key).await?;
    // expired sessions of anyone leave the table as new ones come in
    db.end_sessions(None, now - IDLE_LIMIT, now - ABSOLUTE_LIMIT)
        .await?;
    db.create_session(session::id_hash(&id), user.name.clone(), csrf, now)
        .await?;
    db.audit(AuditEntry {
        actor: user.name.clone(),
        action: "login",
        target: String::new(),
        count: 0,
    })
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
