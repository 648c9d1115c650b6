//! The booth's TUI holding its data folder (SPEC §12, issues 22 and 25): the real binary in a
//! pseudo-terminal while other `booth` commands run on the same folder from other processes.
//! They run through the TUI over the local socket (proving the passphrase, refused while the
//! TUI is locked) and what they do shows on its screen.

mod common;

use common::pty::*;
use common::*;

/// A booth set up from the command line, its TUI open and unlocked.
fn open(b: &Booth, cols: u16, rows: u16) -> Tui {
    for (k, v) in [("union", "北京市朝阳区总工会"), ("place", "望京SOHO驿站")] {
        let out = b.run(&["config", "set", k, v]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let mut t = Tui::start(&b.data(), cols, rows);
    t.wait_for("请输入口令", 10);
    t.send(PASS);
    t.send(ENTER);
    t.wait_for("新会员登记", 10);
    // the socket is open once the folder is
    let sock = b.data().join("booth.sock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !sock.exists() {
        assert!(std::time::Instant::now() < deadline, "no local socket");
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    t
}

/// Issue 22 item 7, last point: while the TUI holds the folder, `booth register` from another
/// process runs through it (not "in use") and the record shows in the TUI; while the TUI is
/// locked it is refused with a clear message; a wrong passphrase is refused; the socket goes
/// with the TUI.
#[test]
fn commands_on_a_held_folder_run_through_the_tui() {
    let b = Booth::new();
    let mut t = open(&b, 100, 32);

    let (out, v) = b.register_sample();
    assert!(out.status.success(), "{} {v}", stderr(&out));
    let member_no = v["member_no"].as_str().unwrap().to_string();
    // the TUI's figures and records show it, without a key pressed
    t.wait_for("入会 1", 5);
    t.send(F3);
    t.wait_for(&member_no, 5);
    assert!(t.screen().contains("葛婷婷"), "{}", t.screen());

    // locked: refused, saying why, nothing stored
    t.send(F10);
    t.wait_for("已锁屏", 5);
    let out = b.run(&[
        "register",
        "--name",
        "蒋琳",
        "--id",
        "110105198808080023",
        "--phone",
        "13612342222",
        "--employer",
        "顺丰速运",
        "--consent",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("已锁定") && stderr(&out).contains("解锁"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).is_empty(),
        "no JSON without --json: {}",
        stdout(&out)
    );
    let (out, v) = b.json(&["stats"]);
    assert!(!out.status.success());
    assert_eq!(v["error"], "locked", "{v}");

    // unlocked again: it runs; a wrong passphrase never does
    t.send(PASS);
    t.send(ENTER);
    t.wait_for("已列出 1 条", 10);
    let (out, v) = b.json(&["stats"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["registered"], 1, "{v}");
    let out = b
        .cmd(&["stats", "--json"])
        .env("BOOTH_PASSPHRASE", "not-the-passphrase")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("口令不对"), "{}", stderr(&out));

    t.send(CTRL_Q);
    assert_eq!(t.wait_exit(10), Some(0));
    assert!(
        !b.data().join("booth.sock").exists(),
        "the socket goes with the TUI"
    );
    // nobody holds the folder now: the command opens it itself
    let (out, v) = b.json(&["stats"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["registered"], 1, "{v}");
}

/// Enrols the booth's laptop with the office in `db` as `name` (the same office for all).
fn enrol(b: &Booth, db: &str, name: &str) {
    enrol_at(b, db, name, "http://127.0.0.1:9")
}

/// Enrols with the office in `db` answering at `url`.
fn enrol_at(b: &Booth, db: &str, name: &str, url: &str) {
    use std::io::Write;
    let (out, v) = common::net::server_cmd(&["add-device", name, "--db", db, "--server-url", url]);
    assert!(out.status.success(), "{v}");
    let code = v["enrolment_code"].as_str().unwrap().to_string();
    let mut enroll = b
        .cmd(&["enroll", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    enroll
        .stdin
        .take()
        .unwrap()
        .write_all(code.as_bytes())
        .unwrap();
    let out = enroll.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

/// `booth peers run` on loopback for the laptop `b` (a second laptop without a screen).
fn peers_run(b: &Booth) -> std::process::Child {
    let child = b
        .cmd(&["peers", "run", "--listen", "127.0.0.1:0", "--no-discovery"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !(b.data().join("booth.sock").exists() && b.run(&["peers", "list"]).status.success()) {
        assert!(
            std::time::Instant::now() < deadline,
            "peers run holds its folder"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child
}

fn wait_until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {secs}s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Issue 25 in the TUI: the TUI runs the peer service (it pairs through `booth peers code`
/// run on its folder); a person registered on the paired laptop is named in the form within
/// 2 s of the ID number and refused as a local duplicate is; a person registered on both while
/// they were apart shows in F3 as a conflict, until one record is voided.
#[test]
fn the_tui_runs_the_peer_service_and_catches_the_same_person() {
    let office = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", office.path().join("office.db").display());
    let (out, v) = common::net::server_cmd(&["init", "--db", &db]);
    assert!(out.status.success(), "{v}");
    let a = Booth::new();
    let b = Booth::new();
    enrol(&a, &db, "lap-a");
    enrol(&b, &db, "lap-b");
    let mut t = open(&a, 100, 32);
    let mut run_b = peers_run(&b);

    // pairing: the code shown by the TUI's service, typed on the other laptop
    let (out, v) = a.json(&["peers", "code"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, addr) = (v["code"].as_str().unwrap(), v["address"].as_str().unwrap());
    let out = b.run(&["peers", "pair", code, "--addr", addr]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_until("the laptops in session", 10, || {
        let (_, v) = a.json(&["peers", "list"]);
        v["peers"][0]["connected"] == true
    });

    // B registers a worker; A's form names B, the time and B's number, never the name
    let (out, v) = b.register("蒋琳", "110105198808080023", "13612342222");
    assert!(out.status.success(), "{v}");
    let b_no = v["member_no"].as_str().unwrap().to_string();
    let typed = std::time::Instant::now();
    t.send("蒋小琳");
    t.send(TAB);
    t.send("110105198808080023");
    t.wait_for(&format!("在 lap-b 登记：{b_no}"), 5);
    assert!(typed.elapsed() < std::time::Duration::from_secs(5));
    t.send("13612342222");
    t.send("顺丰速运");
    t.send(TAB);
    t.send("y");
    t.wait_for("此人已于", 5);
    let (_, v) = a.json(&["stats"]);
    assert_eq!(v["registered"], 0, "refused: nothing stored on A: {v}");
    t.send(CTRL_X);
    t.wait_for("清空表单", 5);
    t.send("y");

    // apart: the same person registered on both
    run_b.kill().unwrap();
    run_b.wait().unwrap();
    let (out, v) = a.register("王秀英", "320102199303030076", "13912345678");
    assert!(out.status.success(), "{v}");
    let a_no = v["member_no"].as_str().unwrap().to_string();
    let (out, v) = b.register("王秀英", "320102199303030076", "13912345678");
    assert!(out.status.success(), "B did not know yet: {v}");
    let b2_no = v["member_no"].as_str().unwrap().to_string();
    // together again: A's F3 shows the conflict, the row marked
    let mut run_b = peers_run(&b);
    t.send(F3);
    t.wait_for("1 人在本机和配对的电脑上都登记了", 15);
    t.wait_for(&b2_no, 2);
    t.wait_for("⚠冲突", 2);
    // A voids its own: the conflict is gone
    t.send(&a_no[..6]);
    t.wait_for("已列出 1 条", 5);
    t.send(ENTER);
    t.wait_for("重复登记", 5);
    t.send("v");
    t.wait_for("作废原因", 5);
    t.send("与2号电脑重复");
    t.send(ENTER);
    t.wait_for(&format!("已作废 {a_no}"), 5);
    t.send(ESC);
    t.wait_for("已列出 1 条", 5);
    wait_until("the conflict resolved", 5, || {
        !t.screen().contains("都登记了") && !t.screen().contains("⚠冲突")
    });
    t.send(CTRL_Q);
    let exit = t.wait_exit(10);
    assert_eq!(exit, Some(0), "{}", t.screen());
    run_b.kill().unwrap();
    run_b.wait().unwrap();
}

/// Issue 25 items 1 and 4 on the peers screen (Shift-F5): a code shown with its address, a
/// laptop that pairs with it named for the operator to confirm, the paired laptops with what
/// is held for each; another laptop's code and address typed to pair with it.
#[test]
fn the_peers_screen_pairs_both_ways_and_shows_what_it_holds() {
    let office = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", office.path().join("office.db").display());
    let (out, v) = common::net::server_cmd(&["init", "--db", &db]);
    assert!(out.status.success(), "{v}");
    let (a, b, c) = (Booth::new(), Booth::new(), Booth::new());
    enrol(&a, &db, "lap-a");
    enrol(&b, &db, "lap-b");
    enrol(&c, &db, "lap-c");
    let mut t = open(&a, 100, 32);
    let mut run_b = peers_run(&b);
    let mut run_c = peers_run(&c);

    t.send("\x1b[15;2~"); // Shift-F5
    t.wait_for("同一展位的电脑", 5);
    t.wait_for("还没有配对的电脑", 5);
    t.send("\x0e"); // Ctrl-N: a code, and the address to type with it
    t.wait_for("（输错 3 次作废）", 5);
    let screen = t.screen();
    let line = screen.lines().find(|l| l.contains("配对码 ")).unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    let code = words[1].to_string();
    let addr = words[3].to_string();
    assert!(
        code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()),
        "{line}"
    );
    assert!(addr.starts_with("127.0.0.1:"), "{line}");
    let out = b.run(&["peers", "pair", &code, "--addr", &addr]);
    assert!(out.status.success(), "{}", stderr(&out));
    // the newcomer named, for the operator's word
    t.wait_for("lap-b 用本机的配对码加入了本组", 5);
    t.send("y");
    t.wait_for("● lap-b", 10);

    // what B registers, A holds for it (sealed), and says so
    let (out, v) = b.register("蒋琳", "110105198808080023", "13612342222");
    assert!(out.status.success(), "{v}");
    t.wait_for("为 lap-b 保管 1 条", 10);

    // C shows a code; A types it with C's address
    let (out, v) = c.json(&["peers", "code"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, addr) = (v["code"].as_str().unwrap(), v["address"].as_str().unwrap());
    t.send(code);
    t.send(TAB);
    t.send(addr);
    t.send(ENTER);
    t.wait_for("已与 lap-c 配对", 10);
    t.wait_for("● lap-c", 10);

    t.send(CTRL_Q);
    assert_eq!(t.wait_exit(10), Some(0), "{}", t.screen());
    for r in [&mut run_b, &mut run_c] {
        r.kill().unwrap();
        r.wait().unwrap();
    }
}

/// Issue 25 items 5 and 6 on the upload screen (F5): the records held for a paired laptop are
/// said, and go to the office after this laptop's own (the office takes them under the other
/// laptop); "导出到U盘" writes the queue sealed to a file the office imports.
#[test]
fn the_upload_screen_sends_what_it_holds_and_exports_to_a_file() {
    let office = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", office.path().join("office.db").display());
    let server = common::net::Server::start(&db);
    let (a, b) = (Booth::new(), Booth::new());
    enrol_at(&a, &db, "lap-a", &server.url());
    enrol_at(&b, &db, "lap-b", &server.url());
    let mut t = open(&a, 100, 32);
    let mut run_b = peers_run(&b);
    let (out, v) = a.json(&["peers", "code"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = b.run(&[
        "peers",
        "pair",
        v["code"].as_str().unwrap(),
        "--addr",
        v["address"].as_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (out, v) = b.register("蒋琳", "110105198808080023", "13612342222");
    assert!(out.status.success(), "{v}");
    let b_no = v["member_no"].as_str().unwrap().to_string();
    wait_until("A holds B's record", 10, || {
        let (_, v) = a.json(&["peers", "list"]);
        v["peers"][0]["held"] == 1
    });
    // B is lost before it uploads anything
    run_b.kill().unwrap();
    run_b.wait().unwrap();
    let (out, _) = a.register_sample();
    assert!(out.status.success());

    // the file first: written sealed, beside nothing else
    let file = a.dir.path().join("stick").join("booth-backup.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    t.send(F5);
    t.wait_for("另为配对的电脑保管 1 条", 5);
    t.send("b");
    t.wait_for("导出到U盘：", 5);
    t.send("\x15"); // Ctrl-U: the path offered goes
    t.send(file.to_str().unwrap());
    t.send(ENTER);
    t.wait_for("已写入", 10);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("蒋琳") && !text.contains("葛婷婷"), "sealed");

    // the upload: A's own record, then B's held for it
    t.send(ENTER);
    t.wait_for("为其他电脑送交 1 条；仍保管 0 条", 20);
    t.send(CTRL_Q);
    assert_eq!(t.wait_exit(10), Some(0), "{}", t.screen());

    let export = office.path().join("office.json");
    let (out, _) = common::net::server_cmd(&[
        "export",
        "--format",
        "json",
        "--out",
        export.to_str().unwrap(),
        "--db",
        &db,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let recs = v["records"].as_array().unwrap();
    assert_eq!(recs.len(), 2, "{v}");
    assert!(
        recs.iter()
            .any(|r| r["member_no"] == b_no.as_str() && r["device"] == "lap-b"),
        "{v}"
    );
    // the file imported after: nothing doubled
    let (out, v) = common::net::server_cmd(&["import-backup", file.to_str().unwrap(), "--db", &db]);
    assert!(out.status.success(), "{} {v}", stderr(&out));
    let stats = common::net::server_stats(&db);
    assert_eq!(stats["members"], 2, "{stats}");
}
