//! The enrolment code (docs/trust.md): one line the office prints with a new device token,
//! `BOOTH1-` and the base64url of `{"s":server,"t":token,"k":office fingerprint,"d":device}`
//! (and `"x"`, the office's sealing key, from servers that know peers).
//! A laptop that takes it knows where to upload, with what, and which office key to trust.

use data_encoding::BASE64URL_NOPAD;
use serde::{Deserialize, Serialize};

use super::office::is_fingerprint;

pub const PREFIX: &str = "BOOTH1-";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    /// The server's address; absent when the office has not said it (the laptop then needs
    /// `--server`).
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(rename = "t")]
    pub token: String,
    /// The office key's fingerprint.
    #[serde(rename = "k")]
    pub office_key: String,
    #[serde(rename = "d", default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The office's X25519 sealing key (SPEC §12), so that a laptop that never reached the
    /// office can seal its replicas; absent from codes of older servers.
    #[serde(rename = "x", default, skip_serializing_if = "Option::is_none")]
    pub seal_key: Option<String>,
    /// The verification page's public address the office gave (`server init --verify-url`),
    /// so that the laptop's QR codes open it without a `config set` (issue 23 item 10).
    #[serde(rename = "v", default, skip_serializing_if = "Option::is_none")]
    pub verify_url: Option<String>,
    /// The node of the office's union tree the laptop belongs to (SPEC §11); a laptop whose
    /// `union` is not set takes its name and short name. Absent for the office's own node.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub union: Option<EnrolUnion>,
}

/// The longest code or name of a node a code may carry (the office's own limit).
const MAX_UNION_CHARS: usize = 200;

/// A union node as an enrolment code carries it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolUnion {
    #[serde(rename = "c")]
    pub code: String,
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "s", default)]
    pub short: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnrolError {
    #[error("an enrolment code starts with BOOTH1-")]
    Prefix,
    #[error("the enrolment code is damaged (cut or mistyped)")]
    Damaged,
    #[error("the enrolment code's {0} is not valid")]
    Field(&'static str),
}

impl EnrolError {
    pub fn code(&self) -> &'static str {
        match self {
            EnrolError::Prefix => "not_enrolment_code",
            EnrolError::Damaged => "enrolment_damaged",
            EnrolError::Field(_) => "enrolment_field",
        }
    }
}

impl Enrolment {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{PREFIX}{}", BASE64URL_NOPAD.encode(&json))
    }

    /// Parses a code as printed (spaces and line breaks a copy may add are ignored).
    pub fn parse(text: &str) -> Result<Enrolment, EnrolError> {
        let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let rest = cleaned.strip_prefix(PREFIX).ok_or(EnrolError::Prefix)?;
        if rest.len() > 4096 {
            return Err(EnrolError::Damaged);
        }
        let json = BASE64URL_NOPAD
            .decode(rest.as_bytes())
            .map_err(|_| EnrolError::Damaged)?;
        let e: Enrolment = serde_json::from_slice(&json).map_err(|_| EnrolError::Damaged)?;
        let token_ok = (1..=256).contains(&e.token.len())
            && !e.token.starts_with('-')
            && e.token
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
        if !token_ok {
            return Err(EnrolError::Field("token"));
        }
        if !is_fingerprint(&e.office_key) {
            return Err(EnrolError::Field("office key"));
        }
        if let Some(s) = &e.server
            && !(s.starts_with("https://") || s.starts_with("http://"))
        {
            return Err(EnrolError::Field("server"));
        }
        if let Some(d) = &e.device
            && (d.chars().count() > 64 || crate::member::text::first_hazard(d).is_some())
        {
            return Err(EnrolError::Field("device"));
        }
        if let Some(x) = &e.seal_key
            && super::seal::SealPublic::from_text(x).is_err()
        {
            return Err(EnrolError::Field("sealing key"));
        }
        if let Some(v) = &e.verify_url
            && !super::trust::valid_verify_url(v)
        {
            return Err(EnrolError::Field("verification page address"));
        }
        if let Some(u) = &e.union
            && [&u.code, &u.name, &u.short].iter().any(|t| {
                t.chars().count() > MAX_UNION_CHARS
                    || crate::member::text::first_hazard(t).is_some()
            })
        {
            return Err(EnrolError::Field("union"));
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let e = Enrolment {
            server: Some("https://booth.office.lan:8443".into()),
            token: "abc_DEF-123".into(),
            office_key: "A".repeat(42) + "E",
            device: Some("laptop-01".into()),
            seal_key: None,
            verify_url: None,
            union: None,
        };
        let code = e.encode();
        assert!(code.starts_with("BOOTH1-eyJ"));
        assert_eq!(Enrolment::parse(&code).unwrap(), e);
        let wrapped = format!("{}\n{}", &code[..30], &code[30..]);
        assert_eq!(Enrolment::parse(&wrapped).unwrap(), e);
        assert_eq!(Enrolment::parse("BOOTH2-x"), Err(EnrolError::Prefix));
        assert_eq!(
            Enrolment::parse(&code[..code.len() - 5]),
            Err(EnrolError::Damaged)
        );
        let bad = Enrolment {
            office_key: "short".into(),
            ..e
        };
        assert_eq!(
            Enrolment::parse(&bad.encode()),
            Err(EnrolError::Field("office key"))
        );
        let office = crate::card::office::OfficeKey::generate().unwrap();
        let with_seal = Enrolment {
            seal_key: Some(office.seal_key().public().to_text()),
            office_key: office.fingerprint(),
            ..bad.clone()
        };
        assert_eq!(Enrolment::parse(&with_seal.encode()).unwrap(), with_seal);
        let broken = Enrolment {
            seal_key: Some("A".repeat(43)),
            ..with_seal
        };
        assert_eq!(
            Enrolment::parse(&broken.encode()),
            Err(EnrolError::Field("sealing key"))
        );
        // the page's address: taken when a QR code can carry it, refused otherwise
        let with_page = Enrolment {
            verify_url: Some("https://verify.bjzgh.org.cn".into()),
            seal_key: None,
            ..broken
        };
        assert_eq!(Enrolment::parse(&with_page.encode()).unwrap(), with_page);
        let bad_page = Enrolment {
            verify_url: Some("https://verify.bjzgh.org.cn/v?x=1".into()),
            ..with_page
        };
        assert_eq!(
            Enrolment::parse(&bad_page.encode()),
            Err(EnrolError::Field("verification page address"))
        );
    }
}
