//! The peers screen's requests to the running peer service (SPEC §12): a new code, a
//! pairing (on a thread of its own: the other laptop may take seconds to answer), forgetting
//! a laptop; and the screen filled from the service every second while it is open.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{App, Screen, Tone};
use crate::i18n::Lang;
use crate::peers::Handle;
use crate::peers::pairing::PairError;
use crate::peers::service::{self, PairFailure};
use crate::t;
use crate::tui::action::PeersAction;
use crate::tui::event::AppEvent;
use crate::tui::screens::peers::ShownCode;
use crate::tui::workers::WorkerMsg;

impl App {
    fn peer_handle(&self) -> Option<Handle> {
        self.session.as_ref()?.host.peers()
    }

    /// The peers screen from the service and the store.
    pub(super) fn refresh_peers(&mut self) {
        self.last_peers = Instant::now();
        let handle = self.peer_handle();
        let Some(s) = &mut self.session else { return };
        let list = match service::status(&mut s.store) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "peers not read");
                Vec::new()
            }
        };
        let me = handle
            .as_ref()
            .map(|h| (h.name().to_string(), h.shown_address()));
        let code = handle.as_ref().and_then(|h| {
            let (digits, secs_left) = h.code_left()?;
            Some(ShownCode {
                digits,
                address: h.shown_address(),
                secs_left,
            })
        });
        let problem = handle.as_ref().and_then(Handle::replica_problem);
        self.peers.refreshed(me, code, list, problem);
    }

    /// Every tick: a laptop that paired with this one's code is asked about (wherever the
    /// operator is, the status line says so); the open screen is refreshed every second.
    pub(super) fn watch_peers(&mut self) {
        if self.screen == Screen::Locked {
            return;
        }
        if let Some(h) = self.peer_handle() {
            let names = h.take_admitted();
            if let Some(first) = names.first() {
                if self.screen != Screen::Peers {
                    let key = crate::tui::keys::label(crate::tui::keys::SESSION, |a| {
                        matches!(a, super::Action::Goto(Screen::Peers))
                    });
                    let text = t!(
                        self.lang,
                        "peers_screen.newcomer_elsewhere",
                        name = first,
                        key = key
                    );
                    self.say(text, Tone::Info);
                }
                self.peers.admitted(names);
            }
        }
        if self.screen == Screen::Peers && self.last_peers.elapsed() >= Duration::from_secs(1) {
            self.refresh_peers();
        }
    }

    pub(super) fn peers_action(&mut self, action: PeersAction) {
        let lang = self.lang;
        let handle = self.peer_handle();
        match action {
            PeersAction::BadCode => self.say(t!(lang, "peers.bad_code"), Tone::Bad),
            PeersAction::NewCode => match handle {
                Some(h) => {
                    if let Err(e) = h.new_code() {
                        self.say(e.to_string(), Tone::Bad);
                    }
                    self.refresh_peers();
                }
                None => self.say(t!(lang, "peers_screen.not_running"), Tone::Bad),
            },
            PeersAction::Forget(name) => {
                let result = match (&handle, &mut self.session) {
                    (Some(h), _) => h.forget(&name),
                    (None, Some(s)) => {
                        crate::store::peers::forget(s.store.peer_connection(), &name)
                    }
                    (None, None) => return,
                };
                let (text, ok) = match result {
                    Ok(0) => (t!(lang, "peers.no_such_peer", name = name), false),
                    Ok(_) => (t!(lang, "peers.forgotten", name = name), true),
                    Err(e) => (e.message(lang), false),
                };
                self.peers.result = Some((text, ok));
                self.refresh_peers();
            }
            PeersAction::Pair { code, address } => {
                let Some(h) = handle else {
                    let text = t!(lang, "peers_screen.not_running").to_string();
                    return self.peers.finished(text, false);
                };
                let events = self.events.clone();
                let spawned =
                    std::thread::Builder::new()
                        .name("peers-pair".into())
                        .spawn(move || {
                            let (text, ok) = match pair(&h, &code, address.as_deref(), lang) {
                                Ok(name) => (t!(lang, "peers.paired", name = name), true),
                                Err(why) => (why, false),
                            };
                            let _ =
                                events.send(AppEvent::Worker(WorkerMsg::PeersDone { text, ok }));
                        });
                if let Err(e) = spawned {
                    self.peers.finished(e.to_string(), false);
                }
            }
        }
    }
}

/// `HOST:PORT`, `HOST` (the usual port), or a name to look up.
fn address(text: &str, lang: Lang) -> Result<SocketAddr, String> {
    service::resolve_address(text).ok_or_else(|| t!(lang, "peers.bad_address", address = text))
}

/// Pairs at the address typed, or with the laptops discovery found until one shows the code.
fn pair(h: &Handle, code: &str, typed: Option<&str>, lang: Lang) -> Result<String, String> {
    let words = |e: PairFailure| match e {
        PairFailure::Pair(p) => crate::commands::peers::pair_message(&p, lang),
        PairFailure::Store(e) => e.message(lang),
    };
    if let Some(text) = typed {
        return h.pair(code, address(text, lang)?).map_err(words);
    }
    for addr in h.discovered(Duration::from_secs(3)) {
        match h.pair(code, addr) {
            Ok(name) => return Ok(name),
            Err(PairFailure::Pair(PairError::NoCode | PairError::Io(_))) => continue,
            Err(e) => return Err(words(e)),
        }
    }
    Err(t!(lang, "peers_screen.need_address").into())
}
