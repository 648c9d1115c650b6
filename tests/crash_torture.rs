//! Crash torture: registrations and imports SIGKILLed at random moments, at least 200 times.
//! After every kill the store must open, pass `PRAGMA integrity_check`, hold every
//! acknowledged registration exactly once, and a re-run of a killed import must complete it
//! without registering anyone twice. A draft typed in the terminal UI before a kill is offered
//! back. Set `BOOTH_TORTURE_KILLS` for a longer run (figures in docs/reliability.md).

mod common;

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime};

use booth::store::Store;
use common::*;

/// xorshift64*: reproducible from the printed seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Kills the child after `delay` (drawn at random by the caller: the kill point is the test's
/// input) unless it finished first; true if the kill landed.
fn kill_after(mut child: Child, delay: Duration) -> (bool, Option<std::process::Output>) {
    let deadline = Instant::now() + delay;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return (false, child.wait_with_output().ok());
        }
        if Instant::now() >= deadline {
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
            return (true, None);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

struct Check {
    acknowledged: BTreeSet<String>,
}

impl Check {
    /// The store opens, is intact, and holds every acknowledged member exactly once.
    fn verify(&self, b: &Booth, after: &str) {
        let mut store = Store::open(&b.data(), PASS.as_bytes())
            .unwrap_or_else(|e| panic!("store does not open after {after}: {e}"));
        let problems = store.integrity_check().unwrap();
        assert!(
            problems.is_empty(),
            "integrity check after {after}: {problems:?}"
        );
        let stored: BTreeSet<String> = {
            let conn = store.connection();
            let mut stmt = conn.prepare("SELECT member_no FROM members").unwrap();
            stmt.query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .map(|r| {
                    r.unwrap()
                        .parse::<booth::card::MemberNo>()
                        .unwrap()
                        .grouped()
                })
                .collect()
        };
        if let Some(lost) = self.acknowledged.difference(&stored).next() {
            panic!("acknowledged {lost} lost after {after}");
        }
        let (rows, people): (i64, i64) = store
            .connection()
            .query_row(
                "SELECT count(*), count(DISTINCT json_extract(record, '$.document.number')) FROM members",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(rows, people, "someone stored twice after {after}");
    }
}

fn roster(path: &std::path::Path, first: u32, n: u32) {
    let mut s = String::from("姓名,身份证号,手机号,工作单位,同意\n");
    for k in first..first + n {
        s += &format!("职工,{},{},某某快递有限公司,是\n", valid_id(k), phone(k));
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn random_kills_never_lose_or_duplicate_a_registration() {
    let target: usize = std::env::var("BOOTH_TORTURE_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("crash torture seed {seed}");
    let mut rng = Rng(seed);
    let b = Booth::new();
    assert!(b.run(&["stats"]).status.success()); // set up
    let mut check = Check {
        acknowledged: BTreeSet::new(),
    };
    let (mut kills, mut completed, mut n) = (0usize, 0usize, 0u32);
    let started = Instant::now();
    while kills < target {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "torture too slow: {kills} kills"
        );
        if rng.below(5) == 0 {
            // an import of 60 rows, killed somewhere inside, then re-run to completion (small
            // rosters keep the full integrity check after every kill affordable)
            let file = b.dir.path().join(format!("roster{n}.csv"));
            roster(&file, 100_000 + n * 60, 60);
            let child = b
                .cmd(&["import", file.to_str().unwrap(), "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let (killed, _) = kill_after(child, Duration::from_millis(rng.below(200)));
            kills += killed as usize;
            completed += !killed as usize;
            check.verify(&b, &format!("import kill #{kills}"));
            let (out, v) = b.json(&["import", file.to_str().unwrap()]);
            assert!(out.status.success(), "{}", stderr(&out));
            assert_eq!(v["rejected"], 0);
            assert_eq!(
                v["accepted"].as_u64().unwrap() + v["duplicate"].as_u64().unwrap(),
                60,
                "the re-run completes the roster"
            );
            for row in v["rows"].as_array().unwrap() {
                check
                    .acknowledged
                    .insert(row["member_no"].as_str().unwrap().to_string());
            }
        } else {
            let id = valid_id(n);
            let ph = phone(n);
            let child = b
                .cmd(&[
                    "register",
                    "--name",
                    "葛婷婷",
                    "--id",
                    &id,
                    "--phone",
                    &ph,
                    "--employer",
                    "某公司",
                    "--consent",
                    "--json",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            // a registration takes ~50 ms in a debug build: most kills land inside it
            let (killed, out) = kill_after(child, Duration::from_millis(rng.below(70)));
            if killed {
                kills += 1;
            } else if let Some(out) = out {
                completed += 1;
                if out.status.success() {
                    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                    check
                        .acknowledged
                        .insert(v["member_no"].as_str().unwrap().to_string());
                }
            }
            check.verify(&b, &format!("register kill #{kills}"));
        }
        n += 1;
    }
    println!(
        "crash torture: {kills} kills, {completed} completed runs, {} acknowledged registrations, 0 lost, 0 duplicated, {:.0} s",
        check.acknowledged.len(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn drafts_typed_before_a_kill_come_back() {
    use common::pty::*;
    let b = Booth::new();
    assert!(b.run(&["stats"]).status.success());
    for round in 0..5 {
        let drafts = DraftLog::mark(&b.data());
        let mut t = Tui::start_logging_drafts(&b.data(), 80, 24);
        t.wait_for("请输入口令", 10);
        t.send(PASS);
        t.send(ENTER);
        t.wait_for("新会员登记", 10);
        let name = format!("草稿{}", ["甲", "乙", "丙", "丁", "戊"][round]);
        if round > 0 {
            t.send(CTRL_X);
            t.wait_for("清空表单", 5);
            t.send("y");
        }
        t.send(&name);
        // the plug is pulled the moment the draft writer says the whole name is committed
        // (the draft cleared before it does not count)
        drafts.wait_saved(name.chars().count(), 10);
        t.kill9();
        let mut t = Tui::start(&b.data(), 80, 24);
        t.wait_for("请输入口令", 10);
        t.send(PASS);
        t.send(ENTER);
        t.wait_for("未提交的草稿", 10);
        assert!(t.screen().contains(&name), "round {round}: {}", t.screen());
        t.kill9();
    }
    let mut store = Store::open(&b.data(), PASS.as_bytes()).unwrap();
    assert!(store.integrity_check().unwrap().is_empty());
    let _ = store.connection();
}
