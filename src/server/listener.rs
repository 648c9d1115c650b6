//! Accepting connections on a hostile network: the server must stay up for real laptops while
//! clients open connections and never finish them (slowloris), hold TLS handshakes open, or
//! exhaust its file descriptors.
//!
//! - At most [`Limits::max_connections`] connections are open at once, set below the process's
//!   open-file limit so that the database, the logs and the listener always have descriptors
//!   left. At the cap the server stops accepting: new clients wait in the kernel's backlog
//!   instead of failing, and are taken as slots free up.
//! - A TLS handshake must finish within [`Limits::handshake_timeout`], a request's headers
//!   within [`Limits::header_timeout`] of its first byte or of the connection's start; a
//!   connection idle between requests for [`Limits::idle_timeout`] is closed. Each cut is
//!   logged with its reason (never with the peer's data).
//! - Request bodies are bounded elsewhere (`body`): size, time, rate, and how many are read
//!   at once.
//! - Behind a TLS-terminating proxy (`--trusted-proxy ADDR`), `X-Forwarded-For` and
//!   `X-Forwarded-Proto` are taken from that address only ([`ConnInfo::of`]): from anyone else
//!   they are the client's own words and ignored.

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use super::metrics::Metrics;

/// Connection limits of `booth server run`.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub handshake_timeout: Duration,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Descriptors kept back from connections: the database (SQLite's file, WAL and shm, or a
/// PostgreSQL pool), log files, the listener, and some slack.
const RESERVED_FDS: u64 = 64;

impl Limits {
    /// Defaults for this process: connections capped below its open-file limit.
    pub fn for_this_process() -> Limits {
        Limits {
            max_connections: default_max_connections(),
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

fn default_max_connections() -> usize {
    #[cfg(unix)]
    let files = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(65_536);
    #[cfg(not(unix))]
    let files = 8_192u64;
    files.saturating_sub(RESERVED_FDS).clamp(16, 16_384) as usize
}

/// Who a request came from, put on each request as an extension: the client's address and
/// whether it reached us over TLS — behind the trusted proxy, what the proxy says of both.
#[derive(Clone, Copy, Debug)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub tls: bool,
}

impl ConnInfo {
    /// The request's client: the TCP peer, unless the peer is `trusted_proxy`, whose
    /// `X-Forwarded-For` (the last address: the one the proxy itself saw) and
    /// `X-Forwarded-Proto` then say it. A header the proxy sent that does not parse leaves
    /// the proxy's own address (never a value a client chose).
    pub fn of(
        peer: SocketAddr,
        tls: bool,
        trusted_proxy: Option<IpAddr>,
        headers: &axum::http::HeaderMap,
    ) -> ConnInfo {
        let from_proxy = trusted_proxy.is_some_and(|p| canonical(p) == canonical(peer.ip()));
        if !from_proxy {
            return ConnInfo { peer, tls };
        }
        let last = |name: &str| {
            headers
                .get_all(name)
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .map(str::trim)
        };
        let client = last("x-forwarded-for")
            .and_then(|a| a.parse::<IpAddr>().ok())
            .map_or(peer, |ip| SocketAddr::new(ip, 0));
        let https = last("x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https"));
        ConnInfo {
            peer: client,
            tls: tls || https,
        }
    }

    /// The client's address as counted for login throttling: an IPv4 address, or an IPv6
    /// /64 (one household or office gets a whole /64, so a single address would let one
    /// client count as 2^64).
    pub fn address_group(&self) -> String {
        match canonical(self.peer.ip()) {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        }
    }
}

/// An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open requests finish
/// for up to 30 s.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    limits: Limits,
    trusted_proxy: Option<IpAddr>,
    metrics: Option<Arc<Metrics>>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    if let Some(m) = &metrics {
        m.set_max_connections(limits.max_connections);
    }
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // A connection's read buffer is memory outside the body budget: keep it small, so
        // hundreds of uploading laptops cost their bodies, not their buffers.
        .max_buf_size(64 * 1024)
        .keep_alive(true);
    let http = Arc::new(http);
    tokio::pin!(shutdown);
    let mut at_cap_logged = false;
    loop {
        // A slot first, then accept: at the cap, clients wait in the backlog, not in memory.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        if slots.available_permits() == 0 && !at_cap_logged {
            tracing::warn!(
                max_connections = limits.max_connections,
                "connection cap reached; new clients wait until one closes"
            );
            at_cap_logged = true;
        } else if slots.available_permits() > limits.max_connections / 10 {
            at_cap_logged = false;
        }
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: wait for descriptors to come back, never spin
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let http = http.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let _counted = metrics.as_ref().map(|m| Counted::new(m.clone()));
            let has_tls = tls.is_some();
            // who is at the other end, for the console's login throttling and Secure cookies
            let router = tower::ServiceExt::map_request(
                router,
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    let info = ConnInfo::of(peer, has_tls, trusted_proxy, req.headers());
                    req.extensions_mut().insert(info);
                    req
                },
            );
            let service = TowerToHyperService::new(router);
            let io = match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(s)) => Io::Tls(Box::new(s)),
                        Ok(Err(e)) => {
                            tracing::info!(%peer, error = %e, "connection closed: TLS handshake failed");
                            if let Some(m) = &metrics {
                                m.closed_early("handshake_failed");
                            }
                            return;
                        }
                        Err(_) => {
                            tracing::info!(%peer, reason = "handshake_timeout", "connection closed: TLS handshake too slow");
                            if let Some(m) = &metrics {
                                m.closed_early("handshake_timeout");
                            }
                            return;
                        }
                    }
                }
                None => Io::Plain(stream),
            };
            let idle = IdleTimeout::new(io, limits.idle_timeout);
            let conn = http.serve_connection(TokioIo::new(idle), service);
            if let Err(e) = watcher.watch(conn).await {
                let reason = log_connection_end(peer, &e);
                if let Some(m) = &metrics {
                    m.closed_early(reason);
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(30)) => {
            tracing::warn!("shutdown: some connections were still open after 30 s");
        }
    }
}

/// Counts a connection open for as long as it lives.
struct Counted(Arc<Metrics>);

impl Counted {
    fn new(m: Arc<Metrics>) -> Counted {
        m.connection_opened();
        Counted(m)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.connection_closed();
    }
}

/// Logs why a connection ended in an error, and returns that reason.
fn log_connection_end(peer: SocketAddr, e: &hyper::Error) -> &'static str {
    let reason = if e.is_timeout() {
        "header_timeout"
    } else if e.is_incomplete_message() {
        "incomplete_request"
    } else if e.is_parse() || e.is_parse_too_large() {
        "malformed_request"
    } else if is_idle_timeout(e) {
        "idle_timeout"
    } else {
        "connection_error"
    };
    tracing::info!(%peer, reason, "connection closed");
    reason
}

fn is_idle_timeout(e: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// A plain or TLS connection.
enum Io {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Closes a connection on which nothing was read or written for `limit`: a client that
/// connects and sends nothing, or keeps an idle keep-alive connection, holds no slot for
/// long. (hyper's header timeout covers a request that has begun.)
struct IdleTimeout<T> {
    inner: T,
    limit: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl<T> IdleTimeout<T> {
    fn new(inner: T, limit: Duration) -> Self {
        IdleTimeout {
            inner,
            limit,
            deadline: Box::pin(tokio::time::sleep(limit)),
        }
    }

    fn touch(&mut self) {
        let next = tokio::time::Instant::now() + self.limit;
        self.deadline.as_mut().reset(next);
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, "idle connection")
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    this.touch();
                }
                Poll::Ready(r)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.touch();
                Poll::Ready(Ok(n))
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            other => other,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::*;

    fn forwarded(xff: &str, proto: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(xff).unwrap());
        h.insert("x-forwarded-proto", HeaderValue::from_str(proto).unwrap());
        h
    }

    #[test]
    fn forwarded_headers_count_from_the_trusted_proxy_only() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let h = forwarded("6.6.6.6, 203.0.113.7", "https");
        let from_proxy = ConnInfo::of("10.0.0.2:5000".parse().unwrap(), false, Some(proxy), &h);
        assert_eq!(from_proxy.peer.ip().to_string(), "203.0.113.7");
        assert!(from_proxy.tls);
        // the same headers from anyone else are ignored
        let other = ConnInfo::of("10.0.0.3:5000".parse().unwrap(), false, Some(proxy), &h);
        assert_eq!(other.peer.ip().to_string(), "10.0.0.3");
        assert!(!other.tls);
        let none = ConnInfo::of("10.0.0.2:5000".parse().unwrap(), false, None, &h);
        assert_eq!(none.peer.ip().to_string(), "10.0.0.2");
        // garbage from the proxy leaves the proxy's address
        let bad = forwarded("not an address", "http");
        let c = ConnInfo::of("10.0.0.2:5000".parse().unwrap(), false, Some(proxy), &bad);
        assert_eq!(c.peer.ip().to_string(), "10.0.0.2");
        // an IPv4 peer seen on an IPv6 socket is the same proxy
        let mapped = ConnInfo::of(
            "[::ffff:10.0.0.2]:1".parse().unwrap(),
            false,
            Some(proxy),
            &h,
        );
        assert_eq!(mapped.peer.ip().to_string(), "203.0.113.7");
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64() {
        let c = |a: &str| ConnInfo {
            peer: SocketAddr::new(a.parse().unwrap(), 0),
            tls: false,
        };
        assert_eq!(
            c("2001:db8:1:2:aaaa::1").address_group(),
            c("2001:db8:1:2:ffff:1:2:3").address_group()
        );
        assert_eq!(c("2001:db8:1:2::9").address_group(), "2001:db8:1:2::/64");
        assert_ne!(
            c("2001:db8:1:3::1").address_group(),
            c("2001:db8:1:2::1").address_group()
        );
        assert_eq!(c("::ffff:192.0.2.1").address_group(), "192.0.2.1");
        assert_eq!(c("192.0.2.1").address_group(), "192.0.2.1");
    }
}
