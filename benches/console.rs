//! The office console at scale, on PostgreSQL: `members` rows and an audit log of
//! `audit` rows loaded straight into a fresh database (the same search keys ingest writes,
//! from the library's own `SearchKeys::of`), then the real `booth server run` on loopback,
//! timed over HTTP with a logged-in session:
//! - the dashboard (`/`, plain and filtered);
//! - member search (`/members?q=` by surname, whole name, phone tail, member number, employer,
//!   with filters, and a later page by `before`);
//! - the audit log page (`/audit`, plain, by user, a later page);
//! - a csv export of every member, streamed (time, rows, the server's resident memory
//!   before, during and after).
//!
//! `BOOTH_BENCH_PG_URL=postgres://… cargo bench --bench console` (falls back to
//! `BOOTH_TEST_PG_URL`; skips without either). `BOOTH_BENCH_MEMBERS` (default 1,000,000),
//! `BOOTH_BENCH_AUDIT` (default 1,000,000). `-- --quick`: 20,000 and 20,000.
//! Figures are printed, not asserted.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use booth::card::{DeviceKey, MemberNo};
use booth::member::{DocKind, Document, Member};
use booth::protocol::WireRecord;
use booth::server::batch::SearchKeys;
use booth::server::db::Db;

const SURNAMES: &str = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文";
const GIVEN: &str = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红春林建国兰凤宇浩";
const DISTRICTS: [&str; 16] = [
    "东城区总工会",
    "西城区总工会",
    "朝阳区总工会",
    "丰台区总工会",
    "石景山区总工会",
    "海淀区总工会",
    "门头沟区总工会",
    "房山区总工会",
    "通州区总工会",
    "顺义区总工会",
    "昌平区总工会",
    "大兴区总工会",
    "怀柔区总工会",
    "平谷区总工会",
    "密云区总工会",
    "延庆区总工会",
];
const DEVICES: u64 = 500;
const ENTERPRISES: u64 = 20_000;
const PLACES: u64 = 3_000;

fn pick(s: &str, i: u64) -> char {
    let chars: Vec<char> = s.chars().collect();
    chars[(i % chars.len() as u64) as usize]
}

fn name(i: u64) -> String {
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7;
    format!(
        "{}{}{}",
        pick(SURNAMES, h),
        pick(GIVEN, h / 101),
        pick(GIVEN, h / 4_001)
    )
}

fn phone(i: u64) -> String {
    format!("139{:08}", i.wrapping_mul(7_919) % 100_000_000)
}

fn employer(i: u64) -> String {
    format!("北京{}号物流有限公司", (i * 31) % ENTERPRISES)
}

fn key_id(device: u64) -> String {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&device.to_le_bytes());
    DeviceKey::from_secret(&seed).key_id().to_string()
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn rss_kb(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn fill(url: &str, members: u64, audit: u64) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let keys: Vec<String> = (0..DEVICES).map(key_id).collect();
    let start = Instant::now();
    let chunk = 10_000u64;
    let mut i = 0u64;
    while i < members {
        let n = chunk.min(members - i);
        let mut cols: Vec<Vec<String>> = (0..14).map(|_| Vec::with_capacity(n as usize)).collect();
        for j in i..i + n {
            let device = j % DEVICES;
            let day = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap()
                + chrono::Duration::days((j % 50) as i64);
            let union = DISTRICTS[(j % 16) as usize];
            let place = format!("{}第{}会场", &union[..union.len() - 9], (j * 7) % PLACES);
            let member = Member {
                name: name(j),
                document: Document {
                    kind: DocKind::ResidentId,
                    number: format!("110105198{:09}", j),
                },
                phone: phone(j),
                employer: employer(j),
                details: Default::default(),
            };
            let k = SearchKeys::of(&member, union, &place);
            // the record as a laptop sends it: the member's fields, then where and when
            let mut rec = serde_json::to_value(&member).unwrap();
            for (k, v) in [
                ("consent_at", format!("{day}T10:00:00+08:00")),
                ("created_at", format!("{day}T10:00:00+08:00")),
                ("event_date", day.to_string()),
                ("union", union.to_string()),
                ("place", place.clone()),
                ("operator", "李".to_string()),
            ] {
                rec[k] = serde_json::Value::String(v);
            }
            let rec = rec.to_string();
            debug_assert!(serde_json::from_str::<WireRecord>(&rec).is_ok());
            let no = MemberNo::new(&keys[device as usize], (j / DEVICES + 1) as u32).unwrap();
            let row = [
                uuid::Uuid::new_v4().to_string(),
                no.as_str().to_string(),
                format!("bench:{j}"),
                "0".repeat(64),
                rec,
                format!("lap-{device:03}"),
                "bench".into(),
                day.to_string(),
                k.name,
                k.phone_tail,
                k.employer,
                k.union,
                k.place,
                String::new(),
            ];
            for (c, v) in cols.iter_mut().zip(row) {
                c.push(v);
            }
        }
        client
            .execute(
                "INSERT INTO members (uuid, member_no, person_key, content_hash, record, device,
                    batch_id, event_date, s_name, s_phone_tail, s_employer, s_union, s_place, s_form)
                 SELECT a, b, c, d, e, f, g, h::date, i, j, k, l, m, NULLIF(n, '')
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                    $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                    $12::text[], $13::text[], $14::text[]) AS t(a,b,c,d,e,f,g,h,i,j,k,l,m,n)",
                &[
                    &cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &cols[5], &cols[6],
                    &cols[7], &cols[8], &cols[9], &cols[10], &cols[11], &cols[12], &cols[13],
                ],
            )
            .await
            .unwrap();
        i += n;
        if i.is_multiple_of(500_000) || i == members {
            eprintln!(
                "  {i} members loaded ({:.0} rows/s)",
                i as f64 / start.elapsed().as_secs_f64()
            );
        }
    }
    for d in 0..DEVICES {
        client
            .execute(
                "INSERT INTO devices (name, token_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&format!("lap-{d:03}"), &format!("{d:064}")],
            )
            .await
            .unwrap();
    }
    client
        .execute(
            "INSERT INTO audit_log (at, actor, action, target, count)
             SELECT now() - (g || ' seconds')::interval,
                    CASE WHEN g % 10 = 0 THEN 'admin' ELSE 'viewer' || (g % 50) END,
                    CASE g % 3 WHEN 0 THEN 'members.search' WHEN 1 THEN 'member.view'
                         ELSE 'export' END,
                    'member_no=K7M2QX', g % 50
             FROM generate_series(1, $1::bigint) g",
            &[&(audit as i64)],
        )
        .await
        .unwrap();
    client
        .batch_execute("ANALYZE members; ANALYZE audit_log;")
        .await
        .unwrap();
    eprintln!("  loaded in {:.0} s", start.elapsed().as_secs_f64());
}

struct Session {
    base: String,
    cookie: String,
    client: reqwest::blocking::Client,
}

impl Session {
    fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("booth_session={}", self.cookie))
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.bytes().unwrap().to_vec())
    }

    /// p50/p95/p99 in ms over `paths`, each fetched once, in order.
    fn time(&self, what: &str, paths: &[String]) {
        let mut ms = Vec::new();
        for p in paths {
            let t = Instant::now();
            let (status, _) = self.get(p);
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(status, 200, "{p}");
        }
        let (p50, p95, p99) = (
            percentile(&mut ms, 0.5),
            percentile(&mut ms, 0.95),
            percentile(&mut ms, 0.99),
        );
        println!(
            "{what:<44} n={:<4} p50 {p50:7.1} ms  p95 {p95:7.1} ms  p99 {p99:7.1} ms",
            paths.len()
        );
    }
}

fn main() {
    // `cargo test --all-targets` runs this too, without `--bench`: the quick size
    let quick =
        std::env::args().any(|a| a == "--quick") || !std::env::args().any(|a| a == "--bench");
    let Some(base) = std::env::var("BOOTH_BENCH_PG_URL")
        .ok()
        .or_else(|| std::env::var("BOOTH_TEST_PG_URL").ok())
        .filter(|u| !u.is_empty())
    else {
        eprintln!("console bench: set BOOTH_BENCH_PG_URL (or BOOTH_TEST_PG_URL) to run it");
        return;
    };
    let env_n = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if quick { 20_000 } else { d })
    };
    let members = env_n("BOOTH_BENCH_MEMBERS", 1_000_000);
    let audit = env_n("BOOTH_BENCH_AUDIT", 1_000_000);
    booth::tls::install_crypto_provider();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dbname = format!("booth_bench_{}", std::process::id());
    let url = rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        c.batch_execute(&format!("CREATE DATABASE {dbname}"))
            .await
            .unwrap();
        let (head, _) = base.rsplit_once('/').unwrap();
        format!("{head}/{dbname}")
    });
    println!("console bench: {members} members, {audit} audit entries, PostgreSQL");
    rt.block_on(async {
        drop(Db::open(&url).await.unwrap());
        fill(&url, members, audit).await;
    });
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("office-key.pem");
    let bin = env!("CARGO_BIN_EXE_booth");
    let out = Command::new(bin)
        .args([
            "server", "add-user", "admin", "--role", "admin", "--db", &url,
        ])
        .env("BOOTH_USER_PASSWORD", "Bench-Pass-2026")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut server = Command::new(bin)
        .args(["server", "run", "--listen", "127.0.0.1:0", "--db", &url])
        .arg("--office-key")
        .arg(&key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let base_url = format!("http://{}", v["listening"].as_str().unwrap());
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    let r = client
        .post(format!("{base_url}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=admin&password=Bench-Pass-2026")
        .send()
        .unwrap();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .trim_start_matches("booth_session=")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let s = Session {
        base: base_url,
        cookie,
        client,
    };
    let pid = server.id();
    println!(
        "server RSS after start: {:?} KB (VmRSS, VmHWM)",
        rss_kb(pid)
    );
    let enc = |q: &str| {
        percent_encoding::utf8_percent_encode(q, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let reps = if quick { 20 } else { 100 };
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % members
    };
    // warm the caches a little, as a running office's would be
    for _ in 0..10 {
        s.get("/");
        s.get("/members");
        s.get("/audit");
    }
    s.time("dashboard /", &vec!["/".to_string(); reps]);
    let filtered: Vec<String> = (0..reps)
        .map(|i| {
            format!(
                "/?union={}&from=2026-09-0{}&to=2026-10-15",
                enc(DISTRICTS[i % 16]),
                1 + i % 9
            )
        })
        .collect();
    s.time("dashboard, union + date range", &filtered);
    s.time(
        "members, no query (newest first)",
        &vec!["/members".to_string(); reps],
    );
    let by_surname: Vec<String> = (0..reps)
        .map(|_| {
            format!(
                "/members?q={}",
                enc(&name(next()).chars().take(1).collect::<String>())
            )
        })
        .collect();
    s.time("members, q=surname (~1% of all)", &by_surname);
    let by_name: Vec<String> = (0..reps)
        .map(|_| format!("/members?q={}", enc(&name(next()))))
        .collect();
    s.time("members, q=whole name", &by_name);
    let by_tail: Vec<String> = (0..reps)
        .map(|_| format!("/members?q={}", &phone(next())[7..]))
        .collect();
    s.time("members, q=phone tail (4 digits)", &by_tail);
    let by_no: Vec<String> = (0..reps)
        .map(|_| {
            let j = next();
            let no = MemberNo::new(&key_id(j % DEVICES), (j / DEVICES + 1) as u32).unwrap();
            format!("/members?q={}", no.grouped())
        })
        .collect();
    s.time("members, q=member number", &by_no);
    let by_employer: Vec<String> = (0..reps)
        .map(|_| format!("/members?q={}", enc(&employer(next()))))
        .collect();
    s.time("members, q=employer", &by_employer);
    let by_filter: Vec<String> = (0..reps)
        .map(|i| {
            format!(
                "/members?union={}&from=2026-09-{:02}&to=2026-09-{:02}",
                enc(DISTRICTS[i % 16]),
                1 + i % 20,
                5 + i % 20
            )
        })
        .collect();
    s.time("members, union + date range", &by_filter);
    let deep: Vec<String> = (0..reps)
        .map(|_| format!("/members?before={}", 1 + next()))
        .collect();
    s.time("members, a later page (before=id)", &deep);
    s.time("audit log /audit", &vec!["/audit".to_string(); reps]);
    s.time(
        "audit log, one user",
        &vec!["/audit?actor=viewer7".to_string(); reps],
    );
    let audit_deep: Vec<String> = (0..reps)
        .map(|_| format!("/audit?before={}", 1 + next() % audit.max(1)))
        .collect();
    s.time("audit log, a later page", &audit_deep);

    // the export: every member, streamed, with the server's memory watched
    let before = rss_kb(pid);
    let t = Instant::now();
    let mut resp = s
        .client
        .get(format!("{}/members/export?format=csv&x=", s.base))
        .header("cookie", format!("booth_session={}", s.cookie))
        .send()
        .unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let (mut bytes, mut lines, mut first_byte, mut peak) = (0u64, 0u64, None, 0u64);
    loop {
        let n = resp.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        first_byte.get_or_insert(t.elapsed());
        bytes += n as u64;
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        if lines % 50_000 < 200 {
            peak = peak.max(rss_kb(pid).0);
        }
    }
    let after = rss_kb(pid);
    println!(
        "export csv, all members: {} rows, {:.1} MB in {:.1} s ({:.0} rows/s), first byte after {:.0} ms",
        lines.saturating_sub(1),
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        lines as f64 / t.elapsed().as_secs_f64(),
        first_byte.unwrap_or_default().as_secs_f64() * 1000.0
    );
    println!(
        "server RSS during export: before {} KB, peak sampled {} KB, after {} KB (VmHWM {} KB)",
        before.0, peak, after.0, after.1
    );
    let _ = server.kill();
    let _ = server.wait();
    rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        if std::env::var("BOOTH_BENCH_KEEP").is_err() {
            let _ = c
                .batch_execute(&format!("DROP DATABASE IF EXISTS {dbname}"))
                .await;
        }
    });
}
