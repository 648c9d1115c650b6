//! End-to-end tests of the command line: the real binary on a temporary data folder.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn register_prints_member_number_uuid_and_payload() {
    let b = Booth::new();
    let (out, v) = b.register_sample();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["ok"], true);
    let no = v["member_no"].as_str().unwrap();
    assert_eq!(no.len(), 13, "{no}");
    assert!(v["uuid"].as_str().unwrap().len() == 36);
    assert!(v["qr_payload"].as_str().unwrap().len() > 80);
    // The payload verifies with this laptop's own key.
    let (out, vv) = b.json(&["verify", v["qr_payload"].as_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(vv["member_no"], no);
}

#[test]
fn refusals_name_the_field_and_reason_and_exit_non_zero() {
    let b = Booth::new();
    assert!(b.register_sample().0.status.success());

    // the same person again: who and when, with the member number
    let (out, v) = b.register("葛婷婷", "11010519491231002x", "13800138000");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["error"], "duplicate");
    let err = stderr(&out);
    assert!(err.contains("已登记") && err.contains("葛婷婷"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    // wrong check character
    let (out, v) = b.register("张三", "110105194912310021", "13800138000");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["errors"][0]["field"], "id_number");
    assert_eq!(v["errors"][0]["code"], "check_char");

    // an eleven-year-old
    let (out, v) = b.register("李小", &id_born(2015, 3, 1, 11), "13800138001");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["errors"][0]["code"], "too_young");
    assert!(stderr(&out).contains("未满 16 周岁"));

    // phone 12345
    let (out, v) = b.register("王五", &valid_id(7), "12345");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["errors"][0]["field"], "phone");
    assert!(stderr(&out).contains("手机号"));

    // a future birth date, 31 February
    let (_, v) = b.register("赵六", &id_born(2030, 1, 1, 11), "13800138002");
    assert_eq!(v["errors"][0]["code"], "future_birth");
    let (_, v) = b.register("赵六", &id_born(1990, 2, 31, 11), "13800138002");
    assert_eq!(v["errors"][0]["code"], "bad_date");

    // an escape sequence in a name
    let (out, v) = b.register("张\u{1b}[31m三", &valid_id(8), "13800138003");
    assert_eq!(v["errors"][0]["field"], "name");
    assert!(
        !stderr(&out).contains('\u{1b}'),
        "escape echoed to the terminal"
    );

    // without consent
    let out = b.run(&[
        "register",
        "--name",
        "周七",
        "--id",
        &valid_id(9),
        "--phone",
        "13800138004",
        "--employer",
        "某公司",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("同意"));

    // English messages on request
    let out = b.run(&[
        "--lang",
        "en",
        "register",
        "--name",
        "",
        "--id",
        &valid_id(10),
        "--phone",
        "13800138005",
        "--employer",
        "x",
        "--consent",
    ]);
    assert!(
        stderr(&out).contains("Name: is required"),
        "{}",
        stderr(&out)
    );

    let (_, s) = b.json(&["stats"]);
    assert_eq!(s["registered"], 1);
}

#[test]
fn full_width_input_is_normalised() {
    let b = Booth::new();
    let (out, v) = b.json(&[
        "register",
        "--name",
        " 葛婷婷 ",
        "--id",
        "１１０１０５ １９４９１２３１ ００２ｘ",
        "--phone",
        "+86 138-0013-8000",
        "--employer",
        "某公司",
        "--consent",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["doc_type"], "resident_id");
}

#[test]
fn wrong_passphrase_is_one_line_and_touches_nothing() {
    let b = Booth::new();
    assert!(b.register_sample().0.status.success());
    let db = b.data().join("booth.db");
    let before = std::fs::read(&db).unwrap();
    let out = b
        .cmd(&["stats"])
        .env("BOOTH_PASSPHRASE", "wrong")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.trim(), "booth: 口令不对", "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), before);
    assert!(
        !b.data().join("booth.db-wal").exists()
            || std::fs::metadata(b.data().join("booth.db-wal"))
                .unwrap()
                .len()
                == 0
    );
}

#[test]
fn a_second_process_gets_in_use() {
    let b = Booth::new();
    assert!(b.run(&["stats"]).status.success());
    // Another holder of the folder lock (as a running `booth` would be).
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(b.data().join("booth.lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let out = b.run(&["stats"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("正被另一个 booth 程序使用"),
        "{}",
        stderr(&out)
    );
    drop(lock);
    assert!(b.run(&["stats"]).status.success());
}

#[test]
fn nothing_personal_in_clear_anywhere_in_the_data_folder() {
    let b = Booth::new();
    assert!(b.register_sample().0.status.success());
    let _ = b.register_sample(); // duplicate: error path logs too
    let _ = b.register("王小二", "110105194912310021", "13900139000"); // refused
    b.run(&["consult"]);
    for needle in [
        "葛婷婷",
        "11010519491231002X",
        "13800138000",
        "王小二",
        "110105194912310021",
        "13900139000",
    ] {
        assert_eq!(
            folder_contains(&b.data(), needle.as_bytes()),
            None,
            "{needle} in clear"
        );
    }
    // the log exists and says something
    let logs: Vec<_> = std::fs::read_dir(b.data().join("logs")).unwrap().collect();
    assert!(!logs.is_empty());
}

#[cfg(unix)]
#[test]
fn data_folder_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let b = Booth::new();
    assert!(b.register_sample().0.status.success());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&b.data()), 0o700);
    for e in std::fs::read_dir(b.data()).unwrap().flatten() {
        let p = e.path();
        let m = mode(&p);
        if p.is_dir() {
            assert_eq!(m, 0o700, "{}", p.display());
        } else {
            assert_eq!(m, 0o600, "{}", p.display());
        }
    }
}

#[test]
fn consultations_and_stats() {
    let b = Booth::new();
    for _ in 0..3 {
        assert!(b.run(&["consult"]).status.success());
    }
    assert!(b.run(&["consult", "--undo"]).status.success());
    b.register_sample();
    let (_, v) = b.json(&["stats"]);
    for key in [
        "consultations",
        "registered",
        "queued",
        "uploaded",
        "voided",
        "rejected",
    ] {
        assert!(v.get(key).is_some(), "stats lacks {key}");
    }
    assert_eq!(v["consultations"], 2);
    assert_eq!(v["registered"], 1);
    assert_eq!(v["queued"], 1);
    assert!((v["conversion"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
}

#[test]
fn void_releases_the_person() {
    let b = Booth::new();
    let (_, v) = b.register_sample();
    let no = v["member_no"].as_str().unwrap().to_string();
    // no printer: the slip is saved in the data folder
    let out = b.run(&["print", &no]);
    assert!(out.status.success(), "{}", stderr(&out));
    let slips = b.data().join("slips");
    assert_eq!(std::fs::read_dir(&slips).unwrap().count(), 1);
    let out = b.run(&["void", &no, "--reason", "登记错了"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // a voided member's code would still verify: its saved slip goes, and no new one is made
    assert_eq!(std::fs::read_dir(&slips).unwrap().count(), 0);
    let png = b.dir.path().join("void.png");
    for args in [
        vec!["card", &no, "--png", png.to_str().unwrap()],
        vec!["print", &no],
    ] {
        let out = b.run(&args);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains("已作废"), "{}", stderr(&out));
    }
    assert!(!png.exists());
    let (_, s) = b.json(&["stats"]);
    assert_eq!(s["voided"], 1);
    assert_eq!(s["registered"], 0);
    assert!(b.register_sample().0.status.success());
}

#[test]
fn config_set_get_list_and_bad_values() {
    let b = Booth::new();
    assert!(
        b.run(&["config", "set", "union", "北京市朝阳区总工会"])
            .status
            .success()
    );
    assert!(
        b.run(&["config", "set", "token", "abcdefghijkl"])
            .status
            .success()
    );
    let out = b.run(&["config", "get", "union"]);
    assert_eq!(stdout(&out).trim(), "北京市朝阳区总工会");
    let out = b.run(&["config", "list"]);
    assert!(
        stdout(&out).contains("token = abcd…"),
        "token must be masked"
    );
    let out = b.run(&["config", "set", "paper", "57"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("paper"));
    let out = b.run(&["config", "set", "colour", "red"]);
    assert_eq!(out.status.code(), Some(1));
    // the union name is in clear nowhere, nor is the operator's name
    assert!(
        b.run(&["config", "set", "operator", "李淑芬"])
            .status
            .success()
    );
    assert_eq!(folder_contains(&b.data(), "李淑芬".as_bytes()), None);
    // language goes to the keyfile so the prompt speaks it
    assert!(b.run(&["config", "set", "language", "en"]).status.success());
    let out = b
        .cmd(&["stats"])
        .env("BOOTH_PASSPHRASE", "wrong")
        .output()
        .unwrap();
    assert_eq!(stderr(&out).trim(), "booth: wrong passphrase");
}

#[test]
fn export_json_csv_xlsx() {
    let b = Booth::new();
    b.register_sample();
    b.json(&[
        "register",
        "--name",
        "=HYPERLINK(\"x\")",
        "--id",
        &valid_id(1),
        "--phone",
        "13800138001",
        "--employer",
        "=1+1",
        "--consent",
    ]);
    let dir = b.dir.path();
    let json_path = dir.join("day.json");
    let out = b.run(&[
        "export",
        "--format",
        "json",
        "--out",
        json_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    assert_eq!(
        v["records"].as_array().unwrap().len(),
        1,
        "the formula name is not a valid name"
    );
    assert_eq!(v["records"][0]["id_number"], "11010519491231002X");

    b.json(&[
        "register",
        "--name",
        "张三",
        "--id",
        &valid_id(2),
        "--phone",
        "13800138002",
        "--employer",
        "=1+1",
        "--consent",
    ]);
    let csv_path = dir.join("day.csv");
    assert!(
        b.run(&[
            "export",
            "--format",
            "csv",
            "--out",
            csv_path.to_str().unwrap()
        ])
        .status
        .success()
    );
    let bytes = std::fs::read(&csv_path).unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "CSV needs a BOM for Excel"
    );
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("姓名") && text.contains("身份证号") && text.contains("出生日期"));
    assert!(text.contains("'=1+1"), "formula not neutralised: {text}");

    let xlsx_path = dir.join("day.xlsx");
    assert!(
        b.run(&[
            "export",
            "--format",
            "xlsx",
            "--out",
            xlsx_path.to_str().unwrap(),
            "--state",
            "queued"
        ])
        .status
        .success()
    );
    use calamine::{Reader, open_workbook_auto};
    let mut wb = open_workbook_auto(&xlsx_path).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0][1], "姓名");
    let id_col = rows[0].iter().position(|h| h == "身份证号").unwrap();
    assert_eq!(rows[1][id_col], "11010519491231002X", "IDs stay text");
    assert!(rows[2].iter().any(|c| c == "'=1+1"));

    let out = b.run(&["export", "--format", "pdf", "--out", "x"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_passphrase_never_reaches_a_child_environment_or_the_folder() {
    let b = Booth::new();
    b.run(&["stats"]);
    assert_eq!(folder_contains(&b.data(), PASS.as_bytes()), None);
}

#[test]
fn no_passphrase_and_no_terminal_is_a_clear_error() {
    let b = Booth::new();
    let out = b
        .cmd(&["stats"])
        .env_remove("BOOTH_PASSPHRASE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("BOOTH_PASSPHRASE"),
        "{}",
        stderr(&out)
    );
    assert!(
        !b.data().join("booth.db").exists(),
        "nothing set up without a passphrase"
    );
    let out = b
        .cmd(&["stats"])
        .env("BOOTH_PASSPHRASE", "")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("口令不能为空"));
}

/// `booth export … | head` closes the pipe early: the command ends normally, no panic.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let b = Booth::new();
    let (out, _) = b.register_sample();
    assert!(out.status.success(), "{}", stderr(&out));
    for args in [&["stats", "--json"][..], &["stats"], &["register"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader); // every write to stdout now fails with EPIPE
        let out = b
            .cmd(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
    }
}

#[test]
fn a_refused_command_line_is_a_json_error_too_when_json_was_asked_for() {
    let b = Booth::new();
    let (out, v) = b.json(&["register", "--name", "测"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(v["error"], "usage", "{v}");
    assert!(v["message"].as_str().unwrap().contains("--id"), "{v}");
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    // without --json clap's own help-style message stays
    let out = b.run(&["register", "--name", "测"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Usage:"));
    assert!(b.run(&["--help"]).status.success());
}

#[test]
fn a_number_starting_with_a_letter_is_a_passport_without_saying_so() {
    let b = Booth::new();
    let (out, v) = b.json(&[
        "register",
        "--name",
        "John Smith",
        "--id",
        "E12345678",
        "--phone",
        "13800138000",
        "--employer",
        "ACME",
        "--consent",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["doc_type"], "passport");
    // an ID number is still checked as one
    let (out, v) = b.json(&[
        "register",
        "--name",
        "张三",
        "--id",
        "110105194912310021",
        "--phone",
        "13800138001",
        "--employer",
        "ACME",
        "--consent",
    ]);
    assert!(!out.status.success());
    assert_eq!(v["error"], "invalid", "{v}");
}
