//! Printer addresses as written in the config and on the command line.

use std::path::PathBuf;

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
