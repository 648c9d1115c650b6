//! `booth`: parse the command line, protect the process, set up logging, dispatch.

use std::process::ExitCode;

use clap::Parser;

use booth::cli::Cli;
use booth::commands::{self, CliError, Ctx, default_data_dir};
use booth::{hardening, logging};

fn main() -> ExitCode {
    hardening::protect_process();
    let passphrase = hardening::take_passphrase_from_env();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let data_dir = cli.data_dir.clone().unwrap_or_else(default_data_dir);
    let lang = Ctx::resolve_lang(cli.lang.as_deref(), &data_dir);
    let ctx = Ctx {
        data_dir,
        json: cli.json,
        lang,
        passphrase,
    };

    let is_server = matches!(cli.command, Some(booth::cli::Command::Server { .. }));
    let _guard = if is_server {
        logging::to_stderr_json();
        None
    } else {
        logging::to_data_folder(&ctx.data_dir)
    };

    if cli.command.is_none() {
        return match booth::tui::run(ctx.data_dir.clone(), ctx.lang, cli.lang.is_some()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "terminal UI failed");
                eprintln!(
                    "booth: {}",
                    booth::t!(ctx.lang, "ui.terminal_error", why = e)
                );
                ExitCode::from(1)
            }
        };
    }
    match commands::run(&cli, &ctx) {
        Ok(out) => {
            out.print(ctx.json);
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::warn!(code = e.code, "command failed");
            e.report(ctx.json);
            ExitCode::from(e.exit)
        }
    }
}

/// A command line clap refuses. Scripts that asked for `--json` get the same object as any
/// other failure (`"error": "usage"`) on stdout; help and version print as usual.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let wants_json = std::env::args_os().any(|a| a == "--json");
    if !wants_json || matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit();
    }
    let text = e.render().to_string();
    // clap's message up to its usage block, on one line
    let reason = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let reason = reason.trim_start_matches("error: ");
    let mut err = CliError::new("usage", reason);
    err.exit = 2;
    err.report(true);
    ExitCode::from(err.exit)
}
