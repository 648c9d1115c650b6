//! `booth server import-backup FILE --db …`: a laptop's backup file (SPEC §12) taken as its
//! peers' relays would be — each segment on its origin's signature and binding, each laptop's
//! records under its own device, stored once (a file imported twice adds nothing). Audited.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use serde_json::json;

use super::{CliError, Ctx, Output, cli_entry, db_error, office, open_with_key};
use crate::cli::OfficeKeyArg;
use crate::server::relay::{self, ImportError, Imported, Seals};
use crate::t;

/// A backup file is one laptop's queue and what it held for two or three others: far less.
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

pub fn run(ctx: &Ctx, file: &Path, url: &str, arg: &OfficeKeyArg) -> Result<Output, CliError> {
    let text = read(file).map_err(|why| {
        CliError::new(
            "io",
            t!(
                ctx.lang,
                "server.backup_read",
                path = file.display(),
                why = why
            ),
        )
    })?;
    let (rt, db, key, key_file, _) = open_with_key(ctx, url, arg)?;
    let previous = office::load_previous(&key_file)
        .map_err(|e| CliError::new("office_key", e.message(ctx.lang)))?;
    let seals = Arc::new(Seals::new(&key, previous.as_ref()));
    let imported = rt
        .block_on(relay::import_backup(&db, &seals, &text))
        .map_err(|e| match e {
            ImportError::File(e) => CliError::new(
                "bad_backup",
                t!(
                    ctx.lang,
                    "server.backup_bad",
                    path = file.display(),
                    why = relay::reason(e.code(), ctx.lang)
                ),
            ),
            ImportError::Db(e) => db_error(e, ctx),
        })?;
    // who wrote the file and how many records came in: never what they hold
    let mut entry = cli_entry("backup.import", &imported.written_by);
    entry.count = imported.records.accepted as i64;
    rt.block_on(db.audit(entry)).map_err(|e| db_error(e, ctx))?;
    let human = summary(&imported, ctx);
    let out = json!(imported);
    if imported.refused() > 0 {
        return Err(CliError::new("segments_refused", human).with(out));
    }
    Ok(Output { human, json: out })
}

fn read(file: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .take(MAX_FILE_BYTES)
            .read_to_string(&mut text)?;
    } else {
        std::fs::File::open(file)?
            .take(MAX_FILE_BYTES)
            .read_to_string(&mut text)?;
    }
    Ok(text)
}

/// What the office took, and each refusal with its reason.
pub fn summary(i: &Imported, ctx: &Ctx) -> String {
    let r = &i.records;
    let mut lines = vec![t!(
        ctx.lang,
        "server.backup_imported",
        by = i.written_by,
        taken = i.taken(),
        there = i.already_there(),
        refused = i.refused(),
        accepted = r.accepted,
        already = r.already_there,
        rejected = r.rejected + r.conflict + r.duplicate_person
    )];
    for s in i.segments.iter().filter(|s| s.status == relay::REFUSED) {
        let key_id = key_id_of(&s.origin);
        lines.push(t!(
            ctx.lang,
            "server.backup_refused_line",
            key_id = key_id,
            counter = s.counter,
            why = relay::reason(s.error.as_deref().unwrap_or_default(), ctx.lang)
        ));
    }
    lines.join("\n")
}

/// The key id of a segment's origin (base64url key), `?` when it is not a key.
fn key_id_of(origin: &str) -> String {
    data_encoding::BASE64URL_NOPAD
        .decode(origin.as_bytes())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| crate::card::keys::acceptable_key(&b).ok())
        .map(|k| crate::card::keys::key_id_of(&k))
        .unwrap_or_else(|| "?".into())
}
