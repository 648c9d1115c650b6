//! `booth import`: rosters as union offices and HR departments really send them.

mod common;

use std::io::Write;
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
    assert_eq!(out.status.code(), Some(1), "no row accepted");
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
    // every "unsupported" message lists what is supported
    for ext in [".csv", ".txt", ".xlsx", ".xls", ".ods", ".et"] {
        assert!(stderr(&out).contains(ext), "{ext}: {}", stderr(&out));
    }
}

// ------------------------------------------------------------------ headings, sheets, formats

fn write_rows(path: &Path, header: &[&str], rows: &[Vec<String>]) {
    let mut s = header.join(",") + "\n";
    for r in rows {
        s += &r.join(",");
        s += "\n";
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn headings_worded_as_offices_word_them_and_unknown_columns_listed() {
    let b = Booth::new();
    // "工作单位名称" was "表格缺少必需的列" before headings were normalised
    let header = [
        "序号",
        "姓　名",
        "性别",
        "身份证号码（必填）",
        "手机号码",
        "工作单位名称",
        "本人是否同意处理个人信息",
        "家庭住址",
    ];
    let file = b.dir.path().join("office.csv");
    let rows: Vec<Vec<String>> = rows(3, 0)
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                (i + 1).to_string(),
                r[0].clone(),
                "女".into(),
                r[1].clone(),
                r[2].clone(),
                r[3].clone(),
                "是".into(),
                "某街道".into(),
            ]
        })
        .collect();
    write_rows(&file, &header, &rows);
    let (out, v) = import(&b, &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(statuses(&v), (3, 0, 0));
    let ignored: Vec<&str> = v["ignored_columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["header"].as_str().unwrap())
        .collect();
    assert_eq!(ignored, ["序号", "性别", "家庭住址"]);
    assert_eq!(v["ignored_columns"][1]["column"], 3);
    // and in the human report
    let out = b.run(&["import", file.to_str().unwrap(), "--dry-run"]);
    let text = stdout(&out);
    assert!(
        text.contains("“性别”") && text.contains("“家庭住址”"),
        "{text}"
    );
}

fn two_sheet_xlsx(path: &Path, roster_sheet: &str) {
    let mut wb = Workbook::new();
    let notes = wb.add_worksheet();
    notes.set_name("填表说明").unwrap();
    notes.write_string(0, 0, "填表说明").unwrap();
    notes
        .write_string(1, 0, "1. 身份证号一律设为文本格式")
        .unwrap();
    notes
        .write_string(2, 0, "2. 姓名、身份证号、手机号、工作单位为必填")
        .unwrap();
    let ws = wb.add_worksheet();
    ws.set_name(roster_sheet).unwrap();
    for (i, h) in HEADER.iter().enumerate() {
        ws.write_string(0, i as u16, *h).unwrap();
    }
    for (r, row) in rows(3, 0).iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            ws.write_string(1 + r as u32, c as u16, cell).unwrap();
        }
    }
    wb.save(path).unwrap();
}

#[test]
fn the_sheet_holding_the_header_is_read_and_sheet_chooses() {
    let b = Booth::new();
    let file = b.dir.path().join("two.xlsx");
    two_sheet_xlsx(&file, "职工名单");
    // an instructions sheet first: today "找不到表头"
    let (out, v) = import(&b, &file, &["--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(statuses(&v), (3, 0, 0));
    assert_eq!(v["sheet"], "职工名单");
    let (out, v) = import(&b, &file, &["--dry-run", "--sheet", "职工名单"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["sheet"], "职工名单");
    // the instructions sheet, chosen, has no header: said so
    let (out, _) = import(&b, &file, &["--dry-run", "--sheet", "填表说明"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("找不到表头"), "{}", stderr(&out));
    // a sheet that does not exist: the sheets there are
    let (out, v) = import(&b, &file, &["--dry-run", "--sheet", "Sheet9"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["error"], "roster");
    let err = stderr(&out);
    assert!(
        err.contains("Sheet9") && err.contains("填表说明") && err.contains("职工名单"),
        "{err}"
    );
}

#[test]
fn xls_ods_and_wps_et_files() {
    let b = Booth::new();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for (name, as_name) in [
        ("roster.xls", "roster.xls"),
        ("roster.ods", "roster.ods"),
        // WPS saves many .et files as an Excel 97-2003 workbook inside
        ("roster.xls", "roster.et"),
    ] {
        let file = b.dir.path().join(as_name);
        std::fs::copy(fixtures.join(name), &file).unwrap();
        let (out, v) = import(&b, &file, &["--consent", "--dry-run"]);
        assert!(out.status.success(), "{as_name}: {}", stderr(&out));
        // the instructions sheet comes first; the list has a title row and 工作单位名称
        assert_eq!(v["sheet"], "名单", "{as_name}");
        assert_eq!(v["header_row"], 2, "{as_name}");
        assert_eq!(statuses(&v), (3, 0, 0), "{as_name}: {v}");
    }
    // a compound file that holds no workbook: how to save it
    let et = b.dir.path().join("wps.et");
    {
        let mut cfb = cfb::create(&et).unwrap();
        cfb.create_stream("/WpsContent")
            .unwrap()
            .write_all(b"not a BIFF workbook")
            .unwrap();
        cfb.flush().unwrap();
    }
    let (out, _) = import(&b, &et, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("另存为") && err.contains(".xlsx"), "{err}");
    // a web page saved as .xls, as web systems export
    let html = b.dir.path().join("export.xls");
    std::fs::write(
        &html,
        "<html><body><table><tr><td>姓名</td></tr></table></body></html>",
    )
    .unwrap();
    let (out, _) = import(&b, &html, &[]);
    assert!(stderr(&out).contains("网页"), "{}", stderr(&out));
    // tab-separated text saved as .xls
    let tsv = b.dir.path().join("text.xls");
    let mut s = HEADER.join("\t") + "\n";
    for r in rows(2, 0) {
        s += &r.join("\t");
        s += "\n";
    }
    std::fs::write(&tsv, s).unwrap();
    let (out, v) = import(&b, &tsv, &["--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(statuses(&v), (2, 0, 0));
}

#[test]
fn csv_in_other_encodings_and_separators() {
    let b = Booth::new();
    let body: String = rows(2, 0).iter().map(|r| r.join(";") + "\r\n").collect();
    // semicolons (Excel with a European list separator)
    let semi = b.dir.path().join("semi.csv");
    std::fs::write(&semi, HEADER.join(";") + "\r\n" + &body).unwrap();
    let (out, v) = import(&b, &semi, &["--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(statuses(&v), (2, 0, 0));
    // UTF-16 with a BOM and tabs: Excel's "Unicode text" (.txt)
    let text = HEADER.join("\t") + "\r\n" + &body.replace(';', "\t");
    let mut utf16 = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let txt = b.dir.path().join("unicode.txt");
    std::fs::write(&txt, utf16).unwrap();
    let (out, v) = import(&b, &txt, &["--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(statuses(&v), (2, 0, 0));
    // Big5, as a Hong Kong or Taiwan office's Excel saves it
    let trad = format!(
        "姓名,身份證號碼,手機號碼,工作單位,同意\r\n陳大文,{},+852 9123 4567,香港某某物流有限公司,是\r\n",
        valid_id(7)
    );
    let (big5, _, bad) = encoding_rs::BIG5.encode(&trad);
    assert!(!bad);
    let file = b.dir.path().join("big5.csv");
    std::fs::write(&file, &big5).unwrap();
    let (out, v) = import(&b, &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(statuses(&v), (1, 0, 0));
    let json = b.dir.path().join("out.json");
    b.run(&[
        "export",
        "--format",
        "json",
        "--out",
        json.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(
        text.contains("陳大文") && text.contains("香港某某物流有限公司"),
        "{text}"
    );
    // the Hong Kong mobile is stored with its country code
    assert!(text.contains("\"+852 91234567\""), "{text}");
}

// ------------------------------------------------------------------ document types and rules

#[test]
fn document_types_worded_as_offices_word_them() {
    let b = Booth::new();
    let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let with_check = |body: &str| {
        let s: u32 = body
            .bytes()
            .zip(w)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        format!(
            "{body}{}",
            "10X98765432".as_bytes()[(s % 11) as usize] as char
        )
    };
    let header = ["姓名", "证件类型", "证件号码", "手机号", "工作单位"];
    let lines = [
        ("甲", "居民身份证", valid_id(1)),
        ("乙", "台湾居民居住证", with_check("83000019900101001")),
        ("丙", "港澳居民居住证", with_check("81000019900101002")),
        ("丁", "往来港澳通行证", "H12345678".to_string()),
        ("戊", "港澳居民来往内地通行证", "M1234567802".to_string()),
        (
            "己",
            "台湾居民来往大陆通行证（台胞证）",
            "12345678".to_string(),
        ),
        (
            "庚",
            "外国人永久居留身份证",
            with_check("93115619850315002"),
        ),
        ("辛", "护照", "E98765432".to_string()),
        // refused, each for its own rule
        ("壬", "台湾居民居住证", with_check("81000019910101003")),
        ("癸", "往来港澳通行证", "C12345678".to_string()),
        ("子", "驾驶证", valid_id(2)),
    ];
    let rows: Vec<Vec<String>> = lines
        .iter()
        .enumerate()
        .map(|(i, (n, t, id))| {
            vec![
                n.to_string(),
                t.to_string(),
                id.clone(),
                phone(i as u32),
                "某公司".into(),
            ]
        })
        .collect();
    let file = b.dir.path().join("types.csv");
    write_rows(&file, &header, &rows);
    let (out, v) = import(&b, &file, &["--consent"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(statuses(&v), (8, 3, 0), "{v}");
    let code = |i: usize| {
        v["rows"][i]["errors"][0]["code"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(code(8), "residence_permit_prefix");
    assert_eq!(v["rows"][8]["errors"][0]["field"], "doc_type");
    assert_eq!(code(9), "mainland_exit_permit");
    assert_eq!(code(10), "not_in_list");
    let json = b.dir.path().join("out.json");
    b.run(&[
        "export",
        "--format",
        "json",
        "--out",
        json.to_str().unwrap(),
    ]);
    let e: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let kinds: Vec<&str> = e["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["doc_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "resident_id",
            "hmt_permit",
            "hmt_permit",
            "hk_macao_permit",
            "hk_macao_permit",
            "taiwan_permit",
            "foreign_permanent",
            "passport"
        ]
    );
}

#[test]
fn mistyped_resident_ids_are_refused_not_taken_for_passports() {
    let b = Booth::new();
    let mut r = rows(3, 0);
    r[0][1] = "O42225199712010525".into(); // O for 0
    r[1][1] = "I52300198112103667".into(); // I for 1
    let file = b.dir.path().join("typo.csv");
    write_csv(&file, &HEADER, &r);
    let (out, v) = import(&b, &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(statuses(&v), (1, 2, 0), "{v}");
    for i in 0..2 {
        let e = &v["rows"][i]["errors"][0];
        assert_eq!(e["field"], "id_number");
        assert_eq!(e["code"], "letter_in_id");
    }
    let msg = v["rows"][0]["errors"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("第1位是字母O，身份证号只有最后一位可以是X"),
        "{msg}"
    );
    // a passport number in a column headed 身份证号: the resident ID rule, with a hint
    let mut r = rows(1, 10);
    r[0][1] = "E12345678".into();
    let file = b.dir.path().join("passport_in_id.csv");
    write_csv(&file, &HEADER, &r);
    let (_, v) = import(&b, &file, &[]);
    assert_eq!(v["rows"][0]["status"], "rejected");
    assert_eq!(v["rows"][0]["errors"][0]["code"], "passport_in_id_column");
}

// ------------------------------------------------------------------ bounded resources

/// A zip written by hand, so a test can make an entry lie about its size.
struct ZipEntry {
    name: &'static str,
    /// Raw deflate data, or the stored bytes.
    data: Vec<u8>,
    deflated: bool,
    declared: u64,
    crc: u32,
}

fn write_zip(path: &Path, entries: &[ZipEntry]) {
    let mut out: Vec<u8> = Vec::new();
    let mut central: Vec<u8> = Vec::new();
    for e in entries {
        let offset = out.len() as u32;
        let method: u16 = if e.deflated { 8 } else { 0 };
        let declared = e.declared.min(u64::from(u32::MAX - 1)) as u32;
        let mut header = Vec::new();
        header.extend_from_slice(&0x04034b50u32.to_le_bytes());
        header.extend_from_slice(&20u16.to_le_bytes()); // version
        header.extend_from_slice(&0u16.to_le_bytes()); // flags
        header.extend_from_slice(&method.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes()); // time, date
        header.extend_from_slice(&e.crc.to_le_bytes());
        header.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
        header.extend_from_slice(&declared.to_le_bytes());
        header.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        header.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(e.name.as_bytes());
        out.extend_from_slice(&e.data);
        central.extend_from_slice(&0x02014b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        central.extend_from_slice(&header[4..30]);
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attrs
        central.extend_from_slice(&0u32.to_le_bytes()); // external attrs
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(e.name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x06054b50u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    std::fs::write(path, out).unwrap();
}

/// Raw deflate data that inflates to `chunk` repeated `times` times: one fully flushed block
/// repeated (each starts afresh, so copies concatenate), then an empty final block.
fn deflate_repeated(chunk: &[u8], times: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut c = Compress::new(Compression::best(), false);
    let mut block = Vec::with_capacity(chunk.len());
    c.compress_vec(chunk, &mut block, FlushCompress::Full)
        .unwrap();
    let mut out = Vec::with_capacity(block.len() * times + 16);
    for _ in 0..times {
        out.extend_from_slice(&block);
    }
    let mut c = Compress::new(Compression::best(), false);
    let mut end = Vec::with_capacity(64);
    c.compress_vec(&[], &mut end, FlushCompress::Finish)
        .unwrap();
    out.extend_from_slice(&end);
    out
}

/// An xlsx whose sheet inflates to `times` copies of a 64 KB block of rows, declaring
/// `declared` bytes.
fn bomb_xlsx(path: &Path, times: usize, declared: u64) {
    let stored = |name: &'static str, text: &str| {
        let mut crc = flate2::Crc::new();
        crc.update(text.as_bytes());
        ZipEntry {
            name,
            data: text.as_bytes().to_vec(),
            deflated: false,
            declared: text.len() as u64,
            crc: crc.sum(),
        }
    };
    let row = r#"<row><c t="inlineStr"><is><t>xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx</t></is></c></row>"#;
    let chunk = row.repeat(65_536 / row.len());
    let mut sheet = deflate_repeated(chunk.as_bytes(), times);
    // (the sheet's opening tags are left out: the bytes are refused before any is parsed)
    sheet.shrink_to_fit();
    write_zip(
        path,
        &[
            stored(
                "[Content_Types].xml",
                r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>"#,
            ),
            stored(
                "_rels/.rels",
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
            ),
            stored(
                "xl/workbook.xml",
                r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="会员" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
            ),
            stored(
                "xl/_rels/workbook.xml.rels",
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
            ),
            ZipEntry {
                name: "xl/worksheets/sheet1.xml",
                data: sheet,
                deflated: true,
                declared,
                // never checked: the entry is refused before its end
                crc: 0,
            },
        ],
    );
}

/// The largest resident set of any child this test process has waited for, in MB.
fn children_peak_rss_mb() -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    u.ru_maxrss as u64 / 1024
}

#[test]
fn zip_bombs_are_refused_within_bounded_memory() {
    let b = Booth::new();
    // 1 GB of XML, and says so: refused by its declared size, before anything is inflated
    let honest = b.dir.path().join("honest.xlsx");
    bomb_xlsx(&honest, 16_384, 16_384 * 65_536);
    // 600 MB of XML claiming to be 10 KB: refused once inflating passes the claim
    let liar = b.dir.path().join("liar.xlsx");
    bomb_xlsx(&liar, 9_600, 10_000);
    for file in [&honest, &liar] {
        assert!(std::fs::metadata(file).unwrap().len() < 8 << 20);
        let t = std::time::Instant::now();
        let (out, v) = import(&b, file, &["--consent"]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(v["error"], "roster");
        let err = stderr(&out);
        assert!(
            err.contains("压缩炸弹") && err.contains("sheet1.xml"),
            "{err}"
        );
        assert!(t.elapsed().as_secs() < 60, "{:?}", t.elapsed());
    }
    let rss = children_peak_rss_mb();
    assert!(rss <= 512, "peak RSS {rss} MB");
}

#[test]
fn too_many_rows_are_refused_with_a_clear_message() {
    let b = Booth::new();
    let file = b.dir.path().join("huge.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    writeln!(f, "{}", HEADER.join(",")).unwrap();
    let row = rows(1, 0)[0].join(",");
    for _ in 0..=booth::roster::limits::MAX_ROWS {
        writeln!(f, "{row}").unwrap();
    }
    drop(f);
    let (out, v) = import(&b, &file, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["error"], "roster");
    assert!(stderr(&out).contains("200000 行"), "{}", stderr(&out));
}

// ------------------------------------------------------------------ exit status

#[test]
fn an_import_that_accepts_no_row_exits_non_zero_a_finished_rerun_does_not() {
    let b = Booth::new();
    let file = b.dir.path().join("roster.csv");
    write_csv(&file, &HEADER, &rows(3, 0));
    let (out, _) = import(&b, &file, &[]);
    assert!(out.status.success());
    // everyone already registered: nothing to do, not a failure
    let (out, v) = import(&b, &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(statuses(&v), (0, 0, 3));
    // every row refused: a failure, with the report still on stdout
    let mut r = rows(2, 20);
    r[0][2] = "123".into();
    r[1][2] = "456".into();
    let bad = b.dir.path().join("bad.csv");
    write_csv(&bad, &HEADER, &r);
    let (out, v) = import(&b, &bad, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["error"], "nothing_imported");
    assert_eq!(v["rows"][1]["errors"][0]["field"], "phone");
    let out = b.run(&["import", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("第 3 行"), "{}", stdout(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    // a header and no rows
    let empty = b.dir.path().join("empty.csv");
    std::fs::write(&empty, HEADER.join(",") + "\n").unwrap();
    let (out, _) = import(&b, &empty, &[]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn spreadsheets_that_declare_or_repeat_millions_of_cells_are_refused() {
    let b = Booth::new();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    // an xls whose sheet declares 4 billion rows (DIMENSIONS record): calamine would reserve
    // room for them
    let mut xls = std::fs::read(fixtures.join("roster.xls")).unwrap();
    let dims: Vec<usize> = xls
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == [0x00, 0x02, 0x0e, 0x00])
        .map(|(i, _)| i + 4)
        .collect();
    assert!(!dims.is_empty(), "the fixture has DIMENSIONS records");
    for at in dims {
        xls[at + 4..at + 8].copy_from_slice(&u32::MAX.to_le_bytes()); // last row
        xls[at + 10..at + 12].copy_from_slice(&255u16.to_le_bytes()); // last column
    }
    let file = b.dir.path().join("huge.xls");
    std::fs::write(&file, &xls).unwrap();
    let (out, v) = import(&b, &file, &["--consent"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(v["error"], "roster");
    assert!(stderr(&out).contains("单元格范围"), "{}", stderr(&out));

    // an ods whose one valued cell is repeated across 16,384 columns and a million rows
    let stored = |name: &'static str, text: String| {
        let mut crc = flate2::Crc::new();
        crc.update(text.as_bytes());
        ZipEntry {
            name,
            declared: text.len() as u64,
            data: text.into_bytes(),
            deflated: false,
            crc: crc.sum(),
        }
    };
    let content = r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="名单"><table:table-row><table:table-cell office:value-type="string"><text:p>姓名</text:p></table:table-cell></table:table-row><table:table-row table:number-rows-repeated="1000000"><table:table-cell table:number-columns-repeated="16384" office:value-type="string"><text:p>某某</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#;
    let ods = b.dir.path().join("repeat.ods");
    write_zip(
        &ods,
        &[
            stored(
                "mimetype",
                "application/vnd.oasis.opendocument.spreadsheet".into(),
            ),
            stored("content.xml", content.into()),
        ],
    );
    let (out, v) = import(&b, &ods, &["--consent"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(v["error"], "roster");
    assert!(stderr(&out).contains("单元格范围"), "{}", stderr(&out));
    let rss = children_peak_rss_mb();
    assert!(rss <= 512, "peak RSS {rss} MB");
}
