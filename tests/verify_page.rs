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
