//! Password checks under a flood: each console login runs Argon2id (19 MiB, tens of
//! milliseconds of a core), and hundreds at once took the server to gigabytes. Three bounds
//! ([`PasswordGate`], as Vaultwarden and kanidm bound theirs):
//!
//! - at most a few logins are inside at once (hashing, or queued for it): past that a login
//!   is answered at once with "busy, retry after", before any work — not even a database
//!   look-up — and the same for every name, known or not;
//! - at most `slots` hash at a time;
//! - each slot hashes in a memory block of its own, allocated once and reused (wiped after
//!   each use): a fresh 19 MiB per hash, freed between other allocations, fragments the
//!   allocator's heaps until the process holds gigabytes it cannot give back.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// How long a login waits for a hashing slot before it is told to come back.
const WAIT_LIMIT: Duration = Duration::from_secs(10);

/// Bounded concurrent password checks with a bounded queue.
pub struct PasswordGate {
    permits: Semaphore,
    /// Logins inside: holding a slot, or waiting for one.
    inside: AtomicUsize,
    /// Slots plus queue: past this many inside, a login is turned away at once.
    capacity: usize,
    /// The slots' memory blocks, taken by a check and put back after it.
    memory: Mutex<Vec<Vec<Block>>>,
}

/// A login that may not be checked now: answer 503 with `Retry-After` (seconds).
#[derive(Debug, PartialEq, Eq)]
pub struct GateBusy {
    pub retry_after: u64,
}

/// A login let in: its place counts until dropped.
pub struct Ticket<'a> {
    gate: &'a PasswordGate,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.gate.inside.fetch_sub(1, Ordering::AcqRel);
    }
}

fn busy() -> GateBusy {
    GateBusy {
        retry_after: WAIT_LIMIT.as_secs(),
    }
}

impl PasswordGate {
    /// `slots` hashes at once, `queue` more logins waiting.
    pub fn new(slots: usize, queue: usize) -> PasswordGate {
        let slots = slots.max(1);
        PasswordGate {
            permits: Semaphore::new(slots),
            inside: AtomicUsize::new(0),
            capacity: slots + queue,
            memory: Mutex::new(Vec::new()),
        }
    }

    /// For this machine: one slot per core, 2 to 4 (each holds 19 MiB), and 32 waiting (a
    /// queue that drains in about a second).
    pub fn for_this_machine() -> PasswordGate {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PasswordGate::new(cores.clamp(2, 4), 32)
    }

    /// A place inside, or "busy" at once when the gate is full.
    pub fn enter(&self) -> Result<Ticket<'_>, GateBusy> {
        if self.inside.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.inside.fetch_sub(1, Ordering::AcqRel);
            return Err(busy());
        }
        Ok(Ticket { gate: self })
    }
}

impl Ticket<'_> {
    /// Does `password` match the PHC string `hash`? Checked on the blocking pool once a slot
    /// is free ("busy" after [`WAIT_LIMIT`] without one). A damaged hash never matches.
    pub async fn verify(&self, password: String, hash: String) -> Result<bool, GateBusy> {
        let gate = self.gate;
        let permit = match tokio::time::timeout(WAIT_LIMIT, gate.permits.acquire()).await {
            Ok(Ok(p)) => p,
            _ => return Err(busy()),
        };
        let mut memory = gate
            .memory
            .lock()
            .map(|mut m| m.pop())
            .ok()
            .flatten()
            .unwrap_or_default();
        // The slot is held until the hash is done, even if the client has gone: a dropped
        // request must not free a slot while its hash still runs.
        let (good, memory) = tokio::task::spawn_blocking(move || {
            let good = verify_in(password.as_bytes(), &hash, &mut memory);
            (good, memory)
        })
        .await
        .unwrap_or((false, Vec::new()));
        if let Ok(mut m) = gate.memory.lock() {
            m.push(memory);
        }
        drop(permit);
        Ok(good)
    }
}

/// Argon2 (the variant, version and cost the PHC string names) in `memory`, grown to the
/// cost's size the first time and wiped after.
fn verify_in(password: &[u8], phc: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(hash.algorithm.as_str()),
        Params::try_from(&hash),
    ) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.as_bytes().len()];
    let done = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password,
        salt.as_ref(),
        &mut out,
        &mut memory[..blocks],
    );
    memory[..blocks].fill(Block::default());
    done.is_ok() && bool::from(out.ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn phc(password: &str) -> String {
        use argon2::PasswordHasher;
        Argon2::default()
            .hash_password_with_salt(password.as_bytes(), b"sixteen-byte-slt")
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_reused_memory_checks_as_the_crate_does() {
        let h = phc("Office-Pass-2026");
        let mut memory = Vec::new();
        assert!(verify_in(b"Office-Pass-2026", &h, &mut memory));
        assert!(!verify_in(b"Office-Pass-2027", &h, &mut memory));
        assert!(
            verify_in(b"Office-Pass-2026", &h, &mut memory),
            "again, reused"
        );
        assert!(!verify_in(b"x", "garbage", &mut memory));
        assert!(
            memory.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)),
            "wiped"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_queue_logins_are_turned_away_and_the_rest_checked() {
        let gate = Arc::new(PasswordGate::new(2, 3));
        let hash = phc("right-password");
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (gate, hash) = (gate.clone(), hash.clone());
            tasks.push(tokio::spawn(async move {
                let ticket = gate.enter()?;
                // hold the place a while, as a database look-up would
                tokio::time::sleep(Duration::from_millis(200)).await;
                ticket.verify("right-password".into(), hash).await
            }));
        }
        let mut checked = 0;
        let mut turned_away = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(good) => {
                    assert!(good);
                    checked += 1
                }
                Err(b) => {
                    assert!(b.retry_after > 0);
                    turned_away += 1
                }
            }
        }
        assert_eq!((checked, turned_away), (5, 15), "2 slots and 3 waiting");
        assert!(gate.memory.lock().unwrap().len() <= 2, "one block per slot");
        // and the gate is empty again afterwards
        let ticket = gate.enter().unwrap();
        assert_eq!(ticket.verify("nope".into(), hash).await, Ok(false));
    }
}
