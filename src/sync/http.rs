//! One batch over HTTPS, with the office's own certificate authority if given, and the
//! sorting of failures into "try again later" and "stop".

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::Client;
use reqwest::header::{
    ACCEPT_ENCODING, ACCEPT_LANGUAGE, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE,
};

use super::net::{CertProblem, NetError, certificate_problem, describe};
use crate::card::DeviceKey;
use crate::i18n::Lang;
use crate::protocol::{
    BatchResponse, ErrorBody, HEADER_DEVICE_KEY, HEADER_SIGNATURE, PATH_BATCHES, PATH_BUNDLE,
    batch_message,
};

/// The refusals of a token/key binding (403): the whole request, records stay queued.
pub const BINDING_CODES: &[&str] = &[
    "token_bound_to_other_key",
    "key_id_taken",
    "device_key_revoked",
    "key_bound_to_other_device",
    "foreign_member_number",
    "bad_batch_signature",
    "bad_device_key",
];

/// Why a request did not bring back answers.
#[derive(Debug)]
pub enum SendError {
    /// Network trouble, a cut connection, a timeout, 5xx, 429: the same batch may be sent
    /// again (the server answers `already_there` for what it already stored).
    Transient(NetError),
    /// 401/403: the token is unknown or revoked.
    Unauthorized(String),
    /// 403 with a binding reason code: this token and this laptop's key do not go together.
    Binding { code: String, message: String },
    /// 426: the office wants a newer booth.
    UpgradeRequired(String),
    /// 413: the batch is too big for this server; send smaller ones.
    TooLarge,
    /// Any other refusal: a client/server mismatch that retrying will not fix.
    Refused { status: u16, message: String },
    /// The server's certificate is not trusted (or not for this name): retrying will not
    /// help; the operator needs the office's CA (`--ca`) or the right server name.
    Certificate(CertProblem),
    /// The operator cancelled while the request was under way: abandoned (see `watch`).
    Cancelled,
}

pub struct Http {
    client: Client,
    url: String,
    bundle_url: String,
    auth: String,
    lang: Lang,
    key: DeviceKey,
    /// The server's name, for "name not found".
    host: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    #[error("cannot read {path}: {why}")]
    CaRead { path: String, why: std::io::Error },
    #[error("{path} holds no PEM certificate")]
    CaParse { path: String },
    #[error("HTTP client: {0}")]
    Client(String),
}

impl Http {
    pub fn new(
        server: &str,
        token: &str,
        ca: Option<&Path>,
        timeout: Duration,
        lang: Lang,
        key: DeviceKey,
    ) -> Result<Http, HttpSetupError> {
        let client = client(ca, timeout)?;
        Ok(Http {
            client,
            url: format!("{}{PATH_BATCHES}", server.trim_end_matches('/')),
            bundle_url: format!("{}{PATH_BUNDLE}", server.trim_end_matches('/')),
            auth: format!("Bearer {token}"),
            lang,
            key,
            host: super::net::host_of(server),
        })
    }

    /// The office's bundle; `None` when it is still version `known` (304).
    pub fn fetch_bundle(&self, known: Option<u64>) -> Result<Option<String>, SendError> {
        let mut req = self.client.get(&self.bundle_url);
        if let Some(v) = known {
            req = req.header(reqwest::header::IF_NONE_MATCH, format!("\"{v}\""));
        }
        let resp = req.send().map_err(|e| self.failed(&e))?;
        match resp.status() {
            StatusCode::NOT_MODIFIED => Ok(None),
            StatusCode::OK => resp.text().map(Some).map_err(|e| self.failed(&e)),
            s if s.is_server_error()
                || s == StatusCode::REQUEST_TIMEOUT
                || s == StatusCode::TOO_MANY_REQUESTS =>
            {
                Err(SendError::Transient(NetError::Server(s.as_u16())))
            }
            s => Err(SendError::Refused {
                status: s.as_u16(),
                message: s.to_string(),
            }),
        }
    }
}

/// A bundle from any address (`booth verify --bundle URL`).
pub fn fetch_url(url: &str, ca: Option<&Path>) -> Result<String, String> {
    let client = client(ca, Duration::from_secs(30)).map_err(|e| e.to_string())?;
    let resp = client.get(url).send().map_err(|e| describe(&e))?;
    if !resp.status().is_success() {
        return Err(resp.status().to_string());
    }
    resp.text().map_err(|e| describe(&e))
}

fn client(ca: Option<&Path>, timeout: Duration) -> Result<Client, HttpSetupError> {
    {
        crate::tls::install_crypto_provider();
        let mut b = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(timeout)
            .user_agent(concat!("booth/", env!("CARGO_PKG_VERSION")))
            .https_only(false);
        if let Some(path) = ca {
            let pem = std::fs::read(path).map_err(|why| HttpSetupError::CaRead {
                path: path.display().to_string(),
                why,
            })?;
            // Only the office's certificates: a laptop configured for the office's own
            // certificate has no reason to trust anyone else for this connection.
            let tls = crate::tls::client_config_for_office(&pem).map_err(|_| {
                HttpSetupError::CaParse {
                    path: path.display().to_string(),
                }
            })?;
            b = b.tls_backend_preconfigured(tls);
        }
        b.build().map_err(|e| HttpSetupError::Client(e.to_string()))
    }
}

impl Http {
    /// POSTs one batch body (already serialised: retries resend the same bytes); `sent`
    /// counts the bytes the network takes, for the stall watch.
    pub fn send(
        &self,
        body: &std::sync::Arc<Vec<u8>>,
        sent: super::watch::Counter,
    ) -> Result<BatchResponse, SendError> {
        let bytes = self.post(&self.url, &batch_message(body), body, sent)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            tracing::warn!(error = %e, "unreadable answer to a batch");
            SendError::Transient(NetError::BadAnswer)
        })
    }

    /// Sends held segments (SPEC §12; `POST /v1/segments`, signed by this laptop as a relay).
    pub fn send_segments(
        &self,
        body: &[u8],
    ) -> Result<crate::protocol::SegmentsResponse, SendError> {
        let url = self
            .url
            .replace(PATH_BATCHES, crate::protocol::PATH_SEGMENTS);
        let body = std::sync::Arc::new(body.to_vec());
        let signed = crate::protocol::relay_message(&body);
        let bytes = self.post(&url, &signed, &body, super::watch::Counter::default())?;
        serde_json::from_slice(&bytes).map_err(|e| {
            tracing::warn!(error = %e, "unreadable answer to held segments");
            SendError::Transient(NetError::BadAnswer)
        })
    }

    /// POSTs a signed JSON body, gzipped (`Content-Encoding: gzip`: a batch is about a fifth
    /// of its JSON on the wire; the signature covers the JSON itself); the answer's bytes
    /// when 200, inflated if the office gzipped them. `sent` counts the bytes the network
    /// takes.
    fn post(
        &self,
        url: &str,
        signed: &[u8],
        body: &std::sync::Arc<Vec<u8>>,
        sent: super::watch::Counter,
    ) -> Result<Vec<u8>, SendError> {
        let wire = std::sync::Arc::new(gzip(body));
        let len = wire.len() as u64;
        let counted = super::watch::Counting::new(wire, sent);
        let resp = self
            .client
            .post(url)
            .header(AUTHORIZATION, &self.auth)
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_ENCODING, "gzip")
            .header(ACCEPT_ENCODING, "gzip")
            .header(ACCEPT_LANGUAGE, self.lang.code())
            .header(
                HEADER_DEVICE_KEY,
                data_encoding::BASE64URL_NOPAD.encode(self.key.public().as_bytes()),
            )
            .header(
                HEADER_SIGNATURE,
                data_encoding::BASE64URL_NOPAD.encode(&self.key.sign(signed)),
            )
            .body(reqwest::blocking::Body::sized(counted, len))
            .send()
            .map_err(|e| self.failed(&e))?;
        let status = resp.status();
        if status == StatusCode::OK {
            let gzipped = resp
                .headers()
                .get(CONTENT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
            // A response cut half-way fails here: transient, the batch is sent again.
            let bytes = resp.bytes().map_err(|e| self.failed(&e))?;
            if !gzipped {
                return Ok(bytes.to_vec());
            }
            return gunzip(&bytes).ok_or_else(|| {
                tracing::warn!("damaged gzip answer to a batch");
                SendError::Transient(NetError::BadAnswer)
            });
        }
        let answer = resp
            .bytes()
            .ok()
            .and_then(|b| serde_json::from_slice::<ErrorBody>(&b).ok());
        let code = answer.as_ref().map(|e| e.error.clone()).unwrap_or_default();
        let message = answer
            .map(|e| e.message)
            .unwrap_or_else(|| status.to_string());
        tracing::info!(status = status.as_u16(), code, message, "batch not taken");
        Err(match status {
            StatusCode::FORBIDDEN if BINDING_CODES.contains(&code.as_str()) => {
                SendError::Binding { code, message }
            }
            StatusCode::UPGRADE_REQUIRED => SendError::UpgradeRequired(message),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SendError::Unauthorized(message),
            StatusCode::PAYLOAD_TOO_LARGE => SendError::TooLarge,
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
                SendError::Transient(NetError::Server(status.as_u16()))
            }
            s if s.is_server_error() => SendError::Transient(NetError::Server(s.as_u16())),
            s => SendError::Refused {
                status: s.as_u16(),
                message,
            },
        })
    }
}

/// `bytes` gzipped at the default level: within a few per cent of the best on a batch, at
/// several times its speed (the loopback upload stays fast).
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// The largest answer inflated: an answer names each record of a batch once (5,000 at most).
const MAX_ANSWER: u64 = 64 * 1024 * 1024;

/// A gzip answer inflated, at most [`MAX_ANSWER`] bytes; `None` when damaged or larger.
fn gunzip(bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_ANSWER + 1)
        .read_to_end(&mut out)
        .ok()?;
    (out.len() as u64 <= MAX_ANSWER).then_some(out)
}

impl Http {
    /// A request that brought no answer: the certificate, or the network's kind of failure
    /// (the library's own words go to the log).
    fn failed(&self, e: &reqwest::Error) -> SendError {
        tracing::info!(error = describe(e), "request failed");
        match certificate_problem(e) {
            Some(p) => SendError::Certificate(p),
            None => SendError::Transient(NetError::from_reqwest(e, &self.host)),
        }
    }
}
