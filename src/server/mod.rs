//! The union office's ingest server (`booth server run`): HTTPS JSON, one bearer token per
//! laptop, batches stored whole or not at all, the laptop's own validation. Stateless apart
//! from its database, so several can run behind a load balancer on one PostgreSQL.
//!
//! - [`state`]: what every handler shares ([`state::ServerState`]); [`routes`]: the one
//!   router, over [`api`] (the upload API), [`verifier`] (the verification page's files) and
//!   [`console`]; [`access_log`] around them all; [`refusal`]: every refusal, one enum;
//!   [`body`]: reading a request body within the server's limits.
//! - [`listener`]: accepting connections on a hostile network (caps and time limits);
//!   [`settings`]: `server run`'s flags, environment and config file, one struct;
//!   [`metrics`]: `GET /metrics` for Prometheus, on its own listener.
//! - [`ingest`]: per-record checks that need no database (hash, validation), making the
//!   [`batch`] types the database stores.
//! - [`db`]: SQLite and PostgreSQL storage, migrations, classification.
//! - [`auth`]: device tokens.
//! - [`export`]: the office's copy of all records as xlsx/csv/json.
//! - [`console`]: the office's web console (users, sessions, pages, audit).
//! - [`relay`]: a laptop's segments taken on its own signature and binding, whoever
//!   delivers them ([`relay_api`]: `POST /v1/segments`; a backup file).
//! - [`office`]: the office key's file; [`bundle`]: the signed trust bundle;
//!   [`page`]: the card verification page (docs/trust.md, docs/verifier.md), written for a
//!   static host through [`nofollow`] (no symbolic link followed) by [`publish`], which
//!   `server run --publish-dir` runs again whenever the bundle changes.
//! - [`zone`]: the office's time zone, for every time shown.

pub mod access_log;
pub mod api;
pub mod auth;
pub mod batch;
pub mod body;
pub mod bundle;
pub mod console;
pub mod db;
pub mod export;
pub mod gate;
pub mod ingest;
pub mod listener;
pub mod metrics;
pub mod nofollow;
pub mod office;
pub mod page;
pub mod publish;
pub mod refusal;
pub mod relay;
pub mod relay_api;
pub mod routes;
pub mod settings;
pub mod state;
pub mod unions;
pub mod verifier;
pub mod zone;

#[cfg(test)]
mod module_graph;

use std::path::PathBuf;
use std::sync::Arc;

use crate::card::bundle::key_text;
use crate::card::office::OfficeKey;
use crate::i18n::Lang;
use crate::t;
pub use db::{Db, DbError, OfficeState, ServerStats};

/// `booth server run` options.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub listen: String,
    pub db: String,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub max_body: usize,
    /// Bytes of request bodies held in memory at once, across all requests.
    pub body_memory: usize,
    pub limits: listener::Limits,
    pub office: Arc<OfficeKey>,
    /// After a rotation, the previous office key (`office-key.pem.old`): segments sealed to
    /// it still open.
    pub previous_office: Option<Arc<OfficeKey>>,
    /// Where `GET /metrics` answers (`None`: nowhere).
    pub metrics_listen: Option<String>,
    /// Whether `metrics_listen` was asked for: then an address that cannot be bound stops
    /// the server; the default one only warns (another server on this machine may hold it).
    pub metrics_required: bool,
    /// The language of what is printed for the person starting the server.
    pub lang: Lang,
    /// `--publish-dir`: a folder kept holding a published copy of the page and the current
    /// bundle (rewritten whenever the bundle's version moves).
    pub publish_dir: Option<PathBuf>,
    /// A TLS-terminating proxy in front: its `X-Forwarded-For`/`-Proto` are believed.
    pub trusted_proxy: Option<std::net::IpAddr>,
}

/// Records the office key in the database on first use, and refuses a key file that is not
/// the one the database knows (a wrong `--office-key`, or a rotation half done): a server
/// signing with another key would make every laptop refuse its bundles.
pub async fn claim_office_key(
    db: &Db,
    office: &OfficeKey,
    lang: Lang,
) -> Result<OfficeState, DbError> {
    let mine = key_text(&office.public());
    let fp = office.fingerprint();
    let message = t!(lang, "server.office_key_mismatch", fingerprint = fp);
    db.update_office(move |s| match &s.office_key {
        None => Ok((
            OfficeState {
                office_key: Some(mine),
                ..s.clone()
            },
            false,
        )),
        Some(k) if *k == mine => Ok((s.clone(), false)),
        Some(_) => Err(DbError::Office("office_key_mismatch", message)),
    })
    .await
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot listen on {addr}: {why}")]
    Listen { addr: String, why: std::io::Error },
    #[error("TLS certificate or key: {0}")]
    Tls(std::io::Error),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

impl ServeError {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            ServeError::Db(e) => e.message(lang),
            ServeError::Listen { addr, why } => t!(lang, "server.listen", addr = addr, why = why),
            ServeError::Tls(e) => t!(lang, "server.tls", why = e),
            ServeError::Io(e) => t!(lang, "server.io", why = e),
        }
    }
}

/// A tokio runtime for the server and its admin commands.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Runs until SIGINT/SIGTERM. Prints `{"listening":"ADDR","tls":BOOL}` on stdout once bound,
/// so scripts and tests can use `--listen 127.0.0.1:0` and learn the port.
pub fn run(opts: &RunOptions) -> Result<(), ServeError> {
    crate::tls::install_crypto_provider();
    runtime()?.block_on(serve(opts))
}

async fn serve(opts: &RunOptions) -> Result<(), ServeError> {
    let db = Db::open(&opts.db).await?;
    let office_state = claim_office_key(&db, &opts.office, opts.lang).await?;
    let public_host = office_state.server_url.as_deref().and_then(url_host);
    let tls = match &opts.tls {
        Some((cert, key)) => Some(tokio_rustls::TlsAcceptor::from(Arc::new(
            crate::tls::server_config(cert, key).map_err(ServeError::Tls)?,
        ))),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(&opts.listen)
        .await
        .map_err(|why| ServeError::Listen {
            addr: opts.listen.clone(),
            why,
        })?;
    let addr = listener.local_addr()?;
    let kind = db.kind();
    let state = Arc::new(
        state::ServerState::new(db, opts.max_body, opts.body_memory, opts.office.clone())
            .with_previous_office(opts.previous_office.as_deref())
            .with_public_host(public_host),
    );
    let metrics = match &opts.metrics_listen {
        None => None,
        Some(m) => match tokio::net::TcpListener::bind(m).await {
            Ok(l) => Some(l),
            Err(why) if opts.metrics_required => {
                return Err(ServeError::Listen {
                    addr: m.clone(),
                    why,
                });
            }
            Err(why) => {
                tracing::warn!(addr = %m, error = %why, "metrics not served: cannot listen");
                eprintln!(
                    "{}",
                    t!(opts.lang, "server.metrics_off", addr = m, why = why)
                );
                None
            }
        },
    };
    let metrics_addr = match &metrics {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };
    let has_tls = tls.is_some();
    if !has_tls && !addr.ip().is_loopback() {
        // personal data would cross the network readable by anyone on the way
        tracing::warn!(%addr, "plain HTTP on a non-loopback address: use --tls-cert/--tls-key");
        eprintln!("{}", t!(opts.lang, "server.plain_http", addr = addr));
    }
    let signalled = shutdown_signal();
    tracing::info!(
        %addr,
        db = kind,
        tls = has_tls,
        max_body = opts.max_body,
        max_connections = opts.limits.max_connections,
        "server listening"
    );
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({
                "listening": addr.to_string(),
                "tls": has_tls,
                "db": kind,
                "metrics": metrics_addr.map(|a| a.to_string()),
            })
        );
        let _ = out.flush();
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    if let Some(l) = metrics {
        // a few connections, short time limits: Prometheus scrapes it, nobody else
        let limits = listener::Limits {
            max_connections: 16,
            ..opts.limits
        };
        let router = routes::metrics_router(state.clone());
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let stop = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            listener::serve(l, None, router, limits, None, None, stop).await;
        });
    }
    systemd_ready();
    let publisher = opts
        .publish_dir
        .clone()
        .map(|dir| tokio::spawn(publish::keep_published(state.clone(), dir)));
    let shutdown = async {
        signalled.await;
        tracing::info!("shutting down");
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
        let _ = stop.send(true);
    };
    let counted = Some(state.metrics.clone());
    listener::serve(
        listener,
        tls,
        routes::router(state),
        opts.limits,
        opts.trusted_proxy,
        counted,
        shutdown,
    )
    .await;
    if let Some(p) = publisher {
        p.abort();
    }
    Ok(())
}

/// The host of `https://HOST:PORT/…` (without port; an IPv6 literal without brackets).
fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host_port.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Under systemd (`Type=notify`): says READY=1 now that the server listens, and, when the
/// unit sets `WatchdogSec`, WATCHDOG=1 at half that period from the runtime that serves the
/// requests: a server whose runtime hangs stops feeding it, and systemd restarts it. Without
/// `NOTIFY_SOCKET` (not started by systemd) nothing is sent.
fn systemd_ready() {
    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Ready]) {
        tracing::warn!(error = %e, "systemd readiness notification failed");
    }
    if let Some(period) = sd_notify::watchdog_enabled() {
        tracing::info!(period_ms = period.as_millis() as u64, "systemd watchdog on");
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period / 2);
            loop {
                tick.tick().await;
                if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]) {
                    tracing::warn!(error = %e, "systemd watchdog notification failed");
                }
            }
        });
    }
}

/// SIGINT or SIGTERM. The handlers are set when this is called, not when the future is first
/// polled: a SIGTERM that comes right after the server said it listens (systemd stopping a
/// service it just started) ends it gracefully, not by the signal's default.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_host_of_a_server_url() {
        use super::url_host;
        assert_eq!(
            url_host("https://Booth.Office.lan:8443").as_deref(),
            Some("booth.office.lan")
        );
        assert_eq!(
            url_host("https://booth.office.lan/x?y").as_deref(),
            Some("booth.office.lan")
        );
        assert_eq!(url_host("http://[::1]:80").as_deref(), Some("::1"));
        assert_eq!(url_host("nonsense"), None);
        assert_eq!(url_host("https://:443"), None);
    }
}
