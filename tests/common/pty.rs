//! The real `booth` binary in a pseudo-terminal, read back through a VT100 emulator: what an
//! operator would see on the screen.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub const TAB: &str = "\t";
pub const ENTER: &str = "\r";
pub const ESC: &str = "\x1b";
pub const CTRL_S: &str = "\x13";
pub const CTRL_Q: &str = "\x11";
pub const CTRL_X: &str = "\x18";
pub const SHIFT_TAB: &str = "\x1b[Z";
pub const F1: &str = "\x1bOP";
pub const F2: &str = "\x1bOQ";
pub const F3: &str = "\x1bOR";
pub const F4: &str = "\x1bOS";
pub const F5: &str = "\x1b[15~";
pub const F6: &str = "\x1b[17~";
pub const F8: &str = "\x1b[19~";
pub const F10: &str = "\x1b[21~";

pub struct Tui {
    pub parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    pub child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
    pub keys_sent: usize,
}

impl Tui {
    /// Starts `booth --data-dir DIR` (no subcommand: the terminal UI) in a `cols`×`rows` pty.
    pub fn start(data_dir: &Path, cols: u16, rows: u16) -> Tui {
        Tui::start_with_env(data_dir, cols, rows, &[])
    }

    /// As [`Tui::start`], logging each draft the draft writer commits (see [`DraftLog`]).
    pub fn start_logging_drafts(data_dir: &Path, cols: u16, rows: u16) -> Tui {
        Tui::start_with_env(data_dir, cols, rows, &[("BOOTH_LOG", "info,draft=debug")])
    }

    pub fn start_with_env(data_dir: &Path, cols: u16, rows: u16, env: &[(&str, &str)]) -> Tui {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut cmd = CommandBuilder::new(super::booth_bin());
        cmd.arg("--data-dir");
        cmd.arg(data_dir);
        cmd.env("TERM", "xterm-256color");
        cmd.env("BOOTH_KDF", "fast");
        cmd.env_remove("BOOTH_PASSPHRASE");
        cmd.env_remove("BOOTH_LANG");
        cmd.env_remove("BOOTH_LOG");
        // the booth's peer service: on loopback, announcing nothing on the test machine's LAN
        cmd.env("BOOTH_PEERS_LISTEN", "127.0.0.1:0");
        cmd.env("BOOTH_PEERS_DISCOVERY", "off");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn booth");
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            NonZeroU16::new(rows).unwrap(),
            NonZeroU16::new(cols).unwrap(),
            0,
        )));
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let p = Arc::clone(&parser);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => p.lock().unwrap().process(&buf[..n]),
                }
            }
        });
        let writer = pair.master.take_writer().expect("pty writer");
        Tui {
            parser,
            writer,
            child,
            _master: pair.master,
            keys_sent: 0,
        }
    }

    /// Types text (each char is one key) or sends a key sequence.
    pub fn send(&mut self, s: &str) {
        self.writer.write_all(s.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Sends one non-data key (Tab, Enter, Ctrl-S…), counting it. Paced on purpose: an
    /// operator's key comes on its own, not in one read with what follows (bursts, as a card
    /// reader sends them, are tested with one `send`).
    pub fn key(&mut self, k: &str) {
        self.keys_sent += 1;
        self.send(k);
        std::thread::sleep(Duration::from_millis(30));
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until the screen shows `text` (panics with the screen after `secs`).
    pub fn wait_for(&self, text: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.screen().contains(text) {
                return;
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        panic!(
            "waited {secs}s for {text:?}; the screen shows:\n{}",
            self.screen()
        );
    }

    /// Waits for the process to end; its exit code.
    pub fn wait_exit(&mut self, secs: u64) -> Option<u32> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.exit_code());
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        None
    }

    /// SIGKILL: the power cut, as far as the process can tell.
    #[cfg(unix)]
    pub fn kill9(&mut self) {
        if let Some(pid) = self.child.process_id().and_then(|p| i32::try_from(p).ok())
            && let Some(pid) = rustix::process::Pid::from_raw(pid)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        let _ = self.wait_exit(10);
    }

    /// The QR code on screen as module rows (half blocks back to modules), found as the
    /// block of rows containing half-block characters.
    pub fn screen_qr_modules(&self) -> Vec<Vec<bool>> {
        let parser = self.parser.lock().unwrap();
        let screen = parser.screen();
        let (rows, cols) = screen.size();
        let mut grid: Vec<Vec<(bool, bool)>> = Vec::new();
        for r in 0..rows.get() {
            let mut line = Vec::new();
            let mut any = false;
            for c in 0..cols.get() {
                let cell = screen.cell(r, c).unwrap();
                let (t, b) = match cell.contents() {
                    "█" => (true, true),
                    "▀" => (true, false),
                    "▄" => (false, true),
                    _ => (false, false),
                };
                any |= t || b;
                line.push((t, b));
            }
            if any {
                grid.push(line);
            }
        }
        let mut modules = Vec::new();
        for line in grid {
            modules.push(line.iter().map(|p| p.0).collect());
            modules.push(line.iter().map(|p| p.1).collect());
        }
        modules
    }
}

/// The draft writer's own word, in the data folder's log (`BOOTH_LOG=…,draft=debug`, as
/// [`Tui::start_logging_drafts`] sets it): "draft saved chars=N" once a draft of N typed
/// characters is committed, "draft cleared" once the draft is gone. A test waits for it
/// before it kills the UI, instead of guessing how long the writer takes.
pub struct DraftLog {
    logs: std::path::PathBuf,
    /// Draft lines already there when the mark was taken.
    seen: usize,
}

impl DraftLog {
    /// Marks the log now: only draft lines written after this count.
    pub fn mark(data_dir: &Path) -> DraftLog {
        let logs = data_dir.join("logs");
        let seen = Self::lines(&logs).len();
        DraftLog { logs, seen }
    }

    /// Every draft line so far, oldest first (the daily files sort by date).
    fn lines(logs: &Path) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(logs)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .flat_map(|text| {
                text.lines()
                    .filter(|l| l.contains("draft saved") || l.contains("draft cleared"))
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Waits until, after the mark and after any clearing since, a draft of exactly `chars`
    /// typed characters was committed (panics after `secs`). Typing only adds characters,
    /// so that is the draft holding everything typed.
    pub fn wait_saved(&self, chars: usize, secs: u64) {
        let want = format!("draft saved chars={chars}");
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let lines = Self::lines(&self.logs);
            let fresh = &lines[self.seen.min(lines.len())..];
            let since_clear = fresh
                .iter()
                .rposition(|l| l.contains("draft cleared"))
                .map_or(fresh, |i| &fresh[i + 1..]);
            if since_clear.iter().any(|l| l.ends_with(&want)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited {secs}s for {want:?}; the draft writer said: {fresh:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
