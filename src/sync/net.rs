//! Why the office could not be reached, in words a cadre can act on. reqwest's and the
//! system's errors are sorted into a few kinds here (their own text goes to the log, never to
//! the screen), and the one rule about plain HTTP lives here too: the CLI and the terminal UI
//! both ask [`plain_http_host`] before anything is sent.

use std::error::Error as StdError;
use std::io::ErrorKind;
use std::net::IpAddr;

use crate::i18n::Lang;
use crate::t;

/// A network failure, by what the operator can do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetError {
    /// No route out: the laptop has no network.
    Offline,
    /// The server's name was not found: mistyped, or no network to ask.
    NameNotFound(String),
    /// Nothing takes connections at that address: the server is not running, or the port
    /// is wrong.
    Refused,
    /// No answer in time.
    TimedOut,
    /// The connection was cut half-way.
    Cut,
    /// The server answered with an error of its own (5xx) or said it is busy (408, 429).
    Server(u16),
    /// An answer that is not the protocol's.
    BadAnswer,
    /// Anything else a network can do.
    Other,
}

impl NetError {
    /// Sorts a request's failure; `host` is the server's name, for [`NetError::NameNotFound`].
    pub fn from_reqwest(e: &reqwest::Error, host: &str) -> NetError {
        let mut cause: Option<&(dyn StdError + 'static)> = Some(e);
        while let Some(err) = cause {
            if let Some(kind) = io_kind(err) {
                match kind {
                    ErrorKind::ConnectionRefused => return NetError::Refused,
                    ErrorKind::NetworkUnreachable
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkDown
                    | ErrorKind::AddrNotAvailable => return NetError::Offline,
                    ErrorKind::TimedOut => return NetError::TimedOut,
                    ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::UnexpectedEof => return NetError::Cut,
                    _ => {}
                }
            }
            // the server closed the connection before its answer was whole
            if let Some(h) = err.downcast_ref::<hyper::Error>()
                && (h.is_incomplete_message() || h.is_closed() || h.is_canceled())
            {
                return NetError::Cut;
            }
            // hyper-util's connector names a failed name lookup so (its error type is private)
            if err.to_string() == "dns error" {
                return NetError::NameNotFound(host.to_string());
            }
            cause = err.source();
        }
        if e.is_timeout() {
            NetError::TimedOut
        } else if e.is_body() || e.is_decode() {
            NetError::Cut
        } else {
            NetError::Other
        }
    }

    /// The plain reason, for "连不上工会服务器：…".
    pub fn reason(&self, lang: Lang) -> String {
        match self {
            NetError::Offline => t!(lang, "net.offline").into(),
            NetError::NameNotFound(host) => t!(lang, "net.name_not_found", host = host),
            NetError::Refused => t!(lang, "net.refused").into(),
            NetError::TimedOut => t!(lang, "net.timed_out").into(),
            NetError::Cut => t!(lang, "net.cut").into(),
            NetError::Server(status) => t!(lang, "net.server_error", status = status),
            NetError::BadAnswer => t!(lang, "net.bad_answer").into(),
            NetError::Other => t!(lang, "net.other").into(),
        }
    }

    /// The whole sentence: "连不上工会服务器：没有网络连接".
    pub fn message(&self, lang: Lang) -> String {
        t!(lang, "net.unreachable", why = self.reason(lang))
    }

    /// Stable code for `--json` and logs.
    pub fn code(&self) -> &'static str {
        match self {
            NetError::Offline => "offline",
            NetError::NameNotFound(_) => "name_not_found",
            NetError::Refused => "refused",
            NetError::TimedOut => "timed_out",
            NetError::Cut => "cut",
            NetError::Server(_) => "server_error",
            NetError::BadAnswer => "bad_answer",
            NetError::Other => "network",
        }
    }
}

/// The kind of an `io::Error` in a chain, also where it wraps another error.
fn io_kind(err: &(dyn StdError + 'static)) -> Option<ErrorKind> {
    let io = err.downcast_ref::<std::io::Error>()?;
    // an io::Error made from another error answers `Other`; the inner one may know better
    match io
        .get_ref()
        .and_then(|i| i.downcast_ref::<std::io::Error>())
    {
        Some(inner) => Some(inner.kind()),
        None => Some(io.kind()),
    }
}

/// Why the server's certificate was refused, in words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertProblem {
    /// Signed by nobody this laptop trusts (the office's own certificate without its file).
    UnknownIssuer,
    Expired,
    NotYetValid,
    /// Made for another name than the address used.
    WrongName,
    Other,
}

impl CertProblem {
    pub fn from_rustls(e: &rustls::CertificateError) -> CertProblem {
        use rustls::CertificateError as C;
        match e {
            C::UnknownIssuer | C::BadSignature => CertProblem::UnknownIssuer,
            C::Expired | C::ExpiredContext { .. } => CertProblem::Expired,
            C::NotValidYet | C::NotValidYetContext { .. } => CertProblem::NotYetValid,
            C::NotValidForName | C::NotValidForNameContext { .. } => CertProblem::WrongName,
            _ => CertProblem::Other,
        }
    }

    pub fn reason(self, lang: Lang) -> &'static str {
        match self {
            CertProblem::UnknownIssuer => t!(lang, "net.cert_unknown_issuer"),
            CertProblem::Expired => t!(lang, "net.cert_expired"),
            CertProblem::NotYetValid => t!(lang, "net.cert_not_yet_valid"),
            CertProblem::WrongName => t!(lang, "net.cert_wrong_name"),
            CertProblem::Other => t!(lang, "net.cert_other"),
        }
    }
}

/// The certificate problem somewhere in a request's failure, if that is what it was.
pub fn certificate_problem(e: &reqwest::Error) -> Option<CertProblem> {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cause {
        // rustls errors arrive wrapped in an io::Error, whose `source()` skips the inner
        // error: look inside explicitly.
        let inner = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|i| i.downcast_ref::<rustls::Error>());
        if let Some(rustls::Error::InvalidCertificate(c)) =
            err.downcast_ref::<rustls::Error>().or(inner)
        {
            return Some(CertProblem::from_rustls(c));
        }
        cause = err.source();
    }
    // the chain may hide it behind wrappers that expose no source: rustls's own wording
    let text = describe(e);
    text.contains("invalid peer certificate").then(|| {
        if text.contains("UnknownIssuer") || text.contains("BadSignature") {
            CertProblem::UnknownIssuer
        } else if text.contains("Expired") {
            CertProblem::Expired
        } else if text.contains("NotValidYet") {
            CertProblem::NotYetValid
        } else if text.contains("NotValidForName") {
            CertProblem::WrongName
        } else {
            CertProblem::Other
        }
    })
}

/// reqwest's error with its causes, for the log (the top level alone says just "error
/// sending request").
pub fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = StdError::source(e);
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// The host of a `http://` address that is not this machine: personal data would cross a
/// network unencrypted, so the operator must say yes first (the UI asks, the CLI needs
/// `--allow-http`). `None` for `https://`, and for loopback (127.0.0.0/8, ::1, localhost:
/// tests and a local proxy). An address that does not parse is not this function's to
/// refuse (the request fails on its own).
pub fn plain_http_host(server: &str) -> Option<String> {
    let url = reqwest::Url::parse(server.trim()).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let host = url.host_str()?;
    let loopback = match host.trim_matches(['[', ']']).parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
            Some(v4) => v4.is_loopback(),
            None => ip.is_loopback(),
        },
        Err(_) => {
            let d = host.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
    };
    (!loopback).then(|| host.to_string())
}

/// The host part of a server address, for messages.
pub fn host_of(server: &str) -> String {
    reqwest::Url::parse(server.trim())
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| server.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_to_another_machine_needs_a_yes() {
        for (url, host) in [
            ("http://192.0.2.10:8080", Some("192.0.2.10")),
            ("http://booth.office.lan", Some("booth.office.lan")),
            ("HTTP://Booth.Office.LAN:80/", Some("booth.office.lan")),
            ("http://[2001:db8::1]:8080", Some("[2001:db8::1]")),
            // the unspecified address is not a promise of loopback: ask
            ("http://0.0.0.0:8080", Some("0.0.0.0")),
            ("http://127.0.0.1:8080", None),
            ("http://127.8.9.10", None),
            ("http://[::1]:8080", None),
            ("http://[::ffff:127.0.0.1]:8080", None),
            ("http://localhost:8080", None),
            ("http://LOCALHOST.:8080", None),
            ("http://proxy.localhost", None),
            ("https://192.0.2.10:8443", None),
            ("https://booth.office.lan", None),
            ("not a url", None),
        ] {
            assert_eq!(plain_http_host(url).as_deref(), host, "{url}");
        }
    }

    #[test]
    fn every_failure_has_a_plain_reason_in_both_languages() {
        for e in [
            NetError::Offline,
            NetError::NameNotFound("booth.office.lan".into()),
            NetError::Refused,
            NetError::TimedOut,
            NetError::Cut,
            NetError::Server(503),
            NetError::BadAnswer,
            NetError::Other,
        ] {
            let zh = e.message(Lang::Zh);
            assert!(zh.starts_with("连不上工会服务器："), "{zh}");
            let en = e.message(Lang::En);
            assert!(!en.is_empty() && en != zh && en.is_ascii(), "{en}");
        }
        assert!(
            NetError::NameNotFound("booth.office.lan".into())
                .reason(Lang::Zh)
                .contains("booth.office.lan")
        );
    }

    fn client(timeout_ms: u64) -> reqwest::blocking::Client {
        crate::tls::install_crypto_provider();
        reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_millis(timeout_ms))
            .build()
            .unwrap()
    }

    #[test]
    fn a_closed_port_is_refused() {
        // a port just freed: nothing listens there
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = client(5_000)
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .unwrap_err();
        assert_eq!(NetError::from_reqwest(&e, "127.0.0.1"), NetError::Refused);
    }

    #[test]
    fn a_server_that_never_answers_times_out() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let e = client(300)
            .get(format!("http://{addr}/"))
            .send()
            .unwrap_err();
        drop(l);
        assert_eq!(NetError::from_reqwest(&e, "x"), NetError::TimedOut);
    }

    #[test]
    fn a_connection_closed_without_an_answer_is_cut() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            use std::io::Read;
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            // gone without a word
        });
        let e = client(5_000)
            .get(format!("http://{addr}/"))
            .send()
            .unwrap_err();
        t.join().unwrap();
        assert_eq!(NetError::from_reqwest(&e, "x"), NetError::Cut, "{e:?}");
    }

    #[test]
    fn a_name_that_does_not_exist_is_not_found() {
        // `.invalid` never resolves (RFC 6761), with or without a network
        let e = client(20_000)
            .get("http://booth-office.invalid/")
            .send()
            .unwrap_err();
        assert_eq!(
            NetError::from_reqwest(&e, "booth-office.invalid"),
            NetError::NameNotFound("booth-office.invalid".into()),
            "{}",
            describe(&e)
        );
    }
}
