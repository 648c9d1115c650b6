//! clap's own words in the operator's language, laid over a built tree: the headings ("Usage:",
//! "Options:", "Arguments:", "Commands:"), `-h/--help`, `-V/--version`, the `help` command, and
//! the `[default: …]`, `[env: …]` and `[possible values: …]` notes (moved into the help text,
//! where the manual page finds them too).

use clap::builder::StyledStr;
use clap::{Arg, ArgAction, Command};

use crate::i18n::Lang;
use crate::t;

/// Dresses `cmd` and every command below it. `cmd` must be built, or clap's flags and `help`
/// commands are not there yet.
pub fn apply(mut cmd: Command, lang: Lang) -> Command {
    let usage = cmd.get_styles().get_usage();
    let template = format!(
        "{{before-help}}{{about-with-newline}}\n{}{}:{} {{usage}}\n\n{{all-args}}{{after-help}}",
        usage.render(),
        t!(lang, "cli.help.usage"),
        usage.render_reset()
    );
    cmd = cmd
        .help_template(StyledStr::from(template))
        .subcommand_help_heading(t!(lang, "cli.help.commands"))
        .mut_args(|arg| dress_arg(arg, lang));
    if cmd.get_name() == "help" {
        cmd = cmd.about(t!(lang, "cli.help.help_command"));
    }
    for sub in cmd.get_subcommands_mut() {
        *sub = apply(std::mem::take(sub), lang);
    }
    cmd
}

/// Past any command's own arguments.
const GLOBALS_AFTER: usize = 1000;

fn dress_arg(mut arg: Arg, lang: Lang) -> Arg {
    match arg.get_action() {
        ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong => {
            arg = if arg.get_long_help().is_some() {
                arg.help(t!(lang, "cli.help.help_flag_more"))
                    .long_help(t!(lang, "cli.help.help_flag_summary"))
            } else {
                arg.help(t!(lang, "cli.help.help_flag"))
            };
        }
        ArgAction::Version => arg = arg.help(t!(lang, "cli.help.version_flag")),
        _ => {}
    }
    if matches!(
        arg.get_action(),
        ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong | ArgAction::Version
    ) {
        arg = arg.display_order(2 * GLOBALS_AFTER);
    }
    if arg.get_help_heading().is_none() {
        let heading = if arg.is_positional() {
            t!(lang, "cli.help.arguments")
        } else {
            t!(lang, "cli.help.options")
        };
        arg = arg.help_heading(heading);
    }
    // a command's own arguments first, the ones every command takes after them
    if arg.is_global_set() {
        let order = arg.get_display_order();
        arg = arg.display_order(GLOBALS_AFTER + order);
    }
    let notes = notes(&arg, lang);
    let arg = arg
        .hide_default_value(true)
        .hide_env(true)
        .hide_possible_values(true);
    if notes.is_empty() {
        return arg;
    }
    let with_notes = |text: Option<&StyledStr>| match text.map(|t| t.to_string()) {
        Some(t) if !t.is_empty() => format!("{t} {notes}"),
        _ => notes.clone(),
    };
    let help = with_notes(arg.get_help());
    let long = arg.get_long_help().map(|l| with_notes(Some(l)));
    let arg = match long {
        Some(long) => arg.long_help(long),
        None => arg,
    };
    arg.help(help)
}

/// The notes clap would print after an argument's help, in `lang`. An empty default (an
/// optional field left blank) says nothing, and an environment variable's value is never
/// shown: it may hold a database password.
fn notes(arg: &Arg, lang: Lang) -> String {
    let mut notes = Vec::new();
    if !arg.is_hide_possible_values_set() && takes_values(arg) {
        let names: Vec<_> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .collect();
        if !names.is_empty() {
            notes.push(t!(
                lang,
                "cli.help.possible_values",
                list = names.join(", ")
            ));
        }
    }
    if !arg.is_hide_default_value_set() && takes_values(arg) {
        let defaults: Vec<_> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy())
            .filter(|v| !v.is_empty())
            .collect();
        if !defaults.is_empty() {
            notes.push(t!(lang, "cli.help.default", value = defaults.join(" ")));
        }
    }
    if !arg.is_hide_env_set()
        && let Some(env) = arg.get_env()
    {
        notes.push(t!(lang, "cli.help.env", name = env.to_string_lossy()));
    }
    notes.join(" ")
}

/// Flags take none; clap knows once the tree is built.
fn takes_values(arg: &Arg) -> bool {
    arg.get_num_args().is_some_and(|n| n.takes_values())
}
