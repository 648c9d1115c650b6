//! Issue 21's attacks on the console's redirects and the office's audit trail, each against
//! the real binary and server on 127.0.0.1 (SQLite, and PostgreSQL when BOOTH_TEST_PG_URL is
//! set where the database matters): an open redirect through `next`, the search as an oracle
//! for masked phones, personal data written to the audit and the log, forged audit lines,
//! and the office's actions that left no entry.

mod common;

use common::console::*;
use common::net::*;
use common::{phone, valid_id};

/// Item 8: `next` sends a browser only to a page the console serves. Browsers strip a tab
/// or newline from a URL and read a backslash as a slash: `/<tab>/evil.example/` is
/// `//evil.example/`, another site.
#[test]
fn a_redirect_never_leaves_the_console() {
    let db = sqlite_db();
    let (server, _) = seeded(&db.url, 0);
    let mut w = Web::new(&server.url());
    // as the query string arrives (the attack's own encoding)
    for next in [
        "/%09/evil.example/",
        "/%0A/evil.example/",
        "/%0D%0A/evil.example/",
        "%2F%09%2Fevil.example%2F",
        "/%5Cevil.example",
        "/%5C%5Cevil.example",
        "//evil.example",
        "%2F%2Fevil.example",
        "https://evil.example/",
        "/%EF%BC%8Fevil.example",
        "/members/%09/evil.example",
    ] {
        let a = w.get(&format!("/lang/en?next={next}"));
        assert_eq!(a.status, 303, "{next}");
        assert_eq!(a.location.as_deref(), Some("/"), "/lang/en?next={next}");
        let a = w.get(&format!("/login?next={next}"));
        assert_eq!(a.status, 200, "{next}");
        assert!(
            !a.body.contains("evil.example"),
            "/login?next={next} keeps it in the form"
        );
    }
    // the login form's own field, with the right password
    for next in ["/\t/evil.example/", "/\\evil.example", "/\n/evil.example"] {
        let a = w.post(
            "/login",
            &[
                ("username", "admin"),
                ("password", ADMIN_PASS),
                ("next", next),
            ],
        );
        assert_eq!(a.status, 303, "{next:?}");
        assert_eq!(a.location.as_deref(), Some("/"), "login next={next:?}");
    }
    // the console's own pages are still come back to
    let a = w.get("/lang/en?next=%2Fmembers%3Fq%3D0123");
    assert_eq!(a.location.as_deref(), Some("/members?q=0123"));
    let a = w.post(
        "/login",
        &[
            ("username", "admin"),
            ("password", ADMIN_PASS),
            ("next", "/audit"),
        ],
    );
    assert_eq!(a.location.as_deref(), Some("/audit"));
}

/// `booth server audit --db DB` as a person reads it (no `--json`).
fn audit_text(db: &str) -> String {
    let mut cmd = std::process::Command::new(common::booth_bin());
    let args = ["server", "audit", "--db", db];
    office_key_env(&mut cmd, &args);
    let out = cmd
        .args(args)
        .env("BOOTH_LANG", "en")
        .output()
        .expect("run booth server audit");
    assert!(out.status.success(), "{}", common::stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Item 11: a filter value with a newline and `;` — typed by a viewer into the member list,
/// by an admin into an export — makes no line of its own in `booth server audit` and no
/// field of its own in `--json`: each entry's details are stored as fields and shown escaped.
#[test]
fn a_filter_value_cannot_forge_an_audit_line() {
    for db in test_dbs() {
        eprintln!("backend: {}", db.label);
        let (server, _) = seeded(&db.url, 3);
        let forged = "x\n  2026-11-05T09:00:00Z  admin  member.erase  K7M2QX00427  1\r\n;q=phone";
        let mut viewer = Web::new(&server.url());
        viewer.login("zhangli", VIEWER_PASS);
        let a = viewer.get(&format!("/members?union={}", enc(forged)));
        assert_eq!(a.status, 200);
        let mut admin = Web::new(&server.url());
        admin.login("admin", ADMIN_PASS);
        let place = "a;incomplete;format=xlsx";
        let a = admin.get(&format!("/members/export?format=csv&place={}", enc(place)));
        assert_eq!(a.status, 200);

        // the export's entry is written as its stream ends
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let entries = loop {
            let entries = audit_entries(&db.url);
            if has_entry(&entries, "admin", "export") {
                break entries;
            }
            assert!(std::time::Instant::now() < deadline, "no export entry");
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let text = audit_text(&db.url);
        // one line per entry below the heading, and none that begins like an entry of its own
        assert_eq!(text.lines().count(), entries.len() + 1, "{text}");
        assert!(
            !text
                .lines()
                .any(|l| l.trim_start().starts_with("2026-11-05T09:00:00Z")),
            "{}: a forged line:\n{text}",
            db.label
        );
        // --json is exact: the values as typed, in their own fields
        let search = entries
            .iter()
            .find(|e| e["action"] == "members.search")
            .expect("the search is audited");
        assert_eq!(search["actor"], "zhangli");
        assert_eq!(search["fields"]["union"], forged, "{search}");
        assert!(search["fields"].get("q").is_none(), "{search}");
        let export = entries
            .iter()
            .find(|e| e["action"] == "export")
            .expect("the export is audited");
        assert_eq!(export["fields"]["place"], place, "{export}");
        assert_eq!(export["fields"]["format"], "csv", "{export}");
        assert!(export["fields"].get("incomplete").is_none(), "{export}");
        // the console's own page shows the value in its row
        let page = admin.get("/audit");
        assert_eq!(page.status, 200);
        assert_eq!(
            page.body.matches("<tr data-action=").count(),
            page.body.matches("</tr>").count() - 1,
            "one row per entry"
        );
    }
}

fn member_no(n: u32) -> booth::card::MemberNo {
    booth::card::MemberNo::new(&test_key_id(), n).unwrap()
}

/// Item 9: the search is no oracle for masked phones. A viewer who sees `*******0001` tries
/// whole numbers ending so: refused with a message, nothing listed (the page and its htmx
/// partial), each try recorded. An admin's whole-number search works, is recorded with the
/// number masked, and stops after 20 in 10 minutes.
#[test]
fn a_search_by_a_whole_number_is_an_admins_limited_and_recorded() {
    for db in test_dbs() {
        eprintln!("backend: {}", db.label);
        let (server, _) = seeded(&db.url, 3);
        let shown = member_no(1).grouped();
        let mut viewer = Web::new(&server.url());
        viewer.login("zhangli", VIEWER_PASS);
        let a = viewer.get(&format!("/members?q={}", &phone(1)[7..]));
        assert!(a.body.contains(&shown), "the tail is everyone's search");
        assert!(a.body.contains("*******0001"));
        for q in [
            phone(1),
            format!("{}-{}-{}", &phone(1)[..3], &phone(1)[3..7], &phone(1)[7..]),
            valid_id(1),
        ] {
            let a = viewer.get(&format!("/members?q={}", enc(&q)));
            assert_eq!(a.status, 200, "{q}");
            assert!(
                a.body.contains("只限管理员"),
                "{}: {q}: no message",
                db.label
            );
            assert_eq!(a.body.matches("data-member=").count(), 0, "{q}: listed");
            let r = viewer
                .client
                .get(format!("{}/members?q={}", server.url(), enc(&q)))
                .header(
                    "cookie",
                    format!("booth_session={}", viewer.cookie.clone().unwrap()),
                )
                .header("hx-request", "true")
                .send()
                .unwrap()
                .text()
                .unwrap();
            assert!(
                r.contains("只限管理员") && !r.contains("data-member="),
                "htmx: {r}"
            );
        }

        let mut admin = Web::new(&server.url());
        admin.login("admin", ADMIN_PASS);
        let a = admin.get(&format!("/members?q={}", phone(1)));
        assert!(
            a.body.contains(&shown),
            "{}: an admin finds by phone",
            db.label
        );
        for n in 2..=20 {
            let a = admin.get(&format!("/members?q={}", phone(100 + n)));
            assert!(!a.body.contains("class=\"error\""), "search {n} refused");
        }
        let a = admin.get(&format!("/members?q={}", phone(1)));
        assert!(a.body.contains("上限"), "{}: the 21st is refused", db.label);
        assert_eq!(a.body.matches("data-member=").count(), 0);
        // nor through the list's export
        let a = admin.get(&format!("/members/export?format=csv&q={}", phone(1)));
        assert_eq!(a.status, 429, "{}: the export is limited too", db.label);
        assert!(!a.body.contains(&phone(1)));
        // the tail, a name: still free
        let a = admin.get(&format!("/members?q={}", &phone(1)[7..]));
        assert!(a.body.contains(&shown));

        let entries = audit_entries(&db.url);
        let of = |actor: &str, action: &str| {
            entries
                .iter()
                .filter(|e| e["actor"] == actor && e["action"] == action)
                .cloned()
                .collect::<Vec<_>>()
        };
        let made = of("admin", "members.search_number");
        assert_eq!(made.len(), 20, "{}", db.label);
        let first = made.last().unwrap();
        assert_eq!(first["fields"]["phone"], "*******0001", "{first}");
        assert_eq!(first["fields"]["q"], "phone");
        let refused = of("zhangli", "members.search_refused");
        assert_eq!(refused.len(), 6, "each try, page and partial");
        assert!(refused.iter().any(
            |e| e["fields"]["document"] == "110*************".to_string() + &valid_id(1)[16..]
        ));
        assert_eq!(of("admin", "members.search_refused").len(), 2);
        let all = serde_json::to_string(&entries).unwrap();
        assert!(!all.contains(&phone(1)) && !all.contains(&valid_id(1)));
    }
}

/// The log file PostgreSQL writes to, when it runs on this machine and can be read (its
/// stderr, which backends inherit); `None` elsewhere.
fn pg_server_log(url: &str) -> Option<std::path::PathBuf> {
    if !url.starts_with("postgres") {
        return None;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .ok()?;
        let task = tokio::spawn(conn);
        let pid: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .ok()?
            .get(0);
        let path = std::fs::read_link(format!("/proc/{pid}/fd/2")).ok();
        drop(client);
        let _ = task.await;
        path.filter(|p| p.is_file())
    })
}

/// Item 10: an admin's search for an ID number, a typed beginning of one, and a correction
/// to another member's ID number (a unique violation in the database) leave the ID number
/// in no audit entry, neither in `booth server audit` nor in the server's log — nor, on
/// PostgreSQL, in the database server's own log (a unique violation's DETAIL quotes the key).
#[test]
fn no_id_number_reaches_the_audit_or_a_log() {
    for db in test_dbs() {
        eprintln!("backend: {}", db.label);
        let pg_log = pg_server_log(&db.url).map(|p| {
            let len = std::fs::metadata(&p).map_or(0, |m| m.len());
            (p, len)
        });
        if db.label == "postgres" && pg_log.is_none() {
            eprintln!("the PostgreSQL server's log is not readable here: not checked");
        }
        let (server, _) = seeded(&db.url, 2);
        let id = valid_id(1);
        let mut admin = Web::new(&server.url());
        admin.login("admin", ADMIN_PASS);
        let a = admin.get(&format!("/members?q={id}"));
        assert_eq!(a.status, 200);
        let a = admin.get(&format!("/members?q={}", &id[..14]));
        assert_eq!(a.status, 200);
        let a = admin.get(&format!("/members?place={id}&union=%20{}", phone(1)));
        assert_eq!(a.status, 200);
        let other = format!("/members/{}", member_no(2).as_str());
        let a = admin.get(&other);
        assert_eq!(a.status, 200);
        let a = admin.post_csrf(&format!("{other}/correct"), &[("id_number", &id)]);
        assert_eq!(a.status, 200);
        assert!(
            a.body.contains("另一位会员已使用这个证件号码"),
            "{}: refused as taken",
            db.label
        );

        let entries = serde_json::to_string(&audit_entries(&db.url)).unwrap();
        let text = audit_text(&db.url);
        let log = server.log_text();
        assert!(!entries.contains(&phone(1)), "a phone typed into a filter");
        for (what, haystack) in [
            ("audit --json", &entries),
            ("audit", &text),
            ("server log", &log),
        ] {
            assert!(
                !haystack.contains(&id),
                "{}: the ID number in the {what}",
                db.label
            );
            assert!(
                !haystack.contains(&id[..14]),
                "{}: the typed beginning in the {what}",
                db.label
            );
        }
        if let Some((path, from)) = pg_log {
            let bytes = std::fs::read(&path).unwrap();
            let new = String::from_utf8_lossy(&bytes[(from as usize).min(bytes.len())..]);
            assert!(!new.contains(&id), "the PostgreSQL log: {new}");
        }
    }
}

/// Who runs the tests, as the system names them (`id -un`).
fn os_user() -> String {
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn ok(args: &[&str]) -> serde_json::Value {
    let (out, v) = server_cmd(args);
    assert!(out.status.success(), "{args:?}: {}", common::stderr(&out));
    v
}

/// Item 12: what the office does from the command line — export every member's record, void
/// a card, add and revoke a device, add and remove a user, announce a new office key — each
/// writes
/// an entry by `cli:<os user>`.
#[test]
fn every_command_line_change_is_on_the_record_with_its_os_user() {
    for db in test_dbs() {
        eprintln!("backend: {}", db.label);
        let (server, _) = seeded(&db.url, 3);
        drop(server);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("all.csv");
        let out = out.to_str().unwrap();
        ok(&["export", "--format", "csv", "--out", out, "--db", &db.url]);
        let no = member_no(2);
        ok(&[
            "void",
            no.as_str(),
            "--reason",
            "lost card",
            "--db",
            &db.url,
        ]);
        ok(&["add-device", "lap-z", "--db", &db.url]);
        ok(&["revoke-device", "lap-z", "--db", &db.url]);
        let added = add_user(&db.url, "wang", "viewer", VIEWER_PASS);
        assert!(added.status.success());
        ok(&["remove-user", "wang", "--db", &db.url]);
        let next = dir.path().join("next-office-key.pem");
        let v = ok(&[
            "rotate-key",
            "--next",
            next.to_str().unwrap(),
            "--db",
            &db.url,
        ]);
        let announced = v["announced"].as_str().unwrap().to_string();

        let actor = format!("cli:{}", os_user());
        let entries = audit_entries(&db.url);
        let find = |action: &str| {
            entries
                .iter()
                .find(|e| e["action"] == action)
                .unwrap_or_else(|| panic!("{}: no {action} entry: {entries:?}", db.label))
        };
        let export = find("export");
        assert_eq!(export["actor"], actor.as_str(), "{export}");
        assert_eq!(export["count"], 3, "{export}");
        assert_eq!(export["fields"]["format"], "csv");
        let void = find("member.void");
        assert_eq!(void["target"], no.as_str());
        assert_eq!(void["fields"]["already"], "false");
        for (action, target) in [
            ("device.add", "lap-z"),
            ("device.revoke", "lap-z"),
            ("user.add", "wang (viewer)"),
            ("user.remove", "wang"),
        ] {
            let e = find(action);
            assert_eq!(e["actor"], actor.as_str(), "{e}");
            assert_eq!(e["target"], target, "{e}");
        }
        let rotate = find("office_key.rotate");
        assert_eq!(rotate["actor"], actor.as_str(), "{rotate}");
        assert_eq!(rotate["target"], announced.as_str());
        assert_eq!(rotate["fields"]["step"], "announced");
        // the seeding's own admin users and device, from the command line too
        assert!(has_entry(&entries, &actor, "device.add"));
        assert!(
            entries.iter().all(|e| e["actor"] != "cli"),
            "no entry without its user"
        );
    }
}

/// Item 12: failed and locked logins, a viewer's try at an admin's change, an erase without
/// its confirmation and a correction the rules refuse each write an entry.
#[test]
fn refused_logins_and_admin_actions_are_on_the_record() {
    for db in test_dbs() {
        eprintln!("backend: {}", db.label);
        let (server, _) = seeded(&db.url, 2);
        let mut w = Web::new(&server.url());
        // a wrong password for a real user; a name no one has (a password typed there?)
        let a = w.post(
            "/login",
            &[("username", "admin"), ("password", "wrong-wrong-1")],
        );
        assert_eq!(a.status, 401);
        let a = w.post(
            "/login",
            &[("username", "Secret-Pass-99"), ("password", "x")],
        );
        assert_eq!(a.status, 401);
        // until the name is locked
        let mut locked = false;
        for _ in 0..8 {
            let a = w.post(
                "/login",
                &[("username", "admin"), ("password", "wrong-wrong-2")],
            );
            if a.status == 429 {
                locked = true;
                break;
            }
        }
        assert!(locked, "{}: never locked", db.label);
        // a flood of refused guesses is one entry a minute, not one each
        for _ in 0..5 {
            let a = w.post(
                "/login",
                &[("username", "admin"), ("password", "wrong-wrong-3")],
            );
            assert_eq!(a.status, 429, "{}", db.label);
        }

        let mut viewer = Web::new(&server.url());
        viewer.login("zhangli", VIEWER_PASS);
        let path = format!("/members/{}", member_no(1).as_str());
        viewer.get(&path);
        let a = viewer.post_csrf(&format!("{path}/erase"), &[("confirm", "yes")]);
        assert_eq!(a.status, 403);

        let mut admin2 = Web::new(&server.url());
        // the admin's own name is locked from this address: another admin logs in
        assert!(
            add_user(&db.url, "li", "admin", ADMIN_PASS)
                .status
                .success()
        );
        admin2.login("li", ADMIN_PASS);
        admin2.get(&path);
        let a = admin2.post_csrf(&format!("{path}/erase"), &[]);
        assert!(a.body.contains("class=\"error\""));
        let a = admin2.post_csrf(&format!("{path}/correct"), &[("phone", "12345")]);
        assert!(a.body.contains("class=\"error\""));
        // device changes the office refuses: a bad name, a name in service, no such device
        admin2.get("/devices");
        for name in ["lap a\n2026", "lap-a"] {
            let a = admin2.post_csrf("/devices", &[("name", name)]);
            assert!(a.body.contains("class=\"error\""), "{name:?}");
        }
        let a = admin2.post_csrf("/devices/lap-nobody/revoke", &[]);
        assert!(a.body.contains("class=\"error\""));

        let entries = audit_entries(&db.url);
        let of = |action: &str| -> Vec<&serde_json::Value> {
            entries.iter().filter(|e| e["action"] == action).collect()
        };
        let failed = of("login.failed");
        assert!(
            failed
                .iter()
                .any(|e| e["actor"] == "admin" && e["fields"]["address"] == "127.0.0.1"),
            "{}: {failed:?}",
            db.label
        );
        let unknown = failed
            .iter()
            .find(|e| e["actor"] == "-")
            .expect("the unknown name's failure");
        assert_eq!(unknown["fields"]["name"], "S*************", "{unknown}");
        assert!(
            !serde_json::to_string(&entries)
                .unwrap()
                .contains("Secret-Pass-99")
        );
        let locked = of("login.locked");
        assert_eq!(locked.len(), 1, "{}: {locked:?}", db.label);
        assert_eq!(locked[0]["actor"], "admin");
        let tried = of("change.refused");
        assert!(
            tried.iter().any(|e| e["actor"] == "zhangli"
                && e["target"] == format!("{path}/erase")
                && e["fields"]["why"] == "admin_only"),
            "{tried:?}"
        );
        let erase = of("member.erase.refused");
        assert_eq!(erase.len(), 1, "{erase:?}");
        assert_eq!(erase[0]["actor"], "li");
        assert_eq!(erase[0]["target"], member_no(1).as_str());
        assert_eq!(erase[0]["fields"]["why"], "no_confirmation");
        let correct = of("member.correct.refused");
        assert_eq!(correct.len(), 1, "{correct:?}");
        assert_eq!(correct[0]["fields"]["why"], "invalid");
        assert_eq!(correct[0]["fields"]["fields"], "phone");
        assert!(!has_entry(&entries, "li", "member.erase"));
        let whys = |action: &str| -> Vec<(String, String)> {
            of(action)
                .iter()
                .map(|e| {
                    let t = e["target"].as_str().unwrap().to_string();
                    (t, e["fields"]["why"].as_str().unwrap().to_string())
                })
                .collect()
        };
        let mut added = whys("device.add.refused");
        added.sort();
        assert_eq!(
            added,
            [
                ("lap a\n2026".to_string(), "bad_name".to_string()),
                ("lap-a".to_string(), "exists".to_string())
            ]
        );
        assert_eq!(
            whys("device.revoke.refused"),
            [("lap-nobody".to_string(), "no_such_device".to_string())]
        );
    }
}
