//! The console's frame: the strings of a page in its language ([`Tr`]), what every page's
//! frame shows ([`Chrome`]: who is logged in, the navigation, the CSRF token of its forms), and
//! how a refusal reads: a page in the frame for a logged-in user, a short page for anyone else
//! ([`refusals_as_pages`], the console's layer).

use std::sync::{Arc, OnceLock};

use askama::Template;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::cookie_lang;
use crate::i18n::Lang;
use crate::server::refusal::Refusal;

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
}

/// The logged-in user of a request, once its [`Viewer`](super::Viewer) was found: a slot the refusal layer
/// puts in the request and the extractor fills, so a refusal is framed with its navigation.
#[derive(Clone, Default)]
pub struct Seen(pub Arc<OnceLock<Chrome>>);

/// A refusal as the console says it: the page in the frame for a logged-in user (the way on
/// is one click), a short page in the cookie's language for anyone else. Status, headers
/// (`hx-redirect`, a cleared cookie) and extensions (the code for the access log) stay.
pub async fn refusals_as_pages(mut req: Request, next: Next) -> Response {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::console::Viewer;
    use crate::server::db::users::Role;
    use axum::Router;
    use axum::middleware;
    use axum::routing::get;

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
                zone: Default::default(),
                scope: Default::default(),
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
}
