//! What a verifier trusts, and its verdict on a code (docs/trust.md, "Verdicts"): keys (each
//! with an optional highest valid sequence, for revoked laptops) and revoked member numbers,
//! gathered from a bundle, a hand-made key list, the laptop's own key and its own voids.
//! Also the code's URL form, `HTTPS://HOST/V#GH1:…`, for the QR and the page.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::bundle::Bundle;
use super::keys::{KeyRing, TrustedKey};
use super::payload::{self, PayloadError, Verified};

#[derive(Clone, Debug, Default)]
pub struct Trust {
    pub keys: KeyRing,
    pub max_seq: HashMap<String, u32>,
    pub revoked: BTreeSet<String>,
}

/// The answer for one code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid(Verified),
    /// Genuine, but its member number was revoked (voided or refused at the office).
    Revoked(Verified),
    Invalid(PayloadError),
}

impl Verdict {
    pub fn code(&self) -> &'static str {
        match self {
            Verdict::Valid(_) => "valid",
            Verdict::Revoked(_) => "revoked",
            Verdict::Invalid(_) => "invalid",
        }
    }
}

/// Two sources name one key id with different keys.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("key id {0} names two different keys")]
pub struct Conflict(pub String);

/// The page's answer shape, for `booth verify --json`.
#[derive(Clone, Debug, Serialize)]
pub struct VerdictJson {
    pub verdict: &'static str,
    pub reason: Option<&'static str>,
}

impl Trust {
    pub fn from_bundle(b: &Bundle) -> Trust {
        Trust {
            keys: b.keys.clone(),
            max_seq: b.max_seq.clone(),
            revoked: b.revoked.clone(),
        }
    }

    /// Adds keys from another source; the same key twice is fine, two keys under one id
    /// are refused.
    pub fn add_keys(&mut self, ring: &KeyRing) -> Result<(), Conflict> {
        for k in ring.iter() {
            self.keys
                .add(k.clone())
                .map_err(|_| Conflict(k.key_id.clone()))?;
        }
        Ok(())
    }

    /// The laptop's own key: it wins over anything a list says about its id.
    pub fn add_own(&mut self, key: TrustedKey) {
        self.max_seq.remove(&key.key_id);
        self.keys.insert(key);
    }

    /// Checks a code: parse, known key, strict signature, revoked laptop's `max_seq`, then
    /// revoked numbers. The order is the page's, so both name the same reason.
    pub fn check(&self, code: &str) -> Verdict {
        let decoded = match payload::decode(code) {
            Ok(d) => d,
            Err(e) => return Verdict::Invalid(e),
        };
        let seq = decoded.card.member_no.seq();
        let v = match payload::verify_decoded(decoded, &self.keys) {
            Ok(v) => v,
            Err(e) => return Verdict::Invalid(e),
        };
        if let Some(&max) = self.max_seq.get(v.card.key_id())
            && seq > max
        {
            return Verdict::Invalid(PayloadError::DeviceRevoked(v.card.key_id().into()));
        }
        if self.revoked.contains(v.card.member_no.as_str()) {
            Verdict::Revoked(v)
        } else {
            Verdict::Valid(v)
        }
    }
}

/// The code in a scanned or typed text: `GH1:…` as it is, or the URL form
/// `HTTPS://HOST/V#GH1:…` (any case) with its fragment decoded once (`%20` → space,
/// `%25` → `%`). A damaged `%` sequence in a URL's fragment is `bad_fragment`.
pub fn code_from_text(text: &str) -> Result<String, PayloadError> {
    let line = payload::trim_line(text);
    let lower = line
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Ok(line.to_string());
    }
    let Some((_, fragment)) = line.split_once('#') else {
        return Err(PayloadError::NotBooth);
    };
    percent_decode_strict(fragment).ok_or(PayloadError::BadFragment)
}

/// `decodeURIComponent`: every `%` must start two hex digits, and the bytes must be UTF-8.
fn percent_decode_strict(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let ok = b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return None;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// What a QR holds when the laptop names the page's address: `HTTPS://HOST/V#` and the code
/// with `%` → `%25` and space → `%20`, upper-case, so every character but `#` is in the QR
/// alphanumeric set. `base` is `https://host[:port]` (see [`valid_verify_url`]).
pub fn url_form(base: &str, code: &str) -> String {
    let code = code.replace('%', "%25").replace(' ', "%20");
    format!("{}/V#{code}", base.trim_end_matches('/')).to_ascii_uppercase()
}

/// An address the URL form can use: `https://` and a host name (letters, digits, `.`, `-`)
/// with an optional port; nothing else, so the QR stays alphanumeric.
pub fn valid_verify_url(url: &str) -> bool {
    let Some(rest) = url.trim_end_matches('/').strip_prefix("https://") else {
        return false;
    };
    let (host, port) = match rest.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-')
        && port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::payload::{Card, issue};
    use crate::card::{DeviceKey, MemberNo};
    use chrono::NaiveDate;

    fn setup() -> (DeviceKey, Trust, Vec<String>) {
        let key = DeviceKey::from_secret(&[5; 32]);
        let mut t = Trust::default();
        t.add_own(TrustedKey {
            key_id: key.key_id().into(),
            key: key.public(),
            issuer: "工会".into(),
        });
        let codes = (1..=3)
            .map(|seq| {
                issue(
                    &Card {
                        member_no: MemberNo::new(key.key_id(), seq).unwrap(),
                        union: "工会".into(),
                        issued: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
                    },
                    &key,
                )
                .unwrap()
            })
            .collect();
        (key, t, codes)
    }

    #[test]
    fn verdicts_valid_revoked_and_device_revoked() {
        let (key, mut t, codes) = setup();
        assert_eq!(t.check(&codes[0]).code(), "valid");
        t.revoked
            .insert(MemberNo::new(key.key_id(), 1).unwrap().as_str().into());
        assert_eq!(t.check(&codes[0]).code(), "revoked");
        t.max_seq.insert(key.key_id().into(), 2);
        assert_eq!(t.check(&codes[1]).code(), "valid");
        // above max_seq: invalid, even if its number is also revoked
        t.revoked
            .insert(MemberNo::new(key.key_id(), 3).unwrap().as_str().into());
        assert_eq!(
            t.check(&codes[2]),
            Verdict::Invalid(PayloadError::DeviceRevoked(key.key_id().into()))
        );
    }

    #[test]
    fn url_form_round_trips_and_is_alphanumeric_but_for_the_hash() {
        let (_, t, codes) = setup();
        for code in &codes {
            let url = url_form("https://gh.example.cn", code);
            assert!(url.starts_with("HTTPS://GH.EXAMPLE.CN/V#GH1:"));
            let alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
            assert!(url.chars().all(|c| c == '#' || alnum.contains(c)), "{url}");
            assert_eq!(&code_from_text(&url).unwrap(), code);
            assert_eq!(t.check(&code_from_text(&url).unwrap()).code(), "valid");
        }
        assert_eq!(code_from_text("GH1:A%20B").unwrap(), "GH1:A%20B");
        assert_eq!(
            code_from_text("https://x/v#GH1:%2"),
            Err(PayloadError::BadFragment)
        );
        assert!(valid_verify_url("https://verify.bjzgh.org.cn"));
        assert!(valid_verify_url("https://h:8443/"));
        assert!(!valid_verify_url("http://h"));
        assert!(!valid_verify_url("https://h/path"));
        assert!(!valid_verify_url("https://h_x"));
    }
}
