//! A booth of three laptops (SPEC §12) in network namespaces joined by a bridge, each
//! running `booth peers run`, every other command going through it over the local socket:
//! pairing with a code (and a wrong code three times, which voids it), a group member learnt
//! through another, an unpaired intruder on the LAN, the same person refused across laptops,
//! a cut and restored link (registrations made apart are caught as conflicts, nothing
//! doubled), a backup file the office opens with its key, the relay upload of everything A
//! made (the office takes it on A's signature and binding proof, A never having uploaded),
//! the backup imported after it (nothing doubled), and the figures: replication latency and
//! a 2,000-record catch-up.
//!
//! Needs root (`ip netns`); skipped with a message otherwise. `BOOTH_BIN` runs another
//! build (the release binary, for the README's figures).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const PASS: &str = "peers-pass-123";

fn bin() -> PathBuf {
    std::env::var_os("BOOTH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_booth")))
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The namespaces and what runs in them; all removed when dropped.
struct Net {
    prefix: String,
    children: Vec<Child>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in ["br", "a", "b", "c", "x"] {
            ip(&["netns", "del", &format!("{}{n}", self.prefix)]);
        }
    }
}

impl Net {
    fn ns(&self, n: &str) -> String {
        format!("{}{n}", self.prefix)
    }

    /// A bridge in its own namespace; laptops `a`, `b`, `c`, `x` on 10.78.0.1–4.
    fn new() -> Option<Net> {
        let prefix = format!("bp{}", std::process::id() % 100_000);
        let net = Net {
            prefix,
            children: Vec::new(),
        };
        let br = net.ns("br");
        if !ip(&["netns", "add", &br]) {
            return None;
        }
        assert!(ip(&["-n", &br, "link", "add", "br0", "type", "bridge"]));
        assert!(ip(&["-n", &br, "link", "set", "br0", "up"]));
        for (i, n) in ["a", "b", "c", "x"].iter().enumerate() {
            let ns = net.ns(n);
            let (inside, outside) = (format!("{}{n}0", net.prefix), format!("{}{n}1", net.prefix));
            assert!(ip(&["netns", "add", &ns]));
            assert!(ip(&[
                "link", "add", &inside, "type", "veth", "peer", "name", &outside
            ]));
            assert!(ip(&["link", "set", &inside, "netns", &ns]));
            assert!(ip(&["link", "set", &outside, "netns", &br]));
            assert!(ip(&["-n", &br, "link", "set", &outside, "master", "br0"]));
            assert!(ip(&["-n", &br, "link", "set", &outside, "up"]));
            let addr = format!("10.78.0.{}/24", i + 1);
            assert!(ip(&["-n", &ns, "addr", "add", &addr, "dev", &inside]));
            assert!(ip(&["-n", &ns, "link", "set", &inside, "up"]));
            assert!(ip(&["-n", &ns, "link", "set", "lo", "up"]));
        }
        Some(net)
    }

    /// Cuts (or restores) a laptop's cable at the bridge.
    fn cable(&self, n: &str, up: bool) {
        let port = format!("{}{n}1", self.prefix);
        assert!(ip(&[
            "-n",
            &self.ns("br"),
            "link",
            "set",
            &port,
            if up { "up" } else { "down" }
        ]));
    }
}

struct Laptop {
    ns: String,
    dir: PathBuf,
    addr: String,
}

fn booth_in(ns: Option<&str>, dir: Option<&Path>, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(bin());
            c
        }
        None => Command::new(bin()),
    };
    if let Some(d) = dir {
        cmd.arg("--data-dir").arg(d);
    }
    cmd.args(args)
        .env("BOOTH_PASSPHRASE", PASS)
        .env("BOOTH_KDF", "fast")
        .env("BOOTH_LANG", "zh-CN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("booth runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

impl Laptop {
    fn run(&self, args: &[&str]) -> Output {
        booth_in(Some(&self.ns), Some(&self.dir), args, None)
    }

    fn json(&self, args: &[&str]) -> (bool, Value) {
        let mut a = args.to_vec();
        a.push("--json");
        let out = self.run(&a);
        let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.success(), v)
    }

    fn register(&self, name: &str, id: &str, phone: &str) -> (bool, Value) {
        self.json(&[
            "register",
            "--name",
            name,
            "--id",
            id,
            "--phone",
            phone,
            "--employer",
            "顺丰速运",
            "--consent",
        ])
    }

    fn peers(&self) -> Value {
        self.json(&["peers", "list"]).1
    }

    /// Records this laptop holds for the laptop named `name`.
    fn held_for(&self, name: &str) -> u64 {
        self.peers()["peers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name)
            .and_then(|p| p["held"].as_u64())
            .unwrap_or(0)
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.peers()["peers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str().map(str::to_string))
            .collect();
        v.sort();
        v
    }
}

/// A valid resident ID number (GB 11643) for `n`: a birth date per `n`, its check character.
fn id_number(n: u32) -> String {
    let birth =
        chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Days::new(u64::from(n));
    let body = format!("110105{}{:03}", birth.format("%Y%m%d"), n % 1000);
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if cond() {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[test]
fn three_laptops_in_network_namespaces() {
    let Some(mut net) = Net::new() else {
        eprintln!("skipped: ip netns needs root");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", tmp.path().join("office.db").display());
    let out = booth_in(
        None,
        None,
        &[
            "server",
            "init",
            "--db",
            &db,
            "--server-url",
            "http://127.0.0.1:18095",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut laptops = Vec::new();
    let mut tokens = Vec::new();
    for (i, n) in ["a", "b", "c", "x"].iter().enumerate() {
        let out = booth_in(
            None,
            None,
            &[
                "server",
                "add-device",
                &format!("lap-{n}"),
                "--json",
                "--db",
                &db,
            ],
            None,
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let code = v["enrolment_code"].as_str().unwrap().to_string();
        tokens.push(v["token"].as_str().unwrap().to_string());
        let dir = tmp.path().join(n);
        let laptop = Laptop {
            ns: net.ns(n),
            dir,
            addr: format!("10.78.0.{}", i + 1),
        };
        let out = booth_in(
            None,
            Some(&laptop.dir),
            &["config", "set", "union", "望京街道总工会"],
            None,
        );
        assert!(out.status.success());
        let out = booth_in(None, Some(&laptop.dir), &["enroll", "-"], Some(&code));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let child = Command::new("ip")
            .args(["netns", "exec", &laptop.ns])
            .arg(bin())
            .arg("--data-dir")
            .arg(&laptop.dir)
            .args(["peers", "run"])
            .env("BOOTH_PASSPHRASE", PASS)
            .env("BOOTH_KDF", "fast")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        net.children.push(child);
        laptops.push(laptop);
    }
    let [a, b, c, x] = [&laptops[0], &laptops[1], &laptops[2], &laptops[3]];
    for l in [a, b, c, x] {
        wait_until(
            "peers run holds its folder",
            Duration::from_secs(20),
            || l.dir.join("booth.sock").exists() && l.run(&["peers", "list"]).status.success(),
        );
    }

    // -- pairing: three wrong codes void the code, then a new one pairs
    let code = |l: &Laptop| -> (String, String) {
        let (ok, v) = l.json(&["peers", "code"]);
        assert!(ok, "{v}");
        (
            v["code"].as_str().unwrap().into(),
            v["address"].as_str().unwrap().into(),
        )
    };
    let (right, address) = code(a);
    assert_eq!(
        address,
        format!("{}:47410", a.addr),
        "first non-loopback IPv4 and the port"
    );
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    for _ in 0..3 {
        let (ok, v) = b.json(&["peers", "pair", wrong, "--addr", &address]);
        assert!(!ok);
        assert_eq!(v["error"], "wrong_code", "{v}");
    }
    let (ok, v) = b.json(&["peers", "pair", &right, "--addr", &address]);
    assert!(!ok, "a code is void after 3 wrong tries");
    assert_eq!(v["error"], "no_code", "{v}");
    let (right, address) = code(a);
    let (ok, v) = b.json(&["peers", "pair", &right, "--addr", &address]);
    assert!(ok, "{v}");
    assert_eq!(v["paired"], "lap-a");
    // C joins through A; B learns C from A's word, C learns B
    let (right, address) = code(a);
    let (ok, v) = c.json(&["peers", "pair", &right, "--addr", &address]);
    assert!(ok, "{v}");
    wait_until(
        "every laptop knows the two others",
        Duration::from_secs(15),
        || {
            a.names() == ["lap-b", "lap-c"]
                && b.names() == ["lap-a", "lap-c"]
                && c.names() == ["lap-a", "lap-b"]
        },
    );
    // a used code pairs no one else
    let (ok, v) = x.json(&["peers", "pair", &right, "--addr", &address]);
    assert!(!ok, "{v}");

    // -- an unpaired intruder on the LAN: no answer at all to a session, nothing pinned
    let probe = Command::new("ip")
        .args(["netns", "exec", &x.ns, "python3", "-c"])
        .arg(format!(
            "import socket;s=socket.create_connection(('{}',47410),3);s.sendall(b'N'+bytes([0,48])+bytes(48));s.settimeout(5);print(len(s.recv(100)))",
            a.addr
        ))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&probe.stdout).trim(),
        "0",
        "the intruder got bytes back"
    );
    assert!(a.names().iter().all(|n| n != "lap-x"));

    // -- the same person across laptops, and replication latency
    let (ok, v) = a.register("葛婷婷", "11010519491231002X", "13800138000");
    assert!(ok, "{v}");
    let a1 = v["member_no"].as_str().unwrap().to_string();
    // A's mark goes out before the segment with the record: once B holds the record, B
    // knows the person (a registration in the moment before is the conflict case below)
    wait_until("A's record reaches B", Duration::from_secs(2), || {
        b.held_for("lap-a") >= 1
    });
    let (ok, refused) = b.register("葛婷婷", "11010519491231002X", "13800138000");
    assert!(!ok, "registered twice: {refused}");
    assert_eq!(refused["error"], "duplicate_peer", "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains(&a1) && message.contains("lap-a"),
        "{message}"
    );
    assert!(!message.contains("葛婷婷"), "never the worker's name");

    let mut latencies = Vec::new();
    for i in 0..20 {
        let before = b.held_for("lap-a");
        let (ok, v) = a.register("王秀英", &id_number(10 + i), "13912345678");
        assert!(ok, "{v}");
        latencies.push(wait_until(
            "B holds A's new record",
            Duration::from_secs(10),
            || b.held_for("lap-a") > before,
        ));
    }
    let p50 = percentile(&mut latencies, 0.5);
    let p99 = percentile(&mut latencies, 0.99);
    println!(
        "replication latency A→B (register returned → B's peers list shows it): p50 {p50:?}, p99 {p99:?}"
    );
    assert!(
        p99 < Duration::from_secs(2),
        "replication within 2 s on a LAN: p99 {p99:?}"
    );

    // -- a cut and restored link: registrations made apart meet, nothing doubled
    let held_before = b.held_for("lap-a");
    net.cable("b", false);
    for i in 0..5 {
        let (ok, v) = a.register("蒋琳", &id_number(100 + i), "13612342222");
        assert!(ok, "{v}");
    }
    // the same person on both sides of the cut
    let (ok, v) = a.register("张伟", &id_number(200), "13600001111");
    assert!(ok, "{v}");
    let (ok, v) = b.register("张伟", &id_number(200), "13600001111");
    assert!(ok, "B cannot know while cut: {v}");
    net.cable("b", true);
    wait_until(
        "B catches up on what A did while cut",
        Duration::from_secs(60),
        || b.held_for("lap-a") >= held_before + 6,
    );
    assert_eq!(b.held_for("lap-a"), held_before + 6, "nothing doubled");
    let mut seen = (Value::Null, Value::Null);
    let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until("both list the conflict", Duration::from_secs(30), || {
            seen = (
                a.peers()["conflicts"].clone(),
                b.peers()["conflicts"].clone(),
            );
            seen.0.as_array().map_or(0, Vec::len) == 1 && seen.1.as_array().map_or(0, Vec::len) == 1
        })
    }));
    assert!(
        waited.is_ok(),
        "conflicts seen: A {} / B {}",
        seen.0,
        seen.1
    );
    // C, in touch with A all along, holds the same
    assert_eq!(c.held_for("lap-a"), b.held_for("lap-a"));

    // -- 2,000 records' catch-up after a gap
    net.cable("b", false);
    let csv = tmp.path().join("roster.csv");
    let mut text = String::from("姓名,身份证号,手机号,工作单位\n");
    for i in 0..2000u32 {
        // names are letters only: the digits of `i` as Chinese numerals
        let name: String = i
            .to_string()
            .chars()
            .filter_map(|d| "零一二三四五六七八九".chars().nth(d.to_digit(10)? as usize))
            .collect();
        text.push_str(&format!(
            "职工{name},{},138{:08},京东物流\n",
            id_number(1000 + i),
            i
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let held_before = b.held_for("lap-a");
    let out = a.run(&["import", csv.to_str().unwrap(), "--consent", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_until("C holds the import", Duration::from_secs(60), || {
        c.held_for("lap-a") >= held_before + 2000
    });
    let start = Instant::now();
    net.cable("b", true);
    wait_until(
        "B catches up 2,000 records",
        Duration::from_secs(60),
        || b.held_for("lap-a") >= held_before + 2000,
    );
    let catch_up = start.elapsed();
    println!("catch-up of 2,000 records after a gap (cable back → B holds them): {catch_up:?}");
    assert_eq!(b.held_for("lap-a"), held_before + 2000);

    // -- a backup file: sealed to the office, signed; the office opens A's records in it,
    // and A's binding proof checks against A's token (the laptop lost before its upload)
    let file = tmp.path().join("b-backup.json");
    let (ok, v) = b.json(&["backup", "--out", file.to_str().unwrap()]);
    assert!(ok, "{v}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("葛婷婷") && !text.contains("11010519491231002X"));
    let pem = std::fs::read_to_string(tmp.path().join("office-key.pem")).unwrap();
    let office = booth::card::office::OfficeKey::from_pem(&pem)
        .unwrap()
        .seal_key();
    let (_, segments) = booth::card::segment::open_backup(&text).unwrap();
    let a_key_id = &a1[..6];
    let mut a_numbers = std::collections::BTreeSet::new();
    for s in segments.iter().filter(|s| s.header.key_id == a_key_id) {
        let bk = booth::card::segment::binding_key(&tokens[0]);
        let body = booth::card::segment::accept(s, &office, None, None, Some(&bk)).unwrap();
        let req: booth::protocol::BatchRequest = serde_json::from_slice(&body).unwrap();
        a_numbers.extend(req.records.into_iter().map(|r| r.member_no));
    }
    // A's registrations: 1 + 20 + 6 + 2,000, each once
    assert_eq!(a_numbers.len(), 2027);
    assert!(a_numbers.contains(&a1.replace('-', "")));
    // another device's token does not prove A's key
    let s = segments
        .iter()
        .find(|s| s.header.key_id == a_key_id)
        .unwrap();
    assert!(
        booth::card::segment::accept(
            s,
            &office,
            None,
            None,
            Some(&booth::card::segment::binding_key(&tokens[1]))
        )
        .is_err()
    );

    // -- relay upload: B's own records, then what it holds for A, each segment taken on A's
    // signature and binding proof (A never uploaded: the laptop lost before its first upload)
    let srv = Command::new("ip")
        .args(["netns", "exec", &b.ns])
        .arg(bin())
        .args(["server", "run", "--listen", "127.0.0.1:18095", "--db", &db])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    net.children.push(srv);
    let mut last = Value::Null;
    let start = Instant::now();
    wait_until("B uploads", Duration::from_secs(60), || {
        let (_, v) = b.json(&["upload", "--server", "http://127.0.0.1:18095"]);
        last = v;
        last["ok"] == true
    });
    println!(
        "B's upload with {} records relayed for A: {:?}",
        a_numbers.len(),
        start.elapsed()
    );
    assert_eq!(last["ok"], true, "{last}");
    assert_eq!(last["relayed"]["refused"], serde_json::json!([]), "{last}");
    assert_eq!(last["relayed"]["still_held"], 0, "{last}");
    assert_eq!(
        b.held_for("lap-a"),
        0,
        "what the office took is no longer held"
    );
    let office_records = || -> Vec<Value> {
        let file = tmp.path().join("office.json");
        let out = booth_in(
            None,
            None,
            &[
                "server",
                "export",
                "--format",
                "json",
                "--out",
                file.to_str().unwrap(),
                "--db",
                &db,
            ],
            None,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        v["records"].as_array().unwrap().clone()
    };
    let records = office_records();
    let of_a: Vec<&Value> = records
        .iter()
        .filter(|r| r["member_no"].as_str().unwrap().replace('-', "")[..6] == *a_key_id)
        .collect();
    // each of A's numbers once, under lap-a; but 张伟, registered on both sides of the cut:
    // B's own upload came first, A's is the office's `duplicate_person` (its last line)
    assert!(of_a.iter().all(|r| r["device"] == "lap-a"));
    let mut numbers: Vec<String> = of_a
        .iter()
        .map(|r| r["member_no"].as_str().unwrap().replace('-', ""))
        .collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), of_a.len(), "nothing doubled");
    assert_eq!(of_a.len(), a_numbers.len() - 1, "A's records at the office");
    assert!(numbers.iter().all(|n| a_numbers.contains(n)));

    // -- the backup file B wrote before: imported after the relay, nothing doubled
    let out = booth_in(
        None,
        None,
        &[
            "server",
            "import-backup",
            file.to_str().unwrap(),
            "--db",
            &db,
            "--json",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["records"]["accepted"], 0, "{v}");
    assert_eq!(office_records().len(), records.len());
}
