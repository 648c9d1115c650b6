//! A request body read into memory under the server's limits: at most `--max-body` bytes,
//! each KiB taken from the shared body budget as it arrives (given back when the request is
//! done with it), and a deadline that grows with what has arrived ([`Pace`]): a client
//! dribbling a byte every few seconds is cut with 408 instead of holding its connection (and
//! whatever the handler holds) for as long as it likes. A gzip body (`Content-Encoding:
//! gzip`, uploads over a weak link) is inflated under the same limit and the same budget: a
//! body that inflates past `--max-body` (a zip bomb) is refused after that many bytes, never
//! held whole.

use std::sync::Arc;
use std::time::Duration;

use std::io::Read;

use axum::body::Body;
use axum::http::HeaderMap;
use axum::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING};
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
                reserve(&budget, &mut held, buf.len() + data.len()).await?;
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

/// Whether the request's `Accept-Encoding` takes gzip (a `gzip` or `*` entry whose `q` is not
/// 0, RFC 9110 §12.5.3).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|entry| {
            let mut parts = entry.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let zero = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !zero
        })
}

/// The body's coding: `Ok(true)` for gzip, `Ok(false)` for none (or `identity`).
fn gzipped(headers: &HeaderMap) -> Result<bool, Refusal> {
    let mut codings = headers
        .get_all(CONTENT_ENCODING)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("?").split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"));
    match (codings.next(), codings.next()) {
        (None, _) => Ok(false),
        (Some(c), None) if c.eq_ignore_ascii_case("gzip") || c.eq_ignore_ascii_case("x-gzip") => {
            Ok(true)
        }
        _ => Err(Refusal::UnsupportedEncoding),
    }
}

/// How much is inflated at a time: the budget is taken for each piece before it is kept.
const INFLATE_PIECE: usize = 64 * 1024;

/// [`read_body`], then, for a gzip body, its inflated bytes: at most `limit` of them, each
/// KiB taken from `budget` (the compressed bytes' share is given back once inflated). The
/// signature and the JSON are checked on what this returns.
pub async fn read_body_decoded(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    budget: Arc<tokio::sync::Semaphore>,
) -> Result<HeldBody, Refusal> {
    let gzip = gzipped(headers)?;
    let held = read_body(body, limit, budget.clone()).await?;
    if !gzip {
        return Ok(held);
    }
    let mut decoder = flate2::bufread::GzDecoder::new(held.bytes.as_slice());
    let mut out: Vec<u8> = Vec::new();
    let mut permit = budget
        .clone()
        .try_acquire_many_owned(0)
        .map_err(|_| Refusal::Busy)?;
    let mut piece = vec![0u8; INFLATE_PIECE];
    loop {
        let n = decoder.read(&mut piece).map_err(|_| Refusal::BadEncoding)?;
        if n == 0 {
            break;
        }
        if out.len() + n > limit {
            return Err(Refusal::InflatedTooLarge { max: limit });
        }
        reserve(&budget, &mut permit, out.len() + n).await?;
        out.extend_from_slice(&piece[..n]);
    }
    // one gzip member and nothing after it
    if !decoder.into_inner().is_empty() {
        return Err(Refusal::BadEncoding);
    }
    drop(held);
    Ok(HeldBody {
        bytes: out,
        _budget: permit,
    })
}

/// `bytes` gzipped at the default level (what the server answers a batch with, when asked).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// Grows `held` to cover `bytes` from the shared body budget, waiting at most
/// [`BODY_BUDGET_WAIT`] for the rest (then the server is busy).
async fn reserve(
    budget: &Arc<tokio::sync::Semaphore>,
    held: &mut tokio::sync::OwnedSemaphorePermit,
    bytes: usize,
) -> Result<(), Refusal> {
    let need = bytes.div_ceil(1024).saturating_sub(held.num_permits());
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
    Ok(())
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

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        m
    }

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn accept_encoding_is_read_as_rfc_9110_says() {
        let h = |v: &str| accepts_gzip(&headers(&[("accept-encoding", v)]));
        assert!(h("gzip, deflate, br, zstd"));
        assert!(h("br;q=1.0, GZIP;q=0.5"));
        assert!(h("*"));
        assert!(!h("gzip;q=0"));
        assert!(!h("br, identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn a_gzip_body_inflates_within_the_limit_and_the_budget() {
        let plain = br#"{"records":[]}"#.repeat(1000);
        let budget = Arc::new(tokio::sync::Semaphore::new(1024));
        let gz = headers(&[("content-encoding", "gzip")]);
        let held = run(read_body_decoded(
            &gz,
            Body::from(gzip(&plain)),
            1 << 20,
            budget.clone(),
        ))
        .unwrap();
        assert_eq!(held.bytes, plain);
        // the inflated bytes' share of the budget is held, the compressed one given back
        assert_eq!(
            budget.available_permits(),
            1024 - plain.len().div_ceil(1024)
        );
        drop(held);
        assert_eq!(budget.available_permits(), 1024);

        // identity and none read as they are
        for h in [headers(&[]), headers(&[("content-encoding", "identity")])] {
            let held = run(read_body_decoded(
                &h,
                Body::from(plain.clone()),
                1 << 20,
                budget.clone(),
            ))
            .unwrap();
            assert_eq!(held.bytes, plain);
        }
        // another coding, two codings, damaged gzip, trailing bytes
        for (h, body, want) in [
            (
                headers(&[("content-encoding", "br")]),
                plain.clone(),
                Refusal::UnsupportedEncoding,
            ),
            (
                headers(&[("content-encoding", "gzip, gzip")]),
                gzip(&gzip(&plain)),
                Refusal::UnsupportedEncoding,
            ),
            (
                gz.clone(),
                gzip(&plain)[..100].to_vec(),
                Refusal::BadEncoding,
            ),
            (
                gz.clone(),
                [gzip(&plain), b"junk".to_vec()].concat(),
                Refusal::BadEncoding,
            ),
        ] {
            let r = run(read_body_decoded(
                &h,
                Body::from(body),
                1 << 20,
                budget.clone(),
            ));
            assert_eq!(r.err(), Some(want));
        }
    }

    /// A zip bomb: 64 MiB of zeros (four times the limit) in about 640 KiB of gzip. Refused at the limit, having held
    /// no more than the limit, and the budget is whole again.
    #[test]
    fn a_zip_bomb_is_refused_at_the_limit() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            enc.write_all(&zeros).unwrap();
        }
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 4 << 20, "{}", bomb.len());
        let limit = 16 << 20;
        let budget = Arc::new(tokio::sync::Semaphore::new(96 * 1024));
        let t0 = std::time::Instant::now();
        let r = run(read_body_decoded(
            &headers(&[("content-encoding", "gzip")]),
            Body::from(bomb),
            limit,
            budget.clone(),
        ));
        assert_eq!(r.err(), Some(Refusal::InflatedTooLarge { max: limit }));
        assert_eq!(budget.available_permits(), 96 * 1024);
        assert!(t0.elapsed() < std::time::Duration::from_secs(5));
    }
}
