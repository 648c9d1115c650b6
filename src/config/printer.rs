//! The printer settings: where slips go ([`PrinterUri`], as written in the config and on the
//! command line), the paper width and how the QR code is sent.

use std::fmt;
use std::path::PathBuf;

/// How the printer gets the QR code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum QrMode {
    /// The printer's own QR command (GS ( k, model 2).
    #[default]
    Native,
    /// A raster image (GS v 0), for printers without a QR command.
    Raster,
}

/// Receipt paper width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Paper {
    /// 58 mm paper, 384 dots.
    #[default]
    Mm58,
    /// 80 mm paper, 576 dots.
    Mm80,
}

impl Paper {
    pub fn dots(self) -> u32 {
        match self {
            Paper::Mm58 => 384,
            Paper::Mm80 => 576,
        }
    }
}

/// Where the slip goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrinterUri {
    /// `file:/dev/usb/lp0`: any device path or file.
    Device(PathBuf),
    /// `tcp://HOST:9100`: raw socket printing (JetDirect).
    Tcp { host: String, port: u16 },
    /// `lp:QUEUE`: a CUPS queue, printed raw through `lp`.
    Cups(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a printer address (file:/dev/usb/lp0, tcp://HOST:9100 or lp:QUEUE)")]
pub struct BadPrinterUri;

impl PrinterUri {
    pub fn parse(s: &str) -> Result<PrinterUri, BadPrinterUri> {
        let s = s.trim();
        if let Some(path) = s.strip_prefix("file:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(BadPrinterUri);
            }
            return Ok(PrinterUri::Device(PathBuf::from(path)));
        }
        if let Some(rest) = s.strip_prefix("tcp://") {
            let rest = rest.trim_end_matches('/');
            let (host, port) = match rest.rsplit_once(':') {
                Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                    (h, p.parse().map_err(|_| BadPrinterUri)?)
                }
                _ => (rest, 9100),
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() || port == 0 {
                return Err(BadPrinterUri);
            }
            return Ok(PrinterUri::Tcp {
                host: host.to_string(),
                port,
            });
        }
        if let Some(queue) = s.strip_prefix("lp:") {
            let ok = !queue.is_empty()
                && queue
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
            return if ok {
                Ok(PrinterUri::Cups(queue.to_string()))
            } else {
                Err(BadPrinterUri)
            };
        }
        Err(BadPrinterUri)
    }
}

impl fmt::Display for PrinterUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrinterUri::Device(path) => write!(f, "file:{}", path.display()),
            PrinterUri::Tcp { host, port } if host.contains(':') => {
                write!(f, "tcp://[{host}]:{port}")
            }
            PrinterUri::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            PrinterUri::Cups(queue) => write!(f, "lp:{queue}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_kinds() {
        assert_eq!(
            PrinterUri::parse("file:/dev/usb/lp0").unwrap(),
            PrinterUri::Device("/dev/usb/lp0".into())
        );
        assert_eq!(
            PrinterUri::parse("tcp://192.168.1.50:9100").unwrap(),
            PrinterUri::Tcp {
                host: "192.168.1.50".into(),
                port: 9100
            }
        );
        assert_eq!(
            PrinterUri::parse("tcp://printer.local").unwrap(),
            PrinterUri::Tcp {
                host: "printer.local".into(),
                port: 9100
            }
        );
        assert_eq!(
            PrinterUri::parse("lp:Receipt_58").unwrap(),
            PrinterUri::Cups("Receipt_58".into())
        );
        for text in [
            "file:/dev/usb/lp0",
            "tcp://[::1]:9101",
            "tcp://h:9100",
            "lp:Q",
        ] {
            let uri = PrinterUri::parse(text).unwrap();
            assert_eq!(PrinterUri::parse(&uri.to_string()).unwrap(), uri, "{text}");
        }
        for bad in [
            "",
            "usb",
            "tcp://",
            "tcp://h:x",
            "lp:",
            "lp:a b",
            "lp:$(rm -rf)",
            "file:",
        ] {
            assert!(PrinterUri::parse(bad).is_err(), "{bad}");
        }
    }
}
