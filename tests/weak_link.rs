//! Uploads over a weak link (issue 26 item 6): a realistic booth day of 2,000 records goes
//! from a laptop data folder to the real `booth server run` through a proxy written for this
//! test (the machine's kernel has no `netem`): it counts every byte both ways (HTTP headers
//! included), and in the second run shapes the link like a phone's — 1 Mbit/s each way, 300 ms
//! round trip — and resets the connection twice in the middle of a batch. The upload must
//! finish within 15 s with every record stored once. Also: bodies are gzipped on the wire
//! (`Content-Encoding: gzip`), and a gzip bomb is refused by the server at its body limit.
//!
//! Figures are printed (`cargo test --test weak_link -- --nocapture`) and asserted: at most
//! 150 bytes on the wire per record, at most 15 s for the shaped run.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use booth::i18n::Lang;
use booth::member::document::check_char;
use booth::member::{MemberInput, validate};
use booth::store::Store;
use chrono::{NaiveTime, TimeZone};
use common::net::*;
use common::*;

const RECORDS: u32 = 2_000;

/// A small deterministic generator (xorshift), so the day is the same at every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }
}

/// A booth day as it comes: varied names, ID numbers of several regions and ages, mobile
/// numbers, a few dozen employers, the employment forms and needs of delivery and platform
/// workers, sign-ups spread over 09:00–17:00.
fn booth_day(dir: &std::path::Path) {
    let surnames = [
        "王",
        "李",
        "张",
        "刘",
        "陈",
        "杨",
        "黄",
        "赵",
        "吴",
        "周",
        "徐",
        "孙",
        "马",
        "朱",
        "胡",
        "郭",
        "何",
        "高",
        "林",
        "罗",
        "欧阳",
        "买买提",
    ];
    let given = [
        "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
        "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "婷婷", "浩然", "子涵",
    ];
    let regions = [
        "110105", "110108", "130102", "130184", "410105", "411302", "510104", "342401", "360102",
        "430103", "610113", "230102",
    ];
    let employers = [
        "北京顺丰速运有限公司",
        "北京京东世纪贸易有限公司",
        "北京三快在线科技有限公司",
        "上海拉扎斯信息科技有限公司",
        "北京小桔科技有限公司",
        "圆通速递（北京）有限公司",
        "中通快递股份有限公司北京分公司",
        "韵达快递北京朝阳分部",
        "北京达达同城配送有限公司",
        "货拉拉科技（北京）有限公司",
        "北京某某物业管理有限公司",
        "北京闪送科技有限公司",
    ];
    let forms = [
        "courier",
        "food_delivery",
        "ride_hailing",
        "truck_driver",
        "flexible",
        "labor_contract",
        "dispatch",
    ];
    let needs = [
        "",
        "legal_aid",
        "skills",
        "rest_station",
        "legal_aid,skills",
        "hardship",
        "mutual_aid,rest_station",
        "employment",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut st = Store::create(dir, PASS.as_bytes(), Lang::Zh).unwrap();
    let event = booth::config::Config::default().event();
    let tz = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let day = chrono::Local::now().date_naive();
    let mut batch = st.batch().unwrap();
    for i in 0..RECORDS {
        let year = 1966 + rng.below(40);
        let month = 1 + rng.below(12);
        let dom = 1 + rng.below(28);
        // the sequence's parity is the sex; `i` keeps every number distinct
        let body = format!(
            "{}{year:04}{month:02}{dom:02}{:03}",
            rng.pick(&regions),
            (i % 1000)
        );
        let id = format!("{body}{}", check_char(body.as_bytes()));
        let input = MemberInput {
            name: format!("{}{}", rng.pick(&surnames), rng.pick(&given)),
            id_number: id,
            phone: format!(
                "1{}{:09}",
                rng.pick(&["3", "5", "7", "8", "9"]),
                rng.below(1_000_000_000)
            ),
            employer: rng.pick(&employers).into(),
            consent: true,
            employment_form: rng.pick(&forms).into(),
            needs: rng.pick(&needs).into(),
            ..Default::default()
        };
        let Ok(v) = validate(&input, day) else {
            continue;
        };
        let secs = 9 * 3600 + i * (8 * 3600 / RECORDS);
        let at = tz
            .from_local_datetime(
                &day.and_time(NaiveTime::from_num_seconds_from_midnight_opt(secs, 0).unwrap()),
            )
            .unwrap();
        let _ = batch.register(&v, &event, &at);
    }
    batch.commit().unwrap();
}

/// How the proxy treats the link.
#[derive(Clone, Copy)]
struct Link {
    /// Bytes per second each way (0: unlimited).
    rate: u64,
    /// One way.
    delay: Duration,
    /// Cut the connection when the bytes sent towards the server cross these totals.
    resets_at: [u64; 2],
}

#[derive(Default)]
struct Counts {
    up: AtomicU64,
    down: AtomicU64,
    resets: AtomicU64,
    connections: AtomicU64,
}

/// An abortive close (RST) when the socket is closed: what a phone link dropping looks like.
fn set_linger_zero(s: &TcpStream) {
    use std::os::fd::AsRawFd;
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a linger struct of the size given.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const l).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// One direction: what `from` sends reaches `to` after the link's delay, no faster than its
/// rate. Returns when `from` closes (or the link is cut).
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    link: Link,
    counts: Arc<Counts>,
    upward: bool,
    client: TcpStream,
    upstream: TcpStream,
) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = std::thread::spawn(move || {
        for (at, chunk) in rx {
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
    let mut free_at = Instant::now();
    // small reads, so that the rate applies smoothly
    let mut buf = vec![0u8; 1460];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let total = if upward {
            counts.up.fetch_add(n as u64, Ordering::SeqCst) + n as u64
        } else {
            counts.down.fetch_add(n as u64, Ordering::SeqCst);
            0
        };
        let now = Instant::now();
        let start = free_at.max(now);
        free_at = if link.rate == 0 {
            start
        } else {
            start + Duration::from_secs_f64(n as f64 / link.rate as f64)
        };
        if upward {
            let done = counts.resets.load(Ordering::SeqCst) as usize;
            if done < 2 && total >= link.resets_at[done] {
                counts.resets.fetch_add(1, Ordering::SeqCst);
                // the link drops mid-request: both sides see the connection reset
                set_linger_zero(&client);
                set_linger_zero(&upstream);
                let _ = client.shutdown(Shutdown::Both);
                let _ = upstream.shutdown(Shutdown::Both);
                break;
            }
        }
        if tx.send((free_at + link.delay, buf[..n].to_vec())).is_err() {
            break;
        }
    }
    drop(tx);
    let _ = writer.join();
}

/// The proxy in front of `upstream`: its URL and its counts.
fn proxy(upstream: std::net::SocketAddr, link: Link) -> (String, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            c.connections.fetch_add(1, Ordering::SeqCst);
            let Ok(server) = TcpStream::connect(upstream) else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            // the handshake's round trip
            std::thread::sleep(link.delay * 2);
            let (c1, c2) = (c.clone(), c.clone());
            let (cl, sv) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (cl2, sv2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (cl3, sv3) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || pump(client, sv, link, c1, true, cl2, sv2));
            std::thread::spawn(move || pump(server, cl, link, c2, false, cl3, sv3));
        }
    });
    (format!("http://{addr}"), counts)
}

/// `booth upload` through the proxy: (seconds, the JSON report).
fn upload(b: &Booth, url: &str, token: &str) -> (f64, serde_json::Value) {
    let t0 = Instant::now();
    let (out, v) = b.json(&["upload", "--server", url, "--token", token]);
    let secs = t0.elapsed().as_secs_f64();
    assert!(out.status.success(), "{v} {}", stderr(&out));
    (secs, v)
}

#[test]
fn a_booth_day_uploads_over_a_phone_link_in_under_15_s_with_nothing_lost_or_doubled() {
    // 1. bytes on the wire per record, both ways, headers included (no shaping)
    let db = sqlite_db();
    let token = add_device(&db.url, "lap-a");
    let server = Server::start(&db.url);
    let laptop = Booth::new();
    booth_day(&laptop.data());
    let open = Link {
        rate: 0,
        delay: Duration::ZERO,
        resets_at: [u64::MAX, u64::MAX],
    };
    let (url, counts) = proxy(server.addr, open);
    let (secs, v) = upload(&laptop, &url, &token);
    let records = v["accepted"].as_u64().unwrap();
    assert!(records >= 1_990, "{v}");
    assert_eq!(members_on_server(&db.url), records);
    let (up, down) = (
        counts.up.load(Ordering::SeqCst),
        counts.down.load(Ordering::SeqCst),
    );
    let per_record = (up + down) as f64 / records as f64;
    eprintln!(
        "a booth day of {records} records, loopback through the counting proxy: {up} B up, \
         {down} B down, {per_record:.0} B per record (headers included), {} connections, {secs:.1} s",
        counts.connections.load(Ordering::SeqCst)
    );
    assert!(per_record <= 150.0, "{per_record:.0} B per record");
    drop(server);

    // 2. the same day over a phone link: 1 Mbit/s each way, 300 ms round trip, the
    //    connection reset twice in the middle of a batch
    let db = sqlite_db();
    let token = add_device(&db.url, "lap-b");
    let server = Server::start(&db.url);
    let laptop = Booth::new();
    booth_day(&laptop.data());
    let phone = Link {
        rate: 1_000_000 / 8,
        delay: Duration::from_millis(150),
        resets_at: [up * 3 / 10, up * 13 / 20],
    };
    let (url, counts) = proxy(server.addr, phone);
    let (secs, v) = upload(&laptop, &url, &token);
    let resets = counts.resets.load(Ordering::SeqCst);
    eprintln!(
        "the same day over 1 Mbit/s, 300 ms RTT, {resets} resets: {secs:.1} s, {} B up, {} B \
         down, {} retries, {} connections",
        counts.up.load(Ordering::SeqCst),
        counts.down.load(Ordering::SeqCst),
        v["retries"],
        counts.connections.load(Ordering::SeqCst)
    );
    assert_eq!(resets, 2, "the link was cut twice");
    assert!(v["retries"].as_u64().unwrap() >= 2, "{v}");
    // nothing lost: every record stored; nothing doubled: one row each, and the laptop's
    // answers add up (a resent batch the office had stored answers already_there)
    assert_eq!(members_on_server(&db.url), records, "{v}");
    assert_eq!(
        v["accepted"].as_u64().unwrap() + v["already_there"].as_u64().unwrap(),
        records,
        "{v}"
    );
    assert_eq!(v["remaining_queued"], 0, "{v}");
    assert!(secs <= 15.0, "{secs:.1} s");
    drop(server);
}

/// A gzip bomb (64 MiB of spaces in about 640 KiB, four times the default body limit) posted as a batch: refused with 413 at the
/// server's body limit, quickly, and the server still answers afterwards. A damaged gzip body
/// is 400 `bad_encoding`; another coding is 415 `unsupported_encoding`.
#[test]
fn a_gzip_bomb_batch_is_refused_at_the_body_limit() {
    let db = sqlite_db();
    let token = add_device(&db.url, "lap-a");
    let server = Server::start(&db.url);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![b' '; 1 << 20];
    enc.write_all(b"{\"records\":[").unwrap();
    for _ in 0..64 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 4 << 20, "{}", bomb.len());
    let client = http_client();
    let post = |body: Vec<u8>, coding: &str| {
        let r = client
            .post(format!("{}/v1/batches", server.url()))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("content-encoding", coding)
            .header("booth-device-key", "A".repeat(43))
            .header("booth-signature", "A".repeat(86))
            .body(body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json::<serde_json::Value>().unwrap_or_default())
    };
    let t0 = Instant::now();
    let (status, v) = post(bomb, "gzip");
    assert_eq!(
        (status, v["error"].as_str()),
        (413, Some("inflated_too_large")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("解压"), "{v}");
    assert!(t0.elapsed() < Duration::from_secs(10));
    let (status, v) = post(b"\x1f\x8b\x08\x00 not gzip".to_vec(), "gzip");
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("bad_encoding")),
        "{v}"
    );
    let (status, v) = post(b"{}".to_vec(), "br");
    assert_eq!(
        (status, v["error"].as_str()),
        (415, Some("unsupported_encoding")),
        "{v}"
    );
    let health = client
        .get(format!("{}/v1/health", server.url()))
        .send()
        .unwrap();
    assert_eq!(health.status(), 200);
}
