//! `POST /devices/backup`: an admin uploads a laptop's backup file (`booth backup --out FILE`,
//! SPEC §12) from the devices page, and it is taken as `booth server import-backup` takes it
//! (`server::relay`): each laptop's records under its own device, stored once. The answer is a
//! page of what was taken and what was refused, and why. Audited.
//!
//! A file input needs `multipart/form-data`; the form has two fields (the CSRF token and the
//! file), read here by [`form_fields`] rather than with a multipart library for one form.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use super::{Chrome, Tr, Viewer};
use crate::server::body::read_body;
use crate::server::refusal::Refusal;
use crate::server::relay::{self, ImportError};
use crate::server::state::ServerState;

/// One line of the result: a segment and what became of it, in words.
pub struct Line {
    pub laptop: String,
    pub counter: u64,
    pub status: &'static str,
    pub why: Option<&'static str>,
}

#[derive(Template, WebTemplate)]
#[template(path = "backup.html")]
pub struct BackupPage {
    pub c: Chrome,
    /// Whole-file refusal (not a backup, its signature does not check).
    pub error: Option<String>,
    pub written_by: String,
    pub accepted: u64,
    pub already_there: u64,
    pub not_taken: u64,
    pub lines: Vec<Line>,
}

pub async fn import(
    State(state): State<Arc<ServerState>>,
    v: Viewer,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    // the role first: a viewer's upload is not read at all
    v.require_admin()?;
    // a backup holds any laptop's records: the office's own users only (SPEC §11), the page
    // not there for a node's
    if !v.scope.is_all() {
        return Err(Refusal::NotFound);
    }
    let held = read_body(body, state.max_body, state.body_budget.clone()).await?;
    let boundary = headers
        .get(CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .and_then(boundary)
        .ok_or(Refusal::BadFormat)?;
    let fields = form_fields(&held.bytes, &boundary).ok_or(Refusal::BadFormat)?;
    let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
    let csrf = std::str::from_utf8(field("csrf").unwrap_or_default()).unwrap_or_default();
    v.admin_change(&headers, csrf)?;
    let tr = Tr(v.lang);
    let mut page = BackupPage {
        c: Chrome::new(&v, "devices", "/devices"),
        error: None,
        written_by: String::new(),
        accepted: 0,
        already_there: 0,
        not_taken: 0,
        lines: Vec::new(),
    };
    let Some(text) = field("file").and_then(|f| std::str::from_utf8(f).ok()) else {
        page.error = Some(tr.t("console.backup_not_a_backup").to_string());
        return Ok(page.into_response());
    };
    match relay::import_backup(&state.db, &state.seals, text).await {
        Ok(imported) => {
            state
                .db
                .audit(v.entry(
                    "backup.import",
                    imported.written_by.clone(),
                    imported.records.accepted as i64,
                ))
                .await?;
            let r = &imported.records;
            page.written_by = imported.written_by.clone();
            page.accepted = r.accepted;
            page.already_there = r.already_there;
            page.not_taken = r.rejected + r.conflict + r.duplicate_person;
            page.lines = imported
                .segments
                .iter()
                .map(|s| Line {
                    laptop: laptop_of(&s.origin),
                    counter: s.counter,
                    status: match s.status.as_str() {
                        relay::ACCEPTED => tr.t("console.segment_taken"),
                        relay::ALREADY_THERE => tr.t("console.segment_already_there"),
                        _ => tr.t("console.segment_refused"),
                    },
                    why: s.error.as_deref().map(|code| relay::reason(code, v.lang)),
                })
                .collect();
        }
        Err(ImportError::File(e)) => {
            page.error = Some(format!(
                "{} {}",
                tr.t("console.backup_not_a_backup"),
                relay::reason(e.code(), v.lang)
            ));
        }
        Err(ImportError::Db(e)) => return Err(e.into()),
    }
    Ok(page.into_response())
}

/// A segment's laptop as people know it: its key id.
fn laptop_of(origin: &str) -> String {
    data_encoding::BASE64URL_NOPAD
        .decode(origin.as_bytes())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| crate::card::keys::acceptable_key(&b).ok())
        .map(|k| crate::card::keys::key_id_of(&k))
        .unwrap_or_else(|| "?".into())
}

/// The boundary of a `multipart/form-data` content type.
fn boundary(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';');
    if !parts
        .next()?
        .trim()
        .eq_ignore_ascii_case("multipart/form-data")
    {
        return None;
    }
    parts.find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        let v = v.trim().trim_matches('"');
        (k.trim().eq_ignore_ascii_case("boundary") && !v.is_empty() && v.len() <= 70)
            .then(|| v.to_string())
    })
}

/// The fields of a `multipart/form-data` body (RFC 7578): each part's name and bytes, in
/// order. `None` when the body is not one.
fn form_fields<'a>(body: &'a [u8], boundary: &str) -> Option<Vec<(String, &'a [u8])>> {
    let delimiter = format!("--{boundary}");
    let next = |from: usize| find(&body[from..], delimiter.as_bytes()).map(|i| from + i);
    let mut at = next(0)? + delimiter.len();
    let mut out = Vec::new();
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            return Some(out);
        }
        let rest = rest.strip_prefix(b"\r\n")?;
        let start = body.len() - rest.len();
        let end = next(start)?;
        // a part's content ends with the CRLF before the next delimiter
        let part = body[start..end].strip_suffix(b"\r\n")?;
        let split = find(part, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&part[..split]).ok()?;
        let name = head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            if !k.trim().eq_ignore_ascii_case("content-disposition") {
                return None;
            }
            v.split(';').find_map(|p| {
                let (k, v) = p.trim().split_once('=')?;
                (k == "name").then(|| v.trim_matches('"').to_string())
            })
        })?;
        out.push((name, &part[split + 4..]));
        at = end + delimiter.len();
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_fields_of_the_upload_form_are_read() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.json\"\r\n\
            Content-Type: application/json\r\n\r\n{\"a\":\"--Xy\r\n\"}\r\n--XyZ--\r\n";
        let b = boundary("multipart/form-data; boundary=XyZ").unwrap();
        let f = form_fields(body, &b).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0], ("csrf".to_string(), &b"tok"[..]));
        assert_eq!(f[1], ("file".to_string(), &b"{\"a\":\"--Xy\r\n\"}"[..]));
        assert_eq!(
            boundary("multipart/form-data; boundary=\"a b\""),
            Some("a b".into())
        );
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
        // cut short, or no parts at all: not a form
        assert!(form_fields(&body[..60], &b).is_none());
        assert!(form_fields(b"nothing", &b).is_none());
    }
}
