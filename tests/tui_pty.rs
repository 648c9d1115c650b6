//! The terminal UI end to end: the real binary in a pseudo-terminal, typed at like an
//! operator would, read back through a terminal emulator.

mod common;

use common::pty::*;
use common::*;

fn decode_modules(modules: &[Vec<bool>]) -> String {
    // quiet zone around whatever the screen showed, 6 px per module
    let pad = 4;
    let h = modules.len() + 2 * pad;
    let w = modules.iter().map(Vec::len).max().unwrap() + 2 * pad;
    let s = 6;
    let img = image::GrayImage::from_fn((w * s) as u32, (h * s) as u32, |x, y| {
        let (mx, my) = (x as usize / s, y as usize / s);
        let dark = my >= pad
            && mx >= pad
            && modules
                .get(my - pad)
                .and_then(|r| r.get(mx - pad))
                .copied()
                .unwrap_or(false);
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the screen");
    grids[0].decode().expect("the screen's QR code decodes").1
}

#[test]
fn a_booth_day_in_the_terminal() {
    let b = Booth::new();
    let data = b.data();
    let mut t = Tui::start(&data, 80, 24);
    t.wait_for("首次设置", 10);

    // setup: union, its short name (not needed), place, operator, language, printer (none),
    // passphrase twice
    t.send("北京市朝阳区总工会");
    t.key(TAB);
    t.key(TAB);
    t.send("望京SOHO驿站");
    t.key(TAB);
    t.send("李淑芬");
    t.key(TAB);
    t.key(TAB);
    t.key(TAB);
    // the office's enrolment code and certificate: later, on the upload screen
    t.key(TAB);
    t.key(TAB);
    t.send(PASS);
    t.key(TAB);
    t.send(PASS);
    t.key(ENTER);
    t.wait_for("新会员登记", 10);

    // a registration: only the keys beyond the typed data are counted
    t.keys_sent = 0;
    t.send("葛婷婷");
    t.key(TAB);
    t.send("11010519491231002X"); // moves on by itself …
    t.key(ENTER); // … and the card reader's Enter is swallowed
    t.keys_sent -= 1; // (that Enter is the reader's, not the operator's)
    t.send("13800138000"); // moves on by itself
    t.wait_for("北京市 朝阳区", 5); // derived from the ID number
    t.send("某某快递有限公司");
    t.key(TAB);
    t.key("y"); // consent, read out to the worker: and submit
    t.wait_for("登记成功", 10);
    assert_eq!(
        t.keys_sent, 3,
        "Tab after the name and after the employer; Y consents and submits"
    );
    // (the frame may arrive in more than one read: look until it is all there)
    let find_member_no = |screen: String| {
        screen
            .split_whitespace()
            .collect::<Vec<_>>()
            .windows(3)
            .find(|w| {
                w[0].len() == 6
                    && w[1].len() == 4
                    && w[2].len() == 1
                    && w[1].chars().all(|c| c.is_ascii_alphanumeric())
            })
            .map(|w| format!("{}-{}-{}", w[0], w[1], w[2]))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let member_no = loop {
        if let Some(no) = find_member_no(t.screen()) {
            break no;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the member number is on the screen:\n{}",
            t.screen()
        );
        std::thread::sleep(std::time::Duration::from_millis(30));
    };
    t.wait_for("凭条已存为图片", 10);

    // the QR code on the screen decodes and verifies
    let payload = decode_modules(&t.screen_qr_modules());

    // next member, tally a consultation
    t.key(ENTER);
    t.wait_for("新会员登记", 5);
    t.key(F6);
    t.wait_for("咨询者（今日 1 位）", 5);

    // lock, wrong passphrase, right passphrase
    t.key(F10);
    t.wait_for("已锁屏", 5);
    assert!(!t.screen().contains("葛婷婷"));
    t.send("not it");
    t.key(ENTER);
    t.wait_for("口令不对", 10);
    t.send(PASS);
    t.key(ENTER);
    t.wait_for("新会员登记", 10);

    // the same person again: refused with who and when, offered a reprint
    t.send("葛婷婷");
    t.key(TAB);
    t.send("11010519491231002X");
    t.wait_for("F8 补打凭条", 5);
    t.key(CTRL_X);
    t.wait_for("清空表单", 5);
    t.send("y");

    // no core dump can spill the decrypted records
    #[cfg(target_os = "linux")]
    {
        let pid = t.child.process_id().unwrap();
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
        let core = limits
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .unwrap();
        assert!(core.split_whitespace().nth(4) == Some("0"), "{core}");
    }

    // quit
    t.key(CTRL_Q);
    // (portable-pty reports a death by signal as exit code 1: a crash while exiting, e.g. in
    // OpenSSL's atexit clean-up racing a worker thread, fails here)
    assert_eq!(t.wait_exit(10), Some(0), "booth exits cleanly");

    // after a day of typing, printing and locking: nothing personal in clear in the folder,
    // the logs included
    for needle in [
        "葛婷婷",
        "11010519491231002X",
        "13800138000",
        "某某快递有限公司",
        PASS,
    ] {
        assert_eq!(
            folder_contains(&data, needle.as_bytes())
                .filter(|p| p.extension().is_none_or(|e| e != "png")),
            None,
            "{needle} in clear"
        );
    }
    let logs = std::fs::read_dir(data.join("logs")).unwrap().count();
    assert!(logs > 0, "the day was logged");

    // the member is in the export, the payload verifies, the day's figures add up
    let (out, v) = b.json(&["stats"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(v["registered"], 1);
    assert_eq!(v["consultations"], 1);
    let json = b.dir.path().join("day.json");
    assert!(
        b.run(&[
            "export",
            "--format",
            "json",
            "--out",
            json.to_str().unwrap()
        ])
        .status
        .success()
    );
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(
        text.contains("葛婷婷") && text.contains(&member_no),
        "{text}"
    );
    let (out, vv) = b.json(&["verify", &payload]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(vv["member_no"], member_no.as_str());
}

#[test]
fn a_killed_booth_offers_the_draft_back() {
    let b = Booth::new();
    assert!(b.run(&["stats"]).status.success()); // set up from the command line
    let data = b.data();
    let drafts = DraftLog::mark(&data);
    let mut t = Tui::start_logging_drafts(&data, 80, 24);
    t.wait_for("请输入口令", 10);
    t.send(PASS);
    t.key(ENTER);
    t.wait_for("新会员登记", 10);
    t.send("买买提·吐尔逊");
    t.key(TAB);
    t.send("6501021985");
    // once the draft writer has committed all 17 characters typed, pull the plug
    drafts.wait_saved("买买提·吐尔逊".chars().count() + "6501021985".len(), 10);
    t.kill9();

    let mut t = Tui::start(&data, 80, 24);
    t.wait_for("请输入口令", 10);
    t.send(PASS);
    t.key(ENTER);
    t.wait_for("未提交的草稿", 10);
    let screen = t.screen();
    assert!(screen.contains("买买提·吐尔逊"), "{screen}");
    assert!(screen.contains("6501021985"), "{screen}");
    t.key(CTRL_Q);
    t.wait_for("Y", 5);
    t.send("y");
    assert_eq!(t.wait_exit(10), Some(0));
}

#[test]
fn a_small_terminal_gets_a_message_not_a_garbled_screen() {
    let b = Booth::new();
    let mut t = Tui::start(&b.data(), 60, 16);
    t.wait_for("80×24", 10);
    t.send(CTRL_Q);
    assert_eq!(t.wait_exit(10), Some(0));
}

/// Three workers typed without pauses: each registration one write to the terminal (as a
/// card reader or a fast typist sends it), the second and third while the previous done
/// screen shows, a stray Ctrl-S after each. Exactly three records, each as typed; three
/// operator keys per worker. At the acceptance's 100×32 and at 80×24.
#[test]
fn three_workers_typed_in_bursts_are_stored_exactly() {
    for (cols, rows) in [(100, 32), (80, 24)] {
        let b = Booth::new();
        assert!(
            b.run(&["config", "set", "union", "北京市朝阳区总工会"])
                .status
                .success()
        );
        // a file printer whose file does not exist yet: made at the first slip
        let slips = b.dir.path().join("slips.bin");
        let printer = format!("file:{}", slips.display());
        assert!(
            b.run(&["config", "set", "printer", &printer])
                .status
                .success()
        );
        let data = b.data();
        let mut t = Tui::start(&data, cols, rows);
        t.wait_for("请输入口令", 10);
        t.send(PASS);
        t.send(ENTER);
        t.wait_for("新会员登记", 10);

        let workers = [
            (
                "葛婷婷",
                "11010519491231002X",
                "13800138000",
                "京东物流亦庄站",
            ),
            ("蒋琳", "110105198808080023", "13612342222", "顺丰速运"),
            ("王秀英", "320102199303030076", "13912345678", "美团外卖"),
        ];
        for (i, (name, id, phone, employer)) in workers.iter().enumerate() {
            // the keys that are not the worker's data, counted
            let keys = [TAB, TAB, "y"];
            let burst = format!(
                "{name}{}{id}{phone}{employer}{}{}{CTRL_S}",
                keys[0], keys[1], keys[2]
            );
            assert!(keys.len() <= 3, "operator keys per worker");
            t.send(&burst);
            t.wait_for(&format!("入会 {}", i + 1), 10);
        }
        // the last worker's code is on the screen, whole quiet zone and all, and decodes
        t.wait_for("凭条已打印", 10);
        let payload = decode_modules(&t.screen_qr_modules());
        t.send(CTRL_Q);
        assert_eq!(t.wait_exit(10), Some(0), "at {cols}×{rows}");

        let out = b.dir.path().join("day.json");
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
        let mut got: Vec<(String, String, String, String)> = v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let f = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                (f("name"), f("id_number"), f("phone"), f("employer"))
            })
            .collect();
        got.sort();
        let mut want: Vec<_> = workers
            .iter()
            .map(|(n, i, p, e)| (n.to_string(), i.to_string(), p.to_string(), e.to_string()))
            .collect();
        want.sort();
        assert_eq!(got, want, "at {cols}×{rows}");
        let (out, verdict) = b.json(&["verify", &payload]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(verdict["member_no"].is_string());
        assert!(
            std::fs::metadata(&slips).unwrap().len() > 0,
            "three slips in the printer file"
        );
    }
}

/// Issue 14 item 7: a cadre sets up the upload and uploads from the terminal alone: the
/// enrolment code as `booth server add-device` printed it, pasted on the upload screen (a
/// mistyped one refused in words first), then Enter, Enter.
#[test]
fn the_enrolment_code_is_pasted_on_the_upload_screen_and_the_day_uploads() {
    use common::net::{Server, members_on_server, server_cmd};
    let b = Booth::new();
    let (out, _) = b.register_sample();
    assert!(out.status.success(), "{}", stderr(&out));
    let db = format!("sqlite:{}", b.dir.path().join("office.db").display());
    let server = Server::start(&db);
    let (out, v) = server_cmd(&[
        "add-device",
        "laptop-pty",
        "--db",
        &db,
        "--server-url",
        &server.url(),
    ]);
    assert!(out.status.success(), "{v}");
    let code = v["enrolment_code"].as_str().unwrap().to_string();

    let mut t = Tui::start(&b.data(), 80, 24);
    t.wait_for("请输入口令", 10);
    t.send(PASS);
    t.key(ENTER);
    t.wait_for("新会员登记", 10);
    t.key(F5);
    t.wait_for("未配置上传", 5);
    t.wait_for("登记码", 5);
    // typed with a slip of the finger: refused beside the field, in words
    t.send("BOOTH1-abc");
    t.key(ENTER);
    t.wait_for("登记码已损坏", 5);
    // the whole code pasted (a terminal's bracketed paste) replaces it
    t.send(&format!("\x1b[200~{code}\x1b[201~"));
    t.key(ENTER);
    t.wait_for("已设置上传", 10);
    assert!(t.screen().contains(&server.url()), "{}", t.screen());
    t.key(ENTER);
    t.wait_for("待上传记录：0 条", 20);
    assert_eq!(members_on_server(&db), 1);
    t.key(CTRL_Q);
    assert_eq!(t.wait_exit(10), Some(0));
}

/// Issue 16 item 3: the records list filtered by a day, Ctrl-P, a PDF file: the card sheets
/// are written off the UI thread with progress, and the panel says how many.
#[test]
fn print_these_cards_to_a_pdf_from_the_records_list() {
    let b = Booth::new();
    for i in 0..3 {
        let (out, v) = b.register(
            ["葛婷婷", "王建国", "买买提"][i],
            &valid_id(40 + i as u32),
            &phone(40 + i as u32),
        );
        assert!(out.status.success(), "{v}");
    }
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    let pdf = b.dir.path().join("cards today.pdf");
    let mut t = Tui::start(&b.data(), 100, 32);
    t.wait_for("请输入口令", 10);
    t.send(PASS);
    t.key(ENTER);
    t.wait_for("新会员登记", 10);
    t.key(F3);
    t.wait_for("已列出 3 条", 10);
    t.send(&today);
    t.wait_for("Ctrl-P 打印这些会员卡", 5);
    t.key("\x10"); // Ctrl-P
    t.wait_for("打印这些会员卡", 5);
    t.wait_for(&format!("范围：{today} 当天登记的会员"), 5);
    t.key("\x15"); // Ctrl-U: the suggested file name goes
    t.send(pdf.to_str().unwrap());
    t.key(ENTER);
    t.wait_for("已写入 3 张会员卡（1 页 A4）", 30);
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-") && bytes.ends_with(b"%%EOF\n"));
    // back to the list with its filter
    t.key(ENTER);
    t.wait_for("已列出 3 条", 5);
    t.key(CTRL_Q);
    assert_eq!(t.wait_exit(10), Some(0));
}
