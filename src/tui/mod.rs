//! The terminal UI (ratatui + crossterm): the booth day from the passphrase to the dashboard.
//!
//! - [`app`]: state, routing and `update`; [`action`]: what screens ask the app to do.
//! - [`screens`]: one module per screen (state, keys, render); [`view`]: the frame around them.
//! - [`keys`]: key bindings as typed lists, which also write the key hints and the help.
//! - [`event`]: the one channel (input, worker results); [`workers`]: threads off the key path.
//! - [`terminal`]: entering/leaving raw mode, restored on exit, error, panic and SIGTERM.

pub mod action;
pub mod app;
pub mod batch;
pub mod event;
pub mod import;
pub mod keys;
pub mod screens;
pub mod terminal;
pub mod theme;
pub mod view;
pub mod widgets;
pub mod workers;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use crate::i18n::Lang;
use app::{App, wall_clock};
use event::AppEvent;

/// Runs the UI until the operator quits. The terminal is restored whatever happens.
/// `lang_pinned`: the language was asked for on the command line, so it wins over the saved
/// setting for this session.
pub fn run(data_dir: PathBuf, lang: Lang, lang_pinned: bool) -> std::io::Result<()> {
    let terminated = terminal::termination_flag();
    let (mut term, _guard) = terminal::enter()?;
    let (tx, rx) = mpsc::channel::<AppEvent>();
    let stop_input = Arc::new(AtomicBool::new(false));
    event::spawn_input_reader(tx.clone(), Arc::clone(&stop_input));
    let mut app = App::new(data_dir, lang, tx, wall_clock());
    app.lang_pinned = lang_pinned;
    app.host_settings = Some(app::settings_from_env());
    let size = term.size()?;
    app.resized(size.width, size.height);

    let result = (|| -> std::io::Result<()> {
        loop {
            term.draw(|f| view::render(&app, f))?;
            match rx.recv_timeout(Duration::from_millis(250)) {
                Ok(ev) => {
                    // Everything already waiting (a card reader's burst) before the next
                    // frame; but a frame after each chunk of an import, which sends itself
                    // the next step (its progress shows, and an Esc is seen between chunks).
                    let mut step = ev.is_import_step();
                    app.handle_event(ev);
                    while !step && let Ok(ev) = rx.try_recv() {
                        step = ev.is_import_step();
                        app.handle_event(ev);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            app.tick();
            if app.quit || terminal::terminated(&terminated) {
                break;
            }
        }
        Ok(())
    })();
    stop_input.store(true, Ordering::Relaxed);
    app.shutdown();
    tracing::info!("terminal UI closed");
    result
}
