//! Sending bytes to a printer: a device path, raw TCP, or CUPS. Every path has a time limit:
//! a printer that is off, unplugged or out of paper yields an error, never a hung booth.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::config::PrinterUri;
use crate::i18n::Lang;
use crate::t;

#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    pub write: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(3),
            write: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum PrintError {
    #[error("printer device {0} not found")]
    DeviceMissing(PathBuf),
    #[error("no permission to write to {0}")]
    DeviceDenied(PathBuf),
    #[error("cannot reach printer {0}")]
    Unreachable(String),
    #[error("printer {0} did not answer in time")]
    Timeout(String),
    #[error("printer reports it is out of paper")]
    OutOfPaper,
    #[error("printing failed: {0}")]
    Io(String),
    #[error("the CUPS `lp` command is not installed")]
    CupsMissing,
    #[error("CUPS refused the job: {0}")]
    Cups(String),
}

impl PrintError {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            PrintError::DeviceMissing(p) => t!(lang, "print.device_missing", path = p.display()),
            PrintError::DeviceDenied(p) => t!(lang, "print.device_denied", path = p.display()),
            PrintError::Unreachable(a) => t!(lang, "print.unreachable", addr = a),
            PrintError::Timeout(a) => t!(lang, "print.timeout", addr = a),
            PrintError::OutOfPaper => t!(lang, "print.out_of_paper").into(),
            PrintError::Io(e) => t!(lang, "print.io", why = e),
            PrintError::CupsMissing => t!(lang, "print.cups_missing").into(),
            PrintError::Cups(e) => t!(lang, "print.cups", why = e),
        }
    }
}

/// Sends the bytes, within the time limits.
pub fn send(uri: &PrinterUri, bytes: &[u8], t: Timeouts) -> Result<(), PrintError> {
    match uri {
        PrinterUri::Device(path) => to_device(path, bytes, t.write),
        PrinterUri::Tcp { host, port } => to_tcp(host, *port, bytes, t),
        PrinterUri::Cups(queue) => to_cups(queue, bytes, t.write),
    }
}

/// A USB printer out of paper blocks `write` indefinitely: write on a helper thread and stop
/// waiting after the time limit.
fn to_device(path: &Path, bytes: &[u8], limit: Duration) -> Result<(), PrintError> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        // a plain file (a test, a print spool folder) is made; a device must be there
        .create(!path.starts_with("/dev"))
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => PrintError::DeviceMissing(path.into()),
            std::io::ErrorKind::PermissionDenied => PrintError::DeviceDenied(path.into()),
            _ => PrintError::Io(e.to_string()),
        })?;
    let (tx, rx) = mpsc::channel();
    let data = bytes.to_vec();
    std::thread::spawn(move || {
        let r = file.write_all(&data).and_then(|_| file.flush());
        let _ = tx.send(r);
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(PrintError::Io(e.to_string())),
        Err(_) => Err(PrintError::Timeout(path.display().to_string())),
    }
}

fn to_tcp(host: &str, port: u16, bytes: &[u8], t: Timeouts) -> Result<(), PrintError> {
    let label = format!("{host}:{port}");
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|_| PrintError::Unreachable(label.clone()))?
        .collect();
    let mut last = PrintError::Unreachable(label.clone());
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, t.connect) {
            Ok(mut stream) => {
                stream
                    .set_write_timeout(Some(t.write))
                    .map_err(|e| PrintError::Io(e.to_string()))?;
                paper_check(&mut stream)?;
                return stream
                    .write_all(bytes)
                    .and_then(|_| stream.flush())
                    .and_then(|_| stream.shutdown(std::net::Shutdown::Write))
                    .map_err(|e| match e.kind() {
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                            PrintError::Timeout(label.clone())
                        }
                        _ => PrintError::Io(e.to_string()),
                    });
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = PrintError::Timeout(label.clone())
            }
            Err(_) => last = PrintError::Unreachable(label.clone()),
        }
    }
    Err(last)
}

/// DLE EOT 4: the paper roll sensor status (Epson ESC/POS; the Chinese clones answer it too).
const DLE_EOT_PAPER: [u8; 3] = [0x10, 0x04, 0x04];

/// True if a status byte is a real paper-sensor answer (fixed bits 0x12) reporting the roll
/// empty (bits 5 and 6, "paper end").
fn says_paper_end(status: u8) -> Option<bool> {
    (status & 0x93 == 0x12).then_some(status & 0x60 == 0x60)
}

/// Asks the printer whether it has paper: `Some(true)` yes, `Some(false)` out of paper,
/// `None` when it cannot say (no answer, not reachable, a CUPS queue). Takes at most about a
/// second: a batch run polls it while paused.
pub fn paper_present(uri: &PrinterUri, t: Timeouts) -> Option<bool> {
    match uri {
        PrinterUri::Tcp { host, port } => {
            let addr = (host.as_str(), *port).to_socket_addrs().ok()?.next()?;
            let mut stream =
                TcpStream::connect_timeout(&addr, t.connect.min(Duration::from_secs(1))).ok()?;
            stream
                .set_write_timeout(Some(Duration::from_millis(500)))
                .ok()?;
            stream.write_all(&DLE_EOT_PAPER).ok()?;
            let _ = stream.shutdown(std::net::Shutdown::Write);
            stream
                .set_read_timeout(Some(Duration::from_millis(500)))
                .ok()?;
            let mut status = [0u8; 1];
            match stream.read(&mut status) {
                Ok(1) => says_paper_end(status[0]).map(|end| !end),
                _ => None,
            }
        }
        PrinterUri::Device(path) => device_status(path),
        PrinterUri::Cups(_) => None,
    }
}

/// The status query on a device path, on a helper thread: a USB printer may never answer,
/// and at most one such read is left waiting at a time.
fn device_status(path: &Path) -> Option<bool> {
    use std::sync::atomic::{AtomicBool, Ordering};
    static WAITING: AtomicBool = AtomicBool::new(false);
    if !path.starts_with("/dev") || WAITING.swap(true, Ordering::SeqCst) {
        return None; // a plain file (tests, spooling) has no sensor to ask
    }
    let path = path.to_path_buf();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let answer = (|| {
            let mut f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .ok()?;
            f.write_all(&DLE_EOT_PAPER).ok()?;
            let mut status = [0u8; 1];
            (f.read(&mut status).ok()? == 1).then_some(status[0])
        })();
        WAITING.store(false, Ordering::SeqCst);
        let _ = tx.send(answer);
    });
    let status = rx.recv_timeout(Duration::from_millis(500)).ok()??;
    says_paper_end(status).map(|end| !end)
}

/// Asks the printer for its paper sensor (DLE EOT 4). Printers that answer and report the
/// roll empty get a clear "out of paper"; printers that do not answer within 300 ms are sent
/// the slip anyway.
fn paper_check(stream: &mut TcpStream) -> Result<(), PrintError> {
    if stream.write_all(&DLE_EOT_PAPER).is_err() {
        return Ok(());
    }
    let _ = stream.set_read_timeout(Some(Duration::from_millis(300)));
    let mut status = [0u8; 1];
    if let Ok(1) = stream.read(&mut status)
        && says_paper_end(status[0]) == Some(true)
    {
        return Err(PrintError::OutOfPaper);
    }
    Ok(())
}

fn to_cups(queue: &str, bytes: &[u8], limit: Duration) -> Result<(), PrintError> {
    let mut child = Command::new("lp")
        .args(["-d", queue, "-o", "raw", "-s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => PrintError::CupsMissing,
            _ => PrintError::Io(e.to_string()),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(bytes)
            .map_err(|e| PrintError::Io(e.to_string()))?;
    }
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(_)) => {
                let mut err = String::new();
                if let Some(mut s) = child.stderr.take() {
                    let _ = s.read_to_string(&mut err);
                }
                let line = crate::member::text::display_safe(err.lines().next().unwrap_or(""))
                    .into_owned();
                return Err(PrintError::Cups(line));
            }
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                return Err(PrintError::Timeout(format!("lp:{queue}")));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(PrintError::Io(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_printer_is_created_and_a_device_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("slips.bin");
        let limit = Duration::from_secs(5);
        to_device(&file, b"one", limit).expect("a missing plain file is made");
        to_device(&file, b"two", limit).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"onetwo", "appended");
        let missing = Path::new("/dev/usb/booth-no-such-printer");
        assert!(matches!(
            to_device(missing, b"x", limit),
            Err(PrintError::DeviceMissing(_))
        ));
    }
}
