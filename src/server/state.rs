//! What every request handler shares ([`ServerState`], kanidm's name for it): the database,
//! the office key (and the sealing keys it gives, [`Seals`]), the limits on memory held by
//! bodies and batches, and the verification page
//! and trust bundle as last built. It names no handler: the upload API, the verifier files
//! and the console's pages depend on it, the router on them, and nothing points back.

use std::sync::Arc;

use super::bundle::{self, BundleServeError};
use super::db::Db;
use super::gate::PasswordGate;
use super::metrics::Metrics;
use super::page;
use crate::card::office::OfficeKey;
use crate::card::seal::OfficeSealKey;
use crate::card::segment::Segment;
use crate::protocol;

/// Request bodies held at once unless `--body-memory` says otherwise: 96 MiB (six
/// maximum-size batches, or hundreds of ordinary ones: a batch of 500 records is about 0.5 MB).
pub const DEFAULT_BODY_MEMORY: usize = 96 * 1024 * 1024;

pub struct ServerState {
    pub db: Db,
    pub max_body: usize,
    /// Request-body bytes held at once across all requests, in KiB: past it, a new body
    /// waits (and gets 503 "busy" after a while) instead of growing the server's memory.
    pub body_budget: Arc<tokio::sync::Semaphore>,
    /// Batches being decoded, checked and stored at once. A decoded batch takes several times
    /// its body in memory and the database takes one writer (SQLite) or a pool's worth
    /// (PostgreSQL) anyway: more in flight only queue inside, holding memory while they wait.
    pub batch_slots: tokio::sync::Semaphore,
    /// What `/metrics` says ([`Metrics`]).
    pub metrics: Arc<Metrics>,
    pub office: Arc<OfficeKey>,
    /// What relayed segments and backups are sealed to: the office key's, and after a
    /// rotation the previous key's too ([`ServerState::with_previous_office`]).
    pub seals: Arc<Seals>,
    /// The verification page with its trust anchors filled in.
    pub page: String,
    /// The same, gzipped once.
    pub page_gz: Vec<u8>,
    /// Console logins' password checks: a few at once, a bounded queue ([`PasswordGate`]).
    pub password_gate: PasswordGate,
    /// The host name of the office's public URL (`server init --server-url`), lower-case,
    /// when one is configured: console and API requests naming another host are refused
    /// (DNS rebinding).
    pub public_host: Option<String>,
    /// The last bundle signed, by version: rebuilt only when the version moves.
    bundle_cache: tokio::sync::Mutex<Option<(u64, Arc<String>)>>,
}

impl ServerState {
    /// `body_memory`: bytes of request bodies held at once (at least one largest body).
    pub fn new(db: Db, max_body: usize, body_memory: usize, office: Arc<OfficeKey>) -> ServerState {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());

        let budget_kib = body_memory.max(max_body).div_ceil(1024);
        let metrics = Arc::new(Metrics::new(db.kind(), budget_kib.saturating_mul(1024)));
        let page = page::index_html(&office.fingerprint(), protocol::PATH_BUNDLE);
        ServerState {
            db,
            max_body,
            body_budget: Arc::new(tokio::sync::Semaphore::new(budget_kib)),
            metrics,
            batch_slots: tokio::sync::Semaphore::new((2 * cores).max(4)),
            page_gz: page::gzip(page.as_bytes()),
            page,
            seals: Arc::new(Seals::new(&office, None)),
            office,
            password_gate: PasswordGate::for_this_machine(),
            public_host: None,
            bundle_cache: tokio::sync::Mutex::new(None),
        }
    }

    /// The same state, also opening segments sealed to the office's previous key (the key
    /// file a rotation kept as `office-key.pem.old`).
    pub fn with_previous_office(self, previous: Option<&OfficeKey>) -> ServerState {
        ServerState {
            seals: Arc::new(Seals::new(&self.office, previous)),
            ..self
        }
    }

    /// The same state, answering only requests that name `host` (or an address) in `Host`.
    pub fn with_public_host(self, host: Option<String>) -> ServerState {
        ServerState {
            public_host: host.map(|h| h.to_ascii_lowercase()),
            ..self
        }
    }

    /// The current bundle (version, envelope text).
    pub async fn bundle(&self) -> Result<(u64, Arc<String>), BundleServeError> {
        let state = self.db.office_state().await?;
        let mut cache = self.bundle_cache.lock().await;
        if let Some((v, text)) = cache.as_ref()
            && *v == state.version
        {
            return Ok((*v, text.clone()));
        }
        let text = Arc::new(bundle::build(&self.db, &self.office, &state).await?);
        *cache = Some((state.version, text.clone()));
        Ok((state.version, text))
    }
}

/// The office's sealing keys: the current office key's, then the previous one's (after a
/// rotation, `office-key.pem.old`), for segments sealed before the laptops learnt the new one.
pub struct Seals {
    keys: Vec<OfficeSealKey>,
}

impl Seals {
    pub fn new(current: &OfficeKey, previous: Option<&OfficeKey>) -> Seals {
        let mut keys = vec![current.seal_key()];
        keys.extend(previous.map(OfficeKey::seal_key));
        Seals { keys }
    }

    /// The key the segment says it is sealed to, if it is one of ours.
    pub fn for_segment(&self, seg: &Segment) -> Option<&OfficeSealKey> {
        self.keys
            .iter()
            .find(|k| k.public().to_text() == seg.header.seal_key)
    }
}
