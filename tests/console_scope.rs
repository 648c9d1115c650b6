//! A node's users see their part of the union tree only (SPEC §11), on SQLite and PostgreSQL:
//! the tree root → C0 → {D1 → S11, D2 → S21}, a laptop in S11 and one in S21 with members
//! uploaded, a D1 admin and a D1 viewer. Every console route is asked as they would ask it,
//! and nothing of D2's (names, ID numbers, member numbers, laptops, employers, counts) is in
//! any answer; D2's member pages and actions, and its laptop's revocation, answer 404 as if
//! they did not exist. Each attack tried here stays closed as a test.

mod common;

use booth::card::{DeviceKey, MemberNo};
use common::console::*;
use common::net::*;
use common::*;

const D1_ADMIN: &str = "d1admin";
const D1_VIEWER: &str = "d1viewer";
const ROOT_ADMIN: &str = "chief";

/// D1's people (laptop `lap-s11`, key 1) and D2's (laptop `lap-s21`, key 2): distinct names,
/// the same surnames (a search by surname meets both), one employer's word in common (快递).
const D1_PEOPLE: [u32; 3] = [1, 2, 3];
const D2_PEOPLE: [u32; 3] = [101, 102, 103];
const D1_EMPLOYER: &str = "朝阳快递有限公司";
const D2_EMPLOYER: &str = "海淀快递有限公司";

fn day() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()
}

fn ok(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `booth server add-user NAME --role ROLE --union CODE`.
fn add_scoped_user(db: &str, name: &str, role: &str, code: &str, password: &str) {
    let mut cmd = std::process::Command::new(booth_bin());
    let args = [
        "server", "add-user", name, "--role", role, "--union", code, "--db", db, "--json",
    ];
    office_key_env(&mut cmd, &args);
    let out = cmd
        .args(args)
        .env("BOOTH_USER_PASSWORD", password)
        .env_remove("BOOTH_LANG")
        .output()
        .unwrap();
    ok(&out, name);
}

/// What D2 holds, as any page or file could show it.
struct D2 {
    words: Vec<String>,
    numbers: Vec<String>,
}

impl D2 {
    fn new(key: &DeviceKey) -> D2 {
        let mut words = vec![
            "lap-s21".to_string(),
            "lap-s21b".to_string(),
            key.key_id().to_string(),
            D2_EMPLOYER.to_string(),
            "D2区总工会".to_string(),
            "S21街道总工会".to_string(),
        ];
        let mut numbers = Vec::new();
        for n in D2_PEOPLE {
            let no = MemberNo::new(key.key_id(), n).unwrap();
            numbers.push(no.as_str().to_string());
            words.push(no.as_str().to_string());
            words.push(no.grouped());
            words.push(person_name(n));
            words.push(valid_id(n));
            words.push(phone(n));
        }
        D2 { words, numbers }
    }

    /// Nothing of D2's in `body` (`what`: the route, for the message).
    fn absent(&self, label: &str, what: &str, body: &str) {
        for w in &self.words {
            assert!(
                !body.contains(w.as_str()),
                "{label} {what}: {w:?} of D2 shown:\n{}",
                &body[..body.len().min(4000)]
            );
        }
    }
}

fn get_bytes(web: &Web, path: &str) -> (u16, Vec<u8>) {
    let r = web
        .client
        .get(format!("{}{path}", web.base))
        .header(
            "cookie",
            format!("booth_session={}", web.cookie.clone().unwrap()),
        )
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.bytes().unwrap().to_vec())
}

/// Every cell of an xlsx's sheets, as text.
fn xlsx_text(bytes: &[u8]) -> String {
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut out = String::new();
    for sheet in book.sheet_names() {
        let range = book.worksheet_range(&sheet).unwrap();
        for row in range.rows() {
            for cell in row {
                out.push_str(&cell.to_string());
                out.push('\t');
            }
            out.push('\n');
        }
    }
    out
}

/// The tree, two laptops with three members each, the root's admin and D1's admin and viewer;
/// the root's admin has looked at a D2 member (an audit entry D1 must not see).
fn office(db: &str) -> (Server, DeviceKey, DeviceKey) {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("unions.csv");
    std::fs::write(
        &list,
        "code,name,short,parent\nC0,C0市总工会,C0,\nD1,D1区总工会,D1,C0\nD2,D2区总工会,D2,C0\n\
         S11,S11街道总工会,S11,D1\nS21,S21街道总工会,S21,D2\n",
    )
    .unwrap();
    let (out, _) = server_cmd(&["unions", "import", list.to_str().unwrap(), "--db", db]);
    ok(&out, "unions import");
    let mut tokens = Vec::new();
    for (name, code) in [("lap-s11", "S11"), ("lap-s21", "S21"), ("lap-s21b", "S21")] {
        let (out, v) = server_cmd(&["add-device", name, "--union", code, "--db", db]);
        ok(&out, name);
        tokens.push(v["token"].as_str().unwrap().to_string());
    }
    // a revoked laptop of D2's: its name is not D1's to take (and its history with it)
    let (out, _) = server_cmd(&["revoke-device", "lap-s21b", "--db", db]);
    ok(&out, "revoke-device");
    add_scoped_user(db, ROOT_ADMIN, "admin", "root", ADMIN_PASS);
    add_scoped_user(db, D1_ADMIN, "admin", "D1", ADMIN_PASS);
    add_scoped_user(db, D1_VIEWER, "viewer", "D1", VIEWER_PASS);
    let server = Server::start(db);
    let client = http_client();
    let (k1, k2) = (laptop_key(1), laptop_key(2));
    for (key, token, people, employer) in [
        (&k1, &tokens[0], D1_PEOPLE, D1_EMPLOYER),
        (&k2, &tokens[1], D2_PEOPLE, D2_EMPLOYER),
    ] {
        let items = people
            .iter()
            .map(|n| batch_item_by_at(key, *n, day(), employer))
            .collect();
        let body = serde_json::to_vec(&batch_by(key, items)).unwrap();
        let (status, v) = post_signed(
            &client,
            &server.url(),
            token,
            body,
            "application/json",
            Some(key),
        )
        .unwrap();
        assert_eq!(status, 200, "{v}");
    }
    // the root's admin opens a D2 member: on the record under the root
    let mut root = Web::new(&server.url());
    assert_eq!(root.login(ROOT_ADMIN, ADMIN_PASS).status, 303);
    let no = MemberNo::new(k2.key_id(), D2_PEOPLE[0]).unwrap();
    let a = root.get(&format!("/members/{}", no.as_str()));
    assert_eq!(a.status, 200, "the root sees D2's members");
    (server, k1, k2)
}

#[test]
fn a_node_s_users_see_nothing_outside_their_part_of_the_tree() {
    for tdb in test_dbs() {
        let label = tdb.label;
        let (server, k1, k2) = office(&tdb.url);
        let d2 = D2::new(&k2);
        let d1_no = |n: u32| MemberNo::new(k1.key_id(), n).unwrap();
        let d2_nos = d2.numbers.clone();

        for (user, pass, admin) in [
            (D1_ADMIN, ADMIN_PASS, true),
            (D1_VIEWER, VIEWER_PASS, false),
        ] {
            let mut web = Web::new(&server.url());
            assert_eq!(web.login(user, pass).status, 303, "{label} {user}");
            let what = |w: &str| format!("{user} {w}");

            // the audit log, before this user typed anything of D2's: D1's own entries, none of
            // the root's look at D2
            let a = web.get("/audit");
            if admin {
                assert_eq!(a.status, 200);
                d2.absent(label, &what("/audit"), &a.body);
                assert!(a.body.contains(user), "{label}: D1's own logins");
            } else {
                assert_eq!(a.status, 403);
            }

            // the dashboard: figures, pick lists, charts
            let a = web.get("/");
            assert_eq!(a.status, 200);
            d2.absent(label, &what("/"), &a.body);

            // the list, whole and searched: D1's three, never D2's, counted as three
            for path in ["/members", "/members?q=", "/members?q=%E6%9D%8E"] {
                let a = web.get(path);
                assert_eq!(a.status, 200, "{label} {path}");
                d2.absent(label, &what(path), &a.body);
            }
            let a = web.get("/members");
            for n in D1_PEOPLE {
                assert!(
                    a.body.contains(&person_name(n)),
                    "{label}: D1's members listed"
                );
            }
            assert!(
                a.body.contains("共 3 人"),
                "{label} {user}: counted in scope"
            );
            // D2's laptop named as a filter: nothing (the name typed stands in its box)
            for path in [
                "/members?device=lap-s21",
                "/members?device=lap-s21&sort=name",
                "/?device=lap-s21",
            ] {
                let a = web.get(path);
                d2.absent(label, &what(path), &a.body.replace("lap-s21", ""));
                if path.starts_with("/members") {
                    assert!(a.body.contains("共 0 人"), "{label} {path}");
                }
            }
            // a surname both nodes share: D1's one only
            let a = web.get(&format!("/members?q={}", urlencode("李")));
            assert!(a.body.contains(&person_name(1)), "{label}");
            assert!(a.body.contains("共 1 人"), "{label} {user}");
            // an employer's part (infix) both nodes' employers hold
            let csrf = web.get("/members").status;
            assert_eq!(csrf, 200);
            let a = web.post_csrf("/members", &[("q", "快递")]);
            let a = match a.location.clone() {
                Some(to) => web.get(&to),
                None => a,
            };
            d2.absent(label, &what("q=快递"), &a.body);
            assert!(a.body.contains(D1_EMPLOYER), "{label}: {}", a.body);
            // D2's employer by its own beginning, a D2 member number, its beginning, a phone tail
            for q in [
                D2_EMPLOYER.to_string(),
                d2_nos[0].clone(),
                d2_nos[0][..7].to_string(),
                phone(D2_PEOPLE[0])[7..].to_string(),
            ] {
                let a = web.post_csrf("/members", &[("q", &q)]);
                let a = match a.location.clone() {
                    Some(to) => web.get(&to),
                    None => a,
                };
                // what was typed stands in the box: the rest says nothing of D2's
                d2.absent(label, &what(&format!("q={q}")), &a.body.replace(&q, ""));
                assert!(a.body.contains("共 0 人"), "{label} {user} q={q}");
                let a = web.get(&format!("/members?q={}", urlencode(&q)));
                d2.absent(label, &what(&format!("GET q={q}")), &a.body.replace(&q, ""));
                assert!(a.body.contains("共 0 人"), "{label} {user} GET q={q}");
            }
            if admin {
                // a whole ID number (the keyed person path) and a whole phone: D2's not found,
                // D1's found
                for q in [valid_id(D2_PEOPLE[1]), phone(D2_PEOPLE[1])] {
                    let a = web.post_csrf("/members", &[("q", &q)]);
                    assert_eq!(a.status, 200, "{label}");
                    d2.absent(label, &what("whole number"), &a.body.replace(&q, ""));
                    assert!(a.body.contains("共 0 人"), "{label}: {}", a.body);
                }
                let a = web.post_csrf("/members", &[("q", &valid_id(D1_PEOPLE[1]))]);
                assert!(a.body.contains("共 1 人"), "{label}: D1's found by its ID");
            }

            // a D2 member's page and every change on it: 404, as a member that does not exist
            for no in &d2_nos {
                let grouped = no.parse::<MemberNo>().unwrap().grouped();
                for spelled in [no.clone(), grouped, no.to_lowercase()] {
                    let a = web.get(&format!("/members/{spelled}"));
                    assert_eq!(a.status, 404, "{label} {user} /members/{spelled}");
                    d2.absent(label, &what("member page"), &a.body);
                }
            }
            let _ = web.get("/members");
            let target = &d2_nos[1];
            let changes: [(&str, Vec<(&str, &str)>); 5] = [
                ("reveal", vec![]),
                ("review", vec![("status", "approved"), ("comment", "x")]),
                ("correct", vec![("name", "改名")]),
                ("erase", vec![("confirm", "yes")]),
                ("revoke", vec![("reason", "测试"), ("confirm", "yes")]),
            ];
            for (change, form) in &changes {
                let a = web.post_csrf(&format!("/members/{target}/{change}"), form);
                // a viewer is refused the change before anything is looked up
                let expected = if admin { 404 } else { 403 };
                assert_eq!(a.status, expected, "{label} {user} {change}: {}", a.body);
                d2.absent(label, &what(change), &a.body);
            }
            // D1's own member: the page and a reveal work
            let mine = d1_no(D1_PEOPLE[0]);
            assert_eq!(web.get(&format!("/members/{}", mine.as_str())).status, 200);
            if admin {
                let a = web.post_csrf(&format!("/members/{}/reveal", mine.as_str()), &[]);
                assert_eq!(a.status, 200, "{label}");
                assert!(a.body.contains(&valid_id(D1_PEOPLE[0])));
            }

            // exports: csv and xlsx, whole and searched (admins only)
            for path in [
                "/members/export?format=csv&x=",
                "/members/export?format=csv&q=%E5%BF%AB%E9%80%92",
                "/members/export?format=xlsx&x=",
                "/members/export?format=csv&device=lap-s21",
            ] {
                let (status, bytes) = get_bytes(&web, path);
                if !admin {
                    assert_eq!(status, 403, "{label} {path}");
                    continue;
                }
                assert_eq!(status, 200, "{label} {path}");
                let text = if path.contains("xlsx") {
                    xlsx_text(&bytes)
                } else {
                    String::from_utf8(bytes).unwrap()
                };
                d2.absent(label, &what(path), &text);
                if !path.contains("device=") {
                    assert!(text.contains(&person_name(D1_PEOPLE[2])), "{label} {path}");
                }
            }

            // the devices page: D1's laptop with its node, none of D2's
            let a = web.get("/devices");
            assert_eq!(a.status, 200);
            d2.absent(label, &what("/devices"), &a.body);
            assert!(a.body.contains("lap-s11") && a.body.contains("S11街道总工会"));
            if admin {
                // the nodes offered for a new laptop: D1's subtree
                assert!(a.body.contains("value=\"S11\"") && a.body.contains("value=\"D1\""));
                assert!(!a.body.contains("value=\"C0\"") && !a.body.contains("value=\"root\""));
                // the office's own settings and files are not a node's
                assert!(!a.body.contains("/devices/silent-days"));
                assert!(!a.body.contains("/devices/backup"));
            }
        }

        // the device attacks of D1's admin
        let mut web = Web::new(&server.url());
        web.login(D1_ADMIN, ADMIN_PASS);
        let _ = web.get("/devices");
        for confirm in ["yes", ""] {
            let a = web.post_csrf("/devices/lap-s21/revoke", &[("confirm", confirm)]);
            assert_eq!(a.status, 404, "{label}: D2's laptop is not D1's to revoke");
            d2.absent(label, "revoke lap-s21", &a.body);
        }
        // a laptop under a node outside the subtree, or one that does not exist
        for code in ["D2", "S21", "C0", "root", "nowhere"] {
            let a = web.post_csrf("/devices", &[("name", "lap-new"), ("union", code)]);
            assert_eq!(a.status, 404, "{label}: a laptop under {code}");
            assert!(!a.body.contains("enrolment-code"), "{label} {code}");
        }
        // D2's revoked laptop's name: not taken, its history stays D2's
        let a = web.post_csrf("/devices", &[("name", "lap-s21b"), ("union", "S11")]);
        assert!(!a.body.contains("enrolment-code"), "{label}: {}", a.body);
        let a = web.post_csrf("/devices", &[("name", "lap-s21"), ("union", "S11")]);
        assert!(!a.body.contains("enrolment-code"), "{label}");
        // the office-wide setting and a laptop's backup: not there for a node's admin
        let a = web.post_csrf("/devices/silent-days", &[("days", "9")]);
        assert_eq!(a.status, 404, "{label}");
        let token = web.csrf.clone().unwrap();
        let body = format!(
            "--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n--b--\r\n"
        );
        let r = web
            .client
            .post(format!("{}/devices/backup", web.base))
            .header(
                "cookie",
                format!("booth_session={}", web.cookie.clone().unwrap()),
            )
            .header("origin", web.base.clone())
            .header("content-type", "multipart/form-data; boundary=b")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 404, "{label}: backup import");
        // a laptop under D1's own street: its enrolment code, its node shown
        let a = web.post_csrf("/devices", &[("name", "lap-s11b"), ("union", "S11")]);
        assert_eq!(a.status, 200, "{label}: {}", a.body);
        assert!(a.body.contains("enrolment-code"), "{label}");
        // nothing of D2's moved or changed: the root still sees it all, as it was
        let (out, v) = server_cmd(&["unions", "list", "--db", &tdb.url]);
        ok(&out, "unions list");
        assert_eq!(v["unions"].as_array().unwrap().len(), 6, "{v}");
        let mut root = Web::new(&server.url());
        root.login(ROOT_ADMIN, ADMIN_PASS);
        let a = root.get("/devices");
        for name in ["lap-s21", "lap-s21b", "lap-s11b"] {
            assert!(a.body.contains(name), "{label}: {name}");
        }
        let row = a
            .body
            .split("data-device=\"lap-s21b\"")
            .nth(1)
            .unwrap()
            .split("</tr>")
            .next()
            .unwrap();
        assert!(row.contains("S21"), "{label}: lap-s21b stays D2's: {row}");
        let a = root.get("/members");
        assert!(a.body.contains("共 6 人"), "{label}: the root counts all");
        for n in D2_PEOPLE {
            assert!(a.body.contains(&person_name(n)), "{label}: nothing erased");
        }
        let a = root.get(&format!("/members/{}", d2_nos[1]));
        assert!(
            a.body.contains(&person_name(D2_PEOPLE[1])),
            "{label}: not corrected"
        );
        assert!(!a.body.contains("改名"));
        assert!(a.body.contains("status valid"), "{label}: not revoked");
        // the D1 admin's export is on the record under D1, where D1 sees it
        let a = web.get("/audit?action=export");
        assert!(
            a.body.contains(D1_ADMIN),
            "{label}: D1's export in D1's log"
        );
    }
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
