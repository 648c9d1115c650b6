//! booth: union membership registration at worker communication meeting booths.
//!
//! Modules by domain. Dependencies flow one way, from the bottom up:
//! `member ← card ← config ← store ← (slip, printer, export, roster) ← (sync, server) ←
//! (tui, commands)`; the cross-cutting helpers (`i18n`, `protocol`, `tls`, `logging`,
//! `hardening`) name none of the domain modules above `member`/`card`.
//!
//! - [`member`]: the record, normalisation and validation, record states; pure, no I/O. Uses `i18n`.
//! - [`card`]: member numbers, device key, signed QR payload, QR matrix. Uses `member`.
//! - [`config`]: the laptop's settings as a typed value, one validator per key. Uses `card`, `member`.
//! - [`store`]: the encrypted SQLite store, its folder (slips, logs), queue, figures. Uses the above.
//! - [`slip`]: the slip's text and its PNG, SVG, ESC/POS and terminal renderers; PDF card sheets;
//!   fonts and line breaking; which records a batch of cards takes. Uses `store` and below.
//! - [`printer`]: device path, raw TCP 9100 and CUPS transports; print jobs; batch runs. Uses `slip` and below.
//! - [`export`]: xlsx / CSV / JSON files of records, from the store or the office's rows. Uses `store`.
//! - [`roster`]: reading offices' staff spreadsheets for import. Uses `member`.
//! - [`sync`]: the laptop's upload client. Uses `protocol`, `tls`, `store` and below; never `server`.
//! - [`server`]: the office's ingest server and its databases. Uses `protocol`, `tls`, `export`,
//!   `card`, `member`; never `store`, `sync`, `tui` or `commands`.
//! - [`tui`]: the terminal UI: app, screens, workers. May use everything below it.
//! - [`commands`]: one module per group of subcommands (SPEC §6). May use everything below it.
//! - [`cli`]: the clap definitions of the command line; [`cli_help`]: that command line's help,
//!   usage errors, completions and manual pages in the operator's language; [`i18n`]: every
//!   string in zh-CN and en;
//!   [`protocol`]: the upload wire types; [`tls`]: the TLS set-up client and server share;
//!   [`logging`]: log files; [`hardening`]: process protections.

pub mod card;
pub mod cli;
pub mod cli_help;
pub mod commands;
pub mod config;
pub mod export;
pub mod hardening;
pub mod i18n;
pub mod local;
pub mod logging;
pub mod member;
pub mod peers;
pub mod printer;
pub mod protocol;
pub mod roster;
pub mod server;
pub mod slip;
pub mod store;
pub mod sync;
pub mod tls;
pub mod tui;
