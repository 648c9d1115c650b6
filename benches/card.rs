//! Card benchmarks (issue 4): submit → ESC/POS bytes ready, submit → PNG written (p50/p99 over
//! 1,000 cards), and verification per payload; issue 12: 10,000 distinct codes checked against
//! a signed trust bundle (500 laptop keys, 1,000 revoked numbers) as `booth verify` does, and
//! the URL form's QR version; issue 16: 20,000 cards to PDF sheets, and batch printing to a raw
//! TCP printer on loopback (slips per second).
//!
//! `cargo bench --bench card`. "Submit" is what the form's Ctrl-S does: validate, store in its
//! own transaction (fsync), sign the payload, lay out the slip. The same run measures the
//! ceilings it is made of: the registration's transaction alone, and the card alone (sign,
//! QR encode, ESC/POS bytes, no store), so a slow figure says which part is slow.

use std::time::{Duration, Instant};

use booth::card::keys::KeyRing;
use booth::card::{TrustedKey, payload};
use booth::config::Config;
use booth::i18n::Lang;
use booth::member::document::check_char;
use booth::member::{MemberInput, validate};
use booth::slip::escpos::{self, Options};
use booth::slip::font::{FontSource, Fonts};
use booth::slip::{Slip, png};
use booth::store::{self, Store};

fn input(n: u32) -> MemberInput {
    let body = format!(
        "1101051980{:02}{:02}{:03}",
        1 + n % 12,
        1 + n % 28,
        n % 1000
    );
    MemberInput {
        name: "买买提·吐尔逊".into(),
        id_number: format!("{body}{}", check_char(body.as_bytes())),
        phone: format!("139{n:08}"),
        employer: "某某快递有限公司".into(),
        consent: true,
        ..Default::default()
    }
}

fn report(what: &str, mut v: Vec<Duration>) {
    v.sort();
    let p = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "{what}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (n = {})",
        p(0.5),
        p(0.99),
        p(1.0),
        v.len()
    );
}

fn main() {
    // SAFETY: single-threaded here.
    unsafe { std::env::set_var("BOOTH_KDF", "fast") };
    let tmp = tempfile::tempdir().unwrap();
    let mut st = Store::create(tmp.path(), b"bench", Lang::Zh).unwrap();
    let config = Config {
        union: "北京市朝阳区总工会".into(),
        ..Config::default()
    };
    let event = config.event();
    let opts = Options {
        paper: config.paper,
        qr_mode: config.qr_mode,
    };
    let fonts = Fonts::get(&FontSource::default()).ok();
    if fonts.is_none() {
        println!("(no CJK font: PNG figures are for QR-only slips)");
    }
    let slips = tmp.path().join("slips");
    std::fs::create_dir_all(&slips).unwrap();

    let mut to_escpos = Vec::new();
    let mut to_png = Vec::new();
    let mut payloads = Vec::new();
    for n in 0..1000 {
        let t = Instant::now();
        let now = store::now();
        let v = validate(&input(n), now.date_naive()).unwrap();
        let m = st.register(&v, &event, &now).unwrap();
        let slip = Slip::new(&m, &config, st.device_key(), Lang::Zh).unwrap();
        let bytes = escpos::slip_bytes(&slip, opts);
        assert!(bytes.len() > 100);
        to_escpos.push(t.elapsed());
        png::write(&slips.join(format!("{n}.png")), &slip, fonts).unwrap();
        to_png.push(t.elapsed());
        payloads.push(slip.payload.clone());
    }
    report("submit → ESC/POS bytes ready", to_escpos);
    report("submit → PNG slip written", to_png);

    // Ceiling 1: the registration's own transaction (validate + insert + fsync), no card.
    let mut store_only = Vec::new();
    for n in 1000..2000 {
        let t = Instant::now();
        let now = store::now();
        let v = validate(&input(n), now.date_naive()).unwrap();
        st.register(&v, &event, &now).unwrap();
        store_only.push(t.elapsed());
    }
    report(
        "ceiling: register alone (validate, insert, fsync)",
        store_only,
    );

    // Ceiling 2: the card alone for an already stored record (sign, QR encode, ESC/POS).
    let stored = st.search("", None, 1).unwrap();
    let m = st.get(&stored[0].member_no).unwrap().unwrap();
    let mut card_only = Vec::new();
    for _ in 0..1000 {
        let t = Instant::now();
        let slip = Slip::new(&m, &config, st.device_key(), Lang::Zh).unwrap();
        let bytes = escpos::slip_bytes(&slip, opts);
        assert!(bytes.len() > 100);
        card_only.push(t.elapsed());
    }
    report(
        "ceiling: card alone (sign, QR encode, ESC/POS bytes)",
        card_only,
    );

    let mut ring = KeyRing::default();
    let key = st.device_key();
    ring.insert(TrustedKey {
        key_id: key.key_id().into(),
        key: key.public(),
        issuer: "u".into(),
    });
    let t = Instant::now();
    let rounds = 10;
    for _ in 0..rounds {
        for p in &payloads {
            assert!(payload::verify(p, &ring).is_ok());
        }
    }
    println!(
        "verify (base45 decode + Ed25519): {:.1} µs per payload (n = {})",
        t.elapsed().as_secs_f64() * 1e6 / (rounds * payloads.len()) as f64,
        rounds * payloads.len()
    );
    bundle_bench();
    println!(
        "payload: {} characters, QR version {}",
        payloads[0].len(),
        booth::card::qr::QrMatrix::encode(&payloads[0])
            .unwrap()
            .version
    );

    roster_cards();
}

/// Issue 16: a whole roster's cards. 20,000 records imported in batches, then the PDF sheets
/// (the library call `booth cards --pdf` makes), then 50 slips printed one after another to a
/// TCP printer on loopback that answers the paper-status query as a real one does.
fn roster_cards() {
    use booth::printer::batch::{BatchPrint, Resume, print_batch};
    use booth::slip::pdf::write_cards;
    use booth::slip::selection::{Selection, select, slips};
    use std::io::{Read, Write};

    let tmp = tempfile::tempdir().unwrap();
    let mut st = Store::create(tmp.path(), b"bench", Lang::Zh).unwrap();
    let config = Config {
        union: "北京市朝阳区总工会".into(),
        ..Config::default()
    };
    let event = config.event();
    // `cargo test --all-targets` runs this too, without `--bench`: 500 cards, as a smoke test
    let quick =
        std::env::args().any(|a| a == "--quick") || !std::env::args().any(|a| a == "--bench");
    let n = if quick { 500 } else { 20_000 };
    let now = store::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(5_000) {
        let mut batch = st.batch().unwrap();
        for &i in chunk {
            let v = validate(&input(i), now.date_naive()).unwrap();
            batch.register(&v, &event, &now).unwrap();
        }
        batch.commit().unwrap();
    }
    let Ok(fonts) = Fonts::get(&FontSource::default()) else {
        println!("(no font: no PDF figure)");
        return;
    };
    let t = Instant::now();
    let selected = select(&st, &Selection::All, &|_| false).unwrap();
    let path = tmp.path().join("cards.pdf");
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let conn = st.second_connection().unwrap();
    let cards = slips(&conn, &config, st.device_key(), Lang::Zh, &selected.numbers);
    let (_, summary) = write_cards::<_, booth::slip::selection::CardsError>(
        cards,
        selected.numbers.len(),
        fonts,
        file,
        |_, _| {},
    )
    .unwrap();
    println!(
        "{} cards to PDF: {:.1} s, {} pages, {:.1} MB",
        summary.cards,
        t.elapsed().as_secs_f64(),
        summary.pages,
        std::fs::metadata(&path).unwrap().len() as f64 / 1e6
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let mut q = [0u8; 3];
            if conn.read_exact(&mut q).is_ok() {
                let _ = conn.write_all(&[0x12]); // paper present
                let _ = std::io::copy(&mut conn, &mut std::io::sink());
            }
        }
    });
    let printer = booth::config::PrinterUri::parse(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let job = BatchPrint::new(&config, printer, true);
    let numbers = &selected.numbers[..50];
    let t = Instant::now();
    let report = print_batch(
        &conn,
        &config,
        st.device_key(),
        Lang::Zh,
        numbers,
        &job,
        |_| {},
        |_| Resume::Stop,
    )
    .unwrap();
    assert_eq!(report.printed, 50);
    println!(
        "batch printing to a TCP printer on loopback: {:.1} slips/s (n = 50)",
        50.0 / t.elapsed().as_secs_f64()
    );
}

/// 10,000 distinct codes of one laptop against a bundle of 500 laptop keys and 1,000 revoked
/// numbers: the bundle opened once (signature, every key checked), then `Trust::check` per
/// code — `booth verify`'s path without the process start.
fn bundle_bench() {
    use booth::card::bundle::{self, BundleBody, BundleKey, key_text};
    use booth::card::office::OfficeKey;
    use booth::card::payload::{Card, issue};
    use booth::card::{DeviceKey, MemberNo, Trust};

    let office = OfficeKey::generate().unwrap();
    let laptops: Vec<DeviceKey> = (0..500u32)
        .map(|i| {
            let mut seed = [7u8; 32];
            seed[..4].copy_from_slice(&i.to_le_bytes());
            DeviceKey::from_secret(&seed)
        })
        .collect();
    let mut keys: Vec<BundleKey> = Vec::new();
    for k in &laptops {
        if keys.iter().any(|e| e.key_id == k.key_id()) {
            continue;
        }
        keys.push(BundleKey {
            key_id: k.key_id().into(),
            key: key_text(&k.public()),
            device: "laptop".into(),
            union: "北京市朝阳区总工会".into(),
            from: "2026-11-01".into(),
            max_seq: None,
        });
    }
    let issuer = &laptops[0];
    let revoked: Vec<String> = (20_001..21_001)
        .map(|s| {
            MemberNo::new(issuer.key_id(), s)
                .unwrap()
                .as_str()
                .to_string()
        })
        .collect();
    let body = BundleBody {
        version: 1,
        issued_at: "2026-11-28T10:00:00Z".into(),
        office_key: key_text(&office.public()),
        next_office_key: None,
        keys,
        revoked,
        verify_url: None,
    };
    let text = bundle::sign(&office, &body);
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let codes: Vec<String> = (1..=10_000)
        .map(|seq| {
            let card = Card {
                member_no: MemberNo::new(issuer.key_id(), seq).unwrap(),
                union: "北京市朝阳区总工会".into(),
                issued: day,
            };
            issue(&card, issuer).unwrap()
        })
        .collect();
    let t = Instant::now();
    let opened = bundle::open(&text, &[office.fingerprint()]).unwrap();
    let trust = Trust::from_bundle(&opened);
    let open_time = t.elapsed();
    let t = Instant::now();
    let valid = codes
        .iter()
        .filter(|c| trust.check(c).code() == "valid")
        .count();
    let elapsed = t.elapsed();
    assert_eq!(valid, 10_000);
    println!(
        "bundle ({} keys, {} revoked, {} bytes): opened in {:.1} ms; 10,000 codes checked in {:.0} ms, {:.1} µs per code",
        body.keys.len(),
        body.revoked.len(),
        text.len(),
        open_time.as_secs_f64() * 1e3,
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_secs_f64() * 1e6 / 10_000.0
    );
    for base in ["https://gh.example.cn", "https://verify.bjzgh.org.cn"] {
        let url = booth::card::trust::url_form(base, &codes[0]);
        println!(
            "URL form via {base}: {} characters, QR version {}",
            url.len(),
            booth::card::qr::QrMatrix::encode(&url).unwrap().version
        );
    }
}
