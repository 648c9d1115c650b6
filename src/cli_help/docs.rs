//! Shell completions (`clap_complete`) and manual pages (`clap_mangen`) from the same tree as
//! the help, so they follow the language too: `booth --lang en man` writes English pages.

use clap::{Command, CommandFactory};

use crate::cli::{Cli, CompletionShell};
use crate::i18n::Lang;
use crate::t;

/// The completion script for `shell`.
pub fn completions(shell: CompletionShell, lang: Lang) -> Vec<u8> {
    let shell = match shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    let mut cmd = super::command(lang);
    // into memory first: clap_complete panics on a failed write (`… | head`)
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "booth", &mut script);
    script
}

/// One manual page: its file name (`booth-server-run.1`) and its roff text.
#[derive(Debug, Clone)]
pub struct ManPage {
    pub file_name: String,
    pub roff: String,
}

/// `booth.1` and a page for every visible command below it, the main page first.
pub fn man_pages(lang: Lang) -> Vec<ManPage> {
    let mut pages = Vec::new();
    collect(&man_tree(lang), lang, &mut pages);
    pages
}

/// The tree without clap's `help` commands: a manual page of their own would say nothing.
fn man_tree(lang: Lang) -> Command {
    fn no_help_command(mut cmd: Command) -> Command {
        cmd = cmd.disable_help_subcommand(true);
        for sub in cmd.get_subcommands_mut() {
            *sub = no_help_command(std::mem::take(sub));
        }
        cmd
    }
    let mut cmd = no_help_command(super::table::apply(Cli::command(), lang));
    cmd.build();
    super::builtins::apply(cmd, lang)
}

fn collect(cmd: &Command, lang: Lang, pages: &mut Vec<ManPage>) {
    if cmd.is_hide_set() {
        return;
    }
    let version = env!("CARGO_PKG_VERSION");
    let man = clap_mangen::Man::new(cmd.clone())
        .source(format!("booth {version}"))
        .manual("booth");
    let mut roff = Vec::new();
    // writing into memory cannot fail
    let _ = man.render(&mut roff);
    pages.push(ManPage {
        file_name: man.get_filename(),
        roff: localise(&String::from_utf8_lossy(&roff), lang),
    });
    for sub in cmd.get_subcommands() {
        collect(sub, lang, pages);
    }
}

/// clap_mangen's section headings are English capitals: in `lang` here, and the ones taken from
/// the help headings ("Options") in capitals as man pages have them; the page starts with its
/// title. Chinese text has no spaces
/// to break lines at: a zero-width break point (`\:`) after each character lets groff wrap
/// it, and left alignment keeps it from stretching the few spaces there are.
fn localise(roff: &str, lang: Lang) -> String {
    let mut out = String::with_capacity(roff.len() * 2);
    // the title first, as tools that peek at a page's first line expect (roff's own
    // definitions of quote characters follow it)
    let lines = roff.lines().filter(|l| l.starts_with(".TH "));
    for line in lines.chain(roff.lines().filter(|l| !l.starts_with(".TH "))) {
        if let Some(heading) = line.strip_prefix(".SH ") {
            out.push_str(".SH ");
            out.push_str(&heading_in(heading.trim_matches('"'), lang));
        } else if line.starts_with('.') || line.starts_with('\'') {
            out.push_str(line);
        } else {
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                out.push(c);
                let next_closes = chars
                    .peek()
                    .is_some_and(|n| "，。、：；！？）」』】".contains(*n));
                if is_wide(c) && !next_closes && !"（「『【".contains(c) {
                    out.push_str("\\:");
                }
            }
        }
        out.push('\n');
        if line.starts_with(".TH ") && lang == Lang::Zh {
            out.push_str(".ad l\n");
        }
    }
    out
}

fn heading_in(heading: &str, lang: Lang) -> String {
    match heading {
        "NAME" => t!(lang, "cli.man.name").to_string(),
        "SYNOPSIS" => t!(lang, "cli.man.synopsis").to_string(),
        "DESCRIPTION" => t!(lang, "cli.man.description").to_string(),
        "VERSION" => t!(lang, "cli.man.version").to_string(),
        "EXTRA" => t!(lang, "cli.man.extra").to_string(),
        "AUTHORS" => t!(lang, "cli.man.authors").to_string(),
        other => other.to_uppercase(),
    }
}

/// CJK characters and full-width punctuation: the ones a line may break after.
fn is_wide(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' | '\u{ff00}'..='\u{ffef}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_page_per_visible_command_and_none_for_help() {
        let pages = man_pages(Lang::En);
        let names: Vec<_> = pages.iter().map(|p| p.file_name.as_str()).collect();
        assert_eq!(names[0], "booth.1");
        for expected in ["booth-register.1", "booth-server.1", "booth-server-run.1"] {
            assert!(names.contains(&expected), "{names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
        assert!(!names.iter().any(|n| n.contains("bench")), "{names:?}");
    }

    #[test]
    fn headings_follow_the_language() {
        let zh = &man_pages(Lang::Zh)[0].roff;
        assert!(zh.starts_with(".TH booth 1 "), "{zh}");
        assert!(zh.contains("\n.ad l\n"), "{zh}");
        // Chinese may break between characters, not inside brackets or before a comma
        assert!(
            zh.contains("数\\:据\\:文\\:件\\:夹\\:（默\\:认：\\:系"),
            "{zh}"
        );
        assert!(zh.contains("\n.SH 名称\n"), "{zh}");
        assert!(zh.contains("\n.SH 选项\n"), "{zh}");
        assert!(!zh.contains(".SH NAME"), "{zh}");
        let en = &man_pages(Lang::En)[0].roff;
        assert!(en.contains("\n.SH NAME\n"), "{en}");
        assert!(en.contains("\n.SH OPTIONS\n"), "{en}");
        assert!(en.contains("\n.SH COMMANDS\n"), "{en}");
        assert!(en.contains("booth\\-register(1)"), "{en}");
    }
}
