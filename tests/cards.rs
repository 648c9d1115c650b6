//! Cards for a whole roster (issue 16): PDF sheets whose every QR decodes (pdftoppm + rqrr +
//! zbarimg) and verifies, a second reader's check (qpdf), CJK extension B names, selections,
//! and batch printing that pauses on paper out and resumes without printing anyone twice.

mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use booth::slip::escpos::reader::{Op, parse};
use common::*;

const DROID: &str = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf";
const DEJAVU: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const NOTO_CJK: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

/// A folder holding only these fonts (CI installs fonts-droid-fallback, fonts-dejavu-core and
/// fonts-noto-cjk), so the PDF's fonts do not depend on the machine.
fn fonts(b: &Booth, files: &[&str]) {
    let dir = b.dir.path().join("fonts");
    std::fs::create_dir_all(&dir).unwrap();
    for f in files {
        common::tools::required_file(f, "fonts-droid-fallback fonts-dejavu-core fonts-noto-cjk");
        std::os::unix::fs::symlink(f, dir.join(Path::new(f).file_name().unwrap())).unwrap();
    }
    let out = b.run(&["config", "set", "font_dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Registers `n` workers; returns their member numbers in order.
fn roster(b: &Booth, n: u32, name: impl Fn(u32) -> String) -> Vec<String> {
    let csv = b.dir.path().join("roster.csv");
    let mut text = String::from("姓名,身份证号,手机号,工作单位\n");
    for i in 0..n {
        text.push_str(&format!(
            "{},{},{},顺丰速运贵阳分部\n",
            name(i),
            valid_id(i + 1),
            phone(i)
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let (out, v) = b.json(&["import", csv.to_str().unwrap(), "--consent"]);
    assert!(out.status.success(), "{}", stderr(&out));
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["member_no"].as_str().unwrap().to_string())
        .collect()
}

/// A tool these checks need wherever they run (no skip: the sheets are the feature).
fn tool(name: &str) -> PathBuf {
    let package = match name {
        "pdftoppm" | "pdftotext" => "poppler-utils",
        "zbarimg" => "zbar-tools",
        other => other,
    };
    common::tools::required_tool(name, package)
}

/// Renders every page at 200 dpi and decodes every QR code on it with rqrr and zbarimg;
/// returns the payloads and the page count. Both decoders must find every code.
fn decode_pdf(pdf: &Path) -> (Vec<String>, usize) {
    let dir = pdf.parent().unwrap().join("pages");
    std::fs::create_dir_all(&dir).unwrap();
    let out = std::process::Command::new(tool("pdftoppm"))
        .args(["-r", "200", "-png"])
        .arg(pdf)
        .arg(dir.join("pg"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut pages: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    let mut payloads = Vec::new();
    for page in &pages {
        let img = image::open(page).unwrap().to_luma8();
        // rqrr looks for one code at a time: each card's cell of the 2 × 5 grid
        let px = |mm: f32| (mm / 25.4 * 200.0) as u32;
        let (gx, gy) = ((210.0 - 2.0 * 85.6) / 2.0, (297.0 - 5.0 * 54.0) / 2.0);
        let mut by_rqrr = Vec::new();
        for cell in 0..10 {
            let (x, y) = (gx + (cell % 2) as f32 * 85.6, gy + (cell / 2) as f32 * 54.0);
            let card = image::imageops::crop_imm(&img, px(x), px(y), px(85.6), px(54.0));
            let mut prepared = rqrr::PreparedImage::prepare(card.to_image());
            for g in prepared.detect_grids() {
                by_rqrr.push(g.decode().expect("rqrr decodes every code").1);
            }
        }
        let zbar = std::process::Command::new(tool("zbarimg"))
            .args(["-q", "--raw"])
            .arg(page)
            .output()
            .unwrap();
        let mut by_zbar: Vec<String> = String::from_utf8(zbar.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        by_rqrr.sort();
        by_zbar.sort();
        assert_eq!(by_rqrr, by_zbar, "{} read differently", page.display());
        payloads.extend(by_rqrr);
    }
    (payloads, pages.len())
}

fn qpdf_check(pdf: &Path) {
    let out = std::process::Command::new(tool("qpdf"))
        .arg("--check")
        .arg(pdf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "qpdf --check: {}{}",
        stdout(&out),
        stderr(&out)
    );
}

fn pdf_text(pdf: &Path) -> String {
    let out = std::process::Command::new(tool("pdftotext"))
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_card_on_the_sheets_decodes_and_verifies_and_voided_ones_are_left_out() {
    let b = Booth::new();
    fonts(&b, &[DROID, DEJAVU]);
    let numbers = roster(&b, 23, |i| {
        format!(
            "职工{}",
            "甲乙丙丁戊己庚辛壬癸".chars().nth(i as usize % 10).unwrap()
        )
    });
    let voided = &numbers[4];
    let out = b.run(&["void", voided, "--reason", "登记错了"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let pdf = b.dir.path().join("cards.pdf");
    let (out, v) = b.json(&["cards", "--all", "--pdf", pdf.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["cards"], 22);
    assert_eq!(v["pages"], 3);
    assert_eq!(v["notes"], serde_json::json!([]));
    qpdf_check(&pdf);

    let (payloads, pages) = decode_pdf(&pdf);
    assert_eq!(pages, 3);
    assert_eq!(payloads.len(), 22, "every card's code decodes");
    let mut seen = HashSet::new();
    for p in &payloads {
        let (out, vv) = b.json(&["verify", p]);
        assert!(out.status.success(), "{}", stderr(&out));
        let no = vv["member_no"].as_str().unwrap().to_string();
        assert_ne!(&no, voided, "a voided record has no card");
        assert!(seen.insert(no), "one card per member");
    }
    // the text is real text: names and numbers can be searched in the PDF
    let text = pdf_text(&pdf);
    assert!(
        text.contains("职工甲") && text.contains(&numbers[0]),
        "{text}"
    );
}

#[test]
fn a_cjk_extension_b_name_is_drawn_from_an_embedded_subset() {
    let b = Booth::new();
    fonts(&b, &[NOTO_CJK, DEJAVU]);
    let numbers = roster(&b, 3, |i| {
        ["吉𠮷", "葛婷婷", "买买提·吐尔逊"][i as usize].to_string()
    });
    let pdf = b.dir.path().join("cards.pdf");
    let (out, v) = b.json(&["cards", "--all", "--pdf", pdf.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["notes"], serde_json::json!([]), "every glyph present");
    qpdf_check(&pdf);
    let text = pdf_text(&pdf);
    assert!(text.contains("吉𠮷"), "{text}");
    assert_eq!(decode_pdf(&pdf).0.len(), numbers.len());
    // the font is a subset: far smaller than the 20 MB collection
    assert!(std::fs::metadata(&pdf).unwrap().len() < 400_000);
    // with only Droid Sans Fallback, 𠮷 is named in a warning, never a silent box
    let b2 = Booth::new();
    fonts(&b2, &[DROID]);
    roster(&b2, 1, |_| "吉𠮷".into());
    let (out, v) = b2.json(&["cards", "--all", "--pdf", pdf.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(v["notes"].to_string().contains("U+20BB7"), "{v}");
}

#[test]
fn selections_by_day_and_by_members_file() {
    let b = Booth::new();
    fonts(&b, &[DROID, DEJAVU]);
    let numbers = roster(&b, 5, |i| {
        format!("职工{}", "甲乙丙丁戊".chars().nth(i as usize).unwrap())
    });
    b.run(&["void", &numbers[1], "--reason", "重复"]);
    let pdf = b.dir.path().join("c.pdf");
    let today = chrono::Local::now().date_naive().to_string();
    let (out, v) = b.json(&["cards", "--date", &today, "--pdf", pdf.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["cards"], 4);
    let (out, v) = b.json(&[
        "cards",
        "--date",
        "2001-01-01",
        "--pdf",
        pdf.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["error"], "empty");
    let (out, _) = b.json(&[
        "cards",
        "--date",
        "01/02/2026",
        "--pdf",
        pdf.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("YYYY-MM-DD"));

    let list = b.dir.path().join("members.csv");
    // a well-formed number this laptop never issued
    let first: booth::card::MemberNo = numbers[0].parse().unwrap();
    let unknown = booth::card::MemberNo::new(first.device(), 9999)
        .unwrap()
        .grouped();
    std::fs::write(
        &list,
        format!(
            "会员编号,姓名\n{},职工丙\n{}\n{}\n{}\n",
            numbers[2],
            numbers[1],
            numbers[0].to_lowercase(),
            unknown
        ),
    )
    .unwrap();
    let (out, v) = b.json(&[
        "cards",
        "--members",
        list.to_str().unwrap(),
        "--pdf",
        pdf.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["cards"], 2, "{v}");
    let reasons: Vec<&str> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"voided") && reasons.contains(&"not_found"),
        "{v}"
    );
    let payloads = decode_pdf(&pdf).0;
    let decoded: HashSet<String> = payloads
        .iter()
        .map(|p| {
            b.json(&["verify", p]).1["member_no"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        decoded,
        HashSet::from([numbers[2].clone(), numbers[0].clone()])
    );

    std::fs::write(&list, format!("{}\nnot a number\n", numbers[0])).unwrap();
    let (out, _) = b.json(&[
        "cards",
        "--members",
        list.to_str().unwrap(),
        "--pdf",
        pdf.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("第 2 行"), "{}", stderr(&out));
}

/// A raw TCP printer on loopback: answers the paper-status query from `paper`, keeps the
/// payload of every slip received, and stops accepting after `max_slips` slips.
struct FakePrinter {
    port: u16,
    slips: Arc<Mutex<Vec<String>>>,
    paper: Arc<AtomicBool>,
    queries: Arc<AtomicUsize>,
}

impl FakePrinter {
    fn start(max_slips: usize) -> FakePrinter {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let slips = Arc::new(Mutex::new(Vec::new()));
        let paper = Arc::new(AtomicBool::new(true));
        let queries = Arc::new(AtomicUsize::new(0));
        let (s, p, q) = (slips.clone(), paper.clone(), queries.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { break };
                let mut query = [0u8; 3];
                if conn.read_exact(&mut query).is_err() {
                    continue;
                }
                assert_eq!(query, [0x10, 0x04, 0x04], "DLE EOT 4 first");
                q.fetch_add(1, Ordering::SeqCst);
                let status = if p.load(Ordering::SeqCst) { 0x12 } else { 0x72 };
                let _ = conn.write_all(&[status]);
                let mut rest = Vec::new();
                let _ = conn.read_to_end(&mut rest);
                if rest.is_empty() {
                    continue; // a status poll
                }
                let payload = parse(&rest)
                    .unwrap()
                    .into_iter()
                    .find_map(|op| match op {
                        Op::QrStore(d) => Some(String::from_utf8(d).unwrap()),
                        _ => None,
                    })
                    .expect("a slip with its QR");
                let mut got = s.lock().unwrap();
                got.push(payload);
                if got.len() >= max_slips {
                    break; // the printer goes away
                }
            }
        });
        FakePrinter {
            port,
            slips,
            paper,
            queries,
        }
    }

    fn uri(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    fn slips(&self) -> Vec<String> {
        self.slips.lock().unwrap().clone()
    }
}

fn member_nos(b: &Booth, payloads: &[String]) -> Vec<String> {
    payloads
        .iter()
        .map(|p| {
            b.json(&["verify", p]).1["member_no"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn batch_printing_pauses_on_paper_out_and_continues_when_paper_is_back() {
    let b = Booth::new();
    let numbers = roster(&b, 4, |i| {
        format!("骑手{}", "甲乙丙丁".chars().nth(i as usize).unwrap())
    });
    let printer = FakePrinter::start(usize::MAX);
    printer.paper.store(false, Ordering::SeqCst);
    let paper = printer.paper.clone();
    let queries = printer.queries.clone();
    // paper comes back after the run has asked a few times
    std::thread::spawn(move || {
        let t = Instant::now();
        while queries.load(Ordering::SeqCst) < 3 && t.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
        }
        paper.store(true, Ordering::SeqCst);
    });
    let out = b.run(&[
        "cards",
        "--all",
        "--print",
        "--printer",
        &printer.uri(),
        "--paper-wait",
        "30",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("缺纸") && err.contains("继续"), "{err}");
    assert_eq!(
        member_nos(&b, &printer.slips()),
        numbers,
        "each once, in order"
    );
}

#[test]
fn an_interrupted_run_resumes_where_it_stopped_and_prints_nobody_twice() {
    let b = Booth::new();
    let numbers = roster(&b, 6, |i| {
        format!("骑手{}", "甲乙丙丁戊己".chars().nth(i as usize).unwrap())
    });
    // this printer takes two slips and goes away
    let first = FakePrinter::start(2);
    let (out, v) = b.json(&[
        "cards",
        "--all",
        "--print",
        "--printer",
        &first.uri(),
        "--paper-wait",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["printed"], 2);
    assert!(stderr(&out).contains("再运行同一命令"), "{}", stderr(&out));
    assert_eq!(member_nos(&b, &first.slips()), numbers[..2]);

    let second = FakePrinter::start(usize::MAX);
    let (out, v) = b.json(&["cards", "--all", "--print", "--printer", &second.uri()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        (v["printed"].as_u64(), v["already_printed"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(member_nos(&b, &second.slips()), numbers[2..]);

    // nothing left; --again prints them all once more
    let (out, v) = b.json(&["cards", "--all", "--print", "--printer", &second.uri()]);
    assert!(out.status.success());
    assert_eq!(v["printed"], 0);
    let (out, v) = b.json(&[
        "cards",
        "--all",
        "--print",
        "--printer",
        &second.uri(),
        "--again",
    ]);
    assert!(out.status.success());
    assert_eq!(v["printed"], 6);
    assert_eq!(second.slips().len(), 10);
}

/// A card the office revoked (here: voided at the office) is left out of the sheets once the
/// laptop holds the bundle that says so (it comes with every upload).
#[test]
fn cards_the_office_revoked_are_left_out() {
    use common::net::{Server, add_device, server_cmd, sqlite_db};
    let db = &sqlite_db();
    let server = Server::start(&db.url);
    let token = add_device(&db.url, "laptop-1");
    let b = Booth::new();
    fonts(&b, &[DROID, DEJAVU]);
    let numbers = roster(&b, 3, |i| {
        format!("职工{}", "甲乙丙".chars().nth(i as usize).unwrap())
    });
    let up = |b: &Booth| {
        let (out, v) = b.json(&[
            "upload",
            "--server",
            &server.url(),
            "--token",
            &token,
            "--give-up-after",
            "5",
        ]);
        assert!(out.status.success(), "{v}");
    };
    up(&b);
    let (out, _) = server_cmd(&["void", &numbers[1], "--reason", "重复登记", "--db", &db.url]);
    assert!(out.status.success(), "{}", stderr(&out));
    up(&b); // nothing queued: brings the new bundle
    let pdf = b.dir.path().join("c.pdf");
    let (out, v) = b.json(&["cards", "--all", "--pdf", pdf.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["cards"], 2, "{v}");
    assert_eq!(v["skipped"][0]["reason"], "revoked", "{v}");
    let (codes, _) = decode_pdf(&pdf);
    assert_eq!(codes.len(), 2);
    assert!(member_nos(&b, &codes).iter().all(|n| *n != numbers[1]));
}
