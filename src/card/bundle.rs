//! The trust bundle (`booth-bundle/1`, docs/trust.md): one document, signed by the office
//! key, listing the laptops' keys (with `max_seq` for revoked laptops) and the revoked member
//! numbers. The server makes it ([`sign`]); laptops, `booth verify` and the page open it
//! ([`open`]) and check codes against it (see [`super::trust`]).

use std::collections::{BTreeSet, HashMap};

use data_encoding::BASE64URL_NOPAD;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use super::keys::{KeyRing, TrustedKey, acceptable_key, key_id_of, verify_strict};
use super::number::MAX_SEQ;
use super::office::{OfficeKey, fingerprint};
use crate::i18n::Lang;
use crate::t;

pub const FORMAT: &str = "booth-bundle/1";
/// Signed before the body bytes, so a bundle signature is never anything else's.
const DOMAIN: &[u8] = b"booth-bundle/1";
/// The largest version JavaScript reads exactly.
pub const MAX_VERSION: u64 = (1 << 53) - 1;

#[derive(Serialize, Deserialize)]
struct Envelope {
    format: String,
    office_key: String,
    body: String,
    signature: String,
}

/// The signed body, as the JSON says it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleBody {
    pub version: u64,
    pub issued_at: String,
    pub office_key: String,
    pub next_office_key: Option<String>,
    pub keys: Vec<BundleKey>,
    pub revoked: Vec<String>,
    /// The verification page's public address the office gave (`https://host`), so that
    /// laptops print QR codes that open it (issue 23 item 10); absent when not given, and
    /// from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleKey {
    pub key_id: String,
    pub key: String,
    pub device: String,
    pub union: String,
    pub from: String,
    #[serde(default)]
    pub max_seq: Option<u32>,
}

/// A bundle whose signature and contents checked out.
#[derive(Clone, Debug)]
pub struct Bundle {
    pub version: u64,
    pub issued_at: String,
    pub office_key: VerifyingKey,
    pub next_office_key: Option<VerifyingKey>,
    pub keys: KeyRing,
    /// Key id → the highest valid sequence of a revoked laptop.
    pub max_seq: HashMap<String, u32>,
    /// Revoked member numbers, canonical.
    pub revoked: BTreeSet<String>,
    /// The envelope as received: what a laptop keeps and re-opens.
    pub text: String,
    /// The office's sealing key (SPEC §12): what laptops seal replicas and backups to.
    /// Absent from bundles of older servers.
    pub seal_key: Option<super::seal::SealPublic>,
    /// The verification page's address the office gave, when it is one a QR code can carry
    /// ([`super::trust::valid_verify_url`]); otherwise ignored.
    pub verify_url: Option<String>,
}

/// The body's fields beyond [`BundleBody`], added by [`sign`] (older readers ignore them).
#[derive(Serialize, Deserialize)]
struct Extra {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seal_key: Option<String>,
}

/// What is signed: the body the server built, and what the office key itself says.
#[derive(Serialize)]
struct Signed<'a> {
    #[serde(flatten)]
    body: &'a BundleBody,
    #[serde(flatten)]
    extra: Extra,
}

impl Bundle {
    /// The office keys a holder of this bundle trusts for the next one: its own and the one it
    /// announces (docs/trust.md, "Rotating the office key").
    pub fn trusted_fingerprints(&self) -> Vec<String> {
        let mut v = vec![fingerprint(&self.office_key)];
        v.extend(self.next_office_key.as_ref().map(fingerprint));
        v
    }

    pub fn fingerprint(&self) -> String {
        fingerprint(&self.office_key)
    }
}

/// Why a whole bundle is refused. Codes as the page's (`boothReady` rejections).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle is malformed ({0})")]
    Malformed(&'static str),
    #[error("not a booth-bundle/1 document")]
    Format,
    #[error("the bundle is signed by an office key that is not trusted (fingerprint {0})")]
    Untrusted(String),
    #[error("the bundle's signature does not match")]
    Signature,
    #[error("key id {claimed} in the bundle does not belong to its key (it is {actual})")]
    KeyIdMismatch { claimed: String, actual: String },
    #[error("key id {0} is in the bundle twice")]
    DuplicateKeyId(String),
    #[error("key {0} in the bundle is weak (small order or not canonically encoded)")]
    WeakKey(String),
}

impl BundleError {
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::Malformed(_) => "bundle_malformed",
            BundleError::Format => "bundle_format",
            BundleError::Untrusted(_) => "office_key_untrusted",
            BundleError::Signature => "bundle_signature",
            BundleError::KeyIdMismatch { .. } => "key_id_mismatch",
            BundleError::DuplicateKeyId(_) => "duplicate_key_id",
            BundleError::WeakKey(_) => "weak_key",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match self {
            BundleError::Malformed(what) => t!(lang, "bundle.malformed", what = what),
            BundleError::Format => t!(lang, "bundle.format").into(),
            BundleError::Untrusted(fp) => t!(lang, "bundle.untrusted", fingerprint = fp),
            BundleError::Signature => t!(lang, "bundle.signature").into(),
            BundleError::KeyIdMismatch { claimed, actual } => {
                t!(
                    lang,
                    "bundle.key_id_mismatch",
                    claimed = claimed,
                    actual = actual
                )
            }
            BundleError::DuplicateKeyId(id) => t!(lang, "bundle.duplicate_key_id", key_id = id),
            BundleError::WeakKey(id) => t!(lang, "bundle.weak_key", key_id = id),
        }
    }
}

fn key32(text: &str, what: &'static str) -> Result<[u8; 32], BundleError> {
    BASE64URL_NOPAD
        .decode(text.as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(BundleError::Malformed(what))
}

/// Opens a bundle: envelope, trusted office key (one of `trusted` fingerprints), strict
/// signature, then the body. Any fault refuses the whole bundle.
pub fn open(text: &str, trusted: &[String]) -> Result<Bundle, BundleError> {
    let env: Envelope = serde_json::from_str(text).map_err(|e| {
        if e.is_data() || e.is_syntax() || e.is_eof() {
            BundleError::Malformed("json")
        } else {
            BundleError::Malformed("envelope")
        }
    })?;
    if env.format != FORMAT {
        return Err(BundleError::Format);
    }
    let office_bytes = key32(&env.office_key, "office_key")?;
    let signature: [u8; 64] = BASE64URL_NOPAD
        .decode(env.signature.as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(BundleError::Malformed("envelope"))?;
    let body_bytes = BASE64URL_NOPAD
        .decode(env.body.as_bytes())
        .map_err(|_| BundleError::Malformed("envelope"))?;
    let fp = data_encoding::BASE64URL_NOPAD
        .encode(&<sha2::Sha256 as sha2::Digest>::digest(office_bytes));
    if !trusted.contains(&fp) {
        return Err(BundleError::Untrusted(fp));
    }
    let office_key = acceptable_key(&office_bytes).map_err(|_| BundleError::Signature)?;
    if !verify_strict(&office_key, &[DOMAIN, &body_bytes].concat(), &signature) {
        return Err(BundleError::Signature);
    }
    let body: BundleBody =
        serde_json::from_slice(&body_bytes).map_err(|_| BundleError::Malformed("body"))?;
    let extra: Extra =
        serde_json::from_slice(&body_bytes).map_err(|_| BundleError::Malformed("body"))?;
    let seal_key = extra
        .seal_key
        .map(|k| super::seal::SealPublic::from_text(&k))
        .transpose()
        .map_err(|_| BundleError::WeakKey("seal_key".into()))?;
    if body.version > MAX_VERSION {
        return Err(BundleError::Malformed("version"));
    }
    if key32(&body.office_key, "office_key")? != office_bytes {
        return Err(BundleError::Malformed("office_key"));
    }
    let next_office_key = match &body.next_office_key {
        None => None,
        Some(k) => Some(
            acceptable_key(&key32(k, "next_office_key")?)
                .map_err(|_| BundleError::WeakKey("next_office_key".into()))?,
        ),
    };
    let mut keys = KeyRing::default();
    let mut max_seq = HashMap::new();
    for e in &body.keys {
        if e.max_seq.is_some_and(|m| m > MAX_SEQ) {
            return Err(BundleError::Malformed("keys"));
        }
        let key = acceptable_key(&key32(&e.key, "key")?)
            .map_err(|_| BundleError::WeakKey(e.key_id.clone()))?;
        let actual = key_id_of(&key);
        if actual != e.key_id {
            return Err(BundleError::KeyIdMismatch {
                claimed: e.key_id.clone(),
                actual,
            });
        }
        let trusted = TrustedKey {
            key_id: actual,
            key,
            issuer: e.union.clone(),
        };
        // Even the same key twice is refused, as the page does: a bundle lists each key once.
        if keys.get(&trusted.key_id).is_some() {
            return Err(BundleError::DuplicateKeyId(e.key_id.clone()));
        }
        keys.insert(trusted);
        if let Some(m) = e.max_seq {
            max_seq.insert(e.key_id.clone(), m);
        }
    }
    Ok(Bundle {
        version: body.version,
        issued_at: body.issued_at,
        office_key,
        next_office_key,
        keys,
        max_seq,
        revoked: body.revoked.into_iter().collect(),
        text: text.to_string(),
        seal_key,
        verify_url: body
            .verify_url
            .filter(|u| super::trust::valid_verify_url(u)),
    })
}

/// The fingerprint of the office key a bundle says it is signed by (unchecked): for a
/// laptop that pins the office at its first upload, and to re-open a kept bundle.
pub fn claimed_fingerprint(text: &str) -> Option<String> {
    let env: Envelope = serde_json::from_str(text).ok()?;
    let key = key32(&env.office_key, "office_key").ok()?;
    Some(BASE64URL_NOPAD.encode(&<sha2::Sha256 as sha2::Digest>::digest(key)))
}

/// Signs a body: the envelope's JSON text (what `GET /v1/bundle` serves). The body bytes are
/// serde_json's compact form; they are signed as they are, so no one needs to canonicalise.
/// The office's sealing key (derived from `office`, so the same on every server) is added
/// to the body here, after the server's fields.
pub fn sign(office: &OfficeKey, body: &BundleBody) -> String {
    let signed = Signed {
        body,
        extra: Extra {
            seal_key: Some(office.seal_key().public().to_text()),
        },
    };
    let body_bytes = serde_json::to_vec(&signed).unwrap_or_default();
    let signature = office.sign(&[DOMAIN, &body_bytes].concat());
    let env = Envelope {
        format: FORMAT.into(),
        office_key: BASE64URL_NOPAD.encode(office.public().as_bytes()),
        body: BASE64URL_NOPAD.encode(&body_bytes),
        signature: BASE64URL_NOPAD.encode(&signature),
    };
    serde_json::to_string_pretty(&env).unwrap_or_default()
}

/// The body's base64url form of a public key.
pub fn key_text(key: &VerifyingKey) -> String {
    BASE64URL_NOPAD.encode(key.as_bytes())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::card::DeviceKey;

    pub(crate) fn body_with(office: &OfficeKey, keys: &[&DeviceKey], version: u64) -> BundleBody {
        BundleBody {
            version,
            issued_at: "2026-11-28T18:00:00+08:00".into(),
            office_key: key_text(&office.public()),
            next_office_key: None,
            keys: keys
                .iter()
                .map(|k| BundleKey {
                    key_id: k.key_id().into(),
                    key: key_text(&k.public()),
                    device: "laptop-01".into(),
                    union: "工会".into(),
                    from: "2026-11-01".into(),
                    max_seq: None,
                })
                .collect(),
            revoked: vec![],
            verify_url: None,
        }
    }

    #[test]
    fn a_signed_bundle_opens_only_under_its_office_key() {
        let office = OfficeKey::generate().unwrap();
        let laptop = DeviceKey::from_secret(&[3; 32]);
        let mut body = body_with(&office, &[&laptop], 7);
        body.revoked = vec!["K7M2QX00427".into()];
        let text = sign(&office, &body);
        let b = open(&text, &[office.fingerprint()]).unwrap();
        assert_eq!(b.version, 7);
        assert!(b.keys.get(laptop.key_id()).is_some());
        assert!(b.revoked.contains("K7M2QX00427"));
        assert_eq!(b.seal_key, Some(office.seal_key().public()));
        let other = OfficeKey::generate().unwrap();
        assert_eq!(
            open(&text, &[other.fingerprint()]).unwrap_err().code(),
            "office_key_untrusted"
        );
        // signed by another key, claiming the trusted one
        let forged =
            sign(&other, &body).replace(&key_text(&other.public()), &key_text(&office.public()));
        assert_eq!(
            open(&forged, &[office.fingerprint()]).unwrap_err(),
            BundleError::Signature
        );
        assert_eq!(
            open("{", &[office.fingerprint()]).unwrap_err().code(),
            "bundle_malformed"
        );
    }

    #[test]
    fn duplicate_ids_mismatched_ids_and_weak_keys_refuse_the_whole_bundle() {
        let office = OfficeKey::generate().unwrap();
        let fp = [office.fingerprint()];
        let (a, b) = crate::card::keys::tests::colliding_pair();
        let text = sign(&office, &body_with(&office, &[&a, &b], 1));
        assert_eq!(
            open(&text, &fp).unwrap_err(),
            BundleError::DuplicateKeyId(a.key_id().into())
        );

        let mut body = body_with(&office, &[&a], 1);
        body.keys[0].key_id = "000000".into();
        assert_eq!(
            open(&sign(&office, &body), &fp).unwrap_err().code(),
            "key_id_mismatch"
        );

        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut body = body_with(&office, &[&a], 1);
        body.keys.push(BundleKey {
            key_id: crate::card::number::key_id_from_digest(
                &<sha2::Sha256 as sha2::Digest>::digest(identity),
            ),
            key: BASE64URL_NOPAD.encode(&identity),
            device: "x".into(),
            union: "x".into(),
            from: "2026-01-01".into(),
            max_seq: None,
        });
        assert_eq!(
            open(&sign(&office, &body), &fp).unwrap_err().code(),
            "weak_key"
        );

        let mut body = body_with(&office, &[&a], 1);
        body.office_key = key_text(&a.public());
        assert_eq!(
            open(&sign(&office, &body), &fp).unwrap_err(),
            BundleError::Malformed("office_key")
        );
    }
}
