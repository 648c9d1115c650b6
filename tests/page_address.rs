//! Cards open the page (issue 23 item 10), on both databases: the office names its check
//! page's address once (`server init --verify-url`), enrolment codes and the bundle carry it,
//! and a laptop's QR codes then open the page without a `config set` — enrolled with the code,
//! or enrolled before and told by the next bundle. `server run --publish-dir DIR` keeps a
//! published copy of the page and bundle current after each revocation (made by any process),
//! and the console says when a published copy is older than the bundle.

mod common;

use std::time::{Duration, Instant};

use common::console::*;
use common::net::*;
use common::*;

const PAGE: &str = "https://verify.example.cn";

fn registered(b: &Booth, n: u32) -> String {
    let (out, v) = b.register(&person_name(n), &valid_id(n), &phone(n));
    assert!(out.status.success(), "{}", stderr(&out));
    v["member_no"].as_str().unwrap().to_string()
}

/// What the QR code on a member's slip holds (read back from the PNG).
fn slip_qr(b: &Booth, no: &str) -> String {
    let png = b.dir.path().join(format!("{no}.png"));
    let (out, _) = b.json(&["card", no, "--png", png.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let img = image::open(&png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

fn setting(b: &Booth, key: &str) -> String {
    let (out, v) = b.json(&["config", "get", key]);
    assert!(out.status.success(), "{}", stderr(&out));
    v["value"].as_str().unwrap_or_default().to_string()
}

#[test]
fn the_office_names_the_page_once_and_every_laptop_prints_codes_that_open_it() {
    for tdb in test_dbs() {
        let db = tdb.url.as_str();
        // enrolled before the office named its page: told by the next bundle
        let early_token = add_device(db, "lap-early");
        let (out, _) = server_cmd(&[
            "init",
            "--verify-url",
            "http://verify.example.cn/x",
            "--db",
            db,
        ]);
        assert!(
            !out.status.success(),
            "{}: a page address a QR cannot carry",
            tdb.label
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("https://"), "{err}");
        let (out, v) = server_cmd(&["init", "--verify-url", &format!("{PAGE}/"), "--db", db]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(v["verify_url"], PAGE, "{}", tdb.label);

        let (out, v) = server_cmd(&["add-device", "lap-new", "--db", db]);
        assert!(out.status.success());
        let code = v["enrolment_code"].as_str().unwrap();
        let e = booth::card::enrol::Enrolment::parse(code).unwrap();
        assert_eq!(e.verify_url.as_deref(), Some(PAGE), "{}", tdb.label);

        let server = Server::start(db);
        let url = server.url();

        // a laptop enrolled with the code: its cards open the page, no `config set`
        let new = Booth::new();
        let (out, _) = new.json(&["enroll", code, "--server", &url]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(setting(&new, "office_verify_url"), PAGE);
        assert_eq!(setting(&new, "verify_url"), "");
        let no = registered(&new, 1);
        let qr = slip_qr(&new, &no);
        assert!(
            qr.starts_with("HTTPS://VERIFY.EXAMPLE.CN/V#GH1:"),
            "{}: {qr}",
            tdb.label
        );

        // one enrolled before: plain codes until its upload brings the bundle that says it
        let early = Booth::new();
        let no = registered(&early, 2);
        assert!(slip_qr(&early, &no).starts_with("GH1:"));
        let (out, v) = early.json(&["upload", "--server", &url, "--token", &early_token]);
        assert!(out.status.success(), "{v}");
        assert_eq!(setting(&early, "office_verify_url"), PAGE, "{}", tdb.label);
        assert!(slip_qr(&early, &no).starts_with("HTTPS://VERIFY.EXAMPLE.CN/V#GH1:"));

        // the laptop's own setting still wins
        let (out, _) = early.json(&["config", "set", "verify_url", "https://gh.example.cn"]);
        assert!(out.status.success());
        assert!(slip_qr(&early, &no).starts_with("HTTPS://GH.EXAMPLE.CN/V#GH1:"));

        // the bundle as served says it, signed
        let text = http_client()
            .get(format!("{url}/v1/bundle"))
            .send()
            .unwrap()
            .text()
            .unwrap();
        let fp = booth::card::bundle::claimed_fingerprint(&text).unwrap();
        let b = booth::card::bundle::open(&text, &[fp]).unwrap();
        assert_eq!(b.verify_url.as_deref(), Some(PAGE));
    }
}

/// The bundle version in a published copy's `bundle.json`.
fn published_version(dir: &std::path::Path) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join("bundle.json")).ok()?;
    let fp = booth::card::bundle::claimed_fingerprint(&text)?;
    booth::card::bundle::open(&text, &[fp])
        .ok()
        .map(|b| b.version)
}

fn wait_published(dir: &std::path::Path, version: u64) -> Duration {
    let t0 = Instant::now();
    while published_version(dir) != Some(version) {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "published copy stays at {:?}, not {version}",
            published_version(dir)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    t0.elapsed()
}

#[test]
fn the_server_publishes_the_page_again_after_each_revocation() {
    for tdb in test_dbs() {
        let db = tdb.url.as_str();
        let site = tempfile::tempdir().unwrap();
        let token = add_device(db, "lap-a");
        let server = Server::start_with(db, &["--publish-dir", site.path().to_str().unwrap()]);
        let laptop = Booth::new();
        let first = registered(&laptop, 1);
        let second = registered(&laptop, 2);
        let (out, v) = laptop.json(&["upload", "--server", &server.url(), "--token", &token]);
        assert!(out.status.success(), "{v}");
        let now = bundle_version_of(&server);
        wait_published(site.path(), now);
        assert!(site.path().join("v/index.html").exists() && site.path().join("v-sw.js").exists());

        // revoked by another process (the CLI): the copy follows within seconds
        for no in [&first, &second] {
            let (out, _) = server_cmd(&["void", no, "--reason", "重复登记", "--db", db]);
            assert!(out.status.success());
        }
        let now = bundle_version_of(&server);
        let took = wait_published(site.path(), now);
        let text = std::fs::read_to_string(site.path().join("bundle.json")).unwrap();
        let fp = booth::card::bundle::claimed_fingerprint(&text).unwrap();
        let b = booth::card::bundle::open(&text, &[fp]).unwrap();
        for no in [&first, &second] {
            assert!(
                b.revoked.contains(&no.replace('-', "")),
                "{}: {no}",
                tdb.label
            );
        }
        eprintln!("{}: republished {took:?} after the void", tdb.label);
    }
}

/// The current bundle version as the server serves it.
fn bundle_version_of(server: &Server) -> u64 {
    let text = http_client()
        .get(format!("{}/v1/bundle", server.url()))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let fp = booth::card::bundle::claimed_fingerprint(&text).unwrap();
    booth::card::bundle::open(&text, &[fp]).unwrap().version
}

#[test]
fn the_console_warns_when_a_published_copy_is_older_than_the_bundle() {
    for tdb in test_dbs() {
        let db = tdb.url.as_str();
        let (server, _) = seeded(db, 3);
        let site = tempfile::tempdir().unwrap();
        let mut web = Web::new(&server.url());
        assert_eq!(web.login("admin", ADMIN_PASS).status, 303);
        assert!(
            !web.get("/devices").body.contains("published-stale"),
            "nothing published yet"
        );

        let publish = || {
            let (out, v) = server_cmd(&[
                "publish-verifier",
                "--out",
                site.path().to_str().unwrap(),
                "--db",
                db,
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            v["bundle_version"].as_u64().unwrap()
        };
        let published = publish();
        assert!(
            !web.get("/devices").body.contains("published-stale"),
            "{}",
            tdb.label
        );

        let no = booth::card::MemberNo::new(&test_key_id(), 2).unwrap();
        let (out, _) = server_cmd(&["void", no.as_str(), "--reason", "重复登记", "--db", db]);
        assert!(out.status.success());
        let page = web.get("/devices").body;
        assert!(
            page.contains("id=\"published-stale\""),
            "{}: {page}",
            tdb.label
        );
        let current = bundle_version_of(&server);
        assert!(
            page.contains(&format!("第 {published} 版"))
                && page.contains(&format!("第 {current} 版")),
            "{page}"
        );
        assert!(page.contains("publish-verifier") && page.contains("--publish-dir"));

        assert_eq!(publish(), current);
        assert!(
            !web.get("/devices").body.contains("published-stale"),
            "{}",
            tdb.label
        );
    }
}
