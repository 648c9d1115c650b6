//! Widgets shared by screens.

pub mod input;
