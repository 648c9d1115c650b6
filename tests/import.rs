//! `booth import`: rosters as union offices and HR departments really send them.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use rust_xlsxwriter::{Format, Workbook};
use serde_json::Value;

const HEADER: [&str; 5] = ["姓名", "身份证号码", "手机号", "工作单位", "同意"];

fn rows(n: u32, offset: u32) -> Vec<[String; 5]> {
    (0..n)
        .map(|i| {
            let k = i + offset;
            [
                format!("职工{}", ["甲", "乙", "丙", "丁"][k as usize % 4]),
                valid_id(k),
                phone(k),
                "某某快递有限公司".to_string(),
                "是".to_string(),
            ]
        })
        .collect()
}

fn write_csv(path: &Path, header: &[&str], rows: &[[String; 5]]) {
    let mut s = header.join(",") + "\n";
    for r in rows {
        s += &r.join(",");
        s += "\n";
    }
    std::fs::write(path, s).unwrap();
}

fn import(b: &Booth, file: &Path, extra: &[&str]) -> (std::process::Output, Value) {
    let mut args = vec!["import", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    b.json(&args)
}

fn statuses(v: &Value) -> (u64, u64, u64) {
    (
        v["accepted"].as_u64().unwrap(),
        v["rejected"].as_u64().unwrap(),
        v["duplicate"].as_u64().unwrap(),
    )
}

#[test]
fn a_roster_with_one_bad_row_imported_twice_registers_nobody_twice() {
    let b = Booth::new();
    let mut r = rows(51, 100);
    r[17][1] = "110105194912310021".into(); // wrong check character
    let file = b.dir.path().join("roster.csv");
    write_csv(&file, &HEADER, &r);

    let (out, v) = import(&b, &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(statuses(&v), (50, 1, 0));
    let bad = &v["rows"][17];
    assert_eq!(
        bad["row"], 19,
        "row numbers are the file's (header is row 1)"
    );
    assert_eq!(bad["status"], "rejected");
    assert_eq!(bad["errors"][0]["field"], "id_number");
    assert!(v["rows"][0]["member_no"].is_string());

    let (_, v) = import(&b, &file, &[]);
    assert_eq!(statuses(&v), (0, 1, 50));
    assert_eq!(v["rows"][0]["status"], "duplicate");
    assert!(v["rows"][0]["member_no"].is_string());

    let (_, s) = b.json(&["stats"]);
    assert_eq!(s["registered"], 50);
}

#[test]
fn dry_run_saves_nothing() {
    let b = Booth::new();
    let file = b.dir.path().join("roster.csv");
    write_csv(&file, &HEADER, &rows(5, 0));
    let (_, v) = import(&b, &file, &["--dry-run"]);
    assert_eq!(statuses(&v), (5, 0, 0));
    assert!(v["rows"][0]["member_no"].is_null());
    let (_, s) = b.json(&["stats"]);
    assert_eq!(s["registered"], 0);
}

#[test]
fn duplicates_inside_one_file_are_caught() {
    let b = Booth::new();
    let mut r = rows(3, 0);
    r[2][1] = r[0][1].clone();
    let file = b.dir.path().join("roster.csv");
    write_csv(&file, &HEADER, &r);
    let (_, v) = import(&b, &file, &[]);
    assert_eq!(statuses(&v), (2, 0, 1));
}

#[test]
fn consent_per_row_or_by_flag() {
    let b = Booth::new();
    let header = ["姓名", "身份证号", "手机号", "工作单位"];
    let file = b.dir.path().join("no_consent.csv");
    let mut s = header.join(",") + "\n";
    for r in rows(2, 0) {
        s += &r[..4].join(",");
        s += "\n";
    }
    std::fs::write(&file, s).unwrap();
    let (_, v) = import(&b, &file, &[]);
    assert_eq!(statuses(&v), (0, 2, 0));
    assert_eq!(v["rows"][0]["errors"][0]["field"], "consent");
    let (_, v) = import(&b, &file, &["--consent"]);
    assert_eq!(statuses(&v), (2, 0, 0));

    // a consent column saying 否 is a refusal even with rows around it saying 是
    let mut r = rows(2, 10);
    r[1][4] = "否".into();
    let file = b.dir.path().join("mixed.csv");
    write_csv(&file, &HEADER, &r);
    let (_, v) = import(&b, &file, &[]);
    assert_eq!(statuses(&v), (1, 1, 0));
}

#[test]
fn gbk_csv_from_excel_on_chinese_windows() {
    let b = Booth::new();
    let mut s = String::from("某某物流公司职工入会登记表,,,,\r\n填表日期：2026年11月,,,,\r\n");
    s += &(HEADER.join(",") + "\r\n");
    for r in rows(3, 0) {
        s += &r.join(",");
        s += "\r\n";
    }
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&s);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&gbk).is_err(),
        "the fixture must really be GBK"
    );
    let file = b.dir.path().join("gbk.csv");
    std::fs::write(&file, &gbk).unwrap();
    let (out, v) = import(&b, &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(statuses(&v), (3, 0, 0));
    assert_eq!(v["header_row"], 3);
    // the names came through as Chinese, not mojibake
    let json = b.dir.path().join("out.json");
    b.run(&[
        "export",
        "--format",
        "json",
        "--out",
        json.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(text.contains("职工甲"), "{text}");
}

#[test]
fn utf8_bom_and_english_headers() {
    let b = Booth::new();
    let mut s = String::from("\u{feff}name,id_number,phone,employer,consent\n");
    for r in rows(2, 0) {
        s += &format!("{},{},{},{},yes\n", r[0], r[1], r[2], r[3]);
    }
    let file = b.dir.path().join("bom.csv");
    std::fs::write(&file, s).unwrap();
    let (_, v) = import(&b, &file, &[]);
    assert_eq!(statuses(&v), (2, 0, 0));
}

#[test]
fn ten_thousand_empty_rows_are_skipped() {
    let b = Booth::new();
    let file = b.dir.path().join("empty_rows.csv");
    let mut s = HEADER.join(",") + "\n";
    for r in rows(2, 0) {
        s += &r.join(",");
        s += "\n";
    }
    s += &",,,,\n".repeat(10_000);
    s += &rows(1, 50)[0].join(",");
    s += "\n";
    std::fs::write(&file, s).unwrap();
    let (_, v) = import(&b, &file, &[]);
    assert_eq!(statuses(&v), (3, 0, 0));
    assert_eq!(v["rows"][2]["row"], 10_004);
}

#[test]
fn missing_required_column_is_one_clear_error() {
    let b = Booth::new();
    let file = b.dir.path().join("nophone.csv");
    std::fs::write(
        &file,
        "姓名,身份证号,工作单位\n张三,11010519491231002X,某公司\n",
    )
    .unwrap();
    let (out, v) = import(&b, &file, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1);
    assert!(err.contains("手机号"), "{err}");
    assert_eq!(v["error"], "roster");
    // nothing was set up or stored: the file is read before the store is opened
    assert!(!b.data().join("booth.db").exists());
}

#[test]
fn escape_sequences_in_names_are_rejected_and_never_echoed() {
    let b = Booth::new();
    let mut r = rows(2, 0);
    r[0][0] = "张三\u{1b}]0;owned\u{7}".into();
    r[1][3] = "公司\u{202e}gpj.exe".into();
    let file = b.dir.path().join("esc.csv");
    write_csv(&file, &HEADER, &r);
    let (out, v) = import(&b, &file, &[]);
    assert_eq!(statuses(&v), (0, 2, 0));
    assert_eq!(v["rows"][0]["errors"][0]["field"], "name");
    assert_eq!(v["rows"][1]["errors"][0]["field"], "employer");
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains('\u{1b}') && !all.contains('\u{202e}'));
    // and the human report too
    let out = b.run(&["import", file.to_str().unwrap()]);
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains('\u{1b}') && !all.contains('\u{202e}'));
    assert!(all.contains("U+001B"), "{all}");
}

fn xlsx_roster(path: &Path, rows: &[[String; 5]], id_as_number_row: Option<usize>) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let title = Format::new().set_bold();
    // A merged title across the table, and a merged two-row "基本信息" group header.
    ws.merge_range(0, 0, 0, 4, "某某快递站点职工入会名单", &title)
        .unwrap();
    ws.merge_range(1, 0, 1, 3, "基本信息", &title).unwrap();
    for (i, h) in HEADER.iter().enumerate() {
        ws.write_string(2, i as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if Some(r) == id_as_number_row && c == 1 {
                ws.write_number(3 + r as u32, 1, cell.parse::<f64>().unwrap())
                    .unwrap();
            } else if c == 2 {
                ws.write_number(3 + r as u32, 2, cell.parse::<f64>().unwrap())
                    .unwrap();
            } else {
                ws.write_string(3 + r as u32, c as u16, cell).unwrap();
            }
        }
    }
    wb.save(path).unwrap();
}

#[test]
fn xlsx_with_merged_header_cells_and_an_excel_number_id() {
    let b = Booth::new();
    let mut r = rows(4, 0);
    r[3][1] = "110105197001010110".into(); // numeric, so Excel would mangle it
    let file: PathBuf = b.dir.path().join("roster.xlsx");
    xlsx_roster(&file, &r, Some(3));
    let (out, v) = import(&b, &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["header_row"], 3);
    assert_eq!(statuses(&v), (3, 1, 0));
    assert_eq!(v["rows"][3]["errors"][0]["code"], "excel_number");
    assert!(stderr(&out).is_empty() || !stderr(&out).contains("panicked"));
}

#[test]
fn truncated_xlsx_is_a_clear_error() {
    let b = Booth::new();
    let full = b.dir.path().join("full.xlsx");
    xlsx_roster(&full, &rows(20, 0), None);
    let bytes = std::fs::read(&full).unwrap();
    let cut = b.dir.path().join("cut.xlsx");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (out, v) = import(&b, &cut, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["error"], "roster");
    assert!(stderr(&out).contains("无法读取表格"), "{}", stderr(&out));
    // garbage with the right extension
    let junk = b.dir.path().join("junk.xlsx");
    std::fs::write(&junk, b"not a zip at all").unwrap();
    let (out, _) = import(&b, &junk, &[]);
    assert_eq!(out.status.code(), Some(1));
    let (out, _) = import(&b, &b.dir.path().join("missing.csv"), &[]);
    assert_eq!(out.status.code(), Some(1));
    let pdf = b.dir.path().join("x.pdf");
    std::fs::write(&pdf, b"%PDF").unwrap();
    let (out, _) = import(&b, &pdf, &[]);
    assert!(stderr(&out).contains(".csv"));
}
