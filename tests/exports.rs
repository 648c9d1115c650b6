//! Exports and the files booth leaves: real dates in xlsx, `--out -`, no `.part` file with
//! personal data after a killed export, log files and times in local time with the offset,
//! and no PostgreSQL notices on the server's stderr.

mod common;

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use calamine::{Data, Reader, Xlsx};
use common::net::*;
use common::*;
use serde_json::Value;

/// China Standard Time as a POSIX TZ rule: no tzdata needed, and not the machine's UTC.
const TZ: &str = "CST-8";

fn with_members(n: u32) -> Booth {
    let b = Booth::new();
    let file = b.dir.path().join("roster.csv");
    let mut s = String::from("姓名,身份证号码,手机号,工作单位\n");
    for i in 0..n {
        s += &format!("葛婷婷,{},{},某某快递有限公司\n", valid_id(i), phone(i));
    }
    std::fs::write(&file, s).unwrap();
    let out = b
        .cmd(&["import", file.to_str().unwrap(), "--consent"])
        .env("TZ", TZ)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    b
}

fn column(ws: &calamine::Range<Data>, header: &str) -> usize {
    ws.rows()
        .next()
        .unwrap()
        .iter()
        .position(|c| matches!(c, Data::String(s) if s == header))
        .unwrap_or_else(|| panic!("no column {header}"))
}

#[test]
fn xlsx_dates_are_real_dates_and_times_show_their_offset() {
    let b = with_members(3);
    let out = b.dir.path().join("day.xlsx");
    let o = b
        .cmd(&["export", "--format", "xlsx", "--out", out.to_str().unwrap()])
        .env("TZ", TZ)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let mut wb: Xlsx<_> = calamine::open_workbook(&out).unwrap();
    let ws = wb.worksheet_range_at(0).unwrap().unwrap();
    for header in ["出生日期", "入会日期", "同意时间", "登记时间"] {
        let col = column(&ws, header);
        let cell = ws.get((1, col)).unwrap();
        assert!(
            matches!(cell, Data::DateTime(_)),
            "{header}: {cell:?} is not a date cell"
        );
    }
    let birth = ws.get((1, column(&ws, "出生日期"))).unwrap();
    let Data::DateTime(d) = birth else { panic!() };
    let want = chrono::NaiveDate::parse_from_str(&valid_id(0)[6..14], "%Y%m%d").unwrap();
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
    assert_eq!(
        d.as_f64(),
        (want - epoch).num_days() as f64,
        "Excel serial date"
    );
    // the formats: a date, and a date-time that says its offset
    let mut styles = String::new();
    zip::ZipArchive::new(std::fs::File::open(&out).unwrap())
        .unwrap()
        .by_name("xl/styles.xml")
        .unwrap()
        .read_to_string(&mut styles)
        .unwrap();
    assert!(styles.contains(r#"formatCode="yyyy-mm-dd""#), "{styles}");
    assert!(
        styles.contains(r#"formatCode="yyyy-mm-dd hh:mm:ss&quot;+08:00&quot;""#),
        "{styles}"
    );
    // CSV writes the same times as local time with the offset
    let csv = b.dir.path().join("day.csv");
    b.cmd(&["export", "--format", "csv", "--out", csv.to_str().unwrap()])
        .env("TZ", TZ)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.lines().nth(1).unwrap().contains("+08:00"), "{text}");
}

#[test]
fn out_dash_writes_the_file_to_standard_output_and_nothing_else() {
    let b = with_members(2);
    let o = b.run(&["export", "--format", "json", "--out", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["records"].as_array().unwrap().len(), 2);
    // --json changes nothing: stdout holds the file alone
    let o = b.run(&["export", "--format", "json", "--out", "-", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["count"], 2);
    let o = b.run(&["export", "--format", "csv", "--out", "-"]);
    assert!(
        o.stdout.starts_with("\u{feff}会员编号".as_bytes()),
        "{}",
        stdout(&o)
    );
    assert_eq!(stdout(&o).lines().count(), 3);
    let o = b.run(&["export", "--format", "xlsx", "--out", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut wb = Xlsx::new(std::io::Cursor::new(o.stdout)).unwrap();
    let ws = wb.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(ws.height(), 3);
    // no stray file named "-"
    assert!(!Path::new("-").exists());
    assert!(!b.data().join("-").exists());
}

#[test]
fn an_export_killed_mid_write_leaves_no_part_file_after_the_next_start() {
    let b = with_members(6_000);
    let out = b.dir.path().join("day.csv");
    let part = b.dir.path().join("day.csv.part");
    let mut caught = false;
    for _ in 0..10 {
        let mut child = b
            .cmd(&["export", "--format", "csv", "--out", out.to_str().unwrap()])
            .spawn()
            .unwrap();
        let t = Instant::now();
        // until records are in it
        let written = || std::fs::metadata(&part).is_ok_and(|m| m.len() > 4096);
        while !written() && t.elapsed() < Duration::from_secs(30) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let _ = child.kill(); // SIGKILL: nothing can clean up after itself
        let _ = child.wait();
        if written() {
            caught = true;
            break;
        }
        let _ = std::fs::remove_file(&out);
    }
    assert!(caught, "never caught the export mid-write");
    let text = String::from_utf8_lossy(&std::fs::read(&part).unwrap()).into_owned();
    assert!(
        text.contains("某某快递有限公司"),
        "the .part file holds records"
    );
    // the next start on this data folder removes it (here: a command that does not export)
    let o = b.run(&["stats"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!part.exists(), "the .part file is still there");
    // and a later export completes as usual
    let o = b.run(&["export", "--format", "csv", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.exists() && !part.exists());
}

#[test]
fn log_files_and_their_times_are_local_with_the_offset() {
    let b = Booth::new();
    let o = b.cmd(&["stats"]).env("TZ", TZ).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let shanghai = chrono::Utc::now() + chrono::Duration::hours(8);
    let name = format!("booth.log.{}", shanghai.format("%Y-%m-%d"));
    let log = std::fs::read_to_string(b.data().join("logs").join(&name))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let first = log.lines().next().unwrap();
    let stamp = first.split_whitespace().next().unwrap();
    let t = chrono::DateTime::parse_from_rfc3339(stamp).expect(stamp);
    assert_eq!(t.offset().local_minus_utc(), 8 * 3600, "{first}");
}

#[test]
fn the_server_prints_no_postgresql_notices() {
    let Some(base) = common::tools::postgres_url() else {
        return;
    };
    let url = fresh_pg_database(&base);
    // the second start meets "relation … already exists, skipping" notices
    for name in ["甲", "乙"] {
        // even with the client library's own log lines let through
        let args = ["server", "add-device", name, "--db", &url];
        let mut cmd = std::process::Command::new(booth_bin());
        office_key_env(&mut cmd, &args);
        let out = cmd
            .args(args)
            .env("BOOTH_LOG", "info,tokio_postgres=info")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let err = stderr(&out);
        for word in ["NOTICE", "already exists", ".cargo", "registry/src"] {
            assert!(!err.contains(word), "{word} on stderr: {err}");
        }
    }
}
