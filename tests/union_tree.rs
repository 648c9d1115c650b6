//! The union tree from the command line (SPEC §11), on both databases: a federation's list
//! imported all or nothing, listed, re-imported (renames and moves, never deletes), laptops
//! under nodes (the enrolment code carries the node; a laptop without a union takes it),
//! `stats --union` with its children, a laptop moved with its history, and a node removed
//! only when it holds nothing.

mod common;

use std::path::Path;

use common::net::*;
use common::*;
use serde_json::Value;

const LIST: &str = "code,name,short,parent
C0,北京市总工会,北京市总,
D1,北京市朝阳区总工会,朝阳区总,C0
D2,北京市海淀区总工会,海淀区总,C0
S11,望京街道总工会,望京街道,D1
S21,中关村街道总工会,中关村街道,D2
";

fn ok(out: &std::process::Output) {
    assert!(out.status.success(), "{}", stderr(out));
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn parents(v: &Value) -> Vec<(String, Value)> {
    v["unions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["code"].as_str().unwrap().to_string(), n["parent"].clone()))
        .collect()
}

fn registered(stats: &Value) -> u64 {
    stats["registered"].as_u64().unwrap()
}

fn child<'a>(stats: &'a Value, code: &str) -> &'a Value {
    stats["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("no child {code} in {stats}"))
}

/// A laptop enrolled with its code: `n` members registered, uploaded.
fn laptop(url: &str, code: &str, people: std::ops::Range<u32>) -> Booth {
    let b = Booth::new();
    let (out, _) = b.json(&["enroll", code, "--server", url]);
    ok(&out);
    for n in people {
        let (out, _) = b.register(&person_name(n), &valid_id(n), &phone(n));
        ok(&out);
    }
    let (out, v) = b.json(&["upload"]);
    assert!(out.status.success(), "{v} {}", stderr(&out));
    b
}

#[test]
fn a_federation_loads_its_tree_and_the_figures_roll_up() {
    let dir = tempfile::tempdir().unwrap();
    for tdb in test_dbs() {
        let db = tdb.url.as_str();
        let label = &tdb.label;
        let (out, v) = server_cmd(&["unions", "list", "--db", db]);
        ok(&out);
        assert_eq!(parents(&v), [("root".into(), Value::Null)], "{label}");

        // a cycle, a duplicate and a missing parent: the whole file is refused, each named
        let bad = write(
            dir.path(),
            "bad.csv",
            "code,name,short,parent\nA,甲,甲,B\nB,乙,乙,A\nC,丙,丙,nowhere\nC,丙,丙,\n",
        );
        let (out, _) = server_cmd(&["unions", "import", &bad, "--db", db]);
        assert!(!out.status.success(), "{label}");
        let err = stderr(&out);
        for said in ["A", "nowhere", "第 5 行", "成环"] {
            assert!(err.contains(said), "{label}: {said} in {err}");
        }
        let (_, v) = server_cmd(&["unions", "list", "--db", db]);
        assert_eq!(
            v["unions"].as_array().unwrap().len(),
            1,
            "{label}: nothing taken"
        );

        // the list in Chinese headings, as a federation's office keeps it
        let zh = LIST.replacen("code,name,short,parent", "代码,名称,简称,上级代码", 1);
        let list = write(dir.path(), "unions.csv", &zh);
        let (out, v) = server_cmd(&["unions", "import", &list, "--db", db]);
        ok(&out);
        assert_eq!(v["added"], 5, "{label}");
        let (_, v) = server_cmd(&["unions", "list", "--db", db]);
        let p = parents(&v);
        assert!(p.contains(&("C0".into(), "root".into())), "{label}: {p:?}");
        assert!(p.contains(&("S11".into(), "D1".into())), "{label}");

        // laptops under streets; the code carries the node
        let (out, a) = server_cmd(&["add-device", "lap-a", "--union", "S11", "--db", db]);
        ok(&out);
        let code_a = a["enrolment_code"].as_str().unwrap().to_string();
        let e = booth::card::enrol::Enrolment::parse(&code_a).unwrap();
        assert_eq!(e.union.as_ref().unwrap().name, "望京街道总工会", "{label}");
        let (out, b) = server_cmd(&["add-device", "lap-b", "--union", "S21", "--db", db]);
        ok(&out);
        let code_b = b["enrolment_code"].as_str().unwrap().to_string();
        let (out, _) = server_cmd(&["add-device", "lap-x", "--union", "nowhere", "--db", db]);
        assert!(!out.status.success(), "{label}: an unknown node");
        assert!(stderr(&out).contains("unions import"), "{}", stderr(&out));

        let server = Server::start(db);
        let url = server.url();
        let lap_a = laptop(&url, &code_a, 1..3);
        // a laptop without a union takes the node's name; its cards print it
        let (_, v) = lap_a.json(&["config", "get", "union"]);
        assert_eq!(v["value"], "望京街道总工会", "{label}");
        // one told its union keeps it
        let lap_b = Booth::new();
        let (out, _) = lap_b.json(&["config", "set", "union", "中关村街道工会联合会"]);
        ok(&out);
        let (out, _) = lap_b.json(&["enroll", &code_b, "--server", &url]);
        ok(&out);
        let (_, v) = lap_b.json(&["config", "get", "union"]);
        assert_eq!(v["value"], "中关村街道工会联合会", "{label}");
        for n in 10..13 {
            ok(&lap_b.register(&person_name(n), &valid_id(n), &phone(n)).0);
        }
        ok(&lap_b.json(&["consult"]).0);
        ok(&lap_b.json(&["upload"]).0);

        // the city is its districts' sum; a district is its street's
        let stats = |union: &str| {
            let (out, v) = server_cmd(&["stats", "--union", union, "--db", db]);
            ok(&out);
            v
        };
        let c0 = stats("C0");
        assert_eq!(registered(&c0), 5, "{label}: {c0}");
        assert_eq!(registered(child(&c0, "D1")), 2, "{label}");
        assert_eq!(registered(child(&c0, "D2")), 3, "{label}");
        assert_eq!(child(&c0, "D2")["consultations"], 1, "{label}");
        assert_eq!(child(&c0, "D2")["members"], 3, "{label}");
        let conversion = child(&c0, "D2")["conversion"].as_f64().unwrap();
        assert!((conversion - 0.75).abs() < 1e-9, "{label}: {conversion}");
        assert_eq!(c0["children"].as_array().unwrap().len(), 2, "{label}");
        let d1 = stats("D1");
        assert_eq!((registered(&d1), d1["members"].as_u64()), (2, Some(2)));
        assert_eq!(
            d1["by_device"].as_array().unwrap().len(),
            1,
            "{label}: {d1}"
        );
        let root = stats("root");
        assert_eq!(registered(&root), 5, "{label}");
        assert_eq!(registered(child(&root, "C0")), 5, "{label}");
        // by_union groups by node
        let by_union = root["by_union"].as_array().unwrap();
        assert!(
            by_union
                .iter()
                .any(|u| u["code"] == "S21" && u["registered"] == 3)
        );

        // a re-import renames and moves; it never deletes (S21 is not in it)
        let moved = write(
            dir.path(),
            "moved.csv",
            "code,name,short,parent\nD2,北京市海淀区总工会（新）,海淀区总,C0\nS11,望京街道总工会,望京街道,D2\n",
        );
        let (out, v) = server_cmd(&["unions", "import", &moved, "--db", db]);
        ok(&out);
        assert_eq!(
            (v["renamed"].as_u64(), v["moved"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(registered(&stats("D2")), 5, "{label}: S11 moved under D2");
        assert_eq!(registered(&stats("D1")), 0, "{label}");
        let (_, v) = server_cmd(&["unions", "list", "--db", db]);
        assert_eq!(v["unions"].as_array().unwrap().len(), 6, "{label}");

        // a laptop moved carries its history
        let (out, _) = server_cmd(&["unions", "assign-device", "lap-b", "D1", "--db", db]);
        ok(&out);
        assert_eq!(registered(&stats("D1")), 3, "{label}");
        assert_eq!(stats("D1")["consultations"], 1, "{label}");

        // a node is removed only when it holds nothing
        let (out, _) = server_cmd(&["unions", "remove", "D1", "--db", db]);
        assert!(!out.status.success(), "{label}: D1 holds lap-b");
        let (out, _) = server_cmd(&["unions", "remove", "S21", "--db", db]);
        ok(&out);
        let (out, _) = server_cmd(&["unions", "remove", "root", "--db", db]);
        assert!(!out.status.success(), "{label}");
        // a user under an unknown node is refused
        let mut cmd = std::process::Command::new(booth_bin());
        let out = cmd
            .args(["server", "add-user", "chaoyang", "--role", "viewer"])
            .args(["--union", "S21", "--db", db])
            .env("BOOTH_USER_PASSWORD", "Office-Pass-2026")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{label}: S21 is gone");
        drop(server);
    }
}

/// A card the office voids is no longer a booth sign-up (现场入会, issue 23 item 6), in the
/// totals, by day and in its node's roll-up; voiding an imported record changes nothing, and
/// voiding twice counts once.
#[test]
fn an_office_void_lowers_the_booth_sign_ups() {
    let dir = tempfile::tempdir().unwrap();
    for tdb in test_dbs() {
        let db = tdb.url.as_str();
        let label = &tdb.label;
        let list = write(dir.path(), "unions.csv", LIST);
        ok(&server_cmd(&["unions", "import", &list, "--db", db]).0);
        let (out, a) = server_cmd(&["add-device", "lap-v", "--union", "S11", "--db", db]);
        ok(&out);
        let server = Server::start(db);
        let b = Booth::new();
        ok(&b
            .json(&[
                "enroll",
                a["enrolment_code"].as_str().unwrap(),
                "--server",
                &server.url(),
            ])
            .0);
        let mut numbers = Vec::new();
        for n in 40..43 {
            let (out, v) = b.register(&person_name(n), &valid_id(n), &phone(n));
            ok(&out);
            numbers.push(v["member_no"].as_str().unwrap().to_string());
        }
        let roster = dir.path().join("roster.csv");
        write_roster(&roster, 1, 90);
        let (out, report) = b.json(&["import", roster.to_str().unwrap(), "--consent"]);
        ok(&out);
        let imported_no = report["rows"][0]["member_no"].as_str().unwrap().to_string();
        ok(&b.json(&["upload"]).0);
        let figures = |union: &str| {
            let (out, v) = server_cmd(&["stats", "--union", union, "--db", db]);
            ok(&out);
            v
        };
        assert_eq!(registered(&figures("root")), 3, "{label}");
        assert_eq!(figures("root")["members"], 4, "{label}");
        let void = |no: &str| {
            let (out, _) = server_cmd(&["void", no, "--reason", "错登", "--db", db]);
            ok(&out);
        };
        void(&numbers[0]);
        void(&numbers[0]);
        void(&imported_no);
        let root = figures("root");
        assert_eq!(registered(&root), 2, "{label}: {root}");
        assert_eq!(root["by_day"][0]["registered"], 2, "{label}");
        assert_eq!(registered(child(&figures("C0"), "D1")), 2, "{label}");
        assert_eq!(registered(&figures("S11")), 2, "{label}");
        drop(server);
    }
}
