//! Helpers shared by the end-to-end tests: the real `booth` binary in a temporary data folder,
//! and generators of valid identity data.
#![allow(dead_code)]

pub mod browser;
pub mod console;
pub mod pty;
pub mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub const PASS: &str = "correct horse battery staple";

/// The tests' one sample worker: a valid resident ID whose check character is X.
pub struct Person {
    pub name: &'static str,
    pub id: &'static str,
    pub phone: &'static str,
    pub employer: &'static str,
}

pub const GE_TINGTING: Person = Person {
    name: "葛婷婷",
    id: "11010519491231002X",
    phone: "13800138000",
    employer: "某某快递有限公司",
};

impl Person {
    /// The form's input for this person, consent given.
    pub fn input(&self) -> booth::member::MemberInput {
        booth::member::MemberInput {
            name: self.name.into(),
            id_number: self.id.into(),
            phone: self.phone.into(),
            employer: self.employer.into(),
            consent: true,
            ..Default::default()
        }
    }
}

/// The booth binary built by cargo for this test run.
pub fn booth_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_booth"))
}

/// A data folder for one test, removed when dropped.
pub struct Booth {
    pub dir: tempfile::TempDir,
}

impl Booth {
    pub fn new() -> Booth {
        Booth {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `booth --data-dir <data> ARGS` with the passphrase in the environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(booth_bin());
        c.arg("--data-dir")
            .arg(self.data())
            .args(args)
            .env("BOOTH_PASSPHRASE", PASS)
            .env("BOOTH_KDF", "fast")
            .env_remove("BOOTH_LANG")
            .env_remove("BOOTH_DATA_DIR");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run booth")
    }

    /// Runs with `--json` and parses stdout; panics with stderr if it is not JSON.
    pub fn json(&self, args: &[&str]) -> (Output, Value) {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): stdout={} stderr={}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out, v)
    }

    /// `booth register` of the sample worker.
    pub fn register_sample(&self) -> (Output, Value) {
        self.register(GE_TINGTING.name, GE_TINGTING.id, GE_TINGTING.phone)
    }

    pub fn register(&self, name: &str, id: &str, phone: &str) -> (Output, Value) {
        self.json(&[
            "register",
            "--name",
            name,
            "--id",
            id,
            "--phone",
            phone,
            "--employer",
            "某某快递有限公司",
            "--consent",
        ])
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// ISO 7064 MOD 11-2 check character.
pub fn check_char(body: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

/// A valid resident ID number, distinct for every `n` (born 1970–1999 in Beijing 朝阳区).
pub fn valid_id(n: u32) -> String {
    let year = 1970 + (n / 1000) % 30;
    let day_of_year = (n % 1000) / 4; // 0..=249
    let month = 1 + day_of_year / 28;
    let day = 1 + day_of_year % 28;
    let seq = n % 4 * 100 + (n / 30_000) % 100;
    let body = format!("110105{year:04}{month:02}{day:02}{seq:03}");
    format!("{body}{}", check_char(&body))
}

/// A valid ID for someone born on the given date.
pub fn id_born(y: i32, m: u32, d: u32, seq: u32) -> String {
    let body = format!("110105{y:04}{m:02}{d:02}{seq:03}");
    format!("{body}{}", check_char(&body))
}

pub fn phone(n: u32) -> String {
    format!("139{:08}", n)
}

/// Does any file under `dir` contain `needle`?
pub fn folder_contains(dir: &Path, needle: &[u8]) -> Option<PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                return Some(p);
            }
        }
    }
    None
}

pub mod net;
