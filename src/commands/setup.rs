//! Opening the data folder from the command line (passphrase, first-use setup), and the
//! `config` and `keys` subcommands.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use serde_json::json;
use zeroize::Zeroizing;

use super::{CliError, Output};
use crate::cli::ConfigAction;
use crate::config::{Config, KEYS};
use crate::i18n::Lang;
use crate::store::{self, KeyFile, Store};
use crate::t;

/// What every subcommand knows: where the data is, how to answer, in which language.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub data_dir: PathBuf,
    pub json: bool,
    pub lang: Lang,
    /// From `BOOTH_PASSPHRASE`, read and removed from the environment at start-up so that
    /// child processes (`lp`) never inherit it.
    pub passphrase: Option<Zeroizing<String>>,
}

impl Ctx {
    /// The language: `--lang`/`BOOTH_LANG`, else the data folder's, else the system's, else
    /// Chinese.
    pub fn resolve_lang(flag: Option<&str>, data_dir: &Path) -> Lang {
        flag.and_then(Lang::parse)
            .or_else(|| KeyFile::read(data_dir).ok().map(|k| k.language))
            .or_else(|| {
                std::env::var("LANG")
                    .ok()
                    .and_then(|l| Lang::parse(&l))
                    .filter(|&l| l == Lang::En)
            })
            .unwrap_or_default()
    }
}

/// `~/.local/share/booth` on Linux, the equivalent elsewhere.
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("cn", "booth", "booth")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("booth-data"))
}

fn prompt(ctx: &Ctx, key_text: &str) -> Result<Zeroizing<String>, CliError> {
    rpassword::prompt_password(key_text)
        .map(Zeroizing::new)
        .map_err(|e| CliError::new("passphrase", t!(ctx.lang, "cli.passphrase_read", why = e)))
}

/// The passphrase: from the environment, or asked on the terminal (twice for a new folder).
fn passphrase(ctx: &Ctx, creating: bool) -> Result<Zeroizing<String>, CliError> {
    if let Some(p) = &ctx.passphrase {
        if p.is_empty() {
            return Err(CliError::new(
                "passphrase",
                t!(ctx.lang, "cli.passphrase_empty"),
            ));
        }
        return Ok(p.clone());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            "passphrase",
            t!(ctx.lang, "cli.passphrase_needed"),
        ));
    }
    let first = prompt(ctx, t!(ctx.lang, "cli.passphrase_prompt"))?;
    if first.is_empty() {
        return Err(CliError::new(
            "passphrase",
            t!(ctx.lang, "cli.passphrase_empty"),
        ));
    }
    if creating {
        let again = prompt(ctx, t!(ctx.lang, "cli.passphrase_again"))?;
        if *again != *first {
            return Err(CliError::new(
                "passphrase",
                t!(ctx.lang, "cli.passphrase_mismatch"),
            ));
        }
    }
    Ok(first)
}

/// The passphrase of a set-up folder (environment, else asked): for a command that proves
/// it to the process holding the folder (the local socket).
pub fn passphrase_for(ctx: &Ctx) -> Result<Zeroizing<String>, CliError> {
    passphrase(ctx, false)
}

/// Opens the data folder, setting it up on first use (any command on an empty folder does),
/// and purges personal data past the retention period (SPEC §4): every command that opens
/// the store does, so the laptop never holds it longer than configured.
pub fn open_store(ctx: &Ctx) -> Result<Store, CliError> {
    let mut store = open_store_no_purge(ctx)?;
    purge_now(&mut store, ctx)?;
    Ok(store)
}

/// Runs the retention purge; a failure is an error (personal data must not silently stay).
pub fn purge_now(store: &mut Store, ctx: &Ctx) -> Result<store::queue::PurgeReport, CliError> {
    let days = load_config(store, ctx)?.retention_days;
    store
        .purge(days, &store::now())
        .map_err(|e| CliError::store(e, ctx))
}

/// Opens the data folder without purging (`booth purge` does it itself, to report counts).
pub fn open_store_no_purge(ctx: &Ctx) -> Result<Store, CliError> {
    // run for the local socket: the holder's store, already unlocked
    if let Some(held) = super::peers::lent_store() {
        return held.map_err(|e| CliError::store(e, ctx));
    }
    let creating = !store::is_initialised(&ctx.data_dir);
    let pass = passphrase(ctx, creating)?;
    let result = if creating {
        Store::create(&ctx.data_dir, pass.as_bytes(), ctx.lang)
    } else {
        Store::open(&ctx.data_dir, pass.as_bytes())
    };
    let store = result.map_err(|e| CliError::store(e, ctx))?;
    // The folder is ours now: remove what an export killed mid-write left behind.
    crate::export::partial::remove_stale(store.dir());
    if creating {
        tracing::info!(key_id = store.device_key().key_id(), "data folder set up");
    }
    Ok(store)
}

pub fn load_config(store: &Store, ctx: &Ctx) -> Result<Config, CliError> {
    store.config().map_err(|e| CliError::store(e, ctx))
}

pub fn config(ctx: &Ctx, action: &ConfigAction) -> Result<Output, CliError> {
    let mut store = open_store(ctx)?;
    match action {
        ConfigAction::Set { key, value } => {
            let c = store
                .set_config(key, value, ctx.lang)
                .map_err(|e| CliError::new("config", e.message(ctx.lang)))?;
            let shown = c.display(key).unwrap_or_default();
            Ok(Output {
                human: format!("{key} = {shown}"),
                json: json!({ "key": key, "value": shown }),
            })
        }
        ConfigAction::Get { key } => {
            let c = load_config(&store, ctx)?;
            let v = c.get(key).ok_or_else(|| {
                CliError::new(
                    "config",
                    crate::config::ConfigError::UnknownKey(key.clone()).message(ctx.lang),
                )
            })?;
            Ok(Output {
                human: v.clone(),
                json: json!({ "key": key, "value": v }),
            })
        }
        ConfigAction::List => {
            let c = load_config(&store, ctx)?;
            let mut human = String::new();
            let mut obj = serde_json::Map::new();
            for key in KEYS {
                let v = c.display(key).unwrap_or_default();
                human.push_str(&format!("{key} = {v}\n"));
                obj.insert((*key).into(), v.into());
            }
            Ok(Output {
                human: human.trim_end().to_string(),
                json: json!({ "settings": obj }),
            })
        }
    }
}

pub fn keys_export(ctx: &Ctx) -> Result<Output, CliError> {
    let store = open_store(ctx)?;
    let c = load_config(&store, ctx)?;
    let key = store.device_key();
    let line = key.export_line(&c.union);
    Ok(Output {
        json: json!({
            "key_id": key.key_id(),
            "public_key": line.split_whitespace().nth(2).unwrap_or_default(),
            "issuer": c.union,
            "line": line,
        }),
        human: line,
    })
}

pub fn keys_regenerate(ctx: &Ctx) -> Result<Output, CliError> {
    let mut store = open_store(ctx)?;
    let key = store.regenerate_key().map_err(|e| match e {
        store::trust::RegenerateError::HasRecords => {
            CliError::new("has_records", t!(ctx.lang, "cli.regenerate_has_records"))
        }
        store::trust::RegenerateError::Store(e) => CliError::store(e, ctx),
    })?;
    Ok(Output {
        human: t!(ctx.lang, "cli.regenerated", key_id = key.key_id()),
        json: json!({ "key_id": key.key_id() }),
    })
}

/// `booth enroll CODE`: server, token and office fingerprint into the encrypted settings.
/// Offline is fine: the office key is checked against the first bundle at the first upload.
pub fn enroll(ctx: &Ctx, code: &str, server: Option<&str>) -> Result<Output, CliError> {
    use std::io::Read;
    let text = if code == "-" {
        let mut s = String::new();
        std::io::stdin()
            .take(16 * 1024)
            .read_to_string(&mut s)
            .map_err(|e| CliError::new("usage", e.to_string()))?;
        s
    } else {
        code.to_string()
    };
    let e = crate::card::enrol::Enrolment::parse(&text)
        .map_err(|e| CliError::new(e.code(), crate::sync::enrol::code_problem(&e, ctx.lang)))?;
    let mut store = open_store(ctx)?;
    if e.server.is_none() && server.is_none() && load_config(&store, ctx)?.server.is_none() {
        return Err(CliError::new(
            "no_server",
            t!(ctx.lang, "cli.enrol_no_server"),
        ));
    }
    store
        .enroll(&e, server, ctx.lang)
        .map_err(|err| CliError::new("config", err.message(ctx.lang)))?;
    let c = load_config(&store, ctx)?;
    Ok(Output {
        human: t!(
            ctx.lang,
            "cli.enrolled",
            server = c.server.clone().unwrap_or_default(),
            device = e.device.clone().unwrap_or_default(),
            fingerprint = e.office_key
        ),
        json: json!({
            "server": c.server,
            "device": e.device,
            "office_fingerprint": e.office_key,
        }),
    })
}
