//! `booth server check-config`: the settings `server run` would take (file, flags,
//! environment), checked without starting the server: every key known and of its type, the
//! addresses, `db_file` read, the TLS certificate and key loaded, the office key read, the
//! database reached and its schema version compared with this booth's (nothing is changed:
//! no migration, no file made). Warnings for what works but should not stay so.

use std::path::Path;

use serde_json::json;

use super::super::{CliError, Ctx, Output};
use crate::cli::ServerSettings;
use crate::server::settings::{Resolved, redacted_db_url};
use crate::server::{Db, office};
use crate::t;

pub fn run(
    ctx: &Ctx,
    config: Option<&Path>,
    settings: &ServerSettings,
) -> Result<Output, CliError> {
    let lang = ctx.lang;
    let r = settings
        .with_file(config)
        .and_then(|s| s.resolve())
        .map_err(|e| CliError::new("config", e.message(lang)))?;
    let mut warnings: Vec<String> = Vec::new();

    // the office key: read if it is there (never made here)
    let key_path = office::key_path(r.office_key.as_deref(), &r.db)
        .map_err(|e| CliError::new("office_key", e.message(lang)))?;
    let fingerprint = if key_path.exists() {
        let key =
            office::load(&key_path).map_err(|e| CliError::new("office_key", e.message(lang)))?;
        Some(key.fingerprint())
    } else {
        warnings.push(t!(lang, "settings.warn_no_key", path = key_path.display()));
        None
    };

    if let Some((cert, key)) = &r.tls {
        crate::tls::install_crypto_provider();
        crate::tls::server_config(cert, key)
            .map_err(|e| CliError::new("tls", t!(lang, "server.tls", why = e)))?;
    }

    let probe = crate::server::runtime()
        .map_err(|e| CliError::new("server", e.to_string()))?
        .block_on(Db::probe(&r.db))
        .map_err(|e| CliError::new("db", e.message(lang)))?;
    if probe.version > probe.supported {
        return Err(CliError::new(
            "db",
            t!(
                lang,
                "server.db_too_new",
                found = probe.version,
                supported = probe.supported
            ),
        ));
    }
    if !probe.exists {
        warnings.push(t!(lang, "settings.warn_no_db").into());
    } else if probe.version < probe.supported {
        warnings.push(t!(
            lang,
            "settings.warn_upgrade",
            found = probe.version,
            supported = probe.supported
        ));
    }
    warnings.extend(exposure_warnings(ctx, &r));

    let db_shown = redacted_db_url(&r.db);
    let metrics = r.metrics_listen.as_deref().unwrap_or("off");
    let mut human = vec![
        t!(lang, "settings.ok").to_string(),
        format!("  listen          {}", r.listen),
        format!("  db              {db_shown}"),
        format!("  metrics_listen  {metrics}"),
        format!("  tls             {}", r.tls.is_some()),
        format!(
            "  office_key      {} {}",
            key_path.display(),
            fingerprint.as_deref().unwrap_or("-")
        ),
        format!("  schema          {}/{}", probe.version, probe.supported),
    ];
    human.extend(
        warnings
            .iter()
            .map(|w| t!(lang, "settings.warning", what = w)),
    );
    Ok(Output {
        human: human.join("\n"),
        json: json!({
            "ok": true,
            "listen": r.listen,
            "db": db_shown,
            "db_file": r.db_from,
            "metrics_listen": r.metrics_listen,
            "tls": r.tls.is_some(),
            "office_key": { "path": key_path, "fingerprint": fingerprint },
            "schema": probe,
            "warnings": warnings,
        }),
    })
}

/// What works but exposes something: plain HTTP or metrics off loopback, a `db_file` others
/// can read (the database password in it).
fn exposure_warnings(ctx: &Ctx, r: &Resolved) -> Vec<String> {
    use std::net::ToSocketAddrs;
    let lang = ctx.lang;
    let off_loopback = |addr: &str| {
        addr.to_socket_addrs()
            .map(|mut a| a.any(|a| !a.ip().is_loopback()))
            .unwrap_or(false)
    };
    let mut out = Vec::new();
    if r.tls.is_none() && off_loopback(&r.listen) {
        out.push(t!(lang, "server.plain_http", addr = r.listen));
    }
    if let Some(m) = &r.metrics_listen
        && off_loopback(m)
    {
        out.push(t!(lang, "settings.warn_metrics_open", addr = m));
    }
    #[cfg(unix)]
    if let Some(path) = &r.db_from {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o004 != 0
        {
            out.push(t!(
                lang,
                "settings.warn_db_file_mode",
                path = path.display()
            ));
        }
    }
    out
}
