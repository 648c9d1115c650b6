//! Sessions between paired laptops: Noise `IK` (X25519, ChaCha20-Poly1305, BLAKE2s) over TCP
//! with the static keys pinned at pairing. The caller knows whom it calls (its pinned key);
//! the answering laptop learns the caller's static key from the first message and goes on
//! only if it is a pinned, not forgotten, member of its group — otherwise it closes without
//! a word, so an unpaired machine learns nothing and can send nothing that is read.
//!
//! On the wire: one byte `N` (a session; `P` is pairing), then Noise messages each with a
//! 2-byte big-endian length. A session message is a 4-byte length and its bytes, cut into
//! Noise messages of at most 65,519 bytes of plaintext.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;

use zeroize::Zeroizing;

const PATTERN: &str = "Noise_IK_25519_ChaChaPoly_BLAKE2s";
const PROLOGUE: &[u8] = b"booth-peers/1";
/// The connection's first byte: a Noise session.
pub const KIND_SESSION: u8 = b'N';
/// The connection's first byte: a pairing (SPAKE2).
pub const KIND_PAIRING: u8 = b'P';
const NOISE_MAX: usize = 65_535;
/// A session that hears nothing for this long ends (peers ping every [`PING_EVERY`]).
pub const SILENCE: std::time::Duration = std::time::Duration::from_secs(15);
pub const PING_EVERY: std::time::Duration = std::time::Duration::from_secs(4);
const CHUNK: usize = NOISE_MAX - 16;
/// A session message larger than this closes the session (a whole catch-up is sent as
/// many messages).
pub const MAX_MESSAGE: usize = 48 * 1024 * 1024;

/// This laptop's static X25519 key for sessions: derived from its device key's seed, so
/// nothing more is stored; its public half is signed into the device card at pairing.
pub struct StaticKey {
    secret: Zeroizing<[u8; 32]>,
    public: [u8; 32],
}

impl StaticKey {
    pub fn of_device(device: &crate::card::DeviceKey) -> StaticKey {
        let secret = crate::card::seal::derive32(&*device.secret(), b"booth peer noise static v1");
        let public = crypto_box::SecretKey::from(*secret).public_key().to_bytes();
        StaticKey { secret, public }
    }

    pub fn public(&self) -> [u8; 32] {
        self.public
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    #[error("noise: {0}")]
    Noise(#[from] snow::Error),
    #[error("the other laptop is not paired with this one")]
    NotPaired,
    #[error("message too large")]
    TooLarge,
}

fn builder() -> snow::Builder<'static> {
    snow::Builder::new(PATTERN.parse().expect("a valid Noise pattern"))
}

fn write_noise(stream: &mut TcpStream, msg: &[u8]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(msg.len() + 2);
    buf.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    buf.extend_from_slice(msg);
    stream.write_all(&buf)
}

fn read_noise(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    buf.resize(u16::from_be_bytes(len) as usize, 0);
    stream.read_exact(buf)
}

/// A session after the handshake: one reader, any number of writers.
pub struct Session {
    reader: Mutex<TcpStream>,
    writer: Mutex<TcpStream>,
    state: Mutex<snow::TransportState>,
    /// The other laptop's static key.
    pub remote: [u8; 32],
    pub initiator: bool,
}

impl Session {
    /// Calls a pinned laptop: sends the kind byte and the first handshake message, and
    /// waits for the answer.
    pub fn call(
        mut stream: TcpStream,
        me: &StaticKey,
        remote: &[u8; 32],
    ) -> Result<Session, TransportError> {
        stream.set_nodelay(true)?;
        let mut hs = builder()
            .local_private_key(&*me.secret)?
            .remote_public_key(remote)?
            .prologue(PROLOGUE)?
            .build_initiator()?;
        let mut msg = vec![0u8; NOISE_MAX];
        let n = hs.write_message(&[], &mut msg)?;
        stream.write_all(&[KIND_SESSION])?;
        write_noise(&mut stream, &msg[..n])?;
        let mut reply = Vec::new();
        read_noise(&mut stream, &mut reply)?;
        hs.read_message(&reply, &mut msg)?;
        Session::finish(stream, hs.into_transport_mode()?, *remote, true)
    }

    /// Answers a call (the kind byte already read): goes on only if `pinned` says the
    /// caller's static key is a member of the group.
    pub fn answer(
        mut stream: TcpStream,
        me: &StaticKey,
        pinned: impl Fn(&[u8; 32]) -> bool,
    ) -> Result<Session, TransportError> {
        stream.set_nodelay(true)?;
        let mut hs = builder()
            .local_private_key(&*me.secret)?
            .prologue(PROLOGUE)?
            .build_responder()?;
        let mut first = Vec::new();
        read_noise(&mut stream, &mut first)?;
        let mut payload = vec![0u8; NOISE_MAX];
        hs.read_message(&first, &mut payload)?;
        let remote: [u8; 32] = hs
            .get_remote_static()
            .and_then(|k| k.try_into().ok())
            .ok_or(TransportError::NotPaired)?;
        if !pinned(&remote) {
            // not a word back: the caller learns nothing, not even that this is booth
            return Err(TransportError::NotPaired);
        }
        let n = hs.write_message(&[], &mut payload)?;
        write_noise(&mut stream, &payload[..n])?;
        Session::finish(stream, hs.into_transport_mode()?, remote, false)
    }

    fn finish(
        stream: TcpStream,
        state: snow::TransportState,
        remote: [u8; 32],
        initiator: bool,
    ) -> Result<Session, TransportError> {
        // a peer pings every few seconds: silence this long means it is gone
        stream.set_read_timeout(Some(SILENCE))?;
        stream.set_write_timeout(Some(SILENCE))?;
        Ok(Session {
            reader: Mutex::new(stream.try_clone()?),
            writer: Mutex::new(stream),
            state: Mutex::new(state),
            remote,
            initiator,
        })
    }

    /// Sends one message (encrypted, cut into Noise messages).
    pub fn send(&self, bytes: &[u8]) -> Result<(), TransportError> {
        if bytes.len() > MAX_MESSAGE {
            return Err(TransportError::TooLarge);
        }
        let mut plain = Vec::with_capacity(bytes.len() + 4);
        plain.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        plain.extend_from_slice(bytes);
        let mut out = Vec::with_capacity(plain.len() + plain.len() / CHUNK * 18 + 18);
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let mut msg = vec![0u8; NOISE_MAX];
            for chunk in plain.chunks(CHUNK) {
                let n = state.write_message(chunk, &mut msg)?;
                out.extend_from_slice(&(n as u16).to_be_bytes());
                out.extend_from_slice(&msg[..n]);
            }
        }
        writer.write_all(&out)?;
        Ok(())
    }

    /// Receives one message (blocks).
    pub fn recv(&self) -> Result<Vec<u8>, TransportError> {
        let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let mut raw = Vec::new();
        let mut plain = vec![0u8; NOISE_MAX];
        let mut out: Vec<u8> = Vec::new();
        let mut want: Option<usize> = None;
        loop {
            read_noise(&mut reader, &mut raw)?;
            let n = {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                state.read_message(&raw, &mut plain)?
            };
            out.extend_from_slice(&plain[..n]);
            if want.is_none() && out.len() >= 4 {
                let len = u32::from_be_bytes([out[0], out[1], out[2], out[3]]) as usize;
                if len > MAX_MESSAGE {
                    return Err(TransportError::TooLarge);
                }
                want = Some(len + 4);
            }
            if let Some(w) = want
                && out.len() >= w
            {
                out.truncate(w);
                return Ok(out.split_off(4));
            }
        }
    }

    /// Closes both directions (the reader's `recv` returns an error).
    pub fn close(&self) {
        if let Ok(w) = self.writer.lock() {
            let _ = w.shutdown(std::net::Shutdown::Both);
        }
    }

    pub fn peer_address(&self) -> Option<std::net::SocketAddr> {
        self.writer.lock().ok()?.peer_addr().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::DeviceKey;
    use std::net::TcpListener;

    fn pair_of_streams() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (b, _) = l.accept().unwrap();
        (a, b)
    }

    #[test]
    fn paired_laptops_talk_and_a_stranger_gets_nothing() {
        let a = StaticKey::of_device(&DeviceKey::from_secret(&[1; 32]));
        let b = StaticKey::of_device(&DeviceKey::from_secret(&[2; 32]));
        let stranger = StaticKey::of_device(&DeviceKey::from_secret(&[3; 32]));
        assert_eq!(
            a.public(),
            StaticKey::of_device(&DeviceKey::from_secret(&[1; 32])).public()
        );

        let (ca, mut cb) = pair_of_streams();
        let a_pub = a.public();
        let b_pub = b.public();
        let t = std::thread::spawn(move || {
            let mut kind = [0u8; 1];
            cb.read_exact(&mut kind).unwrap();
            assert_eq!(kind[0], KIND_SESSION);
            let s = Session::answer(cb, &b, |k| *k == a_pub).unwrap();
            assert_eq!(s.remote, a_pub);
            let got = s.recv().unwrap();
            s.send(&got).unwrap();
            got.len()
        });
        let s = Session::call(ca, &a, &b_pub).unwrap();
        // larger than one Noise message: cut and put back together
        let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        s.send(&big).unwrap();
        assert_eq!(s.recv().unwrap(), big);
        assert_eq!(t.join().unwrap(), big.len());

        // a stranger: no answer at all, the connection closed
        let (cs, mut cb) = pair_of_streams();
        let t = std::thread::spawn(move || {
            let mut kind = [0u8; 1];
            cb.read_exact(&mut kind).unwrap();
            let b = StaticKey::of_device(&DeviceKey::from_secret(&[2; 32]));
            matches!(
                Session::answer(cb, &b, |k| *k == a_pub),
                Err(TransportError::NotPaired)
            )
        });
        let r = Session::call(cs, &stranger, &b_pub);
        assert!(r.is_err());
        assert!(t.join().unwrap());
    }
}
