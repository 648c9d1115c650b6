//! A request body read into memory under the server's limits: at most `--max-body` bytes,
//! each KiB taken from the shared body budget as it arrives (given back when the request is
//! done with it), and a time limit for a body that trickles in.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http_body_util::BodyExt;

use super::refusal::Refusal;

/// How long a body may wait for the budget before the client is told to come back later.
const BODY_BUDGET_WAIT: Duration = Duration::from_secs(20);
/// How long a whole body may take to arrive.
const BODY_TIME_LIMIT: Duration = Duration::from_secs(120);
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
/// in slower than the time limit is cut.
pub async fn read_body(
    body: Body,
    limit: usize,
    budget: Arc<tokio::sync::Semaphore>,
) -> Result<HeldBody, Refusal> {
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
        while let Some(frame) = body.frame().await {
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
    tokio::time::timeout(BODY_TIME_LIMIT, read)
        .await
        .unwrap_or(Err(Refusal::BodyRead))
}
