//! Entering and leaving the terminal UI. The terminal is restored on every way out: normal
//! exit, error return (the guard's `Drop`), panic (the hook, installed before the first
//! frame), and SIGTERM/SIGHUP (a flag the event loop checks).

use std::io::{self, Stdout, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::terminal::{self, EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Puts the terminal back as it was. Safe to call more than once.
pub fn restore() {
    let _ = terminal::disable_raw_mode();
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = out.flush();
}

/// Restores the terminal when dropped: covers `?` and early returns.
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Raw mode, alternate screen, bracketed paste (a pasted name arrives as one event, not as
/// keystrokes that could trigger shortcuts), and a panic hook that restores first.
pub fn enter() -> io::Result<(Term, Guard)> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    terminal::enable_raw_mode()?;
    let guard = Guard;
    let mut out = io::stdout();
    // Cleared: a run killed before (SIGKILL) left its last screen in the alternate screen,
    // and frames draw only what changes. (Not ratatui's `clear`, which asks the terminal
    // where the cursor is: some terminals never answer.)
    execute!(
        out,
        EnterAlternateScreen,
        terminal::Clear(terminal::ClearType::All),
        EnableBracketedPaste
    )?;
    let term = Terminal::new(CrosstermBackend::new(out))?;
    Ok((term, guard))
}

/// Set when SIGTERM or SIGHUP arrives (a closed terminal window, a shutdown): the event loop
/// saves and leaves cleanly instead of dying with the terminal in raw mode.
pub fn termination_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    #[cfg(unix)]
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
    }
    flag
}

pub fn terminated(flag: &AtomicBool) -> bool {
    flag.load(Ordering::Relaxed)
}
