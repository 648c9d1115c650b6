//! Terminal UI benchmarks (issue 5), with 1,000,000 records in the store:
//! - start → form ready, with the passphrase KDF reported apart;
//! - keypress → frame drawn (update + render into an 80×24 buffer), p50/p99;
//! - resident memory of the real `booth` binary in a pseudo-terminal after a registration
//!   and a records search.
//!
//! `cargo bench --bench tui` (`-- --quick` for 100,000 records).

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use booth::i18n::Lang;
use booth::member::document::check_char;
use booth::member::{MemberInput, validate};
use booth::store::{KeyFile, Store};
use booth::tui::app::{App, Screen};
use booth::tui::view;
use chrono::NaiveDate;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const PASS: &[u8] = b"bench passphrase";

fn id(n: u32) -> String {
    let birth =
        NaiveDate::from_ymd_opt(1960, 1, 1).unwrap() + chrono::Days::new(u64::from(n / 1000));
    let body = format!("110105{}{:03}", birth.format("%Y%m%d"), n % 1000);
    format!("{body}{}", check_char(body.as_bytes()))
}

fn fill(dir: &std::path::Path, n: u32) {
    let mut store = Store::create(dir, PASS, Lang::Zh).unwrap();
    let event = booth::config::Config::default().event();
    let now = booth::store::now();
    let today = now.date_naive();
    let names = ["葛婷婷", "买买提·吐尔逊", "王建国", "李娜", "张伟"];
    let mut i = 0;
    while i < n {
        let mut batch = store.batch().unwrap();
        for _ in 0..10_000.min(n - i) {
            let input = MemberInput {
                name: names[i as usize % names.len()].into(),
                id_number: id(i),
                phone: format!("139{i:08}"),
                employer: "某某快递有限公司".into(),
                consent: true,
                employment_form: "courier".into(),
                ..Default::default()
            };
            batch
                .register(&validate(&input, today).unwrap(), &event, &now)
                .unwrap();
            i += 1;
        }
        batch.commit().unwrap();
    }
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)].as_secs_f64() * 1e3
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn main() {
    // `cargo test --all-targets` runs this too, without `--bench`: the quick size, as a smoke test
    let quick =
        std::env::args().any(|a| a == "--quick") || !std::env::args().any(|a| a == "--bench");
    let records: u32 = if quick { 100_000 } else { 1_000_000 };
    // The real KDF cost: no BOOTH_KDF here.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let t = Instant::now();
    fill(&dir, records);
    println!(
        "filled {records} records in {:.0} s",
        t.elapsed().as_secs_f64()
    );

    // ---- start → form ready
    let kf = KeyFile::read(&dir).unwrap();
    let t = Instant::now();
    let _ = kf.derive_key(PASS).unwrap();
    let kdf = t.elapsed();
    let mut starts = Vec::new();
    for _ in 0..5 {
        let (tx, _rx) = mpsc::channel();
        let t = Instant::now();
        let mut a = App::new(dir.clone(), Lang::Zh, tx, booth::tui::app::wall_clock());
        for c in std::str::from_utf8(PASS).unwrap().chars() {
            a.handle_key(key(KeyCode::Char(c)));
        }
        a.handle_key(key(KeyCode::Enter));
        assert_eq!(a.screen, Screen::Form, "{:?}", a.unlock.error);
        let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
        term.draw(|f| view::render(&a, f)).unwrap();
        starts.push(t.elapsed());
        a.shutdown();
        drop(a); // releases the folder for the next start
    }
    let start_total = pct(&mut starts, 0.5);
    println!(
        "start → form ready: {start_total:.0} ms (median of 5), of which the Argon2id KDF {:.0} ms ({} KiB, {} passes): {:.0} ms without it",
        kdf.as_secs_f64() * 1e3,
        kf.params.memory_kib,
        kf.params.iterations,
        start_total - kdf.as_secs_f64() * 1e3
    );

    // ---- keypress → frame drawn
    let (tx, _rx) = mpsc::channel();
    let mut a = App::new(dir.clone(), Lang::Zh, tx, booth::tui::app::wall_clock());
    for c in std::str::from_utf8(PASS).unwrap().chars() {
        a.handle_key(key(KeyCode::Char(c)));
    }
    a.handle_key(key(KeyCode::Enter));
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut lat = Vec::new();
    for round in 0..100u32 {
        let keys: Vec<KeyEvent> = "测试职工"
            .chars()
            .map(|c| key(KeyCode::Char(c)))
            .chain([key(KeyCode::Tab)])
            .chain(id(9_000_000 + round).chars().map(|c| key(KeyCode::Char(c))))
            .chain(
                format!("137{round:08}")
                    .chars()
                    .map(|c| key(KeyCode::Char(c))),
            )
            .chain("某某快递有限公司".chars().map(|c| key(KeyCode::Char(c))))
            .chain([key(KeyCode::Tab), key(KeyCode::Char('y'))])
            .collect();
        for k in keys {
            let t = Instant::now();
            a.handle_key(k);
            term.draw(|f| view::render(&a, f)).unwrap();
            lat.push(t.elapsed());
        }
        // submit and come back (outside the keystroke figures: submit writes to disk)
        a.handle_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL));
        assert_eq!(a.screen, Screen::Done, "round {round}: {:?}", a.message);
        a.handle_key(key(KeyCode::Enter));
    }
    let n = lat.len();
    println!(
        "keypress → frame drawn (80×24, {records} records): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (n = {n})",
        pct(&mut lat, 0.5),
        pct(&mut lat, 0.99),
        pct(&mut lat, 1.0)
    );
    a.shutdown();
    drop(a);

    // ---- resident memory of the real binary
    let pty = portable_pty::native_pty_system();
    let pair = pty
        .openpty(portable_pty::PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = portable_pty::CommandBuilder::new(env!("CARGO_BIN_EXE_booth"));
    cmd.arg("--data-dir");
    cmd.arg(&dir);
    cmd.env("TERM", "xterm-256color");
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    let pid = child.process_id().unwrap();
    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        NonZeroU16::new(24).unwrap(),
        NonZeroU16::new(80).unwrap(),
        0,
    )));
    let mut reader = pair.master.try_clone_reader().unwrap();
    let p = Arc::clone(&parser);
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            p.lock().unwrap().process(&buf[..n]);
        }
    });
    let mut w = pair.master.take_writer().unwrap();
    let wait = |text: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !parser.lock().unwrap().screen().contents().contains(text) {
            assert!(Instant::now() < deadline, "never saw {text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait("口令");
    w.write_all(PASS).unwrap();
    w.write_all(b"\r").unwrap();
    wait("新会员登记");
    let body = format!(
        "葛婷婷\t{}13612345678某某快递有限公司\ty\x13",
        id(9_999_999)
    );
    w.write_all(body.as_bytes()).unwrap();
    wait("登记成功");
    w.write_all(b"\r\x1bOR").unwrap(); // next, F3 records
    wait("已列出");
    w.write_all("王".as_bytes()).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    println!(
        "booth TUI resident memory with {records} records, after a registration and a search: {:.1} MB now, {:.1} MB peak (the peak includes the 64 MiB Argon2id buffer at unlock)",
        field("VmRSS:"),
        field("VmHWM:")
    );
    let _ = w.write_all(b"\x11y");
    let _ = child.wait();
}
