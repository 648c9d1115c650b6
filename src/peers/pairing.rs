//! Pairing with a 6-digit code (SPAKE2 over the Ed25519 group, RustCrypto `spake2`).
//!
//! The laptop that shows the code (the admitter) listens; the one where the code is typed
//! (the joiner) calls it. Both run SPAKE2 with the code as password: an eavesdropper learns
//! nothing it could test codes against offline, and an active attacker gets one guess per
//! try — the admitter voids its code after 3 failed tries, and after 5 minutes anyway.
//! Under keys derived from the SPAKE2 key (one per direction, ChaCha20-Poly1305):
//!
//! 1. joiner → admitter: its signed card, and its group if it has one;
//! 2. admitter → joiner: its signed card, its admission of the joiner, every admission it
//!    holds (the group's members, each signed by whoever admitted it), and the group secret.
//!
//! A joiner whose first message does not decrypt typed the wrong code (a failed try). Each
//! side checks the other's card signature and that both are enrolled with the same office;
//! each then admits the other (signs its card) and pins it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};
use spake2::{Ed25519Group, Identity, Password, Spake2};
use zeroize::Zeroizing;

use super::group::{self, Card, Member};
use super::transport::KIND_PAIRING;
use crate::card::DeviceKey;

/// How long a code is valid.
pub const CODE_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// Failed tries before a code is void.
pub const MAX_TRIES: u32 = 3;
const ID_JOINER: &[u8] = b"booth-peers/1 joiner";
const ID_ADMITTER: &[u8] = b"booth-peers/1 admitter";
const MAX_PAIRING_FRAME: usize = 4 * 1024 * 1024;

/// A code shown on this laptop.
#[derive(Clone, Debug)]
pub struct Code {
    pub digits: String,
    pub until: Instant,
    pub failed: u32,
}

impl Code {
    pub fn new() -> Result<Code, getrandom::Error> {
        // uniform over 000000–999999 (rejection of the top of the u32 range)
        loop {
            let mut b = [0u8; 4];
            getrandom::fill(&mut b)?;
            let n = u32::from_le_bytes(b);
            if n < 4_294_000_000 {
                return Ok(Code {
                    digits: format!("{:06}", n % 1_000_000),
                    until: Instant::now() + CODE_LIFETIME,
                    failed: 0,
                });
            }
        }
    }

    pub fn usable(&self) -> bool {
        self.failed < MAX_TRIES && Instant::now() < self.until
    }
}

/// This laptop, as pairing needs it.
pub struct Me<'a> {
    pub device: &'a DeviceKey,
    pub card: Card,
    /// The group secret, if in a group.
    pub group: Option<Zeroizing<[u8; 32]>>,
    /// The admissions of the members it holds.
    pub admissions: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PairError {
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    #[error("wrong code")]
    WrongCode,
    #[error("no pairing code is shown on the other laptop")]
    NoCode,
    #[error("the other laptop is enrolled with another office")]
    OtherOffice,
    #[error("both laptops are already in different groups")]
    TwoGroups,
    #[error("the other laptop's answer is not valid: {0}")]
    Invalid(String),
    #[error("this is the same laptop")]
    Itself,
}

impl PairError {
    pub fn code(&self) -> &'static str {
        match self {
            PairError::Io(_) => "network",
            PairError::WrongCode => "wrong_code",
            PairError::NoCode => "no_code",
            PairError::OtherOffice => "other_office",
            PairError::TwoGroups => "two_groups",
            PairError::Invalid(_) => "invalid",
            PairError::Itself => "itself",
        }
    }
}

/// What a pairing gave: the other laptop (admitted by this one), the members it brought
/// (each with the admission to keep), and the group's secret.
pub struct Paired {
    pub peer: Member,
    pub members: Vec<String>,
    pub group: Zeroizing<[u8; 32]>,
}

#[derive(Serialize, Deserialize)]
struct JoinerHello {
    card: String,
    card_signature: String,
    #[serde(default)]
    group: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct AdmitterReply {
    #[serde(default)]
    refused: Option<String>,
    #[serde(default)]
    card: String,
    #[serde(default)]
    card_signature: String,
    /// The admitter's admission of the joiner.
    #[serde(default)]
    admission: String,
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    group: String,
}

fn write_frame(s: &mut TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    let mut buf = (bytes.len() as u32).to_be_bytes().to_vec();
    buf.extend_from_slice(bytes);
    s.write_all(&buf)
}

fn read_frame(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_PAIRING_FRAME {
        return Err(std::io::Error::other("pairing frame too large"));
    }
    let mut buf = vec![0u8; len];
    s.read_exact(&mut buf)?;
    Ok(buf)
}

fn ciphers(key: &[u8]) -> (ChaCha20Poly1305, ChaCha20Poly1305) {
    let to_admitter = crate::card::seal::derive32(key, b"booth pairing joiner to admitter");
    let to_joiner = crate::card::seal::derive32(key, b"booth pairing admitter to joiner");
    (
        ChaCha20Poly1305::new(Key::from_slice(&*to_admitter)),
        ChaCha20Poly1305::new(Key::from_slice(&*to_joiner)),
    )
}

// each key encrypts one message: a fixed nonce is safe
fn nonce() -> Nonce {
    Nonce::default()
}

fn invalid(e: impl std::fmt::Display) -> PairError {
    PairError::Invalid(e.to_string())
}

/// The joiner's side: calls `stream` (a fresh connection to the admitter) with `code`.
pub fn join(mut stream: TcpStream, code: &str, me: &Me<'_>) -> Result<Paired, PairError> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let (spake, msg) = Spake2::<Ed25519Group>::start_a(
        &Password::new(code.as_bytes()),
        &Identity::new(ID_JOINER),
        &Identity::new(ID_ADMITTER),
    );
    // closed at once: no code is shown there (or it is void)
    let closed = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::BrokenPipe => PairError::NoCode,
        _ => PairError::Io(e),
    };
    stream.write_all(&[KIND_PAIRING]).map_err(closed)?;
    write_frame(&mut stream, &msg).map_err(closed)?;
    let theirs = read_frame(&mut stream).map_err(closed)?;
    let key = Zeroizing::new(spake.finish(&theirs).map_err(|_| PairError::WrongCode)?);
    let (to_admitter, to_joiner) = ciphers(&key);
    let (card, card_signature) = me.card.signed(me.device);
    let hello = JoinerHello {
        card,
        card_signature,
        group: me
            .group
            .as_ref()
            .map(|g| data_encoding::HEXLOWER.encode(&g[..])),
    };
    let sealed = to_admitter
        .encrypt(
            &nonce(),
            serde_json::to_vec(&hello).map_err(invalid)?.as_slice(),
        )
        .map_err(invalid)?;
    write_frame(&mut stream, &sealed)?;
    let reply = match read_frame(&mut stream) {
        Ok(r) => r,
        // the admitter could not read us: the code was wrong
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(PairError::WrongCode);
        }
        Err(e) => return Err(e.into()),
    };
    let plain = Zeroizing::new(
        to_joiner
            .decrypt(&nonce(), reply.as_slice())
            .map_err(|_| PairError::WrongCode)?,
    );
    let r: AdmitterReply = serde_json::from_slice(&plain).map_err(invalid)?;
    match r.refused.as_deref() {
        Some("other_office") => return Err(PairError::OtherOffice),
        Some("two_groups") => return Err(PairError::TwoGroups),
        Some("itself") => return Err(PairError::Itself),
        Some(other) => return Err(PairError::Invalid(other.to_string())),
        None => {}
    }
    let (their_card, their_key) = group::check_card(&r.card, &r.card_signature).map_err(invalid)?;
    if their_key == me.device.public() {
        return Err(PairError::Itself);
    }
    if their_card.office != me.card.office {
        return Err(PairError::OtherOffice);
    }
    // the admission of us must be by them and of our card
    let ours = group::check_admission(&r.admission, |k| *k == their_key).map_err(invalid)?;
    if ours.device_key != me.device.public() {
        return Err(invalid("admission of another card"));
    }
    let group: [u8; 32] = data_encoding::HEXLOWER_PERMISSIVE
        .decode(r.group.as_bytes())
        .ok()
        .and_then(|g| g.try_into().ok())
        .ok_or_else(|| invalid("group"))?;
    // we admit them in turn: our word for them, for the laptops that pair with us later
    let admission = group::admit(&r.card, &r.card_signature, me.device);
    let peer = group::check_admission(&admission, |k| *k == me.device.public()).map_err(invalid)?;
    let mut members = r.members;
    members.push(r.admission);
    Ok(Paired {
        peer,
        members,
        group: Zeroizing::new(group),
    })
}

/// The admitter's side, for a connection whose first byte was `P`. `code` is the shown
/// code; a failed try counts against it (the caller voids it at [`MAX_TRIES`]).
pub fn admit(mut stream: TcpStream, code: &mut Code, me: &Me<'_>) -> Result<Paired, PairError> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let theirs = read_frame(&mut stream)?;
    // from here, a try: counted unless it succeeds
    code.failed += 1;
    let (spake, msg) = Spake2::<Ed25519Group>::start_b(
        &Password::new(code.digits.as_bytes()),
        &Identity::new(ID_JOINER),
        &Identity::new(ID_ADMITTER),
    );
    let key = Zeroizing::new(spake.finish(&theirs).map_err(|_| PairError::WrongCode)?);
    write_frame(&mut stream, &msg)?;
    let (to_admitter, to_joiner) = ciphers(&key);
    let hello = read_frame(&mut stream)?;
    let plain = Zeroizing::new(
        to_admitter
            .decrypt(&nonce(), hello.as_slice())
            .map_err(|_| PairError::WrongCode)?,
    );
    // the code was right: not a failed try
    code.failed -= 1;
    let h: JoinerHello = serde_json::from_slice(&plain).map_err(invalid)?;
    let (their_card, their_key) = group::check_card(&h.card, &h.card_signature).map_err(invalid)?;
    let their_group: Option<[u8; 32]> = h
        .group
        .as_deref()
        .and_then(|g| data_encoding::HEXLOWER_PERMISSIVE.decode(g.as_bytes()).ok())
        .and_then(|g| g.try_into().ok());
    let refuse = |stream: &mut TcpStream, why: &str| -> std::io::Result<()> {
        let r = AdmitterReply {
            refused: Some(why.into()),
            card: String::new(),
            card_signature: String::new(),
            admission: String::new(),
            members: Vec::new(),
            group: String::new(),
        };
        let sealed = to_joiner
            .encrypt(
                &nonce(),
                serde_json::to_vec(&r).unwrap_or_default().as_slice(),
            )
            .map_err(std::io::Error::other)?;
        write_frame(stream, &sealed)
    };
    if their_key == me.device.public() {
        refuse(&mut stream, "itself")?;
        return Err(PairError::Itself);
    }
    if their_card.office != me.card.office {
        refuse(&mut stream, "other_office")?;
        return Err(PairError::OtherOffice);
    }
    let group: Zeroizing<[u8; 32]> = match (&me.group, their_group) {
        (Some(ours), Some(theirs)) if **ours != theirs && !me.admissions.is_empty() => {
            refuse(&mut stream, "two_groups")?;
            return Err(PairError::TwoGroups);
        }
        (Some(ours), _) if !me.admissions.is_empty() => ours.clone(),
        // alone here: the joiner's group (if any) is the one
        (_, Some(theirs)) => Zeroizing::new(theirs),
        (Some(ours), None) => ours.clone(),
        (None, None) => {
            let mut g = Zeroizing::new([0u8; 32]);
            getrandom::fill(g.as_mut()).map_err(invalid)?;
            g
        }
    };
    let admission = group::admit(&h.card, &h.card_signature, me.device);
    let peer = group::check_admission(&admission, |k| *k == me.device.public()).map_err(invalid)?;
    let (card, card_signature) = me.card.signed(me.device);
    let reply = AdmitterReply {
        refused: None,
        card,
        card_signature,
        admission,
        members: me.admissions.clone(),
        group: data_encoding::HEXLOWER.encode(&group[..]),
    };
    let sealed = to_joiner
        .encrypt(
            &nonce(),
            serde_json::to_vec(&reply).map_err(invalid)?.as_slice(),
        )
        .map_err(invalid)?;
    write_frame(&mut stream, &sealed)?;
    Ok(Paired {
        peer,
        members: Vec::new(),
        group,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn me(n: u8, office: &str) -> (DeviceKey, Card) {
        let k = DeviceKey::from_secret(&[n; 32]);
        let card = Card::new(&format!("{n}号电脑"), &k, [n; 32], office);
        (k, card)
    }

    /// Runs one pairing: the admitter with `shown`, the joiner typing `typed`.
    fn run(
        shown: &mut Code,
        typed: &str,
        a_office: &str,
        b_office: &str,
    ) -> (Result<Paired, PairError>, Result<Paired, PairError>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let typed = typed.to_string();
        let b_office = b_office.to_string();
        let joiner = std::thread::spawn(move || {
            let (k, card) = me(2, &b_office);
            let m = Me {
                device: &k,
                card,
                group: None,
                admissions: vec![],
            };
            join(TcpStream::connect(addr).unwrap(), &typed, &m)
        });
        let (mut conn, _) = l.accept().unwrap();
        let mut kind = [0u8; 1];
        conn.read_exact(&mut kind).unwrap();
        assert_eq!(kind[0], KIND_PAIRING);
        let (k, card) = me(1, a_office);
        let m = Me {
            device: &k,
            card,
            group: None,
            admissions: vec![],
        };
        let a = admit(conn, shown, &m);
        (a, joiner.join().unwrap())
    }

    #[test]
    fn the_right_code_pairs_and_both_pin_each_other() {
        let mut code = Code::new().unwrap();
        assert_eq!(code.digits.len(), 6);
        let digits = code.digits.clone();
        let (a, b) = run(&mut code, &digits, "fp", "fp");
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.peer.card.name, "2号电脑");
        assert_eq!(b.peer.card.name, "1号电脑");
        assert_eq!(*a.group, *b.group);
        assert_eq!(code.failed, 0);
    }

    #[test]
    fn wrong_codes_count_and_other_offices_are_refused() {
        let mut code = Code::new().unwrap();
        let wrong = if code.digits == "000000" {
            "000001"
        } else {
            "000000"
        };
        for i in 1..=MAX_TRIES {
            let (a, b) = run(&mut code, wrong, "fp", "fp");
            assert!(matches!(a, Err(PairError::WrongCode)), "{:?}", a.err());
            assert!(matches!(b, Err(PairError::WrongCode)), "{:?}", b.err());
            assert_eq!(code.failed, i);
        }
        assert!(!code.usable());

        let mut code = Code::new().unwrap();
        let digits = code.digits.clone();
        let (a, b) = run(&mut code, &digits, "fp", "other");
        assert!(matches!(a, Err(PairError::OtherOffice)));
        assert!(matches!(b, Err(PairError::OtherOffice)));
    }
}
