//! The one channel everything reports through: terminal input, worker results, commands
//! from other processes (the local socket).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

use crossterm::event::{self, Event};

use super::workers::WorkerMsg;

#[derive(Debug)]
pub enum AppEvent {
    Input(Event),
    Worker(WorkerMsg),
    /// A `booth` command run on this folder from another process, over the local socket
    /// (checked by the holder's thread: the passphrase proven, the booth not locked).
    Local(crate::local::holder::Job),
}

impl AppEvent {
    /// The import's next chunk (a frame is drawn after it).
    pub fn is_import_step(&self) -> bool {
        matches!(self, AppEvent::Worker(WorkerMsg::ImportStep))
    }
}

/// Reads terminal input on its own thread, so the UI thread only ever waits on the channel.
pub fn spawn_input_reader(tx: Sender<AppEvent>, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match event::poll(Duration::from_millis(100)) {
                    Ok(true) => match event::read() {
                        Ok(ev) => {
                            if tx.send(AppEvent::Input(ev)).is_err() {
                                break;
                            }
                        }
                        Err(_) => break,
                    },
                    Ok(false) => {}
                    Err(_) => break,
                }
            }
        })
        .expect("spawn input thread");
}
