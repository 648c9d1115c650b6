//! The command-line subcommands: each parses nothing (clap did), opens what it needs, calls the
//! domain modules, and prints a human line or JSON. Errors become one line on stderr (and a
//! JSON object on stdout with `--json`) with a non-zero exit status. One file per group of
//! subcommands, named for what it runs; the rules they follow live in the domain modules.

mod card;
mod card_sheets;
mod docs;
mod import;
pub mod peers;
mod records;
mod server;
pub mod setup;
mod upload;
mod verify;

use std::io::IsTerminal;

use serde_json::{Value, json};

use crate::cli::{Cli, Command, KeysAction};
use crate::i18n::Lang;
use crate::member::FieldError;
use crate::store::StoreError;

pub use setup::{Ctx, default_data_dir};

/// A failed command: a stable code for scripts, a message for people, optional JSON details.
#[derive(Debug)]
pub struct CliError {
    pub code: &'static str,
    pub message: String,
    pub details: Value,
    pub exit: u8,
}

impl CliError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
            details: Value::Null,
            exit: 1,
        }
    }

    pub fn with(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn store(e: StoreError, ctx: &Ctx) -> Self {
        let lang = ctx.lang;
        let e = e.diagnose(&ctx.data_dir);
        let code = match &e {
            StoreError::InUse(_) => "in_use",
            StoreError::WrongPassphrase => "wrong_passphrase",
            StoreError::DiskFull => "disk_full",
            StoreError::NotFound => "not_found",
            _ => "store",
        };
        CliError::new(code, e.message(lang))
    }

    pub fn invalid(errors: &[FieldError], lang: Lang) -> Self {
        let sep = match lang {
            Lang::Zh => "；",
            Lang::En => "; ",
        };
        let message = errors
            .iter()
            .map(|e| e.message(lang))
            .collect::<Vec<_>>()
            .join(sep);
        CliError::new("invalid", message).with(json!({
            "errors": errors.iter().map(|e| e.to_json(lang)).collect::<Vec<_>>()
        }))
    }

    /// Prints the error: one line on stderr; with `--json`, also an object on stdout.
    pub fn report(&self, json_out: bool) {
        let (stderr, stdout) = self.render(json_out);
        emit(&mut std::io::stderr(), &stderr);
        if let Some(stdout) = stdout {
            emit(&mut std::io::stdout(), &stdout);
        }
    }

    /// What [`CliError::report`] prints: the stderr line, and the stdout object with `--json`
    /// (the local socket sends both back to the client).
    pub fn render(&self, json_out: bool) -> (String, Option<String>) {
        // One line, whatever the message holds.
        let line = crate::member::text::display_safe(&self.message.replace(['\n', '\r'], " "))
            .into_owned();
        let stderr = format!("booth: {line}");
        if !json_out {
            return (stderr, None);
        }
        let mut obj = json!({ "ok": false, "error": self.code, "message": line });
        if let (Value::Object(o), Value::Object(d)) = (&mut obj, &self.details) {
            for (k, v) in d {
                o.insert(k.clone(), v.clone());
            }
        }
        let text = serde_json::to_string_pretty(&obj).unwrap_or_default();
        (
            stderr,
            Some(crate::member::text::json_escape_hazards(&text).into_owned()),
        )
    }
}

/// What a successful command prints: a line (or lines) for people, an object for `--json`.
pub struct Output {
    pub human: String,
    pub json: Value,
}

impl Output {
    /// Consumes the output: a whole import's report is not copied to be printed.
    pub fn print(self, json_out: bool) {
        if let Some(text) = self.render(json_out) {
            emit(&mut std::io::stdout(), &text);
        }
    }

    /// What [`Output::print`] prints (`None`: nothing at all).
    pub fn render(self, json_out: bool) -> Option<String> {
        // Nothing at all: the command's output was the data itself (`export --out -`).
        if self.human.is_empty() && self.json.is_null() {
            return None;
        }
        if json_out {
            let mut v = self.json;
            if let Value::Object(o) = &mut v {
                o.insert("ok".into(), Value::Bool(true));
            }
            let text = serde_json::to_string_pretty(&v).unwrap_or_default();
            Some(crate::member::text::json_escape_hazards(&text).into_owned())
        } else if !self.human.is_empty() {
            // line breaks are the output's own; anything else unprintable is replaced
            let safe: Vec<_> = self
                .human
                .split('\n')
                .map(crate::member::text::display_safe)
                .collect();
            Some(safe.join("\n"))
        } else {
            None
        }
    }
}

/// Writes a line, ignoring a reader that has gone away (`booth export … | head`): the work is
/// done and stored by now, and `println!` would panic on the closed pipe.
fn emit(out: &mut impl std::io::Write, text: &str) {
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// Runs a subcommand. (No subcommand, the TUI, is started by `main`.)
pub fn run(cli: &Cli, ctx: &Ctx) -> Result<Output, CliError> {
    let Some(command) = &cli.command else {
        return Err(CliError::new("usage", "no command"));
    };
    match command {
        Command::Register(args) => records::register(ctx, args),
        Command::Consult { undo, needs } => records::consult(ctx, *undo, needs.as_deref()),
        Command::Import {
            file,
            sheet,
            dry_run,
            consent,
        } => import::import(ctx, file, sheet.as_deref(), *dry_run, *consent),
        Command::Export { format, out, state } => records::export(ctx, format, out, state),
        Command::Stats { date } => records::stats(ctx, date.as_deref()),
        Command::Config { action } => setup::config(ctx, action),
        Command::Void { member_no, reason } => records::void(ctx, member_no, reason),
        Command::Keys {
            action: KeysAction::Export,
        } => setup::keys_export(ctx),
        Command::Keys {
            action: KeysAction::Regenerate,
        } => setup::keys_regenerate(ctx),
        Command::Verify {
            payload,
            keys,
            bundle,
            office_key,
        } => verify::verify(
            ctx,
            payload,
            &verify::VerifyArgs {
                keys: keys.as_ref(),
                bundle: bundle.as_deref(),
                office_key: office_key.as_deref(),
            },
        ),
        Command::Enroll { code, server } => setup::enroll(ctx, code, server.as_deref()),
        Command::Card(args) => card::card(ctx, args),
        Command::Cards(args) => card_sheets::cards(ctx, args),
        Command::Print { member_no, printer } => card::print(ctx, member_no, printer.as_deref()),
        Command::Upload {
            server,
            token,
            ca,
            batch,
            give_up_after,
            allow_http,
        } => upload::upload(
            ctx,
            &upload::UploadArgs {
                server: server.clone(),
                token: token.clone(),
                ca: ca.clone(),
                batch: *batch,
                give_up_after: *give_up_after,
                allow_http: *allow_http,
            },
        ),
        Command::Purge => upload::purge(ctx),
        Command::Peers { action } => peers::peers(ctx, action),
        Command::Backup { out } => peers::backup(ctx, out),
        Command::Server { action } => server::server(ctx, action),
        Command::Completions { shell } => docs::completions(ctx, *shell),
        Command::Man { out } => docs::man(ctx, out.as_deref()),
    }
}

/// True when a progress bar makes sense (a person is watching stderr; never for a command
/// run for the local socket, whose stderr is the holder's).
pub fn interactive_stderr() -> bool {
    std::io::stderr().is_terminal() && !peers::serving()
}
