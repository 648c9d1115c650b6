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
