//! Colours and emphasis, in one place. Works on 16-colour terminals; meaning never rests on
//! colour alone (errors are also worded, the focus also has the cursor).

use ratatui::style::{Color, Modifier, Style};

pub fn title() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub fn label() -> Style {
    Style::new()
}

pub fn focused_label() -> Style {
    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
}

pub fn input() -> Style {
    Style::new().add_modifier(Modifier::UNDERLINED)
}

pub fn focused_input() -> Style {
    Style::new().fg(Color::Black).bg(Color::Gray)
}

pub fn error() -> Style {
    Style::new().fg(Color::LightRed)
}

pub fn warn() -> Style {
    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
}

pub fn ok() -> Style {
    Style::new().fg(Color::Green)
}

pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

pub fn hint() -> Style {
    Style::new().fg(Color::Cyan)
}

pub fn selected() -> Style {
    Style::new().fg(Color::Black).bg(Color::Yellow)
}

pub fn tab_active() -> Style {
    Style::new()
        .fg(Color::Black)
        .bg(Color::Cyan)
        .add_modifier(Modifier::BOLD)
}

pub fn status() -> Style {
    Style::new().fg(Color::White).bg(Color::Blue)
}

/// The QR code: black modules on white, whatever the terminal's own colours.
pub fn qr() -> Style {
    Style::new().fg(Color::Black).bg(Color::White)
}
