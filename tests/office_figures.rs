//! The campaign's figures reach the office (SPEC §8): two laptops tally and register at two
//! places, upload to the real server on 127.0.0.1, and `booth server stats --json` gives the
//! sums. SQLite always, PostgreSQL when BOOTH_TEST_PG_URL is set.

mod common;

use booth::server::db::{Breakdown, Counts, Db, FigureFilter, Figures};
use common::net::*;
use common::*;
use serde_json::{Value, json};

const YIZHUANG: &str = "亦庄科创十四街";
const WANGJING: &str = "望京外卖骑手驿站";

fn ok(b: &Booth, args: &[&str]) -> Value {
    let (out, v) = b.json(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    v
}

fn sign_up(b: &Booth, n: u32, employer: &str, extra: &[&str]) -> String {
    let (id, ph) = (valid_id(n), phone(n));
    let mut args = vec![
        "register",
        "--name",
        "葛婷婷",
        "--id",
        &id,
        "--phone",
        &ph,
        "--employer",
        employer,
        "--consent",
    ];
    args.extend_from_slice(extra);
    ok(b, &args)["member_no"].as_str().unwrap().to_string()
}

fn upload(b: &Booth, url: &str, token: &str) -> Value {
    ok(b, &["upload", "--server", url, "--token", token])
}

/// The figures for `filter`, every breakdown, checked against themselves: the days, places
/// and laptops each add up to the totals (with dates only the totals come from the day
/// totals, the places and laptops from the aggregates), and the dashboard's lighter read
/// agrees with it.
fn figures(db: &str, filter: FigureFilter) -> Figures {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (all, dashboard) = rt.block_on(async {
        let db = Db::open(db).await.unwrap();
        (
            db.figures(&filter, Breakdown::All).await.unwrap(),
            db.figures(&filter, Breakdown::Dashboard).await.unwrap(),
        )
    });
    let total = |f: &Figures| (f.meetings, f.consultations, f.registered, f.members);
    let sum = |rows: Vec<&Counts>| {
        rows.iter().fold((0, 0, 0, 0), |s, c| {
            (
                s.0 + c.meetings,
                s.1 + c.consultations,
                s.2 + c.registered,
                s.3 + c.members,
            )
        })
    };
    assert_eq!(
        sum(all.by_day.iter().map(|(_, c)| c).collect()),
        total(&all)
    );
    assert_eq!(
        sum(all.by_place.iter().map(|(_, c)| c).collect()),
        total(&all)
    );
    assert_eq!(
        sum(all.by_device.iter().map(|(_, c)| c).collect()),
        total(&all)
    );
    let mut expected = all.clone();
    expected.by_union.clear();
    expected.by_device.clear();
    assert_eq!(dashboard, expected, "the dashboard's read differs");
    all
}

fn by_name<'a>(list: &'a Value, key: &str, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e[key] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

#[test]
fn two_laptops_at_two_places_give_the_office_the_sums() {
    for db in test_dbs() {
        eprintln!("backend: {}", db.label);
        let (ta, tb) = (add_device(&db.url, "lap-a"), add_device(&db.url, "lap-b"));
        let server = Server::start(&db.url);
        let url = server.url();
        let (a, b) = (Booth::new(), Booth::new());
        ok(&a, &["config", "set", "place", YIZHUANG]);
        ok(&b, &["config", "set", "place", WANGJING]);
        ok(&b, &["config", "set", "union", "朝阳区总工会"]);

        // A: 3 consulted (two named needs), 2 signed up, one more signed up then voided.
        ok(&a, &["consult", "--needs", "legal_aid,技能培训"]);
        ok(&a, &["consult", "--needs", "legal_aid"]);
        ok(&a, &["consult"]);
        sign_up(&a, 1, "京东物流", &["--employment-form", "courier"]);
        sign_up(&a, 2, "京东 物流", &["--employment-form", "labor_contract"]);
        let mistake = sign_up(&a, 3, "京东物流", &[]);
        ok(&a, &["void", &mistake, "--reason", "登记错了"]);
        // B: 4 consulted, 1 signed up, a staff list of 2 imported (members, not sign-ups).
        for _ in 0..4 {
            ok(&b, &["consult"]);
        }
        sign_up(
            &b,
            4,
            "美团外卖",
            &[
                "--employment-form",
                "food_delivery",
                "--employer-uscc",
                "91350100M000100Y43",
                "--needs",
                "rest_station",
            ],
        );
        let roster = b.dir.path().join("roster.csv");
        write_roster(&roster, 2, 100);
        ok(&b, &["import", roster.to_str().unwrap(), "--consent"]);
        // a need that is not on the list counts nobody
        let (out, v) = b.json(&["consult", "--needs", "午饭"]);
        assert!(!out.status.success());
        assert_eq!(v["error"], "invalid", "{v}");

        let up = upload(&a, &url, &ta);
        assert_eq!(up["days_reported"], 1, "{up}");
        assert_eq!(up["days_rejected"], 0, "{up}");
        upload(&b, &url, &tb);

        let s = server_stats(&db.url);
        let totals = |s: &Value| {
            [
                "meetings",
                "consultations",
                "registered",
                "members",
                "enterprises",
            ]
            .map(|k| s[k].as_u64().unwrap_or_else(|| panic!("no {k} in {s}")))
        };
        // members: 2 + 1 signed up, 2 imported; enterprises: 京东物流 (spaces folded),
        // 美团外卖 by its credit code, the roster's employer
        assert_eq!(totals(&s), [2, 7, 3, 5, 3], "{s:#}");
        let place_a = by_name(&s["by_place"], "name", YIZHUANG);
        assert_eq!(
            (
                &place_a["meetings"],
                &place_a["consultations"],
                &place_a["registered"],
                &place_a["members"]
            ),
            (&json!(1), &json!(3), &json!(2), &json!(2))
        );
        let place_b = by_name(&s["by_place"], "name", WANGJING);
        assert_eq!(place_b["consultations"], 4);
        assert_eq!(place_b["members"], 3);
        let dev_b = by_name(&s["by_device"], "device", "lap-b");
        assert_eq!(
            (&dev_b["registered"], &dev_b["members"]),
            (&json!(1), &json!(3))
        );
        // by node of the union tree (SPEC §11): both laptops are the office's own
        assert_eq!(by_name(&s["by_union"], "code", "root")["meetings"], 2);
        assert_eq!(s["by_day"].as_array().unwrap().len(), 1, "{s}");
        assert_eq!(s["by_day"][0]["meetings"], 2);
        assert_eq!(s["by_day"][0]["members"], 5);
        assert_eq!(by_name(&s["needs"], "code", "legal_aid")["count"], 2);
        assert_eq!(by_name(&s["needs"], "code", "skills")["count"], 1);
        assert_eq!(by_name(&s["needs"], "code", "rest_station")["count"], 1);
        assert_eq!(s["new_employment_forms"]["members"], 2, "{s}");
        assert_eq!(
            by_name(&s["employment_forms"], "code", "courier")["count"],
            1
        );
        assert_eq!(
            by_name(&s["employment_forms"], "code", "labor_contract")["count"],
            1
        );

        // Uploading again changes nothing; a later count replaces the earlier one.
        upload(&a, &url, &ta);
        upload(&b, &url, &tb);
        assert_eq!(totals(&server_stats(&db.url)), [2, 7, 3, 5, 3]);
        ok(&a, &["consult"]);
        ok(&b, &["consult", "--undo"]);
        upload(&a, &url, &ta);
        upload(&b, &url, &tb);
        assert_eq!(totals(&server_stats(&db.url)), [2, 7, 3, 5, 3]);
        let s = server_stats(&db.url);
        assert_eq!(
            by_name(&s["by_place"], "name", YIZHUANG)["consultations"],
            4
        );
        assert_eq!(
            by_name(&s["by_place"], "name", WANGJING)["consultations"],
            3
        );

        // The console's calls: one place, one device, a day range, the pick lists.
        let f = figures(
            &db.url,
            FigureFilter {
                place: Some(WANGJING.into()),
                ..Default::default()
            },
        );
        assert_eq!(
            (
                f.meetings,
                f.consultations,
                f.registered,
                f.members,
                f.enterprises
            ),
            (1, 3, 1, 3, 2)
        );
        let f = figures(
            &db.url,
            FigureFilter {
                device: Some("lap-a".into()),
                ..Default::default()
            },
        );
        assert_eq!((f.registered, f.members, f.enterprises), (2, 2, 1));
        assert_eq!(f.by_device.len(), 1);
        let today = chrono::Local::now().date_naive();
        let f = figures(
            &db.url,
            FigureFilter {
                from: today.succ_opt(),
                ..Default::default()
            },
        );
        assert_eq!((f.meetings, f.members, f.enterprises), (0, 0, 0));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (unions, places, devices) = rt.block_on(async {
            let db = Db::open(&db.url).await.unwrap();
            db.figure_dimensions(&Default::default()).await.unwrap()
        });
        assert!(unions.contains(&"朝阳区总工会".to_string()), "{unions:?}");
        let mut want = vec![WANGJING.to_string(), YIZHUANG.to_string()];
        want.sort();
        assert_eq!(places, want);
        assert_eq!(devices, ["lap-a", "lap-b"]);
    }
}

/// Day summaries are held to the laptop's rules at the office: a bad one is refused with a
/// reason, the rest of the request stands.
#[test]
fn day_summaries_are_checked_at_ingest() {
    for db in test_dbs() {
        eprintln!("backend: {}", db.label);
        let token = add_device(&db.url, "laptop-1");
        let server = Server::start(&db.url);
        let c = http_client();
        let today = chrono::Local::now().date_naive().to_string();
        let day = |place: &str, needs: Value| {
            json!({
                "date": today, "union": "工会", "place": place, "operator": "李",
                "consultations": 2, "needs": needs, "registrations": 1, "voids": 0
            })
        };
        let mut body = batch(vec![]);
        body["days"] = json!([
            day("望京", json!({"legal_aid": 2})),
            day("望京", json!({})),
            day("亦庄", json!({"lunch": 1})),
            day("通州", json!({"skills": 3})),
            day("", json!({})),
            day("昌平\u{202e}", json!({})),
            {
                "date": "2019-12-31", "union": "工会", "place": "房山", "operator": "李",
                "consultations": 1, "registrations": 0, "voids": 0
            },
            {
                "date": today, "union": "工会", "place": "顺义", "operator": "李",
                "consultations": 100_001, "registrations": 0, "voids": 0
            },
        ]);
        let (status, v) = post(
            &c,
            &server.url(),
            &token,
            serde_json::to_vec(&body).unwrap(),
            "application/json",
        )
        .unwrap();
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["days_stored"], 1, "{v}");
        let codes: Vec<&str> = v["days_rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["errors"][0]["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            [
                "duplicate_day",
                "unknown_need",
                "more_needs_than_consultations",
                "required",
                codes[4],
                "bad_date",
                "too_large"
            ],
            "{v}"
        );
        assert_ne!(codes[4], "duplicate_day");
        let s = server_stats(&db.url);
        assert_eq!(s["consultations"], 2, "{s}");
        assert_eq!(s["meetings"], 1);
        assert_eq!(s["registered"], 1);
        assert_eq!(s["members"], 0);
        assert_eq!(by_name(&s["needs"], "code", "legal_aid")["count"], 2);
    }
}

/// Runs statements on a test database, whichever backend it is.
fn exec_sql(db: &str, sql: &str) {
    if let Some(file) = db.strip_prefix("sqlite:") {
        rusqlite::Connection::open(file)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(db, tokio_postgres::NoTls)
            .await
            .unwrap();
        let task = tokio::spawn(conn);
        client.batch_execute(sql).await.unwrap();
        drop(client);
        let _ = task.await;
    });
}

/// SPEC §8: a meeting is a distinct device × date × place. One laptop may send a place's day
/// under two unions (the operator changed the union setting at lunch): one meeting overall,
/// one in each union's own figures. A resent summary replaces its needs and its meeting, and
/// an office database made before these were kept as rows (schema 4) gets the same figures.
#[test]
fn a_place_day_under_two_unions_is_one_meeting_and_resent_summaries_replace_theirs() {
    for db in test_dbs() {
        eprintln!("backend: {}", db.label);
        let token = add_device(&db.url, "laptop-1");
        let mut server = Server::start(&db.url);
        let c = http_client();
        let today = chrono::Local::now().date_naive();
        let send = |days: Value| {
            let sent = days.as_array().unwrap().len();
            let mut body = batch(vec![]);
            body["days"] = days;
            let (status, v) = post(
                &c,
                &server.url(),
                &token,
                serde_json::to_vec(&body).unwrap(),
                "application/json",
            )
            .unwrap();
            assert_eq!(status, 200, "{v}");
            assert_eq!(v["days_stored"], sent, "{v}");
        };
        let day = |union: &str, consultations: u64, needs: Value| {
            json!({
                "date": today.to_string(), "union": union, "place": WANGJING, "operator": "李",
                "consultations": consultations, "needs": needs, "registrations": 0, "voids": 0
            })
        };
        send(json!([
            day("朝阳区总工会", 2, json!({"legal_aid": 2})),
            day("望京街道工会", 1, json!({"skills": 1})),
        ]));
        let all = figures(&db.url, FigureFilter::default());
        assert_eq!((all.meetings, all.consultations), (1, 3));
        assert_eq!(all.by_place[0].1.meetings, 1);
        assert_eq!(all.by_day[0].1.meetings, 1);
        let unions: Vec<(String, u64)> = all
            .by_union
            .iter()
            .map(|(u, c)| (u.clone(), c.meetings))
            .collect();
        // by node: the laptop's one node holds the one meeting
        assert_eq!(unions, [("root".to_string(), 1)]);
        let chaoyang = FigureFilter {
            union: Some("朝阳区总工会".into()),
            ..Default::default()
        };
        assert_eq!(figures(&db.url, chaoyang.clone()).meetings, 1);
        let needs = |f: &Figures| f.needs.clone();
        assert_eq!(
            needs(&all),
            [("legal_aid".to_string(), 2), ("skills".to_string(), 1)]
        );

        // 朝阳's tally was a mistake: resent as nothing. 望京街道 still held the meeting.
        send(json!([day("朝阳区总工会", 0, json!({}))]));
        let all = figures(&db.url, FigureFilter::default());
        assert_eq!((all.meetings, all.consultations), (1, 1));
        assert_eq!(needs(&all), [("skills".to_string(), 1)]);
        assert_eq!(figures(&db.url, chaoyang.clone()).meetings, 0);
        send(json!([day("望京街道工会", 0, json!({}))]));
        assert_eq!(figures(&db.url, FigureFilter::default()).meetings, 0);
        send(json!([
            day("朝阳区总工会", 4, json!({"legal_aid": 1, "hardship": 2})),
            day("望京街道工会", 1, json!({})),
        ]));
        let before = figures(&db.url, FigureFilter::default());
        assert_eq!(before.meetings, 1);

        // The same office database as schema 4 left it: migration 5 derives the rest.
        server.kill();
        // the union tree and the office's voids (the latest migrations first)
        exec_sql(
            &db.url,
            if db.url.starts_with("sqlite:") {
                "DROP TRIGGER enterprise_days_by_node;"
            } else {
                "DROP TRIGGER enterprise_days_by_node ON enterprise_days;
                 DROP FUNCTION union_enterprises_added();"
            },
        );
        exec_sql(
            &db.url,
            "DROP INDEX members_union_date; DROP INDEX members_place_date;
             DROP TABLE union_enterprises; DROP TABLE office_voids; DROP TABLE unions;
             DROP TABLE union_closure;
             DROP INDEX devices_union; ALTER TABLE devices DROP COLUMN union_code;
             ALTER TABLE office_users DROP COLUMN union_code;
             DROP INDEX audit_log_scope; ALTER TABLE audit_log DROP COLUMN scope;",
        );
        exec_sql(
            &db.url,
            "DROP TABLE booth_day_needs; DROP TABLE figure_names; DROP TABLE figure_days;
             DROP INDEX enterprise_days_date; DROP INDEX enterprise_days_union;
             DROP INDEX enterprise_days_place; DROP INDEX enterprise_days_device;
             ALTER TABLE booth_days DROP COLUMN meeting_share;
             DROP TABLE segment_origins; DROP TABLE segments_taken;
             ALTER TABLE devices DROP COLUMN binding_key;
             ALTER TABLE members DROP COLUMN version_rank;
             DROP INDEX audit_log_action_actor; ALTER TABLE audit_log DROP COLUMN fields;
             ALTER TABLE office DROP COLUMN verify_url;
             ALTER TABLE office DROP COLUMN published_version;
             ALTER TABLE office DROP COLUMN published_at;",
        );
        // the office's daily work (search_names, its triggers, time zone, revoked by)
        exec_sql(
            &db.url,
            if db.url.starts_with("sqlite:") {
                "DROP TRIGGER members_names_added; DROP TRIGGER members_names_changed;"
            } else {
                "DROP TRIGGER members_names_added ON members;
                 DROP TRIGGER members_names_changed ON members;
                 DROP FUNCTION search_names_added(); DROP FUNCTION search_names_changed();"
            },
        );
        exec_sql(
            &db.url,
            "DROP TABLE search_names; ALTER TABLE office DROP COLUMN time_zone;
             ALTER TABLE office DROP COLUMN silent_days; ALTER TABLE revoked DROP COLUMN by_user;",
        );
        exec_sql(
            &db.url,
            if db.url.starts_with("sqlite:") {
                "PRAGMA user_version = 4"
            } else {
                "UPDATE booth_schema SET version = 4"
            },
        );
        let after = figures(&db.url, FigureFilter::default());
        assert_eq!(after, before);
        assert_eq!(
            needs(&after),
            [("hardship".to_string(), 2), ("legal_aid".to_string(), 1)]
        );
        assert_eq!(figures(&db.url, chaoyang.clone()).meetings, 1);
    }
}

/// Laptops uploading the same day at once: each upload sums the day's totals again, one after
/// the other, so the totals end as the sum of every laptop's last summary (checked against
/// the aggregates by `figures`).
#[test]
fn laptops_uploading_one_day_at_once_leave_its_totals_right() {
    for db in test_dbs() {
        eprintln!("backend: {}", db.label);
        let laptops: Vec<(String, String)> = (0..6)
            .map(|i| {
                let name = format!("laptop-{i}");
                let token = add_device(&db.url, &name);
                (name, token)
            })
            .collect();
        let server = Server::start(&db.url);
        let today = chrono::Local::now().date_naive().to_string();
        std::thread::scope(|s| {
            for (i, (_, token)) in laptops.iter().enumerate() {
                let (url, today) = (server.url(), today.clone());
                s.spawn(move || {
                    let c = http_client();
                    let key = laptop_key(i as u32);
                    for round in 1..=5u64 {
                        let mut body = batch_by(&key, vec![]);
                        body["days"] = json!([{
                            "date": today, "union": "朝阳区总工会", "place": format!("驿站{i}"),
                            "operator": "李", "consultations": round * 10 + i as u64,
                            "needs": {"legal_aid": round}, "registrations": 0, "voids": 0
                        }]);
                        let (status, v) = post_signed(
                            &c,
                            &url,
                            token,
                            serde_json::to_vec(&body).unwrap(),
                            "application/json",
                            Some(&key),
                        )
                        .unwrap();
                        assert_eq!((status, &v["days_stored"]), (200, &json!(1)), "{v}");
                    }
                });
            }
        });
        let f = figures(&db.url, FigureFilter::default());
        assert_eq!(f.meetings, 6);
        assert_eq!(f.consultations, (0..6).map(|i| 50 + i).sum::<u64>());
        assert_eq!(f.needs, [("legal_aid".to_string(), 30)]);
    }
}
