//! The union office's Ed25519 key: what signs the trust bundle (docs/trust.md). Kept as
//! PKCS#8 PEM, so `openssl pkey -in office-key.pem -noout -text` reads it; where the file
//! lives and who may read it is the server's business.

use data_encoding::BASE64URL_NOPAD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The fingerprint of an office key: SHA-256 of the 32-byte public key, unpadded base64url
/// (43 characters). Enrolment codes and the page's meta tag carry it.
pub fn fingerprint(key: &VerifyingKey) -> String {
    BASE64URL_NOPAD.encode(&Sha256::digest(key.as_bytes()))
}

/// True if `text` has the shape of a fingerprint (43 base64url characters, 32 bytes).
pub fn is_fingerprint(text: &str) -> bool {
    text.len() == 43
        && BASE64URL_NOPAD
            .decode(text.as_bytes())
            .is_ok_and(|b| b.len() == 32)
}

pub struct OfficeKey {
    signing: SigningKey,
}

#[derive(Debug, thiserror::Error)]
pub enum OfficeKeyError {
    #[error("not an Ed25519 private key in PKCS#8 PEM")]
    Pem,
    #[error("no random numbers: {0}")]
    Random(String),
}

impl OfficeKey {
    pub fn generate() -> Result<OfficeKey, OfficeKeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| OfficeKeyError::Random(e.to_string()))?;
        Ok(OfficeKey {
            signing: SigningKey::from_bytes(&seed),
        })
    }

    pub fn from_pem(text: &str) -> Result<OfficeKey, OfficeKeyError> {
        SigningKey::from_pkcs8_pem(text.trim())
            .map(|signing| OfficeKey { signing })
            .map_err(|_| OfficeKeyError::Pem)
    }

    /// PKCS#8 v1 (the private key alone): OpenSSL 3.0 reads it, the v2 form with the
    /// public key appended it does not.
    pub fn to_pem(&self) -> Result<Zeroizing<String>, OfficeKeyError> {
        ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: self.signing.to_bytes(),
            public_key: None,
        }
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|_| OfficeKeyError::Pem)
    }

    pub fn public(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub fn fingerprint(&self) -> String {
        fingerprint(&self.public())
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// The office's X25519 sealing key (SPEC §12), derived from this key's seed: laptops seal
    /// replicas and backups to its public half, which the bundle and enrolment codes carry.
    pub fn seal_key(&self) -> super::seal::OfficeSealKey {
        super::seal::OfficeSealKey::derive(&Zeroizing::new(self.signing.to_bytes()))
    }
}

impl std::fmt::Debug for OfficeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OfficeKey({})", self.fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_and_fingerprint() {
        let k = OfficeKey::generate().unwrap();
        let pem = k.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        // v1, as `openssl genpkey -algorithm ed25519` writes it (48 bytes of DER)
        assert!(pem.contains("MC4CAQAwBQYDK2VwBCIEI"), "{}", &*pem);
        let back = OfficeKey::from_pem(&pem).unwrap();
        assert_eq!(back.public(), k.public());
        assert!(is_fingerprint(&k.fingerprint()));
        assert!(!is_fingerprint("abc"));
        assert!(
            OfficeKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .is_err()
        );
    }
}
