//! Terminal and printer injection: names, employers and remarks holding ESC/CSI/OSC sequences,
//! bidi overrides, zero-width characters (and rare 4-byte CJK, which must survive) never reach
//! a terminal, a printer or an export unescaped — even when they got into the store by a way
//! that skipped validation (another tool, an older version, a hand-edited database).

mod common;

use std::sync::{Arc, mpsc};

use booth::i18n::Lang;
use booth::member::text::is_hazardous;
use booth::slip::escpos::reader::{Op, parse};
use booth::store::Store;
use booth::tui::app::{App, Screen};
use booth::tui::view;
use common::*;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const HOSTILE_NAME: &str = "吉𠮷\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}gpj.exe\u{200b}";
const HOSTILE_EMPLOYER: &str = "某公司\u{1b}[31m红\u{1b}[0m\u{2066}隔离\u{2069}\u{feff}";
const HOSTILE_REMARKS: &str = "=HYPERLINK(\"http://x\")\u{9b}31m\u{e0041}";

/// A registered member whose stored text is then replaced behind validation's back.
fn poisoned() -> (Booth, String) {
    let b = Booth::new();
    let (out, v) = b.register_sample();
    assert!(out.status.success());
    let no = v["member_no"].as_str().unwrap().to_string();
    // SAFETY: set before any thread of this test reads it.
    unsafe { std::env::set_var("BOOTH_KDF", "fast") };
    let mut store = Store::open(&b.data(), PASS.as_bytes()).unwrap();
    store
        .connection()
        .execute(
            "UPDATE members SET name = ?1,
                record = json_set(record, '$.name', ?1, '$.employer', ?2, '$.remarks', ?3)",
            [HOSTILE_NAME, HOSTILE_EMPLOYER, HOSTILE_REMARKS],
        )
        .unwrap();
    (b, no)
}

fn assert_clean(what: &str, text: &str) {
    let bad: Vec<String> = text
        .chars()
        .filter(|&c| is_hazardous(c) && c != '\n' && c != '\r')
        .map(|c| format!("U+{:04X}", c as u32))
        .collect();
    assert!(bad.is_empty(), "{what} carries {bad:?}");
}

#[test]
fn exports_are_escaped() {
    let (b, _) = poisoned();
    for fmt in ["csv", "json", "xlsx"] {
        let out = b.dir.path().join(format!("x.{fmt}"));
        let o = b.run(&["export", "--format", fmt, "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        match fmt {
            "xlsx" => {
                use calamine::{Reader, open_workbook_auto};
                let mut wb = open_workbook_auto(&out).unwrap();
                let name = wb.sheet_names()[0].clone();
                let range = wb.worksheet_range(&name).unwrap();
                let all: String = range
                    .rows()
                    .flat_map(|r| r.iter().map(|c| c.to_string()))
                    .collect::<Vec<_>>()
                    .join("|");
                assert_clean("xlsx", &all);
                assert!(all.contains("'=HYPERLINK"), "formula neutralised");
                assert!(all.contains("𠮷"), "rare characters survive");
            }
            "json" => {
                let text = std::fs::read_to_string(&out).unwrap();
                assert_clean("json", &text);
                // escaped, not lost: the office still has exactly what was stored
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["records"][0]["name"], HOSTILE_NAME);
            }
            _ => {
                let text = std::fs::read_to_string(&out).unwrap();
                let text = text.strip_prefix('\u{feff}').expect("the BOM Excel needs");
                assert_clean("csv", text);
                assert!(text.contains("吉𠮷"));
            }
        }
    }
}

#[test]
fn the_printer_gets_no_control_bytes_from_the_text() {
    let (b, no) = poisoned();
    let file = b.dir.path().join("slip.bin");
    let o = b.run(&["card", &no, "--escpos", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&file).unwrap();
    // the reader refuses any control byte inside a text run
    let ops = parse(&bytes).expect("only booth's own commands");
    for op in &ops {
        if let Op::Text(t, raw) = op {
            assert!(
                !raw.contains(&0x1b) && !raw.contains(&0x9b),
                "raw escape in {t}"
            );
            assert_clean("printed text", t);
        }
    }
    let (gb, _, _) = encoding_rs::GB18030.encode("吉𠮷");
    assert!(
        bytes.windows(gb.len()).any(|w| w == &gb[..]),
        "the rare character is printed"
    );
    // the PNG and SVG too
    let svg = b.dir.path().join("slip.svg");
    assert!(
        b.run(&["card", &no, "--svg", svg.to_str().unwrap()])
            .status
            .success()
    );
    assert_clean("svg", &std::fs::read_to_string(&svg).unwrap());
}

#[test]
fn the_terminal_shows_no_escape_sequences() {
    let (b, _) = poisoned();
    let (tx, rx) = mpsc::channel();
    let mut app = App::new(b.data(), Lang::Zh, tx, Arc::new(booth::store::now));
    for c in PASS.chars() {
        app.handle_key(KeyEvent::from(KeyCode::Char(c)));
    }
    app.handle_key(KeyEvent::from(KeyCode::Enter));
    assert_eq!(app.screen, Screen::Form, "unlock: {:?}", app.unlock.error);
    app.handle_key(KeyEvent::from(KeyCode::F(3)));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.records.rows.is_empty() {
        assert!(std::time::Instant::now() < deadline);
        if let Ok(ev) = rx.recv_timeout(std::time::Duration::from_millis(50)) {
            app.handle_event(ev);
        }
    }
    let render = |app: &App| {
        let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
        term.draw(|f| view::render(app, f)).unwrap();
        let buf = term.backend().buffer().clone();
        // wide characters once, without the blank cell of their second column
        let mut text = String::new();
        let mut skip = 0;
        for c in buf.content() {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            skip = unicode_width::UnicodeWidthStr::width(c.symbol()).saturating_sub(1);
            text.push_str(c.symbol());
        }
        text
    };
    let list = render(&app);
    assert_clean("records list", &list);
    assert!(list.contains("吉"));
    app.handle_key(KeyEvent::from(KeyCode::Enter));
    assert!(app.records.detail.is_some());
    let detail = render(&app);
    assert_clean("record detail", &detail);
    assert!(detail.contains("某公司"));
}

#[test]
fn command_line_output_is_escaped() {
    let (b, no) = poisoned();
    // re-registering the same person prints the stored (hostile) name in the refusal
    let (out, _) = b.register_sample();
    assert_clean("stderr", &stderr(&out));
    assert_clean("stdout", &stdout(&out));
    let (out, _) = b.json(&[
        "card",
        &no,
        "--png",
        b.dir.path().join("p.png").to_str().unwrap(),
    ]);
    assert!(out.status.success());
}

#[test]
fn hostile_import_rows_never_reach_the_store() {
    let b = Booth::new();
    let file = b.dir.path().join("r.csv");
    let rows = [
        format!(
            "姓名,身份证号,手机号,工作单位,备注,同意\n{},{},13800138000,某公司,,是\n",
            HOSTILE_NAME,
            valid_id(1)
        ),
        format!(
            "张三,{},13800138001,{},,是\n",
            valid_id(2),
            HOSTILE_EMPLOYER
        ),
        format!(
            "李四,{},13800138002,某公司,\"{}\",是\n",
            valid_id(3),
            HOSTILE_REMARKS
        ),
    ]
    .concat();
    std::fs::write(&file, rows).unwrap();
    let (out, v) = b.json(&["import", file.to_str().unwrap()]);
    assert_clean("import report", &stdout(&out));
    assert_eq!(v["rejected"], 3, "{v}");
    assert_eq!(v["rows"][0]["errors"][0]["field"], "name");
    assert_eq!(v["rows"][1]["errors"][0]["field"], "employer");
    assert_eq!(v["rows"][2]["errors"][0]["field"], "remarks");
}
