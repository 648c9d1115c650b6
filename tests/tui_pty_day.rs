//! Issue 22 end to end: the real binary in a pseudo-terminal, typed at as a cadre types. A
//! cadre's habits store every worker as meant (items 1, 2); a roster is imported and the
//! settings changed without a shell (item 7); a record the office already has is voided from
//! the records and the office revokes its number (item 7); an upload to an office that stopped
//! answering is cancelled at once (item 8).

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::pty::*;
use common::*;

/// A booth set up from the command line, its TUI open and unlocked at `cols`×`rows`.
fn open(b: &Booth, cols: u16, rows: u16) -> Tui {
    let t = Tui::start(&b.data(), cols, rows);
    t.wait_for("请输入口令", 10);
    let mut t = t;
    t.send(PASS);
    t.send(ENTER);
    t.wait_for("新会员登记", 10);
    t
}

fn set_up(b: &Booth) {
    for (k, v) in [("union", "北京市朝阳区总工会"), ("place", "望京SOHO驿站")] {
        let out = b.run(&["config", "set", k, v]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

/// Every record of the data folder as (name, ID number, phone, employer), sorted.
fn stored(b: &Booth) -> Vec<(String, String, String, String)> {
    let out = b.dir.path().join("all.json");
    let export = b.run(&[
        "export",
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
        "--state",
        "all",
    ]);
    assert!(export.status.success(), "{}", stderr(&export));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let mut got: Vec<_> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let f = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (f("name"), f("id_number"), f("phone"), f("employer"))
        })
        .collect();
    got.sort();
    got
}

fn worker(n: &str, id: &str, p: &str, e: &str) -> (String, String, String, String) {
    (n.into(), id.into(), p.into(), e.into())
}

/// Items 1 and 2: a typist's Tab after the automatic moves, a bounced double Y, and typing on
/// F7's screen over a draft. Each worker stored exactly as meant, nothing else.
#[test]
fn a_cadres_habits_store_every_worker_as_meant() {
    let b = Booth::new();
    set_up(&b);
    let mut t = open(&b, 80, 24);
    // a Tab after every field, also after the ID's and the phone's own moves
    for s in [
        "张伟",
        TAB,
        "440306198801014561",
        TAB,
        "13600001111",
        TAB,
        "美团外卖望京站",
        TAB,
        "y",
    ] {
        t.send(s);
    }
    t.wait_for("入会 1", 10);
    // a bounced Y: one registration, and no "y" begins the next worker's name
    t.send("李娜");
    t.send(TAB);
    t.send("320502199003151230");
    t.send("13812345678");
    t.send("顺丰速运");
    t.send(TAB);
    t.send("yy");
    t.wait_for("入会 2", 10);
    t.send("高文博");
    t.send(TAB);
    t.send("110108198511202340");
    t.send("13912340000");
    t.send("京东物流");
    t.send(TAB);
    t.send("y");
    t.wait_for("入会 3", 10);
    // a draft, F7 to show the last code, a character typed there: refused, said
    t.send("钱多多");
    t.send("\x1b[18~"); // F7
    t.wait_for("登记成功", 5);
    t.send("赵");
    t.wait_for("未录入", 5);
    t.send(F2);
    t.wait_for("钱多多", 5);
    assert!(!t.screen().contains("钱多多赵"), "{}", t.screen());
    t.send(TAB);
    t.send("310115199207073455");
    t.send("13700001234");
    t.send("饿了么");
    t.send(TAB);
    t.send("y");
    t.wait_for("入会 4", 10);
    t.send(CTRL_Q);
    assert_eq!(t.wait_exit(10), Some(0));
    assert_eq!(
        stored(&b),
        vec![
            worker(
                "张伟",
                "440306198801014561",
                "13600001111",
                "美团外卖望京站"
            ),
            worker("李娜", "320502199003151230", "13812345678", "顺丰速运"),
            worker("钱多多", "310115199207073455", "13700001234", "饿了么"),
            worker("高文博", "110108198511202340", "13912340000", "京东物流"),
        ]
    );
}

/// Item 7: a roster imported from the TUI (path completed with Tab, the consent question of
/// a roster without a consent column, the report row by row), and a setting changed with a
/// test print — no shell.
#[test]
fn a_roster_is_imported_and_a_setting_changed_without_a_shell() {
    let b = Booth::new();
    set_up(&b);
    let rosters = b.dir.path().join("名单");
    std::fs::create_dir(&rosters).unwrap();
    std::fs::write(
        rosters.join("顺丰.csv"),
        "姓名,身份证号,手机号,工作单位\n\
         葛婷婷,11010519491231002X,13800138000,顺丰速运\n\
         王建国,110105198001010016,13900139000,顺丰速运\n\
         张三,110105194912310021,13700001234,顺丰速运\n",
    )
    .unwrap();
    let test_printer = b.dir.path().join("test-print.bin");
    let mut t = open(&b, 100, 32);
    t.send("\x1b[20~"); // F9
    t.wait_for("导入名单", 5);
    t.send("\x15"); // Ctrl-U: the home folder goes
    t.send(&format!("{}/名", b.dir.path().display()));
    t.send(TAB); // completes the folder's name
    t.wait_for("名单/", 5);
    t.send(TAB); // and the one file in it
    t.wait_for("顺丰.csv", 5);
    t.send(ENTER);
    t.wait_for("名单共 3 行", 10);
    t.wait_for("没有“同意”列", 5);
    t.send(ENTER); // not before the question is answered
    t.send("y");
    t.wait_for("已确认", 5);
    t.send(ENTER);
    t.wait_for("接受 2，退回 1", 20);
    t.wait_for("第 4 行", 5);
    // imported workers are members, not the booth's sign-ups: the day's count stays 0
    assert!(t.screen().contains("入会 0"), "{}", t.screen());
    assert!(t.screen().contains("待上传 2"), "{}", t.screen());
    t.send(F3);
    // marked as imported in the list (the header's "F9 导入" aside: with the day)
    t.wait_for(&chrono::Local::now().format("导入 %m-%d").to_string(), 10);

    // the settings: the place changed, a printer tested
    t.send("\x1b[23~"); // F11
    t.wait_for("自动锁屏", 5);
    t.send("\x15");
    t.send("顺丰望京站");
    t.send(TAB);
    t.wait_for("✓ 已保存", 5);
    t.send(TAB); // past the operator, to the printer
    t.send("\x15");
    t.send(&format!("file:{}", test_printer.display()));
    t.send("\x10"); // Ctrl-P: a test slip
    t.wait_for("测试页已发送", 10);
    assert!(std::fs::metadata(&test_printer).unwrap().len() > 0);
    t.send(ESC);
    t.wait_for("新会员登记", 5);
    assert!(
        t.screen().contains("顺丰望京站"),
        "the header names the new place"
    );
    t.send(CTRL_Q);
    assert_eq!(t.wait_exit(10), Some(0));
    let out = b.run(&["config", "get", "place"]);
    assert_eq!(stdout(&out).trim(), "顺丰望京站");
    let out = b.run(&["config", "get", "printer"]);
    assert!(
        stdout(&out).contains("test-print.bin"),
        "saved on leaving it"
    );
    let mut got = stored(&b);
    got.retain(|r| r.3 == "顺丰速运");
    assert_eq!(got.len(), 2);
}

/// A laptop enrolled with an office running on loopback; returns the server.
fn enrolled(b: &Booth, db: &str) -> common::net::Server {
    use common::net::{Server, server_cmd};
    let server = Server::start(db);
    let (out, v) = server_cmd(&[
        "add-device",
        "laptop-pty",
        "--db",
        db,
        "--server-url",
        &server.url(),
    ]);
    assert!(out.status.success(), "{v}");
    let code = v["enrolment_code"].as_str().unwrap().to_string();
    let mut enroll = b
        .cmd(&["enroll", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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
    server
}

/// Item 7: a record already at the office, voided from its view in the records (F3, V, a
/// reason): the void goes with the next upload and the office revokes the number.
#[test]
fn a_void_of_an_uploaded_record_reaches_the_office() {
    let b = Booth::new();
    set_up(&b);
    let db = format!("sqlite:{}", b.dir.path().join("office.db").display());
    let server = enrolled(&b, &db);
    let (out, v) = b.register_sample();
    assert!(out.status.success(), "{v}");
    let member_no = v["member_no"].as_str().unwrap().to_string();
    let out = b.run(&["upload"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let mut t = open(&b, 100, 32);
    t.send(F3);
    t.wait_for("已上传", 10);
    t.send(ENTER);
    t.wait_for("V 作废", 5);
    t.send("v");
    t.wait_for("工会撤销此会员编号", 5);
    t.send("登记错了");
    t.send(ENTER);
    t.wait_for(&format!("已作废 {member_no}"), 5);
    t.send(F5);
    t.wait_for("待上传记录", 5);
    t.send(ENTER);
    t.wait_for("已发送", 20);
    t.send(CTRL_Q);
    assert_eq!(t.wait_exit(10), Some(0));

    let env: serde_json::Value = common::net::http_client()
        .get(format!("{}/v1/bundle", server.url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let body = data_encoding::BASE64URL_NOPAD
        .decode(env["body"].as_str().unwrap().as_bytes())
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body["revoked"],
        serde_json::json!([member_no.replace('-', "")]),
        "{body}"
    );
}

/// Item 8: the office stops answering (SIGSTOP: connections are still accepted by the
/// kernel, nothing comes back); the upload runs, and C gives the screen back within a second,
/// the records still queued.
#[test]
fn cancel_gives_the_screen_back_at_once_when_the_office_stopped_answering() {
    use rustix::process::{Pid, Signal, kill_process};
    let b = Booth::new();
    set_up(&b);
    let db = format!("sqlite:{}", b.dir.path().join("office.db").display());
    let server = enrolled(&b, &db);
    let (out, v) = b.register_sample();
    assert!(out.status.success(), "{v}");
    let pid = Pid::from_raw(server.pid() as i32).unwrap();
    kill_process(pid, Signal::STOP).unwrap();
    // given back to the system whatever the test's outcome
    struct Continue(Pid);
    impl Drop for Continue {
        fn drop(&mut self) {
            let _ = kill_process(self.0, Signal::CONT);
        }
    }
    let _cont = Continue(pid);

    let mut t = open(&b, 80, 24);
    t.send(F5);
    t.wait_for("待上传记录：1 条", 5);
    t.send(ENTER);
    t.wait_for("正在连接", 5);
    // the office does not answer: a second later the upload still waits on it
    std::thread::sleep(Duration::from_secs(1));
    assert!(t.screen().contains("正在连接"), "{}", t.screen());
    let asked = Instant::now();
    t.send("c");
    t.wait_for("上传已取消", 5);
    let took = asked.elapsed();
    eprintln!("cancel to the screen given back: {} ms", took.as_millis());
    assert!(took < Duration::from_secs(1), "cancel took {took:?}");
    assert!(t.screen().contains("待上传记录：1 条"), "{}", t.screen());
    t.send(CTRL_Q);
    assert_eq!(t.wait_exit(10), Some(0));
    let (out, v) = b.json(&["stats"]);
    assert!(out.status.success());
    assert_eq!(v["queued"], 1, "still queued: {v}");
}
