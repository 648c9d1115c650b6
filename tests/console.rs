//! The office console over HTTP against the real `booth server run` on 127.0.0.1, on SQLite
//! and (when `BOOTH_TEST_PG_URL` is set) PostgreSQL: sessions, cookies, CSRF, roles, the
//! audit log, masking, reveal, correction, erasure, devices, exports, throttled logins.

mod common;

use common::console::*;
use common::net::*;
use common::*;

#[test]
fn every_page_wants_a_session_and_says_so_safely() {
    for tdb in test_dbs() {
        let (server, _) = seeded(&tdb.url, 1);
        let mut web = Web::new(&server.url());
        for path in [
            "/",
            "/members",
            "/devices",
            "/audit",
            "/members/export?format=csv",
        ] {
            let a = web.get(path);
            assert_eq!(a.status, 303, "{} {path}", tdb.label);
            assert!(
                a.location.as_deref().unwrap().starts_with("/login"),
                "{} {path}: {:?}",
                tdb.label,
                a.location
            );
        }
        // a change without a session is refused outright
        let a = web.post("/devices", &[("name", "lap-x")]);
        assert_eq!(a.status, 401, "{}", tdb.label);
        // the login page is strict about what runs in it
        let a = web.get("/login");
        assert_eq!(a.status, 200);
        let csp = a.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(a.body.contains("name=\"username\"") && a.body.contains("name=\"password\""));
        assert!(a.body.contains("登录"), "Chinese by default");
        // a forged cookie opens nothing
        web.cookie = Some("forged".into());
        assert_eq!(web.get("/").status, 303);
    }
}

#[test]
fn a_viewer_finds_a_member_masked_and_the_view_is_audited() {
    for tdb in test_dbs() {
        let (server, _) = seeded(&tdb.url, 30);
        let mut web = Web::new(&server.url());
        let a = web.login("zhangli", VIEWER_PASS);
        assert_eq!(a.status, 303, "{}: {}", tdb.label, a.body);
        let cookie = a.headers["set-cookie"].to_str().unwrap().to_string();
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(flag), "{cookie}");
        }
        assert!(
            !cookie.contains("Secure"),
            "plain HTTP on loopback: {cookie}"
        );

        let dash = web.get("/");
        assert_eq!(dash.status, 200);
        for f in [
            "meetings",
            "consultations",
            "registered",
            "members",
            "enterprises",
        ] {
            assert!(
                dash.body.contains(&format!("data-figure=\"{f}\"")),
                "{f} missing"
            );
        }
        assert!(dash.body.contains("<svg"), "charts drawn on the server");

        // by name: person 7's whole name
        let name = person_name(7);
        let id = valid_id(7);
        let page = web.get(&format!(
            "/members?q={}",
            percent_encoding::utf8_percent_encode(&name, percent_encoding::NON_ALPHANUMERIC)
        ));
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains(&name),
            "{}: not found by name",
            tdb.label
        );
        assert!(!page.body.contains(&id), "full ID in the list");
        assert!(!page.body.contains(&phone(7)), "full phone in the list");
        // by surname: everyone named 黄, nobody else; a typed % or _ is no wildcard
        let enc = |q: &str| {
            percent_encoding::utf8_percent_encode(q, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let surname: String = name.chars().take(1).collect();
        let page = web.get(&format!("/members?q={}", enc(&surname)));
        for n in [7, 17, 27] {
            assert!(page.body.contains(&person_name(n)), "{}: {n}", tdb.label);
        }
        assert!(!page.body.contains(&person_name(8)), "{}", tdb.label);
        for q in ["%", "_", "黄%"] {
            let page = web.get(&format!("/members?q={}", enc(q)));
            assert_eq!(page.status, 200);
            assert!(!page.body.contains(&name), "{}: {q} matched", tdb.label);
        }
        assert!(
            page.body.contains(&format!("{}*", &id[..3])),
            "masked ID shown"
        );
        // by phone tail
        let tail = &phone(7)[7..];
        let page = web.get(&format!("/members?q={tail}"));
        assert!(
            page.body.contains(&name),
            "{}: not found by phone tail",
            tdb.label
        );
        // by member number, grouped
        let no = booth::card::MemberNo::new(&test_key_id(), 7).unwrap();
        let page = web.get(&format!("/members?q={}", no.grouped()));
        assert!(
            page.body.contains(&no.grouped()),
            "{}: not found by number",
            tdb.label
        );
        // the member's page, masked too
        let page = web.get(&format!("/members/{}", no.as_str()));
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(&id));
        assert!(
            !page.body.contains("id=\"reveal\""),
            "a viewer has no reveal button"
        );

        // a viewer cannot reveal, review, correct, erase, manage devices or read the audit log
        for (path, pairs) in [
            (format!("/members/{}/reveal", no.as_str()), vec![]),
            (
                format!("/members/{}/review", no.as_str()),
                vec![("status", "approved")],
            ),
            (
                format!("/members/{}/erase", no.as_str()),
                vec![("confirm", "yes")],
            ),
            ("/devices".to_string(), vec![("name", "lap-x")]),
            ("/devices/lap-a/revoke".to_string(), vec![]),
        ] {
            let a = web.post_csrf(&path, &pairs);
            assert_eq!(a.status, 403, "{}: viewer {path}", tdb.label);
            assert!(!a.body.contains(&id));
        }
        let audit = web.get("/audit");
        assert_eq!(audit.status, 403);
        // the refusal keeps the console's frame: the way on is one click
        assert!(audit.body.contains("href=\"/members\""), "{}", audit.body);
        assert!(audit.body.contains("id=\"logout\""));
        assert_eq!(web.get("/members/export?format=csv").status, 403);
        let devices = web.get("/devices");
        assert_eq!(devices.status, 200);
        assert!(devices.body.contains("lap-a"));
        assert!(
            !devices.body.contains("/revoke"),
            "no revoke button for a viewer"
        );

        let entries = audit_entries(&tdb.url);
        assert!(
            has_entry(&entries, "zhangli", "members.search"),
            "{entries:?}"
        );
        assert!(has_entry(&entries, "zhangli", "member.view"));
        assert!(!has_entry(&entries, "zhangli", "member.reveal"));
        // the audit log names no one: no typed name in a search's target
        assert!(
            !entries.iter().any(|e| e.to_string().contains(&name)),
            "a name in the audit log"
        );
        // whole name, surname, and the three that found no one
        let searches: Vec<&serde_json::Value> = entries
            .iter()
            .filter(|e| e["action"] == "members.search" && e["fields"]["q"] == "name_or_employer")
            .collect();
        let mut counts: Vec<u64> = searches
            .iter()
            .map(|e| e["count"].as_u64().unwrap())
            .collect();
        counts.sort();
        assert_eq!(counts, [0, 0, 0, 1, 3], "{}", tdb.label);
        // in the office's time, with its offset (SPEC §14)
        assert!(searches[0]["at"].as_str().unwrap().ends_with("+08:00"));
    }
}

#[test]
fn an_admin_reveals_reviews_corrects_and_erases_each_on_the_record() {
    for tdb in test_dbs() {
        let (server, _) = seeded(&tdb.url, 5);
        let mut web = Web::new(&server.url());
        assert_eq!(web.login("admin", ADMIN_PASS).status, 303);
        let no = booth::card::MemberNo::new(&test_key_id(), 3).unwrap();
        let id = valid_id(3);
        let path = format!("/members/{}", no.as_str());
        let page = web.get(&path);
        assert!(page.body.contains("id=\"reveal\""));
        assert!(!page.body.contains(&id));

        // without the token, or from another site, nothing happens
        let a = web.post(&format!("{path}/reveal"), &[]);
        assert_eq!(a.status, 403, "{}: CSRF-less reveal", tdb.label);
        assert!(!a.body.contains(&id));
        let a = web.post(&format!("{path}/reveal"), &[("csrf", "not-the-token")]);
        assert_eq!(a.status, 403);
        let token = web.csrf.clone().unwrap();
        let forged = web
            .client
            .post(format!("{}{path}/reveal", server.url()))
            .header(
                "cookie",
                format!("booth_session={}", web.cookie.clone().unwrap()),
            )
            .header("origin", "https://evil.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[("csrf", &token)]))
            .send()
            .unwrap();
        assert_eq!(forged.status().as_u16(), 403, "cross-origin POST");
        assert!(!has_entry(
            &audit_entries(&tdb.url),
            "admin",
            "member.reveal"
        ));

        let a = web.post_csrf(&format!("{path}/reveal"), &[]);
        assert_eq!(a.status, 200);
        assert!(a.body.contains(&id), "{}: the revealed ID", tdb.label);
        assert!(a.body.contains(&phone(3)));
        let entries = audit_entries(&tdb.url);
        let reveal = entries
            .iter()
            .find(|e| e["action"] == "member.reveal")
            .expect("reveal audited");
        assert_eq!(reveal["actor"], "admin");
        assert_eq!(reveal["target"], no.as_str());
        assert_eq!(reveal["count"], 1);

        // review state, shown in the list
        let a = web.post_csrf(
            &format!("{path}/review"),
            &[("status", "questioned"), ("comment", "电话打不通")],
        );
        assert_eq!(a.status, 303);
        let list = web.get("/members?review=questioned");
        assert!(list.body.contains(&no.grouped()));
        assert!(list.body.contains("有疑问"));
        assert_eq!(list.body.matches("data-member=").count(), 1);
        let pending = web.get("/members?review=pending");
        assert_eq!(pending.body.matches("data-member=").count(), 4);

        // a correction is checked with the booth's rules
        let a = web.post_csrf(&format!("{path}/correct"), &[("phone", "12345")]);
        assert_eq!(a.status, 200);
        assert!(a.body.contains("class=\"error\""), "bad phone refused");
        let a = web.post_csrf(
            &format!("{path}/correct"),
            &[("employer", "新单位物流公司")],
        );
        assert_eq!(a.status, 200);
        assert!(a.body.contains("新单位物流公司"), "{}", tdb.label);
        let found = web.get(&format!(
            "/members?q={}",
            percent_encoding::utf8_percent_encode("新单位", percent_encoding::NON_ALPHANUMERIC)
        ));
        assert!(
            found.body.contains(&no.grouped()),
            "found by the new employer"
        );

        // erasure: personal fields gone, number revoked, figures kept
        let before = members_on_server(&tdb.url);
        let a = web.post_csrf(&format!("{path}/erase"), &[]);
        assert!(a.body.contains("class=\"error\""), "erasure wants the tick");
        let a = web.post_csrf(&format!("{path}/erase"), &[("confirm", "yes")]);
        assert_eq!(a.status, 200);
        assert!(!a.body.contains(&person_name(3)));
        assert!(!a.body.contains("新单位物流公司"));
        assert_eq!(members_on_server(&tdb.url), before, "figures kept");
        let gone = web.get(&format!("/members?q={}", &phone(3)[7..]));
        assert!(
            !gone.body.contains(&no.grouped()),
            "an erased member is not listed"
        );
        let bundle: serde_json::Value = http_client()
            .get(format!("{}/v1/bundle", server.url()))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let body = data_encoding::BASE64URL_NOPAD
            .decode(bundle["body"].as_str().unwrap().as_bytes())
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(
            body["revoked"].to_string().contains(no.as_str()),
            "{}: the erased number is revoked in the bundle",
            tdb.label
        );
        let entries = audit_entries(&tdb.url);
        for action in ["member.review", "member.correct", "member.erase"] {
            assert!(has_entry(&entries, "admin", action), "{action} not audited");
        }
        let audit = web.get("/audit?action=member.erase");
        assert_eq!(audit.status, 200);
        assert!(audit.body.contains(&no.grouped()), "the target as printed");
    }
}

#[test]
fn devices_are_added_once_and_revoked_by_admins_with_audit() {
    for tdb in test_dbs() {
        let (server, _) = seeded(&tdb.url, 1);
        let mut web = Web::new(&server.url());
        web.login("admin", ADMIN_PASS);
        let page = web.get("/devices");
        assert!(page.body.contains("lap-a"));
        let a = web.post_csrf("/devices", &[("name", "lap-b")]);
        assert_eq!(a.status, 200);
        assert!(a.body.contains("id=\"token\""), "the token is shown once");
        let token = a
            .body
            .split("id=\"token\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_string();
        assert!(!web.get("/devices").body.contains(&token), "and only once");
        // the new token uploads
        let body = serde_json::to_vec(&batch(vec![batch_item(
            9,
            chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
        )]))
        .unwrap();
        let (status, v) = post(
            &http_client(),
            &server.url(),
            &token,
            body.clone(),
            "application/json",
        )
        .unwrap();
        assert_ne!(status, 401, "{}: the new token is valid: {v}", tdb.label);
        assert!(
            web.post_csrf("/devices", &[("name", "lap-b")])
                .body
                .contains("class=\"error\""),
            "a second lap-b is refused"
        );
        // irreversible: not without the confirmation
        let a = web.post_csrf("/devices/lap-b/revoke", &[]);
        assert_eq!(a.status, 200);
        assert!(a.body.contains("class=\"error\""), "{}", tdb.label);
        let a = web.post_csrf("/devices/lap-b/revoke", &[("confirm", "yes")]);
        assert_eq!(a.status, 303);
        let (status, _) = post(
            &http_client(),
            &server.url(),
            &token,
            body,
            "application/json",
        )
        .unwrap();
        assert_eq!(status, 401, "a revoked token is refused");
        let entries = audit_entries(&tdb.url);
        assert!(has_entry(&entries, "admin", "device.add"));
        assert!(has_entry(&entries, "admin", "device.revoke"));
        // by the OS user who ran the command (`cli:<user>`)
        assert!(
            entries
                .iter()
                .any(|e| e["action"] == "user.add"
                    && e["actor"].as_str().unwrap().starts_with("cli:"))
        );
    }
}

#[test]
fn failed_logins_are_slowed_and_logout_ends_the_session() {
    for tdb in test_dbs() {
        let (server, _) = seeded(&tdb.url, 1);
        let mut web = Web::new(&server.url());
        for _ in 0..5 {
            let a = web.login("zhangli", "wrong-password!");
            assert_eq!(a.status, 401, "{}", tdb.label);
            assert!(a.body.contains("用户名或密码不正确"));
        }
        // the next try is locked, even with the right password
        let a = web.login("zhangli", VIEWER_PASS);
        assert_eq!(a.status, 429, "{}", tdb.label);
        assert!(a.headers.contains_key("retry-after"));
        // another user from the same address is not locked out by zhangli's count
        let mut other = Web::new(&server.url());
        assert_eq!(other.login("admin", ADMIN_PASS).status, 303);
        // an unknown name is refused like a wrong password
        let a = Web::new(&server.url()).login("nobody", "whatever-pass");
        assert_eq!(a.status, 401);

        // logout needs the token too, then the cookie is dead
        assert_eq!(other.post("/logout", &[]).status, 403);
        let cookie = other.cookie.clone();
        let a = other.post_csrf("/logout", &[]);
        assert_eq!(a.status, 303);
        other.cookie = cookie;
        assert_eq!(other.get("/").status, 303, "the old cookie opens nothing");
    }
}

#[test]
fn removing_a_user_ends_their_sessions_and_english_is_selectable() {
    for tdb in test_dbs() {
        let (server, _) = seeded(&tdb.url, 1);
        let mut web = Web::new(&server.url());
        web.login("zhangli", VIEWER_PASS);
        let a = web
            .client
            .get(format!("{}/members", server.url()))
            .header(
                "cookie",
                format!(
                    "booth_session={}; booth_lang=en",
                    web.cookie.clone().unwrap()
                ),
            )
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(
            a.contains("Members") && a.contains("lang=\"en\""),
            "English page"
        );
        let a = web.get("/lang/en?next=/members");
        assert_eq!(a.location.as_deref(), Some("/members"));
        assert!(
            a.headers["set-cookie"]
                .to_str()
                .unwrap()
                .starts_with("booth_lang=en")
        );
        let a = web.get("/lang/en?next=//evil.example/");
        assert_eq!(a.location.as_deref(), Some("/"), "no open redirect");

        let (out, _) = server_cmd(&["remove-user", "zhangli", "--db", &tdb.url]);
        assert!(out.status.success());
        assert_eq!(web.get("/").status, 303, "{}: session ended", tdb.label);
        let (out, v) = server_cmd(&["remove-user", "zhangli", "--db", &tdb.url]);
        assert!(!out.status.success());
        assert_eq!(v["error"], "no_such_user", "{v}");
        let out = add_user(&tdb.url, "bad name", "viewer", VIEWER_PASS);
        assert!(!out.status.success());
        let out = add_user(&tdb.url, "short", "viewer", "short");
        assert!(!out.status.success(), "a short password is refused");
        let out = add_user(&tdb.url, "admin", "admin", ADMIN_PASS);
        assert!(!out.status.success(), "the same name twice");
        assert!(
            audit_entries(&tdb.url)
                .iter()
                .any(|e| e["action"] == "user.remove"
                    && e["actor"].as_str().unwrap().starts_with("cli:"))
        );
    }
}

#[test]
fn an_idle_session_expires() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("office.db");
    let db = format!("sqlite:{}", file.display());
    let (server, _) = seeded(&db, 1);
    let mut web = Web::new(&server.url());
    web.login("zhangli", VIEWER_PASS);
    assert_eq!(web.get("/").status, 200);
    // forty minutes pass without a request
    let conn = rusqlite::Connection::open(&file).unwrap();
    conn.execute(
        "UPDATE console_sessions SET seen_at = seen_at - 2400, created_at = created_at - 2400",
        [],
    )
    .unwrap();
    let a = web.get("/");
    assert_eq!(a.status, 303);
    let n: i64 = conn
        .query_row("SELECT count(*) FROM console_sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0, "the expired session left the table");
}

#[test]
fn exports_stream_the_filtered_view_and_are_audited() {
    for tdb in test_dbs() {
        let (server, _) = seeded(&tdb.url, 2_300);
        let mut web = Web::new(&server.url());
        web.login("admin", ADMIN_PASS);
        let csv = web.get("/members/export?format=csv&x=");
        assert_eq!(csv.status, 200, "{}", tdb.label);
        assert!(
            csv.headers["content-disposition"]
                .to_str()
                .unwrap()
                .contains(".csv")
        );
        assert_eq!(csv.body.lines().count(), 2_301, "header and every member");
        assert!(
            csv.body.contains(&valid_id(1234)),
            "the export is the full record"
        );
        let day = web.get("/members/export?format=csv&from=2026-11-02&to=2026-11-02");
        // people i with i % 3 == 1 were registered on 2026-11-02
        let expected = (1..=2_300u32).filter(|i| i % 3 == 1).count();
        assert_eq!(day.body.lines().count(), expected + 1, "{}", tdb.label);

        let xlsx = web
            .client
            .get(format!("{}/members/export?format=xlsx&x=", server.url()))
            .header(
                "cookie",
                format!("booth_session={}", web.cookie.clone().unwrap()),
            )
            .send()
            .unwrap()
            .bytes()
            .unwrap();
        use calamine::Reader;
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx.to_vec())).unwrap();
        let sheet = book.sheet_names()[0].clone();
        let range = book.worksheet_range(&sheet).unwrap();
        assert_eq!(range.height(), 2_301);

        let entries = audit_entries(&tdb.url);
        let counts: Vec<i64> = entries
            .iter()
            .filter(|e| e["action"] == "export")
            .map(|e| e["count"].as_i64().unwrap())
            .collect();
        assert!(
            counts.contains(&2_300) && counts.contains(&(expected as i64)),
            "{counts:?}"
        );
        assert_eq!(web.get("/members/export?format=pdf").status, 400);
    }
}
