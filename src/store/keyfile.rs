//! `keyfile.toml`: the only clear-text file of a data folder besides logs and
//! `newest-bundles.json` (office key fingerprints and bundle versions, [`super::trust`]).
//!
//! It holds no secret and no personal data: the Argon2id salt and cost parameters needed to
//! turn the passphrase into the database key, and the UI language (so the passphrase prompt is
//! in the operator's language before anything is decrypted).

use std::fs;
use std::io::Write;
use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::i18n::Lang;

pub const FILE_NAME: &str = "keyfile.toml";

/// Argon2id cost. The defaults follow RFC 9106's second recommendation scaled to an old
/// laptop: 64 MiB, 3 passes, 1 lane (≈0.2 s on a 2015 laptop core; figures in the README).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

impl KdfParams {
    /// The parameters for new data folders: the default, or `BOOTH_KDF=fast` (19 MiB, 2
    /// passes: OWASP's minimum) for test suites that create hundreds of folders. The choice is
    /// written into the keyfile, so a folder always opens with the cost it was made with.
    pub fn for_new_folder() -> KdfParams {
        match std::env::var("BOOTH_KDF").as_deref() {
            Ok("fast") => KdfParams {
                memory_kib: 19 * 1024,
                iterations: 2,
                parallelism: 1,
            },
            _ => KdfParams::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFile {
    /// Format of the data folder.
    pub format: u32,
    pub kdf: String,
    #[serde(flatten)]
    pub params: KdfParams,
    /// Hex, 16 random bytes.
    pub salt: String,
    pub language: Lang,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read {FILE_NAME}: {0}")]
    Io(#[from] std::io::Error),
    #[error("{FILE_NAME} is damaged: {0}")]
    Parse(String),
    #[error("unsupported key derivation {0}")]
    Unsupported(String),
    #[error("key derivation failed: {0}")]
    Kdf(String),
}

impl KeyFile {
    pub fn new(params: KdfParams, language: Lang) -> Result<KeyFile, KeyFileError> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| KeyFileError::Kdf(e.to_string()))?;
        Ok(KeyFile {
            format: 1,
            kdf: "argon2id".into(),
            params,
            salt: data_encoding::HEXLOWER.encode(&salt),
            language,
        })
    }

    pub fn read(dir: &Path) -> Result<KeyFile, KeyFileError> {
        KeyFile::parse(&fs::read_to_string(dir.join(FILE_NAME))?)
    }

    /// Parses the file's text; anything but a well-formed format-1 Argon2id keyfile is an error.
    pub fn parse(text: &str) -> Result<KeyFile, KeyFileError> {
        let kf: KeyFile =
            toml::from_str(text).map_err(|e| KeyFileError::Parse(e.message().to_string()))?;
        if kf.kdf != "argon2id" || kf.format != 1 {
            return Err(KeyFileError::Unsupported(format!(
                "{} (format {})",
                kf.kdf, kf.format
            )));
        }
        // A tampered file must not make unlocking allocate the machine's memory or spin for
        // hours: parameters outside what booth ever writes are refused.
        let p = kf.params;
        if !(1024..=1024 * 1024).contains(&p.memory_kib)
            || !(1..=16).contains(&p.iterations)
            || !(1..=8).contains(&p.parallelism)
        {
            return Err(KeyFileError::Parse(
                "key derivation parameters out of range".into(),
            ));
        }
        if data_encoding::HEXLOWER_PERMISSIVE
            .decode(kf.salt.as_bytes())
            .map(|s| s.len())
            != Ok(16)
        {
            return Err(KeyFileError::Parse("salt must be 16 bytes of hex".into()));
        }
        Ok(kf)
    }

    /// Written to a temporary file and renamed, so a power cut leaves the old or the new file.
    pub fn write(&self, dir: &Path) -> Result<(), KeyFileError> {
        let body = format!(
            "# booth data folder: key derivation parameters. No secret and no personal data here.\n{}",
            toml::to_string(self).map_err(|e| KeyFileError::Parse(e.to_string()))?
        );
        let tmp = dir.join(format!("{FILE_NAME}.tmp"));
        {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(body.as_bytes())?;
            f.sync_all()?;
        }
        fs::rename(&tmp, dir.join(FILE_NAME))?;
        Ok(())
    }

    /// The 32-byte database key for `passphrase`.
    pub fn derive_key(&self, passphrase: &[u8]) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
        let salt = data_encoding::HEXLOWER_PERMISSIVE
            .decode(self.salt.as_bytes())
            .map_err(|e| KeyFileError::Parse(e.to_string()))?;
        let params = Params::new(
            self.params.memory_kib,
            self.params.iterations,
            self.params.parallelism,
            Some(32),
        )
        .map_err(|e| KeyFileError::Kdf(e.to_string()))?;
        let mut key = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase, &salt, key.as_mut())
            .map_err(|e| KeyFileError::Kdf(e.to_string()))?;
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_derivation_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let params = KdfParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        let kf = KeyFile::new(params, Lang::En).unwrap();
        kf.write(dir.path()).unwrap();
        let back = KeyFile::read(dir.path()).unwrap();
        assert_eq!(back, kf);
        let a = kf.derive_key(b"pass").unwrap();
        let b = back.derive_key(b"pass").unwrap();
        let c = back.derive_key(b"Pass").unwrap();
        assert_eq!(*a, *b);
        assert_ne!(*a, *c);
    }

    #[test]
    fn absurd_parameters_are_refused() {
        let good = toml::to_string(&KeyFile::new(KdfParams::default(), Lang::Zh).unwrap()).unwrap();
        assert!(KeyFile::parse(&good).is_ok());
        let huge = good.replace("memory_kib = 65536", "memory_kib = 4000000000");
        assert!(matches!(KeyFile::parse(&huge), Err(KeyFileError::Parse(_))));
        let slow = good.replace("iterations = 3", "iterations = 100000");
        assert!(KeyFile::parse(&slow).is_err());
    }

    #[test]
    fn damaged_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FILE_NAME), "format = \"x\"\n[[[").unwrap();
        assert!(matches!(
            KeyFile::read(dir.path()),
            Err(KeyFileError::Parse(_))
        ));
    }
}
