//! The signed payload inside the membership QR code (format in `docs/qr-payload.md`).
//!
//! ```text
//! byte 0        version (1)
//! bytes 1..8    member number: 11 Crockford symbols × 5 bits, big-endian in 56 bits
//! bytes 8..10   issue date: days since 2020-01-01, big-endian u16
//! byte 10       n = length of the issuing union's name
//! bytes 11..    the union's name in GB18030 (n bytes; 2 bytes per common Chinese character)
//! last 64       Ed25519 signature over "booth-card/1" ‖ all bytes before it
//! ```
//!
//! The key id is the member number's first six symbols, so it is not repeated. The bytes are
//! base45-encoded (RFC 9285), whose alphabet is exactly the QR alphanumeric set: 5.5 bits per
//! character instead of 8 in byte mode. Nothing personal is in the payload: no name, ID number,
//! phone or birth date.

use chrono::{Days, NaiveDate};

use super::keys::{DeviceKey, KeyRing};
use super::number::{ALPHABET, MemberNo, symbol_value};
use crate::i18n::Lang;
use crate::t;

pub const VERSION: u8 = 1;
/// What every code's text starts with: it says "a union membership code, format 1" to a
/// person or program reading it, and it keeps the text from ever starting with a space
/// (a base45 character that scanner apps like to trim).
pub const PREFIX: &str = "GH1:";
const DOMAIN: &[u8] = b"booth-card/1";
const SIG_LEN: usize = 64;
const HEADER_LEN: usize = 11;
/// The longest union name the payload carries, in GB18030 bytes (12 Chinese characters):
/// longer names push the QR past version 6, too dense for a 58 mm receipt.
pub const MAX_UNION_BYTES: usize = 24;
/// Nothing legitimate is longer; refuse early whatever is pasted in.
pub const MAX_PAYLOAD_CHARS: usize = 256;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).expect("valid date")
}

/// What a membership code states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub member_no: MemberNo,
    pub union: String,
    pub issued: NaiveDate,
}

impl Card {
    pub fn key_id(&self) -> &str {
        self.member_no.device()
    }
}

/// Why a scanned code is refused. No variant carries the payload text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the code is empty")]
    Empty,
    #[error("the code is too long to be a membership code")]
    TooLong,
    #[error("not a booth membership code")]
    NotBooth,
    #[error("the code contains characters a membership code never has")]
    NotBase45,
    #[error("the code is truncated")]
    Truncated,
    #[error("unsupported code version {0}")]
    Version(u8),
    #[error("the code's contents are malformed")]
    Malformed,
    #[error("the code was issued by an unknown key {0}")]
    UnknownKey(String),
    #[error("the signature does not match: the code was altered or forged")]
    BadSignature,
    #[error("the code's number is above the last one its revoked laptop {0} uploaded")]
    DeviceRevoked(String),
    #[error("the address holds a damaged %-sequence")]
    BadFragment,
}

impl PayloadError {
    /// Stable machine code (`booth verify --json`).
    pub fn code(&self) -> &'static str {
        match self {
            PayloadError::Empty => "empty",
            PayloadError::TooLong => "too_long",
            PayloadError::NotBooth => "not_booth",
            PayloadError::NotBase45 => "not_base45",
            PayloadError::Truncated => "truncated",
            PayloadError::Version(_) => "version",
            PayloadError::Malformed => "malformed",
            PayloadError::UnknownKey(_) => "unknown_key",
            PayloadError::BadSignature => "bad_signature",
            PayloadError::DeviceRevoked(_) => "device_revoked",
            PayloadError::BadFragment => "bad_fragment",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match self {
            PayloadError::Empty => t!(lang, "verify.empty").into(),
            PayloadError::TooLong => t!(lang, "verify.too_long").into(),
            PayloadError::NotBooth => t!(lang, "verify.not_booth").into(),
            PayloadError::NotBase45 => t!(lang, "verify.not_base45").into(),
            PayloadError::Truncated => t!(lang, "verify.truncated").into(),
            PayloadError::Version(v) => t!(lang, "verify.version", version = v),
            PayloadError::Malformed => t!(lang, "verify.malformed").into(),
            PayloadError::UnknownKey(k) => t!(lang, "verify.unknown_key", key_id = k),
            PayloadError::BadSignature => t!(lang, "verify.bad_signature").into(),
            PayloadError::DeviceRevoked(k) => t!(lang, "verify.device_revoked", key_id = k),
            PayloadError::BadFragment => t!(lang, "verify.bad_fragment").into(),
        }
    }
}

/// Why a card cannot be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("the union name is longer than {MAX_UNION_BYTES} GB18030 bytes; set union_short")]
    UnionTooLong,
    #[error("the union name has characters GB18030 cannot encode")]
    UnionEncoding,
    #[error("the issue date is out of range")]
    Date,
    #[error("the member number was not issued by this laptop's key")]
    ForeignNumber,
}

fn pack_member_no(no: &MemberNo) -> [u8; 7] {
    let v = no.as_str().chars().fold(0u64, |n, c| {
        (n << 5) | u64::from(symbol_value(c).unwrap_or(0))
    });
    let b = (v << 9).to_be_bytes(); // 55 bits, left-aligned in 56
    [b[0], b[1], b[2], b[3], b[4], b[5], b[6]]
}

fn unpack_member_no(b: &[u8]) -> Option<MemberNo> {
    let mut buf = [0u8; 8];
    buf[..7].copy_from_slice(&b[..7]);
    let v = u64::from_be_bytes(buf) >> 9;
    let s: String = (0..11)
        .rev()
        .map(|i| ALPHABET[((v >> (5 * i)) & 31) as usize] as char)
        .collect();
    s.parse().ok()
}

fn encode_union(union: &str) -> Result<Vec<u8>, IssueError> {
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(union);
    if unmappable {
        return Err(IssueError::UnionEncoding);
    }
    if bytes.len() > MAX_UNION_BYTES {
        return Err(IssueError::UnionTooLong);
    }
    Ok(bytes.into_owned())
}

/// Checks that a union name fits in the payload (for `config set`).
pub fn check_union_name(union: &str) -> Result<(), IssueError> {
    encode_union(union).map(|_| ())
}

/// The union name a card carries: the full name if it fits the payload, else the configured
/// short name, else the full name cut to what fits. The one place this is decided.
pub fn payload_union(full: &str, short: Option<&str>) -> String {
    if check_union_name(full).is_ok() {
        return full.to_string();
    }
    if let Some(short) = short.filter(|s| check_union_name(s).is_ok()) {
        return short.to_string();
    }
    let mut s: String = full.chars().take(MAX_UNION_BYTES / 2).collect();
    while check_union_name(&s).is_err() && !s.is_empty() {
        s.pop();
    }
    s
}

/// The signed, base45-encoded payload for a card.
pub fn issue(card: &Card, key: &DeviceKey) -> Result<String, IssueError> {
    if card.member_no.device() != key.key_id() {
        return Err(IssueError::ForeignNumber);
    }
    let union = encode_union(&card.union)?;
    let days = card.issued.signed_duration_since(epoch()).num_days();
    let days = u16::try_from(days).map_err(|_| IssueError::Date)?;
    let mut bytes = Vec::with_capacity(HEADER_LEN + union.len() + SIG_LEN);
    bytes.push(VERSION);
    bytes.extend_from_slice(&pack_member_no(&card.member_no));
    bytes.extend_from_slice(&days.to_be_bytes());
    bytes.push(union.len() as u8);
    bytes.extend_from_slice(&union);
    let sig = key.sign(&signed_message(&bytes));
    bytes.extend_from_slice(&sig);
    Ok(format!("{PREFIX}{}", base45::encode(&bytes)))
}

fn signed_message(body: &[u8]) -> Vec<u8> {
    [DOMAIN, body].concat()
}

/// The bytes of a payload, split into the signed body and its signature, with what it says.
pub struct Decoded {
    pub card: Card,
    body: Vec<u8>,
    signature: [u8; SIG_LEN],
}

/// Trims what scanners and pipes add around a payload (line breaks, tabs), but never a space.
pub fn trim_line(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() && c != ' ')
}

/// Parses a scanned payload without checking the signature.
pub fn decode(payload: &str) -> Result<Decoded, PayloadError> {
    // Space is a base45 character, and a payload may begin or end with one: only line
    // breaks and tabs (what a scanner or a pipe adds) are trimmed.
    let payload = trim_line(payload);
    if payload.is_empty() {
        return Err(PayloadError::Empty);
    }
    if payload.len() > MAX_PAYLOAD_CHARS {
        return Err(PayloadError::TooLong);
    }
    let body = payload.strip_prefix(PREFIX).ok_or(PayloadError::NotBooth)?;
    let bytes = base45::decode(body).map_err(|_| PayloadError::NotBase45)?;
    let Some(&version) = bytes.first() else {
        return Err(PayloadError::Truncated);
    };
    if version != VERSION {
        return Err(PayloadError::Version(version));
    }
    if bytes.len() < HEADER_LEN + SIG_LEN {
        return Err(PayloadError::Truncated);
    }
    let union_len = bytes[10] as usize;
    let body_len = HEADER_LEN + union_len;
    if bytes.len() < body_len + SIG_LEN {
        return Err(PayloadError::Truncated);
    }
    if bytes.len() > body_len + SIG_LEN || union_len > MAX_UNION_BYTES {
        return Err(PayloadError::Malformed);
    }
    let member_no = unpack_member_no(&bytes[1..8]).ok_or(PayloadError::Malformed)?;
    let days = u16::from_be_bytes([bytes[8], bytes[9]]);
    let issued = epoch()
        .checked_add_days(Days::new(u64::from(days)))
        .ok_or(PayloadError::Malformed)?;
    // No BOM sniffing: bytes that look like a UTF-8 or UTF-16 BOM are GB18030 here too, as
    // the page's `TextDecoder('gb18030', {fatal: true})` reads them.
    let union = encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(&bytes[HEADER_LEN..body_len])
        .ok_or(PayloadError::Malformed)?;
    if union.chars().any(crate::member::text::is_hazardous) {
        return Err(PayloadError::Malformed);
    }
    let mut signature = [0u8; SIG_LEN];
    signature.copy_from_slice(&bytes[body_len..]);
    Ok(Decoded {
        card: Card {
            member_no,
            union: union.into_owned(),
            issued,
        },
        body: bytes[..body_len].to_vec(),
        signature,
    })
}

/// A code whose signature checked out against a trusted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub card: Card,
    /// The issuer named in the trusted-key list for this key.
    pub key_issuer: String,
}

/// Decodes and verifies a scanned payload against the trusted keys (strict Ed25519).
pub fn verify(payload: &str, keys: &KeyRing) -> Result<Verified, PayloadError> {
    verify_decoded(decode(payload)?, keys)
}

/// Verifies an already decoded payload.
pub fn verify_decoded(decoded: Decoded, keys: &KeyRing) -> Result<Verified, PayloadError> {
    let key_id = decoded.card.key_id().to_string();
    let key = keys.get(&key_id).ok_or(PayloadError::UnknownKey(key_id))?;
    if !key.verify(&signed_message(&decoded.body), &decoded.signature) {
        return Err(PayloadError::BadSignature);
    }
    Ok(Verified {
        card: decoded.card,
        key_issuer: key.issuer.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::keys::TrustedKey;

    fn setup() -> (DeviceKey, KeyRing, Card) {
        let key = DeviceKey::from_secret(&[9; 32]);
        let mut ring = KeyRing::default();
        ring.insert(TrustedKey {
            key_id: key.key_id().into(),
            key: key.public(),
            issuer: "朝阳区总工会".into(),
        });
        let card = Card {
            member_no: MemberNo::new(key.key_id(), 42).unwrap(),
            union: "北京市朝阳区总工会".into(),
            issued: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
        };
        (key, ring, card)
    }

    #[test]
    fn issue_then_verify() {
        let (key, ring, card) = setup();
        let p = issue(&card, &key).unwrap();
        assert!(
            p.len() <= 154,
            "payload {} chars exceeds QR version 6-M",
            p.len()
        );
        let v = verify(&p, &ring).unwrap();
        assert_eq!(v.card, card);
        assert_eq!(v.key_issuer, "朝阳区总工会");
    }

    #[test]
    fn every_single_character_change_is_refused() {
        let (key, ring, card) = setup();
        let p = issue(&card, &key).unwrap();
        let alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
        for i in 0..p.len() {
            for c in alphabet.chars() {
                if p.as_bytes()[i] as char == c {
                    continue;
                }
                let mut q = p.clone().into_bytes();
                q[i] = c as u8;
                let q = String::from_utf8(q).unwrap();
                assert!(verify(&q, &ring).is_err(), "accepted change at {i} to {c}");
            }
        }
    }

    #[test]
    fn refusals_have_reasons() {
        let (key, ring, card) = setup();
        let p = issue(&card, &key).unwrap();
        assert_eq!(verify("", &ring).unwrap_err(), PayloadError::Empty);
        assert_eq!(
            verify(&"A".repeat(10_000), &ring).unwrap_err(),
            PayloadError::TooLong
        );
        assert_eq!(verify("会员", &ring).unwrap_err(), PayloadError::NotBooth);
        assert_eq!(
            verify("GH1:会员", &ring).unwrap_err(),
            PayloadError::NotBase45
        );
        assert_eq!(
            verify(&p[..p.len() - 30], &ring).unwrap_err(),
            PayloadError::Truncated
        );
        let other = DeviceKey::from_secret(&[10; 32]);
        let card2 = Card {
            member_no: MemberNo::new(other.key_id(), 1).unwrap(),
            ..card.clone()
        };
        let foreign = issue(&card2, &other).unwrap();
        assert!(matches!(
            verify(&foreign, &ring),
            Err(PayloadError::UnknownKey(_))
        ));
        // a valid signature over other bytes: re-version the body
        let mut raw = base45::decode(p.strip_prefix(PREFIX).unwrap()).unwrap();
        raw[0] = 2;
        assert_eq!(
            verify(&format!("{PREFIX}{}", base45::encode(&raw)), &ring).unwrap_err(),
            PayloadError::Version(2)
        );
        for lang in Lang::ALL {
            assert!(!PayloadError::BadSignature.message(lang).is_empty());
        }
    }

    /// Base45 has a space in its alphabet, and for one laptop key in about fifteen every
    /// payload's base45 part starts with one (the first group encodes the version and the key
    /// id's first bits). The prefix keeps it inside the text; such codes verify.
    #[test]
    fn payloads_starting_with_a_space_verify() {
        let (_, _, card) = setup();
        let mut found = 0;
        for seed in 0..=255u8 {
            let key = DeviceKey::from_secret(&[seed; 32]);
            let mut ring = KeyRing::default();
            ring.insert(TrustedKey {
                key_id: key.key_id().into(),
                key: key.public(),
                issuer: "u".into(),
            });
            let c = Card {
                member_no: MemberNo::new(key.key_id(), 1).unwrap(),
                ..card.clone()
            };
            let p = issue(&c, &key).unwrap();
            if p[PREFIX.len()..].starts_with(' ') {
                found += 1;
                assert_eq!(verify(&p, &ring).unwrap().card, c, "{p:?}");
                assert!(verify(&format!("{p}\n"), &ring).is_ok());
            }
        }
        assert!(found > 0, "no key among 256 gives a leading space");
    }

    #[test]
    fn long_union_names_are_refused_at_issue() {
        let (key, _, card) = setup();
        let card = Card {
            union: "北京市朝阳区望京街道总工会联合会".into(),
            ..card
        };
        assert_eq!(issue(&card, &key), Err(IssueError::UnionTooLong));
    }
}
