//! Issue 21's attacks on the console's redirects and the office's audit trail, each against
//! the real binary and server on 127.0.0.1 (SQLite, and PostgreSQL when BOOTH_TEST_PG_URL is
//! set where the database matters): an open redirect through `next`, the search as an oracle
//! for masked phones, personal data written to the audit and the log, forged audit lines,
//! and the office's actions that left no entry.

mod common;

use common::console::*;
use common::net::*;

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
