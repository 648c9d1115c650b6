//! Upload benchmark: 100,000 queued records from a laptop data folder to `booth server run`
//! on loopback, with SQLite and (when BOOTH_TEST_PG_URL is set) PostgreSQL.
//!
//! `cargo bench --bench upload` (add `-- --quick` for 10,000 records). Prints:
//! - end to end: records/s of `booth upload` (the real binary, batches of 500, from opening
//!   the encrypted store to the last answer stored on the laptop);
//! - server: records/s over the time the server spent in its handlers, and over the time in
//!   its database transactions (the insert rate), summed from its access log.
//!
//! Figures are printed, not asserted.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use booth::i18n::Lang;
use booth::member::document::check_char;
use booth::member::{MemberInput, validate};
use booth::store::{self, Store};
use serde_json::Value;

const PASS: &str = "bench";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_booth")
}

fn id(n: u32) -> String {
    let year = 1960 + (n / 10_000) % 40;
    let doy = (n % 10_000) / 40;
    let body = format!(
        "110105{year:04}{:02}{:02}{:03}",
        1 + doy / 28,
        1 + doy % 28,
        n % 40 * 25 + (n / 400_000) % 25
    );
    format!("{body}{}", check_char(body.as_bytes()))
}

/// A laptop data folder with `n` queued records (made through the library: faster than
/// `booth import`, same rows).
fn laptop(dir: &std::path::Path, n: u32) {
    let mut st = Store::create(dir, PASS.as_bytes(), Lang::Zh).unwrap();
    let event = booth::config::Config::default().event();
    let now = store::now();
    let mut i = 0;
    while i < n {
        let mut batch = st.batch().unwrap();
        for _ in 0..10_000.min(n - i) {
            let input = MemberInput {
                name: "测试职工".into(),
                id_number: id(i),
                phone: format!("139{i:08}"),
                employer: "某某快递有限公司".into(),
                consent: true,
                employment_form: "courier".into(),
                needs: "legal_aid,skills".into(),
                ..Default::default()
            };
            let v = validate(&input, now.date_naive()).unwrap();
            batch.register(&v, &event, &now).unwrap();
            i += 1;
        }
        batch.commit().unwrap();
    }
}

fn requeue(dir: &std::path::Path) {
    let mut st = Store::open(dir, PASS.as_bytes()).unwrap();
    st.connection()
        .execute(
            "UPDATE members SET state = 'queued', answered_at = NULL WHERE state = 'uploaded'",
            [],
        )
        .unwrap();
}

fn fresh_pg(base: &str) -> String {
    let mut r = [0u8; 6];
    getrandom::fill(&mut r).unwrap();
    let name = format!("booth_bench_{}", data_encoding::HEXLOWER.encode(&r));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
            .await
            .unwrap();
        let task = tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        drop(client);
        let _ = task.await;
    });
    format!("{}/{name}", base.rsplit_once('/').unwrap().0)
}

fn run(label: &str, db: &str, data: &std::path::Path, n: u32, logdir: &std::path::Path) {
    // named for every backend: PostgreSQL has no "beside the database"
    let office_key = logdir.join(format!("{label}-office-key.pem"));
    let out = Command::new(bin())
        .args(["server", "add-device", "bench", "--db", db, "--json"])
        .arg("--office-key")
        .arg(&office_key)
        .output()
        .unwrap();
    let token = serde_json::from_slice::<Value>(&out.stdout).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let log = logdir.join(format!("{label}.log"));
    let mut server = Command::new(bin())
        .args(["server", "run", "--listen", "127.0.0.1:0", "--db", db])
        .arg("--office-key")
        .arg(&office_key)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = serde_json::from_str::<Value>(&line).unwrap()["listening"]
        .as_str()
        .unwrap()
        .to_string();
    let url = format!("http://{addr}");
    booth::tls::install_crypto_provider();
    let client = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(format!("{url}/v1/health"))
        .send()
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }

    let t = Instant::now();
    let out = Command::new(bin())
        .arg("--data-dir")
        .arg(data)
        .args(["upload", "--server", &url, "--token", &token, "--json"])
        .env("BOOTH_PASSPHRASE", PASS)
        .output()
        .unwrap();
    let wall = t.elapsed();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(v["accepted"].as_u64(), Some(u64::from(n)), "{v}");
    let _ = server.kill();
    let _ = server.wait();

    let (mut handler_ms, mut db_ms, mut records) = (0u64, 0u64, 0u64);
    for line in std::fs::read_to_string(&log).unwrap().lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let f = &v["fields"];
        if f["path"] == "/v1/batches" && f["status"] == 200 {
            handler_ms += f["duration_ms"].as_u64().unwrap_or(0);
            db_ms += f["db_ms"].as_u64().unwrap_or(0);
            records += f["records"].as_u64().unwrap_or(0);
        }
    }
    let rate = |ms: u64| records as f64 / (ms.max(1) as f64 / 1000.0);
    println!(
        "{label:>8}: {n} records, end to end {:.2} s = {:.0} records/s; server handlers {:.0} records/s; \
         server insert (database transactions) {:.0} records/s",
        wall.as_secs_f64(),
        f64::from(n) / wall.as_secs_f64(),
        rate(handler_ms),
        rate(db_ms),
    );
}

fn main() {
    let quick =
        std::env::args().any(|a| a == "--quick") || !std::env::args().any(|a| a == "--bench");
    let n: u32 = if quick { 10_000 } else { 100_000 };
    // SAFETY: single-threaded here; the child processes inherit it.
    unsafe { std::env::set_var("BOOTH_KDF", "fast") };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("laptop");
    let t = Instant::now();
    laptop(&data, n);
    println!(
        "laptop with {n} queued records made in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let sqlite = format!("sqlite:{}", tmp.path().join("office.db").display());
    run("sqlite", &sqlite, &data, n, tmp.path());
    match std::env::var("BOOTH_TEST_PG_URL") {
        Ok(base) if !base.is_empty() => {
            requeue(&data);
            run("postgres", &fresh_pg(&base), &data, n, tmp.path());
        }
        _ => println!("postgres: BOOTH_TEST_PG_URL not set, skipped"),
    }
}
