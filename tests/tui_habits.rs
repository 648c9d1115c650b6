//! Issue 22 headless: keys into `App`, state out (workers run for real, their messages pumped
//! from the app's channel). A cadre's habits never store a wrong record; imports are not booth
//! sign-ups; a day's batch print leaves out the slips printed at registration; the remaining
//! count goes down batch by batch.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use booth::i18n::Lang;
use booth::member::Field;
use booth::tui::app::{App, BOUNCE, Screen, Tone};
use booth::tui::event::AppEvent;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

mod common;

struct Harness {
    app: App,
    rx: Receiver<AppEvent>,
    dir: tempfile::TempDir,
}

impl Harness {
    fn with_store(prepare: impl FnOnce(&mut booth::store::Store)) -> Harness {
        // SAFETY: every test in this file sets the same value.
        unsafe { std::env::set_var("BOOTH_KDF", "fast") };
        let dir = tempfile::tempdir().unwrap();
        let mut store = booth::store::Store::create(dir.path(), b"secret1", Lang::Zh).unwrap();
        store.set_config("union", "朝阳区总工会", Lang::Zh).unwrap();
        prepare(&mut store);
        drop(store);
        let (tx, rx) = mpsc::channel();
        let app = App::new(
            dir.path().to_path_buf(),
            Lang::Zh,
            tx,
            Arc::new(booth::store::now),
        );
        let mut h = Harness { app, rx, dir };
        h.typ("secret1");
        h.key(KeyCode::Enter);
        assert_eq!(h.app.screen, Screen::Form);
        h
    }

    fn new() -> Harness {
        Harness::with_store(|_| {})
    }

    fn key(&mut self, code: KeyCode) {
        self.app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
    }

    fn ctrl(&mut self, c: char) {
        self.app
            .handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    }

    fn typ(&mut self, s: &str) {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    fn pump_until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(&self.app) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            if let Ok(ev) = self.rx.recv_timeout(Duration::from_millis(50)) {
                self.app.handle_event(ev);
            }
        }
    }

    /// A worker typed as a card reader and a typist send it: 3 operator keys.
    fn register(&mut self, name: &str, id: &str, phone: &str, employer: &str) {
        self.typ(name);
        self.key(KeyCode::Tab);
        self.typ(id);
        self.typ(phone);
        self.typ(employer);
        self.key(KeyCode::Tab);
        self.typ("y");
    }

    fn names(&self) -> Vec<String> {
        let store = self.app.store().unwrap();
        let mut out: Vec<String> = store
            .search("", None, 100)
            .unwrap()
            .into_iter()
            .filter_map(|r| r.name)
            .collect();
        out.sort();
        out
    }

    fn message(&self) -> String {
        self.app.message.clone().map(|m| m.0).unwrap_or_default()
    }
}

/// Item 2: the Y that submitted, bounced, never begins the next worker's name; a Y after
/// the bounce time does (it is text on the done screen, as any letter).
#[test]
fn a_bounced_y_is_not_the_next_workers_name() {
    let mut h = Harness::new();
    h.register("李娜", "320502199003151230", "13812345678", "顺丰速运");
    h.typ("y");
    assert_eq!(h.app.screen, Screen::Done);
    assert!(h.app.form.is_blank(), "the bounce went nowhere");
    // the same key later, on purpose: the first letter of a name typed in Latin letters
    h.app.submitted_at = Some(Instant::now() - BOUNCE - Duration::from_millis(10));
    h.typ("y");
    assert_eq!(h.app.screen, Screen::Form);
    assert_eq!(h.app.form.text(Field::Name), "y");
    assert_eq!(h.names(), vec!["李娜"]);
}

/// Item 2: F7 over an unfinished draft: what is typed is refused and said; F2 gives the
/// draft back as it was, the cursor in the name where it was.
#[test]
fn typing_on_f7_over_a_draft_is_refused_and_f2_gives_the_draft_back() {
    let mut h = Harness::new();
    h.register("孙丽", "11010519491231002X", "13800138000", "京东物流");
    h.typ("钱多多");
    h.key(KeyCode::F(7));
    assert_eq!(h.app.screen, Screen::Done);
    h.typ("赵");
    assert_eq!(h.app.screen, Screen::Done, "not sent into the form");
    assert_eq!(h.app.form.text(Field::Name), "钱多多");
    let (text, tone) = h.app.message.clone().unwrap();
    assert_eq!(tone, Tone::Bad);
    assert!(text.contains("赵") && text.contains("F2"), "{text}");
    // a paste is refused the same way
    h.app
        .handle_event(AppEvent::Input(crossterm::event::Event::Paste("赵".into())));
    assert_eq!(h.app.form.text(Field::Name), "钱多多");
    h.key(KeyCode::F(2));
    assert_eq!(h.app.screen, Screen::Form);
    assert_eq!(h.app.form.focus, Field::Name);
    h.typ("a");
    assert_eq!(
        h.app.form.text(Field::Name),
        "钱多多a",
        "the cursor where it was"
    );
}

/// Item 2: text typed on the consent field is refused with a message naming it, not
/// dropped in silence; a submit of a person registered already says that, not "consent".
#[test]
fn text_on_the_consent_is_refused_and_a_duplicate_is_not_asked_for_consent() {
    let mut h = Harness::new();
    h.typ("张伟");
    h.key(KeyCode::Tab);
    h.typ("440306198801014561");
    h.typ("13600001111");
    h.typ("美团");
    h.key(KeyCode::Tab);
    h.typ("外卖");
    assert_eq!(h.app.form.focus, Field::Consent);
    let text = h.message();
    assert!(
        text.contains("外卖") && text.contains("本人同意"),
        "named, with the field: {text}"
    );
    assert_eq!(h.app.form.text(Field::Employer), "美团");
    h.typ("y");
    assert_eq!(h.app.screen, Screen::Done);
    h.key(KeyCode::Enter);
    // the same person again, consent not given: refused as registered, not for the consent
    h.typ("张伟");
    h.key(KeyCode::Tab);
    h.typ("440306198801014561");
    assert!(h.app.form.is_duplicate());
    h.ctrl('s');
    assert!(h.message().contains("已登记"), "{}", h.message());
    assert!(h.app.form.error_for(Field::Consent).is_none());
}

/// Item 3: doubtful values are said when the field is left and kept with the card; the
/// registration goes through.
#[test]
fn doubtful_values_are_said_and_never_block_a_submit() {
    let mut h = Harness::new();
    h.typ("张");
    h.key(KeyCode::Tab);
    assert!(h.message().contains("一个字"), "{}", h.message());
    h.typ("440306198801014561");
    h.typ("13600001111");
    h.typ("13600001111");
    h.key(KeyCode::Tab);
    assert!(h.message().contains("数字"), "{}", h.message());
    h.typ("y");
    assert_eq!(h.app.screen, Screen::Done, "not blocked");
    let notes = &h.app.done.as_ref().unwrap().notes;
    assert_eq!(notes.len(), 2, "{notes:?}");
}

fn roster(h: &Harness) -> std::path::PathBuf {
    let p = h.dir.path().join("名单.csv");
    std::fs::write(
        &p,
        "姓名,身份证号,手机号,工作单位,同意\n\
         葛婷婷,11010519491231002X,13800138000,某某物流,是\n\
         王建国,110105198001010016,13900139000,某某物流,否\n",
    )
    .unwrap();
    p
}

/// Item 6 and item 7's import: a roster imported from the TUI is registered (its consent
/// column decides row by row) but never counts as the booth's sign-ups, never feeds today's
/// employers, and is marked in the records list.
#[test]
fn an_imported_roster_is_not_the_booths_sign_ups() {
    let mut h = Harness::new();
    h.register("蒋琳", "110105198808080023", "13612342222", "顺丰速运");
    h.key(KeyCode::Enter);
    let file = roster(&h);
    h.key(KeyCode::F(9));
    assert_eq!(h.app.screen, Screen::Import);
    h.ctrl('u');
    h.typ(file.to_str().unwrap());
    h.key(KeyCode::Enter);
    h.pump_until("the roster read", |a| {
        matches!(
            a.import.phase,
            booth::tui::screens::import::Phase::Ready { .. }
        )
    });
    h.key(KeyCode::Enter);
    h.pump_until("the import", |a| {
        matches!(
            a.import.phase,
            booth::tui::screens::import::Phase::Finished(_)
        )
    });
    let booth::tui::screens::import::Phase::Finished(r) = &h.app.import.phase else {
        unreachable!()
    };
    assert_eq!((r.total, r.accepted), (2, 1));
    assert_eq!(r.problems.len(), 1, "the row without consent: {r:?}");
    assert_eq!(r.problems[0].row, 3);
    assert_eq!(h.app.counts.registered, 1, "the booth's one sign-up");
    assert_eq!(h.app.counts.queued, 2);
    h.key(KeyCode::F(2));
    assert_eq!(h.app.form.employers, vec!["顺丰速运".to_string()]);
    h.key(KeyCode::F(4));
    h.pump_until("the figures", |a| a.dashboard.figures.is_some());
    assert_eq!(h.app.dashboard.imported, 1);
    assert_eq!(
        h.app.dashboard.figures.as_ref().unwrap().counts.registered,
        1
    );
    h.key(KeyCode::F(3));
    h.pump_until("the list", |a| a.records.rows.len() == 2);
    let imported: Vec<_> = h
        .app
        .records
        .rows
        .iter()
        .filter(|r| h.app.records.imported.contains(&r.id))
        .map(|r| r.name.clone().unwrap())
        .collect();
    assert_eq!(imported, vec!["葛婷婷"]);
}

/// Item 7's settings: a value refused keeps the cursor and says why; one taken is stored
/// and used.
#[test]
fn settings_are_checked_as_config_set_checks_them() {
    let mut h = Harness::new();
    h.key(KeyCode::F(11));
    assert_eq!(h.app.screen, Screen::Settings);
    h.key(KeyCode::Tab); // operator
    h.key(KeyCode::Tab); // printer
    h.ctrl('u');
    h.typ("usb");
    h.key(KeyCode::Tab);
    assert_eq!(h.app.settings.focus, 2, "refused: the cursor stays");
    assert!(matches!(
        h.app.settings.status[2],
        Some(booth::tui::screens::settings::Saved::No(_))
    ));
    h.ctrl('u');
    h.typ("tcp://192.168.1.50:9100");
    h.key(KeyCode::Tab);
    assert_eq!(h.app.settings.focus, 3);
    let config = &h.app.session.as_ref().unwrap().config;
    assert_eq!(
        config.printer.as_ref().unwrap().to_string(),
        "tcp://192.168.1.50:9100"
    );
    // the idle lock, in minutes: 0 is never, "soon" is refused
    h.key(KeyCode::Tab);
    h.key(KeyCode::Tab);
    h.ctrl('u');
    h.typ("soon");
    h.key(KeyCode::Esc);
    assert_eq!(
        h.app.screen,
        Screen::Settings,
        "not left with a refused value"
    );
    h.ctrl('u');
    h.typ("0");
    h.key(KeyCode::Esc);
    assert_eq!(h.app.screen, Screen::Form);
    assert_eq!(h.app.session.as_ref().unwrap().config.idle_lock_minutes, 0);
}

/// Item 9: a day's slips on the printer leave out those printed at registration, unless
/// asked; the count says so.
#[test]
fn a_days_print_leaves_out_slips_printed_at_registration() {
    use booth::tui::screens::cards::{CardsDone, Phase};
    let dir = tempfile::tempdir().unwrap();
    let printer = format!("file:{}", dir.path().join("slips.bin").display());
    let mut h = Harness::with_store(|s| {
        s.set_config("printer", &printer, Lang::Zh).unwrap();
    });
    h.register("葛婷婷", "11010519491231002X", "13800138000", "某某快递");
    h.pump_until("the slip", |a| {
        a.done
            .as_ref()
            .is_some_and(|d| d.print != booth::tui::screens::done::PrintStatus::Printing)
    });
    h.key(KeyCode::Enter);
    h.key(KeyCode::F(3));
    h.typ("@某某快递");
    h.ctrl('p');
    h.key(KeyCode::Tab); // the printer
    h.key(KeyCode::Enter);
    h.pump_until("the run", |a| {
        matches!(a.records.cards.as_ref().unwrap().phase, Phase::Finished(_))
    });
    assert_eq!(
        h.app.records.cards.as_ref().unwrap().phase,
        Phase::Finished(CardsDone::Printed {
            printed: 0,
            already: 1
        })
    );
}

/// Item 8: the remaining count goes down as batches are acknowledged (batches of one here).
#[test]
fn the_remaining_count_goes_down_batch_by_batch() {
    use common::net::{Server, add_device};
    let mut h = Harness::new();
    let db = format!("sqlite:{}", h.dir.path().join("office.db").display());
    let server = Server::start(&db);
    let token = add_device(&db, "laptop1");
    {
        let s = h.app.session.as_mut().unwrap();
        s.store
            .set_config("server", &server.url(), Lang::Zh)
            .unwrap();
        s.config = s.store.set_config("token", &token, Lang::Zh).unwrap();
    }
    for (i, name) in ["葛婷婷", "王建国", "蒋琳"].iter().enumerate() {
        let n = 60 + i as u32;
        h.register(name, &common::valid_id(n), &common::phone(n), "某某快递");
        h.key(KeyCode::Enter);
    }
    h.key(KeyCode::F(5));
    assert_eq!(h.app.upload.queued, 3);
    // batches of one: the screen's queue and the status bar's follow each answer
    let settings =
        booth::sync::UploadSettings::from_config(&h.app.session.as_ref().unwrap().config, Lang::Zh)
            .unwrap();
    assert_eq!(settings.batch_size, booth::protocol::DEFAULT_BATCH);
    let mut seen = Vec::new();
    let mut progress = |p: booth::sync::Progress| {
        if let booth::sync::Progress::Batch { remaining, .. } = p {
            seen.push(remaining);
        }
    };
    let mut conn = h.app.store().unwrap().second_connection().unwrap();
    let one_by_one = booth::sync::UploadSettings {
        batch_size: 1,
        ..settings
    };
    let cancel = std::sync::atomic::AtomicBool::new(false);
    booth::sync::upload(&mut conn, &one_by_one, &mut progress, &cancel).unwrap();
    assert_eq!(seen, vec![2, 1, 0]);
    // and the screen takes them as they come
    h.app.upload.progress(booth::sync::Progress::Batch {
        done: 1,
        total: 3,
        accepted: 1,
        rejected: 0,
        remaining: 2,
    });
    assert_eq!(h.app.upload.queued, 2);
}
