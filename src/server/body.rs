//! A request body read into memory under the server's limits: at most `--max-body` bytes,
//! each KiB taken from the shared body budget as it arrives (given back when the request is
//! done with it), and a deadline that grows with what has arrived ([`Pace`]): a client
//! dribbling a byte every few seconds is cut with 408 instead of holding its connection (and
//! whatever the handler holds) for as long as it likes.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http_body_util::BodyExt;

use super::refusal::Refusal;

/// How long a body may wait for the budget before the client is told to come back later.
const BODY_BUDGET_WAIT: Duration = Duration::from_secs(20);
/// How fast a body must arrive: within `grace`, plus one second per `min_rate` bytes
/// received, and never longer than `max`. The deadline moves only as bytes arrive, so a
/// slow but honest laptop on a poor line gets time in proportion to what it sends, and a
/// client sending one byte every few seconds falls behind at once.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    pub grace: Duration,
    /// Bytes per second, averaged from the start (after the grace).
    pub min_rate: u64,
    pub max: Duration,
}

/// Upload batches, relayed segments, backup files: 20 s, then at least 8 KiB/s (a 2G line
/// does better), at most 120 s for the whole body.
pub const UPLOAD_PACE: Pace = Pace {
    grace: Duration::from_secs(20),
    min_rate: 8 * 1024,
    max: Duration::from_secs(120),
};

/// The console's forms (a few hundred bytes): 20 s for the whole body.
pub const FORM_PACE: Pace = Pace {
    grace: Duration::from_secs(20),
    min_rate: 8 * 1024,
    max: Duration::from_secs(20),
};

impl Pace {
    /// How long a body may have taken once `received` bytes have arrived.
    fn allowed(&self, received: usize) -> Duration {
        let earned = Duration::from_secs_f64(received as f64 / self.min_rate.max(1) as f64);
        (self.grace + earned).min(self.max)
    }
}
/// Past the limit, how much more is read and thrown away before answering anyway.
const DRAIN_MAX: usize = 256 * 1024 * 1024;

/// A request body in memory, with its share of the server's body budget (given back when
/// the request is done with it).
pub struct HeldBody {
    pub bytes: Vec<u8>,
    _budget: tokio::sync::OwnedSemaphorePermit,
}

/// Reads at most `limit` bytes, each KiB taken from `budget` as it arrives. Past the limit
/// the rest is read and thrown away (up to a bound) before answering 413, so the client sees
/// the answer rather than a reset connection while it is still sending. A body that trickles
/// in slower than [`UPLOAD_PACE`] is cut (408).
pub async fn read_body(
    body: Body,
    limit: usize,
    budget: Arc<tokio::sync::Semaphore>,
) -> Result<HeldBody, Refusal> {
    read_body_paced(body, limit, budget, UPLOAD_PACE).await
}

/// [`read_body`] at the given pace.
pub async fn read_body_paced(
    body: Body,
    limit: usize,
    budget: Arc<tokio::sync::Semaphore>,
    pace: Pace,
) -> Result<HeldBody, Refusal> {
    let start = tokio::time::Instant::now();
    let read = async move {
        let mut body = body;
        // Sized once from the announced length: growing by doubling would copy the body and
        // leave up to twice its size resident, outside what the budget counts. Untouched
        // capacity costs no memory until the bytes arrive.
        let announced =
            usize::try_from(axum::body::HttpBody::size_hint(&body).upper().unwrap_or(0))
                .unwrap_or(0);
        let mut buf = Vec::with_capacity(announced.min(limit));
        let mut held = budget
            .clone()
            .try_acquire_many_owned(0)
            .map_err(|_| Refusal::Busy)?;
        let mut seen = 0usize;
        loop {
            let deadline = start + pace.allowed(seen);
            let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
                Err(_) => return Err(Refusal::BodyTimeout),
                Ok(None) => break,
                Ok(Some(frame)) => frame,
            };
            let frame = frame.map_err(|_| Refusal::BodyRead)?;
            if let Ok(data) = frame.into_data() {
                seen = seen.saturating_add(data.len());
                if seen > limit {
                    if seen > DRAIN_MAX {
                        break;
                    }
                    continue;
                }
                let need = (buf.len() + data.len()).div_ceil(1024) - held.num_permits();
                if need > 0 {
                    let more = tokio::time::timeout(
                        BODY_BUDGET_WAIT,
                        budget.clone().acquire_many_owned(need as u32),
                    )
                    .await
                    .map_err(|_| Refusal::Busy)?
                    .map_err(|_| Refusal::Busy)?;
                    held.merge(more);
                }
                buf.extend_from_slice(&data);
            }
        }
        if seen > limit {
            Err(Refusal::TooLarge { max: limit })
        } else {
            Ok(HeldBody {
                bytes: buf,
                _budget: held,
            })
        }
    };
    // the budget's own wait (20 s at most) is inside the pace's bound too
    tokio::time::timeout(pace.max + BODY_BUDGET_WAIT, read)
        .await
        .unwrap_or(Err(Refusal::BodyTimeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_grows_with_what_arrived_up_to_the_cap() {
        assert_eq!(UPLOAD_PACE.allowed(0), Duration::from_secs(20));
        assert_eq!(UPLOAD_PACE.allowed(80 * 1024), Duration::from_secs(30));
        assert_eq!(UPLOAD_PACE.allowed(16 << 20), Duration::from_secs(120));
        assert_eq!(FORM_PACE.allowed(500), Duration::from_secs(20));
    }

    #[tokio::test]
    async fn a_dribbled_body_is_cut_with_408_and_a_steady_one_read() {
        let pace = Pace {
            grace: Duration::from_millis(300),
            min_rate: 10,
            max: Duration::from_secs(5),
        };
        let budget = Arc::new(tokio::sync::Semaphore::new(1024));
        // a byte every 200 ms: 5 bytes/s against 10 required, behind after the grace
        let slow = fed(vec![b"a".to_vec(); 20], Duration::from_millis(200));
        let r = read_body_paced(slow, 1000, budget.clone(), pace).await;
        assert_eq!(r.err(), Some(Refusal::BodyTimeout));
        // ten bytes every 200 ms keeps ahead
        let steady = fed(vec![b"0123456789".to_vec(); 5], Duration::from_millis(200));
        let r = read_body_paced(steady, 1000, budget, pace).await;
        assert_eq!(r.map(|b| b.bytes.len()).ok(), Some(50));
    }

    /// A body whose chunks come one per `every`.
    fn fed(chunks: Vec<Vec<u8>>, every: Duration) -> Body {
        let stream = futures_util::stream::unfold(chunks.into_iter(), move |mut it| async move {
            let chunk = it.next()?;
            tokio::time::sleep(every).await;
            Some((Ok::<_, std::io::Error>(chunk), it))
        });
        Body::from_stream(stream)
    }
}
