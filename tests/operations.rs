//! The office server as the office's IT runs it (SPEC §13, docs/operations.md): started from
//! its config file (environment over the file, `db_file`), `check-config`, systemd's readiness
//! and watchdog (a notify socket of the test's own), on the real binary over loopback.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::net::*;
use common::*;
use serde_json::Value;

/// `booth server ARGS` with a clean environment for the server's own variables.
fn booth_server(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(booth_bin());
    cmd.arg("server").args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("BOOTH_SERVER_") || k == "BOOTH_OFFICE_KEY" || k == "BOOTH_LANG" {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// A server started with `args`; its first stdout line (where it listens) read.
struct Running {
    child: Option<Child>,
    first: Value,
    /// Its stderr (the log), in a file: a pipe nobody reads would fill and stop it.
    log: tempfile::NamedTempFile,
}

impl Running {
    fn start(mut cmd: Command) -> Running {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("start server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Ok(first) = serde_json::from_str(&line) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "server did not start: {line}\n{}",
                std::fs::read_to_string(log.path()).unwrap_or_default()
            )
        };
        Running {
            child: Some(child),
            first,
            log,
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    fn addr(&self, key: &str) -> SocketAddr {
        self.first[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in {}", self.first))
            .parse()
            .unwrap()
    }

    fn get(&self, key: &str, path: &str) -> (u16, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match http_client()
                .get(format!("http://{}{path}", self.addr(key)))
                .send()
            {
                Ok(r) => {
                    let status = r.status().as_u16();
                    return (status, r.text().unwrap_or_default());
                }
                Err(e) => {
                    assert!(Instant::now() < deadline, "{path}: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    /// SIGTERM, as systemd stops it: its exit status and its log.
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("server did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        (child.wait().unwrap(), self.log_text())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// The config file is read, the environment wins over it, and `db_file` gives the URL: a
/// file naming a database in a folder that does not exist still starts the server when
/// `BOOTH_SERVER_DB_FILE` names a good one.
#[test]
fn the_server_runs_from_its_config_file_with_the_environment_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("office.db").display());
    add_device(&db, "lap-a");
    let url_file = dir.path().join("db-url");
    write(&url_file, &format!("\n{db}\n"));
    let config = dir.path().join("server.toml");
    write(
        &config,
        "listen = \"127.0.0.1:0\"\nmetrics_listen = \"off\"\n\
         db = \"sqlite:/nonexistent/booth/office.db\"\nidle_timeout = 30\n",
    );
    let config_s = config.to_str().unwrap();
    let server = Running::start(booth_server(
        &["run", "--config", config_s],
        &[("BOOTH_SERVER_DB_FILE", url_file.to_str().unwrap())],
    ));
    // (the file's own database cannot be opened: the server runs on db_file's)
    let (status, _) = server.get("listening", "/v1/health");
    assert_eq!(status, 200);
    drop(server);

    // a flag wins over the environment and the file: --listen names another port
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let server = Running::start(booth_server(
        &[
            "run",
            "--config",
            config_s,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
        &[
            ("BOOTH_SERVER_LISTEN", "127.0.0.1:1"),
            ("BOOTH_SERVER_DB", &db),
        ],
    ));
    assert_eq!(server.addr("listening").port(), port);
    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");
}

/// `check-config`: a good file passes and says what the server would use; a misspelt key, a
/// half-set TLS pair or a missing database fails naming the key, in both languages; nothing
/// is made (no database, no key file) by checking.
#[test]
fn check_config_names_what_is_wrong_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("office.db");
    let db = format!("sqlite:{}", db_path.display());
    let config = dir.path().join("server.toml");
    let check = |text: &str, lang: &str| {
        write(&config, text);
        booth_server(
            &[
                "check-config",
                "--config",
                config.to_str().unwrap(),
                "--json",
            ],
            &[("BOOTH_LANG", lang)],
        )
        .output()
        .unwrap()
    };

    // before the office is made: OK, with warnings, and still nothing made
    let out = check(&format!("db = \"{db}\"\n"), "en");
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["listen"], "127.0.0.1:8443");
    assert_eq!(v["metrics_listen"], "127.0.0.1:9464");
    assert_eq!(v["schema"]["exists"], false);
    assert!(v["warnings"].as_array().unwrap().len() >= 2, "{v}");
    assert!(!db_path.exists(), "check-config made the database");
    assert!(
        !dir.path().join("office-key.pem").exists(),
        "check-config made the key"
    );

    server_cmd(&["init", "--db", &db]);
    let out = check(&format!("db = \"{db}\"\n"), "en");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"]["exists"], true, "{v}");
    assert_eq!(v["schema"]["version"], v["schema"]["supported"], "{v}");
    assert!(v["office_key"]["fingerprint"].is_string(), "{v}");
    assert_eq!(v["warnings"].as_array().unwrap().len(), 0, "{v}");

    for (text, key) in [
        (format!("db = \"{db}\"\nlisen = \"0.0.0.0:1\"\n"), "lisen"),
        (format!("db = \"{db}\"\ntls_cert = \"/x.pem\"\n"), "tls_key"),
        ("listen = \"127.0.0.1:8443\"\n".to_string(), "db"),
        (format!("db = \"{db}\"\nmax_body = \"big\"\n"), "max_body"),
        (
            format!("db = \"{db}\"\ndb_file = \"/etc/booth/db-url\"\n"),
            "db_file",
        ),
    ] {
        for lang in ["en", "zh-CN"] {
            let out = check(&text, lang);
            assert!(!out.status.success(), "{text} passed");
            let err = stderr(&out);
            assert!(err.contains(key), "{lang} {text}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}

/// A database URL with its password in `db_file`: the server and check-config use it, and
/// check-config never prints the password.
#[test]
fn a_password_in_db_file_is_never_printed() {
    let Some(base) = common::tools::postgres_url() else {
        return;
    };
    let url = fresh_pg_database(&base);
    // the test cluster trusts loopback: a password in the URL is sent and not needed
    let url = url.replacen('@', ":not-a-real-pw-71@", 1);
    assert!(
        url.contains("not-a-real-pw-71"),
        "BOOTH_TEST_PG_URL has no user@"
    );
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("db-url");
    write(&url_file, &url);
    let key = dir.path().join("office-key.pem");
    let out = booth_server(
        &[
            "check-config",
            "--db-file",
            url_file.to_str().unwrap(),
            "--office-key",
            key.to_str().unwrap(),
        ],
        &[],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains("not-a-real-pw-71"), "{all}");
    assert!(all.contains(":***@"), "{all}");
}

/// Under systemd's `Type=notify`: READY=1 once the server listens, WATCHDOG=1 at half the
/// period the unit sets, STOPPING=1 on SIGTERM; read from a notify socket of the test's own,
/// as systemd's.
#[cfg(unix)]
#[test]
fn readiness_and_watchdog_reach_systemd() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let db = format!("sqlite:{}", dir.path().join("office.db").display());
    let server = Running::start(booth_server(
        &[
            "run",
            "--db",
            &db,
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "off",
        ],
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "200000"),
        ],
    ));
    let mut buf = [0u8; 512];
    let mut next = || {
        let n = socket.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).trim().to_string()
    };
    assert_eq!(next(), "READY=1");
    // the server answers once it said so
    assert_eq!(server.get("listening", "/v1/health").0, 200);
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(next(), "WATCHDOG=1");
    }
    // five pings at 100 ms each
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");
    let mut rest = Vec::new();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    while let Ok(n) = socket.recv(&mut buf) {
        rest.push(String::from_utf8_lossy(&buf[..n]).trim().to_string());
    }
    assert!(rest.iter().any(|m| m == "STOPPING=1"), "{rest:?}");
}

/// The server for `db` on loopback, with `/metrics` on a port of its own.
fn with_metrics(db: &str) -> Running {
    let args = [
        "run",
        "--db",
        db,
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
    ];
    let mut cmd = booth_server(&args, &[]);
    office_key_env(&mut cmd, &args);
    Running::start(cmd)
}

/// One sample's value, by metric name and labels (all given labels must match).
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    found[0]
}

/// `GET /metrics` on its own listener, in the Prometheus text format as a real parser reads
/// it: uploads and records by outcome, the batch latency histogram, logins and failed logins,
/// sessions, connections, the body budget, the database pool and build info, each counted as
/// what was done says (both databases). The upload port does not answer it.
#[test]
fn metrics_count_what_the_server_did() {
    for tdb in test_dbs() {
        let db = tdb.url.as_str();
        eprintln!("backend: {}", tdb.label);
        let out = common::console::add_user(db, "admin", "admin", common::console::ADMIN_PASS);
        assert!(out.status.success(), "{}", stderr(&out));
        let token = add_device(db, "lap-a");
        let server = with_metrics(db);
        let base = format!("http://{}", server.addr("listening"));
        let client = http_client();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let body =
            serde_json::to_vec(&batch((1..=3).map(|i| batch_item(i, day)).collect())).unwrap();
        // stored, stored again (already there), and one refused (no signature)
        for key in [Some(test_key()), Some(test_key()), None] {
            let (status, v) = post_signed(
                &client,
                &base,
                &token,
                body.clone(),
                "application/json",
                key.as_ref(),
            )
            .unwrap();
            assert_eq!(status == 200, key.is_some(), "{status} {v}");
        }
        let mut web = common::console::Web::new(&base);
        assert_eq!(web.login("admin", "wrong-password-1").status, 401);
        assert_eq!(
            web.login("admin", common::console::ADMIN_PASS).status,
            303,
            "login"
        );

        let (status, text) = server.get("metrics", "/metrics");
        assert_eq!(status, 200, "{text}");
        let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
            .expect("Prometheus text format");
        for s in &scrape.samples {
            assert!(s.metric.starts_with("booth_"), "{}", s.metric);
        }
        for (name, kind) in &scrape.docs {
            assert!(!kind.is_empty(), "{name} has no HELP");
        }
        let stored = [("route", "/v1/batches"), ("outcome", "stored")];
        assert_eq!(sample(&scrape, "booth_uploads_total", &stored), 2.0);
        let refused: f64 = scrape
            .samples
            .iter()
            .filter(|s| {
                s.metric == "booth_uploads_total" && s.labels.get("outcome") != Some("stored")
            })
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) => v,
                _ => 0.0,
            })
            .sum();
        assert_eq!(refused, 1.0, "{text}");
        assert_eq!(
            sample(&scrape, "booth_records_total", &[("outcome", "accepted")]),
            3.0
        );
        assert_eq!(
            sample(
                &scrape,
                "booth_records_total",
                &[("outcome", "already_there")]
            ),
            3.0
        );
        // the histogram: every upload observed, in seconds
        let hist = scrape
            .samples
            .iter()
            .find(|s| s.metric == "booth_upload_duration_seconds")
            .expect("booth_upload_duration_seconds");
        match &hist.value {
            prometheus_parse::Value::Histogram(buckets) => {
                let total = buckets.iter().map(|b| b.count).fold(0.0, f64::max);
                assert_eq!(total, 3.0, "{buckets:?}");
            }
            other => panic!("not a histogram: {other:?}"),
        }
        assert_eq!(
            sample(
                &scrape,
                "booth_console_logins_total",
                &[("outcome", "failed")]
            ),
            1.0
        );
        assert_eq!(
            sample(&scrape, "booth_console_logins_total", &[("outcome", "ok")]),
            1.0
        );
        assert_eq!(sample(&scrape, "booth_console_sessions", &[]), 1.0);
        assert!(sample(&scrape, "booth_connections_total", &[]) >= 1.0);
        assert!(sample(&scrape, "booth_connections_max", &[]) >= 16.0);
        let budget = sample(&scrape, "booth_body_budget_bytes", &[]);
        assert!(budget >= 16.0 * 1024.0 * 1024.0, "{budget}");
        assert_eq!(sample(&scrape, "booth_body_budget_free_bytes", &[]), budget);
        let max = sample(&scrape, "booth_db_pool_max_connections", &[]);
        assert_eq!(max, if tdb.label == "sqlite" { 1.0 } else { 16.0 });
        assert_eq!(sample(&scrape, "booth_db_up", &[]), 1.0);
        let info = [("version", env!("CARGO_PKG_VERSION")), ("db", tdb.label)];
        assert_eq!(sample(&scrape, "booth_build_info", &info), 1.0);
        assert!(
            text.contains(
                "booth_http_requests_total{method=\"POST\",route=\"/v1/batches\",status=\"200\"} 2"
            ),
            "{text}"
        );

        // the upload port does not answer /metrics
        assert_eq!(server.get("listening", "/metrics").0, 404);
    }
}

/// A `metrics_listen` that cannot be bound stops the server, naming the address; the default
/// one, taken by another server on the machine, only warns.
#[test]
fn a_metrics_address_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("office.db").display());
    let out = booth_server(
        &[
            "run",
            "--db",
            &db,
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            &addr,
        ],
        &[],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&addr), "{}", stderr(&out));

    let server = Running::start(booth_server(
        &["run", "--db", &db, "--listen", "127.0.0.1:0"],
        &[],
    ));
    assert_eq!(server.get("listening", "/v1/health").0, 200);
    // (whether 127.0.0.1:9464 was free here or not, the server runs)
    drop(server);
}

/// The records of `n` people (from `first`) in batches of `per`, uploaded by lap-a's token.
fn upload_people(base: &str, token: &str, first: u32, n: u32, per: u32) {
    let client = http_client();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
    let mut i = first;
    while i < first + n {
        let items = (i..(i + per).min(first + n))
            .map(|k| batch_item(k, day))
            .collect();
        let body = serde_json::to_vec(&batch(items)).unwrap();
        let (status, v) = post(&client, base, token, body, "application/json").unwrap();
        assert_eq!(status, 200, "{v}");
        i += per;
    }
}

fn bundle_version(base: &str) -> u64 {
    let r = http_client()
        .get(format!("{base}/v1/bundle"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    let body = data_encoding::BASE64URL_NOPAD
        .decode(v["body"].as_str().unwrap().as_bytes())
        .unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    body["version"]
        .as_u64()
        .unwrap_or_else(|| panic!("no version: {body}"))
}

/// `server backup` while the server takes uploads: the copy is one consistent moment (whole
/// batches only), 0600, never over a file; `server restore` makes a new database with the
/// backup's records and figures, refuses another office's key and an existing target, raises
/// the bundle version past any issued (a voided card's version included) and says that
/// later revocations must be made again; the restored office serves the same laptop.
#[test]
fn a_backup_taken_while_uploading_restores_to_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("office.db").display());
    let token = add_device(&db, "lap-a");
    let server = with_metrics(&db);
    let base = format!("http://{}", server.addr("listening"));
    upload_people(&base, &token, 1, 10, 5);
    let version_before = bundle_version(&base);

    // uploads go on (5 records a batch) while the backup is taken
    let uploading = {
        let (base, token) = (base.clone(), token.clone());
        std::thread::spawn(move || upload_people(&base, &token, 100, 100, 5))
    };
    std::thread::sleep(Duration::from_millis(50));
    let backup = dir.path().join("backup.db");
    let (out, v) = server_cmd(&["backup", "--out", backup.to_str().unwrap(), "--db", &db]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["office_key_in_backup"], false);
    assert!(v["office_key_fingerprint"].is_string(), "{v}");
    uploading.join().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
    // never over an existing file
    let (out, _) = server_cmd(&["backup", "--out", backup.to_str().unwrap(), "--db", &db]);
    assert!(!out.status.success());
    // never by a booth of another schema (it would upgrade the database under the server)
    {
        let conn = rusqlite::Connection::open(dir.path().join("office.db")).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        conn.pragma_update(None, "user_version", v + 1).unwrap();
        let other = dir.path().join("other.db");
        let (out, _) = server_cmd(&["backup", "--out", other.to_str().unwrap(), "--db", &db]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("schema"), "{}", stderr(&out));
        assert!(!other.exists());
        conn.pragma_update(None, "user_version", v).unwrap();
    }

    // another office's key: refused, nothing made
    let other_dir = tempfile::tempdir().unwrap();
    let other_db = format!("sqlite:{}", other_dir.path().join("office.db").display());
    server_cmd(&["init", "--db", &other_db]);
    let restored_path = dir.path().join("restored.db");
    let restored = format!("sqlite:{}", restored_path.display());
    let other_key = other_dir.path().join("office-key.pem");
    let (out, _) = server_cmd(&[
        "restore",
        backup.to_str().unwrap(),
        "--db",
        &restored,
        "--office-key",
        other_key.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("office_key_mismatch"),
        "{}",
        stderr(&out)
    );
    assert!(
        !restored_path.exists(),
        "a refused restore made the database"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("restoring"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // the office's own key (beside the database): restored
    let started_ms = chrono::Utc::now().timestamp_millis() as u64;
    let mut cmd = booth_server(
        &["restore", backup.to_str().unwrap(), "--db", &restored],
        &[("BOOTH_LANG", "en")],
    );
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.contains("void and revoke them again"), "{said}");
    assert!(said.contains("office key is not in the backup"), "{said}");
    // once only: the target exists now
    let (out, _) = server_cmd(&["restore", backup.to_str().unwrap(), "--db", &restored]);
    assert!(!out.status.success());

    // whole batches only: the backup is one moment of the database
    let members = members_on_server(&restored);
    assert!(
        members >= 10 && members.is_multiple_of(5),
        "{members} members restored"
    );
    assert!(members <= 110);
    drop(server);
    let server = with_metrics(&restored);
    let base = format!("http://{}", server.addr("listening"));
    let version_after = bundle_version(&base);
    assert!(
        version_after > version_before,
        "{version_after} <= {version_before}"
    );
    assert!(
        version_after >= started_ms,
        "{version_after} < {started_ms}"
    );
    // the figures of the moment copied: the first ten people are there, the same laptop
    // uploads on (its records already there), and a new one is taken
    let stats = server_stats(&restored);
    assert_eq!(stats["members"].as_u64(), Some(members), "{stats}");
    let client = http_client();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
    let body = serde_json::to_vec(&batch(vec![batch_item(1, day), batch_item(500, day)])).unwrap();
    let (status, v) = post(&client, &base, &token, body, "application/json").unwrap();
    assert_eq!(status, 200, "{v}");
    assert_eq!(members_on_server(&restored), members + 1, "{v}");
    // the backup (every member's data) in the office's audit log, the restore in the new one's
    let actions = |db: &str| -> Vec<String> {
        let (out, audit) = server_cmd(&["audit", "--db", db]);
        assert!(out.status.success());
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["action"].as_str().map(String::from))
            .collect()
    };
    assert!(actions(&db).contains(&"backup.made".to_string()));
    assert!(actions(&restored).contains(&"backup.restore".to_string()));
}

/// PostgreSQL: `pg_dump` of an office database, `pg_restore` into a new database, `booth
/// server restore --db` (no file) to check the key and raise the bundle version; the new
/// database serves the same figures and laptop.
#[test]
fn a_postgres_dump_restores_into_a_new_database_and_serves() {
    let Some(base_url) = common::tools::postgres_url() else {
        return;
    };
    let (Some(pg_dump), Some(pg_restore)) = (
        common::tools::tool("pg_dump", "postgresql-client"),
        common::tools::tool("pg_restore", "postgresql-client"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("office-key.pem");
    let key_s = key.to_str().unwrap();
    let key_env = [("BOOTH_OFFICE_KEY", key_s)];
    let old = fresh_pg_database(&base_url);
    let run = |args: &[&str]| {
        let out = booth_server(args, &key_env).arg("--json").output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let token = run(&["add-device", "lap-a", "--db", &old])["token"]
        .as_str()
        .unwrap()
        .to_string();
    let server = Running::start(booth_server(
        &[
            "run",
            "--db",
            &old,
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "off",
        ],
        &key_env,
    ));
    let base = format!("http://{}", server.addr("listening"));
    upload_people(&base, &token, 1, 12, 4);
    let version_before = bundle_version(&base);
    let stats_before = run(&["stats", "--db", &old]);

    let dump = dir.path().join("office.dump");
    let out = Command::new(&pg_dump)
        .args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(&old)
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_dump: {}", stderr(&out));
    drop(server);
    let new = fresh_pg_database(&base_url);
    let out = Command::new(&pg_restore)
        .args(["--no-owner", "--exit-on-error", "--dbname", &new])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_restore: {}", stderr(&out));
    let done = run(&["restore", "--db", &new]);
    assert_eq!(
        done["bundle_version_in_backup"].as_u64(),
        Some(version_before)
    );
    let after = done["bundle_version"].as_u64().unwrap();
    assert!(after > version_before);

    let server = Running::start(booth_server(
        &[
            "run",
            "--db",
            &new,
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "off",
        ],
        &key_env,
    ));
    let base = format!("http://{}", server.addr("listening"));
    assert_eq!(bundle_version(&base), after);
    let stats_after = run(&["stats", "--db", &new]);
    assert_eq!(stats_after["members"], stats_before["members"]);
    assert_eq!(stats_after["registered"], stats_before["registered"]);
    assert_eq!(stats_after["by_day"], stats_before["by_day"]);
    // the same laptop goes on uploading to the restored office
    upload_people(&base, &token, 13, 2, 2);
    assert_eq!(
        run(&["stats", "--db", &new])["members"].as_u64(),
        Some(stats_before["members"].as_u64().unwrap() + 2)
    );
}
