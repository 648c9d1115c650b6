//! `GET /metrics` (SPEC §13): the server's counters in the Prometheus text format (0.0.4),
//! on a listener of its own (`metrics_listen`, loopback by default) so that the upload port
//! never shows them. Names follow Prometheus' conventions: `booth_` prefix, counters end in
//! `_total`, durations are `_seconds`, label values come from closed sets (route templates,
//! refusal codes, outcomes): never a device name, member number or anything a client chose.
//!
//! Counted as requests go by ([`Metrics`], fed by the access log, the login form and the
//! connection layer); read at scrape time ([`Metrics::render`]): open connections, the body
//! budget, the database pool and the console's live sessions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use super::db::Db;

/// The `Content-Type` of a scrape's answer.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Request {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Upload {
    route: String,
    /// `stored`, or the refusal's code (`bad_signature`, `busy`, …).
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolState {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Build {
    version: &'static str,
    db: &'static str,
}

/// The routes whose requests are uploads (batches and relayed segments).
pub const UPLOAD_ROUTES: [&str; 2] = [
    crate::protocol::PATH_BATCHES,
    crate::protocol::PATH_SEGMENTS,
];

/// What a record's answer was, as the upload protocol names it.
pub const RECORD_OUTCOMES: [&str; 5] = [
    "accepted",
    "already_there",
    "rejected",
    "duplicate_person",
    "conflict",
];

/// The server's metrics: a registry and handles to what is counted in it.
pub struct Metrics {
    registry: Registry,
    requests: Family<Request, Counter>,
    uploads: Family<Upload, Counter>,
    upload_seconds: Family<Route, Histogram, fn() -> Histogram>,
    records: Family<Outcome, Counter>,
    days: Family<Outcome, Counter>,
    logins: Family<Outcome, Counter>,
    sessions: Gauge,
    connections: Counter,
    connections_open: Gauge,
    connections_max: Gauge,
    connections_closed: Family<Reason, Counter>,
    body_budget: Gauge,
    body_budget_free: Gauge,
    pool: Family<PoolState, Gauge>,
    pool_max: Gauge,
    db_up: Gauge,
    /// Connections open now (the listener adds and takes away; read at scrape).
    open: AtomicU64,
}

fn upload_histogram() -> Histogram {
    // 5 ms … 41 s: a small batch on loopback to a 5,000-record one on a slow disk
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

impl Metrics {
    /// `db`: the backend's name, in `booth_build_info`; `body_budget`: bytes of request
    /// bodies held at once at most.
    pub fn new(db: &'static str, body_budget: usize) -> Metrics {
        let mut r = Registry::with_prefix("booth");
        let m = Metrics {
            registry: Registry::default(),
            requests: Family::default(),
            uploads: Family::default(),
            upload_seconds: Family::new_with_constructor(upload_histogram as fn() -> Histogram),
            records: Family::default(),
            days: Family::default(),
            logins: Family::default(),
            sessions: Gauge::default(),
            connections: Counter::default(),
            connections_open: Gauge::default(),
            connections_max: Gauge::default(),
            connections_closed: Family::default(),
            body_budget: Gauge::default(),
            body_budget_free: Gauge::default(),
            pool: Family::default(),
            pool_max: Gauge::default(),
            db_up: Gauge::default(),
            open: AtomicU64::new(0),
        };
        r.register(
            "build",
            "This booth's version and database backend",
            Info::new(Build {
                version: env!("CARGO_PKG_VERSION"),
                db,
            }),
        );
        r.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            m.requests.clone(),
        );
        r.register(
            "uploads",
            "Uploads (batches, relayed segments) by outcome: stored, or the refusal's code",
            m.uploads.clone(),
        );
        r.register_with_unit(
            "upload_duration",
            "Time to answer an upload, from its headers to its answer",
            Unit::Seconds,
            m.upload_seconds.clone(),
        );
        r.register(
            "records",
            "Records in uploads, by their answer",
            m.records.clone(),
        );
        r.register(
            "day_summaries",
            "Booth day summaries in uploads, stored or rejected",
            m.days.clone(),
        );
        r.register(
            "console_logins",
            "Console logins: ok, failed (wrong name or password), throttled (too many guesses), busy (the password gate full)",
            m.logins.clone(),
        );
        r.register(
            "console_sessions",
            "Console sessions open (not expired)",
            m.sessions.clone(),
        );
        r.register("connections", "Connections accepted", m.connections.clone());
        r.register(
            "connections_open",
            "Connections open now",
            m.connections_open.clone(),
        );
        r.register(
            "connections_max",
            "Connections open at once at most (max_connections)",
            m.connections_max.clone(),
        );
        r.register(
            "connections_closed_early",
            "Connections closed before a request was answered, by reason",
            m.connections_closed.clone(),
        );
        r.register_with_unit(
            "body_budget",
            "Request body bytes the server holds at once at most (body_memory)",
            Unit::Bytes,
            m.body_budget.clone(),
        );
        r.register_with_unit(
            "body_budget_free",
            "Of the body budget, bytes free now",
            Unit::Bytes,
            m.body_budget_free.clone(),
        );
        r.register(
            "db_pool_connections",
            "Database connections, idle or in use",
            m.pool.clone(),
        );
        r.register(
            "db_pool_max_connections",
            "Database connections at most",
            m.pool_max.clone(),
        );
        r.register(
            "db_up",
            "1 when the database answered the last scrape's query",
            m.db_up.clone(),
        );
        m.body_budget.set(body_budget as i64);
        Metrics { registry: r, ..m }
    }

    /// One request answered (the access log calls this for every request).
    pub fn request(&self, method: &str, route: &str, status: u16) {
        self.requests
            .get_or_create(&Request {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
    }

    /// An upload answered: `refusal` its code, or `None` when stored.
    pub fn upload(&self, route: &str, refusal: Option<&'static str>, took: Duration) {
        self.uploads
            .get_or_create(&Upload {
                route: route.to_string(),
                outcome: refusal.unwrap_or("stored"),
            })
            .inc();
        self.upload_seconds
            .get_or_create(&Route {
                route: route.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// Records of an upload by answer (`outcome` one of [`RECORD_OUTCOMES`]).
    pub fn records(&self, outcome: &'static str, n: usize) {
        if n > 0 {
            self.records
                .get_or_create(&Outcome { outcome })
                .inc_by(n as u64);
        }
    }

    /// Day summaries of an upload, stored and rejected.
    pub fn days(&self, stored: usize, rejected: usize) {
        for (outcome, n) in [("stored", stored), ("rejected", rejected)] {
            if n > 0 {
                self.days
                    .get_or_create(&Outcome { outcome })
                    .inc_by(n as u64);
            }
        }
    }

    /// A login: `ok`, `failed`, `throttled` or `busy`.
    pub fn login(&self, outcome: &'static str) {
        self.logins.get_or_create(&Outcome { outcome }).inc();
    }

    /// A connection accepted; [`Metrics::connection_closed`] when it ends.
    pub fn connection_opened(&self) {
        self.connections.inc();
        self.open.fetch_add(1, Ordering::Relaxed);
    }

    pub fn connection_closed(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    /// A connection ended before its request was answered (`reason`: handshake_timeout,
    /// header_timeout, idle_timeout, …).
    pub fn closed_early(&self, reason: &'static str) {
        self.connections_closed
            .get_or_create(&Reason { reason })
            .inc();
    }

    pub fn set_max_connections(&self, n: usize) {
        self.connections_max.set(n as i64);
    }

    /// The text of a scrape: what is read now (connections, the body budget's free bytes,
    /// the pool, the console sessions seen since `idle_before` and opened since
    /// `opened_before`), then everything, encoded.
    pub async fn render(
        &self,
        db: &Db,
        body_budget_free: usize,
        idle_before: i64,
        opened_before: i64,
    ) -> String {
        self.connections_open
            .set(self.open.load(Ordering::Relaxed) as i64);
        self.body_budget_free.set(body_budget_free as i64);
        let pool = db.pool_status();
        self.pool
            .get_or_create(&PoolState { state: "idle" })
            .set(pool.idle as i64);
        self.pool
            .get_or_create(&PoolState { state: "in_use" })
            .set(pool.in_use as i64);
        self.pool_max.set(pool.max as i64);
        match db.live_sessions(idle_before, opened_before).await {
            Ok(n) => {
                self.sessions.set(n as i64);
                self.db_up.set(1);
            }
            Err(e) => {
                tracing::warn!(error = %e.message(crate::i18n::Lang::En), "metrics: database");
                self.db_up.set(0);
            }
        }
        let mut out = String::new();
        // writing to a String cannot fail
        let _ = prometheus_text::encode(&mut out, &self.registry);
        out
    }
}
