//! A request that never holds the operator: it runs on a thread of its own while the upload
//! watches it (as gitui's push can be cancelled at once). A cancel abandons it within
//! [`POLL`]; no progress for the stall time counts as a timed-out request, retried like any
//! network failure. An abandoned request's answer is never used: its records stay queued and
//! are sent again (the office answers `already_there` for those it stored).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::http::SendError;
use super::net::NetError;

/// How often the watch looks at the cancel flag and the request's progress.
pub const POLL: Duration = Duration::from_millis(50);

/// Progress a request makes: bytes of its body handed to the network so far.
pub type Counter = Arc<AtomicU64>;

/// Runs `request` (given the counter it moves as it sends) and waits for its answer, unless
/// `cancel` is set first ([`SendError::Cancelled`]) or the counter stands still for `stall`
/// ([`NetError::TimedOut`]).
pub fn watched<T: Send + 'static>(
    cancel: &AtomicBool,
    stall: Duration,
    request: impl FnOnce(Counter) -> Result<T, SendError> + Send + 'static,
) -> Result<T, SendError> {
    let counter: Counter = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::channel();
    let c = Arc::clone(&counter);
    std::thread::Builder::new()
        .name("upload-request".into())
        .spawn(move || {
            // the receiver may have left (cancel, stall): nobody to tell
            let _ = tx.send(request(c));
        })
        .map_err(|_| SendError::Transient(NetError::Other))?;
    let mut seen = 0;
    let mut moved = Instant::now();
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(SendError::Cancelled);
        }
        match rx.recv_timeout(POLL) {
            Ok(r) => return r,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(SendError::Transient(NetError::Other));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        let now = counter.load(Ordering::Relaxed);
        if now != seen {
            seen = now;
            moved = Instant::now();
        } else if moved.elapsed() >= stall {
            tracing::info!(stall_s = stall.as_secs(), "request stalled: abandoned");
            return Err(SendError::Transient(NetError::TimedOut));
        }
    }
}

/// A request body that counts what the network has taken of it.
pub struct Counting {
    data: Arc<Vec<u8>>,
    at: usize,
    counter: Counter,
}

impl Counting {
    pub fn new(data: Arc<Vec<u8>>, counter: Counter) -> Counting {
        Counting {
            data,
            at: 0,
            counter,
        }
    }
}

impl std::io::Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_abandons_the_request_at_once() {
        let cancel = Arc::new(AtomicBool::new(false));
        let c = Arc::clone(&cancel);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            c.store(true, Ordering::Relaxed);
        });
        let started = Instant::now();
        // a request that would hang for a minute
        let r: Result<(), _> = watched(&cancel, Duration::from_secs(30), |_| {
            std::thread::sleep(Duration::from_secs(60));
            Ok(())
        });
        assert!(matches!(r, Err(SendError::Cancelled)));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn no_progress_for_the_stall_time_is_a_timeout_and_progress_is_not() {
        let cancel = AtomicBool::new(false);
        let r: Result<(), _> = watched(&cancel, Duration::from_millis(300), |_| {
            std::thread::sleep(Duration::from_secs(60));
            Ok(())
        });
        assert!(matches!(r, Err(SendError::Transient(NetError::TimedOut))));
        // moving for longer than the stall time, then answering: not a stall
        let r = watched(&cancel, Duration::from_millis(300), |counter| {
            for _ in 0..10 {
                std::thread::sleep(Duration::from_millis(100));
                counter.fetch_add(1, Ordering::Relaxed);
            }
            Ok(7)
        });
        assert_eq!(r.unwrap(), 7);
    }

    #[test]
    fn the_body_counts_what_is_read() {
        use std::io::Read;
        let counter: Counter = Arc::new(AtomicU64::new(0));
        let mut body = Counting::new(Arc::new(b"hello world".to_vec()), Arc::clone(&counter));
        let mut out = Vec::new();
        body.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello world");
        assert_eq!(counter.load(Ordering::Relaxed), 11);
    }
}
