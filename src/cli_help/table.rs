//! The Chinese texts of every command and argument, `assets/i18n/cli.toml`, laid over the
//! English doc comments of `src/cli.rs` before clap builds the tree.
//!
//! Keys are command paths (`"booth"`, `"booth server run"`) and, under `.args`, clap's argument
//! ids (the field names: `id_number`, `give_up_after`). [`missing`] lists what the table lacks,
//! so a test can name every command or argument added without its translation.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use clap::{Arg, Command};
use serde::Deserialize;

use crate::i18n::Lang;

const CLI_TOML: &str = include_str!("../../assets/i18n/cli.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandText {
    about: Option<String>,
    long_about: Option<String>,
    #[serde(default)]
    args: BTreeMap<String, ArgText>,
}

/// An argument's help: one line, or a short and a long form (the long one for `--help` and the
/// manual) when the English has both.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ArgText {
    Short(String),
    Full { help: String, long: Option<String> },
}

impl ArgText {
    fn help(&self) -> &str {
        match self {
            ArgText::Short(h) | ArgText::Full { help: h, .. } => h,
        }
    }

    fn long(&self) -> Option<&str> {
        match self {
            ArgText::Short(_) => None,
            ArgText::Full { long, .. } => long.as_deref(),
        }
    }
}

type Table = BTreeMap<String, CommandText>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    // A test parses the same text, so a broken table never ships; an empty one is the fallback.
    TABLE.get_or_init(|| toml::from_str(CLI_TOML).unwrap_or_default())
}

/// The tree with every command's and argument's text in `lang` (English is the source).
pub fn apply(cmd: Command, lang: Lang) -> Command {
    match lang {
        Lang::En => cmd,
        Lang::Zh => {
            let path = cmd.get_name().to_string();
            dress(cmd, &path, table())
        }
    }
}

fn dress(mut cmd: Command, path: &str, table: &Table) -> Command {
    if cmd.is_hide_set() {
        return cmd;
    }
    if let Some(text) = table.get(path) {
        if let Some(about) = &text.about {
            cmd = cmd.about(about.clone());
        }
        // Without its own long form the short one serves: never an English long form.
        cmd = match &text.long_about {
            Some(long) => cmd.long_about(long.clone()),
            None => cmd.long_about(None::<&'static str>),
        };
        cmd = cmd.mut_args(|arg| match text.args.get(arg.get_id().as_str()) {
            Some(t) => {
                let arg = arg.help(t.help().to_string());
                match t.long() {
                    Some(long) => arg.long_help(long.to_string()),
                    None => arg.long_help(None::<&'static str>),
                }
            }
            None => arg,
        });
    }
    for sub in cmd.get_subcommands_mut() {
        let sub_path = format!("{path} {}", sub.get_name());
        *sub = dress(std::mem::take(sub), &sub_path, table);
    }
    cmd
}

/// One thing a language lacks: where, what, and the English to translate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub command: String,
    /// `about`, `long_about`, or `args.ID` (`args.ID.long` for the long form).
    pub what: String,
    pub english: String,
}

/// Every visible command and argument of `cmd` (unbuilt: clap's own flags are not ours) whose
/// Chinese text the table lacks, and those without any English help either (English ""), in
/// tree order.
pub fn missing(cmd: &Command) -> Vec<Missing> {
    let table: Table = toml::from_str(CLI_TOML).unwrap_or_else(|e| panic!("cli.toml: {e}"));
    let mut out = Vec::new();
    walk_missing(cmd, cmd.get_name(), &table, &mut out);
    out
}

fn walk_missing(cmd: &Command, path: &str, table: &Table, out: &mut Vec<Missing>) {
    if cmd.is_hide_set() {
        return;
    }
    let text = table.get(path);
    let mut lack = |what: String, english: String| {
        out.push(Missing {
            command: path.to_string(),
            what,
            english,
        })
    };
    let about = cmd.get_about().map(|s| s.to_string()).unwrap_or_default();
    if about.is_empty() || text.and_then(|t| t.about.as_ref()).is_none() {
        lack("about".into(), about);
    }
    if let Some(long) = cmd.get_long_about()
        && text.and_then(|t| t.long_about.as_ref()).is_none()
    {
        lack("long_about".into(), long.to_string());
    }
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let id = arg.get_id().as_str();
        let english = arg_help(arg);
        let zh = text.and_then(|t| t.args.get(id));
        if english.is_empty() || zh.is_none() {
            lack(format!("args.{id}"), english);
        }
        if let Some(long) = arg.get_long_help()
            && zh.and_then(ArgText::long).is_none()
        {
            lack(format!("args.{id}.long"), long.to_string());
        }
    }
    for sub in cmd.get_subcommands() {
        walk_missing(sub, &format!("{path} {}", sub.get_name()), table, out);
    }
}

fn arg_help(arg: &Arg) -> String {
    arg.get_help().map(|s| s.to_string()).unwrap_or_default()
}

/// What to add to `cli.toml` for `missing`, as TOML to fill in (English in comments; merge
/// into a table that already exists).
pub fn skeleton(missing: &[Missing]) -> String {
    let mut out = String::new();
    let mut last = String::new();
    for m in missing {
        let (table, key) = match m.what.strip_prefix("args.") {
            Some(arg) => (format!("[\"{}\".args]", m.command), arg.to_string()),
            None => (format!("[\"{}\"]", m.command), m.what.clone()),
        };
        if table != last {
            out.push_str(&format!("\n{table}\n"));
            last = table;
        }
        let english = if m.english.is_empty() {
            "NO ENGLISH HELP: add a doc comment in src/cli.rs".to_string()
        } else {
            m.english.replace('\n', " ")
        };
        // an argument's long form goes beside its short one
        let key = match key.strip_suffix(".long") {
            Some(id) => format!("{id} = {{ help = \"…\", long = \"…\" }}"),
            None => format!("{key} = \"…\""),
        };
        out.push_str(&format!("{key}  # {english}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_names_only_known_fields() {
        let t: Table = toml::from_str(CLI_TOML).expect("assets/i18n/cli.toml");
        assert!(t.contains_key("booth"));
        for (path, text) in &t {
            assert!(path.starts_with("booth"), "{path}: paths start with booth");
            for (id, a) in &text.args {
                assert!(!a.help().trim().is_empty(), "{path} {id}: empty");
            }
        }
    }

    #[test]
    fn a_missing_entry_is_reported_with_its_english() {
        let cmd = Command::new("booth").subcommand(
            Command::new("frobnicate")
                .about("Frobnicate the widgets")
                .arg(Arg::new("hard").long("hard").help("Very much"))
                .arg(Arg::new("bare").long("bare")),
        );
        let m = missing(&cmd);
        let whats: Vec<_> = m
            .iter()
            .map(|m| (m.command.as_str(), m.what.as_str()))
            .collect();
        assert!(whats.contains(&("booth frobnicate", "about")), "{whats:?}");
        assert!(
            whats.contains(&("booth frobnicate", "args.hard")),
            "{whats:?}"
        );
        assert!(
            whats.contains(&("booth frobnicate", "args.bare")),
            "{whats:?}"
        );
        let sk = skeleton(&m);
        assert!(sk.contains("[\"booth frobnicate\"]\nabout = "), "{sk}");
        assert!(sk.contains("[\"booth frobnicate\".args]\nhard = "), "{sk}");
        assert!(sk.contains("# Very much"), "{sk}");
        assert!(sk.contains("NO ENGLISH HELP"), "{sk}");
    }
}
