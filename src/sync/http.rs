//! One batch over HTTPS, with the office's own certificate authority if given, and the
//! sorting of failures into "try again later" and "stop".

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::Client;
use reqwest::header::{ACCEPT_LANGUAGE, AUTHORIZATION, CONTENT_TYPE};

use crate::i18n::Lang;
use crate::protocol::{BatchResponse, ErrorBody, PATH_BATCHES};

/// Why a request did not bring back answers.
#[derive(Debug)]
pub enum SendError {
    /// Network trouble, a cut connection, a timeout, 5xx, 429: the same batch may be sent
    /// again (the server answers `already_there` for what it already stored).
    Transient(String),
    /// 401/403: the token is unknown or revoked.
    Unauthorized(String),
    /// 413: the batch is too big for this server; send smaller ones.
    TooLarge,
    /// Any other refusal: a client/server mismatch that retrying will not fix.
    Refused { status: u16, message: String },
    /// The server's certificate is not trusted (or not for this name): retrying will not
    /// help; the operator needs the office's CA (`--ca`) or the right server name.
    Certificate(String),
}

pub struct Http {
    client: Client,
    url: String,
    auth: String,
    lang: Lang,
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
    ) -> Result<Http, HttpSetupError> {
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
        let client = b
            .build()
            .map_err(|e| HttpSetupError::Client(e.to_string()))?;
        Ok(Http {
            client,
            url: format!("{}{PATH_BATCHES}", server.trim_end_matches('/')),
            auth: format!("Bearer {token}"),
            lang,
        })
    }

    /// POSTs one batch body (already serialised: retries resend the same bytes).
    pub fn send(&self, body: &[u8]) -> Result<BatchResponse, SendError> {
        let resp = self
            .client
            .post(&self.url)
            .header(AUTHORIZATION, &self.auth)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT_LANGUAGE, self.lang.code())
            .body(body.to_vec())
            .send()
            .map_err(|e| {
                if is_certificate_error(&e) {
                    SendError::Certificate(describe(&e))
                } else {
                    SendError::Transient(describe(&e))
                }
            })?;
        let status = resp.status();
        if status == StatusCode::OK {
            // A response cut half-way fails here: transient, the batch is sent again.
            let bytes = resp
                .bytes()
                .map_err(|e| SendError::Transient(describe(&e)))?;
            return serde_json::from_slice(&bytes)
                .map_err(|e| SendError::Transient(format!("unreadable answer: {e}")));
        }
        let message = resp
            .bytes()
            .ok()
            .and_then(|b| serde_json::from_slice::<ErrorBody>(&b).ok())
            .map(|e| e.message)
            .unwrap_or_else(|| status.to_string());
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SendError::Unauthorized(message),
            StatusCode::PAYLOAD_TOO_LARGE => SendError::TooLarge,
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
                SendError::Transient(format!("{status}: {message}"))
            }
            s if s.is_server_error() => SendError::Transient(format!("{status}: {message}")),
            s => SendError::Refused {
                status: s.as_u16(),
                message,
            },
        })
    }
}

/// reqwest's error with its causes (the top level alone says just "error sending request").
fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// True if a TLS certificate check failed somewhere in the error's causes.
fn is_certificate_error(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        // rustls errors arrive wrapped in an io::Error, whose `source()` skips the inner
        // error: look inside explicitly.
        let inner = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|i| i.downcast_ref::<rustls::Error>());
        if let Some(rustls::Error::InvalidCertificate(_)) =
            err.downcast_ref::<rustls::Error>().or(inner)
        {
            return true;
        }
        source = err.source();
    }
    // The chain may hide it behind wrappers that expose no source: rustls's own wording.
    describe(e).contains("invalid peer certificate")
}
