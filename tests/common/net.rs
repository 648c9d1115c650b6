//! Helpers for the upload and server tests: the real `booth server run` on 127.0.0.1 (SQLite,
//! and PostgreSQL when `BOOTH_TEST_PG_URL` is set), a fault-injecting TCP proxy, valid
//! batches built with the library's own protocol types.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{booth_bin, phone, valid_id};

/// A server database for one test: a SQLite file, or a fresh PostgreSQL database.
pub struct TestDb {
    pub url: String,
    pub label: &'static str,
    _dir: Option<tempfile::TempDir>,
}

/// The databases every server test runs against: SQLite always; PostgreSQL when
/// `BOOTH_TEST_PG_URL` is set (required under CI), with a database of its own per call.
pub fn test_dbs() -> Vec<TestDb> {
    let mut dbs = vec![sqlite_db()];
    // without it: a failure under CI, the PostgreSQL variant skipped elsewhere
    if let Some(base) = super::tools::postgres_url() {
        dbs.push(TestDb {
            url: fresh_pg_database(&base),
            label: "postgres",
            _dir: None,
        });
    }
    dbs
}

/// A SQLite server database in a temporary folder (for the tests of what does not depend on
/// the database).
pub fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    TestDb {
        url: format!("sqlite:{}", dir.path().join("office.db").display()),
        label: "sqlite",
        _dir: Some(dir),
    }
}

/// Creates a uniquely named database on the cluster of `base` and returns its URL.
pub fn fresh_pg_database(base: &str) -> String {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).unwrap();
    let name = format!("booth_t_{}", data_encoding::HEXLOWER.encode(&r));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
            .await
            .expect("connect to BOOTH_TEST_PG_URL");
        let task = tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        drop(client);
        let _ = task.await;
    });
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database name");
    format!("{prefix}/{name}")
}

/// The office key file for a database: beside a SQLite file (the default), and for a
/// PostgreSQL database a file in the temp folder named after it (PostgreSQL needs one named).
pub fn office_key_env(cmd: &mut Command, args: &[&str]) {
    let db = args
        .iter()
        .position(|a| *a == "--db")
        .and_then(|i| args.get(i + 1))
        .copied()
        .unwrap_or_default();
    cmd.env_remove("BOOTH_OFFICE_KEY");
    if db.starts_with("postgres") {
        let name = data_encoding::HEXLOWER.encode(&sha2_digest(db.as_bytes())[..8]);
        cmd.env(
            "BOOTH_OFFICE_KEY",
            std::env::temp_dir().join(format!("booth-test-office-{name}.pem")),
        );
    }
}

fn sha2_digest(b: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(b).to_vec()
}

/// `booth server ARGS` (admin commands), with `--json`.
pub fn server_cmd(args: &[&str]) -> (Output, Value) {
    let mut cmd = Command::new(booth_bin());
    office_key_env(&mut cmd, args);
    let out = cmd
        .args(["server"])
        .args(args)
        .arg("--json")
        .env_remove("BOOTH_LANG")
        .env_remove("BOOTH_SERVER_DB")
        .output()
        .expect("run booth server");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, v)
}

pub fn add_device(db: &str, name: &str) -> String {
    let (out, v) = server_cmd(&["add-device", name, "--db", db]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    v["token"].as_str().expect("token").to_string()
}

pub fn server_stats(db: &str) -> Value {
    let (out, v) = server_cmd(&["stats", "--db", db]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    v
}

pub fn members_on_server(db: &str) -> u64 {
    server_stats(db)["members"].as_u64().expect("members")
}

/// A running `booth server run` on 127.0.0.1 with an OS-chosen port; killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub db: String,
    pub log: PathBuf,
    pub scheme: &'static str,
    _logdir: tempfile::TempDir,
}

impl Server {
    pub fn start(db: &str) -> Server {
        Server::start_with(db, &[])
    }

    pub fn start_with(db: &str, extra: &[&str]) -> Server {
        let logdir = tempfile::tempdir().unwrap();
        let log = logdir.path().join("server.log");
        let mut cmd = Command::new(booth_bin());
        office_key_env(&mut cmd, &["--db", db]);
        let mut child = cmd
            .args(["server", "run", "--listen", "127.0.0.1:0", "--db", db])
            .args(extra)
            .env_remove("BOOTH_SERVER_DB")
            .env("BOOTH_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start server");
        // The first stdout line says where it listens (`--listen 127.0.0.1:0`).
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "server did not start: {line}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        let addr: SocketAddr = v["listening"].as_str().unwrap().parse().unwrap();
        let scheme = if v["tls"] == json!(true) {
            "https"
        } else {
            "http"
        };
        let s = Server {
            child,
            addr,
            db: db.to_string(),
            log,
            scheme,
            _logdir: logdir,
        };
        if scheme == "http" {
            s.wait_healthy();
        }
        s
    }

    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Polls `/v1/health` until it answers 200 (bounded).
    pub fn wait_healthy(&self) {
        let client = http_client();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = client.get(format!("{}/v1/health", self.url())).send()
                && r.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "server never became healthy");
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no graceful shutdown, whatever it was doing.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn http_client() -> reqwest::blocking::Client {
    booth::tls::install_crypto_provider();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// A valid record as the laptop would send it: `(uuid, item JSON)`.
pub fn batch_item(n: u32, day: chrono::NaiveDate) -> Value {
    batch_item_for(n, &valid_id(n), day)
}

pub fn batch_item_for(n: u32, id: &str, day: chrono::NaiveDate) -> Value {
    batch_item_by(&test_key(), n, id, day)
}

/// Person `n` working for `employer`.
pub fn batch_item_at(n: u32, id: &str, day: chrono::NaiveDate, employer: &str) -> Value {
    batch_item_full(&test_key(), n, id, day, employer)
}

/// As [`batch_item_for`], numbered by `key`'s laptop (a record's member number carries the
/// key id of the laptop that signs its batch).
pub fn batch_item_by(
    key: &booth::card::DeviceKey,
    n: u32,
    id: &str,
    day: chrono::NaiveDate,
) -> Value {
    batch_item_full(key, n, id, day, "某某快递有限公司")
}

/// Person `n` working for `employer`, numbered by `key`'s laptop.
pub fn batch_item_of(
    key: &booth::card::DeviceKey,
    n: u32,
    day: chrono::NaiveDate,
    employer: &str,
) -> Value {
    batch_item_full(key, n, &valid_id(n), day, employer)
}

fn batch_item_full(
    key: &booth::card::DeviceKey,
    n: u32,
    id: &str,
    day: chrono::NaiveDate,
    employer: &str,
) -> Value {
    let input = booth::member::MemberInput {
        name: person_name(n),
        id_number: id.into(),
        phone: phone(n),
        employer: employer.into(),
        consent: true,
        ..Default::default()
    };
    let member = match booth::member::validate(&input, day) {
        Ok(v) => v.member,
        // Deliberately invalid records are built by hand below.
        Err(_) => booth::member::Member {
            name: input.name.clone(),
            document: booth::member::Document {
                kind: booth::member::DocKind::ResidentId,
                number: id.into(),
            },
            phone: input.phone.clone(),
            employer: input.employer.clone(),
            details: Default::default(),
        },
    };
    let ts = format!("{day}T10:00:00+08:00");
    let record = serde_json::to_value(booth::protocol::WireRecord {
        member,
        consent_at: ts.clone(),
        created_at: ts,
        event_date: day,
        union: "朝阳区总工会".into(),
        place: "望京".into(),
        operator: "李".into(),
        imported: false,
    })
    .unwrap();
    let member_no = booth::card::MemberNo::new(key.key_id(), n).unwrap();
    json!({
        "uuid": uuid::Uuid::new_v4(),
        "member_no": member_no.as_str(),
        "content_hash": booth::protocol::content_hash(&record),
        "record": record,
    })
}

/// The laptop key of the hand-built batches (their member numbers carry its id).
pub fn test_key() -> booth::card::DeviceKey {
    booth::card::DeviceKey::from_secret(&[0x42; 32])
}

pub fn test_key_id() -> String {
    test_key().key_id().to_string()
}

/// The key of laptop `i` when a test drives several: the office binds each key to one device
/// only, so laptops uploading under their own tokens sign with their own keys.
pub fn laptop_key(i: u32) -> booth::card::DeviceKey {
    let mut secret = [0x42; 32];
    secret[..4].copy_from_slice(&(i + 1).to_le_bytes());
    booth::card::DeviceKey::from_secret(&secret)
}

pub fn batch(items: Vec<Value>) -> Value {
    batch_by(&test_key(), items)
}

/// A batch body of `key`'s laptop.
pub fn batch_by(key: &booth::card::DeviceKey, items: Vec<Value>) -> Value {
    json!({ "batch_id": uuid::Uuid::new_v4(), "device_key_id": key.key_id().to_string(), "records": items })
}

/// POSTs a batch body signed by the test laptop key; returns status and JSON answer.
pub fn post(
    client: &reqwest::blocking::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
    content_type: &str,
) -> Result<(u16, Value), reqwest::Error> {
    post_signed(client, url, token, body, content_type, Some(&test_key()))
}

/// As [`post`], signed by `key` (or unsigned, as the previous release sent batches).
pub fn post_signed(
    client: &reqwest::blocking::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
    content_type: &str,
    key: Option<&booth::card::DeviceKey>,
) -> Result<(u16, Value), reqwest::Error> {
    let mut req = client
        .post(format!("{url}/v1/batches"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .header("accept-language", "en");
    if let Some(k) = key {
        let b64 = data_encoding::BASE64URL_NOPAD;
        req = req
            .header(
                booth::protocol::HEADER_DEVICE_KEY,
                b64.encode(k.public().as_bytes()),
            )
            .header(
                booth::protocol::HEADER_SIGNATURE,
                b64.encode(&k.sign(&booth::protocol::batch_message(&body))),
            );
    }
    let r = req.body(body).send()?;
    let status = r.status().as_u16();
    let v = r.json().unwrap_or(Value::Null);
    Ok((status, v))
}

/// What the proxy does to one connection.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Drop both sides after forwarding N bytes of the request.
    CutRequestAfter(usize),
    /// Drop both sides after forwarding N bytes of the response (the server has done the
    /// work: "failed but actually stored").
    CutResponseAfter(usize),
    /// Answer `503` without forwarding.
    Answer503,
}

/// A TCP proxy in front of the server. Each new connection takes the next planned fault;
/// with none left, it forwards faithfully.
pub struct Proxy {
    pub addr: SocketAddr,
    plan: Arc<Mutex<VecDeque<Fault>>>,
    pub connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr, plan: Vec<Fault>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let plan = Arc::new(Mutex::new(VecDeque::from(plan)));
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let (p, s, c) = (plan.clone(), stop.clone(), connections.clone());
        listener.set_nonblocking(true).unwrap();
        thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        c.fetch_add(1, Ordering::Relaxed);
                        let fault = p.lock().unwrap().pop_front();
                        thread::spawn(move || serve_conn(client, upstream, fault));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy {
            addr,
            plan,
            connections,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn faults_left(&self) -> usize {
        self.plan.lock().unwrap().len()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve_conn(client: TcpStream, upstream: SocketAddr, fault: Option<Fault>) {
    if let Some(Fault::Answer503) = fault {
        answer_503(client);
        return;
    }
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let (req_limit, resp_limit) = match fault {
        Some(Fault::CutRequestAfter(n)) => (Some(n), None),
        Some(Fault::CutResponseAfter(n)) => (None, Some(n)),
        _ => (None, None),
    };
    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up = thread::spawn(move || pump(c2, s2, req_limit));
    pump(server, client, resp_limit);
    let _ = up.join();
}

/// Copies `from` → `to`; with a limit, cuts both after that many bytes.
fn pump(mut from: TcpStream, mut to: TcpStream, limit: Option<usize>) {
    let mut buf = [0u8; 16 * 1024];
    let mut sent = 0usize;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let n = match limit {
            Some(l) if sent + n >= l => {
                let _ = to.write_all(&buf[..l - sent]);
                let _ = to.flush();
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
                return;
            }
            _ => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        sent += n;
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Reads one request (headers and Content-Length body) and answers 503.
fn answer_503(mut client: TcpStream) {
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let _ = client.set_read_timeout(Some(Duration::from_secs(10)));
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = find(&data, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + len {
                break;
            }
        }
    }
    let body = r#"{"error":"unavailable","message":"test proxy says 503"}"#;
    let _ = write!(
        client,
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.shutdown(Shutdown::Both);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A valid name for person `n` (names cannot hold digits).
pub fn person_name(n: u32) -> String {
    const S: [char; 10] = ['王', '李', '张', '刘', '陈', '杨', '赵', '黄', '周', '吴'];
    const G: [char; 10] = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋'];
    let n = n as usize;
    format!("{}{}{}", S[n % 10], G[(n / 10) % 10], G[(n / 100) % 10])
}

/// A roster CSV of `n` people starting at `offset` (distinct valid IDs and phones).
pub fn write_roster(path: &Path, n: u32, offset: u32) {
    let mut s = String::from("姓名,身份证号码,手机号,工作单位\n");
    for i in offset..offset + n {
        s.push_str(&format!(
            "{},{},{},某某快递有限公司\n",
            person_name(i),
            valid_id(i),
            phone(i)
        ));
    }
    std::fs::write(path, s).unwrap();
}

/// A small deterministic generator for kill times (seed printed by the test).
pub struct Rng(pub u64);

impl Rng {
    pub fn from_time() -> Rng {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        Rng(seed | 1)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) % n.max(1)
    }
}
