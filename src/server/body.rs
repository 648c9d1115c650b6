//! A request body read into memory under the server's limits: at most `--max-body` bytes,
//! each KiB taken from the shared body budget as it arrives (given back when the request is
//! done with it), and a time limit for a body that trickles in. A gzip body
//! (`Content-Encoding: gzip`, uploads over a weak link) is inflated under the same limit and
//! the same budget: a body that inflates past `--max-body` (a zip bomb) is refused after
//! that many bytes, never held whole.

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
        let need = (out.len() + n).div_ceil(1024) - permit.num_permits();
        if need > 0 {
            let more = tokio::time::timeout(
                BODY_BUDGET_WAIT,
                budget.clone().acquire_many_owned(need as u32),
            )
            .await
            .map_err(|_| Refusal::Busy)?
            .map_err(|_| Refusal::Busy)?;
            permit.merge(more);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
