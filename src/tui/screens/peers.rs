//! The peers screen (Shift-F5, SPEC §12): the laptops of one booth. It shows this laptop's
//! pairing code (6 digits, valid 5 minutes) with its address, asks about each laptop that
//! paired with the code (is it the one beside you?), lists the paired laptops with whether
//! they are reachable and how many records this laptop holds for each, and takes another
//! laptop's code — with its address typed by hand when discovery finds nothing (phone
//! hotspots often keep devices apart).
//!
//! The state is filled by the app from the running peer service (every second while the
//! screen is open); keys say what is wanted as [`Action`]s; the render only reads the state.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;

use super::Outcome;
use crate::i18n::Lang;
use crate::member::text::display_safe;
use crate::peers::service::PeerStatus;
use crate::t;
use crate::tui::action::{Action, PeersAction};
use crate::tui::app::Screen;
use crate::tui::keys::{self, BACK_TAB, Binding, DOWN, ENTER, ESC, Key, TAB, UP};
use crate::tui::theme;
use crate::tui::widgets::input::{Edit, TextInput};
use crate::tui::widgets::{fit, wrapped};

/// The code this laptop shows, as the service has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShownCode {
    pub digits: String,
    pub address: String,
    pub secs_left: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Entry {
    #[default]
    Code,
    Address,
}

#[derive(Clone, Debug, Default)]
pub struct PeersState {
    /// The peer service runs (it may not: the port taken, no network).
    pub running: bool,
    /// This laptop's name for its peers, and the address they reach it at.
    pub me: Option<(String, String)>,
    pub code: Option<ShownCode>,
    /// Laptops that paired with the code shown here, to confirm one by one.
    pub newcomers: Vec<String>,
    pub list: Vec<PeerStatus>,
    pub selected: usize,
    /// Ctrl-D pressed once on this laptop: a second press forgets it.
    pub forget_asked: Option<String>,
    pub entry: Entry,
    pub code_input: TextInput,
    pub addr_input: TextInput,
    /// A pairing under way (the other laptop is being called).
    pub pairing: bool,
    /// What the last pairing or forgetting came to, and whether it went well.
    pub result: Option<(String, bool)>,
    /// Why this laptop's records cannot be copied to its peers, if they cannot.
    pub problem: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Confirm,
    Refuse,
    NewCode,
    Pair,
    Switch,
    Select,
    Forget,
    Back,
}

/// The keys while a newcomer waits for the operator's word.
const CONFIRM: &[Binding<Cmd>] = &[
    Binding::new(Cmd::Confirm, &[Key::char('y')])
        .also(&[ENTER])
        .hint("keys.peers.confirm")
        .help("help.peers.confirm"),
    Binding::new(Cmd::Refuse, &[Key::char('n')])
        .hint("keys.peers.refuse")
        .help("help.peers.refuse"),
];

const KEYS: &[Binding<Cmd>] = &[
    Binding::new(Cmd::NewCode, &[Key::ctrl('n')])
        .hint("keys.peers.new_code")
        .help("help.peers.new_code"),
    Binding::new(Cmd::Pair, &[ENTER])
        .hint("keys.peers.pair")
        .help("help.peers.pair"),
    Binding::new(Cmd::Switch, &[TAB])
        .also(&[BACK_TAB])
        .hint("keys.peers.switch")
        .help("help.peers.switch"),
    Binding::new(Cmd::Select, &[UP, DOWN]).help("help.peers.select"),
    Binding::new(Cmd::Forget, &[Key::ctrl('d')])
        .hint("keys.peers.forget")
        .help("help.peers.forget"),
    Binding::new(Cmd::Back, &[ESC])
        .hint("keys.back_plain")
        .help("help.back_to_form"),
];

/// F1 on the peers screen.
pub fn help(p: &PeersState, lang: Lang) -> Vec<String> {
    let mut lines = vec![t!(lang, "peers_screen.help_intro").to_string()];
    if !p.newcomers.is_empty() {
        lines.extend(keys::help_lines(CONFIRM, lang));
    }
    lines.extend(keys::help_lines(KEYS, lang));
    lines
}

impl PeersState {
    pub fn new() -> PeersState {
        PeersState {
            code_input: TextInput::new(6),
            addr_input: TextInput::new(64),
            ..PeersState::default()
        }
    }

    /// The service's view, read by the app (every second while the screen is open).
    pub fn refreshed(
        &mut self,
        me: Option<(String, String)>,
        code: Option<ShownCode>,
        list: Vec<PeerStatus>,
        problem: Option<String>,
    ) {
        self.running = me.is_some();
        self.me = me;
        self.code = code;
        self.list = list;
        self.problem = problem;
        self.selected = self.selected.min(self.list.len().saturating_sub(1));
    }

    /// Laptops that paired with this laptop's code: asked about one by one.
    pub fn admitted(&mut self, names: Vec<String>) {
        for n in names {
            if !self.newcomers.contains(&n) {
                self.newcomers.push(n);
            }
        }
    }

    /// A pairing (or a forgetting) came to this.
    pub fn finished(&mut self, text: String, ok: bool) {
        self.pairing = false;
        if ok {
            self.code_input.wipe();
        }
        self.result = Some((text, ok));
    }

    pub fn paste(&mut self, s: &str) {
        match self.entry {
            Entry::Code => {
                let digits: String = s.chars().filter(char::is_ascii_digit).collect();
                self.code_input.insert_str(&digits);
            }
            Entry::Address => {
                self.addr_input.insert_str(s.trim());
            }
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        if let Some(name) = self.newcomers.first().cloned() {
            return match keys::find(CONFIRM, &key, |_| true) {
                Some(Cmd::Confirm) => {
                    self.newcomers.remove(0);
                    Outcome::Taken
                }
                Some(Cmd::Refuse) => {
                    self.newcomers.remove(0);
                    Outcome::Do(Action::Peers(PeersAction::Forget(name)))
                }
                // the app's keys still work; nothing is typed under the question
                _ if matches!(key.code, KeyCode::Char(_)) && key.modifiers.is_empty() => {
                    Outcome::Taken
                }
                _ => Outcome::Pass,
            };
        }
        let cmd = keys::find(KEYS, &key, |_| true);
        if cmd != Some(Cmd::Forget) {
            self.forget_asked = None;
        }
        match cmd {
            Some(Cmd::NewCode) => Outcome::Do(Action::Peers(PeersAction::NewCode)),
            Some(Cmd::Pair) if self.pairing => Outcome::Taken,
            Some(Cmd::Pair) => {
                let code = self.code_input.value();
                if code.len() != 6 {
                    self.entry = Entry::Code;
                    return Outcome::Do(Action::Peers(PeersAction::BadCode));
                }
                self.pairing = true;
                self.result = None;
                let addr = self.addr_input.value();
                Outcome::Do(Action::Peers(PeersAction::Pair {
                    code,
                    address: (!addr.trim().is_empty()).then(|| addr.trim().to_string()),
                }))
            }
            Some(Cmd::Switch) => {
                self.entry = match self.entry {
                    Entry::Code => Entry::Address,
                    Entry::Address => Entry::Code,
                };
                Outcome::Taken
            }
            Some(Cmd::Select) => {
                if key.code == KeyCode::Up {
                    self.selected = self.selected.saturating_sub(1);
                } else if self.selected + 1 < self.list.len() {
                    self.selected += 1;
                }
                Outcome::Taken
            }
            Some(Cmd::Forget) => {
                let Some(p) = self.list.get(self.selected) else {
                    return Outcome::Taken;
                };
                if self.forget_asked.as_deref() == Some(p.name.as_str()) {
                    self.forget_asked = None;
                    Outcome::Do(Action::Peers(PeersAction::Forget(p.name.clone())))
                } else {
                    self.forget_asked = Some(p.name.clone());
                    Outcome::Taken
                }
            }
            Some(Cmd::Back) => Outcome::Do(Action::Goto(Screen::Form)),
            Some(Cmd::Confirm | Cmd::Refuse) => Outcome::Pass,
            None => {
                let input = match self.entry {
                    Entry::Code => {
                        // only digits go into a code
                        if let KeyCode::Char(c) = key.code
                            && !c.is_ascii_digit()
                            && key.modifiers.is_empty()
                        {
                            return Outcome::Do(Action::Peers(PeersAction::BadCode));
                        }
                        &mut self.code_input
                    }
                    Entry::Address => &mut self.addr_input,
                };
                match input.handle_key(&key) {
                    Edit::Pass => Outcome::Pass,
                    Edit::Taken | Edit::Changed => Outcome::Taken,
                }
            }
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, lang: Lang) {
        let buf = frame.buffer_mut();
        let width = area.width as usize;
        let mut y = area.y;
        // the last row is the keys'
        let last = (area.y + area.height).saturating_sub(1);
        // a text on as many rows as it needs (at most `rows`): nothing is cut where it fits
        let put = |buf: &mut ratatui::buffer::Buffer, y: &mut u16, text: &str, style, rows: u16| {
            let room = rows.min(last.saturating_sub(*y));
            if room > 0 {
                *y += wrapped(buf, Rect::new(area.x, *y, area.width, room), text, style);
            }
        };
        put(
            buf,
            &mut y,
            t!(lang, "peers_screen.title"),
            theme::title(),
            1,
        );
        put(buf, &mut y, t!(lang, "peers_screen.intro"), theme::dim(), 2);
        match &self.me {
            None => put(
                buf,
                &mut y,
                t!(lang, "peers_screen.not_running"),
                theme::error(),
                2,
            ),
            Some((name, address)) => {
                let text = t!(
                    lang,
                    "peers_screen.me",
                    name = display_safe(name),
                    address = address
                );
                put(buf, &mut y, &text, theme::label(), 1);
            }
        }
        y += 1;
        // this laptop's code
        match &self.code {
            Some(c) => {
                let text = t!(
                    lang,
                    "peers_screen.code",
                    code = c.digits,
                    address = c.address,
                    left = format!("{}:{:02}", c.secs_left / 60, c.secs_left % 60)
                );
                put(buf, &mut y, &text, theme::ok(), 2);
            }
            None if self.running => {
                let key = keys::label(KEYS, |c| *c == Cmd::NewCode);
                let text = t!(lang, "peers_screen.no_code", key = key);
                put(buf, &mut y, &text, theme::label(), 2);
            }
            None => {}
        }
        // a laptop paired with it: the operator's word
        if let Some(name) = self.newcomers.first() {
            let text = t!(lang, "peers_screen.newcomer", name = display_safe(name));
            put(buf, &mut y, &text, theme::warn(), 2);
        }
        y += 1;
        // another laptop's code, and its address when discovery finds nothing
        let code_label = t!(lang, "peers_screen.their_code");
        let addr_label = t!(lang, "peers_screen.their_address");
        let label_w =
            (fit_width(code_label).max(fit_width(addr_label)) as u16 + 2).min(area.width / 2);
        let mut cursor = None;
        for (entry, label, input, w) in [
            (Entry::Code, code_label, &self.code_input, 8u16),
            (Entry::Address, addr_label, &self.addr_input, 24u16),
        ] {
            if y >= last {
                break;
            }
            let focused = self.entry == entry && self.newcomers.is_empty();
            let style = if focused {
                theme::focused_label()
            } else {
                theme::label()
            };
            buf.set_stringn(
                area.x,
                y,
                fit(label, label_w as usize),
                label_w as usize,
                style,
            );
            let input_area = Rect::new(
                area.x + label_w,
                y,
                w.min(area.width.saturating_sub(label_w)),
                1,
            );
            let istyle = if focused {
                theme::focused_input()
            } else {
                theme::input()
            };
            let pos = input.render(input_area, buf, istyle, false);
            if focused {
                cursor = Some(pos);
            }
            if entry == Entry::Code && self.pairing {
                let note_x = input_area.x + input_area.width + 1;
                let room = (area.x + area.width).saturating_sub(note_x) as usize;
                let note = t!(lang, "peers_screen.pairing");
                buf.set_stringn(note_x, y, fit(note, room), room, theme::dim());
            }
            y += 1;
        }
        put(
            buf,
            &mut y,
            t!(lang, "peers_screen.address_hint"),
            theme::dim(),
            2,
        );
        if let Some((text, ok)) = &self.result {
            let style = if *ok { theme::ok() } else { theme::error() };
            put(buf, &mut y, text, style, 3);
        }
        y += 1;
        // the paired laptops
        put(
            buf,
            &mut y,
            t!(lang, "peers_screen.paired"),
            theme::title(),
            1,
        );
        if self.list.is_empty() {
            put(buf, &mut y, t!(lang, "peers.none"), theme::dim(), 1);
        }
        for (i, p) in self.list.iter().enumerate() {
            let reach = if p.connected {
                t!(lang, "peers_screen.connected").to_string()
            } else {
                let seen = p
                    .last_seen
                    .as_deref()
                    .and_then(crate::store::parse_timestamp)
                    .map(|t| t.format("%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "-".into());
                t!(lang, "peers_screen.unreachable", seen = seen)
            };
            let mut text = t!(
                lang,
                "peers_screen.line",
                mark = if p.connected { "●" } else { "○" },
                name = display_safe(&p.name),
                key_id = p.key_id,
                reach = reach,
                held = p.held
            );
            if self.forget_asked.as_deref() == Some(p.name.as_str()) {
                text.push_str("  ");
                text.push_str(&t!(
                    lang,
                    "peers_screen.forget_again",
                    key = keys::label(KEYS, |c| *c == Cmd::Forget)
                ));
            }
            let style = if i == self.selected {
                theme::selected()
            } else if p.connected {
                theme::ok()
            } else {
                theme::label()
            };
            put(buf, &mut y, &text, style, 2);
        }
        if let Some(why) = &self.problem {
            let text = t!(lang, "peers.replica_problem", why = why);
            put(buf, &mut y, &text, theme::warn(), 2);
        }
        // the screen's keys on the last row
        let hint = if self.newcomers.is_empty() {
            keys::hint_line(KEYS, lang, "  ", |_| true)
        } else {
            keys::hint_line(CONFIRM, lang, "  ", |_| true)
        };
        buf.set_stringn(area.x, last, fit(&hint, width), width, theme::hint());
        if let Some(pos) = cursor {
            frame.set_cursor_position(pos);
        }
    }
}

fn fit_width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn a_code_is_six_digits_and_enter_pairs_with_the_address_typed() {
        let mut p = PeersState::new();
        assert!(matches!(
            p.handle_key(key(KeyCode::Char('x'))),
            Outcome::Do(Action::Peers(PeersAction::BadCode))
        ));
        for c in "12345".chars() {
            p.handle_key(key(KeyCode::Char(c)));
        }
        assert!(matches!(
            p.handle_key(key(KeyCode::Enter)),
            Outcome::Do(Action::Peers(PeersAction::BadCode))
        ));
        p.handle_key(key(KeyCode::Char('6')));
        p.handle_key(key(KeyCode::Tab));
        for c in "10.0.0.2".chars() {
            p.handle_key(key(KeyCode::Char(c)));
        }
        match p.handle_key(key(KeyCode::Enter)) {
            Outcome::Do(Action::Peers(PeersAction::Pair { code, address })) => {
                assert_eq!(code, "123456");
                assert_eq!(address.as_deref(), Some("10.0.0.2"));
            }
            _ => panic!("Enter pairs"),
        }
        assert!(p.pairing);
        // a second Enter while it runs does nothing
        assert!(matches!(p.handle_key(key(KeyCode::Enter)), Outcome::Taken));
    }

    #[test]
    fn a_newcomer_is_confirmed_or_forgotten_before_anything_else() {
        let mut p = PeersState::new();
        p.admitted(vec!["2号电脑".into(), "3号电脑".into()]);
        // typing does not go into the code under the question
        assert!(matches!(
            p.handle_key(key(KeyCode::Char('1'))),
            Outcome::Taken
        ));
        assert!(p.code_input.is_empty());
        assert!(matches!(
            p.handle_key(key(KeyCode::Char('y'))),
            Outcome::Taken
        ));
        match p.handle_key(key(KeyCode::Char('n'))) {
            Outcome::Do(Action::Peers(PeersAction::Forget(n))) => assert_eq!(n, "3号电脑"),
            _ => panic!("N forgets the newcomer"),
        }
        assert!(p.newcomers.is_empty());
    }

    #[test]
    fn forgetting_takes_a_second_press() {
        let mut p = PeersState::new();
        p.list = vec![PeerStatus {
            name: "2号电脑".into(),
            key_id: "K7M2QX".into(),
            address: None,
            last_seen: None,
            held: 3,
            connected: false,
        }];
        let ctrl_d = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL);
        assert!(matches!(p.handle_key(ctrl_d), Outcome::Taken));
        assert_eq!(p.forget_asked.as_deref(), Some("2号电脑"));
        assert!(matches!(
            p.handle_key(ctrl_d),
            Outcome::Do(Action::Peers(PeersAction::Forget(_)))
        ));
    }

    #[test]
    fn every_text_of_its_lists_exists_in_both_languages() {
        keys::assert_strings_exist(KEYS);
        keys::assert_strings_exist(CONFIRM);
    }
}
