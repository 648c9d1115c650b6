//! The owner-only local socket (SPEC §12, last point). While a process holds a data folder
//! (the terminal UI, or `booth peers run`), every other `booth` command on that folder runs
//! through it: the command line goes over `<data>/booth.sock` to the holder, which runs the
//! same dispatch with its unlocked store and sends back the exit status, stdout and stderr.
//!
//! - The socket is a Unix socket in the data folder (0700), itself 0600: only the folder's
//!   owner can connect.
//! - The client proves the passphrase without sending it: the holder sends a fresh random
//!   challenge; the client derives the store key from the passphrase (the folder's Argon2id
//!   salt and cost), then `K = HKDF(store key, "booth local socket v1")`, and answers
//!   `HMAC-SHA256(K, "booth-local/1" ‖ challenge ‖ SHA-256(request))`. The holder compares in
//!   constant time with the key it derives from its own store key. A wrong passphrase is
//!   refused like a wrong passphrase on the folder itself; nothing is run.
//! - While the holder is locked (F10, idle lock), every request is refused.
//!
//! The holder side is a thread that accepts and checks connections and hands each checked
//! request to the owning loop over a channel ([`holder::Job`]): the TUI can host it the same
//! way `peers run` does (`Holder::start`, then answer the jobs on its own thread, and
//! `Holder::set_locked` from its lock screen).
//!
//! Frames: a 4-byte big-endian length, then JSON (at most [`MAX_FRAME`] bytes).

pub mod client;
pub mod holder;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const SOCKET_FILE: &str = "booth.sock";
/// A request carries a command line and, for `-`, what was on standard input; a reply the
/// command's output (a whole import report fits).
pub const MAX_FRAME: usize = 64 * 1024 * 1024;
const PROOF_DOMAIN: &[u8] = b"booth-local/1";

pub fn socket_path(dir: &Path) -> PathBuf {
    dir.join(SOCKET_FILE)
}

/// A command to run, as typed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The command line, program name first.
    pub args: Vec<String>,
    /// The client's working directory: relative paths on the command line are its.
    pub cwd: String,
    /// Standard input, when the command line reads it (`enroll -`, `verify -`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// The client's language (`--lang`, `BOOTH_LANG`, the folder's).
    pub lang: String,
}

/// What the command printed, and its exit status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub exit: u8,
    pub stdout: String,
    pub stderr: String,
}

/// The holder's first frame.
#[derive(Serialize, Deserialize)]
struct Hello {
    /// 32 random bytes, hex.
    challenge: String,
}

/// The client's frame: the proof and the request it covers.
#[derive(Serialize, Deserialize)]
struct Auth {
    proof: String,
    request: Request,
}

fn proof(key: &[u8; 32], challenge: &[u8], request: &[u8]) -> hmac::Hmac<Sha256> {
    let mut mac =
        <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(PROOF_DOMAIN);
    mac.update(challenge);
    mac.update(&Sha256::digest(request));
    mac
}

fn write_frame(w: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    if bytes.len() > MAX_FRAME {
        return Err(std::io::Error::other("frame too large"));
    }
    w.write_all(&(bytes.len() as u32).to_be_bytes())?;
    w.write_all(&bytes)?;
    w.flush()
}

fn read_frame<T: for<'de> Deserialize<'de>>(r: &mut impl Read) -> std::io::Result<T> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::other("frame too large"));
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)?;
    serde_json::from_slice(&buf).map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_covers_the_key_the_challenge_and_the_request() {
        let p = |k: u8, c: &[u8], r: &[u8]| proof(&[k; 32], c, r).finalize().into_bytes();
        assert_eq!(p(1, b"c", b"r"), p(1, b"c", b"r"));
        assert_ne!(p(1, b"c", b"r"), p(2, b"c", b"r"));
        assert_ne!(p(1, b"c", b"r"), p(1, b"d", b"r"));
        assert_ne!(p(1, b"c", b"r"), p(1, b"c", b"s"));
    }

    #[test]
    fn frames_round_trip_and_oversized_ones_are_refused() {
        let mut buf = Vec::new();
        let reply = Reply {
            exit: 3,
            stdout: "一".into(),
            stderr: String::new(),
        };
        write_frame(&mut buf, &reply).unwrap();
        assert_eq!(read_frame::<Reply>(&mut buf.as_slice()).unwrap(), reply);
        let mut huge = (MAX_FRAME as u32 + 1).to_be_bytes().to_vec();
        huge.extend_from_slice(b"{}");
        assert!(read_frame::<Reply>(&mut huge.as_slice()).is_err());
    }
}
