//! What the booth hosts while it holds the data folder (SPEC §12): the local socket, through
//! which every other `booth` command on the folder runs (`register`, `upload`, `peers …`),
//! and the peer service (discovery, replication to the paired laptops, the same-person
//! marks) — as `booth peers run` does without a screen.
//!
//! A command from the socket arrives as [`AppEvent::Local`] on the app's one channel. It runs
//! on a thread of its own with a share of the app's store (an upload or an import run so
//! must not freeze the booth's screen, gitui's rule for background work); when it is done
//! the loop refreshes what the screen shows from the store.

use std::net::SocketAddr;

use super::{App, Screen, Tone};
use crate::local::Reply;
use crate::local::holder::{Holder, Job, refusal};
use crate::peers::{Handle, Service, Settings};
use crate::t;
use crate::tui::event::AppEvent;
use crate::tui::workers::WorkerMsg;

/// The socket and the peer service, while the folder is open. Dropping it closes both.
#[derive(Default)]
pub struct Host {
    holder: Option<Holder>,
    peers: Option<Service>,
}

impl Host {
    /// Locked: every command from the socket is refused (F10, the idle lock).
    pub fn set_locked(&self, locked: bool) {
        if let Some(h) = &self.holder {
            h.set_locked(locked);
        }
    }

    /// The running peer service, if it started.
    pub fn peers(&self) -> Option<Handle> {
        self.peers.as_ref().map(Service::handle)
    }
}

/// How the booth's peer service runs: `BOOTH_PEERS_LISTEN` (`ADDR:PORT`, default
/// `0.0.0.0:47410`) and `BOOTH_PEERS_DISCOVERY=off` (no mDNS or broadcast), as `booth peers
/// run --listen … --no-discovery` take them.
pub fn settings_from_env() -> Settings {
    let mut s = Settings::default();
    if let Some(addr) = std::env::var("BOOTH_PEERS_LISTEN")
        .ok()
        .and_then(|a| a.parse::<SocketAddr>().ok())
    {
        s.listen = addr;
    }
    if std::env::var("BOOTH_PEERS_DISCOVERY").is_ok_and(|v| v == "off" || v == "0") {
        s.discovery = false;
    }
    s
}

impl App {
    /// Opens the local socket and starts the peer service on the folder just unlocked (when
    /// this app hosts them: the real booth, not a headless test).
    pub(super) fn start_host(&mut self) {
        let Some(settings) = self.host_settings.clone() else {
            return;
        };
        let lang = self.lang;
        let events = self.events.clone();
        let Some(s) = &mut self.session else { return };
        let mut problems = Vec::new();
        match Service::start(&s.store, &settings) {
            Ok(service) => s.host.peers = Some(service),
            Err(e) => {
                tracing::warn!(error = %e, "peer service not started");
                problems.push(t!(lang, "peers.cannot_start", why = e));
            }
        }
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        match Holder::start(s.store.dir(), s.store.local_socket_key(), tx) {
            Ok(holder) => {
                s.host.holder = Some(holder);
                // the holder's jobs onto the app's one channel
                let _ = std::thread::Builder::new()
                    .name("local-jobs".into())
                    .spawn(move || {
                        for job in rx {
                            if let Err(e) = events.send(AppEvent::Local(job)) {
                                let AppEvent::Local(job) = e.0 else { break };
                                let reply = refusal(
                                    &job.request,
                                    "in_use",
                                    t!(lang, "local.closing").into(),
                                );
                                job.answer(reply);
                                break;
                            }
                        }
                    });
            }
            Err(e) => {
                tracing::warn!(error = %e, "local socket not opened");
                problems.push(t!(lang, "local.cannot_open", why = e));
            }
        }
        if !problems.is_empty() {
            self.say(problems.join(" "), Tone::Bad);
        }
    }

    /// A command from another process: run beside the loop with a share of the store.
    pub(super) fn local_job(&mut self, job: Job) {
        let lang = local_lang(&job).unwrap_or(self.lang);
        let Some(s) = &self.session else {
            let reply = refusal(&job.request, "in_use", t!(lang, "local.closing").into());
            return job.answer(reply);
        };
        // the lock may have come between the holder's check and here
        if self.screen == Screen::Locked {
            let reply = refusal(&job.request, "locked", t!(lang, "local.locked").into());
            return job.answer(reply);
        }
        let mine = match s.store.share() {
            Ok(m) => m,
            Err(e) => {
                return job.answer(Reply {
                    exit: 1,
                    stdout: String::new(),
                    stderr: format!("booth: {}", e.message(lang)),
                });
            }
        };
        let events = self.events.clone();
        let spawned = std::thread::Builder::new()
            .name("local-command".into())
            .spawn(move || {
                let reply = crate::commands::peers::run_request(&mine, &job.request);
                job.answer(reply);
                let _ = events.send(AppEvent::Worker(WorkerMsg::LocalRan));
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "local command not run");
        }
    }

    /// After a command from another process: the screen shows what the store now holds.
    pub(super) fn local_ran(&mut self) {
        if let Some(s) = &mut self.session
            && let Ok(c) = s.store.config()
        {
            s.config = c;
        }
        self.refresh_counts();
        self.load_employers();
        self.look_up_person();
        match self.screen {
            Screen::Records => {
                self.load_conflicts();
                let req = self.records.refresh();
                self.update(super::Action::Search(req));
            }
            Screen::Dashboard => self.request_figures(),
            Screen::Upload if !self.upload.running => self.refresh_upload(),
            _ => {}
        }
    }
}

fn local_lang(job: &Job) -> Option<crate::i18n::Lang> {
    crate::i18n::Lang::parse(&job.request.lang)
}
