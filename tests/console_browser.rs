//! The office console in headless Chromium through WebDriver (Debian's `chromium-driver`),
//! against the real `booth server run` on 127.0.0.1: log in, read the figures, search a member
//! (no full ID anywhere in the page, the live search working under the CSP), a viewer who
//! cannot reveal or manage devices, an admin's audited reveal, a POST without its CSRF token
//! refused, logout. Where chromium or chromedriver is missing it fails under CI (`CI=true`)
//! and skips elsewhere, saying so.
//!
//! The screenshots in docs/console/ (every page in both languages at 1280×800 and 390×844) are
//! made by an ignored test, by hand:
//! `cargo test --test console_browser -- --ignored screenshots_of_every_page`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::browser::*;
use common::console::*;
use common::net::*;
use common::*;
use fantoccini::{Client, Locator};

/// Logs in from the console's home page, which sends a browser without a session to the
/// login form.
async fn login(c: &Client, url: &str, user: &str, password: &str) {
    c.goto(&format!("{url}/")).await.unwrap();
    // no session: the console sends us to the login form
    assert!(c.current_url().await.unwrap().path().starts_with("/login"));
    submit_login(c, user, password).await;
}

async fn click_then(c: &Client, click: &str, then: &str) {
    c.find(Locator::Css(click))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(then))
        .await
        .unwrap_or_else(|e| panic!("{then} after clicking {click}: {e}"));
}

/// Waits for `gone` to leave the page: the next page has loaded when what only the old one
/// had is no longer there (an element both pages have says nothing).
async fn wait_gone(c: &Client, gone: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !c.find_all(Locator::Css(gone)).await.unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "{gone} still there");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn the_console_in_a_browser() {
    let Some(chromium) = Chromium::find() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("office.db").display());
    let (server, _) = seeded(&db, 40);
    let url = server.url();
    let no = booth::card::MemberNo::new(&test_key_id(), 12).unwrap();
    let (name, id, phone12) = (person_name(12), valid_id(12), phone(12));
    let (_driver, wd) = chromium.start_driver();
    rt().block_on(async {
        let c = chromium.session(&wd, 1280, 800).await;

        // a viewer: figures, a search, a masked member, no reveal, no device management
        login(&c, &url, "zhangli", VIEWER_PASS).await;
        assert_eq!(c.current_url().await.unwrap().path(), "/");
        let mut figures = std::collections::BTreeMap::new();
        for e in c.find_all(Locator::Css("[data-figure]")).await.unwrap() {
            let key = e.attr("data-figure").await.unwrap().unwrap();
            let text = e.text().await.unwrap();
            let n: u64 = text
                .replace(',', "")
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("figure {key} is not a number: {text:?}"));
            figures.insert(key, n);
        }
        assert_eq!(
            figures.keys().cloned().collect::<Vec<_>>(),
            [
                "consultations",
                "enterprises",
                "meetings",
                "members",
                "registered"
            ]
        );

        // the live search (htmx, under the CSP): type a phone's last four digits
        c.goto(&format!("{url}/members")).await.unwrap();
        let q = c.find(Locator::Css("#q")).await.unwrap();
        q.send_keys(&phone12[7..]).await.unwrap();
        // the list narrows in place, without a page load
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let rows = c.find_all(Locator::Css("tr[data-member]")).await.unwrap();
            if rows.len() < 40 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the live search did not narrow the list"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            c.current_url()
                .await
                .unwrap()
                .query()
                .unwrap_or("")
                .contains(&phone12[7..]),
            "the search is in the address (a link to it works)"
        );
        let sel = format!("tr[data-member='{}']", no.as_str());
        let row = c
            .find(Locator::Css(&sel))
            .await
            .expect("the live search finds the member");
        let row_text = row.text().await.unwrap();
        assert!(row_text.contains(&name), "{row_text}");
        assert!(row_text.contains(&phone12[7..]));
        let src = c.source().await.unwrap();
        assert!(!src.contains(&id), "full ID in the member list");
        assert!(!src.contains(&phone12), "full phone in the member list");

        row.find(Locator::Css("a"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("dl.record"))
            .await
            .unwrap();
        let src = c.source().await.unwrap();
        assert!(src.contains(&name) && !src.contains(&id));
        assert!(
            c.find(Locator::Css("#reveal")).await.is_err(),
            "a viewer has no reveal button"
        );
        c.goto(&format!("{url}/devices")).await.unwrap();
        let src = c.source().await.unwrap();
        assert!(src.contains("lap-a"));
        assert!(
            c.find(Locator::Css("form[action='/devices']"))
                .await
                .is_err()
        );
        assert!(!src.contains("/revoke"), "a viewer cannot revoke");
        c.goto(&format!("{url}/audit")).await.unwrap();
        assert!(
            c.source().await.unwrap().contains("只有管理员"),
            "audit log is admins'"
        );
        c.goto(&format!("{url}/")).await.unwrap();
        logout(&c).await;
        c.goto(&format!("{url}/members")).await.unwrap();
        assert!(
            c.current_url().await.unwrap().path().starts_with("/login"),
            "after logout the console asks for a login"
        );

        // an admin: a reveal without its CSRF token is refused, with it the ID shows
        login(&c, &url, "admin", ADMIN_PASS).await;
        c.goto(&format!("{url}/members/{}", no.as_str()))
            .await
            .unwrap();
        c.execute(
            "document.querySelector('#reveal').form.querySelector('[name=csrf]').remove()",
            vec![],
        )
        .await
        .unwrap();
        click_then(&c, "#reveal", "p.error").await;
        let src = c.source().await.unwrap();
        assert!(
            src.contains("安全检查") && !src.contains(&id),
            "CSRF-less POST refused"
        );
        assert!(!has_entry(&audit_entries(&db), "admin", "member.reveal"));

        c.goto(&format!("{url}/members/{}", no.as_str()))
            .await
            .unwrap();
        click_then(&c, "#reveal", "dl.record").await;
        wait_gone(&c, "#reveal").await;
        let src = c.source().await.unwrap();
        assert!(src.contains(&id), "the admin sees the full ID");
        let entries = audit_entries(&db);
        assert!(
            entries.iter().any(|e| e["actor"] == "admin"
                && e["action"] == "member.reveal"
                && e["target"] == no.as_str()),
            "the reveal is audited"
        );
        assert!(has_entry(&entries, "zhangli", "members.search"));
        assert!(has_entry(&entries, "zhangli", "member.view"));
        // the admin reads it in the console too
        c.goto(&format!("{url}/audit?action=member.reveal"))
            .await
            .unwrap();
        assert!(c.source().await.unwrap().contains(&no.grouped()));
        logout(&c).await;
        c.close().await.unwrap();
    });
}

/// Every page, zh and en, desktop and phone, into docs/console/: a generator of the docs'
/// pictures, not a check (it asserts only that the pages load), so it runs only when asked:
/// `cargo test --test console_browser -- --ignored screenshots_of_every_page`.
#[test]
#[ignore = "writes docs/console/*.png; run by hand with --ignored"]
fn screenshots_of_every_page() {
    let chromium = Chromium::find().expect("chromium and chromedriver, to take screenshots");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/console");
    std::fs::create_dir_all(&out).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("office.db").display());
    let (server, token) = seeded(&db, 60);
    let url = server.url();
    // the booth days behind those members, so the dashboard shows a campaign's figures
    let mut days = batch(vec![]);
    days["days"] = serde_json::Value::Array(
        (1..=3)
            .flat_map(|d| {
                [("望京", 26, 20), ("亦庄", 14, 0)].map(|(place, consulted, signed)| {
                    serde_json::json!({
                        "date": format!("2026-11-0{d}"), "union": "朝阳区总工会", "place": place,
                        "operator": "李", "consultations": consulted + d,
                        "needs": {"legal_aid": 6 + d, "skills": 4, "rest_station": 3 - d},
                        "registrations": signed, "voids": 0
                    })
                })
            })
            .collect(),
    );
    let (status, v) = post(
        &http_client(),
        &url,
        &token,
        serde_json::to_vec(&days).unwrap(),
        "application/json",
    )
    .unwrap();
    assert_eq!(
        (status, &v["days_stored"]),
        (200, &serde_json::json!(6)),
        "{v}"
    );
    let no = booth::card::MemberNo::new(&test_key_id(), 12).unwrap();
    // a card revoked at the office and one a laptop never uploaded from, as a day shows them
    let (voided, _) = server_cmd(&[
        "void",
        booth::card::MemberNo::new(&test_key_id(), 59)
            .unwrap()
            .as_str(),
        "--reason",
        "重复登记",
        "--db",
        &db,
    ]);
    assert!(voided.status.success());
    add_device(&db, "lap-b");
    let (_driver, wd) = chromium.start_driver();
    rt().block_on(async {
        for (w, h, size) in [(1280, 800, "desktop"), (390, 844, "phone")] {
            let c = chromium.session(&wd, w, h).await;
            for lang in ["zh", "en"] {
                let shot = |name: &'static str| {
                    let c = c.clone();
                    let path = out.join(format!("{name}-{lang}-{size}.png"));
                    async move {
                        let png = c.screenshot().await.unwrap();
                        std::fs::write(&path, png).unwrap();
                    }
                };
                c.goto(&format!("{url}/lang/{lang}?next=/login"))
                    .await
                    .unwrap();
                shot("login").await;
                login(&c, &url, "admin", ADMIN_PASS).await;
                shot("dashboard").await;
                c.goto(&format!("{url}/members")).await.unwrap();
                shot("members").await;
                c.goto(&format!("{url}/members/{}", no.as_str()))
                    .await
                    .unwrap();
                shot("member").await;
                click_then(&c, "#reveal", "dl.record").await;
                wait_gone(&c, "#reveal").await;
                shot("member-revealed").await;
                c.goto(&format!("{url}/devices")).await.unwrap();
                shot("devices").await;
                c.goto(&format!("{url}/audit")).await.unwrap();
                shot("audit").await;
                logout(&c).await;
                // what a viewer sees where only admins may go
                login(&c, &url, "zhangli", VIEWER_PASS).await;
                c.goto(&format!("{url}/audit")).await.unwrap();
                shot("refused").await;
                logout(&c).await;
            }
            c.close().await.unwrap();
        }
    });
}
