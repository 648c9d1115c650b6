//! The command line in the operator's language (SPEC §10): help, usage errors, shell
//! completions and manual pages, all from the one clap definition in [`crate::cli`].
//!
//! clap prints help while it parses, so the language must be known before parsing:
//! [`early_args`] picks `--lang` and `--data-dir` (or their environment variables) out of the
//! raw arguments, the caller resolves the language from them, and [`command`] gives the clap
//! tree dressed in that language. English texts are the doc comments of `src/cli.rs`; Chinese
//! ones are in `assets/i18n/cli.toml` ([`table`]); clap's own words (headings, `--help`,
//! `--version`, defaults) come from `strings.toml` ([`builtins`]); usage errors are rendered
//! here from clap's error kind and context ([`errors`]).

mod builtins;
pub mod docs;
pub mod errors;
pub mod table;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::Cli;
use crate::i18n::Lang;

/// What must be known before clap parses: the language flag and the data folder.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EarlyArgs {
    pub lang: Option<String>,
    pub data_dir: Option<PathBuf>,
}

/// `--lang`/`--data-dir` from the arguments (the last one given wins, as with clap), else
/// `BOOTH_LANG`/`BOOTH_DATA_DIR`. Stops at `--`; a malformed command line still gets a
/// language, so that its error can be shown in it.
pub fn early_args<I>(args: I, env: impl Fn(&str) -> Option<OsString>) -> EarlyArgs
where
    I: IntoIterator<Item = OsString>,
{
    let mut found = EarlyArgs::default();
    let mut args = args.into_iter().skip(1);
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else { continue };
        if text == "--" {
            break;
        }
        for (flag, is_lang) in [("--lang", true), ("--data-dir", false)] {
            let value = if text == flag {
                args.next()
            } else {
                text.strip_prefix(flag)
                    .and_then(|rest| rest.strip_prefix('='))
                    .map(OsString::from)
            };
            match value {
                Some(v) if is_lang => found.lang = Some(v.to_string_lossy().into_owned()),
                Some(v) => found.data_dir = Some(PathBuf::from(v)),
                None => {}
            }
        }
    }
    let non_empty = |name: &str| env(name).filter(|v| !v.is_empty());
    if found.lang.is_none() {
        found.lang = non_empty("BOOTH_LANG").map(|v| v.to_string_lossy().into_owned());
    }
    if found.data_dir.is_none() {
        found.data_dir = non_empty("BOOTH_DATA_DIR").map(PathBuf::from);
    }
    found
}

/// The whole command tree in `lang`, built (clap's `--help`, `--version` and `help` commands
/// included and dressed too).
pub fn command(lang: Lang) -> clap::Command {
    let mut cmd = table::apply(Cli::command(), lang);
    cmd.build();
    builtins::apply(cmd, lang)
}

/// Parses the command line with help and errors in `lang`. For a script (`--json`), a
/// command given without its subcommand is an error, never a help page in place of one.
pub fn parse<I>(lang: Lang, args: I, scripted: bool) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = OsString>,
{
    let mut cmd = command(lang);
    if scripted {
        cmd = no_help_in_place_of_errors(cmd);
    }
    let matches = cmd.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches(&matches).map_err(|e| e.with_cmd(&cmd))
}

fn no_help_in_place_of_errors(mut cmd: clap::Command) -> clap::Command {
    cmd = cmd.arg_required_else_help(false);
    for sub in cmd.get_subcommands_mut() {
        *sub = no_help_in_place_of_errors(std::mem::take(sub));
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    #[test]
    fn early_args_finds_both_spellings_anywhere_before_double_dash() {
        let e = early_args(
            os(&[
                "booth",
                "register",
                "--lang",
                "en",
                "--data-dir=/x",
                "--name",
            ]),
            no_env,
        );
        assert_eq!(e.lang.as_deref(), Some("en"));
        assert_eq!(e.data_dir, Some(PathBuf::from("/x")));
        let e = early_args(os(&["booth", "--", "--lang", "en"]), no_env);
        assert_eq!(e, EarlyArgs::default());
        let e = early_args(os(&["booth", "--lang=zh", "--lang", "en"]), no_env);
        assert_eq!(e.lang.as_deref(), Some("en"));
    }

    #[test]
    fn early_args_falls_back_to_the_environment() {
        let env = |k: &str| match k {
            "BOOTH_LANG" => Some(OsString::from("en")),
            "BOOTH_DATA_DIR" => Some(OsString::from("")),
            _ => None,
        };
        let e = early_args(os(&["booth", "stats"]), env);
        assert_eq!(e.lang.as_deref(), Some("en"));
        assert_eq!(e.data_dir, None);
        let e = early_args(os(&["booth", "--lang", "zh-CN"]), env);
        assert_eq!(e.lang.as_deref(), Some("zh-CN"));
    }

    #[test]
    fn a_built_tree_still_parses() {
        for lang in Lang::ALL {
            let cli = parse(
                lang,
                os(&["booth", "--json", "stats", "--date", "2024-05-01"]),
                true,
            )
            .expect("parses");
            assert!(cli.json);
            let help = parse(lang, os(&["booth", "help", "server", "run"]), false).unwrap_err();
            assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
            let bare = parse(lang, os(&["booth", "server"]), false).unwrap_err();
            assert_eq!(
                bare.kind(),
                clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            );
            let bare = parse(lang, os(&["booth", "server"]), true).unwrap_err();
            assert_eq!(bare.kind(), clap::error::ErrorKind::MissingSubcommand);
        }
    }
}
