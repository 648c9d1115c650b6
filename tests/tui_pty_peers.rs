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
