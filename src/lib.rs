//! booth: union membership registration at worker communication meeting booths.
//!
//! Modules by domain; each says what it may touch:
//! - [`member`]: the record and its validation (pure; no I/O).
//! - [`i18n`]: every user-visible string in zh-CN and en.
//! - [`protocol`]: the upload protocol's wire types; [`sync`]: the laptop's upload client;
//!   [`server`]: the union office's ingest server.

pub mod card;
pub mod cli;
pub mod commands;
pub mod config;
pub mod export;
pub mod hardening;
pub mod i18n;
pub mod logging;
pub mod member;
pub mod printer;
pub mod protocol;
pub mod roster;
pub mod server;
pub mod slip;
pub mod sync;
pub mod tls;

pub mod store;
pub mod tui;
