//! Snapshots of every screen (ratatui `TestBackend` + insta), in both languages, at 80×24 (the
//! smallest supported) and 120×40. Review changes with `cargo insta review` or by reading the
//! `.snap` files: they are the screens as an operator sees them.

use std::sync::Arc;
use std::sync::mpsc;

use booth::card::MemberNo;
use booth::i18n::Lang;
use booth::member::Field;
use booth::member::MemberInput;
use booth::member::State;
use booth::store::members::Summary;
use booth::store::stats::{Counts, DayFigures};
use booth::tui::app::{App, Overlay, Screen, Tone};
use booth::tui::screens::done::{DoneState, PrintStatus};
use booth::tui::screens::form::FormState;
use booth::tui::view;
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn fixed_now() -> DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 24, 10, 30, 0)
        .unwrap()
}

fn today() -> NaiveDate {
    fixed_now().date_naive()
}

/// An app on a fresh data folder (set up, unlocked) with the clock fixed.
fn unlocked(lang: Lang) -> (tempfile::TempDir, App) {
    // SAFETY: every test in this file sets the same value.
    unsafe { std::env::set_var("BOOTH_KDF", "fast") };
    let dir = tempfile::tempdir().unwrap();
    let (tx, _rx) = mpsc::channel();
    let mut store = booth::store::Store::create(dir.path(), b"secret1", lang).unwrap();
    for (k, v) in [
        ("union", "北京市朝阳区总工会"),
        ("place", "望京SOHO驿站"),
        ("operator", "李淑芬"),
        ("language", lang.code()),
    ] {
        store.set_config(k, v, lang).unwrap();
    }
    drop(store);
    let mut app = App::new(dir.path().to_path_buf(), lang, tx, Arc::new(fixed_now));
    for c in "secret1".chars() {
        app.handle_key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char(c),
        ));
    }
    app.handle_key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Enter,
    ));
    assert_eq!(
        app.screen,
        Screen::Form,
        "unlock failed: {:?}",
        app.unlock.error
    );
    app.message = None;
    (dir, app)
}

/// The screen as text, one line per row, wide characters once (not followed by the blank
/// cell that carries their second column).
fn draw(app: &App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| view::render(app, f)).unwrap();
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        let mut skip = 0;
        for x in 0..w {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
            out.push_str(sym);
        }
        out.push_str("|\n");
    }
    out
}

fn snap(name: &str, app: &App) {
    for (w, h) in SIZES {
        let lang = match app.lang {
            Lang::Zh => "zh",
            Lang::En => "en",
        };
        insta::assert_snapshot!(format!("{name}_{lang}_{w}x{h}"), draw(app, w, h));
    }
}

fn filled_form() -> FormState {
    let input = MemberInput {
        name: "买买提·吐尔逊".into(),
        id_number: "11010519491231002X".into(),
        phone: "13800138000".into(),
        employer: "某某快递有限公司".into(),
        consent: true,
        employment_form: "food_delivery".into(),
        needs: "legal_aid,skills".into(),
        ..Default::default()
    };
    let mut f = FormState::from_input(&input, today());
    f.focus = Field::EmploymentForm;
    f
}

#[test]
fn setup_and_unlock_screens() {
    for lang in Lang::ALL {
        let dir = tempfile::tempdir().unwrap();
        let (tx, _rx) = mpsc::channel();
        let mut app = App::new(dir.path().join("new"), lang, tx, Arc::new(fixed_now));
        assert_eq!(app.screen, Screen::Setup);
        snap("setup", &app);
        // the printer's hint, whole even at 80 columns
        app.setup.focus = booth::tui::screens::setup::SetupField::Printer;
        snap("setup_printer", &app);
        app.setup.focus = booth::tui::screens::setup::SetupField::Union;
        app.setup.error = Some(booth::t!(lang, "setup.passphrase_mismatch").into());
        snap("setup_error", &app);
        // a union name too long for the QR code: the short name is asked for, in setup
        app.setup.union.set("北京市朝阳区望京街道总工会联合委员会");
        app.setup.focus = booth::tui::screens::setup::SetupField::UnionShort;
        app.setup.error = Some(booth::t!(lang, "setup.union_too_long").into());
        snap("setup_union_short", &app);
        // the office's enrolment code, optional, with its hint; refused in words
        app.setup.focus = booth::tui::screens::setup::SetupField::Code;
        app.setup.error = None;
        snap("setup_code", &app);
        app.setup.code.set("BOOTH1-abc");
        app.setup.error =
            Some(booth::sync::enrol::check_code("BOOTH1-abc", false, lang).unwrap_err());
        snap("setup_code_refused", &app);
        app.screen = Screen::Unlock;
        app.unlock.error = Some(booth::t!(lang, "store.wrong_passphrase").into());
        snap("unlock_wrong_passphrase", &app);
    }
}

#[test]
fn form_screens() {
    for lang in Lang::ALL {
        let (_d, mut app) = unlocked(lang);
        snap("form_empty", &app);
        app.form = filled_form();
        app.counts.consultations = 3;
        app.counts.registered = 12;
        app.counts.queued = 12;
        snap("form_filled", &app);
        // refused submit: every error shown
        let input = MemberInput {
            name: "张三".into(),
            id_number: "110105194912310021".into(),
            phone: "12345".into(),
            ..Default::default()
        };
        let mut f = FormState::from_input(&input, today());
        f.show_all_errors = true;
        f.focus = Field::IdNumber;
        app.form = f;
        app.message = Some((booth::t!(lang, "form.fix_errors").into(), Tone::Bad));
        snap("form_errors", &app);
        app.message = None;
        // a person already registered here: who, when, and the key to reprint, in 80 columns
        let mut f = filled_form();
        f.focus = Field::Phone;
        f.existing = Some(booth::store::members::Existing {
            member_no: MemberNo::new("K7M2QX", 42).unwrap(),
            name: Some("买买提·吐尔逊".into()),
            created_at: fixed_now(),
            state: State::Queued,
        });
        app.form = f;
        snap("form_existing", &app);
        app.form.employers = vec!["某某快递有限公司".into(), "城市配送站".into()];
        app.form.set_text(Field::Employer, "");
        app.form.focus = Field::Employer;
        snap("form_employer_suggestions", &app);
        // the consent field: Y consents and submits, Space consents only
        app.form.focus = Field::Consent;
        snap("form_consent", &app);
        app.form.focus = Field::Employer;
        app.overlay = Some(Overlay::Help);
        snap("help", &app);
        app.overlay = Some(Overlay::ConfirmQuit);
        snap("confirm_quit", &app);
    }
}

#[test]
fn after_submit_screen() {
    for lang in Lang::ALL {
        let (_d, mut app) = unlocked(lang);
        // a fixed payload, so the snapshot does not change with the random device key
        // (as long as a real one: version 6 at level M, which does not fit 80×24 with its
        // whole quiet zone)
        let payload = "GH1:P80W%CYBNU203B1BR19AMN.USKVU+R6$K4KSBV3IFETV5*7HSATY4T6MI.JEV0J*2FWFNJ6HQESSUO0PET 20:ETPE-Q6C6AP9O8DP2248-MF53UJL1JDHNJ7A7FSK-6B70";
        app.done = DoneState::new(
            MemberNo::new("K7M2QX", 42).unwrap(),
            "葛婷婷".into(),
            booth::t!(lang, "slip.date", date = today()),
            payload,
        );
        app.screen = Screen::Done;
        snap("done_printing", &app);
        app.done.as_mut().unwrap().print = PrintStatus::Done {
            ok: false,
            message: booth::t!(
                lang,
                "print.saved_after_error",
                why = booth::t!(lang, "print.out_of_paper"),
                path = "/home/booth/.local/share/booth/slips/K7M2QX00428.png"
            ),
        };
        snap("done_printer_error", &app);
        // printed to a file printer with a long path: wrapped without a lone bracket
        app.done.as_mut().unwrap().print = PrintStatus::Done {
            ok: true,
            message: booth::t!(
                lang,
                "print.printed",
                printer = "file:/tmp/acceptance.Xq3RtZ/p.bin"
            ),
        };
        snap("done_printed", &app);
        // saved with a character no font has: a warning line of its own
        let mut coverage = booth::slip::font::Coverage::Complete;
        coverage.add_missing('𠮷');
        let d = app.done.as_mut().unwrap();
        d.print = PrintStatus::Done {
            ok: true,
            message: booth::t!(
                lang,
                "print.saved_no_printer",
                path = "/home/booth/.local/share/booth/slips/K7M2QX00428.png"
            ),
        };
        d.notes = coverage.note(lang).into_iter().collect();
        snap("done_font_warning", &app);
        let d = app.done.as_mut().unwrap();
        d.notes.clear();
        d.print = PrintStatus::Done {
            ok: true,
            message: booth::t!(
                lang,
                "print.printed",
                printer = "file:/tmp/acceptance.Xq3RtZ/p.bin"
            ),
        };
        // the next member typed while the card is still up: beside the form where it fits
        // with its whole quiet zone (100×32, 120×40), its number and keys in the title row
        // where it does not (80×24)
        app.screen = Screen::Form;
        app.form = FormState::from_input(
            &MemberInput {
                name: "蒋琳".into(),
                ..Default::default()
            },
            today(),
        );
        app.form.focus = Field::IdNumber;
        snap("form_beside_last_card", &app);
        let lang_code = if lang == Lang::Zh { "zh" } else { "en" };
        insta::assert_snapshot!(
            format!("form_beside_last_card_{lang_code}_100x32"),
            draw(&app, 100, 32)
        );
    }
}

fn summary(i: i64, state: State) -> Summary {
    Summary {
        id: i,
        member_no: MemberNo::new("K7M2QX", i as u32).unwrap(),
        name: Some(["葛婷婷", "买买提·吐尔逊", "JOHN SMITH", "张三"][i as usize % 4].into()),
        phone_tail: Some(format!("{:04}", 8000 + i)),
        employer: Some("某某快递有限公司".into()),
        created_at: fixed_now(),
        state,
    }
}

#[test]
fn records_screens() {
    for lang in Lang::ALL {
        let (_d, mut app) = unlocked(lang);
        app.screen = Screen::Records;
        app.records.rows = (1..=30)
            .map(|i| {
                summary(
                    i,
                    if i % 7 == 0 {
                        State::Rejected
                    } else {
                        State::Queued
                    },
                )
            })
            .collect();
        app.records.selected = 2;
        app.records.exhausted = true;
        snap("records_list", &app);
        app.records.query.set("8001");
        app.records.rows.clear();
        snap("records_none", &app);
    }
}

/// "Print these cards": the list filtered by an employer offers it; the panel's choice, its
/// progress, a pause, and the end with a warning about characters no font has.
#[test]
fn print_these_cards_screens() {
    use booth::tui::screens::cards::{CardsDone, CardsProgress, CardsState};
    for lang in Lang::ALL {
        let (_d, mut app) = unlocked(lang);
        app.screen = Screen::Records;
        app.records.rows = (1..=3).map(|i| summary(i, State::Queued)).collect();
        app.records.exhausted = true;
        app.records.query.set("@某某快递");
        snap("records_filtered", &app);
        let filter = app.records.filter().unwrap();
        app.records.cards = Some(CardsState::new(
            filter,
            "/home/cadre/booth-cards-2026-11-24.pdf".into(),
            Some("tcp://192.168.1.50:9100".into()),
        ));
        snap("cards_choose", &app);
        let c = app.records.cards.as_mut().unwrap();
        c.target = booth::tui::screens::cards::Target::Printer;
        c.again = true;
        snap("cards_choose_printer", &app);
        let c = app.records.cards.as_mut().unwrap();
        c.target = booth::tui::screens::cards::Target::Pdf;
        c.again = false;
        let c = app.records.cards.as_mut().unwrap();
        let _flags = c.begin();
        c.progress(CardsProgress::Selected {
            total: 120,
            revoked: 1,
            voided: 2,
        });
        c.progress(CardsProgress::Card {
            done: 45,
            total: 120,
        });
        snap("cards_running", &app);
        let c = app.records.cards.as_mut().unwrap();
        c.target = booth::tui::screens::cards::Target::Printer;
        c.progress(CardsProgress::Paused(
            booth::printer::PrintError::OutOfPaper.message(lang),
        ));
        snap("cards_paused", &app);
        let c = app.records.cards.as_mut().unwrap();
        c.target = booth::tui::screens::cards::Target::Pdf;
        let mut coverage = booth::slip::font::Coverage::Complete;
        coverage.add_missing('𠮷');
        c.finished(CardsDone::Pdf {
            path: "/home/cadre/booth-cards-2026-11-24.pdf".into(),
            cards: 119,
            pages: 12,
            notes: coverage.note(lang).into_iter().collect(),
        });
        snap("cards_done", &app);
    }
}

#[test]
fn record_detail_masks_the_id_and_phone() {
    for lang in Lang::ALL {
        let (_d, mut app) = unlocked(lang);
        let now = fixed_now();
        let input = filled_form().to_input();
        let v = booth::member::validate(&input, today()).unwrap();
        let store = app.session.as_mut().unwrap();
        let mut m = store
            .store
            .register(&v, &store.config.event(), &now)
            .unwrap();
        // the device key is random: show a fixed number in the snapshot
        m.member_no = MemberNo::new("K7M2QX", 1).unwrap();
        app.screen = Screen::Records;
        app.records.detail = Some(m);
        let text = draw(&app, 80, 24);
        assert!(text.contains("1101**********002X") && !text.contains("11010519491231002X"));
        assert!(text.contains("138****8000") && !text.contains("13800138000"));
        snap("record_detail", &app);
    }
}

#[test]
fn dashboard_and_upload_screens() {
    for lang in Lang::ALL {
        let (_d, mut app) = unlocked(lang);
        app.screen = Screen::Dashboard;
        snap("dashboard_loading", &app);
        let mut per_hour = [0u64; 24];
        for (h, n) in [
            (8, 3),
            (9, 12),
            (10, 20),
            (11, 6),
            (17, 15),
            (18, 30),
            (19, 9),
        ] {
            per_hour[h] = n;
        }
        let counts = Counts {
            consultations: 40,
            registered: 95,
            queued: 60,
            uploaded: 35,
            voided: 2,
            rejected: 0,
            conversion: 95.0 / 135.0,
        };
        app.dashboard.figures = Some(DayFigures {
            date: today(),
            counts: counts.clone(),
            per_hour,
            by_employment_form: [
                ("food_delivery".to_string(), 50),
                ("courier".to_string(), 30),
                (String::new(), 15),
            ]
            .into_iter()
            .collect(),
            top_needs: vec![
                ("legal_aid".into(), 40),
                ("mutual_aid".into(), 22),
                ("rest_station".into(), 18),
            ],
            all_days: counts,
            last_upload: None,
        });
        snap("dashboard", &app);
        app.screen = Screen::Upload;
        app.upload.queued = 60;
        snap("upload_unconfigured", &app);
        // the code and the office's certificate, typed on the upload screen
        app.upload.ca = Some("/media/usb/office-ca.pem".into());
        app.upload.open_entry();
        snap("upload_enrol", &app);
        app.upload.enrol_refused(
            booth::tui::screens::enrol::EntryField::Ca,
            booth::sync::enrol::check_ca("/media/usb/office-ca.pem", lang).unwrap_err(),
        );
        snap("upload_enrol_refused", &app);
        app.upload.entry = None;
        app.upload.configured = true;
        app.upload.server = Some("https://union.example.cn".into());
        app.upload.running = true;
        app.upload.total = 60;
        app.upload.progress(booth::sync::Progress::Retrying {
            attempt: 3,
            wait: std::time::Duration::from_millis(1900),
            reason: booth::sync::NetError::NameNotFound("union.example.cn".into()),
            since: std::time::Duration::from_secs(4),
            limit: std::time::Duration::from_secs(300),
        });
        snap("upload_retrying", &app);
        // retries stop after a bounded time, saying so
        app.upload.finished(Err(booth::sync::UploadError::GaveUp {
            after: std::time::Duration::from_secs(300),
            why: booth::sync::NetError::Refused,
        }));
        snap("upload_gave_up", &app);
        app.upload.running = true;
        app.upload.finished(Err(booth::sync::UploadError::Binding {
            code: "token_bound_to_other_key".into(),
            message: "raw server words".into(),
        }));
        snap("upload_binding_refused", &app);
        app.upload
            .finished(Err(booth::sync::UploadError::UpgradeRequired(
                "raw server words".into(),
            )));
        snap("upload_upgrade_required", &app);
        // an http:// office on another machine: asked before anything is sent
        {
            let s = app.session.as_mut().unwrap();
            s.config = s
                .store
                .set_config("server", "http://192.168.1.20:8080", lang)
                .unwrap();
        }
        app.upload.running = false;
        app.upload.status = Default::default();
        app.upload.server = Some("http://192.168.1.20:8080".into());
        app.overlay = Some(Overlay::ConfirmPlainHttp);
        snap("confirm_plain_http", &app);
        app.overlay = None;
        app.upload.configured = false;
        app.upload.server = None;
        app.upload.status = Default::default();
        app.upload.configured = true;
        app.upload.server = Some("https://union.example.cn".into());
        app.upload.running = true;
        app.upload.total = 60;
        app.upload.done = 30;
        app.upload.rate = 412.0;
        app.upload.log = vec![
            ("K7M2QX-0001-7 accepted".into(), true),
            ("K7M2QX-0002-5 duplicate_person 3ABCDE-0007-2".into(), false),
        ];
        snap("upload_running", &app);
    }
}

#[test]
fn lock_screen_shows_no_personal_data() {
    for lang in Lang::ALL {
        let (_d, mut app) = unlocked(lang);
        app.form = filled_form();
        app.handle_key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::F(10),
        ));
        assert_eq!(app.screen, Screen::Locked);
        for (w, h) in SIZES {
            let text = draw(&app, w, h);
            for secret in [
                "买买提",
                "11010519491231002X",
                "1101",
                "13800138000",
                "某某快递",
            ] {
                assert!(
                    !text.contains(secret),
                    "{secret} visible on the lock screen"
                );
            }
        }
        snap("locked", &app);
    }
}

#[test]
fn a_small_terminal_asks_to_be_enlarged() {
    for lang in Lang::ALL {
        let (_d, app) = unlocked(lang);
        let text = draw(&app, 60, 20);
        assert!(text.contains("80") && text.contains("24"));
        insta::assert_snapshot!(format!("too_small_{}", lang.code()), text);
    }
}

/// F6 counted a consultation: the needs' keys wait at the bottom, two of them marked.
#[test]
fn needs_after_f6() {
    use crossterm::event::{KeyCode, KeyEvent};
    for lang in Lang::ALL {
        let (_d, mut app) = unlocked(lang);
        for code in [KeyCode::F(6), KeyCode::Char('1'), KeyCode::Char('5')] {
            app.handle_key(KeyEvent::from(code));
        }
        app.message = None;
        assert!(app.needs.is_some());
        snap("needs_after_f6", &app);
    }
}

/// The sizes of issue 22's new screens: the smallest supported and the booth's usual.
const DAY_SIZES: [(u16, u16); 2] = [(80, 24), (100, 32)];

fn snap_day(name: &str, app: &App) {
    for (w, h) in DAY_SIZES {
        let lang = match app.lang {
            Lang::Zh => "zh",
            Lang::En => "en",
        };
        insta::assert_snapshot!(format!("{name}_{lang}_{w}x{h}"), draw(app, w, h));
    }
}

/// Issue 22 item 7: the import screen — the path with several matches, a roster without a
/// consent column asking for it, the run, and the report row by row.
#[test]
fn import_screens() {
    use booth::tui::import::{ImportReport, ProblemKind, RosterSummary, RowProblem};
    use booth::tui::screens::import::Phase;
    for lang in Lang::ALL {
        let (_d, mut app) = unlocked(lang);
        app.screen = Screen::Import;
        app.import.open("/home/cadre/");
        app.import.completed(
            "/home/cadre/名册202".into(),
            vec!["名册2025.xlsx".into(), "名册2026.xlsx".into()],
        );
        snap_day("import_path", &app);
        app.import.read(Ok(RosterSummary {
            path: "/home/cadre/名册2026.xlsx".into(),
            rows: 120,
            sheet: Some("职工名单".into()),
            header_row: 3,
            ignored: vec!["序号".into(), "性别".into()],
            has_consent: false,
        }));
        snap_day("import_consent_question", &app);
        let problems = vec![
            RowProblem {
                row: 7,
                kind: ProblemKind::Rejected,
                text: booth::member::FieldError::new(
                    Field::IdNumber,
                    booth::member::Reason::CheckChar,
                )
                .message(lang),
            },
            RowProblem {
                row: 12,
                kind: ProblemKind::Duplicate,
                text: booth::t!(
                    lang,
                    "import.duplicate_in_store",
                    member_no = "K7M2QX-0042-7"
                ),
            },
        ];
        app.import.progress(
            ImportReport {
                total: 120,
                done: 60,
                accepted: 58,
                problems: problems.clone(),
                stopped: None,
            },
            false,
        );
        snap_day("import_running", &app);
        app.import.progress(
            ImportReport {
                total: 120,
                done: 120,
                accepted: 118,
                problems,
                stopped: None,
            },
            true,
        );
        assert!(matches!(app.import.phase, Phase::Finished(_)));
        snap_day("import_report", &app);
    }
}

/// Issue 22 item 7: the settings, one value refused beside its field and whole below, a
/// test print's answer.
#[test]
fn settings_screens() {
    use booth::tui::screens::settings::SettingsState;
    for lang in Lang::ALL {
        let (_d, mut app) = unlocked(lang);
        app.screen = Screen::Settings;
        app.settings = SettingsState::new(&app.session.as_ref().unwrap().config);
        snap_day("settings", &app);
        app.settings.refused(
            "verify_url",
            booth::config::Config::default()
                .with_setting("verify_url", "verify.bjzgh", lang)
                .unwrap_err()
                .message(lang),
        );
        app.settings.tested(
            booth::t!(
                lang,
                "settings.test_printed",
                printer = "tcp://192.168.1.50:9100"
            ),
            true,
        );
        snap_day("settings_refused", &app);
    }
}

/// Issue 22 items 2–5 on the form: text refused on the consent (said in the status line), a
/// doubt beside the employer, an H permit said in full, a message too long for its place
/// whole in the status line beside the last card.
#[test]
fn form_habits_screens() {
    use crossterm::event::{KeyCode, KeyEvent};
    for lang in Lang::ALL {
        let (_d, mut app) = unlocked(lang);
        let typ = |app: &mut App, s: &str| {
            for c in s.chars() {
                app.handle_key(KeyEvent::from(KeyCode::Char(c)));
            }
        };
        typ(&mut app, "张伟");
        app.handle_key(KeyEvent::from(KeyCode::Tab));
        typ(&mut app, "H12345678");
        snap_day("form_hk_macao_permit", &app);
        app.handle_key(KeyEvent::from(KeyCode::Tab));
        typ(&mut app, "13600001111");
        typ(&mut app, "13600001111");
        app.handle_key(KeyEvent::from(KeyCode::Tab));
        typ(&mut app, "美团");
        snap_day("form_text_refused", &app);
        // the last card beside the form, an ID with a wrong check character
        let payload = "GH1:P80W%CYBNU203B1BR19AMN.USKVU+R6$K4KSBV3IFETV5*7HSATY4T6MI.JEV0J*2FWFNJ6HQESSUO0PET 20:ETPE-Q6C6AP9O8DP2248-MF53UJL1JDHNJ7A7FSK-6B70";
        app.done = DoneState::new(
            MemberNo::new("K7M2QX", 42).unwrap(),
            "葛婷婷".into(),
            booth::t!(lang, "slip.date", date = today()),
            payload,
        );
        app.form = FormState::new(today());
        app.message = None;
        typ(&mut app, "李娜");
        app.handle_key(KeyEvent::from(KeyCode::Tab));
        typ(&mut app, "320502199003151231");
        app.message = None;
        snap_day("form_message_whole", &app);
    }
}

/// Issue 22 item 7: a record's QR code again from the records (F3, Enter, Q).
#[test]
fn record_card_screen() {
    for lang in Lang::ALL {
        let (_d, mut app) = unlocked(lang);
        let payload = "GH1:P80W%CYBNU203B1BR19AMN.USKVU+R6$K4KSBV3IFETV5*7HSATY4T6MI.JEV0J*2FWFNJ6HQESSUO0PET 20:ETPE-Q6C6AP9O8DP2248-MF53UJL1JDHNJ7A7FSK-6B70";
        let mut card = DoneState::new(
            MemberNo::new("K7M2QX", 42).unwrap(),
            "葛婷婷".into(),
            booth::t!(lang, "slip.date", date = today()),
            payload,
        )
        .unwrap();
        card.print = PrintStatus::Earlier;
        card.context = booth::tui::screens::done::CardContext::Record;
        app.screen = Screen::Records;
        app.records.card = Some(card);
        snap_day("record_card", &app);
    }
}

fn peer(name: &str, key_id: &str, held: u64, connected: bool) -> booth::peers::service::PeerStatus {
    booth::peers::service::PeerStatus {
        name: name.into(),
        key_id: key_id.into(),
        address: Some("192.168.1.8:47410".into()),
        last_seen: Some("2026-11-24T10:12:00+08:00".into()),
        held,
        connected,
    }
}

/// Issue 25: the peers screen (Shift-F5) — this laptop's code and address, a laptop that
/// joined with it waiting for the operator's word, the paired laptops with what is held for
/// each; then another laptop's code typed with an address, and a pairing that failed.
#[test]
fn peers_screens() {
    use booth::tui::screens::peers::ShownCode;
    use crossterm::event::{KeyCode, KeyEvent};
    for lang in Lang::ALL {
        let (_d, mut app) = unlocked(lang);
        app.screen = Screen::Peers;
        app.peers.refreshed(
            Some(("1号电脑".into(), "192.168.1.5:47410".into())),
            Some(ShownCode {
                digits: "725822".into(),
                address: "192.168.1.5:47410".into(),
                secs_left: 287,
            }),
            vec![
                peer("2号电脑", "K7M2QX", 143, true),
                peer("3号电脑", "P4WZ8N", 0, false),
            ],
            None,
        );
        app.peers.admitted(vec!["3号电脑".into()]);
        snap_day("peers_code_newcomer", &app);
        app.handle_key(KeyEvent::from(KeyCode::Char('y')));
        app.peers.refreshed(
            Some(("1号电脑".into(), "192.168.1.5:47410".into())),
            None,
            vec![peer("2号电脑", "K7M2QX", 143, false)],
            None,
        );
        for c in "418207".chars() {
            app.handle_key(KeyEvent::from(KeyCode::Char(c)));
        }
        app.handle_key(KeyEvent::from(KeyCode::Tab));
        for c in "192.168.43.9".chars() {
            app.handle_key(KeyEvent::from(KeyCode::Char(c)));
        }
        app.peers.finished(
            booth::t!(
                lang,
                "peers.unreachable",
                why = "Connection refused (os error 111)"
            ),
            false,
        );
        snap_day("peers_pair_failed", &app);
    }
}

/// Issue 25: the form names the paired laptop that registered the person typed (where,
/// when, its number — not the name); F3 shows a person registered on two laptops as a
/// conflict to resolve.
#[test]
fn peer_duplicate_and_conflict_screens() {
    use crossterm::event::{KeyCode, KeyEvent};
    for lang in Lang::ALL {
        let (_d, mut app) = unlocked(lang);
        for c in "葛婷婷".chars() {
            app.handle_key(KeyEvent::from(KeyCode::Char(c)));
        }
        app.handle_key(KeyEvent::from(KeyCode::Tab));
        for c in "11010519491231002X".chars() {
            app.handle_key(KeyEvent::from(KeyCode::Char(c)));
        }
        app.form.peer = Some(booth::store::peers::PeerHit {
            laptop: "2号电脑".into(),
            member_no: "K7M2QX-0042-7".into(),
            at: "2026-11-24T10:42:00+08:00".into(),
        });
        app.message = None;
        snap_day("form_peer_duplicate", &app);

        app.screen = Screen::Records;
        app.records.rows = vec![summary(1, State::Queued), summary(2, State::Queued)];
        app.records.conflicts = vec![booth::store::peers::Conflict {
            member_no: app.records.rows[0].member_no.grouped(),
            registered_at: "2026-11-24T10:40:00+08:00".into(),
            laptop: "2号电脑".into(),
            other_member_no: "K7M2QX-0042-7".into(),
            other_at: "2026-11-24T10:42:00+08:00".into(),
        }];
        snap_day("records_conflict", &app);
    }
}

/// Issue 25 items 5 and 6 on the upload screen: the records held for paired laptops, what
/// sending them came to, and "导出到U盘" with its path.
#[test]
fn upload_held_and_backup_screens() {
    use crossterm::event::{KeyCode, KeyEvent};
    for lang in Lang::ALL {
        let (_d, mut app) = unlocked(lang);
        app.screen = Screen::Upload;
        app.upload.configured = true;
        app.upload.server = Some("https://union.example.cn".into());
        app.upload.queued = 12;
        app.upload.held = 143;
        app.upload.backup_default = "/media/cadre/USB/booth-backup-20261124-1030.json".into();
        app.upload.relayed(
            booth::t!(lang, "peers.relayed", delivered = 143, held = 0),
            true,
        );
        snap_day("upload_held_relayed", &app);
        app.handle_key(KeyEvent::from(KeyCode::Char('b')));
        snap_day("upload_backup_path", &app);
        app.upload.backing_up();
        app.upload.backup_finished(
            booth::t!(
                lang,
                "peers.backup_done",
                file = "/media/cadre/USB/booth-backup-20261124-1030.json",
                own = 12,
                held = 143
            ),
            true,
        );
        snap_day("upload_backup_done", &app);
    }
}
