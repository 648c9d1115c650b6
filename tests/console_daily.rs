//! The office's daily work in the console (issue 23) over HTTP against the real `booth
//! server run` on 127.0.0.1, on SQLite and (with `BOOTH_TEST_PG_URL`) PostgreSQL: finding a
//! person by a whole ID number (posted, admins only, audited masked) and by part of an
//! employer's or union's name, result counts and sorting; card states (有效 / 已作废 /
//! 已撤销) in the list, on the member page and in exports, and an admin's revocation there;
//! the office's time zone on every time shown.

mod common;

use common::console::*;
use common::net::*;
use common::*;

fn enc(q: &str) -> String {
    percent_encoding::utf8_percent_encode(q, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Uploads people `from..from+n` working for `employer`, by device `lap-a`'s token.
fn upload_at(server: &Server, token: &str, from: u32, n: u32, employer: &str) {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 5).unwrap();
    let items: Vec<_> = (from..from + n)
        .map(|i| batch_item_at(i, &valid_id(i), day, employer))
        .collect();
    let body = serde_json::to_vec(&batch(items)).unwrap();
    let (status, v) = post(
        &http_client(),
        &server.url(),
        token,
        body,
        "application/json",
    )
    .unwrap();
    assert_eq!(status, 200, "{v}");
}

fn rows_of(body: &str) -> usize {
    body.matches("data-member=").count()
}

#[test]
fn anyone_is_found_by_whole_id_or_part_of_an_employer_never_with_the_id_in_a_url() {
    for tdb in test_dbs() {
        let (server, token) = seeded(&tdb.url, 6);
        upload_at(&server, &token, 101, 3, "北京顺丰速运有限公司");
        upload_at(&server, &token, 201, 2, "京东物流亦庄站");
        let mut web = Web::new(&server.url());
        assert_eq!(web.login("admin", ADMIN_PASS).status, 303);

        // by part of the employer's name: two characters, in the middle
        let page = web.get(&format!("/members?q={}", enc("顺丰")));
        assert_eq!(rows_of(&page.body), 3, "{}: 顺丰", tdb.label);
        assert!(page.body.contains("共 3 人"), "{}: the count", tdb.label);
        let page = web.get(&format!("/members?q={}", enc("亦庄")));
        assert_eq!(rows_of(&page.body), 2, "{}: 亦庄", tdb.label);
        // by part of the union's name
        let page = web.get(&format!("/members?q={}", enc("朝阳")));
        assert_eq!(rows_of(&page.body), 11, "{}: 朝阳 (the union)", tdb.label);
        // a typed % is itself, never a wildcard
        let page = web.get(&format!("/members?q={}", enc("顺%")));
        assert_eq!(rows_of(&page.body), 0, "{}", tdb.label);

        // by the whole ID number: posted from the box, found, shown masked
        let id = valid_id(102);
        let found = web.post_csrf("/members", &[("q", &id)]);
        assert_eq!(found.status, 200, "{}", tdb.label);
        let no = booth::card::MemberNo::new(&test_key_id(), 102).unwrap();
        assert!(found.body.contains(&no.grouped()), "{}: by ID", tdb.label);
        assert_eq!(rows_of(&found.body), 1, "{}", tdb.label);
        let results = found.body.split("id=\"results\"").nth(1).unwrap();
        assert!(!results.contains(&id), "the ID shown masked");
        assert!(
            !found.body.contains(&format!("q={id}")),
            "no link carries the ID"
        );
        // lower-case x, spaces: the same person
        let spaced = format!("{} {}", &id[..6], id[6..].to_lowercase());
        let found = web.post_csrf("/members", &[("q", &spaced)]);
        assert_eq!(rows_of(&found.body), 1, "{}: spaced", tdb.label);
        // the whole ID in a URL is not searched, and says where to type it
        let page = web.get(&format!("/members?q={id}"));
        assert_eq!(rows_of(&page.body), 0);
        assert!(page.body.contains("搜索框"), "{}", tdb.label);
        // an ordinary search posted goes on to its URL
        let a = web.post_csrf("/members", &[("q", "顺丰"), ("sort", "name")]);
        assert_eq!(a.status, 303);
        assert!(a.location.unwrap().starts_with("/members?q=%E9%A1%BA"));

        // a viewer may not search by a whole number: told so, nothing found
        let mut viewer = Web::new(&server.url());
        assert_eq!(viewer.login("zhangli", VIEWER_PASS).status, 303);
        let _ = viewer.get("/members");
        let refused = viewer.post_csrf("/members", &[("q", &id)]);
        assert_eq!(rows_of(&refused.body), 0, "{}", tdb.label);
        assert!(
            refused.body.contains("仅限管理员"),
            "{} {}: {}",
            tdb.label,
            refused.status,
            &refused.body[refused.body.len().saturating_sub(3000)..]
        );

        // the audit log holds the search, masked
        let entries = audit_entries(&tdb.url);
        let raw = serde_json::to_string(&entries).unwrap();
        assert!(
            !raw.contains(&id),
            "{}: the full ID in the audit",
            tdb.label
        );
        assert!(
            entries.iter().any(|e| e["action"] == "members.search"
                && e["target"].as_str().unwrap().contains("q=document:1101")),
            "{}: {raw}",
            tdb.label
        );

        // sorting by name: 陈… before 黄…, by the folded name
        let page = web.get(&format!("/members?q={}&sort=name", enc("朝阳")));
        let names: Vec<&str> = page
            .body
            .split("data-member=")
            .skip(1)
            .map(|r| r.split("<td>").nth(2).unwrap().split('<').next().unwrap())
            .collect();
        let mut sorted = names.clone();
        sorted.sort_by_key(|n| booth::server::batch::fold(n));
        assert_eq!(names, sorted, "{}", tdb.label);
    }
}

#[test]
fn an_erased_employer_leaves_the_names_an_infix_search_reads() {
    let tdb = sqlite_db();
    let (server, token) = seeded(&tdb.url, 1);
    upload_at(&server, &token, 301, 1, "独一无二豆腐坊");
    let mut web = Web::new(&server.url());
    web.login("admin", ADMIN_PASS);
    let page = web.get(&format!("/members?q={}", enc("豆腐")));
    assert_eq!(rows_of(&page.body), 1);
    let no = booth::card::MemberNo::new(&test_key_id(), 301).unwrap();
    let _ = web.get(&format!("/members/{}", no.as_str()));
    let a = web.post_csrf(
        &format!("/members/{}/erase", no.as_str()),
        &[("confirm", "yes")],
    );
    assert_eq!(a.status, 200);
    drop(server);
    // the figures keep the employer (enterprises are counted by name); the search's names not
    let path = tdb.url.strip_prefix("sqlite:").unwrap();
    let conn = rusqlite::Connection::open(path).unwrap();
    let held: i64 = conn
        .query_row(
            "SELECT count(*) FROM search_names WHERE name LIKE '%豆腐%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(held, 0, "the erased member's employer is still searchable");
    let kept: i64 = conn
        .query_row(
            "SELECT count(*) FROM search_names WHERE name = '某某快递有限公司'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 1, "an employer others hold stays");
}
