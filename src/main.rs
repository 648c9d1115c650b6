//! `booth`: parse the command line, protect the process, set up logging, dispatch.

use std::io::Write;
use std::process::ExitCode;

use booth::cli::Command;
use booth::commands::{self, CliError, Ctx, default_data_dir};
use booth::{cli_help, hardening, logging};

fn main() -> ExitCode {
    hardening::protect_process();
    let passphrase = hardening::take_passphrase_from_env();
    // clap prints help while it parses: the language is needed first
    let early = cli_help::early_args(std::env::args_os(), |k| std::env::var_os(k));
    let early_lang = Ctx::resolve_lang(
        early.lang.as_deref(),
        &early.data_dir.unwrap_or_else(default_data_dir),
    );
    let wants_json = std::env::args_os().any(|a| a == "--json");
    let cli = match cli_help::parse(early_lang, std::env::args_os(), wants_json) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e, early_lang, wants_json),
    };
    let data_dir = cli.data_dir.clone().unwrap_or_else(default_data_dir);
    let lang = Ctx::resolve_lang(cli.lang.as_deref(), &data_dir);
    let ctx = Ctx {
        data_dir,
        json: cli.json,
        lang,
        passphrase,
    };

    let is_server = matches!(cli.command, Some(Command::Server { .. }));
    let needs_no_folder = matches!(
        cli.command,
        Some(Command::Completions { .. } | Command::Man { .. })
    );
    let _guard = if is_server {
        logging::to_stderr_json();
        None
    } else if needs_no_folder {
        None
    } else {
        logging::to_data_folder(&ctx.data_dir)
    };

    // a running booth holds the folder: the command runs through it (SPEC §12)
    if let Some(code) = commands::peers::through_holder(&cli, &ctx) {
        return ExitCode::from(code);
    }
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

/// A command line clap refuses, in the language resolved before parsing. Scripts that asked
/// for `--json` get the same object as any other failure (`"error": "usage"`) on stdout; help
/// and version print as usual.
fn usage_error(e: clap::Error, lang: booth::i18n::Lang, wants_json: bool) -> ExitCode {
    use clap::error::ErrorKind;
    // `booth server` alone shows people its help (on stderr, exit 2)
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let usage = cli_help::errors::render(&e, lang);
    let mut err = CliError::new("usage", usage.reason);
    err.exit = 2;
    if wants_json {
        err.report(true);
    } else {
        let text: Vec<_> = usage
            .text
            .lines()
            .map(booth::member::text::display_safe)
            .collect();
        // a closed stderr is no reason to panic
        let _ = writeln!(std::io::stderr(), "{}", text.join("\n"));
    }
    ExitCode::from(err.exit)
}
