//! Foundation benchmarks (issue 3): validation per ID, import of a 100,000-row roster next to a
//! raw rusqlite bulk insert of the same rows (the ceiling), and register latency with
//! 1,000,000 records already stored.
//!
//! `cargo bench --bench foundation` (add `-- --quick` for 10,000 rows and 100,000 records).
//! Figures are printed, not asserted: targets live in the README, not in flaky timed tests.

use std::time::{Duration, Instant};

use booth::commands::{self, Ctx};
use booth::i18n::Lang;
use booth::member::document::{check_char, parse_document};
use booth::member::{DocKind, MemberInput, validate};
use booth::store::{self, Store};
use chrono::NaiveDate;

/// A distinct valid ID for every n below 14 million: birth date 1960-01-01 + n/1000 days,
/// sequence n % 1000.
fn id(n: u32) -> String {
    let birth =
        NaiveDate::from_ymd_opt(1960, 1, 1).unwrap() + chrono::Days::new(u64::from(n / 1000));
    let body = format!("110105{}{:03}", birth.format("%Y%m%d"), n % 1000);
    format!("{body}{}", check_char(body.as_bytes()))
}

fn input(n: u32) -> MemberInput {
    MemberInput {
        name: "测试职工".into(),
        id_number: id(n),
        phone: format!("139{n:08}"),
        employer: "某某快递有限公司".into(),
        consent: true,
        ..Default::default()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn main() {
    // `cargo test --all-targets` runs this too, without `--bench`: the quick size, as a smoke test
    let quick =
        std::env::args().any(|a| a == "--quick") || !std::env::args().any(|a| a == "--bench");
    let roster_rows: u32 = if quick { 10_000 } else { 100_000 };
    let stored: u32 = if quick { 100_000 } else { 1_000_000 };
    // SAFETY: single-threaded here.
    unsafe { std::env::set_var("BOOTH_KDF", "fast") };
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();

    // ---- validation per ID
    let ids: Vec<String> = (0..100_000).map(id).collect();
    let t = Instant::now();
    let mut ok = 0;
    for _ in 0..10 {
        for s in &ids {
            ok += parse_document(DocKind::ResidentId, s, today).is_ok() as usize;
        }
    }
    let per = t.elapsed().as_nanos() as f64 / 1_000_000.0;
    assert_eq!(ok, 1_000_000);
    println!("validate resident ID: {per:.0} ns per ID (1,000,000 IDs)");
    let inputs: Vec<MemberInput> = (0..100_000).map(input).collect();
    let t = Instant::now();
    for i in &inputs {
        assert!(validate(i, today).is_ok());
    }
    println!(
        "validate whole record: {:.2} µs per record (100,000 records)",
        t.elapsed().as_nanos() as f64 / 100_000.0 / 1000.0
    );

    // ---- import of a roster through the real command, next to the raw ceiling
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("roster.csv");
    let mut text = String::from("姓名,身份证号,手机号,工作单位,同意\n");
    for n in 0..roster_rows {
        text += &format!("测试职工,{},139{n:08},某某快递有限公司,是\n", id(n));
    }
    std::fs::write(&csv, text).unwrap();
    let data = tmp.path().join("import");
    let ctx = Ctx {
        data_dir: data.clone(),
        json: true,
        lang: Lang::Zh,
        passphrase: Some(zeroize::Zeroizing::new("bench".into())),
    };
    // set the folder up first so the KDF is not in the import figure
    drop(commands::setup::open_store(&ctx).unwrap());
    let cli = <booth::cli::Cli as clap::Parser>::parse_from([
        "booth",
        "--json",
        "import",
        csv.to_str().unwrap(),
    ]);
    let t = Instant::now();
    let out = commands::run(&cli, &ctx).map_err(|e| e.message).unwrap();
    let import_s = t.elapsed().as_secs_f64();
    assert_eq!(out.json["accepted"], roster_rows);
    let import_rate = roster_rows as f64 / import_s;

    // ceiling: the same rows, pre-validated and pre-hashed, straight into a SQLCipher table
    // with the same indexes, one prepared statement, one transaction
    let raw_dir = tmp.path().join("raw");
    let mut raw = Store::create(&raw_dir, b"bench", Lang::Zh).unwrap();
    raw.bulk_mode(true).unwrap(); // the same page cache and sync setting as import
    // the same rows as import stores: validated, with the same keyed person hash
    let validated: Vec<_> = (0..roster_rows)
        .map(|n| {
            let v = validate(&input(n), today).unwrap();
            let hash = raw.person_hash(&v.member.document);
            (v, hash)
        })
        .collect();
    let conn = raw.connection();
    let t = Instant::now();
    let tx = conn.transaction().unwrap();
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO members (uuid, member_no, person_hash, doc_kind, record, name, phone_tail,
                    needs, consent_at, union_name, place, event_date, operator, created_at, updated_at, state)
                 VALUES (?1, ?2, ?3, 'resident_id', ?4, ?5, ?6, '', ?7, 'u', 'p', '2026-11-24', 'o', ?7, ?7, 'queued')",
            )
            .unwrap();
        for (n, (v, hash)) in validated.iter().enumerate() {
            let json = serde_json::to_string(&v.member).unwrap();
            stmt.execute(rusqlite::params![
                uuid::Uuid::now_v7().to_string(),
                format!("RAW{n:08}"),
                hash.as_slice(),
                json,
                v.member.name,
                &v.member.phone[7..],
                "2026-11-24T10:00:00+08:00",
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    // and the same end as import: leaving bulk mode checkpoints the WAL into the database
    raw.bulk_mode(false).unwrap();
    let raw_rate = roster_rows as f64 / t.elapsed().as_secs_f64();
    println!(
        "import {roster_rows} rows (CSV → validate → store, batches of 20,000): {import_rate:.0} rows/s; \
         raw rusqlite bulk insert (ceiling): {raw_rate:.0} rows/s; import = {:.0} % of ceiling",
        import_rate / raw_rate * 100.0
    );
    drop(raw);

    // ---- register latency with many records already stored
    let big_dir = tmp.path().join("big");
    let mut big = Store::create(&big_dir, b"bench", Lang::Zh).unwrap();
    let event = booth::config::Config::default().event();
    let now = store::now();
    let t = Instant::now();
    let mut n = 0u32;
    while n < stored {
        let mut batch = big.batch().unwrap();
        for _ in 0..10_000 {
            let v = validate(&input(1_000_000 + n), today).unwrap();
            batch.register(&v, &event, &now).unwrap();
            n += 1;
        }
        batch.commit().unwrap();
    }
    println!(
        "filled {stored} records in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let mut lat = Vec::new();
    for k in 0..300u32 {
        let v = validate(&input(5_000_000 + k), today).unwrap();
        let t = Instant::now();
        big.register(&v, &event, &store::now()).unwrap();
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "register with {stored} stored (own transaction, synchronous=FULL): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().unwrap().as_secs_f64() * 1e3
    );
    let db = std::fs::metadata(big_dir.join("booth.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "database size at {stored} records: {:.0} MB",
        db as f64 / 1e6
    );
}
