//! Sealing to the office (SPEC §12, docs/trust.md "Peers"): the office's X25519 encryption
//! key, derived from the office's Ed25519 seed, and sealed boxes (libsodium's
//! `crypto_box_seal`: an ephemeral key per message, X25519 + XSalsa20-Poly1305) that only the
//! office can open. A laptop that holds another laptop's records keeps them sealed: it can
//! forward them, never read them.
//!
//! The key derivations of the peers' design (HKDF-SHA256 with a label per use) live here too,
//! so the office and the laptops derive the same bytes from one function.

use data_encoding::BASE64URL_NOPAD;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

/// HKDF label of the office's sealing key (from the office key's seed): every server that
/// shares the office key file derives the same key, and nothing else is ever derived from
/// the seed with this label.
const OFFICE_SEAL_INFO: &[u8] = b"booth office seal key v1";

/// HKDF-SHA256 of `ikm` under a label, 32 bytes. One function for every derived key of the
/// peers' design, each with its own label (domain separation).
pub fn derive32(ikm: &[u8], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is always a valid HKDF-SHA256 output length
    let _ = Hkdf::<Sha256>::new(None, ikm).expand(label, out.as_mut());
    out
}

/// The office's public sealing key: what laptops seal their replicas and backups to. It
/// reaches them in the signed trust bundle and in the enrolment code.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SealPublic([u8; 32]);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("not an office sealing key")]
    BadKey,
    #[error(
        "the sealed box does not open with this office's key (altered, or sealed to another office)"
    )]
    Open,
    #[error("no random numbers")]
    Random,
}

impl SealPublic {
    pub fn from_bytes(bytes: [u8; 32]) -> Result<SealPublic, SealError> {
        // An all-zero key (or any of the few low-order points) would make every box
        // readable by anyone; the office's derived key is never one of them.
        if low_order(&bytes) {
            return Err(SealError::BadKey);
        }
        Ok(SealPublic(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Unpadded base64url, as the bundle and the enrolment code carry it.
    pub fn to_text(&self) -> String {
        BASE64URL_NOPAD.encode(&self.0)
    }

    pub fn from_text(text: &str) -> Result<SealPublic, SealError> {
        let bytes: [u8; 32] = BASE64URL_NOPAD
            .decode(text.as_bytes())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(SealError::BadKey)?;
        SealPublic::from_bytes(bytes)
    }

    /// A sealed box of `plaintext`: 32 bytes of ephemeral public key, then the ciphertext
    /// with its 16-byte tag.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        crypto_box::PublicKey::from(self.0)
            .seal(&mut crypto_box::aead::OsRng, plaintext)
            .map_err(|_| SealError::Random)
    }
}

impl std::fmt::Debug for SealPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealPublic({})", self.to_text())
    }
}

/// The u-coordinates of the points of small order on Curve25519 (and their non-canonical
/// encodings): Diffie-Hellman with one of them gives a result an eavesdropper knows.
fn low_order(bytes: &[u8; 32]) -> bool {
    const BAD: [&str; 7] = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];
    // the top bit is ignored by X25519
    let mut b = *bytes;
    b[31] &= 0x7f;
    let hex = data_encoding::HEXLOWER.encode(&b);
    BAD.iter().any(|bad| {
        let mut k = data_encoding::HEXLOWER_PERMISSIVE
            .decode(bad.as_bytes())
            .unwrap_or_default();
        if let Some(last) = k.last_mut() {
            *last &= 0x7f;
        }
        data_encoding::HEXLOWER.encode(&k) == hex
    })
}

/// The office's secret sealing key: on the servers only, derived from the office key's seed
/// whenever it is needed (nothing more to back up or rotate separately).
pub struct OfficeSealKey {
    secret: crypto_box::SecretKey,
}

impl OfficeSealKey {
    /// From the office key's 32-byte Ed25519 seed ([`super::office::OfficeKey::seal_key`]).
    pub fn derive(seed: &[u8; 32]) -> OfficeSealKey {
        let bytes = derive32(seed, OFFICE_SEAL_INFO);
        OfficeSealKey {
            secret: crypto_box::SecretKey::from(*bytes),
        }
    }

    pub fn public(&self) -> SealPublic {
        SealPublic(self.secret.public_key().to_bytes())
    }

    /// Opens a sealed box made with [`SealPublic::seal`] to this key.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        self.secret.unseal(sealed).map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::office::OfficeKey;

    #[test]
    fn only_the_office_opens_what_is_sealed_to_it() {
        let office = OfficeKey::generate().unwrap();
        let seal = office.seal_key();
        // every server with the same key file derives the same key
        assert_eq!(
            OfficeKey::from_pem(&office.to_pem().unwrap())
                .unwrap()
                .seal_key()
                .public(),
            seal.public()
        );
        let public = SealPublic::from_text(&seal.public().to_text()).unwrap();
        let boxed = public.seal(b"records").unwrap();
        assert_eq!(boxed.len(), 32 + 16 + 7);
        assert_eq!(seal.open(&boxed).unwrap(), b"records");
        // two boxes of the same text differ (an ephemeral key each)
        assert_ne!(public.seal(b"records").unwrap(), boxed);
        let other = OfficeKey::generate().unwrap().seal_key();
        assert_eq!(other.open(&boxed), Err(SealError::Open));
        let mut altered = boxed.clone();
        altered[40] ^= 1;
        assert_eq!(seal.open(&altered), Err(SealError::Open));
        assert_ne!(seal.public(), other.public());
    }

    #[test]
    fn low_order_keys_are_refused() {
        assert_eq!(SealPublic::from_bytes([0; 32]), Err(SealError::BadKey));
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(SealPublic::from_bytes(one), Err(SealError::BadKey));
        let mut p = [0xffu8; 32];
        p[0] = 0xec;
        assert_eq!(SealPublic::from_bytes(p), Err(SealError::BadKey));
        assert_eq!(SealPublic::from_text("short"), Err(SealError::BadKey));
    }

    #[test]
    fn derivations_are_separated_by_label() {
        assert_ne!(*derive32(b"k", b"a"), *derive32(b"k", b"b"));
        assert_eq!(*derive32(b"k", b"a"), *derive32(b"k", b"a"));
    }
}
