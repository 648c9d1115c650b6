//! The membership card end to end: the slip's QR decoded by independent decoders and verified,
//! forgeries refused, ESC/POS bytes read back, printers on loopback and in files.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use booth::slip::escpos::reader::{Op, parse};
use common::*;
use proptest::prelude::*;
use serde_json::Value;

fn registered(b: &Booth, name: &str, id: &str) -> String {
    let (out, v) = b.register(name, id, "13800138000");
    assert!(out.status.success(), "{}", stderr(&out));
    v["member_no"].as_str().unwrap().to_string()
}

fn decode_png(path: &std::path::Path) -> String {
    let img = image::open(path).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "exactly one QR code on the slip");
    grids[0].decode().unwrap().1
}

/// The QR code in a PNG as zbarimg reads it, or `None` where zbar-tools is not installed
/// (a failure under CI). zbarimg finding no code is a failure, not a skip.
fn zbar(png: &std::path::Path) -> Option<String> {
    let zbarimg = common::tools::tool("zbarimg", "zbar-tools")?;
    let out = std::process::Command::new(zbarimg)
        .args(["-q", "--raw"])
        .arg(png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zbarimg read no code in {}",
        png.display()
    );
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn png_slip_decodes_and_verifies_and_a_flipped_character_is_refused() {
    let b = Booth::new();
    assert!(
        b.run(&["config", "set", "union", "北京市朝阳区总工会"])
            .status
            .success()
    );
    let no = registered(&b, "买买提·吐尔逊", "11010519491231002X");
    let png = b.dir.path().join("slip.png");
    let (out, v) = b.json(&["card", &no, "--png", png.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        v["qr_version"].as_i64().unwrap() <= 6,
        "QR version {} too dense for 58 mm",
        v["qr_version"]
    );
    let payload = decode_png(&png);
    assert_eq!(payload, v["qr_payload"].as_str().unwrap());
    // no personal data in the payload
    let raw = base45::decode(payload.strip_prefix(booth::card::payload::PREFIX).unwrap()).unwrap();
    for needle in [
        "11010519491231002X".as_bytes(),
        b"13800138000",
        "买买提".as_bytes(),
    ] {
        assert!(!raw.windows(needle.len()).any(|w| w == needle));
    }
    let (out, vv) = b.json(&["verify", &payload]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(vv["member_no"], no);
    assert_eq!(vv["union"], "北京市朝阳区总工会");

    // flip one character
    let mut flipped: Vec<char> = payload.chars().collect();
    let i = flipped.len() / 2;
    flipped[i] = if flipped[i] == 'A' { 'B' } else { 'A' };
    let flipped: String = flipped.into_iter().collect();
    let (out, vv) = b.json(&["verify", &flipped]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(vv["ok"], false);
    assert_eq!(stderr(&out).lines().count(), 1);

    // zbar, a second independent decoder (required under CI, which installs it)
    if let Some(read) = zbar(&png) {
        assert_eq!(read, payload);
    }
}

/// With `verify_url` set, the slip's QR holds `HTTPS://HOST/V#GH1:…` (a phone camera opens
/// the office's page): it still decodes with both decoders, fits version 8 on 58 mm, and
/// `booth verify` takes it as it is scanned.
#[test]
fn the_url_form_qr_still_scans_and_verifies() {
    let b = Booth::new();
    for (k, v) in [
        ("union", "北京市朝阳区总工会"),
        ("verify_url", "https://verify.bjzgh.org.cn"),
    ] {
        let out = b.run(&["config", "set", k, v]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert!(
        !b.run(&["config", "set", "verify_url", "http://x.cn/path"])
            .status
            .success()
    );
    let no = registered(&b, "买买提·吐尔逊", "11010519491231002X");
    let png = b.dir.path().join("slip.png");
    let (out, v) = b.json(&["card", &no, "--png", png.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let scanned = decode_png(&png);
    let code = v["qr_payload"].as_str().unwrap();
    assert_eq!(
        scanned,
        booth::card::trust::url_form("https://verify.bjzgh.org.cn", code)
    );
    assert!(
        scanned.starts_with("HTTPS://VERIFY.BJZGH.ORG.CN/V#GH1:"),
        "{scanned}"
    );
    let version = v["qr_version"].as_i64().unwrap();
    assert!(version <= 8, "QR version {version} too dense for 58 mm");
    let (out, vv) = b.json(&["verify", &scanned]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(vv["member_no"], no);
    if let Some(read) = zbar(&png) {
        assert_eq!(read, scanned);
    }
}

#[test]
fn another_laptops_code_needs_its_key() {
    let a = Booth::new();
    let b = Booth::new();
    let (_, v) = a.register_sample();
    let payload = v["qr_payload"].as_str().unwrap().to_string();
    // b does not know a's key
    let (out, vv) = b.json(&["verify", &payload]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(vv["reason"], "unknown_key");
    // a's exported key line in a trusted-key file
    let line = String::from_utf8(a.run(&["keys", "export"]).stdout).unwrap();
    let keys = b.dir.path().join("union-keys.txt");
    std::fs::write(&keys, format!("# 朝阳区总工会 booth keys\n{line}")).unwrap();
    let (out, vv) = b.json(&["verify", &payload, "--keys", keys.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(vv["member_no"], v["member_no"]);
    // or in b's data folder's trusted-keys.txt
    std::fs::copy(&keys, b.data().join("trusted-keys.txt")).unwrap();
    let (out, _) = b.json(&["verify", &payload]);
    assert!(out.status.success());
    // read from stdin, as zbarimg prints it
    let mut child = b
        .cmd(&["verify", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("QR-Code:{payload}\n").as_bytes())
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
}

#[test]
fn hostile_payloads_are_refused_with_reasons() {
    let b = Booth::new();
    let (_, v) = b.register_sample();
    let p = v["qr_payload"].as_str().unwrap();
    let long = "A".repeat(10_000);
    // base45 text can start with '-': still a payload, never mistaken for a flag
    let (out, vv) = b.json(&["verify", "-5ABCDEF"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        vv["ok"], false,
        "a refusal with a reason, not a usage error"
    );
    let cases: Vec<(&str, &str)> = vec![
        ("", "empty"),
        (&long, "too_long"),
        ("会员码", "not_booth"),
        ("GH1:会员码", "not_base45"),
        (&p[..p.len() - 20], "truncated"),
    ];
    for (payload, reason) in cases {
        let (out, vv) = b.json(&["verify", payload]);
        assert_eq!(out.status.code(), Some(1), "{reason}");
        assert_eq!(vv["reason"], reason);
    }
}

#[test]
fn escpos_bytes_carry_the_payload_the_name_in_gb18030_and_end_with_a_cut() {
    let b = Booth::new();
    let no = registered(&b, "吉𠮷·阿依", "11010519491231002X");
    let png = b.dir.path().join("s.png");
    b.run(&["card", &no, "--png", png.to_str().unwrap()]);
    let png_payload = decode_png(&png);

    for (paper, mode) in [
        ("58", "native"),
        ("80", "native"),
        ("58", "raster"),
        ("80", "raster"),
    ] {
        b.run(&["config", "set", "paper", paper]);
        b.run(&["config", "set", "qr_mode", mode]);
        let file = b.dir.path().join(format!("slip-{paper}-{mode}.bin"));
        let out = b.run(&["card", &no, "--escpos", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        let bytes = std::fs::read(&file).unwrap();
        let ops = parse(&bytes).expect("only commands booth knows");
        assert_eq!(ops.first(), Some(&Op::Init));
        assert!(ops.contains(&Op::ChineseMode));
        assert!(matches!(ops.last(), Some(Op::Cut(_))), "ends with a cut");
        // the name, rare character and middle dot included, as GB18030
        let (gb, _, _) = encoding_rs::GB18030.encode("吉𠮷·阿依");
        assert!(
            bytes.windows(gb.len()).any(|w| w == &gb[..]),
            "name bytes missing"
        );
        assert!(
            gb.windows(4).any(|w| w == [0x95, 0x34, 0xB2, 0x35]),
            "𠮷 is four bytes"
        );
        match mode {
            "native" => {
                let stored = ops.iter().find_map(|o| match o {
                    Op::QrStore(d) => Some(String::from_utf8(d.clone()).unwrap()),
                    _ => None,
                });
                assert_eq!(stored.as_deref(), Some(png_payload.as_str()));
                assert!(
                    ops.contains(&Op::QrModel(50))
                        && ops.contains(&Op::QrEcc(49))
                        && ops.contains(&Op::QrPrint)
                );
            }
            _ => {
                let (row_bytes, rows, bits) = ops
                    .iter()
                    .find_map(|o| match o {
                        Op::Raster {
                            row_bytes,
                            rows,
                            bits,
                        } => Some((*row_bytes, *rows, bits.clone())),
                        _ => None,
                    })
                    .expect("a raster image");
                let max_dots = if paper == "58" { 384 } else { 576 };
                assert!(row_bytes * 8 <= max_dots, "raster wider than the paper");
                let img = image::GrayImage::from_fn(row_bytes as u32 * 8, rows as u32, |x, y| {
                    let byte = bits[y as usize * row_bytes + x as usize / 8];
                    image::Luma([if byte & (0x80 >> (x % 8)) != 0 {
                        0
                    } else {
                        255
                    }])
                });
                let mut prepared = rqrr::PreparedImage::prepare(img);
                let grids = prepared.detect_grids();
                assert_eq!(grids[0].decode().unwrap().1, png_payload);
            }
        }
    }
}

#[test]
fn svg_slip_has_text_as_text_and_the_qr_as_paths() {
    let b = Booth::new();
    // markup characters are refused as names, so XML escaping is defence in depth
    let (out, _) = b.register("葛<婷>&婷", "11010519491231002X", "13800138000");
    assert_eq!(out.status.code(), Some(1));
    let no = registered(&b, "葛婷婷", &valid_id(3));
    let svg = b.dir.path().join("s.svg");
    assert!(
        b.run(&["card", &no, "--svg", svg.to_str().unwrap()])
            .status
            .success()
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("<text") && text.contains("葛婷婷") && text.contains("<path d=\"M"));
}

#[test]
fn printing_to_a_tcp_printer_on_loopback() {
    let b = Booth::new();
    let no = registered(&b, "葛婷婷", "11010519491231002X");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got
    });
    let (out, v) = b.json(&[
        "print",
        &no,
        "--printer",
        &format!("tcp://127.0.0.1:{port}"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["printed"], true);
    let got = server.join().unwrap();
    // the paper-status query first, then the slip
    assert!(got.starts_with(&[0x10, 0x04, 0x04]));
    let ops = parse(&got[3..]).unwrap();
    assert!(matches!(ops.last(), Some(Op::Cut(_))));
}

#[test]
fn a_printer_out_of_paper_is_named_and_the_slip_saved() {
    let b = Booth::new();
    let no = registered(&b, "葛婷婷", "11010519491231002X");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut q = [0u8; 3];
        s.read_exact(&mut q).unwrap();
        s.write_all(&[0x72]).unwrap(); // status: paper end
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let (out, v) = b.json(&[
        "print",
        &no,
        "--printer",
        &format!("tcp://127.0.0.1:{port}"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("缺纸"), "{}", stderr(&out));
    assert!(std::path::Path::new(v["saved_png"].as_str().unwrap()).exists());
}

#[test]
fn a_closed_port_fails_fast_and_saves_the_png() {
    let b = Booth::new();
    let no = registered(&b, "葛婷婷", "11010519491231002X");
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // closed again
    let t = Instant::now();
    let (out, v) = b.json(&[
        "print",
        &no,
        "--printer",
        &format!("tcp://127.0.0.1:{port}"),
    ]);
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1);
    assert!(
        err.contains("连不上打印机") && err.contains("登记已保存"),
        "{err}"
    );
    let png = v["saved_png"].as_str().unwrap();
    assert!(
        png.starts_with(b.data().to_str().unwrap()),
        "saved in the data folder"
    );
    assert!(!decode_png(std::path::Path::new(png)).is_empty());
    // the registration is still there and reprint works later
    let (_, s) = b.json(&["stats"]);
    assert_eq!(s["registered"], 1);
}

#[test]
fn printing_to_a_device_path_and_to_a_missing_device() {
    let b = Booth::new();
    let no = registered(&b, "葛婷婷", "11010519491231002X");
    let dev = b.dir.path().join("lp0");
    std::fs::write(&dev, b"").unwrap();
    let out = b.run(&[
        "print",
        &no,
        "--printer",
        &format!("file:{}", dev.display()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ops = parse(&std::fs::read(&dev).unwrap()).unwrap();
    assert!(matches!(ops.last(), Some(Op::Cut(_))));
    let out = b.run(&["print", &no, "--printer", "file:/dev/usb/lp9"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("找不到打印机"), "{}", stderr(&out));
    // no printer configured: saved as PNG, exit 0, path told
    let (out, v) = b.json(&["print", &no]);
    assert!(out.status.success());
    assert!(v["saved_png"].is_string());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random bytes, random base45 text, random strings: always an error, never a panic.
    #[test]
    fn the_payload_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), s in ".{0,300}") {
        let ring = booth::card::KeyRing::default();
        let as_b45 = format!("{}{}", booth::card::payload::PREFIX, base45::encode(&bytes));
        prop_assert!(booth::card::payload::verify(&as_b45, &ring).is_err());
        prop_assert!(booth::card::payload::verify(&s, &ring).is_err());
        let _ = booth::card::payload::decode(&as_b45);
        let _ = parse(&bytes);
    }
}

#[test]
fn stats_json_shape_is_stable() {
    let b = Booth::new();
    let (_, v): (_, Value) = b.json(&["stats"]);
    assert!(v["date"].is_string());
}

/// CUPS: `lp -d QUEUE -o raw` receives the slip on its standard input. A stand-in `lp` on the
/// PATH records what it was given; a failing one gives a clear error and a saved PNG.
#[cfg(unix)]
#[test]
fn printing_through_a_cups_queue() {
    use std::os::unix::fs::PermissionsExt;
    let b = Booth::new();
    let no = registered(&b, "葛婷婷", "11010519491231002X");
    let bin = b.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let got = b.dir.path().join("lp-received.bin");
    let args = b.dir.path().join("lp-args.txt");
    let script = format!(
        "#!/bin/sh\necho \"$@\" > '{}'\ncat > '{}'\n[ \"$2\" = broken ] && {{ echo 'lp: The printer or class does not exist.' >&2; exit 1; }}\nexit 0\n",
        args.display(),
        got.display()
    );
    std::fs::write(bin.join("lp"), script).unwrap();
    std::fs::set_permissions(bin.join("lp"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let out = b
        .cmd(&["print", &no, "--printer", "lp:Receipt58"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&args).unwrap().trim(),
        "-d Receipt58 -o raw -s"
    );
    let ops = parse(&std::fs::read(&got).unwrap()).unwrap();
    assert!(matches!(ops.last(), Some(Op::Cut(_))));

    let out = b
        .cmd(&["print", &no, "--printer", "lp:broken"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("CUPS") && err.contains("does not exist"),
        "{err}"
    );
    assert!(err.contains(".png"), "the slip was saved: {err}");
}
