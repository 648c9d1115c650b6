//! The terminal UI headless: keys go into `App`, state comes out. Workers run for real; their
//! messages are pumped from the app's channel.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use booth::i18n::Lang;
use booth::member::Field;
use booth::tui::action::Action;
use booth::tui::app::{App, Overlay, Screen};
use booth::tui::event::AppEvent;
use booth::tui::screens::done::PrintStatus;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use zeroize::Zeroizing;

mod common;

struct Harness {
    app: App,
    rx: Receiver<AppEvent>,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_store(|_| {})
    }

    /// A data folder prepared by `prepare` before the app opens it.
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
        let mut h = Harness { app, rx, _dir: dir };
        h.typ("secret1");
        h.key(KeyCode::Enter);
        assert_eq!(h.app.screen, Screen::Form);
        h
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

    /// Handles worker messages until `done` holds (or fails after 10 s).
    fn pump_until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(&self.app) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            if let Ok(ev) = self.rx.recv_timeout(Duration::from_millis(50)) {
                self.app.handle_event(ev);
            }
        }
    }

    fn register(&mut self, name: &str, id: &str, phone: &str) {
        self.typ(name);
        self.key(KeyCode::Tab);
        self.typ(id);
        self.typ(phone);
        self.typ("某某快递有限公司");
        self.key(KeyCode::Tab);
        self.typ("y");
        self.ctrl('s');
    }
}

#[test]
fn register_print_and_next() {
    let mut h = Harness::new();
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    assert_eq!(h.app.screen, Screen::Done, "{:?}", h.app.message);
    h.pump_until("the slip", |a| {
        matches!(a.done.as_ref().unwrap().print, PrintStatus::Done { .. })
    });
    let done = h.app.done.as_ref().unwrap();
    assert!(
        matches!(&done.print, PrintStatus::Done { ok: true, message } if message.contains(".png"))
    );
    assert_eq!(h.app.counts.registered, 1);
    assert_eq!(h.app.counts.queued, 1);
    h.key(KeyCode::Enter);
    assert_eq!(h.app.screen, Screen::Form);
    assert!(h.app.form.is_blank());
    assert_eq!(h.app.form.focus, Field::Name);
    // the day's employer is now a suggestion: one Tab takes it
    assert_eq!(h.app.form.employers, vec!["某某快递有限公司".to_string()]);
}

#[test]
fn leaving_the_done_screen_any_way_starts_the_next_member() {
    // F3 (shown on the done screen) and back with F2: an empty form, not the member just
    // registered, which would only be refused as "already registered" if submitted again
    let mut h = Harness::new();
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    assert_eq!(h.app.screen, Screen::Done);
    h.key(KeyCode::F(3));
    h.key(KeyCode::F(2));
    assert_eq!(h.app.screen, Screen::Form);
    assert!(h.app.form.is_blank());
    assert_eq!(h.app.form.employers, vec!["某某快递有限公司".to_string()]);
    // the record is stored: quitting from the done screen has nothing to ask about
    h.register("金玉华", "110101198001010053", "13900139000");
    assert_eq!(h.app.screen, Screen::Done, "{:?}", h.app.message);
    h.ctrl('q');
    assert_eq!(h.app.overlay, None);
    assert!(h.app.quit);
    h.app.shutdown();
    assert!(h.app.store().unwrap().load_draft().unwrap().is_none());
}

#[test]
fn the_same_person_is_refused_with_who_and_when() {
    let mut h = Harness::new();
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    h.key(KeyCode::Enter);
    h.typ("葛婷婷");
    h.key(KeyCode::Tab);
    h.typ("11010519491231002x");
    let existing = h
        .app
        .form
        .existing
        .clone()
        .expect("found as soon as the ID is valid");
    assert_eq!(existing.name.as_deref(), Some("葛婷婷"));
    // F8 reprints the existing member's slip
    h.key(KeyCode::F(8));
    h.pump_until("the reprint", |a| {
        a.message.as_ref().is_some_and(|m| m.0.contains(".png"))
    });
    // submitting anyway is refused and stores nothing
    h.typ("13800138000某公司");
    h.key(KeyCode::Tab);
    h.typ("y");
    h.ctrl('s');
    assert_eq!(h.app.screen, Screen::Form);
    assert_eq!(h.app.counts.registered, 1);
}

#[test]
fn errors_focus_the_first_bad_field_and_keep_what_was_typed() {
    let mut h = Harness::new();
    h.typ("张三");
    h.key(KeyCode::Tab);
    h.typ("110105194912310021");
    h.ctrl('s');
    assert_eq!(h.app.screen, Screen::Form);
    assert_eq!(h.app.form.focus, Field::IdNumber);
    assert_eq!(h.app.form.text(Field::Name), "张三");
    assert_eq!(h.app.form.text(Field::IdNumber), "110105194912310021");
    assert!(h.app.form.error_for(Field::Phone).is_some());
}

#[test]
fn an_error_shows_once_the_field_is_left_and_stays_while_fixing_it() {
    let mut h = Harness::new();
    h.typ("张三");
    h.key(KeyCode::Tab);
    h.typ("1101051949"); // still typing: no error yet
    assert!(h.app.form.error_for(Field::IdNumber).is_none());
    h.typ("12310021"); // 18 characters, wrong check character: shown, and on to the phone
    assert_eq!(h.app.form.focus, Field::Phone);
    assert!(h.app.form.error_for(Field::IdNumber).is_some());
    // back to fix it: the reason is still beside it, until the fix is typed
    h.app
        .handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(h.app.form.focus, Field::IdNumber);
    assert!(h.app.form.error_for(Field::IdNumber).is_some());
    h.key(KeyCode::Backspace);
    h.typ("X");
    assert!(h.app.form.error_for(Field::IdNumber).is_none());
    assert_eq!(
        h.app.form.focus,
        Field::Phone,
        "a valid ID moves on by itself"
    );
}

#[test]
fn tally_and_undo() {
    let mut h = Harness::new();
    h.key(KeyCode::F(6));
    h.key(KeyCode::F(6));
    assert_eq!(h.app.counts.consultations, 2);
    h.app
        .handle_key(KeyEvent::new(KeyCode::F(6), KeyModifiers::SHIFT));
    assert_eq!(h.app.counts.consultations, 1);
}

/// F6, then the needs' keys mark what the worker asked for (again to unmark); the next
/// worker's name typed straight after goes into the form, not lost.
#[test]
fn f6_then_the_needs_keys_then_the_next_name() {
    let mut h = Harness::new();
    h.key(KeyCode::F(6));
    assert!(h.app.needs.is_some());
    for c in ['1', '2', '1', '9'] {
        h.key(KeyCode::Char(c));
    }
    h.typ("王芳");
    assert!(h.app.needs.is_none());
    assert_eq!(h.app.form.text(Field::Name), "王芳");
    // a second consultation, its picker closed at once with Enter: no needs
    h.key(KeyCode::F(6));
    h.key(KeyCode::Enter);
    assert!(h.app.needs.is_none());
    assert_eq!(h.app.counts.consultations, 2);
    let store = &h.app.session.as_ref().unwrap().store;
    let days = store.day_summaries(10).unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!(days[0].consultations, 2);
    assert_eq!(
        days[0].needs,
        [("childcare".to_string(), 1), ("skills".to_string(), 1)].into()
    );
    // Shift-F6 takes the last one back and closes the keys
    h.key(KeyCode::F(6));
    h.app
        .handle_key(KeyEvent::new(KeyCode::F(6), KeyModifiers::SHIFT));
    assert!(h.app.needs.is_none());
    assert_eq!(h.app.counts.consultations, 2);
}

#[test]
fn idle_lock_hides_everything_and_keeps_the_form() {
    let mut h = Harness::new();
    h.typ("买买提");
    h.app.last_input = Instant::now() - Duration::from_secs(6 * 60);
    h.app.tick();
    assert_eq!(h.app.screen, Screen::Locked);
    h.typ("wrong");
    h.key(KeyCode::Enter);
    assert_eq!(h.app.screen, Screen::Locked);
    assert!(h.app.unlock.error.is_some());
    h.typ("secret1");
    h.key(KeyCode::Enter);
    assert_eq!(h.app.screen, Screen::Form);
    assert_eq!(h.app.form.text(Field::Name), "买买提");
}

#[test]
fn the_lock_screen_quits_as_it_says_and_the_draft_survives() {
    let mut h = Harness::new();
    h.typ("买买提");
    h.key(KeyCode::F(10));
    assert_eq!(h.app.screen, Screen::Locked);
    h.ctrl('q');
    assert_eq!(h.app.overlay, Some(Overlay::ConfirmQuit));
    h.key(KeyCode::Char('y'));
    assert!(h.app.quit);
    h.app.shutdown();
    let store = h.app.store().unwrap();
    assert_eq!(store.load_draft().unwrap().unwrap().0.name, "买买提");
}

#[test]
fn paste_goes_in_as_one_piece_without_control_characters() {
    let mut h = Harness::new();
    h.app.handle_event(AppEvent::Input(Event::Paste(
        "买买提·吐尔逊\u{1b}[31m\n".into(),
    )));
    assert_eq!(h.app.form.text(Field::Name), "买买提·吐尔逊[31m ");
    // a paste on the lock screen goes nowhere
    h.key(KeyCode::F(10));
    h.app
        .handle_event(AppEvent::Input(Event::Paste("secret1".into())));
    assert!(h.app.unlock.pass.is_empty());
}

#[test]
fn quit_asks_when_the_form_has_input_and_the_draft_survives() {
    let mut h = Harness::new();
    h.ctrl('q');
    assert!(h.app.quit, "an empty form quits at once");
    let mut h = Harness::new();
    h.typ("张");
    h.ctrl('q');
    assert_eq!(h.app.overlay, Some(Overlay::ConfirmQuit));
    h.key(KeyCode::Char('n'));
    assert!(!h.app.quit);
    h.ctrl('q');
    h.key(KeyCode::Char('y'));
    assert!(h.app.quit);
    h.app.shutdown();
    let store = h.app.store().unwrap();
    assert_eq!(store.load_draft().unwrap().unwrap().0.name, "张");
}

#[test]
fn clear_asks_and_removes_the_draft() {
    let mut h = Harness::new();
    h.typ("张");
    h.ctrl('x');
    assert_eq!(h.app.overlay, Some(Overlay::ConfirmClear));
    h.key(KeyCode::Char('y'));
    assert!(h.app.form.is_blank());
    h.app.shutdown();
    assert!(h.app.store().unwrap().load_draft().unwrap().is_none());
}

#[test]
fn leaving_an_edit_abandons_it_and_brings_back_the_registration_in_progress() {
    let mut h = Harness::new();
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    h.key(KeyCode::Enter);
    h.typ("半截");
    h.key(KeyCode::F(3));
    h.pump_until("the list", |a| a.records.rows.len() == 1);
    h.key(KeyCode::Enter);
    h.typ("e");
    assert!(h.app.form.editing.is_some());
    h.typ("改");
    // F3, as the edit's title says, abandons it: the record is unchanged and F2 brings back
    // the registration that was in progress, not the edit
    h.key(KeyCode::F(3));
    h.key(KeyCode::F(2));
    assert!(h.app.form.editing.is_none());
    assert_eq!(h.app.form.text(Field::Name), "半截");
    let stored = h.app.store().unwrap().get(&h.app.records.rows[0].member_no);
    assert_eq!(stored.unwrap().unwrap().member.unwrap().name, "葛婷婷");
    // editing twice in a row keeps the registration in progress too
    h.key(KeyCode::F(3));
    h.key(KeyCode::Enter);
    h.typ("e");
    h.key(KeyCode::F(3));
    h.key(KeyCode::Enter);
    h.typ("e");
    assert!(h.app.form.editing.is_some());
    h.key(KeyCode::F(4));
    h.key(KeyCode::F(2));
    assert!(h.app.form.editing.is_none());
    assert_eq!(h.app.form.text(Field::Name), "半截");
}

#[test]
fn records_search_view_edit_and_void() {
    let mut h = Harness::new();
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    h.key(KeyCode::Enter);
    h.register("王建国", "110105198001010016", "13900139000");
    h.key(KeyCode::Enter);
    // a registration in progress is kept aside while editing
    h.typ("半截");
    h.key(KeyCode::F(3));
    h.pump_until("the list", |a| a.records.rows.len() == 2);
    h.typ("葛");
    h.pump_until("the search", |a| a.records.rows.len() == 1);
    h.key(KeyCode::Enter);
    let detail = h.app.records.detail.clone().expect("opened");
    assert_eq!(detail.member.as_ref().unwrap().name, "葛婷婷");
    // edit the employer
    h.typ("e");
    assert_eq!(h.app.screen, Screen::Form);
    assert!(h.app.form.editing.is_some());
    h.app.form.focus = Field::Employer;
    h.ctrl('u');
    h.typ("另一家公司");
    h.ctrl('s');
    assert_eq!(h.app.screen, Screen::Records, "{:?}", h.app.message);
    assert_eq!(
        h.app
            .records
            .detail
            .as_ref()
            .unwrap()
            .member
            .as_ref()
            .unwrap()
            .employer,
        "另一家公司"
    );
    assert_eq!(
        h.app.form.text(Field::Name),
        "半截",
        "the registration in progress is back"
    );
    // void with a reason
    h.typ("v");
    h.typ("登记错了");
    h.key(KeyCode::Enter);
    assert_eq!(
        h.app.records.detail.as_ref().unwrap().state,
        booth::member::State::Voided
    );
    assert_eq!(h.app.counts.registered, 1);
    // its employer (often the mistake) is no longer suggested, and it has no card to reprint
    assert_eq!(h.app.form.employers, vec!["某某快递有限公司".to_string()]);
    h.app.message = None;
    h.typ("p");
    assert_eq!(h.app.message, None, "P does nothing on a voided record");
}

#[test]
fn dashboard_figures_arrive_from_the_worker() {
    let mut h = Harness::new();
    h.key(KeyCode::F(6));
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    h.key(KeyCode::F(4));
    assert_eq!(h.app.screen, Screen::Dashboard);
    h.pump_until("the figures", |a| a.dashboard.figures.is_some());
    let f = h.app.dashboard.figures.as_ref().unwrap();
    assert_eq!(f.counts.consultations, 1);
    assert_eq!(f.counts.registered, 1);
}

#[test]
fn a_language_asked_for_on_the_command_line_wins_over_the_saved_one() {
    // SAFETY: every test in this file sets the same value.
    unsafe { std::env::set_var("BOOTH_KDF", "fast") };
    let dir = tempfile::tempdir().unwrap();
    drop(booth::store::Store::create(dir.path(), b"secret1", Lang::Zh).unwrap());
    for (pinned, expected) in [(true, Lang::En), (false, Lang::Zh)] {
        let (tx, _rx) = mpsc::channel();
        let mut app = App::new(
            dir.path().to_path_buf(),
            Lang::En,
            tx,
            Arc::new(booth::store::now),
        );
        app.lang_pinned = pinned;
        for c in "secret1".chars() {
            app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        assert_eq!(app.screen, Screen::Form);
        assert_eq!(app.lang, expected, "pinned: {pinned}");
        app.shutdown();
    }
}

#[test]
fn language_switch_is_remembered() {
    let mut h = Harness::new();
    h.key(KeyCode::F(12));
    assert_eq!(h.app.lang, Lang::En);
    let store = h.app.store().unwrap();
    assert_eq!(store.config().unwrap().language, Lang::En);
    assert_eq!(store.keyfile().language, Lang::En);
}

#[test]
fn the_upload_screen_uploads_and_reports() {
    use common::net::{Server, add_device, members_on_server};
    let mut h = Harness::new();
    let db = format!("sqlite:{}", h._dir.path().join("office.db").display());
    let server = Server::start(&db);
    let token = add_device(&db, "laptop1");
    {
        let s = h.app.session.as_mut().unwrap();
        s.store
            .set_config("server", &server.url(), Lang::Zh)
            .unwrap();
        s.config = s.store.set_config("token", &token, Lang::Zh).unwrap();
    }
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    h.key(KeyCode::Enter);
    h.register("王建国", "110105198001010016", "13900139000");
    h.key(KeyCode::F(5));
    assert_eq!(h.app.screen, Screen::Upload);
    assert!(h.app.upload.configured);
    assert_eq!(h.app.upload.queued, 2);
    h.key(KeyCode::Enter);
    assert!(h.app.upload.running);
    h.pump_until("the upload", |a| !a.upload.running);
    let (msg, ok) = h.app.upload.status.message(Lang::Zh).unwrap();
    assert!(ok, "{msg}");
    assert_eq!(h.app.upload.done, 2);
    assert_eq!(h.app.counts.queued, 0);
    assert_eq!(members_on_server(&db), 2);
}

#[test]
fn a_terminal_too_small_to_show_the_form_takes_no_typing_but_quits() {
    let mut h = Harness::new();
    let ev = |e: Event| AppEvent::Input(e);
    h.app.handle_event(ev(Event::Resize(60, 20)));
    for c in "张三".chars() {
        h.app.handle_event(ev(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        ))));
    }
    h.app.handle_event(ev(Event::Paste("李四".into())));
    assert!(
        h.app.form.is_blank(),
        "nothing typed into a form nobody sees"
    );
    h.app.handle_event(ev(Event::Resize(80, 24)));
    h.app.handle_event(ev(Event::Key(KeyEvent::new(
        KeyCode::Char('王'),
        KeyModifiers::NONE,
    ))));
    assert_eq!(h.app.form.text(Field::Name), "王");
    h.app.handle_event(ev(Event::Resize(60, 20)));
    h.app.handle_event(ev(Event::Key(KeyEvent::new(
        KeyCode::Char('q'),
        KeyModifiers::CONTROL,
    ))));
    assert!(h.app.quit, "at once: a question could not be seen");
    h.app.shutdown();
    let store = h.app.store().unwrap();
    assert_eq!(store.load_draft().unwrap().unwrap().0.name, "王");
}

#[test]
fn the_app_runs_actions_as_its_keys_do() {
    let mut h = Harness::new();
    h.app.update(Action::Tally);
    assert_eq!(h.app.counts.consultations, 1);
    h.app.update(Action::Goto(Screen::Dashboard));
    assert_eq!(h.app.screen, Screen::Dashboard);
    h.pump_until("the figures", |a| a.dashboard.figures.is_some());
    h.app.update(Action::Help);
    assert_eq!(h.app.overlay, Some(Overlay::Help));
    h.key(KeyCode::Char('x'));
    assert_eq!(h.app.overlay, None, "any key closes the help");
    h.app.update(Action::Lock);
    assert_eq!(h.app.screen, Screen::Locked);
    h.app
        .update(Action::Unlock(Zeroizing::new("secret1".into())));
    assert_eq!(h.app.screen, Screen::Dashboard, "back where it locked");
    h.app.update(Action::UndoTally);
    assert_eq!(h.app.counts.consultations, 0);
}

#[test]
fn esc_belongs_to_the_screen_shown() {
    let mut h = Harness::new();
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    h.key(KeyCode::Enter);
    h.key(KeyCode::F(3));
    h.pump_until("the list", |a| a.records.rows.len() == 1);
    h.key(KeyCode::Enter);
    h.typ("v");
    assert!(h.app.records.void_reason.is_some());
    // Esc steps back one level at a time: the void prompt, the record, the list
    h.key(KeyCode::Esc);
    assert!(h.app.records.void_reason.is_none());
    assert!(h.app.records.detail.is_some());
    h.key(KeyCode::Esc);
    assert!(h.app.records.detail.is_none());
    assert_eq!(h.app.screen, Screen::Records);
    h.key(KeyCode::Esc);
    assert_eq!(h.app.screen, Screen::Form);
    // on the form, Esc is the previous field
    h.key(KeyCode::Tab);
    h.key(KeyCode::Esc);
    assert_eq!(h.app.form.focus, Field::Name);
    h.key(KeyCode::F(5));
    h.key(KeyCode::Esc);
    assert_eq!(h.app.screen, Screen::Form);
}

#[test]
fn the_help_names_the_keys_of_the_screen_shown_and_the_apps() {
    let mut h = Harness::new();
    h.key(KeyCode::F(1));
    let form = h.app.help_lines().join("\n");
    for key in [
        "Tab/Enter",
        "Shift-Tab/Esc",
        "Ctrl-S",
        "Ctrl-D",
        "Ctrl-U",
        "F8",
        "Ctrl-Q",
    ] {
        assert!(
            form.contains(key),
            "{key} missing from the form's help:\n{form}"
        );
    }
    h.key(KeyCode::Esc);
    h.key(KeyCode::F(3));
    let records = h.app.help_lines().join("\n");
    assert!(records.contains("PgDn") && records.contains("Enter"));
    assert!(!records.contains("Ctrl-D"), "not the form's keys");
    assert!(records.contains("F2"), "and the app's");
}

/// The stored records, exported as the CLI would: (name, ID number, phone, employer).
fn stored(h: &Harness) -> Vec<(String, String, String, String)> {
    let store = h.app.store().unwrap();
    let mut out = Vec::new();
    for r in store.search("", None, 100).unwrap() {
        let m = store.get(&r.member_no).unwrap().unwrap().member.unwrap();
        out.push((m.name, m.document.number, m.phone, m.employer));
    }
    out.sort();
    out
}

fn worker(name: &str, id: &str, phone: &str, employer: &str) -> (String, String, String, String) {
    (name.into(), id.into(), phone.into(), employer.into())
}

#[test]
fn typing_on_the_done_screen_starts_the_next_registration_with_it() {
    let mut h = Harness::new();
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    assert_eq!(h.app.screen, Screen::Done);
    let first = h.app.done.as_ref().unwrap().member_no.clone();
    // the next worker typed straight away, as a fast typist or a card reader sends it
    h.typ("蒋琳");
    h.key(KeyCode::Tab);
    h.typ("110105198808080023");
    h.typ("13612342222");
    h.typ("顺丰速运");
    h.key(KeyCode::Tab);
    h.typ("y");
    h.ctrl('s'); // a stray Ctrl-S on the empty form that follows: nothing
    assert_eq!(
        h.app.message.as_ref().map(|m| m.1),
        None,
        "{:?}",
        h.app.message
    );
    assert!(!h.app.form.show_all_errors);
    let second = h.app.done.as_ref().unwrap().member_no.clone();
    assert_ne!(first, second, "the second worker's card is shown");
    assert_eq!(
        stored(&h),
        vec![
            worker(
                "葛婷婷",
                "11010519491231002X",
                "13800138000",
                "某某快递有限公司"
            ),
            worker("蒋琳", "110105198808080023", "13612342222", "顺丰速运"),
        ]
    );
    // a paste on the done screen goes into the next registration too
    h.app
        .handle_event(AppEvent::Input(Event::Paste("王秀英".into())));
    assert_eq!(h.app.screen, Screen::Form);
    assert_eq!(h.app.form.text(Field::Name), "王秀英");
}

#[test]
fn the_done_screen_reprints_on_f8_and_p_is_text() {
    let mut h = Harness::new();
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    h.pump_until("the slip", |a| {
        matches!(a.done.as_ref().unwrap().print, PrintStatus::Done { .. })
    });
    h.key(KeyCode::F(8));
    assert_eq!(h.app.screen, Screen::Done);
    assert_eq!(h.app.done.as_ref().unwrap().print, PrintStatus::Printing);
    h.typ("p");
    assert_eq!(h.app.screen, Screen::Form);
    assert_eq!(h.app.form.text(Field::Name), "p");
    // the last card stays at hand while the next is typed: F8 reprints it from the form
    // (no one typed here is registered), F7 shows it whole again
    h.key(KeyCode::F(7));
    assert_eq!(h.app.screen, Screen::Done);
    h.key(KeyCode::Enter);
    assert_eq!(h.app.screen, Screen::Form);
    assert_eq!(h.app.form.text(Field::Name), "p", "what was typed stays");
    assert!(h.app.done.is_some(), "until the next submit");
}

#[test]
fn operator_keys_per_worker_are_three() {
    // counted from the first character of one worker's name to the next worker's first:
    // Tab after the name, Tab after the employer, Y (consent, read out to the worker, and
    // submit); the done screen takes no key. The script holds exactly those three keys per
    // worker: with them every worker is stored as typed, the moment Y is pressed (they are
    // enough), and without any one of them nobody is stored (none is spare).
    #[derive(Clone, Copy)]
    enum Step<'a> {
        Data(&'a str),
        Key(KeyCode),
    }
    use Step::{Data, Key};
    fn script<'a>((name, id, phone): (&'a str, &'a str, &'a str)) -> Vec<Step<'a>> {
        vec![
            Data(name),
            Key(KeyCode::Tab),
            Data(id),
            Data(phone),
            Data("顺丰速运"),
            Key(KeyCode::Tab),
            Key(KeyCode::Char('y')),
        ]
    }
    fn play(h: &mut Harness, steps: &[Step]) {
        for step in steps {
            match *step {
                Data(text) => h.typ(text),
                Key(code) => h.key(code),
            }
        }
    }
    let workers = [
        ("葛婷婷", "11010519491231002X", "13800138000"),
        ("蒋琳", "110105198808080023", "13612342222"),
        ("王秀英", "320102199303030076", "13912345678"),
    ];

    let mut h = Harness::new();
    for (i, w) in workers.into_iter().enumerate() {
        play(&mut h, &script(w));
        assert_eq!(stored(&h).len(), i + 1, "{:?}", h.app.message);
    }
    let mut expected: Vec<_> = workers
        .iter()
        .map(|(name, id, phone)| worker(name, id, phone, "顺丰速运"))
        .collect();
    expected.sort();
    assert_eq!(stored(&h), expected);

    let steps = script(workers[0]);
    let keys: Vec<usize> = (0..steps.len())
        .filter(|&i| matches!(steps[i], Key(_)))
        .collect();
    for left_out in keys {
        let mut h = Harness::new();
        let mut fewer = steps.clone();
        fewer.remove(left_out);
        play(&mut h, &fewer);
        assert_eq!(
            stored(&h),
            vec![],
            "stored without operator key #{left_out}"
        );
    }
}

#[test]
fn y_on_the_consent_of_an_incomplete_form_consents_and_says_what_is_missing() {
    let mut h = Harness::new();
    h.typ("张三");
    h.key(KeyCode::Tab);
    h.typ("11010519491231002X");
    h.app.form.focus = Field::Consent;
    h.typ("y");
    assert_eq!(h.app.screen, Screen::Form);
    assert_eq!(h.app.form.focus, Field::Phone, "the first thing missing");
    assert!(h.app.form.to_input().consent);
    // Space consents without submitting: the optional fields can follow
    let mut h = Harness::new();
    h.app.form.focus = Field::Consent;
    h.typ(" ");
    assert!(h.app.form.to_input().consent);
    assert!(!h.app.form.show_all_errors);
}

#[test]
fn a_wrong_check_character_shows_at_the_18th_character_and_the_id_never_grows() {
    let mut h = Harness::new();
    h.typ("张三");
    h.key(KeyCode::Tab);
    h.typ("110105194912310021");
    assert!(
        h.app.form.error_for(Field::IdNumber).is_some(),
        "shown the moment the number is complete"
    );
    h.typ("13800138000");
    assert_eq!(h.app.form.text(Field::IdNumber), "110105194912310021");
    assert_eq!(h.app.form.text(Field::Phone), "13800138000");
    // back in the field, a 19th character does not go in either
    h.app.form.focus = Field::IdNumber;
    h.typ("9");
    assert_eq!(h.app.form.text(Field::IdNumber), "110105194912310021");
}

#[test]
fn a_restored_draft_focuses_the_first_field_not_complete() {
    let now = booth::store::now();
    let mut h = Harness::with_store(|s| {
        let input = booth::member::MemberInput {
            name: "买买提·吐尔逊".into(),
            id_number: "6501021985".into(),
            ..Default::default()
        };
        s.save_draft(&input, &now).unwrap();
    });
    assert_eq!(h.app.form.text(Field::Name), "买买提·吐尔逊");
    assert_eq!(h.app.form.focus, Field::IdNumber);
    h.typ("01010013");
    assert_eq!(h.app.form.text(Field::Name), "买买提·吐尔逊");
}

/// Issue 22 item 1: the Tab after the phone's automatic move confirms that move; today's
/// employer is taken by a Tab of its own on the empty field (the first ↓ picks the second).
#[test]
fn tab_after_an_automatic_move_confirms_it_and_a_second_takes_todays_employer() {
    let mut h = Harness::new();
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    h.typ("蒋琳");
    h.key(KeyCode::Tab);
    h.typ("110105198808080023");
    h.typ("13612342222");
    assert_eq!(h.app.form.focus, Field::Employer);
    h.key(KeyCode::Tab);
    assert_eq!(h.app.form.text(Field::Employer), "", "not taken unasked");
    assert_eq!(h.app.form.focus, Field::Employer);
    h.key(KeyCode::Tab);
    assert_eq!(h.app.form.text(Field::Employer), "某某快递有限公司");
    assert_eq!(h.app.form.focus, Field::Consent);
    // a card reader's Enter right after the number is still its own, not a step
    let mut h = Harness::new();
    h.typ("蒋琳");
    h.key(KeyCode::Tab);
    h.typ("110105198808080023");
    h.key(KeyCode::Enter);
    assert_eq!(h.app.form.focus, Field::Phone);
}

#[test]
fn f3_always_shows_the_list_with_its_search() {
    let mut h = Harness::new();
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    h.register("王建国", "110105198001010016", "13900139000");
    h.key(KeyCode::F(3));
    h.pump_until("the list", |a| a.records.rows.len() == 2);
    h.typ("葛");
    h.pump_until("the search", |a| a.records.rows.len() == 1);
    h.key(KeyCode::Enter);
    assert!(h.app.records.detail.is_some());
    h.key(KeyCode::F(2));
    h.key(KeyCode::F(3));
    assert!(
        h.app.records.detail.is_none(),
        "the list, not the last record"
    );
    assert_eq!(h.app.records.query.value(), "葛");
    h.typ("e");
    assert_eq!(h.app.screen, Screen::Records);
    assert_eq!(
        h.app.records.query.value(),
        "葛e",
        "typing goes to the search"
    );
}

#[test]
fn an_empty_void_reason_says_a_reason_is_needed() {
    let mut h = Harness::new();
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    h.key(KeyCode::F(3));
    h.pump_until("the list", |a| a.records.rows.len() == 1);
    h.key(KeyCode::Enter);
    h.typ("v");
    h.app.message = None;
    h.key(KeyCode::Enter);
    assert!(h.app.records.void_reason.is_some(), "still asking");
    let (text, _) = h.app.message.clone().expect("says why nothing happened");
    assert!(text.contains("原因"), "{text}");
}

#[test]
fn consent_refused_says_it_is_required_and_how_to_give_it() {
    let mut h = Harness::new();
    h.typ("葛婷婷");
    h.key(KeyCode::Tab);
    h.typ("11010519491231002X");
    h.typ("13800138000");
    h.typ("某公司");
    h.key(KeyCode::Tab);
    h.typ("n");
    h.ctrl('s');
    let (text, _) = h.app.message.clone().unwrap();
    assert!(text.contains("同意") && text.contains('Y'), "{text}");
}

/// Issue 14 item 7: the cadre sets up the upload on the upload screen alone (the code pasted,
/// a certificate file refused in words, then left empty) and uploads.
#[test]
fn the_upload_is_set_up_on_the_upload_screen_with_the_enrolment_code() {
    use common::net::{Server, members_on_server, server_cmd};
    let mut h = Harness::new();
    let db = format!("sqlite:{}", h._dir.path().join("office.db").display());
    let server = Server::start(&db);
    let (out, v) = server_cmd(&[
        "add-device",
        "laptop-tui",
        "--db",
        &db,
        "--server-url",
        &server.url(),
    ]);
    assert!(out.status.success(), "{v}");
    let code = v["enrolment_code"].as_str().unwrap().to_string();
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    h.key(KeyCode::F(5));
    assert_eq!(h.app.screen, Screen::Upload);
    assert!(!h.app.upload.configured);
    assert!(h.app.upload.entry.is_some(), "the entry is open at once");
    // a cut code is refused beside the field, nothing stored
    h.app
        .handle_event(AppEvent::Input(Event::Paste(code[..code.len() - 5].into())));
    h.key(KeyCode::Enter);
    let entry = h.app.upload.entry.as_ref().unwrap();
    let (_, why) = entry.error.as_ref().expect("a cut code is refused");
    assert!(why.contains("登记码"), "{why}");
    // the whole code pasted again replaces the cut one; a certificate file that is not there
    h.app
        .handle_event(AppEvent::Input(Event::Paste(format!("{code}\n"))));
    h.key(KeyCode::Tab);
    h.typ("/nonexistent/office-ca.pem");
    h.key(KeyCode::Enter);
    let entry = h.app.upload.entry.as_ref().unwrap();
    let (field, why) = entry.error.as_ref().unwrap();
    assert_eq!(*field, booth::tui::screens::enrol::EntryField::Ca);
    assert!(
        why.contains("office-ca.pem") && why.contains("不存在"),
        "{why}"
    );
    assert!(h.app.session.as_ref().unwrap().config.token.is_none());
    h.ctrl('u');
    h.key(KeyCode::Enter);
    assert!(h.app.upload.entry.is_none(), "{:?}", h.app.upload.entry);
    assert!(h.app.upload.configured);
    let config = &h.app.session.as_ref().unwrap().config;
    assert_eq!(config.server.as_deref(), Some(server.url().as_str()));
    assert!(config.office_key.is_some());
    // loopback plain HTTP: no question
    h.key(KeyCode::Enter);
    assert_eq!(h.app.overlay, None);
    assert!(h.app.upload.running);
    h.pump_until("the upload", |a| !a.upload.running);
    let (msg, ok) = h.app.upload.status.message(Lang::Zh).unwrap();
    assert!(ok, "{msg}");
    assert_eq!(members_on_server(&db), 1);
}

/// Plain HTTP to another machine is asked about first; "no" sends nothing.
#[test]
fn plain_http_to_another_machine_asks_first() {
    let code = booth::card::enrol::Enrolment {
        server: Some("http://192.0.2.10:8080".into()),
        token: "tok_abcdefghijklmnopqrstuvwxyz0123456789ABCD".into(),
        office_key: booth::card::office::OfficeKey::generate()
            .unwrap()
            .fingerprint(),
        device: Some("lap".into()),
        seal_key: None,
        verify_url: None,
        union: None,
    }
    .encode();
    let mut h = Harness::new();
    h.key(KeyCode::F(5));
    h.app.handle_event(AppEvent::Input(Event::Paste(code)));
    h.key(KeyCode::Enter);
    assert!(h.app.upload.configured, "{:?}", h.app.upload.entry);
    h.key(KeyCode::Enter);
    assert_eq!(h.app.overlay, Some(Overlay::ConfirmPlainHttp));
    let text = h.app.overlay_text().join("\n");
    assert!(
        text.contains("192.0.2.10") && text.contains("http://"),
        "{text}"
    );
    h.key(KeyCode::Char('n'));
    assert_eq!(h.app.overlay, None);
    assert!(!h.app.upload.running, "no means nothing is sent");
}

/// Issue 16 item 3: the records list filtered by an employer or a day, "print these cards":
/// a PDF of card sheets, made off the UI thread with progress, and the slips on the printer.
#[test]
fn print_these_cards_from_the_filtered_records_list() {
    let dir = tempfile::tempdir().unwrap();
    let slips = dir.path().join("slips.bin");
    let printer = format!("file:{}", slips.display());
    let mut h = Harness::with_store(|s| {
        s.set_config("printer", &printer, Lang::Zh).unwrap();
    });
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    h.key(KeyCode::Enter);
    h.register("王建国", "110105198001010016", "13900139000");
    h.pump_until("the slips", |a| {
        a.done
            .as_ref()
            .is_some_and(|d| d.print != PrintStatus::Printing)
    });
    h.key(KeyCode::F(3));
    assert_eq!(h.app.screen, Screen::Records);
    // not a day nor an employer: Ctrl-P says what it needs
    h.ctrl('p');
    assert!(h.app.records.cards.is_none());
    let (text, _) = h.app.message.clone().unwrap();
    assert!(text.contains("@"), "{text}");
    h.typ("@某某快递");
    h.ctrl('p');
    let cards = h.app.records.cards.as_ref().expect("the cards panel opens");
    assert_eq!(
        cards.filter,
        booth::store::members::ListFilter::Employer("某某快递".into())
    );
    // a PDF where asked
    let pdf = dir.path().join("cards.pdf");
    h.ctrl('u');
    h.typ(pdf.to_str().unwrap());
    h.key(KeyCode::Enter);
    h.pump_until("the PDF", |a| {
        matches!(
            a.records.cards.as_ref().unwrap().phase,
            booth::tui::screens::cards::Phase::Finished(_)
        )
    });
    let phase = &h.app.records.cards.as_ref().unwrap().phase;
    match phase {
        booth::tui::screens::cards::Phase::Finished(
            booth::tui::screens::cards::CardsDone::Pdf {
                cards, pages, path, ..
            },
        ) => {
            assert_eq!((*cards, *pages), (2, 1));
            assert_eq!(path, &pdf);
        }
        other => panic!("{other:?}"),
    }
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(!dir.path().join("cards.pdf.part").exists());
    h.key(KeyCode::Enter);
    assert!(h.app.records.cards.is_none(), "Enter closes a finished run");

    // the same members on the printer, asked again (A: their slips were printed at
    // registration): two slips more in the printer's file
    let before = std::fs::metadata(&slips).unwrap().len();
    h.ctrl('p');
    h.key(KeyCode::Tab);
    h.key(KeyCode::Char('a'));
    h.key(KeyCode::Enter);
    h.pump_until("the printing", |a| {
        matches!(
            a.records.cards.as_ref().unwrap().phase,
            booth::tui::screens::cards::Phase::Finished(_)
        )
    });
    let phase = &h.app.records.cards.as_ref().unwrap().phase;
    assert_eq!(
        phase,
        &booth::tui::screens::cards::Phase::Finished(
            booth::tui::screens::cards::CardsDone::Printed {
                printed: 2,
                already: 0
            }
        )
    );
    let after = std::fs::metadata(&slips).unwrap().len();
    assert!(after > before, "{before} → {after}");
    // a folder that does not exist: said before anything runs
    h.key(KeyCode::Esc);
    h.ctrl('p');
    h.ctrl('u');
    h.typ("/nonexistent-folder/cards.pdf");
    h.key(KeyCode::Enter);
    let c = h.app.records.cards.as_ref().unwrap();
    assert_eq!(c.phase, booth::tui::screens::cards::Phase::Choosing);
    assert!(c.error.is_some());
}

/// Issue 12 leftover: with `verify_url` set, the done screen's QR is the URL form the slip
/// carries (a phone camera opens the office's page).
#[test]
fn the_done_screen_shows_the_url_form_when_verify_url_is_set() {
    let url = "https://verify.example.cn";
    let mut h = Harness::with_store(|s| {
        s.set_config("verify_url", url, Lang::Zh).unwrap();
    });
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    assert_eq!(h.app.screen, Screen::Done);
    let d = h.app.done.as_ref().unwrap();
    let store = h.app.store().unwrap();
    let m = store.get(&d.member_no).unwrap().unwrap();
    let url_form = m.qr_text(None, Some(url), store.device_key()).unwrap();
    assert!(
        url_form.starts_with("HTTPS://VERIFY.EXAMPLE.CN/V#"),
        "{url_form}"
    );
    assert_eq!(d.qr, booth::card::qr::QrMatrix::encode(&url_form).unwrap());
    let code = m.payload(None, store.device_key()).unwrap();
    assert_ne!(d.qr, booth::card::qr::QrMatrix::encode(&code).unwrap());
}

/// Issue 14 item 6 in the UI: a slip saved with a character no font has gets a warning line
/// of its own on the done screen (and the print line does not repeat it).
#[test]
fn a_slip_with_a_character_no_font_has_is_warned_on_its_own_line() {
    let mut h = Harness::new();
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    h.pump_until("the slip", |a| {
        a.done
            .as_ref()
            .is_some_and(|d| d.print != PrintStatus::Printing)
    });
    let no = h.app.done.as_ref().unwrap().member_no.as_str().to_string();
    let mut coverage = booth::slip::font::Coverage::Complete;
    coverage.add_missing('𠮷');
    let note = coverage.note(Lang::Zh).unwrap();
    h.app
        .handle_event(AppEvent::Worker(booth::tui::workers::WorkerMsg::Printed {
            member_no: no,
            outcome: booth::printer::PrintOutcome::Saved {
                path: "/tmp/slip.png".into(),
                error: None,
                coverage,
            },
        }));
    let d = h.app.done.as_ref().unwrap();
    assert_eq!(d.notes, vec![note.clone()]);
    match &d.print {
        PrintStatus::Done { message, .. } => assert!(!message.contains(&note), "{message}"),
        other => panic!("{other:?}"),
    }
    // elsewhere (a reprint from the records): the status line says both, as a warning
    h.key(KeyCode::F(3));
    h.app
        .handle_event(AppEvent::Worker(booth::tui::workers::WorkerMsg::Printed {
            member_no: "X".into(),
            outcome: booth::printer::PrintOutcome::Saved {
                path: "/tmp/slip.png".into(),
                error: None,
                coverage: {
                    let mut c = booth::slip::font::Coverage::Complete;
                    c.add_missing('𠮷');
                    c
                },
            },
        }));
    let (text, tone) = h.app.message.clone().unwrap();
    assert!(
        text.contains(&note) && text.contains("/tmp/slip.png"),
        "{text}"
    );
    assert_eq!(tone, booth::tui::app::Tone::Bad);
}

/// A code used on a second laptop: the office refuses it (403, the token is bound to the
/// first laptop's key), and the upload screen says why and what to do, not the server's text.
#[test]
fn a_code_already_used_by_another_laptop_is_refused_in_words() {
    use common::net::{Server, server_cmd};
    let mut first = Harness::new();
    let db = format!("sqlite:{}", first._dir.path().join("office.db").display());
    let server = Server::start(&db);
    let (out, v) = server_cmd(&[
        "add-device",
        "laptop-a",
        "--db",
        &db,
        "--server-url",
        &server.url(),
    ]);
    assert!(out.status.success(), "{v}");
    let code = v["enrolment_code"].as_str().unwrap().to_string();
    let mut second = Harness::new();
    for h in [&mut first, &mut second] {
        h.register("葛婷婷", "11010519491231002X", "13800138000");
        h.key(KeyCode::F(5));
        h.app
            .handle_event(AppEvent::Input(Event::Paste(code.clone())));
        h.key(KeyCode::Enter);
        assert!(h.app.upload.configured);
        h.key(KeyCode::Enter);
        h.pump_until("the upload", |a| !a.upload.running);
    }
    assert!(first.app.upload.status.message(Lang::Zh).unwrap().1);
    let (msg, ok) = second.app.upload.status.message(Lang::Zh).unwrap();
    assert!(!ok);
    assert!(msg.contains("这个令牌已属于另一台电脑"), "{msg}");
    assert!(msg.contains("登记码"), "{msg}");
    assert_eq!(second.app.counts.queued, 1, "the record stays queued");
}

/// A raw TCP printer on loopback answering the paper-status query from `paper`; counts the
/// slips it receives.
struct FakePrinter {
    uri: String,
    addr: std::net::SocketAddr,
    paper: Arc<std::sync::atomic::AtomicBool>,
    slips: Arc<std::sync::atomic::AtomicUsize>,
}

impl FakePrinter {
    fn start() -> FakePrinter {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let paper = Arc::new(AtomicBool::new(true));
        let slips = Arc::new(AtomicUsize::new(0));
        let (p, s) = (paper.clone(), slips.clone());
        // One connection at a time, in the order they came: what `count` relies on.
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { break };
                let mut query = [0u8; 3];
                if conn.read_exact(&mut query).is_err() {
                    continue;
                }
                let status = if p.load(Ordering::SeqCst) { 0x12 } else { 0x72 };
                let _ = conn.write_all(&[status]);
                let mut rest = Vec::new();
                let _ = conn.read_to_end(&mut rest);
                if !rest.is_empty() {
                    s.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        FakePrinter {
            uri: format!("tcp://{addr}"),
            addr,
            paper,
            slips,
        }
    }

    /// The slips received from every connection made before this call. The printer counts a
    /// slip when its connection closes, a moment after the booth is done with it; it serves
    /// connections one by one in order, so once it has answered a status query of our own
    /// (a connection sending no slip), it has counted all the booth's earlier ones.
    fn count(&self) -> usize {
        use std::io::{Read, Write};
        let mut probe = std::net::TcpStream::connect(self.addr).unwrap();
        probe.write_all(&[0x10, 0x04, 0x04]).unwrap();
        let mut status = [0u8; 1];
        probe.read_exact(&mut status).unwrap();
        drop(probe);
        self.slips.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn set_paper(&self, there: bool) {
        self.paper.store(there, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Printing these cards pauses when the printer is out of paper, says so, goes on by itself
/// when paper is back, and Esc during a pause stops the run.
#[test]
fn printing_these_cards_pauses_on_paper_out_and_goes_on() {
    use booth::tui::screens::cards::{CardsDone, Phase};
    let printer = FakePrinter::start();
    let mut h = Harness::with_store(|s| {
        s.set_config("printer", &printer.uri, Lang::Zh).unwrap();
    });
    h.register("葛婷婷", "11010519491231002X", "13800138000");
    h.key(KeyCode::Enter);
    h.register("王建国", "110105198001010016", "13900139000");
    h.pump_until("the slips", |a| {
        a.done
            .as_ref()
            .is_some_and(|d| d.print != PrintStatus::Printing)
    });
    let before = printer.count();
    assert_eq!(before, 2, "both registrations' slips");
    printer.set_paper(false);
    h.key(KeyCode::F(3));
    h.typ("@某某快递");
    h.ctrl('p');
    h.key(KeyCode::Tab);
    h.key(KeyCode::Char('a')); // printed at registration: asked again
    h.key(KeyCode::Enter);
    let paused = |a: &App| {
        matches!(
            &a.records.cards.as_ref().unwrap().phase,
            Phase::Running {
                paused: Some(_),
                ..
            }
        )
    };
    h.pump_until("the pause", paused);
    match &h.app.records.cards.as_ref().unwrap().phase {
        Phase::Running {
            paused: Some(why), ..
        } => assert!(why.contains("缺纸"), "{why}"),
        other => panic!("{other:?}"),
    }
    printer.set_paper(true);
    h.pump_until("the end", |a| {
        matches!(a.records.cards.as_ref().unwrap().phase, Phase::Finished(_))
    });
    assert_eq!(
        h.app.records.cards.as_ref().unwrap().phase,
        Phase::Finished(CardsDone::Printed {
            printed: 2,
            already: 0
        })
    );
    assert_eq!(printer.count() - before, 2);
    // again: nobody printed twice; out of paper and stopped with Esc
    h.key(KeyCode::Esc);
    h.ctrl('p');
    h.key(KeyCode::Tab);
    h.key(KeyCode::Enter);
    h.pump_until("the second run", |a| {
        matches!(a.records.cards.as_ref().unwrap().phase, Phase::Finished(_))
    });
    assert_eq!(
        h.app.records.cards.as_ref().unwrap().phase,
        Phase::Finished(CardsDone::Printed {
            printed: 0,
            already: 2
        })
    );
    // asked for (A): printed again
    let before = printer.count();
    assert_eq!(before, 4, "nothing printed by the second run");
    h.key(KeyCode::Esc);
    h.ctrl('p');
    h.key(KeyCode::Tab);
    h.key(KeyCode::Char('a'));
    assert!(h.app.records.cards.as_ref().unwrap().again);
    h.key(KeyCode::Enter);
    h.pump_until("the run again", |a| {
        matches!(a.records.cards.as_ref().unwrap().phase, Phase::Finished(_))
    });
    assert_eq!(
        h.app.records.cards.as_ref().unwrap().phase,
        Phase::Finished(CardsDone::Printed {
            printed: 2,
            already: 0
        })
    );
    assert_eq!(printer.count() - before, 2);
    // a third worker while the printer is out of paper (no slip at registration), Esc
    // during the pause: stopped, not printed
    printer.set_paper(false);
    h.key(KeyCode::Esc);
    h.key(KeyCode::F(2));
    h.register("买买提", &common::valid_id(7), &common::phone(7));
    assert_eq!(h.app.screen, Screen::Done, "{:?}", h.app.message);
    h.pump_until("the slip", |a| {
        a.done
            .as_ref()
            .is_some_and(|d| d.print != PrintStatus::Printing)
    });
    let before = printer.count();
    assert_eq!(
        before, 6,
        "no slip for the third worker: the printer is out of paper"
    );
    h.key(KeyCode::F(3));
    h.ctrl('p');
    h.key(KeyCode::Tab);
    h.key(KeyCode::Enter);
    h.pump_until("the pause", paused);
    h.key(KeyCode::Esc);
    h.pump_until("the stop", |a| {
        matches!(a.records.cards.as_ref().unwrap().phase, Phase::Finished(_))
    });
    assert_eq!(
        h.app.records.cards.as_ref().unwrap().phase,
        Phase::Finished(CardsDone::Cancelled { done: 2 })
    );
    assert_eq!(printer.count(), before);
}
