//! `booth server backup --out FILE --db sqlite:…` and `booth server restore [FILE] --db …`
//! (SPEC §13, docs/operations.md "Backups").
//!
//! A backup is an online, consistent copy of the SQLite office database (`VACUUM INTO`, one
//! snapshot, while the server runs), made 0600 and never over an existing file. The office
//! key is never in it: both commands say where the key is and that it must be kept apart.
//!
//! A restore copies the backup into a new database file, upgrades its schema if it is older,
//! refuses an office key other than the one the backup names, and raises the bundle version
//! past any issued before (to the restore's time in milliseconds, a number no office reaches
//! by counting changes), since laptops never take an older bundle than one they have seen;
//! revocations made after the backup are not in it and must be made again: it says so. Without
//! FILE it finishes a restore made by other means (`pg_restore`, a file copied by hand): the
//! key checked, the version raised.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{CliError, Ctx, Output, cli_entry, db_error};
use crate::card::office::OfficeKey;
use crate::cli::OfficeKeyArg;
use crate::server::{self, Db, office};
use crate::t;

/// The file of a `sqlite:` URL; `None` for any other database.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    url.strip_prefix("sqlite:")
        .map(|p| PathBuf::from(p.trim_start_matches("//")))
        .filter(|p| !p.as_os_str().is_empty())
}

/// A new empty file, 0600, never over an existing one.
fn create_new(path: &Path) -> std::io::Result<()> {
    let mut new = std::fs::OpenOptions::new();
    new.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut new, 0o600);
    new.open(path).map(drop)
}

/// The fingerprint of a public key as the office row stores it (base64url).
fn fingerprint_of(key_text: &str) -> Option<String> {
    let bytes = data_encoding::BASE64URL_NOPAD
        .decode(key_text.as_bytes())
        .ok()?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes.try_into().ok()?).ok()?;
    Some(crate::card::office::fingerprint(&key))
}

pub fn backup(ctx: &Ctx, out: &Path, url: &str, arg: &OfficeKeyArg) -> Result<Output, CliError> {
    let lang = ctx.lang;
    let Some(src) = sqlite_path(url) else {
        return Err(CliError::new(
            "usage",
            t!(lang, "office_backup.sqlite_only"),
        ));
    };
    if !src.is_file() {
        return Err(CliError::new(
            "not_found",
            t!(lang, "office_backup.no_database", path = src.display()),
        ));
    }
    let rt = server::runtime().map_err(|e| CliError::new("server", e.to_string()))?;
    // Only with the booth of the database's own schema: opening it (for the audit entry)
    // with another would upgrade it under a running older server.
    let probe = rt.block_on(Db::probe(url)).map_err(|e| db_error(e, ctx))?;
    if probe.version != probe.supported {
        return Err(CliError::new(
            "schema",
            t!(
                lang,
                "office_backup.schema",
                found = probe.version,
                supported = probe.supported
            ),
        ));
    }
    create_new(out).map_err(|why| {
        CliError::new(
            "io",
            t!(lang, "office_backup.out", path = out.display(), why = why),
        )
    })?;
    if let Err(e) = rt.block_on(Db::copy_sqlite(src.clone(), out.to_path_buf())) {
        let _ = std::fs::remove_file(out);
        return Err(db_error(e, ctx));
    }
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    // a backup holds every member: it is audited as an export is
    let db = rt.block_on(Db::open(url)).map_err(|e| db_error(e, ctx))?;
    let state = rt.block_on(async {
        db.audit(cli_entry("backup.made", &out.display().to_string()))
            .await?;
        db.office_state().await
    });
    let state = state.map_err(|e| db_error(e, ctx))?;
    let key_path = office::key_path(arg.office_key.as_deref(), url).ok();
    let fingerprint = state.office_key.as_deref().and_then(fingerprint_of);
    let human = [
        t!(
            lang,
            "office_backup.done",
            path = out.display(),
            bytes = bytes,
            version = state.version
        ),
        t!(
            lang,
            "office_backup.key_apart",
            path = key_path
                .as_ref()
                .map_or_else(|| "-".into(), |p| p.display().to_string()),
            fingerprint = fingerprint.as_deref().unwrap_or("-")
        ),
    ]
    .join("\n");
    Ok(Output {
        human,
        json: json!({
            "backup": out,
            "bytes": bytes,
            "bundle_version": state.version,
            "office_key_fingerprint": fingerprint,
            "office_key_file": key_path,
            "office_key_in_backup": false,
        }),
    })
}

pub fn restore(
    ctx: &Ctx,
    file: Option<&Path>,
    url: &str,
    arg: &OfficeKeyArg,
) -> Result<Output, CliError> {
    let lang = ctx.lang;
    // the key first: without it the backup serves nothing, and it is never made here
    let key_path = office::key_path(arg.office_key.as_deref(), url)
        .map_err(|e| CliError::new("office_key", e.message(lang)))?;
    if !key_path.exists() {
        return Err(CliError::new(
            "office_key",
            t!(lang, "office_backup.key_needed", path = key_path.display()),
        ));
    }
    let key = office::load(&key_path).map_err(|e| CliError::new("office_key", e.message(lang)))?;
    let rt = server::runtime().map_err(|e| CliError::new("server", e.to_string()))?;
    match file {
        None => {
            let db = rt.block_on(Db::open(url)).map_err(|e| db_error(e, ctx))?;
            let done = finish(ctx, &rt, &db, &key, "-")?;
            Ok(done)
        }
        Some(file) => {
            let Some(target) = sqlite_path(url) else {
                return Err(CliError::new(
                    "usage",
                    t!(lang, "office_backup.sqlite_only"),
                ));
            };
            if !file.is_file() {
                return Err(CliError::new(
                    "not_found",
                    t!(lang, "office_backup.no_backup", path = file.display()),
                ));
            }
            if target.exists() {
                return Err(CliError::new(
                    "exists",
                    t!(lang, "office_backup.target_exists", path = target.display()),
                ));
            }
            // into a file beside the target, renamed over it only once all is done: a restore
            // that fails leaves no half-made office database
            let name = target
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let temp = target.with_file_name(format!(".{name}.restoring-{}", std::process::id()));
            let remove_temp = || {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", temp.display()));
                }
            };
            create_new(&temp).map_err(|why| {
                CliError::new(
                    "io",
                    t!(lang, "office_backup.out", path = temp.display(), why = why),
                )
            })?;
            let result = (|| {
                rt.block_on(Db::copy_sqlite(file.to_path_buf(), temp.clone()))
                    .map_err(|e| db_error(e, ctx))?;
                let db = rt
                    .block_on(Db::open(&format!("sqlite:{}", temp.display())))
                    .map_err(|e| db_error(e, ctx))?;
                let done = finish(ctx, &rt, &db, &key, &file.display().to_string())?;
                // the WAL emptied into the file, so that the file alone is the database
                rt.block_on(db.settle()).map_err(|e| db_error(e, ctx))?;
                drop(db);
                std::fs::rename(&temp, &target).map_err(|why| {
                    CliError::new(
                        "io",
                        t!(
                            lang,
                            "office_backup.out",
                            path = target.display(),
                            why = why
                        ),
                    )
                })?;
                Ok(done)
            })();
            remove_temp();
            result
        }
    }
}

/// The key checked against the database's, the bundle version raised, the restore audited.
fn finish(
    ctx: &Ctx,
    rt: &tokio::runtime::Runtime,
    db: &Db,
    key: &OfficeKey,
    from: &str,
) -> Result<Output, CliError> {
    let lang = ctx.lang;
    let before = rt
        .block_on(db.office_state())
        .map_err(|e| db_error(e, ctx))?;
    let mine = crate::card::bundle::key_text(&key.public());
    if let Some(theirs) = before.office_key.as_deref()
        && theirs != mine
    {
        return Err(CliError::new(
            "office_key_mismatch",
            t!(
                lang,
                "office_backup.key_mismatch",
                backup = fingerprint_of(theirs).unwrap_or_else(|| "?".into()),
                file = key.fingerprint()
            ),
        ));
    }
    rt.block_on(server::claim_office_key(db, key, lang))
        .map_err(|e| db_error(e, ctx))?;
    let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    let after = rt.block_on(async {
        let after = db.raise_bundle_version(now_ms).await?;
        db.audit(cli_entry("backup.restore", from)).await?;
        Ok::<_, server::DbError>(after)
    });
    let after = after.map_err(|e| db_error(e, ctx))?;
    let human = [
        t!(
            lang,
            "office_backup.restored",
            before = before.version,
            after = after.version
        ),
        t!(
            lang,
            "office_backup.redo_revocations",
            at = before.issued_at.as_str()
        ),
        t!(lang, "office_backup.key_not_in_backup").to_string(),
    ]
    .join("\n");
    Ok(Output {
        human,
        json: json!({
            "restored": true,
            "bundle_version_in_backup": before.version,
            "bundle_version": after.version,
            "backup_bundle_issued_at": before.issued_at,
            "office_key_fingerprint": key.fingerprint(),
        }),
    })
}
