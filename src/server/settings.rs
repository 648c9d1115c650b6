//! `booth server run`'s settings (SPEC §13): each one is a flag, an environment variable and a
//! key of the `--config` file (TOML), all from the one struct [`ServerSettings`], so that a
//! setting added there is all three at once. Precedence: the flag, then the environment (clap
//! reads both), then the file, then the default ([`ServerSettings::resolve`]).
//!
//! `db_file` names a file holding the database URL with its password, so that the URL is in
//! neither the unit, the process list nor the readable config file.

use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::t;

/// Where the server listens unless told.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8443";
/// Where `GET /metrics` answers unless told (Prometheus' port range for exporters).
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";
/// `metrics_listen = "off"`: no metrics listener at all.
pub const METRICS_OFF: &str = "off";
/// Largest request body accepted unless told.
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;
const DEFAULT_HEADER_TIMEOUT: u64 = 10;
const DEFAULT_IDLE_TIMEOUT: u64 = 60;
/// The largest configuration file read (a config is a few hundred bytes).
const MAX_FILE: u64 = 1024 * 1024;

/// Every setting of `booth server run` (and `check-config`). Each field is a flag `--NAME`
/// (`_` written `-`), an environment variable `BOOTH_SERVER_NAME` (the office key keeps the
/// `BOOTH_OFFICE_KEY` every server command reads) and a key `NAME` of the config file. All
/// optional here: the defaults are applied after the layers are merged.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address and port to listen on (default 127.0.0.1:8443).
    #[arg(long, env = "BOOTH_SERVER_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// sqlite:FILE or postgres://USER:PASS@HOST/DB
    #[arg(long, env = "BOOTH_SERVER_DB")]
    pub db: Option<String>,
    /// A file holding the database URL, with its password (instead of --db).
    #[arg(long, env = "BOOTH_SERVER_DB_FILE", value_name = "FILE")]
    pub db_file: Option<PathBuf>,
    /// The office's Ed25519 key, PKCS#8 PEM, 0600 (default: office-key.pem beside a SQLite
    /// database; required with PostgreSQL). Made by the first command that needs it.
    #[arg(long, env = "BOOTH_OFFICE_KEY", value_name = "FILE")]
    pub office_key: Option<PathBuf>,
    /// The server's TLS certificate chain, PEM (with --tls-key; without both, plain HTTP).
    #[arg(long, env = "BOOTH_SERVER_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The TLS certificate's private key, PEM.
    #[arg(long, env = "BOOTH_SERVER_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Where GET /metrics answers, Prometheus text format (default 127.0.0.1:9464; `off`: no
    /// metrics).
    #[arg(long, env = "BOOTH_SERVER_METRICS_LISTEN", value_name = "ADDR:PORT")]
    pub metrics_listen: Option<String>,
    /// Largest request body accepted, in bytes (default 16777216).
    #[arg(long, env = "BOOTH_SERVER_MAX_BODY", value_name = "BYTES")]
    pub max_body: Option<usize>,
    /// Bytes of request bodies held in memory at once, across all requests; more wait.
    #[arg(long, env = "BOOTH_SERVER_BODY_MEMORY", value_name = "BYTES")]
    pub body_memory: Option<usize>,
    /// Connections open at once (default: below this process's open-file limit).
    #[arg(long, env = "BOOTH_SERVER_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Seconds a client has to send a request's headers (and to finish a TLS handshake;
    /// default 10).
    #[arg(long, env = "BOOTH_SERVER_HEADER_TIMEOUT", value_name = "SECONDS")]
    pub header_timeout: Option<u64>,
    /// Seconds a connection may stay silent (mid-body, or waiting on us) before it is closed
    /// (default 60).
    #[arg(long, env = "BOOTH_SERVER_IDLE_TIMEOUT", value_name = "SECONDS")]
    pub idle_timeout: Option<u64>,
    /// The address of a TLS-terminating proxy in front of the server: its X-Forwarded-For
    /// and X-Forwarded-Proto are believed (from no one else).
    #[arg(long, env = "BOOTH_SERVER_TRUSTED_PROXY", value_name = "ADDR")]
    pub trusted_proxy: Option<std::net::IpAddr>,
    /// Keep a copy of the card check page and the current bundle in DIR for a static host
    /// (as `publish-verifier --out DIR`), written again whenever the bundle changes.
    #[arg(long, env = "BOOTH_SERVER_PUBLISH_DIR", value_name = "DIR")]
    pub publish_dir: Option<PathBuf>,
}

/// Keys of which one layer's choice is taken whole: an environment's `BOOTH_SERVER_DB`
/// replaces the file's `db_file`, rather than the two meeting and refusing each other.
const ONE_OF: &[&[&str]] = &[&["db", "db_file"]];

/// The settings after merging and defaults: what the server runs with.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub listen: String,
    /// The database URL (from `db`, or read from `db_file`): may hold a password, so it is
    /// never printed as it is ([`redacted_db_url`]).
    pub db: String,
    /// Where the URL came from: `db`, or the `db_file` path.
    pub db_from: Option<PathBuf>,
    pub office_key: Option<PathBuf>,
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `None`: `metrics_listen = "off"`.
    pub metrics_listen: Option<String>,
    /// Whether `metrics_listen` was given (a given address that cannot be bound stops the
    /// server; the default one only warns: another server on the machine may hold it).
    pub metrics_given: bool,
    pub max_body: usize,
    pub body_memory: usize,
    pub max_connections: Option<usize>,
    pub header_timeout: u64,
    pub idle_timeout: u64,
    pub trusted_proxy: Option<std::net::IpAddr>,
    pub publish_dir: Option<PathBuf>,
}

/// A setting that cannot be used, naming the key and why.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read {path}: {why}")]
    Read { path: PathBuf, why: std::io::Error },
    #[error("{path}: {why}")]
    Parse { path: PathBuf, why: String },
    #[error("{key} missing")]
    Missing { key: &'static str },
    #[error("{a} and {b} both set")]
    Both { a: &'static str, b: &'static str },
    #[error("{key} needs {needs}")]
    Pair {
        key: &'static str,
        needs: &'static str,
    },
    #[error("db_file {path}: {why}")]
    DbFile { path: PathBuf, why: String },
    #[error("{key} is 0")]
    Zero { key: &'static str },
    #[error("{key} = {value}: {why}")]
    Address {
        key: &'static str,
        value: String,
        why: String,
    },
}

impl SettingsError {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            SettingsError::Read { path, why } => {
                t!(lang, "settings.read", path = path.display(), why = why)
            }
            SettingsError::Parse { path, why } => {
                t!(lang, "settings.parse", path = path.display(), why = why)
            }
            SettingsError::Missing { key } => t!(lang, "settings.missing", key = key),
            SettingsError::Both { a, b } => t!(lang, "settings.both", a = a, b = b),
            SettingsError::Pair { key, needs } => {
                t!(lang, "settings.pair", key = key, needs = needs)
            }
            SettingsError::DbFile { path, why } => {
                t!(lang, "settings.db_file", path = path.display(), why = why)
            }
            SettingsError::Zero { key } => t!(lang, "settings.zero", key = key),
            SettingsError::Address { key, value, why } => {
                t!(
                    lang,
                    "settings.address",
                    key = key,
                    value = value,
                    why = why
                )
            }
        }
    }
}

impl ServerSettings {
    /// Reads a config file: TOML, only the keys above (a misspelt key is refused, naming it
    /// and its line, rather than silently ignored).
    pub fn from_file(path: &Path) -> Result<ServerSettings, SettingsError> {
        use std::io::Read;
        let read_err = |why| SettingsError::Read {
            path: path.into(),
            why,
        };
        let file = std::fs::File::open(path).map_err(read_err)?;
        let mut text = String::new();
        file.take(MAX_FILE)
            .read_to_string(&mut text)
            .map_err(read_err)?;
        toml::from_str(&text).map_err(|e| SettingsError::Parse {
            path: path.into(),
            why: e.to_string().trim().to_string(),
        })
    }

    /// `self` (flags and environment) over `base` (the file): every key `self` sets wins.
    /// Written over the serialised form, so a field added to the struct needs nothing here.
    pub fn over(&self, base: &ServerSettings) -> ServerSettings {
        let to_map = |s: &ServerSettings| match serde_json::to_value(s) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        let top = to_map(self);
        let mut merged = to_map(base);
        for group in ONE_OF {
            if group.iter().any(|k| !top[*k].is_null()) {
                for k in *group {
                    merged.insert((*k).to_string(), serde_json::Value::Null);
                }
            }
        }
        for (k, v) in top {
            if !v.is_null() {
                merged.insert(k, v);
            }
        }
        serde_json::from_value(serde_json::Value::Object(merged)).unwrap_or_else(|_| self.clone())
    }

    /// The settings of a command line: `config` read (if given) under `self`.
    pub fn with_file(&self, config: Option<&Path>) -> Result<ServerSettings, SettingsError> {
        match config {
            Some(path) => Ok(self.over(&ServerSettings::from_file(path)?)),
            None => Ok(self.clone()),
        }
    }

    /// Checks what can be checked without the network or the database, reads `db_file`,
    /// and applies the defaults.
    pub fn resolve(&self) -> Result<Resolved, SettingsError> {
        let (db, db_from) = match (&self.db, &self.db_file) {
            (Some(_), Some(_)) => {
                return Err(SettingsError::Both {
                    a: "db",
                    b: "db_file",
                });
            }
            (Some(url), None) => (url.trim().to_string(), None),
            (None, Some(path)) => (read_db_file(path)?, Some(path.clone())),
            (None, None) => return Err(SettingsError::Missing { key: "db" }),
        };
        if db.is_empty() {
            return Err(SettingsError::Missing { key: "db" });
        }
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            (None, None) => None,
            (Some(_), None) => {
                return Err(SettingsError::Pair {
                    key: "tls_cert",
                    needs: "tls_key",
                });
            }
            (None, Some(_)) => {
                return Err(SettingsError::Pair {
                    key: "tls_key",
                    needs: "tls_cert",
                });
            }
        };
        let listen = self.listen.clone().unwrap_or_else(|| DEFAULT_LISTEN.into());
        check_address("listen", &listen)?;
        let metrics_listen = match self.metrics_listen.as_deref().map(str::trim) {
            Some(METRICS_OFF) => None,
            Some(addr) => {
                check_address("metrics_listen", addr)?;
                Some(addr.to_string())
            }
            None => Some(DEFAULT_METRICS_LISTEN.to_string()),
        };
        for (key, v) in [
            ("max_body", self.max_body.map(|v| v as u64)),
            ("body_memory", self.body_memory.map(|v| v as u64)),
            ("max_connections", self.max_connections.map(|v| v as u64)),
            ("header_timeout", self.header_timeout),
            ("idle_timeout", self.idle_timeout),
        ] {
            if v == Some(0) {
                return Err(SettingsError::Zero { key });
            }
        }
        Ok(Resolved {
            listen,
            db,
            db_from,
            office_key: self.office_key.clone(),
            tls,
            metrics_given: self.metrics_listen.is_some(),
            metrics_listen,
            max_body: self.max_body.unwrap_or(DEFAULT_MAX_BODY),
            body_memory: self
                .body_memory
                .unwrap_or(super::state::DEFAULT_BODY_MEMORY),
            max_connections: self.max_connections,
            header_timeout: self.header_timeout.unwrap_or(DEFAULT_HEADER_TIMEOUT),
            idle_timeout: self.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT),
            trusted_proxy: self.trusted_proxy,
            publish_dir: self.publish_dir.clone(),
        })
    }
}

/// The URL in `db_file`: its first non-empty line, trimmed.
fn read_db_file(path: &Path) -> Result<String, SettingsError> {
    let err = |why: String| SettingsError::DbFile {
        path: path.into(),
        why,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if meta.len() > MAX_FILE {
        return Err(err(format!("{} bytes", meta.len())));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .to_string())
}

/// An address to listen on: HOST:PORT that resolves (a name is looked up, as bind does).
fn check_address(key: &'static str, value: &str) -> Result<(), SettingsError> {
    let err = |why: String| SettingsError::Address {
        key,
        value: value.to_string(),
        why,
    };
    match value.to_socket_addrs() {
        Ok(addrs) if addrs.len() > 0 => Ok(()),
        Ok(_) => Err(err("no address".into())),
        Err(e) => Err(err(e.to_string())),
    }
}

/// The database URL fit to print: a password in it replaced by `***`.
pub fn redacted_db_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let host_start = rest.find('/').unwrap_or(rest.len());
    match rest[..host_start].rfind('@') {
        Some(at) => {
            let user = &rest[..at];
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            let masked = if rest[..at].contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            format!("{scheme}://{masked}{}", &rest[at..])
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command, FromArgMatches};

    fn parse(args: &[&str]) -> ServerSettings {
        let cmd = ServerSettings::augment_args(Command::new("run").no_binary_name(true));
        let m = cmd.try_get_matches_from(args).expect("parse");
        ServerSettings::from_arg_matches(&m).expect("settings")
    }

    /// Every flag is a key of the file and has an environment variable: a setting added to
    /// the struct without one of the three fails here.
    #[test]
    fn every_flag_is_a_key_and_an_environment_variable() {
        let cmd = ServerSettings::augment_args(Command::new("run"));
        let mut seen = 0;
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            let long = arg.get_long().expect("a long flag");
            assert_eq!(long.replace('-', "_"), id, "--{long} is key {id}");
            let env = arg.get_env().expect("an environment variable");
            let want = if id == "office_key" {
                "BOOTH_OFFICE_KEY".to_string()
            } else {
                format!("BOOTH_SERVER_{}", id.to_uppercase())
            };
            assert_eq!(env.to_str(), Some(want.as_str()), "--{long}");
            // the key is accepted in a file, with a value of the flag's type
            let value = match id {
                "max_body" | "body_memory" | "max_connections" | "header_timeout"
                | "idle_timeout" => "5".to_string(),
                "trusted_proxy" => "\"127.0.0.1\"".to_string(),
                _ => "\"127.0.0.1:1\"".to_string(),
            };
            let from_file: ServerSettings =
                toml::from_str(&format!("{id} = {value}")).expect("key in a file");
            let from_flag = parse(&[&format!("--{long}"), value.trim_matches('"')]);
            assert_eq!(from_file, from_flag, "{id}");
            seen += 1;
        }
        assert!(seen >= 12, "{seen} settings");
    }

    #[test]
    fn flags_win_over_the_file_and_db_is_taken_whole() {
        let file: ServerSettings = toml::from_str(
            "listen = \"127.0.0.1:1\"\ndb_file = \"/etc/booth/db-url\"\nidle_timeout = 7",
        )
        .unwrap();
        let merged = parse(&["--listen", "127.0.0.1:2", "--db", "sqlite:x.db"]).over(&file);
        assert_eq!(merged.listen.as_deref(), Some("127.0.0.1:2"));
        assert_eq!(merged.db.as_deref(), Some("sqlite:x.db"));
        assert_eq!(merged.db_file, None);
        assert_eq!(merged.idle_timeout, Some(7));
    }

    #[test]
    fn a_misspelt_key_is_refused_by_name() {
        let e = toml::from_str::<ServerSettings>("lisen = \"127.0.0.1:1\"").unwrap_err();
        assert!(e.to_string().contains("lisen"), "{e}");
    }

    #[test]
    fn defaults_and_refusals() {
        let r = parse(&["--db", "sqlite:x.db"]).resolve().unwrap();
        assert_eq!(r.listen, DEFAULT_LISTEN);
        assert_eq!(r.metrics_listen.as_deref(), Some(DEFAULT_METRICS_LISTEN));
        assert!(!r.metrics_given);
        assert_eq!(r.max_body, DEFAULT_MAX_BODY);
        let off = parse(&["--db", "sqlite:x", "--metrics-listen", "off"]);
        assert_eq!(off.resolve().unwrap().metrics_listen, None);
        for (args, key) in [
            (vec![], "db"),
            (vec!["--db", "sqlite:x", "--tls-cert", "c"], "tls_cert"),
            (
                vec!["--db", "sqlite:x", "--idle-timeout", "0"],
                "idle_timeout",
            ),
            (vec!["--db", "sqlite:x", "--listen", "nowhere"], "listen"),
        ] {
            let e = parse(&args).resolve().unwrap_err();
            assert!(e.message(Lang::En).contains(key), "{args:?}: {e}");
            assert!(e.message(Lang::Zh).contains(key), "{args:?}: {e}");
        }
    }

    #[test]
    fn a_password_is_never_printed() {
        assert_eq!(
            redacted_db_url("postgres://booth:s3cret@db.lan:5432/booth"),
            "postgres://booth:***@db.lan:5432/booth"
        );
        assert_eq!(
            redacted_db_url("postgres://booth@db.lan/booth"),
            "postgres://booth@db.lan/booth"
        );
        assert_eq!(
            redacted_db_url("sqlite:/var/lib/booth/office.db"),
            "sqlite:/var/lib/booth/office.db"
        );
    }
}
