//! The office key's file: PKCS#8 PEM, mode 0600, made by the first server command that needs
//! it. Every server of one office uses the same file (docs/trust.md, "The office key"); a file
//! that others on the machine can read is refused rather than used. Also the rules of changing
//! that key in two steps ([`rotate`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::db::{Db, DbError, OfficeState};
use crate::card::bundle::key_text;
use crate::card::office::{OfficeKey, OfficeKeyError, fingerprint};
use crate::i18n::Lang;
use crate::t;

pub const DEFAULT_FILE: &str = "office-key.pem";

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read the office key {path}: {why}")]
    Read { path: PathBuf, why: std::io::Error },
    #[error("cannot write the office key {path}: {why}")]
    Write { path: PathBuf, why: std::io::Error },
    #[error("the office key {path} can be read by others (mode {mode:o}); chmod 600 it")]
    Permissions { path: PathBuf, mode: u32 },
    #[error("{path} is not an Ed25519 office key (PKCS#8 PEM)")]
    Pem { path: PathBuf },
    #[error("with PostgreSQL, name the office key file: --office-key FILE or BOOTH_OFFICE_KEY")]
    NoPath,
    #[error("{0}")]
    Key(#[from] OfficeKeyError),
}

impl KeyFileError {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            KeyFileError::Read { path, why } => {
                t!(lang, "office.read", path = path.display(), why = why)
            }
            KeyFileError::Write { path, why } => {
                t!(lang, "office.write", path = path.display(), why = why)
            }
            KeyFileError::Permissions { path, mode } => t!(
                lang,
                "office.permissions",
                path = path.display(),
                mode = format!("{mode:o}")
            ),
            KeyFileError::Pem { path } => t!(lang, "office.pem", path = path.display()),
            KeyFileError::NoPath => t!(lang, "office.no_path").into(),
            KeyFileError::Key(e) => e.to_string(),
        }
    }
}

/// Where the office key lives: the given file, else `office-key.pem` beside a SQLite
/// database. PostgreSQL has no "beside": the file must be named.
pub fn key_path(given: Option<&Path>, db_url: &str) -> Result<PathBuf, KeyFileError> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let file = db_url.strip_prefix("sqlite:").ok_or(KeyFileError::NoPath)?;
    let file = Path::new(file.trim_start_matches("//"));
    Ok(file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(DEFAULT_FILE))
}

/// Where a rotation keeps the previous key file (`office-key.pem.old`): still needed to open
/// segments and backups sealed before the laptops learnt the new key.
pub fn old_key_path(key_file: &Path) -> PathBuf {
    key_file.with_extension("pem.old")
}

/// The previous office key, if a rotation left one beside the key file.
pub fn load_previous(key_file: &Path) -> Result<Option<OfficeKey>, KeyFileError> {
    let old = old_key_path(key_file);
    if old.exists() {
        load(&old).map(Some)
    } else {
        Ok(None)
    }
}

/// Reads the key; refuses a file others can read.
pub fn load(path: &Path) -> Result<OfficeKey, KeyFileError> {
    let meta = std::fs::metadata(path).map_err(|why| KeyFileError::Read {
        path: path.into(),
        why,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Permissions {
                path: path.into(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let text = std::fs::read_to_string(path).map_err(|why| KeyFileError::Read {
        path: path.into(),
        why,
    })?;
    OfficeKey::from_pem(&text).map_err(|_| KeyFileError::Pem { path: path.into() })
}

/// Reads the key, making it (0600, never overwriting) if the file does not exist yet.
/// Returns whether it was made now.
pub fn load_or_create(path: &Path) -> Result<(OfficeKey, bool), KeyFileError> {
    if path.exists() {
        return Ok((load(path)?, false));
    }
    let key = OfficeKey::generate()?;
    write_new(path, &key)?;
    tracing::info!(path = %path.display(), fingerprint = key.fingerprint(), "office key created");
    Ok((key, true))
}

/// Writes a new key file: created exclusively (an existing key is never overwritten), 0600.
pub fn write_new(path: &Path, key: &OfficeKey) -> Result<(), KeyFileError> {
    let err = |why| KeyFileError::Write {
        path: path.into(),
        why,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(err)?;
    let pem = key.to_pem()?;
    f.write_all(pem.as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)?;
    Ok(())
}

/// What a step of [`rotate`] did.
pub enum Rotation {
    /// The next key is announced in the bundles the current key signs.
    Announced { next: OfficeKey, version: u64 },
    /// The next key is the office key now; the old key file is kept as `old_file`.
    Finished {
        next: OfficeKey,
        old_file: PathBuf,
        version: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error("the next key is the office key itself")]
    SameKey,
    #[error("that key was not announced: run rotate-key --next FILE first")]
    NotAnnounced,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl RotateError {
    /// The stable code scripts see (a database failure has its own, the caller's).
    pub fn code(&self) -> &'static str {
        match self {
            RotateError::KeyFile(_) => "office_key",
            RotateError::SameKey => "usage",
            RotateError::NotAnnounced => "rotation_not_announced",
            RotateError::Db(_) => "db",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match self {
            RotateError::KeyFile(e) => e.message(lang),
            RotateError::SameKey => t!(lang, "server.rotate_same_key").into(),
            RotateError::NotAnnounced => t!(lang, "server.rotate_not_announced").into(),
            RotateError::Db(e) => e.message(lang),
        }
    }
}

/// Rotation in two steps (docs/trust.md). Without `finish`: `next_file`'s key (made if
/// missing) is announced in the bundles signed by `current`. With `finish`: the announced
/// key becomes the office key (the bundle's version moves), the old key file is kept as
/// `<key_file>.old` and `next_file` is copied into its place. Servers still running with the
/// old file then answer `office_key_changed` until restarted.
pub async fn rotate(
    db: &Db,
    current: &OfficeKey,
    key_file: &Path,
    next_file: &Path,
    finish: bool,
) -> Result<Rotation, RotateError> {
    let next = if finish {
        // finishing takes the key announced, never a new one
        load(next_file)?
    } else {
        load_or_create(next_file)?.0
    };
    if next.public() == current.public() {
        return Err(RotateError::SameKey);
    }
    let next_text = key_text(&next.public());
    if !finish {
        let state = db
            .update_office(move |s| {
                let changed = s.next_office_key.as_deref() != Some(next_text.as_str());
                Ok((
                    OfficeState {
                        next_office_key: Some(next_text),
                        ..s.clone()
                    },
                    changed,
                ))
            })
            .await?;
        return Ok(Rotation::Announced {
            next,
            version: state.version,
        });
    }
    let announced = db.office_state().await?.next_office_key;
    if announced.as_deref() != Some(next_text.as_str()) {
        return Err(RotateError::NotAnnounced);
    }
    // Files first (old kept, new in place), then the database: if the second step fails, the
    // old key is still beside it and the database still names it.
    let old_file = old_key_path(key_file);
    std::fs::rename(key_file, &old_file)
        .and_then(|()| std::fs::copy(next_file, key_file).map(|_| ()))
        .map_err(|why| KeyFileError::Write {
            path: key_file.into(),
            why,
        })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(key_file, std::fs::Permissions::from_mode(0o600));
    }
    let state = db
        .update_office(move |s| {
            Ok((
                OfficeState {
                    office_key: Some(next_text),
                    next_office_key: None,
                    ..s.clone()
                },
                true,
            ))
        })
        .await?;
    tracing::info!(fingerprint = next.fingerprint(), "office key rotated");
    Ok(Rotation::Finished {
        next,
        old_file,
        version: state.version,
    })
}

/// The fingerprint of the key a rotation has announced, if one has.
pub fn announced_fingerprint(state: &OfficeState) -> Option<String> {
    let text = state.next_office_key.as_deref()?;
    let bytes = data_encoding::BASE64URL_NOPAD
        .decode(text.as_bytes())
        .ok()?;
    let bytes = <[u8; 32]>::try_from(bytes).ok()?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok()?;
    Some(fingerprint(&key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_0600_and_refused_when_readable_by_others() {
        let dir = tempfile::tempdir().unwrap();
        let p = key_path(
            None,
            &format!("sqlite:{}", dir.path().join("o.db").display()),
        )
        .unwrap();
        assert_eq!(p, dir.path().join(DEFAULT_FILE));
        let (k, made) = load_or_create(&p).unwrap();
        assert!(made);
        let (again, made) = load_or_create(&p).unwrap();
        assert!(!made);
        assert_eq!(again.public(), k.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(load(&p), Err(KeyFileError::Permissions { .. })));
        }
        assert!(matches!(
            key_path(None, "postgres://x/y"),
            Err(KeyFileError::NoPath)
        ));
        assert!(
            matches!(key_path(None, "sqlite:o.db"), Ok(p) if p == Path::new("./office-key.pem"))
        );
    }
}
