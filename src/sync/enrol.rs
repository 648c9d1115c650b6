//! What the operator types to set up the upload, in the setup screen or on the upload screen
//! (`booth enroll` takes the same code on the command line): the enrolment code, and the
//! office's certificate file when the office uses its own certificate. Both are checked here,
//! with the reason in the operator's words; storing them is `Store::enroll` and the `ca`
//! setting.

use std::path::{Path, PathBuf};

use crate::card::enrol::{EnrolError, Enrolment};
use crate::i18n::Lang;
use crate::t;

/// Why an enrolment code is refused, in words.
pub fn code_problem(e: &EnrolError, lang: Lang) -> String {
    match e {
        EnrolError::Prefix => t!(lang, "cli.enrol_prefix").into(),
        EnrolError::Damaged => t!(lang, "cli.enrol_damaged").into(),
        EnrolError::Field(f) => t!(lang, "cli.enrol_field", field = f),
    }
}

/// An enrolment code as typed or pasted: `None` when left empty. `have_server`: the laptop
/// already knows the office's address, so a code without one will do.
pub fn check_code(text: &str, have_server: bool, lang: Lang) -> Result<Option<Enrolment>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let e = Enrolment::parse(text).map_err(|e| code_problem(&e, lang))?;
    if e.server.is_none() && !have_server {
        return Err(t!(lang, "sync.enrol_no_server").into());
    }
    Ok(Some(e))
}

/// The office's certificate file as typed: `None` when left empty; otherwise an absolute
/// path (`~/` is the home folder) to a readable file holding a PEM certificate.
pub fn check_ca(text: &str, lang: Lang) -> Result<Option<PathBuf>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let path = match text.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME")
            .map(|h| Path::new(&h).join(rest))
            .unwrap_or_else(|| PathBuf::from(text)),
        None => PathBuf::from(text),
    };
    let path = std::path::absolute(&path).unwrap_or(path);
    let shown = path.display().to_string();
    let pem = std::fs::read(&path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => t!(lang, "sync.ca_not_found"),
            std::io::ErrorKind::PermissionDenied => t!(lang, "sync.ca_no_permission"),
            _ if path.is_dir() => t!(lang, "sync.ca_is_folder"),
            _ => t!(lang, "sync.ca_unreadable"),
        };
        t!(lang, "sync.ca_bad", path = &shown, why = why)
    })?;
    crate::tls::client_config_for_office(&pem).map_err(|_| {
        t!(
            lang,
            "sync.ca_bad",
            path = &shown,
            why = t!(lang, "sync.ca_not_pem")
        )
    })?;
    Ok(Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(server: Option<&str>) -> String {
        Enrolment {
            server: server.map(str::to_string),
            token: "tok_123".into(),
            office_key: "A".repeat(42) + "E",
            device: Some("laptop-01".into()),
            seal_key: None,
            verify_url: None,
            union: None,
        }
        .encode()
    }

    #[test]
    fn a_code_is_optional_checked_and_needs_a_server_somewhere() {
        assert_eq!(check_code("  ", false, Lang::Zh), Ok(None));
        let c = code(Some("https://booth.office.lan:8443"));
        // pasted with a line break and spaces around it
        let e = check_code(&format!(" {}\n{} ", &c[..20], &c[20..]), false, Lang::Zh)
            .unwrap()
            .unwrap();
        assert_eq!(e.server.as_deref(), Some("https://booth.office.lan:8443"));
        let cut = check_code(&c[..c.len() - 4], false, Lang::Zh).unwrap_err();
        assert!(cut.contains("登记码"), "{cut}");
        let other = check_code("hello", false, Lang::En).unwrap_err();
        assert!(other.contains("BOOTH1-"), "{other}");
        let no_server = code(None);
        assert!(check_code(&no_server, false, Lang::Zh).is_err());
        assert!(check_code(&no_server, true, Lang::Zh).unwrap().is_some());
    }

    #[test]
    fn the_certificate_file_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(check_ca("", Lang::Zh), Ok(None));
        let missing = dir.path().join("nope.pem");
        let m = check_ca(missing.to_str().unwrap(), Lang::Zh).unwrap_err();
        assert!(m.contains("nope.pem") && m.contains("不存在"), "{m}");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let m = check_ca(junk.to_str().unwrap(), Lang::En).unwrap_err();
        assert!(m.contains("junk.pem") && m.contains("PEM"), "{m}");
        let m = check_ca(dir.path().to_str().unwrap(), Lang::En).unwrap_err();
        assert!(m.contains("folder"), "{m}");
        let cert = rcgen::generate_simple_self_signed(vec!["booth.office.lan".into()]).unwrap();
        let good = dir.path().join("office-ca.pem");
        std::fs::write(&good, cert.cert.pem()).unwrap();
        assert_eq!(
            check_ca(&format!(" {} ", good.display()), Lang::Zh),
            Ok(Some(good))
        );
    }
}
