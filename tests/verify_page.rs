//! The card verification page (`/v`, served by the real `booth server run` on 127.0.0.1) in
//! headless Chromium through WebDriver (chromedriver, Debian's `chromium-driver`): a genuine
//! code is valid, an altered one invalid, one voided at the office or on the laptop revoked —
//! with WebCrypto and with the forced pure-JS engine (`?engine=js`), which CI's Chromium
//! would otherwise never run. Where chromium or chromedriver is missing it fails under CI
//! (`CI=true`; `.ci/run` installs both) and skips elsewhere, saying so.

mod common;

use std::time::Duration;

use common::browser::*;
use common::net::*;
use common::*;
use fantoccini::Locator;

/// The fragment as the QR's URL form and the page want it: `%` → `%25`, space → `%20`.
fn fragment(code: &str) -> String {
    code.replace('%', "%25").replace(' ', "%20")
}

fn register(b: &Booth, n: u32) -> (String, String) {
    let (out, v) = b.register(&person_name(n), &valid_id(n), &phone(n));
    assert!(out.status.success(), "{}", stderr(&out));
    (
        v["member_no"].as_str().unwrap().to_string(),
        v["qr_payload"].as_str().unwrap().to_string(),
    )
}

#[test]
fn the_page_says_valid_invalid_and_revoked_with_both_engines() {
    let Some(chromium) = Chromium::find() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("office.db").display());
    let token = add_device(&db, "lap-a");
    let server = Server::start(&db);
    let url = server.url();

    let laptop = Booth::new();
    let (_, genuine) = register(&laptop, 1);
    let (office_voided_no, office_voided) = register(&laptop, 2);
    let (laptop_voided_no, laptop_voided) = register(&laptop, 3);
    let (out, _) = laptop.json(&["void", &laptop_voided_no, "--reason", "登记错了"]);
    assert!(out.status.success());
    let (out, v) = laptop.json(&["upload", "--server", &url, "--token", &token]);
    assert!(out.status.success(), "{v}");
    let (out, _) = server_cmd(&[
        "void",
        &office_voided_no,
        "--reason",
        "重复登记",
        "--db",
        &db,
    ]);
    assert!(out.status.success());
    let i = genuine.len() / 2;
    let swap = if &genuine[i..=i] == "A" { "B" } else { "A" };
    let altered = format!("{}{swap}{}", &genuine[..i], &genuine[i + 1..]);

    let cases = [
        ("genuine", genuine.as_str(), "valid"),
        ("altered", altered.as_str(), "invalid"),
        ("voided at the office", office_voided.as_str(), "revoked"),
        ("voided on the laptop", laptop_voided.as_str(), "revoked"),
    ];
    let (_driver, wd) = chromium.start_driver();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let seen = rt.block_on(async {
        let client = chromium.session(&wd, 390, 844).await;
        let mut seen = Vec::new();
        for engine in ["", "?engine=js"] {
            for (name, code, _) in &cases {
                // a fresh document each time: no earlier verdict to read by mistake
                client.goto("about:blank").await.unwrap();
                client
                    .goto(&format!("{url}/v{engine}#{}", fragment(code)))
                    .await
                    .unwrap();
                let verdict = client
                    .wait()
                    .at_most(Duration::from_secs(20))
                    .for_element(Locator::Css("#verdict[data-state=done]"))
                    .await
                    .unwrap_or_else(|e| panic!("{name} {engine}: no verdict: {e}"));
                let v = verdict.attr("data-verdict").await.unwrap();
                let body = client.find(Locator::Css("body")).await.unwrap();
                let used = body.attr("data-engine").await.unwrap();
                seen.push((name.to_string(), engine, v, used));
            }
        }
        client.close().await.unwrap();
        seen
    });
    for (engine, expected_engine) in [("", "webcrypto"), ("?engine=js", "js")] {
        for (name, _, expected) in &cases {
            let (_, _, v, used) = seen
                .iter()
                .find(|(n, e, _, _)| n == name && *e == engine)
                .unwrap();
            assert_eq!(v.as_deref(), Some(*expected), "{name} {engine}: {seen:?}");
            if engine == "?engine=js" {
                assert_eq!(used.as_deref(), Some(expected_engine), "{seen:?}");
            }
        }
    }
    drop(server);
}

/// A static web host for a published copy (`publish-verifier --out DIR`): `/v` is
/// `v/index.html`, any other path the file under the folder `root` holds now (switched by the
/// test: the host's bundle replaced by an older copy). Its URL.
fn static_host(root: std::sync::Arc<std::sync::Mutex<std::path::PathBuf>>) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let root = root.lock().unwrap().clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap_or_default();
                // the rest of the headers, unread otherwise
                let mut h = String::new();
                while reader.read_line(&mut h).is_ok_and(|n| n > 2) {
                    h.clear();
                }
                let path = line
                    .split(' ')
                    .nth(1)
                    .unwrap_or("/")
                    .split(['?', '#'])
                    .next()
                    .unwrap();
                let file = match path.trim_end_matches('/') {
                    "/v" | "/V" => root.join("v/index.html"),
                    p => root.join(p.trim_start_matches('/')),
                };
                let mut conn = conn;
                match std::fs::read(&file) {
                    Ok(bytes) if !path.contains("..") => {
                        let ctype = booth::server::page::content_type(&file.to_string_lossy());
                        let _ = write!(
                            conn,
                            "HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n",
                            bytes.len()
                        );
                        let _ = conn.write_all(&bytes);
                    }
                    _ => {
                        let _ = conn.write_all(
                            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        );
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// Issue 21 item 13: the page never takes a bundle older than the one it holds (a host
/// serving an old copy, a rollback that would bring revoked cards back): it keeps its own,
/// says so naming both versions, and with nothing it can open above that version it checks
/// nothing rather than trust the older one.
#[test]
fn the_page_never_takes_a_bundle_older_than_the_newest_it_has() {
    let Some(chromium) = Chromium::find() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("office.db").display());
    let token = add_device(&db, "lap-a");
    let server = Server::start(&db);
    let laptop = Booth::new();
    register(&laptop, 1);
    let (voided_no, voided) = register(&laptop, 2);
    let (out, v) = laptop.json(&["upload", "--server", &server.url(), "--token", &token]);
    assert!(out.status.success(), "{v}");
    let publish = |name: &str| {
        let out_dir = dir.path().join(name);
        let (out, v) = server_cmd(&[
            "publish-verifier",
            "--out",
            out_dir.to_str().unwrap(),
            "--db",
            &db,
        ]);
        assert!(out.status.success(), "{v}");
        (out_dir, v["bundle_version"].as_u64().unwrap())
    };
    let (old_dir, old_v) = publish("old");
    let (out, _) = server_cmd(&["void", &voided_no, "--reason", "重复登记", "--db", &db]);
    assert!(out.status.success());
    let (new_dir, new_v) = publish("new");
    assert!(old_v < new_v);
    let root = std::sync::Arc::new(std::sync::Mutex::new(new_dir));
    let site = static_host(root.clone());
    let page = format!("{site}/v#{}", fragment(&voided));

    let (_driver, wd) = chromium.start_driver();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = chromium.session(&wd, 390, 844).await;
        let status = |c: &fantoccini::Client| {
            let c = c.clone();
            async move {
                let el = c.find(Locator::Css("#bundle-status")).await.unwrap();
                (el.attr("data-bundle").await.unwrap().unwrap_or_default(), el.text().await.unwrap())
            }
        };
        let verdict = |c: &fantoccini::Client| {
            let c = c.clone();
            async move {
                c.wait()
                    .at_most(Duration::from_secs(20))
                    .for_element(Locator::Css("#verdict[data-state=done]"))
                    .await
                    .expect("a verdict")
                    .attr("data-verdict")
                    .await
                    .unwrap()
            }
        };
        c.goto(&page).await.unwrap();
        assert_eq!(verdict(&c).await.as_deref(), Some("revoked"));
        assert_eq!(status(&c).await.0, "fresh");

        // the host now serves the older copy, where that card is not revoked
        *root.lock().unwrap() = old_dir;
        c.goto("about:blank").await.unwrap();
        c.goto(&page).await.unwrap();
        assert_eq!(verdict(&c).await.as_deref(), Some("revoked"), "the older list not taken");
        let (state, text) = status(&c).await;
        assert_eq!(state, "kept", "{text}");
        assert!(
            text.contains(&format!("版本 {old_v}")) && text.contains(&format!("版本 {new_v}")),
            "both versions named: {text}"
        );

        // the kept list damaged: its version still holds, nothing is checked with the old one
        c.execute(
            "var k = JSON.parse(localStorage.getItem('booth-verifier-bundle'));
             var e = JSON.parse(k.envelope);
             e.signature = (e.signature[0] === 'A' ? 'B' : 'A') + e.signature.slice(1);
             k.envelope = JSON.stringify(e);
             localStorage.setItem('booth-verifier-bundle', JSON.stringify(k));",
            vec![],
        )
        .await
        .unwrap();
        c.goto("about:blank").await.unwrap();
        c.goto(&page).await.unwrap();
        let el = match c
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("#bundle-status[data-bundle=error]"))
            .await
        {
            Ok(el) => el,
            Err(e) => panic!("the page refuses the older list: {e}: {:?}", status(&c).await),
        };
        let text = el.text().await.unwrap();
        assert!(text.contains(&format!("版本 {old_v}")), "{text}");
        let code = c
            .execute_async(
                "var done = arguments[0]; window.boothReady.then(function () { done('ready'); }, function (e) { done(e.code); });",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(code, "bundle_older");
        c.close().await.unwrap();
    });
    drop(server);
}
