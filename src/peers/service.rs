//! The peer service of a laptop that holds its data folder (the UI, or `booth peers run`):
//! it listens for pairings and sessions, calls its paired laptops, and keeps them in step —
//! same-person marks within moments of a registration, segments of its queue, its marks.
//!
//! Threads: one accepts connections, one calls the paired laptops it is not in session
//! with (every second), one watches the store for changes (every 200 ms, a `PRAGMA
//! data_version` check) and sends what changed, one per session reads what the peer sends,
//! and discovery's (`super::discovery`). All use one store handle of their own, one at a
//! time; none holds it while it waits on the network.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::group::{self, Card};
use super::pairing::{self, Code, Me, PairError, Paired};
use super::transport::{KIND_PAIRING, KIND_SESSION, Session, StaticKey};
use super::wire::{Mark, Msg, b64, unb64};
use crate::card::DeviceKey;
use crate::card::segment::Segment;
use crate::store::peers as sp;
use crate::store::{Store, StoreError};

/// The port peers listen on unless told otherwise.
pub const DEFAULT_PORT: u16 = 47410;
/// Segments per session message in a catch-up.
const SEGMENTS_PER_MESSAGE: usize = 20;

/// How to run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where to listen; port 0 picks one.
    pub listen: SocketAddr,
    /// mDNS and UDP broadcast (off in tests that want the hand-typed address only).
    pub discovery: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), DEFAULT_PORT),
            discovery: true,
        }
    }
}

struct Live {
    session: Arc<Session>,
}

pub(crate) struct Inner {
    store: Mutex<Store>,
    device: DeviceKey,
    statics: StaticKey,
    name: String,
    port: u16,
    /// The address listened on, when it is one address (not 0.0.0.0).
    listen_ip: Option<IpAddr>,
    sessions: Mutex<HashMap<[u8; 32], Live>>,
    dialing: Mutex<HashSet<[u8; 32]>>,
    code: Mutex<Option<Code>>,
    /// Addresses discovery saw booth laptops at (who they are, the handshake tells).
    pub(crate) candidates: Mutex<HashSet<SocketAddr>>,
    stop: AtomicBool,
    /// Why segments cannot be made, if they cannot (shown by `peers list`).
    replica_problem: Mutex<Option<String>>,
    /// Laptops that paired with this one's code, not yet shown to its operator (the UI asks
    /// whether each is the laptop beside it).
    admitted: Mutex<Vec<String>>,
}

/// The running service; dropping it stops the threads at their next turn and closes the
/// sessions.
pub struct Service {
    inner: Arc<Inner>,
    _discovery: Option<super::discovery::Discovery>,
}

static RUNNING: Mutex<Option<Weak<Inner>>> = Mutex::new(None);

/// The service this process runs, for commands run through the local socket (`peers code`
/// needs its listener).
pub fn running() -> Option<Handle> {
    RUNNING
        .lock()
        .ok()?
        .as_ref()?
        .upgrade()
        .map(|inner| Handle { inner })
}

/// A handle on the running service.
#[derive(Clone)]
pub struct Handle {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The name this laptop shows its peers: its device name at the office, else its key id.
pub fn own_name(conn: &rusqlite::Connection, key: &DeviceKey) -> Result<String, StoreError> {
    Ok(sp::enrolment(conn)?
        .0
        .unwrap_or_else(|| key.key_id().to_string()))
}

/// What pairing needs of this laptop, read from its store.
fn me<'a>(
    store: &mut Store,
    device: &'a DeviceKey,
    statics: &StaticKey,
) -> Result<Me<'a>, StoreError> {
    let conn = store.peer_connection();
    let name = own_name(conn, device)?;
    let office = sp::config_on(conn)?.office_key.unwrap_or_default();
    let admissions = sp::peers(conn)?
        .into_iter()
        .filter(|p| !p.forgotten)
        .map(|p| p.admission)
        .collect();
    Ok(Me {
        device,
        card: Card::new(&name, device, statics.public(), &office),
        group: sp::group_secret(conn)?,
        admissions,
    })
}

/// Pins what a pairing gave: the peer, the members it brought, the group secret.
fn keep_pairing(store: &mut Store, p: &Paired, address: Option<String>) -> Result<(), StoreError> {
    let conn = store.peer_connection();
    let own = store_key(conn)?;
    sp::set_group_secret(conn, &p.group)?;
    sp::pin_peer(conn, &row(&p.peer, address), true)?;
    merge_members(conn, &own, &p.members)?;
    Ok(())
}

/// The group as this laptop tells it: every admission it holds, and the addresses it knows.
fn members_msg(conn: &rusqlite::Connection) -> Result<Msg, StoreError> {
    let peers = sp::peers(conn)?;
    let live: Vec<&sp::PeerRow> = peers.iter().filter(|p| !p.forgotten).collect();
    Ok(Msg::Members {
        members: live.iter().map(|p| p.admission.clone()).collect(),
        addresses: live
            .iter()
            .filter_map(|p| Some((b64(&p.device_key), p.address.clone()?)))
            .collect(),
    })
}

/// Tells every session the group changed.
fn announce_members(inner: &Arc<Inner>) {
    let msg = {
        let mut store = lock(&inner.store);
        members_msg(store.peer_connection())
    };
    if let Ok(msg) = msg {
        broadcast(inner, &msg, None);
    }
}

fn store_key(conn: &rusqlite::Connection) -> Result<DeviceKey, StoreError> {
    Ok(crate::store::trust::device_key(conn)?.0)
}

fn row(m: &group::Member, address: Option<String>) -> sp::PeerRow {
    sp::PeerRow {
        device_key: m.device_key.to_bytes(),
        key_id: m.key_id.clone(),
        name: m.card.name.clone(),
        transport_key: m.transport_key,
        admission: m.admission.clone(),
        address,
        last_seen: None,
        forgotten: false,
    }
}

/// Pins the members of `admissions` that chain back to this laptop or its pinned peers.
fn merge_members(
    conn: &rusqlite::Connection,
    own: &DeviceKey,
    admissions: &[String],
) -> Result<usize, StoreError> {
    let pinned = sp::peers(conn)?;
    let mut trusted = vec![own.public()];
    for p in pinned.iter().filter(|p| !p.forgotten) {
        if let Ok(k) = crate::card::keys::acceptable_key(&p.device_key) {
            trusted.push(k);
        }
    }
    let mut n = 0;
    for m in group::closure(admissions, &trusted) {
        if m.device_key == own.public()
            || pinned
                .iter()
                .any(|p| p.device_key == m.device_key.to_bytes())
        {
            continue;
        }
        if sp::pin_peer(conn, &row(&m, None), false)? {
            tracing::info!(key_id = m.key_id, "group member pinned");
            n += 1;
        }
    }
    Ok(n)
}

/// Pairs with the laptop at `addr` showing `code`, without a running service (the command
/// line on a folder nobody holds).
pub fn pair_offline(
    store: &mut Store,
    code: &str,
    addr: SocketAddr,
) -> Result<String, PairFailure> {
    let device = DeviceKey::from_secret(&store.device_key().secret());
    let statics = StaticKey::of_device(&device);
    let me = me(store, &device, &statics)?;
    let stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(PairError::from)?;
    let paired = pairing::join(stream, code, &me)?;
    keep_pairing(store, &paired, Some(addr.to_string()))?;
    Ok(paired.peer.card.name.clone())
}

#[derive(Debug, thiserror::Error)]
pub enum PairFailure {
    #[error(transparent)]
    Pair(#[from] PairError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Service {
    /// Starts the service on a folder `store` holds (the service takes its own share).
    pub fn start(store: &Store, settings: &Settings) -> Result<Service, StartError> {
        let mut mine = store.share()?;
        let device = DeviceKey::from_secret(&store.device_key().secret());
        let statics = StaticKey::of_device(&device);
        let conn = mine.peer_connection();
        let name = own_name(conn, &device)?;
        let listener = TcpListener::bind(settings.listen).or_else(|e| {
            // the usual port taken (another program): any port, found again by discovery
            if settings.listen.port() == DEFAULT_PORT {
                TcpListener::bind(SocketAddr::new(settings.listen.ip(), 0))
            } else {
                Err(e)
            }
        })?;
        let port = listener.local_addr()?.port();
        let inner = Arc::new(Inner {
            store: Mutex::new(mine),
            device,
            statics,
            name,
            port,
            listen_ip: Some(settings.listen.ip()).filter(|ip| !ip.is_unspecified()),
            sessions: Mutex::new(HashMap::new()),
            dialing: Mutex::new(HashSet::new()),
            code: Mutex::new(None),
            candidates: Mutex::new(HashSet::new()),
            stop: AtomicBool::new(false),
            replica_problem: Mutex::new(None),
            admitted: Mutex::new(Vec::new()),
        });
        *lock(&RUNNING) = Some(Arc::downgrade(&inner));
        spawn("peers-accept", {
            let inner = inner.clone();
            move || accept_loop(&inner, listener)
        })?;
        spawn("peers-call", {
            let inner = Arc::downgrade(&inner);
            move || call_loop(inner)
        })?;
        spawn("peers-watch", {
            let inner = Arc::downgrade(&inner);
            move || watch_loop(inner)
        })?;
        let discovery = if settings.discovery {
            super::discovery::Discovery::start(Arc::downgrade(&inner), port).ok()
        } else {
            None
        };
        tracing::info!(port, "peer service started");
        Ok(Service {
            inner,
            _discovery: discovery,
        })
    }

    pub fn port(&self) -> u16 {
        self.inner.port
    }

    pub fn handle(&self) -> Handle {
        Handle {
            inner: self.inner.clone(),
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        for live in lock(&self.inner.sessions).values() {
            live.session.close();
        }
        // wake the accepting thread
        let _ = TcpStream::connect_timeout(
            &SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.inner.port),
            Duration::from_millis(200),
        );
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map(|_| ())
}

/// A peer as `peers list` shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PeerStatus {
    pub name: String,
    pub key_id: String,
    pub address: Option<String>,
    pub last_seen: Option<String>,
    /// Records this laptop holds for it.
    pub held: u64,
    pub connected: bool,
}

/// The group as this laptop sees it (from any store; `connected` from the service if one
/// runs in this process).
pub fn status(store: &mut Store) -> Result<Vec<PeerStatus>, StoreError> {
    let conn = store.peer_connection();
    let own = store_key(conn)?.public().to_bytes();
    let held = sp::held_records(conn, &own)?;
    let connected: HashSet<[u8; 32]> = running()
        .map(|h| lock(&h.inner.sessions).keys().copied().collect())
        .unwrap_or_default();
    Ok(sp::peers(conn)?
        .into_iter()
        .filter(|p| !p.forgotten)
        .map(|p| PeerStatus {
            held: held
                .iter()
                .find(|(o, _)| *o == p.device_key)
                .map(|(_, n)| *n)
                .unwrap_or(0),
            connected: connected.contains(&p.device_key),
            name: p.name,
            key_id: p.key_id,
            address: p.address,
            last_seen: p.last_seen,
        })
        .collect())
}

impl Handle {
    /// Shows a new code (the previous one is void): the code, and the address to type
    /// with it.
    pub fn new_code(&self) -> Result<(String, u16), getrandom::Error> {
        let code = Code::new()?;
        let digits = code.digits.clone();
        *lock(&self.inner.code) = Some(code);
        Ok((digits, self.inner.port))
    }

    /// Pairs with the laptop at `addr` showing `code`, then calls it at once.
    pub fn pair(&self, code: &str, addr: SocketAddr) -> Result<String, PairFailure> {
        let inner = &self.inner;
        let stream =
            TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(PairError::from)?;
        let paired = {
            let mut store = lock(&inner.store);
            let me = me(&mut store, &inner.device, &inner.statics)?;
            drop(store);
            pairing::join(stream, code, &me)?
        };
        keep_pairing(&mut lock(&inner.store), &paired, Some(addr.to_string()))?;
        announce_members(inner);
        let name = paired.peer.card.name.clone();
        call(
            inner,
            paired.peer.device_key.to_bytes(),
            paired.peer.transport_key,
            addr,
        );
        Ok(name)
    }

    /// Forgets a laptop: its session ends, nothing more is taken from it.
    pub fn forget(&self, name: &str) -> Result<usize, StoreError> {
        let mut store = lock(&self.inner.store);
        let conn = store.peer_connection();
        let n = sp::forget(conn, name)?;
        let forgotten: Vec<[u8; 32]> = sp::peers(conn)?
            .into_iter()
            .filter(|p| p.forgotten)
            .map(|p| p.device_key)
            .collect();
        drop(store);
        let sessions = lock(&self.inner.sessions);
        for k in forgotten {
            if let Some(live) = sessions.get(&k) {
                live.session.close();
            }
        }
        Ok(n)
    }

    /// Addresses discovery found booth laptops at, waiting up to `wait` for the first.
    pub fn discovered(&self, wait: Duration) -> Vec<SocketAddr> {
        let until = Instant::now() + wait;
        loop {
            let found: Vec<SocketAddr> = lock(&self.inner.candidates).iter().copied().collect();
            if !found.is_empty() || Instant::now() >= until {
                return found;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The laptops that paired with this one's code since the last call (their names).
    pub fn take_admitted(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.inner.admitted))
    }

    /// The code shown now and the seconds it is still valid for, if one is usable.
    pub fn code_left(&self) -> Option<(String, u64)> {
        let code = lock(&self.inner.code);
        let c = code.as_ref().filter(|c| c.usable())?;
        Some((
            c.digits.clone(),
            c.until.saturating_duration_since(Instant::now()).as_secs(),
        ))
    }

    /// The address another laptop types to reach this one: the one listened on, else the
    /// first non-loopback IPv4 address, with the port.
    pub fn shown_address(&self) -> String {
        let ip = self
            .listen_ip()
            .map(|ip| ip.to_string())
            .or_else(|| first_ipv4().map(|ip| ip.to_string()))
            .unwrap_or_else(|| "127.0.0.1".into());
        format!("{ip}:{}", self.inner.port)
    }

    /// This laptop's name for its peers.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Why this laptop cannot make replicas, if it cannot.
    pub fn replica_problem(&self) -> Option<String> {
        lock(&self.inner.replica_problem).clone()
    }

    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// The address listened on, when it is a single address (else every interface's).
    pub fn listen_ip(&self) -> Option<IpAddr> {
        self.inner.listen_ip
    }
}

/// This laptop's first non-loopback IPv4 address (what the other laptop types).
fn first_ipv4() -> Option<Ipv4Addr> {
    if_addrs::get_if_addrs()
        .ok()?
        .into_iter()
        .filter(|i| !i.is_loopback())
        .find_map(|i| match i.ip() {
            IpAddr::V4(v4) => Some(v4),
            _ => None,
        })
}

fn accept_loop(inner: &Arc<Inner>, listener: TcpListener) {
    for conn in listener.incoming() {
        if inner.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(conn) = conn else { continue };
        let inner = inner.clone();
        let _ = spawn("peers-conn", move || {
            if let Err(e) = answer(&inner, conn) {
                tracing::debug!(error = %e, "peer connection ended");
            }
        });
    }
}

fn answer(inner: &Arc<Inner>, mut conn: TcpStream) -> std::io::Result<()> {
    use std::io::Read;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut kind = [0u8; 1];
    conn.read_exact(&mut kind)?;
    let from = conn.peer_addr().ok();
    match kind[0] {
        KIND_PAIRING => {
            let mut code_slot = lock(&inner.code);
            let Some(code) = code_slot.as_mut().filter(|c| c.usable()) else {
                return Ok(());
            };
            let me = {
                let mut store = lock(&inner.store);
                me(&mut store, &inner.device, &inner.statics).map_err(std::io::Error::other)?
            };
            match pairing::admit(conn, code, &me) {
                Ok(paired) => {
                    // a code is one pairing
                    *code_slot = None;
                    drop(code_slot);
                    let address = from.map(|a| a.ip().to_string());
                    keep_pairing(&mut lock(&inner.store), &paired, address)
                        .map_err(std::io::Error::other)?;
                    tracing::info!(key_id = paired.peer.key_id, "paired");
                    lock(&inner.admitted).push(paired.peer.card.name.clone());
                    announce_members(inner);
                }
                Err(e) => {
                    tracing::warn!(code = e.code(), tries = code.failed, "pairing failed");
                    if !code.usable() {
                        *code_slot = None;
                    }
                }
            }
            Ok(())
        }
        KIND_SESSION => {
            let pinned: Vec<([u8; 32], [u8; 32])> = {
                let mut store = lock(&inner.store);
                sp::peers(store.peer_connection())
                    .map_err(std::io::Error::other)?
                    .into_iter()
                    .filter(|p| !p.forgotten)
                    .map(|p| (p.transport_key, p.device_key))
                    .collect()
            };
            let session =
                match Session::answer(conn, &inner.statics, |k| pinned.iter().any(|(t, _)| t == k))
                {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::info!(error = %e, "session refused");
                        return Ok(());
                    }
                };
            let Some((_, device_key)) = pinned.iter().find(|(t, _)| *t == session.remote) else {
                return Ok(());
            };
            run_session(inner, Arc::new(session), *device_key);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Calls a pinned laptop at `addr` on a thread of its own (once at a time per laptop).
fn call(inner: &Arc<Inner>, device_key: [u8; 32], transport: [u8; 32], addr: SocketAddr) {
    if lock(&inner.sessions).contains_key(&device_key) || !lock(&inner.dialing).insert(device_key) {
        return;
    }
    let inner = inner.clone();
    let _ = spawn("peers-dial", move || {
        let result = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
            .map_err(super::transport::TransportError::from)
            .and_then(|s| {
                s.set_read_timeout(Some(Duration::from_secs(5)))?;
                let session = Session::call(s, &inner.statics, &transport)?;
                Ok(session)
            });
        lock(&inner.dialing).remove(&device_key);
        match result {
            Ok(session) => run_session(&inner, Arc::new(session), device_key),
            Err(e) => tracing::debug!(error = %e, %addr, "call failed"),
        }
    });
}

fn call_loop(weak: Weak<Inner>) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        if inner.stop.load(Ordering::SeqCst) {
            return;
        }
        let peers = {
            let mut store = lock(&inner.store);
            sp::peers(store.peer_connection()).unwrap_or_default()
        };
        let candidates: Vec<SocketAddr> = lock(&inner.candidates).iter().copied().collect();
        for p in peers.iter().filter(|p| !p.forgotten) {
            if lock(&inner.sessions).contains_key(&p.device_key) {
                continue;
            }
            let mut addrs: Vec<SocketAddr> = Vec::new();
            if let Some(a) = &p.address {
                addrs.extend(parse_address(a));
            }
            addrs.extend(candidates.iter().copied());
            for addr in addrs {
                call(&inner, p.device_key, p.transport_key, addr);
            }
        }
        drop(inner);
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// `HOST:PORT`, or a bare host (the usual port).
pub fn parse_address(a: &str) -> Option<SocketAddr> {
    a.parse::<SocketAddr>().ok().or_else(|| {
        a.parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, DEFAULT_PORT))
    })
}

/// A laptop's address as typed by its operator: `HOST:PORT`, `HOST` (the usual port), or a
/// name to look up (its first IPv4 address).
pub fn resolve_address(text: &str) -> Option<SocketAddr> {
    use std::net::ToSocketAddrs;
    if let Some(a) = parse_address(text) {
        return Some(a);
    }
    let with_port = if text.contains(':') {
        text.to_string()
    } else {
        format!("{text}:{DEFAULT_PORT}")
    };
    with_port.to_socket_addrs().ok()?.find(SocketAddr::is_ipv4)
}

fn watch_loop(weak: Weak<Inner>) {
    let mut last_version: Option<i64> = None;
    let mut last_forced = Instant::now();
    let mut last_ping = Instant::now();
    loop {
        let Some(inner) = weak.upgrade() else { return };
        if inner.stop.load(Ordering::SeqCst) {
            return;
        }
        let version: Option<i64> = {
            let mut store = lock(&inner.store);
            store
                .peer_connection()
                .query_row("PRAGMA data_version", [], |r| r.get(0))
                .ok()
        };
        // another connection wrote (a registration, a void, an upload), or a while passed
        if version != last_version || last_forced.elapsed() > Duration::from_secs(5) {
            last_version = version;
            last_forced = Instant::now();
            if let Err(e) = step(&inner) {
                tracing::warn!(error = %e, "peer step failed");
            }
        }
        if last_ping.elapsed() >= super::transport::PING_EVERY {
            last_ping = Instant::now();
            broadcast(&inner, &Msg::Ping, None);
        }
        drop(inner);
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One turn of keeping the peers in step: marks, segments, the origin's mark.
fn step(inner: &Arc<Inner>) -> Result<(), StoreError> {
    let (marks, segments, mark) = {
        let mut store = lock(&inner.store);
        let conn = store.peer_connection();
        let marks = sp::refresh_own_marks(conn)?;
        let mut segments = Vec::new();
        loop {
            match super::replicate::next_segment(conn) {
                Ok(Some(s)) => segments.push(s.text),
                Ok(None) => {
                    *lock(&inner.replica_problem) = None;
                    break;
                }
                Err(super::replicate::ReplicateError::Store(e)) => return Err(e),
                Err(e) => {
                    *lock(&inner.replica_problem) = Some(e.to_string());
                    break;
                }
            }
        }
        let mark = super::replicate::new_mark(conn)?;
        (marks, segments, mark)
    };
    if !marks.is_empty() {
        broadcast(inner, &Msg::Persons { marks }, None);
    }
    for chunk in segments.chunks(SEGMENTS_PER_MESSAGE) {
        broadcast(
            inner,
            &Msg::Segments {
                texts: chunk.to_vec(),
            },
            None,
        );
    }
    if let Some(statement) = mark {
        broadcast(inner, &Msg::Mark { statement }, None);
    }
    Ok(())
}

fn broadcast(inner: &Arc<Inner>, msg: &Msg, except: Option<&[u8; 32]>) {
    let bytes = msg.to_bytes();
    let targets: Vec<Arc<Session>> = lock(&inner.sessions)
        .iter()
        .filter(|(k, _)| Some(*k) != except)
        .map(|(_, l)| l.session.clone())
        .collect();
    for s in targets {
        if s.send(&bytes).is_err() {
            s.close();
        }
    }
}

/// Registers a session (one per laptop: of two at once, the one the smaller device key
/// called stays), greets, and reads until it ends.
fn run_session(inner: &Arc<Inner>, session: Arc<Session>, device_key: [u8; 32]) {
    let mine = inner.device.public().to_bytes();
    let caller = if session.initiator { mine } else { device_key };
    {
        let mut sessions = lock(&inner.sessions);
        if let Some(old) = sessions.get(&device_key) {
            let old_caller = if old.session.initiator {
                mine
            } else {
                device_key
            };
            if old_caller <= caller {
                session.close();
                return;
            }
            old.session.close();
        }
        sessions.insert(
            device_key,
            Live {
                session: session.clone(),
            },
        );
    }
    tracing::info!(peer = %data_encoding::HEXLOWER.encode(&device_key[..4]), "session open");
    let address = session.peer_address().map(|a| a.ip());
    if let Err(e) = greet(inner, &session) {
        tracing::debug!(error = %e, "greeting failed");
    }
    while let Ok(bytes) = session.recv() {
        let Some(msg) = Msg::from_bytes(&bytes) else {
            continue;
        };
        if let Err(e) = handle(inner, &session, &device_key, address, msg) {
            tracing::warn!(error = %e, "peer message failed");
        }
    }
    session.close();
    let mut sessions = lock(&inner.sessions);
    if sessions
        .get(&device_key)
        .is_some_and(|l| Arc::ptr_eq(&l.session, &session))
    {
        sessions.remove(&device_key);
    }
    tracing::info!(peer = %data_encoding::HEXLOWER.encode(&device_key[..4]), "session closed");
}

fn greet(inner: &Arc<Inner>, session: &Session) -> Result<(), Box<dyn std::error::Error>> {
    let (hello, marks) = {
        let mut store = lock(&inner.store);
        let conn = store.peer_connection();
        let have = sp::have(conn)?
            .into_iter()
            .map(|(o, c)| (b64(&o), c))
            .collect();
        let members = sp::peers(conn)?
            .into_iter()
            .filter(|p| !p.forgotten)
            .map(|p| p.admission)
            .collect();
        let hello = Msg::Hello {
            name: inner.name.clone(),
            port: inner.port,
            have,
            marks: sp::marks(conn)?,
            members,
        };
        sp::refresh_own_marks(conn)?;
        (hello, sp::own_marks(conn)?)
    };
    session.send(&hello.to_bytes())?;
    session.send(&Msg::Persons { marks }.to_bytes())?;
    Ok(())
}

fn handle(
    inner: &Arc<Inner>,
    session: &Session,
    from: &[u8; 32],
    address: Option<IpAddr>,
    msg: Msg,
) -> Result<(), Box<dyn std::error::Error>> {
    match msg {
        Msg::Hello {
            port,
            have,
            marks,
            members,
            ..
        } => {
            let mut grew = false;
            let outgoing = {
                let mut store = lock(&inner.store);
                let conn = store.peer_connection();
                let now = sp::now_text();
                let addr = address.map(|ip| SocketAddr::new(ip, port).to_string());
                sp::seen(conn, from, addr.as_deref(), &now)?;
                let own = store_key(conn)?;
                if merge_members(conn, &own, &members)? > 0 {
                    grew = true;
                }
                for m in &marks {
                    take_mark_checked(conn, m)?;
                }
                // what they lack: every origin we keep, above what they have
                let theirs: HashMap<[u8; 32], u64> = have
                    .iter()
                    .filter_map(|(o, c)| Some((unb64(o)?.try_into().ok()?, *c)))
                    .collect();
                let mut out: Vec<String> = Vec::new();
                for origin in sp::origins(conn)? {
                    if origin == *from {
                        continue;
                    }
                    let after = theirs.get(&origin).copied().unwrap_or(0);
                    out.extend(
                        sp::segments_after(conn, &origin, after, usize::MAX)?
                            .into_iter()
                            .map(|s| s.text),
                    );
                }
                out
            };
            for chunk in outgoing.chunks(SEGMENTS_PER_MESSAGE) {
                session.send(
                    &Msg::Segments {
                        texts: chunk.to_vec(),
                    }
                    .to_bytes(),
                )?;
            }
            if grew {
                announce_members(inner);
            }
        }
        Msg::Members { members, addresses } => {
            let grew = {
                let mut store = lock(&inner.store);
                let conn = store.peer_connection();
                let own = store_key(conn)?;
                let n = merge_members(conn, &own, &members)?;
                for (key, addr) in addresses {
                    if let Some(k) = unb64(&key).and_then(|k| <[u8; 32]>::try_from(k).ok())
                        && parse_address(&addr).is_some()
                    {
                        sp::hint_address(conn, &k, &addr)?;
                    }
                }
                n > 0
            };
            // passed on only when it taught us something: the news spreads, and stops
            if grew {
                announce_members(inner);
            }
        }
        Msg::Persons { marks } => {
            let mut store = lock(&inner.store);
            sp::take_marks(store.peer_connection(), from, &marks)?;
        }
        Msg::Segments { texts } => {
            let fresh = {
                let mut store = lock(&inner.store);
                let conn = store.peer_connection();
                let members: HashSet<[u8; 32]> = sp::peers(conn)?
                    .into_iter()
                    .filter(|p| !p.forgotten)
                    .map(|p| p.device_key)
                    .collect();
                let now = sp::now_text();
                let tx = conn.transaction()?;
                let mut fresh = Vec::new();
                for text in texts {
                    let Ok(seg) = Segment::open(&text) else {
                        tracing::warn!("a peer sent a segment that does not verify");
                        continue;
                    };
                    let origin = seg.origin.to_bytes();
                    // only the group's members' segments are held
                    if !members.contains(&origin) {
                        continue;
                    }
                    if sp::keep_segment(
                        &tx,
                        &origin,
                        seg.header.counter,
                        &seg.text,
                        seg.header.records,
                        &seg.header.created_at,
                        &now,
                    )? {
                        fresh.push(text);
                    }
                }
                tx.commit()?;
                fresh
            };
            if !fresh.is_empty() {
                // passed on to the others (one not in touch with the origin gets it so)
                broadcast(inner, &Msg::Segments { texts: fresh }, Some(from));
            }
        }
        Msg::Ping => {}
        Msg::Mark { statement } => {
            let new = {
                let mut store = lock(&inner.store);
                take_mark_checked(store.peer_connection(), &statement)?
            };
            if new {
                broadcast(inner, &Msg::Mark { statement }, Some(from));
            }
        }
    }
    Ok(())
}

fn take_mark_checked(conn: &rusqlite::Connection, statement: &str) -> Result<bool, StoreError> {
    match Mark::check(statement) {
        Some((origin, acked)) => sp::take_mark(conn, &origin, acked, statement),
        None => Ok(false),
    }
}
