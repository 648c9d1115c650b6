//! The laptop's Ed25519 device key and the union's list of trusted booth keys.
//!
//! A trusted-key file is plain text, one key per line (`#` starts a comment):
//!
//! ```text
//! booth-key/1 K7M2QX ed25519:3q2-7w… 北京市朝阳区总工会
//! ```
//!
//! fields: format tag, key id, the 32-byte public key in unpadded base64url, and the issuer
//! (the rest of the line). The key id is derived from the key (30 bits of its SHA-256), so a
//! line whose id does not match its key is refused: ids cannot be forged onto other keys.
//! Two lines with the same id (30-bit ids collide after some 22,000 keys) and small-order or
//! non-canonically encoded keys are refused too, naming the line: a silent overwrite would
//! make a genuine laptop's codes read as forged, and a small-order key verifies forgeries.

use std::collections::HashMap;
use std::fmt;

use data_encoding::BASE64URL_NOPAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::number::key_id_from_digest;

pub const KEY_LINE_TAG: &str = "booth-key/1";

/// The key id of a public key: the first 30 bits of its SHA-256, as 6 Crockford symbols.
/// It is also the first part of every member number the laptop issues.
pub fn key_id_of(key: &VerifyingKey) -> String {
    key_id_from_digest(&Sha256::digest(key.as_bytes()))
}

/// Why 32 bytes are not a key a verifier may trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    /// Not a point on the curve.
    NotAPoint,
    /// Of small order (the identity and the other seven low-order points): a signature with
    /// `S = 0` verifies for every message under some verifiers.
    Weak,
    /// A second encoding of a point (y ≥ p, or x = 0 with the sign bit set).
    NonCanonical,
}

/// The key in `bytes` if a verifier may trust it: on the curve, canonically encoded, and not
/// of small order (docs/trust.md, "strict Ed25519").
pub fn acceptable_key(bytes: &[u8; 32]) -> Result<VerifyingKey, KeyProblem> {
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyProblem::NotAPoint)?;
    if key.to_edwards().compress().to_bytes() != *bytes {
        return Err(KeyProblem::NonCanonical);
    }
    if key.is_weak() {
        return Err(KeyProblem::Weak);
    }
    Ok(key)
}

/// Strict Ed25519 (RFC 8032 with `S < L`, canonical `R`, and `A`, `R` not of small order,
/// cofactorless): the check every verifier of this project makes, so that they all agree.
pub fn verify_strict(key: &VerifyingKey, message: &[u8], signature: &[u8; 64]) -> bool {
    !key.is_weak()
        && key
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
}

/// This laptop's signing key. Made at first use, kept only inside the encrypted store.
pub struct DeviceKey {
    signing: SigningKey,
    key_id: String,
}

impl DeviceKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<DeviceKey, getrandom::Error> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut())?;
        Ok(DeviceKey::from_secret(&seed))
    }

    pub fn from_secret(seed: &[u8; 32]) -> DeviceKey {
        let signing = SigningKey::from_bytes(seed);
        let key_id = key_id_of(&signing.verifying_key());
        DeviceKey { signing, key_id }
    }

    pub fn secret(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn public(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// The line for the union's trusted-key list.
    pub fn export_line(&self, issuer: &str) -> String {
        TrustedKey {
            key_id: self.key_id.clone(),
            key: self.public(),
            issuer: issuer.to_string(),
        }
        .to_string()
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceKey({})", self.key_id)
    }
}

/// One line of a trusted-key list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    pub key_id: String,
    pub key: VerifyingKey,
    pub issuer: String,
}

impl TrustedKey {
    /// Strict verification ([`verify_strict`]).
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        verify_strict(&self.key, message, signature)
    }
}

impl fmt::Display for TrustedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{KEY_LINE_TAG} {} ed25519:{} {}",
            self.key_id,
            BASE64URL_NOPAD.encode(self.key.as_bytes()),
            crate::member::text::tidy(&crate::member::text::display_safe(&self.issuer))
        )
    }
}

/// What is wrong with a line of a trusted-key file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyLineError {
    #[error(
        "line {line}: not a booth key line (expected `{KEY_LINE_TAG} KEYID ed25519:KEY ISSUER`)"
    )]
    Format { line: usize },
    #[error("line {line}: the public key is not 32 bytes of base64url")]
    Key { line: usize },
    #[error("line {line}: key {key_id} is a weak key (small order or not canonically encoded)")]
    Weak { line: usize, key_id: String },
    #[error("line {line}: key id {key_id} is already used by line {first} for another key")]
    DuplicateId {
        line: usize,
        key_id: String,
        first: usize,
    },
    #[error("line {line}: key id {claimed} does not belong to this key (it is {actual})")]
    KeyIdMismatch {
        line: usize,
        claimed: String,
        actual: String,
    },
}

impl TrustedKey {
    pub fn parse_line(text: &str, line: usize) -> Result<TrustedKey, KeyLineError> {
        let mut parts = text.trim().splitn(4, char::is_whitespace);
        let (Some(KEY_LINE_TAG), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyLineError::Format { line });
        };
        let issuer = parts.next().unwrap_or("").trim().to_string();
        let raw = key
            .strip_prefix("ed25519:")
            .ok_or(KeyLineError::Format { line })?;
        let bytes: [u8; 32] = BASE64URL_NOPAD
            .decode(raw.as_bytes())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(KeyLineError::Key { line })?;
        let key = match acceptable_key(&bytes) {
            Ok(k) => k,
            Err(KeyProblem::NotAPoint) => return Err(KeyLineError::Key { line }),
            Err(KeyProblem::Weak | KeyProblem::NonCanonical) => {
                return Err(KeyLineError::Weak {
                    line,
                    key_id: id.to_string(),
                });
            }
        };
        let actual = key_id_of(&key);
        if actual != id.to_ascii_uppercase() {
            return Err(KeyLineError::KeyIdMismatch {
                line,
                claimed: id.to_string(),
                actual,
            });
        }
        Ok(TrustedKey {
            key_id: actual,
            key,
            issuer,
        })
    }
}

/// The keys a verifier trusts, by key id.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: HashMap<String, TrustedKey>,
}

impl KeyRing {
    /// Parses a trusted-key file; blank lines and `#` comments are skipped. The same line
    /// twice is harmless; two keys with one id are refused.
    pub fn parse(text: &str) -> Result<KeyRing, KeyLineError> {
        let mut ring = KeyRing::default();
        let mut first_line: HashMap<String, usize> = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let key = TrustedKey::parse_line(l, i + 1)?;
            let id = key.key_id.clone();
            if ring.add(key).is_err() {
                return Err(KeyLineError::DuplicateId {
                    line: i + 1,
                    first: first_line.get(&id).copied().unwrap_or(0),
                    key_id: id,
                });
            }
            first_line.entry(id).or_insert(i + 1);
        }
        Ok(ring)
    }

    /// Puts a key in (replacing one with the same id): for the laptop's own key, which no
    /// list can override.
    pub fn insert(&mut self, key: TrustedKey) {
        self.keys.insert(key.key_id.clone(), key);
    }

    /// Adds a key; the same key again is a no-op, another key with the same id an error
    /// (naming the id), never a silent overwrite.
    pub fn add(&mut self, key: TrustedKey) -> Result<(), String> {
        match self.keys.get(&key.key_id) {
            Some(old) if old.key == key.key => Ok(()),
            Some(old) => Err(old.key_id.clone()),
            None => {
                self.keys.insert(key.key_id.clone(), key);
                Ok(())
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &TrustedKey> {
        self.keys.values()
    }

    pub fn get(&self, key_id: &str) -> Option<&TrustedKey> {
        self.keys.get(key_id)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn export_line_parses_back() {
        let k = DeviceKey::from_secret(&[7; 32]);
        let line = k.export_line("北京市朝阳区总工会");
        let t = TrustedKey::parse_line(&line, 1).unwrap();
        assert_eq!(t.key_id, k.key_id());
        assert_eq!(t.issuer, "北京市朝阳区总工会");
        let sig = k.sign(b"hello");
        assert!(t.verify(b"hello", &sig));
        assert!(!t.verify(b"hellO", &sig));
    }

    #[test]
    fn forged_key_id_is_refused() {
        let a = DeviceKey::from_secret(&[1; 32]);
        let b = DeviceKey::from_secret(&[2; 32]);
        let line = a.export_line("X").replace(a.key_id(), b.key_id());
        assert!(matches!(
            TrustedKey::parse_line(&line, 3),
            Err(KeyLineError::KeyIdMismatch { line: 3, .. })
        ));
    }

    /// Two genuine keys whose 30-bit ids collide (found by search, ~40,000 keys).
    pub(crate) fn colliding_pair() -> (DeviceKey, DeviceKey) {
        let mut seen: HashMap<String, [u8; 32]> = HashMap::new();
        for n in 0u64.. {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&n.to_le_bytes());
            let k = DeviceKey::from_secret(&seed);
            if let Some(other) = seen.get(k.key_id()) {
                return (DeviceKey::from_secret(other), k);
            }
            seen.insert(k.key_id().to_string(), seed);
        }
        unreachable!()
    }

    #[test]
    fn duplicate_ids_and_weak_keys_are_refused_naming_the_line() {
        let (a, b) = colliding_pair();
        assert_eq!(a.key_id(), b.key_id());
        assert_ne!(a.public(), b.public());
        let text = format!("{}\n# c\n{}\n", a.export_line("A"), b.export_line("B"));
        assert_eq!(
            KeyRing::parse(&text).unwrap_err(),
            KeyLineError::DuplicateId {
                line: 3,
                key_id: a.key_id().to_string(),
                first: 1
            }
        );
        // the same line twice is not a conflict
        let twice = format!("{}\n{}\n", a.export_line("A"), a.export_line("A"));
        assert_eq!(KeyRing::parse(&twice).unwrap().len(), 1);

        let mut identity = [0u8; 32];
        identity[0] = 1;
        let order2 = {
            let mut k = [0xffu8; 32];
            k[0] = 0xec;
            k[31] = 0x7f;
            k
        };
        for weak in [identity, order2] {
            let id = crate::card::number::key_id_from_digest(&Sha256::digest(weak));
            let line = format!(
                "{KEY_LINE_TAG} {id} ed25519:{} X",
                BASE64URL_NOPAD.encode(&weak)
            );
            assert!(
                matches!(
                    TrustedKey::parse_line(&line, 5),
                    Err(KeyLineError::Weak { line: 5, .. })
                ),
                "{line}"
            );
        }
        assert_eq!(acceptable_key(&identity), Err(KeyProblem::Weak));
        // y = p + 1 encodes the identity a second time
        let mut noncanon = [0xffu8; 32];
        noncanon[0] = 0xee;
        noncanon[31] = 0x7f;
        assert!(acceptable_key(&noncanon).is_err());
    }

    /// With the identity as key, R = identity and S = 0 satisfy the cofactored equation for
    /// any message; the strict check refuses it.
    #[test]
    fn identity_key_forgery_is_refused() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let key = VerifyingKey::from_bytes(&identity).unwrap();
        let mut sig = [0u8; 64];
        sig[0] = 1;
        assert!(!verify_strict(&key, b"anything", &sig));
    }

    #[test]
    fn ring_skips_comments_and_reports_line_numbers() {
        let a = DeviceKey::from_secret(&[1; 32]);
        let text = format!("# trusted\n\n{}\nnonsense\n", a.export_line("U"));
        assert_eq!(
            KeyRing::parse(&text).unwrap_err(),
            KeyLineError::Format { line: 4 }
        );
        let ring = KeyRing::parse(&format!("# x\n{}\n", a.export_line("U"))).unwrap();
        assert!(ring.get(a.key_id()).is_some());
    }
}
