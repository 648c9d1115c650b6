//! Helpers for the console tests: office users made by the real `booth server add-user`, a
//! server with uploaded records, and an HTTP session that keeps its cookie by hand (no
//! redirects followed, so every answer is seen as the server gave it).
#![allow(dead_code)]

use std::process::{Command, Output};

use super::booth_bin;
use super::net::*;

pub const VIEWER_PASS: &str = "Office-Pass-2026";
pub const ADMIN_PASS: &str = "Admin-Pass-2026!";

/// `booth server add-user NAME --role ROLE --db DB` with the password in the environment.
pub fn add_user(db: &str, name: &str, role: &str, password: &str) -> Output {
    let mut cmd = Command::new(booth_bin());
    let args = [
        "server", "add-user", name, "--role", role, "--db", db, "--json",
    ];
    office_key_env(&mut cmd, &args);
    cmd.args(args)
        .env("BOOTH_USER_PASSWORD", password)
        .env_remove("BOOTH_LANG")
        .output()
        .expect("run booth server add-user")
}

/// A server with a viewer (`zhangli`), an admin (`admin`), device `lap-a`, and `n` records
/// uploaded by it (people 1..=n, registered on 2026-11-0(1 + i % 3)).
pub fn seeded(db: &str, n: u32) -> (Server, String) {
    for (name, role, pass) in [
        ("zhangli", "viewer", VIEWER_PASS),
        ("admin", "admin", ADMIN_PASS),
    ] {
        let out = add_user(db, name, role, pass);
        assert!(
            out.status.success(),
            "add-user {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let token = add_device(db, "lap-a");
    let server = Server::start(db);
    let client = http_client();
    let items: Vec<_> = (1..=n)
        .map(|i| {
            let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1 + i % 3).unwrap();
            batch_item(i, day)
        })
        .collect();
    for chunk in items.chunks(500) {
        let body = serde_json::to_vec(&batch(chunk.to_vec())).unwrap();
        let (status, v) = post(&client, &server.url(), &token, body, "application/json").unwrap();
        assert_eq!(status, 200, "{v}");
    }
    (server, token)
}

/// A browser-like client: its own session cookie, no redirects followed.
pub struct Web {
    pub base: String,
    pub client: reqwest::blocking::Client,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

/// One answer: status, `Location`, `Set-Cookie` headers, body.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

pub fn form_body(pairs: &[(&str, &str)]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Web {
    pub fn new(base: &str) -> Web {
        booth::tls::install_crypto_provider();
        Web {
            base: base.to_string(),
            client: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap(),
            cookie: None,
            csrf: None,
        }
    }

    fn answer(&mut self, r: reqwest::blocking::Response) -> Answer {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        for c in headers.get_all("set-cookie") {
            let c = c.to_str().unwrap();
            if let Some(v) = c.strip_prefix("booth_session=") {
                let v = v.split(';').next().unwrap();
                self.cookie = (!v.is_empty()).then(|| v.to_string());
            }
        }
        let location = headers
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        let body = r.text().unwrap_or_default();
        // every console page's forms carry the session's CSRF token
        if let Some(i) = body.find("name=\"csrf\" value=\"") {
            let rest = &body[i + 19..];
            self.csrf = rest.split('"').next().map(str::to_string);
        }
        Answer {
            status,
            location,
            headers,
            body,
        }
    }

    fn with_cookie(
        &self,
        b: reqwest::blocking::RequestBuilder,
    ) -> reqwest::blocking::RequestBuilder {
        match &self.cookie {
            Some(c) => b.header("cookie", format!("booth_session={c}")),
            None => b,
        }
    }

    pub fn get(&mut self, path: &str) -> Answer {
        let r = self
            .with_cookie(self.client.get(format!("{}{path}", self.base)))
            .send()
            .unwrap();
        self.answer(r)
    }

    /// A form POST as a browser on this site sends it (with `Origin`).
    pub fn post(&mut self, path: &str, pairs: &[(&str, &str)]) -> Answer {
        let r = self
            .with_cookie(self.client.post(format!("{}{path}", self.base)))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", self.base.clone())
            .body(form_body(pairs))
            .send()
            .unwrap();
        self.answer(r)
    }

    /// A POST carrying this session's CSRF token.
    pub fn post_csrf(&mut self, path: &str, pairs: &[(&str, &str)]) -> Answer {
        let token = self
            .csrf
            .clone()
            .expect("a page with the CSRF token was read");
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(pairs);
        self.post(path, &all)
    }

    pub fn login(&mut self, user: &str, password: &str) -> Answer {
        let a = self.post("/login", &[("username", user), ("password", password)]);
        if a.status == 303 {
            // read a page, for its CSRF token
            let _ = self.get("/");
        }
        a
    }
}

/// `booth server audit --json --db DB` entries.
pub fn audit_entries(db: &str) -> Vec<serde_json::Value> {
    let (out, v) = server_cmd(&["audit", "--db", db]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    v["entries"].as_array().cloned().unwrap_or_default()
}

pub fn has_entry(entries: &[serde_json::Value], actor: &str, action: &str) -> bool {
    entries
        .iter()
        .any(|e| e["actor"] == actor && e["action"] == action)
}
