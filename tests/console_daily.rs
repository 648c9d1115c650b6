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
            refused.body.contains("只限管理员"),
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
                && e["fields"]["q"] == "document"
                && e["fields"]["document"]
                    .as_str()
                    .unwrap()
                    .starts_with("110*")),
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

/// The rows of `body` (a page) holding member `no`.
fn row_of<'a>(body: &'a str, no: &booth::card::MemberNo) -> &'a str {
    let at = body
        .find(&format!("data-member=\"{}\"", no.as_str()))
        .unwrap_or_else(|| panic!("{} not listed", no.grouped()));
    let rest = &body[at..];
    &rest[..rest.find("</tr>").unwrap()]
}

#[test]
fn a_revocation_is_seen_in_the_list_the_member_page_and_every_export_in_one_word() {
    for tdb in test_dbs() {
        let (server, token) = seeded(&tdb.url, 4);
        let no = |i| booth::card::MemberNo::new(&test_key_id(), i).unwrap();
        // 1: revoked on the command line; 2: in the console; 3: voided on the laptop
        let (out, _) = server_cmd(&[
            "void",
            no(1).as_str(),
            "--reason",
            "重复登记",
            "--db",
            &tdb.url,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut voids = batch(vec![]);
        voids["voids"] = serde_json::json!([no(3).as_str()]);
        let body = serde_json::to_vec(&voids).unwrap();
        let (status, v) = post(
            &http_client(),
            &server.url(),
            &token,
            body,
            "application/json",
        )
        .unwrap();
        assert_eq!(status, 200, "{}: {v}", tdb.label);

        let mut web = Web::new(&server.url());
        web.login("admin", ADMIN_PASS);
        let path = format!("/members/{}", no(2).as_str());
        let page = web.get(&path);
        assert!(
            page.body.contains("id=\"revoke\""),
            "an admin's revoke form"
        );
        let a = web.post_csrf(&format!("{path}/revoke"), &[("confirm", "yes")]);
        assert!(
            a.body.contains("撤销原因"),
            "{}: a reason is needed",
            tdb.label
        );
        let a = web.post_csrf(&format!("{path}/revoke"), &[("reason", "卡片遗失")]);
        assert!(
            a.body.contains("请勾选确认"),
            "{}: the tick is needed",
            tdb.label
        );
        let status = a.body.split("id=\"status\"").nth(1).unwrap();
        assert!(
            status[..status.find("</dd>").unwrap()].contains("有效"),
            "{}: not revoked yet",
            tdb.label
        );
        let a = web.post_csrf(
            &format!("{path}/revoke"),
            &[("reason", "卡片遗失"), ("confirm", "yes")],
        );
        assert_eq!(a.status, 200);
        let status = a.body.split("id=\"status\"").nth(1).unwrap();
        let status = &status[..status.find("</dd>").unwrap()];
        assert!(
            status.contains("已撤销") && status.contains("卡片遗失") && status.contains("admin"),
            "{}: {status}",
            tdb.label
        );
        assert!(
            status.contains("+08:00"),
            "{}: local time: {status}",
            tdb.label
        );
        assert!(!a.body.contains("id=\"revoke\""), "revoked once");

        // the list: each state in its word, all listed, each filter leaves the others out
        let list = web.get("/members");
        assert_eq!(
            rows_of(&list.body),
            4,
            "{}: revoked ones stay listed",
            tdb.label
        );
        assert!(row_of(&list.body, &no(1)).contains("已撤销"));
        assert!(row_of(&list.body, &no(1)).contains("重复登记"));
        assert!(row_of(&list.body, &no(2)).contains("已撤销"));
        assert!(
            row_of(&list.body, &no(3)).contains("已作废"),
            "{}",
            tdb.label
        );
        assert!(row_of(&list.body, &no(4)).contains("有效"));
        for (status, n) in [("revoked", 2), ("voided", 1), ("valid", 1)] {
            let page = web.get(&format!("/members?status={status}"));
            assert_eq!(rows_of(&page.body), n, "{}: {status}", tdb.label);
        }
        let english = {
            let mut en = Web::new(&server.url());
            en.login("admin", ADMIN_PASS);
            let _ = en.get("/lang/en?next=/members");
            en.cookie.clone()
        };
        assert!(english.is_some());

        // the console's exports: a state column and its reason, the number as printed
        let csv = web.get("/members/export?format=csv&x=");
        let line = csv
            .body
            .lines()
            .find(|l| l.contains(&no(1).grouped()))
            .expect("in the csv");
        assert!(
            line.contains("已撤销") && line.contains("重复登记"),
            "{line}"
        );
        let header = csv.body.lines().next().unwrap();
        assert!(header.contains("状态"), "{header}");
        let xlsx = web
            .client
            .get(format!("{}/members/export?x=", server.url()))
            .header(
                "cookie",
                format!("booth_session={}", web.cookie.clone().unwrap()),
            )
            .send()
            .unwrap();
        let name = xlsx.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(name.contains(".xlsx"), "xlsx the default: {name}");
        let today = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
        assert!(name.contains(&today.format("%Y%m%d").to_string()), "{name}");
        use calamine::Reader;
        let bytes = xlsx.bytes().unwrap();
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let sheet = book.sheet_names()[0].clone();
        let range = book.worksheet_range(&sheet).unwrap();
        let rows: Vec<Vec<String>> = range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        let voided = rows.iter().find(|r| r.contains(&no(3).grouped())).unwrap();
        assert!(voided.iter().any(|c| c == "已作废"), "{voided:?}");
        let valid = rows.iter().find(|r| r.contains(&no(4).grouped())).unwrap();
        assert!(valid.iter().any(|c| c == "有效"), "{valid:?}");

        // `server export`: the same words
        let dir = tempfile::tempdir().unwrap();
        let out_file = dir.path().join("all.csv");
        let (out, _) = server_cmd(&[
            "export",
            "--format",
            "csv",
            "--out",
            out_file.to_str().unwrap(),
            "--db",
            &tdb.url,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let all = std::fs::read_to_string(&out_file).unwrap();
        let line = all.lines().find(|l| l.contains(&no(2).grouped())).unwrap();
        assert!(
            line.contains("已撤销") && line.contains("卡片遗失"),
            "{line}"
        );

        // the audit: the revocation with its actor, every time with the office's offset
        let entries = audit_entries(&tdb.url);
        assert!(has_entry(&entries, "admin", "member.void"));
        assert!(
            entries
                .iter()
                .all(|e| e["at"].as_str().unwrap().ends_with("+08:00")),
            "{entries:?}"
        );
        let audit = web.get("/audit?action=member.void");
        assert!(audit.body.contains(&no(2).grouped()), "targets grouped");
        assert!(audit.body.contains("撤销会员卡"), "actions in words");
        assert!(audit.body.contains("+08:00"), "local times");
    }
}

#[test]
fn the_office_time_zone_is_set_once_and_read_by_every_command() {
    let tdb = sqlite_db();
    let (server, _) = seeded(&tdb.url, 1);
    let (out, _) = server_cmd(&["init", "--time-zone", "Mars/Olympus", "--db", &tdb.url]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--time-zone") && err.contains("Mars/Olympus"),
        "{err}"
    );
    let (out, v) = server_cmd(&["init", "--time-zone", "Asia/Urumqi", "--db", &tdb.url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(v["time_zone"], "Asia/Urumqi");
    let mut web = Web::new(&server.url());
    web.login("admin", ADMIN_PASS);
    let audit = web.get("/audit");
    assert!(audit.body.contains("+06:00"), "the console reads it");
    let entries = audit_entries(&tdb.url);
    assert!(
        entries
            .iter()
            .all(|e| e["at"].as_str().unwrap().ends_with("+06:00")),
        "{entries:?}"
    );
}

#[test]
fn devices_show_last_upload_what_was_received_and_silent_laptops() {
    for tdb in test_dbs() {
        let (server, _) = seeded(&tdb.url, 5);
        add_device(&tdb.url, "lap-b");
        let mut web = Web::new(&server.url());
        web.login("admin", ADMIN_PASS);
        let page = web.get("/devices");
        let row = |body: &str, name: &str| {
            let at = body.find(&format!("data-device=\"{name}\"")).unwrap();
            let rest = &body[at..];
            rest[..rest.find("</tr>").unwrap()].to_string()
        };
        let a = row(&page.body, "lap-a");
        assert!(a.contains("今天"), "{}: {a}", tdb.label);
        assert!(a.contains("+08:00"), "{a}");
        assert!(a.contains("data-records>5<"), "{}: {a}", tdb.label);
        let b = row(&page.body, "lap-b");
        assert!(b.contains("从未上传"), "{b}");
        assert!(!page.body.contains("id=\"silent\""), "none silent yet");
        // the setting: checked, then kept
        let a = web.post_csrf("/devices/silent-days", &[("days", "0")]);
        assert!(a.body.contains("1 到 365"), "{}", tdb.label);
        let a = web.post_csrf("/devices/silent-days", &[("days", "7")]);
        assert_eq!(a.status, 303);
        assert!(web.get("/devices").body.contains("value=\"7\""));
    }
    // a laptop added long ago that never uploaded is named
    let tdb = sqlite_db();
    let (server, _) = seeded(&tdb.url, 1);
    add_device(&tdb.url, "lap-b");
    let path = tdb.url.strip_prefix("sqlite:").unwrap();
    rusqlite::Connection::open(path)
        .unwrap()
        .execute(
            "UPDATE devices SET created_at = '2026-01-02T03:04:05.000Z' WHERE name = 'lap-b'",
            [],
        )
        .unwrap();
    let mut web = Web::new(&server.url());
    web.login("admin", ADMIN_PASS);
    let page = web.get("/devices");
    let warning = page.body.split("id=\"silent\"").nth(1).expect("a warning");
    let warning = &warning[..warning.find("</p>").unwrap()];
    assert!(
        warning.contains("lap-b") && !warning.contains("lap-a"),
        "{warning}"
    );
}

#[test]
fn the_dashboard_labels_every_day_shows_conversion_and_laptops_not_heard_from() {
    for tdb in test_dbs() {
        let (server, _) = seeded(&tdb.url, 3);
        add_device(&tdb.url, "lap-b");
        let mut web = Web::new(&server.url());
        web.login("zhangli", VIEWER_PASS);
        let page = web.get("/?from=2026-11-01&to=2026-11-07");
        assert_eq!(page.status, 200);
        for day in 1..=7 {
            assert!(
                page.body.contains(&format!(">11-0{day}<")),
                "{}: 11-0{day} labelled",
                tdb.label
            );
        }
        assert!(page.body.contains("data-rate=\"conversion\""));
        assert!(page.body.contains("现场入会"));
        let warning = page
            .body
            .split("id=\"not-uploaded\"")
            .nth(1)
            .expect("named");
        let warning = &warning[..warning.find("</p>").unwrap()];
        assert!(
            warning.contains("lap-b") && !warning.contains("lap-a"),
            "{warning}"
        );
    }
}
