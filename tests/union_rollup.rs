//! Figures roll up the union tree (SPEC §11): a node's meetings, consultations and sign-ups
//! are its own laptops' plus its children's, its members and enterprises are distinct people
//! and employers, a conversion rate is computed and never summed. A property over random
//! trees (random parents, laptops on random nodes, random day summaries and members uploaded
//! to the real server), `booth server stats --json --union` end to end, and the dashboard of
//! a district's user: its figures, its children's table, drill-down, breadcrumbs that stop at
//! the user's node, and a 404 for a sibling district.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::process::Command;
use std::sync::OnceLock;

use booth::server::db::devices::NewToken;
use booth::server::db::unions::ImportOutcome;
use booth::server::db::{Breakdown, Db, FigureFilter};
use booth::server::unions::Scope;
use booth::server::unions::plan::ImportRow;
use common::console::*;
use common::net::*;
use common::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};

const PLACES: [&str; 2] = ["望京", "亦庄"];
const UNION_TEXTS: [&str; 2] = ["朝阳区总工会", "朝阳区总工会望京街道"];
/// Three employers, one of them written two ways (the office folds the spaces and the
/// full-width characters: one enterprise).
const EMPLOYERS: [&str; 4] = ["京东物流", "京东 物流", "美团外卖", "顺丰速运"];

fn employer_key(e: &str) -> String {
    e.replace(' ', "")
}

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

/// One day summary of a laptop: day (0..3 days ago), place, union text, and its counts.
#[derive(Clone, Debug)]
struct Day {
    ago: u64,
    place: usize,
    union: usize,
    consultations: u64,
    registrations: u64,
}

/// A laptop: its node (an index into the nodes, 0 the root), its summaries (distinct
/// day × place × union), and its members' employers.
#[derive(Clone, Debug)]
struct Laptop {
    node: usize,
    days: Vec<Day>,
    members: Vec<usize>,
}

/// A tree: node `i` (1..) hangs under `parents[i - 1]` < i (0 the root).
#[derive(Clone, Debug)]
struct Case {
    parents: Vec<usize>,
    laptops: Vec<Laptop>,
}

fn code(i: usize) -> String {
    if i == 0 {
        "root".into()
    } else {
        format!("N{i}")
    }
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..7)
        .prop_flat_map(|n| {
            let parents: Vec<_> = (1..=n).map(|i| 0..i).collect();
            let day = (0u64..3, 0usize..2, 0usize..2, 0u64..6, 0u64..4).prop_map(
                |(ago, place, union, consultations, registrations)| Day {
                    ago,
                    place,
                    union,
                    consultations,
                    registrations,
                },
            );
            let laptop = (
                0..=n,
                prop::collection::vec(day, 0..5),
                prop::collection::vec(0..EMPLOYERS.len(), 0..4),
            )
                .prop_map(|(node, mut days, members)| {
                    let mut seen = HashSet::new();
                    days.retain(|d| seen.insert((d.ago, d.place, d.union)));
                    Laptop {
                        node,
                        days,
                        members,
                    }
                });
            (parents, prop::collection::vec(laptop, 1..5))
        })
        .prop_map(|(parents, laptops)| Case { parents, laptops })
}

/// What the test expects of a node, counted here from the case alone.
#[derive(Debug, Default, PartialEq, Eq, Clone)]
struct Expected {
    meetings: u64,
    consultations: u64,
    registered: u64,
    members: u64,
    enterprises: u64,
}

impl Case {
    /// Node `i` and every node below it.
    fn subtree(&self, i: usize) -> BTreeSet<usize> {
        let mut out = BTreeSet::from([i]);
        // parents come before their children: one pass in order finds every descendant
        for (k, &p) in self.parents.iter().enumerate() {
            if out.contains(&p) {
                out.insert(k + 1);
            }
        }
        out
    }

    /// The figures of the laptops on the nodes `nodes`.
    fn expected(&self, nodes: &BTreeSet<usize>) -> Expected {
        let mut e = Expected::default();
        let mut employers = BTreeSet::new();
        for l in self.laptops.iter().filter(|l| nodes.contains(&l.node)) {
            let meetings: BTreeSet<_> = l
                .days
                .iter()
                .filter(|d| d.consultations + d.registrations > 0)
                .map(|d| (d.ago, d.place))
                .collect();
            e.meetings += meetings.len() as u64;
            e.consultations += l.days.iter().map(|d| d.consultations).sum::<u64>();
            e.registered += l.days.iter().map(|d| d.registrations).sum::<u64>();
            e.members += l.members.len() as u64;
            employers.extend(l.members.iter().map(|&m| employer_key(EMPLOYERS[m])));
        }
        e.enterprises = employers.len() as u64;
        e
    }

    /// (meetings, consultations, registered) of today's summaries on the nodes `nodes`.
    fn today(&self, nodes: &BTreeSet<usize>) -> (u64, u64, u64) {
        let days = self
            .laptops
            .iter()
            .filter(|l| nodes.contains(&l.node))
            .map(|l| l.days.iter().filter(|d| d.ago == 0).collect::<Vec<_>>());
        days.fold((0, 0, 0), |t, days| {
            let places: BTreeSet<_> = days
                .iter()
                .filter(|d| d.consultations + d.registrations > 0)
                .map(|d| d.place)
                .collect();
            (
                t.0 + places.len() as u64,
                t.1 + days.iter().map(|d| d.consultations).sum::<u64>(),
                t.2 + days.iter().map(|d| d.registrations).sum::<u64>(),
            )
        })
    }

    fn children(&self, i: usize) -> Vec<usize> {
        (1..=self.parents.len())
            .filter(|&k| self.parents[k - 1] == i)
            .collect()
    }
}

fn figures_of(v: &impl serde::Serialize) -> Expected {
    let v = serde_json::to_value(v).unwrap();
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    Expected {
        meetings: n("meetings"),
        consultations: n("consultations"),
        registered: n("registered"),
        members: n("members"),
        enterprises: n("enterprises"),
    }
}

/// Sets the case up on a fresh database (tree and laptops through the Db API, the records
/// and day summaries uploaded to the real server), then checks every node's figures.
fn check_case(db_url: &str, case: &Case) {
    rt().block_on(async {
        let db = Db::open(db_url).await.unwrap();
        let rows: Vec<ImportRow> = case
            .parents
            .iter()
            .enumerate()
            .map(|(k, &p)| ImportRow {
                line: k + 2,
                code: code(k + 1),
                name: format!("第{}工会", k + 1),
                short: format!("工{}", k + 1),
                parent: if p == 0 { String::new() } else { code(p) },
            })
            .collect();
        assert!(matches!(
            db.import_unions(rows).await.unwrap(),
            ImportOutcome::Taken(_)
        ));
        for (j, l) in case.laptops.iter().enumerate() {
            db.add_device(
                format!("lap-{j}"),
                NewToken::of(&format!("token-of-laptop-{j}")),
                Some(code(l.node)),
            )
            .await
            .unwrap();
        }
    });
    let server = Server::start(db_url);
    let client = http_client();
    let mut person = 0u32;
    for (j, l) in case.laptops.iter().enumerate() {
        let key = laptop_key(j as u32);
        let items: Vec<Value> = l
            .members
            .iter()
            .map(|&e| {
                person += 1;
                let day = today() - chrono::Days::new(u64::from(person % 3));
                batch_item_by_at(&key, person, day, EMPLOYERS[e])
            })
            .collect();
        let mut body = batch_by(&key, items);
        body["days"] = Value::Array(
            l.days
                .iter()
                .map(|d| {
                    json!({
                        "date": (today() - chrono::Days::new(d.ago)).to_string(),
                        "union": UNION_TEXTS[d.union], "place": PLACES[d.place],
                        "operator": "李", "consultations": d.consultations,
                        "registrations": d.registrations, "voids": 0
                    })
                })
                .collect(),
        );
        let (status, v) = post_signed(
            &client,
            &server.url(),
            &format!("token-of-laptop-{j}"),
            serde_json::to_vec(&body).unwrap(),
            "application/json",
            Some(&key),
        )
        .unwrap();
        assert_eq!(status, 200, "{v}");
        // days_stored is left out when 0
        assert_eq!(
            v["days_stored"].as_u64().unwrap_or(0),
            l.days.len() as u64,
            "{v}"
        );
        let accepted = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "accepted")
            .count();
        assert_eq!(accepted, l.members.len(), "{v}");
    }
    rt().block_on(async {
        let db = Db::open(db_url).await.unwrap();
        for i in 0..=case.parents.len() {
            let stats = db.stats(booth::i18n::Lang::En, &code(i)).await.unwrap();
            let want = case.expected(&case.subtree(i));
            assert_eq!(figures_of(&stats), want, "node {}: {case:?}", code(i));
            let own = stats.own.clone().unwrap();
            assert_eq!(
                figures_of(&own),
                case.expected(&BTreeSet::from([i])),
                "own laptops of {}",
                code(i)
            );
            let kids = case.children(i);
            assert_eq!(
                stats
                    .children
                    .iter()
                    .map(|c| c.code.clone())
                    .collect::<Vec<_>>(),
                kids.iter().map(|&k| code(k)).collect::<Vec<_>>()
            );
            let mut sum = figures_of(&own);
            for (c, &k) in stats.children.iter().zip(&kids) {
                let f = figures_of(&c.figures);
                assert_eq!(f, case.expected(&case.subtree(k)), "child {}", c.code);
                let all = f.registered + f.consultations;
                let rate = (all > 0).then(|| f.registered as f64 / all as f64);
                assert_eq!(c.conversion, rate, "child {}", c.code);
                sum.meetings += f.meetings;
                sum.consultations += f.consultations;
                sum.registered += f.registered;
            }
            // the sums add up; members and enterprises are distinct, not summed
            assert_eq!(
                (sum.meetings, sum.consultations, sum.registered),
                (want.meetings, want.consultations, want.registered),
                "node {} = own + children",
                code(i)
            );
            // under a date filter, as the dashboard asks: the node's figures and its table's
            let node = db.union_node(code(i)).await.unwrap().unwrap();
            let children = db.union_children(code(i)).await.unwrap();
            let filter = FigureFilter {
                from: Some(today()),
                scope: Scope::of_code(&code(i)),
                ..Default::default()
            };
            let figs = db.figures(&filter, Breakdown::Dashboard).await.unwrap();
            let (kids, own) = db.child_figures(&node, &children, &filter).await.unwrap();
            let mut rows = vec![(own, BTreeSet::from([i]))];
            rows.extend(
                kids.into_iter()
                    .zip(&case.children(i))
                    .map(|(c, &k)| (c.figures, case.subtree(k))),
            );
            let (mut m, mut c, mut r) = (0, 0, 0);
            for (f, nodes) in &rows {
                let t = (f.meetings, f.consultations, f.registered);
                assert_eq!(t, case.today(nodes), "today, under {}", code(i));
                (m, c, r) = (m + t.0, c + t.1, r + t.2);
            }
            assert_eq!(
                (figs.meetings, figs.consultations, figs.registered),
                (m, c, r)
            );
            assert_eq!((m, c, r), case.today(&case.subtree(i)));
        }
    });
    drop(server);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Every node of a random tree: own + children, distinct members and enterprises, the
    /// rate computed (SQLite).
    #[test]
    fn figures_roll_up_a_random_tree(case in case()) {
        let db = sqlite_db();
        check_case(&db.url, &case);
    }
}

/// The same on PostgreSQL, one random tree (required under CI, skipped elsewhere without
/// BOOTH_TEST_PG_URL).
#[test]
fn figures_roll_up_a_random_tree_on_postgres() {
    let Some(base) = common::tools::postgres_url() else {
        return;
    };
    let mut runner = TestRunner::default();
    for _ in 0..2 {
        let case = case().new_tree(&mut runner).unwrap().current();
        check_case(&fresh_pg_database(&base), &case);
    }
}

// ---------------------------------------------------------------------------------------
// A city's tree, end to end: `unions import`, laptops and a district's user by the CLI.

const TREE_CSV: &str = "代码,名称,简称,上级代码
C0,北京市总工会,市总,
D1,朝阳区总工会,朝阳,C0
D2,海淀区总工会,海淀,C0
S11,望京街道总工会,望京,D1
S12,酒仙桥街道总工会,酒仙桥,D1
S21,中关村街道总工会,中关村,D2
";

fn cli(db: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--db", db]);
    let (out, v) = server_cmd(&all);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    v
}

/// (laptop, node, consultations, registrations, members)
const LAPTOPS: [(&str, &str, u64, u64, u32); 5] = [
    ("lap-d1", "D1", 4, 1, 1),
    ("lap-s11", "S11", 10, 5, 3),
    ("lap-s12", "S12", 2, 0, 0),
    ("lap-s21", "S21", 7, 3, 2),
    ("lap-office", "root", 1, 1, 1),
];

/// The tree imported, a laptop on each of five nodes with a day at one place, members, and
/// users: `d1` (viewer of D1), `admin` (the office's).
fn city(db: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("unions.csv");
    std::fs::write(&file, TREE_CSV).unwrap();
    cli(db, &["unions", "import", file.to_str().unwrap()]);
    let mut tokens = Vec::new();
    for (name, node, ..) in LAPTOPS {
        let v = cli(db, &["add-device", name, "--union", node]);
        tokens.push(v["token"].as_str().unwrap().to_string());
    }
    for (user, role, node, pass) in [
        ("d1", "viewer", "D1", VIEWER_PASS),
        ("admin", "admin", "root", ADMIN_PASS),
    ] {
        let mut cmd = Command::new(booth_bin());
        let args = [
            "server", "add-user", user, "--role", role, "--union", node, "--db", db,
        ];
        office_key_env(&mut cmd, &args);
        let out = cmd
            .args(args)
            .env("BOOTH_USER_PASSWORD", pass)
            .env_remove("BOOTH_LANG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let server = Server::start(db);
    let client = http_client();
    let mut person = 0;
    for (j, (&(_, _, consulted, signed, members), token)) in LAPTOPS.iter().zip(&tokens).enumerate()
    {
        let key = laptop_key(j as u32);
        let items = (0..members)
            .map(|_| {
                person += 1;
                batch_item_by_at(&key, person, today(), EMPLOYERS[person as usize % 3])
            })
            .collect();
        let mut body = batch_by(&key, items);
        body["days"] = json!([{
            "date": today().to_string(), "union": "工会", "place": "望京", "operator": "李",
            "consultations": consulted, "registrations": signed, "voids": 0
        }]);
        let (status, v) = post_signed(
            &client,
            &server.url(),
            token,
            serde_json::to_vec(&body).unwrap(),
            "application/json",
            Some(&key),
        )
        .unwrap();
        assert_eq!(status, 200, "{v}");
    }
    server
}

#[test]
fn stats_of_a_district_with_its_children() {
    for db in test_dbs() {
        eprintln!("backend: {}", db.label);
        let _server = city(&db.url);
        let v = cli(&db.url, &["stats", "--union", "D1"]);
        assert_eq!(v["union"]["code"], "D1", "{v}");
        // D1 = its own laptop + S11 + S12
        assert_eq!(v["consultations"], 4 + 10 + 2, "{v}");
        assert_eq!(v["registered"], 1 + 5, "{v}");
        assert_eq!(v["meetings"], 3, "{v}");
        assert_eq!(v["members"], 1 + 3, "{v}");
        assert_eq!(v["own"]["consultations"], 4, "{v}");
        let children = v["children"].as_array().unwrap();
        let codes: Vec<&str> = children
            .iter()
            .map(|c| c["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["S11", "S12"]);
        let s11 = &children[0];
        assert_eq!(s11["name"], "望京街道总工会");
        for (k, n) in [
            ("meetings", 1),
            ("consultations", 10),
            ("registered", 5),
            ("members", 3),
        ] {
            assert_eq!(s11[k], n, "{k}: {s11}");
        }
        // S11's three members work for 美团外卖, 京东物流 and 京东 物流: two employers
        assert_eq!(s11["enterprises"], 2, "{s11}");
        assert!((s11["conversion"].as_f64().unwrap() - 5.0 / 15.0).abs() < 1e-9);
        // S12 signed nobody up: its rate is 0, not missing; a node without anything is null
        assert_eq!(children[1]["conversion"], 0.0);
        // the whole city: every laptop, the office's own one as the root's own
        let all = cli(&db.url, &["stats", "--union", "root"]);
        assert_eq!(all["consultations"], 4 + 10 + 2 + 7 + 1, "{all}");
        assert_eq!(all["own"]["consultations"], 1, "{all}");
        assert_eq!(all["children"][0]["code"], "C0", "{all}");
        assert_eq!(all["children"][0]["consultations"], 4 + 10 + 2 + 7, "{all}");
        // a leaf: no children, everything its own
        let s21 = cli(&db.url, &["stats", "--union", "S21"]);
        assert_eq!(s21["children"], json!([]), "{s21}");
        assert_eq!(s21["registered"], 3);
        // an unknown node is refused
        let (out, _) = server_cmd(&["stats", "--union", "nope", "--db", &db.url]);
        assert!(!out.status.success());
    }
}

/// `data-figure` values of a dashboard page.
fn page_figures(body: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for part in body.split("data-figure=\"").skip(1) {
        let (key, rest) = part.split_once('"').unwrap();
        let value = rest[1..].split('<').next().unwrap().replace(',', "");
        out.insert(key.to_string(), value.trim().parse().unwrap());
    }
    out
}

/// The `data-node` of the children's table rows, in order.
fn table_nodes(body: &str) -> Vec<String> {
    body.split("<tr data-node=\"")
        .skip(1)
        .map(|p| p.split('"').next().unwrap().to_string())
        .collect()
}

fn crumbs(body: &str) -> String {
    body.split("<nav class=\"crumbs\"")
        .nth(1)
        .map(|p| p.split("</nav>").next().unwrap().to_string())
        .unwrap_or_default()
}

#[test]
fn a_districts_dashboard_rolls_up_and_drills_down() {
    for db in test_dbs() {
        eprintln!("backend: {}", db.label);
        let server = city(&db.url);
        // two laptops never heard from: one of D1's streets', one of the other district's
        cli(&db.url, &["add-device", "quiet-s11", "--union", "S11"]);
        cli(&db.url, &["add-device", "quiet-d2", "--union", "D2"]);
        let mut web = Web::new(&server.url());
        assert_eq!(web.login("d1", VIEWER_PASS).status, 303);
        let a = web.get("/");
        assert_eq!(a.status, 200);
        assert!(a.body.contains("quiet-s11"), "D1's silent laptop is named");
        assert!(
            !a.body.contains("quiet-d2"),
            "another district's laptop is not"
        );
        let f = page_figures(&a.body);
        assert_eq!(f["consultations"], 16, "{f:?}");
        assert_eq!(f["registered"], 6, "{f:?}");
        assert_eq!(f["meetings"], 3, "{f:?}");
        assert_eq!(f["members"], 4, "{f:?}");
        // the table: D1's own laptop first, then its streets
        assert!(a.body.contains("id=\"children\""));
        assert_eq!(table_nodes(&a.body), ["D1", "S11", "S12"]);
        assert!(a.body.contains("class=\"own\""));
        assert!(
            a.body.contains(
                "<table class=\"tree\" id=\"children\" aria-labelledby=\"rollup-caption\""
            )
        );
        assert!(a.body.contains("scope=\"col\""));
        // S12: 2 consultations, no sign-up: 0.0%; S11: 5 ÷ 15
        assert!(a.body.contains("33.3%"), "S11's rate");
        assert!(a.body.contains("href=\"/?node=S11\""), "a drill-down link");
        // breadcrumbs start at the user's node: nothing above it
        let c = crumbs(&a.body);
        assert!(c.contains("朝阳区总工会") || c.contains("朝阳"), "{c}");
        assert!(
            !c.contains("北京市总工会") && !c.contains("本办公室"),
            "{c}"
        );
        assert!(
            !a.body.contains("海淀区总工会"),
            "a sibling district's name"
        );

        // drill down into S11, the dates kept in the links
        let a = web.get("/?node=S11&from=2020-01-01");
        assert_eq!(a.status, 200);
        let f = page_figures(&a.body);
        assert_eq!(
            (f["consultations"], f["registered"], f["members"]),
            (10, 5, 3)
        );
        let c = crumbs(&a.body);
        assert!(
            c.contains("朝阳区总工会") && c.contains("望京街道总工会"),
            "{c}"
        );
        assert!(c.contains("href=\"/?from=2020%2D01%2D01\""), "{c}");
        assert!(!c.contains("北京市总工会"), "{c}");
        assert!(c.contains("aria-current=\"page\""), "{c}");
        // a leaf has no table
        assert!(!a.body.contains("id=\"children\""));
        // the filter form keeps the node
        assert!(a.body.contains("name=\"node\" value=\"S11\""));

        // sorted by sign-ups, fewest first: S12 (0) before S11 (5); the own row stays first
        let a = web.get("/?sort=registered&dir=asc");
        assert_eq!(table_nodes(&a.body), ["D1", "S12", "S11"]);
        assert!(a.body.contains("aria-sort=\"ascending\""));
        let unescaped = a.body.replace("&#38;", "&").replace("&amp;", "&");
        assert!(
            unescaped.contains("href=\"/?sort=registered&dir=desc\""),
            "the header turns the order round"
        );
        let a = web.get("/?sort=registered");
        assert_eq!(table_nodes(&a.body), ["D1", "S11", "S12"]);
        assert!(a.body.contains("aria-sort=\"descending\""));

        // outside the user's scope: nothing there
        for node in ["D2", "S21", "C0", "root", "nope"] {
            let a = web.get(&format!("/?node={node}"));
            assert_eq!(a.status, 404, "{node}");
            assert!(!a.body.contains("data-figure"), "{node}");
        }

        // the office's admin sees the whole tree, the office's own laptop as its own row
        let mut admin = Web::new(&server.url());
        assert_eq!(admin.login("admin", ADMIN_PASS).status, 303);
        let a = admin.get("/");
        assert_eq!(table_nodes(&a.body), ["root", "C0"]);
        assert!(a.body.contains("quiet-s11") && a.body.contains("quiet-d2"));
        assert_eq!(page_figures(&a.body)["consultations"], 24);
        let a = admin.get("/?node=D2");
        // quiet-d2 is D2's own: a row for it, all zeros, before the street
        assert_eq!(table_nodes(&a.body), ["D2", "S21"]);
        let c = crumbs(&a.body);
        assert!(
            c.contains("北京市总工会") && c.contains("海淀区总工会"),
            "{c}"
        );
    }
}

/// The district's dashboard in headless Chromium at 1280 and 390 pixels, zh and en: the
/// table is there, a child's link drills down, a header sorts, and on a phone the page does
/// not overflow (the table scrolls inside its wrapper). Screenshots go to
/// `$TMPDIR/booth-union-tree/` for a person to look at.
#[test]
fn a_districts_dashboard_in_a_browser() {
    use common::browser::Chromium;
    use fantoccini::Locator;
    let Some(chromium) = Chromium::find() else {
        return;
    };
    let db = sqlite_db();
    let server = city(&db.url);
    let url = server.url();
    let out = std::env::temp_dir().join("booth-union-tree");
    std::fs::create_dir_all(&out).unwrap();
    let (_driver, wd) = chromium.start_driver();
    common::browser::rt().block_on(async {
        for (w, h) in [(1280, 800), (390, 844)] {
            let c = chromium.session(&wd, w, h).await;
            for lang in ["zh", "en"] {
                c.goto(&format!("{url}/lang/{lang}?next=/login"))
                    .await
                    .unwrap();
                common::browser::submit_login(&c, "d1", VIEWER_PASS).await;
                c.goto(&format!("{url}/")).await.unwrap();
                let rows = c
                    .find_all(Locator::Css("#children tbody tr"))
                    .await
                    .unwrap();
                assert_eq!(rows.len(), 3, "own laptops, S11, S12");
                let registered = c
                    .find(Locator::Css("[data-figure=registered]"))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                assert_eq!(registered.trim(), "6");
                // the page is no wider than the screen; the table scrolls in its wrapper
                let wide: Value = c
                    .execute(
                        "return document.documentElement.scrollWidth - window.innerWidth",
                        vec![],
                    )
                    .await
                    .unwrap();
                assert!(wide.as_i64().unwrap() <= 0, "{w}px: {wide} px too wide");
                let png = c.screenshot().await.unwrap();
                std::fs::write(out.join(format!("dashboard-{lang}-{w}.png")), png).unwrap();
                // the whole table, scrolled into view
                c.execute(
                    "document.getElementById('children').scrollIntoView()",
                    vec![],
                )
                .await
                .unwrap();
                let png = c.screenshot().await.unwrap();
                std::fs::write(out.join(format!("table-{lang}-{w}.png")), png).unwrap();
                // on a phone the table is wider than its frame, which scrolls to the rest
                let scrolls: Value = c
                    .execute(
                        "const s = document.querySelector('.rollup .scroll');
                         const wider = s.scrollWidth > s.clientWidth;
                         s.scrollLeft = s.scrollWidth;
                         return wider;",
                        vec![],
                    )
                    .await
                    .unwrap();
                if w < 600 {
                    assert_eq!(scrolls, Value::Bool(true), "the table scrolls in its frame");
                    let png = c.screenshot().await.unwrap();
                    std::fs::write(out.join(format!("table-scrolled-{lang}-{w}.png")), png)
                        .unwrap();
                }
                c.execute(
                    "document.querySelector('.rollup .scroll').scrollLeft = 0",
                    vec![],
                )
                .await
                .unwrap();
                // sort by sign-ups: the header says so
                c.find(Locator::Css("th a[data-sort=registered]"))
                    .await
                    .unwrap()
                    .click()
                    .await
                    .unwrap();
                c.wait()
                    .for_element(Locator::Css(
                        "th[aria-sort=descending] a[data-sort=registered]",
                    ))
                    .await
                    .unwrap();
                // drill down into S11
                c.find(Locator::Css("tr[data-node=S11] a"))
                    .await
                    .unwrap()
                    .click()
                    .await
                    .unwrap();
                c.wait()
                    .for_element(Locator::Css("nav.crumbs [aria-current=page]"))
                    .await
                    .unwrap();
                let u = c.current_url().await.unwrap();
                assert!(u.query().unwrap_or("").contains("node=S11"), "{u}");
                let registered = c
                    .find(Locator::Css("[data-figure=registered]"))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                assert_eq!(registered.trim(), "5");
                let png = c.screenshot().await.unwrap();
                std::fs::write(out.join(format!("drilled-{lang}-{w}.png")), png).unwrap();
                common::browser::logout(&c).await;
            }
            c.close().await.unwrap();
        }
    });
    eprintln!("screenshots in {}", out.display());
}
