//! Slips legible on any laptop: per-character font fallback (a folder holding only Droid Sans
//! Fallback, the one CJK font of many Linux laptops), a warning for a character no font has,
//! the slip's own language, and Chinese / English line breaking on ESC/POS, PNG and SVG.

mod common;

use std::path::{Path, PathBuf};

use booth::slip::escpos::reader::{Op, parse};
use booth::slip::font::{FontSource, Fonts};
use common::*;

const DROID: &str = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf";
const DEJAVU: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// A folder holding only the given font files (CI installs fonts-droid-fallback and
/// fonts-dejavu-core).
fn font_dir(b: &Booth, name: &str, files: &[&str]) -> PathBuf {
    let dir = b.dir.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for f in files {
        common::tools::required_file(f, "fonts-droid-fallback fonts-dejavu-core");
        std::fs::copy(f, dir.join(Path::new(f).file_name().unwrap())).unwrap();
    }
    dir
}

fn registered(b: &Booth, name: &str, id: &str) -> String {
    let (out, v) = b.register(name, id, "13800138000");
    assert!(out.status.success(), "{}", stderr(&out));
    v["member_no"].as_str().unwrap().to_string()
}

fn set(b: &Booth, key: &str, value: &str) {
    let out = b.run(&["config", "set", key, value]);
    assert!(out.status.success(), "{}", stderr(&out));
}

fn decode_png(path: &Path) -> String {
    let img = image::open(path).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "exactly one QR code on the slip");
    grids[0].decode().unwrap().1
}

/// Every character of the slip's text has a real glyph (not .notdef, glyph 0) in the fonts of
/// `dir`: what the PNG draws is legible.
fn assert_every_glyph_real(dir: &Path, texts: &[&str]) {
    let fonts = Fonts::load(&FontSource {
        file: None,
        dir: Some(dir.into()),
    })
    .unwrap();
    for text in texts {
        for c in text.chars().filter(|c| !c.is_whitespace()) {
            let g = fonts
                .find_or_alike(c)
                .unwrap_or_else(|| panic!("no glyph for {c:?} in {text:?}"));
            assert_ne!(g.id.0, 0, "{c:?} would be drawn as .notdef");
        }
    }
}

#[test]
fn png_slip_is_legible_with_only_droid_sans_fallback() {
    let b = Booth::new();
    set(&b, "union", "北京市朝阳区总工会");
    let dir = font_dir(&b, "droid-only", &[DROID]);
    set(&b, "font_dir", dir.to_str().unwrap());
    let no = registered(&b, "买买提·吐尔逊", "11010519491231002X");
    for lang in ["zh-CN", "en"] {
        set(&b, "slip_language", lang);
        let png = b.dir.path().join(format!("slip-{lang}.png"));
        let (out, v) = b.json(&["card", &no, "--png", png.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(v["notes"], serde_json::json!([]), "{lang}: {}", v["notes"]);
        assert_eq!(decode_png(&png), v["qr_payload"].as_str().unwrap());
    }
    let today = chrono::Local::now().date_naive().to_string();
    assert_every_glyph_real(
        &dir,
        &[
            &no,
            &today,
            "姓名：买买提·吐尔逊",
            "会员编号：",
            "Name: Member number: Joined:",
            "Show this code at union service points; it can be checked offline.",
            "Trade union membership slip",
        ],
    );
}

#[test]
fn digits_come_from_a_latin_face_when_there_is_one() {
    let b = Booth::new();
    let dir = font_dir(&b, "droid-dejavu", &[DROID, DEJAVU]);
    let fonts = Fonts::load(&FontSource {
        file: None,
        dir: Some(dir),
    })
    .unwrap();
    let digit = fonts.find_or_alike('7').unwrap();
    assert_eq!(digit.face.name, "DejaVu Sans");
    assert!(!digit.narrow, "the real digit, not a full-width stand-in");
    assert_eq!(fonts.find('会').unwrap().face.name, "Droid Sans Fallback");
}

#[test]
fn a_character_no_font_has_is_reported_not_boxed() {
    let b = Booth::new();
    let dir = font_dir(&b, "droid-only", &[DROID]);
    set(&b, "font_dir", dir.to_str().unwrap());
    // 𠮷 (CJK extension B) is not in Droid Sans Fallback
    let no = registered(&b, "吉𠮷", "11010519491231002X");
    let png = b.dir.path().join("s.png");
    let (out, v) = b.json(&["card", &no, "--png", png.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let notes = v["notes"].to_string();
    assert!(notes.contains("U+20BB7"), "{notes}");
    assert!(!decode_png(&png).is_empty());
    // the saved slip of `print` says it too, in its message and its JSON
    let (out, v) = b.json(&["print", &no]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(v["notes"].to_string().contains("U+20BB7"), "{v}");
    let human = String::from_utf8(b.run(&["print", &no]).stdout).unwrap();
    assert!(
        human.contains("𠮷") && human.contains("fonts-noto-cjk"),
        "{human}"
    );
}

/// The text lines a printer would print, with today's date and the member number replaced.
fn escpos_lines(b: &Booth, no: &str) -> String {
    let file = b.dir.path().join("slip.bin");
    let out = b.run(&["card", no, "--escpos", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let today = chrono::Local::now().date_naive().to_string();
    parse(&std::fs::read(&file).unwrap())
        .unwrap()
        .into_iter()
        .filter_map(|op| match op {
            Op::Text(t, _) => Some(t.replace(no, "<NO>").replace(&today, "<DATE>")),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn slip_language_is_its_own_setting_and_lines_break_by_the_rules() {
    let b = Booth::new();
    set(&b, "union", "北京市朝阳区总工会");
    set(&b, "qr_mode", "raster");
    let no = registered(&b, "葛婷婷", "11010519491231002X");
    // the operator reads English; the slip stays in Chinese until its own setting says so
    set(&b, "language", "en");
    let zh = escpos_lines(&b, &no);
    insta::assert_snapshot!("escpos_58mm_zh", zh);
    for line in zh.lines() {
        assert!(!line.starts_with('，') && !line.starts_with('。'), "{zh}");
        assert!(line.chars().count() > 1, "a lone character: {zh}");
    }
    set(&b, "slip_language", "en");
    let en = escpos_lines(&b, &no);
    insta::assert_snapshot!("escpos_58mm_en", en);
    assert!(en.contains("offline."), "{en}");
    set(&b, "paper", "80");
    insta::assert_snapshot!("escpos_80mm_en", escpos_lines(&b, &no));
}

#[test]
fn svg_slip_breaks_long_lines_by_the_same_rules() {
    let b = Booth::new();
    set(&b, "union_short", "望京街道总工会");
    set(&b, "union", "北京市朝阳区望京街道总工会联合会");
    let no = registered(&b, "葛婷婷", "11010519491231002X");
    let svg = b.dir.path().join("s.svg");
    assert!(
        b.run(&["card", &no, "--svg", svg.to_str().unwrap()])
            .status
            .success()
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("<text"))
        .map(|l| &l[l.find('>').unwrap() + 1..l.rfind("</text>").unwrap()])
        .collect();
    assert!(
        lines.contains(&"凭此码在工会服务站点享受会员服务，可离线核验真")
            && lines.contains(&"伪。"),
        "{lines:?}"
    );
    assert!(lines.iter().all(|l| !l.starts_with('，')), "{lines:?}");
}
