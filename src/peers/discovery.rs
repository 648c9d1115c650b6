//! Finding paired laptops on the local network: mDNS (`_booth._tcp.local.`, announcing a
//! random id chosen at each start and the port — nothing that names the laptop, its office
//! or its operator), and a UDP broadcast of the same two facts on port 47411 for networks
//! where multicast does not pass. Either only says "a booth listens at this address"; who
//! it is, the session's handshake tells (a paired laptop answers only to its pinned peers).
//! Where both fail (phone hotspots often keep devices apart), the address is typed by hand
//! (`peers pair CODE --addr`), and a pinned peer's last address is tried again.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Weak;
use std::time::Duration;

use super::service::Inner;

pub const SERVICE_TYPE: &str = "_booth._tcp.local.";
pub const BROADCAST_PORT: u16 = 47411;
const BROADCAST_PREFIX: &str = "booth-peers/1 ";

/// Running discovery; stops when dropped (mDNS) or when the service goes (broadcast).
pub struct Discovery {
    mdns: Option<mdns_sd::ServiceDaemon>,
}

impl Drop for Discovery {
    fn drop(&mut self) {
        if let Some(d) = &self.mdns {
            let _ = d.shutdown();
        }
    }
}

fn random_id() -> String {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    data_encoding::HEXLOWER.encode(&b)
}

impl Discovery {
    pub(crate) fn start(inner: Weak<Inner>, port: u16) -> std::io::Result<Discovery> {
        let id = random_id();
        let mdns = start_mdns(inner.clone(), &id, port)
            .inspect_err(|e| tracing::info!(error = %e, "mDNS unavailable"))
            .ok();
        start_broadcast(inner, id, port);
        Ok(Discovery { mdns })
    }
}

fn add_candidate(inner: &Weak<Inner>, addr: SocketAddr) -> bool {
    let Some(inner) = inner.upgrade() else {
        return false;
    };
    let mut c = inner.candidates.lock().unwrap_or_else(|e| e.into_inner());
    // a bounded list: a busy LAN does not grow it without end
    if c.len() < 64 {
        c.insert(addr);
    }
    true
}

fn start_mdns(
    inner: Weak<Inner>,
    id: &str,
    port: u16,
) -> Result<mdns_sd::ServiceDaemon, mdns_sd::Error> {
    let daemon = mdns_sd::ServiceDaemon::new()?;
    let info = mdns_sd::ServiceInfo::new(
        SERVICE_TYPE,
        id,
        &format!("{id}.local."),
        "",
        port,
        None::<std::collections::HashMap<String, String>>,
    )?
    .enable_addr_auto();
    let own = info.get_fullname().to_string();
    daemon.register(info)?;
    let events = daemon.browse(SERVICE_TYPE)?;
    let _ = std::thread::Builder::new()
        .name("peers-mdns".into())
        .spawn(move || {
            while let Ok(event) = events.recv() {
                if let mdns_sd::ServiceEvent::ServiceResolved(r) = event {
                    if r.fullname == own {
                        continue;
                    }
                    for ip in r.get_addresses_v4() {
                        if !add_candidate(&inner, SocketAddr::new(IpAddr::V4(ip), r.get_port())) {
                            return;
                        }
                    }
                }
            }
        });
    Ok(daemon)
}

fn start_broadcast(inner: Weak<Inner>, id: String, port: u16) {
    let announce = format!("{BROADCAST_PREFIX}{id} {port}");
    if let Ok(sender) = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        && sender.set_broadcast(true).is_ok()
    {
        let inner = inner.clone();
        let _ = std::thread::Builder::new()
            .name("peers-announce".into())
            .spawn(move || {
                while inner.strong_count() > 0 {
                    let _ =
                        sender.send_to(announce.as_bytes(), (Ipv4Addr::BROADCAST, BROADCAST_PORT));
                    std::thread::sleep(Duration::from_secs(3));
                }
            });
    }
    // one listener per machine (a second booth on the same machine finds the first by mDNS)
    let Ok(listener) = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, BROADCAST_PORT)) else {
        return;
    };
    let _ = listener.set_read_timeout(Some(Duration::from_secs(3)));
    let _ = std::thread::Builder::new()
        .name("peers-listen".into())
        .spawn(move || {
            let mut buf = [0u8; 128];
            while inner.strong_count() > 0 {
                let Ok((n, from)) = listener.recv_from(&mut buf) else {
                    continue;
                };
                let Some(rest) = std::str::from_utf8(&buf[..n])
                    .ok()
                    .and_then(|t| t.strip_prefix(BROADCAST_PREFIX))
                else {
                    continue;
                };
                let mut parts = rest.split(' ');
                let (Some(their_id), Some(their_port)) = (parts.next(), parts.next()) else {
                    continue;
                };
                let Ok(their_port) = their_port.parse::<u16>() else {
                    continue;
                };
                if their_id != id {
                    add_candidate(&inner, SocketAddr::new(from.ip(), their_port));
                }
            }
        });
}
