//! A command line clap refuses, told in the operator's language: rendered from the error's kind
//! and context (clap's own rendering is English only). Kinds without the context we need fall
//! back to clap's text.

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::i18n::Lang;
use crate::t;

/// The refusal: `text` for the terminal (several lines, like clap's), `reason` on one line for
/// `--json` and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    pub text: String,
    pub reason: String,
}

struct Parts {
    head: String,
    /// Lines under the head: the required arguments, the accepted values.
    details: Vec<String>,
    tips: Vec<String>,
}

/// Renders `e` in `lang`.
pub fn render(e: &clap::Error, lang: Lang) -> UsageError {
    let parts = describe(e, lang).unwrap_or_else(|| clap_own(e));
    let mut text = format!("{}{}", t!(lang, "cli.usage.error"), parts.head);
    for d in &parts.details {
        text.push_str(&format!("\n  {d}"));
    }
    if !parts.tips.is_empty() {
        text.push('\n');
        for tip in &parts.tips {
            text.push_str(&format!("\n  {tip}"));
        }
    }
    if let Some(usage) = usage(e, lang) {
        text.push_str(&format!("\n\n{usage}"));
    }
    text.push_str(&format!(
        "\n\n{}",
        t!(lang, "cli.usage.more_info", help = "--help")
    ));

    let mut reason = parts.head.clone();
    if !parts.details.is_empty() {
        let sep = if reason.ends_with(':') || reason.ends_with('：') {
            ""
        } else {
            " "
        };
        reason.push_str(sep);
        reason.push_str(&parts.details.join(", "));
    }
    let sep = match lang {
        Lang::Zh => "；",
        Lang::En => "; ",
    };
    for tip in &parts.tips {
        reason.push_str(sep);
        reason.push_str(tip);
    }
    UsageError { text, reason }
}

fn string(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        _ => None,
    }
}

fn strings(e: &clap::Error, kind: ContextKind) -> Vec<String> {
    match e.get(kind) {
        Some(ContextValue::String(s)) => vec![s.clone()],
        Some(ContextValue::Strings(v)) => v.clone(),
        _ => Vec::new(),
    }
}

fn number(e: &clap::Error, kind: ContextKind) -> Option<isize> {
    match e.get(kind)? {
        ContextValue::Number(n) => Some(*n),
        _ => None,
    }
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The message in `lang`, or None when the error lacks the context to say it.
fn describe(e: &clap::Error, lang: Lang) -> Option<Parts> {
    let arg = || string(e, ContextKind::InvalidArg);
    let value = || string(e, ContextKind::InvalidValue);
    let mut details = Vec::new();
    let head = match e.kind() {
        ErrorKind::UnknownArgument => t!(lang, "cli.usage.unknown_argument", arg = arg()?),
        ErrorKind::InvalidSubcommand => t!(
            lang,
            "cli.usage.unknown_subcommand",
            name = string(e, ContextKind::InvalidSubcommand)?
        ),
        ErrorKind::InvalidValue => {
            let (arg, value) = (arg()?, value()?);
            let valid = strings(e, ContextKind::ValidValue);
            if !valid.is_empty() {
                details.push(t!(
                    lang,
                    "cli.help.possible_values",
                    list = valid.join(", ")
                ));
            }
            if value.is_empty() {
                t!(lang, "cli.usage.value_missing", arg = arg)
            } else {
                t!(lang, "cli.usage.invalid_value", arg = arg, value = value)
            }
        }
        ErrorKind::ValueValidation => t!(
            lang,
            "cli.usage.value_validation",
            arg = arg()?,
            value = value()?,
            why = why_invalid(e, lang)
        ),
        ErrorKind::MissingRequiredArgument => {
            details = strings(e, ContextKind::InvalidArg);
            if details.is_empty() {
                return None;
            }
            t!(lang, "cli.usage.missing_required").to_string()
        }
        ErrorKind::MissingSubcommand => {
            let valid = strings(e, ContextKind::ValidSubcommand);
            if !valid.is_empty() {
                details.push(t!(lang, "cli.usage.subcommands", list = valid.join(", ")));
            }
            t!(
                lang,
                "cli.usage.missing_subcommand",
                name = string(e, ContextKind::InvalidSubcommand)?
            )
        }
        ErrorKind::ArgumentConflict => conflict(e, lang, &mut details)?,
        ErrorKind::TooManyValues => t!(
            lang,
            "cli.usage.too_many_values",
            arg = arg()?,
            value = value()?
        ),
        ErrorKind::TooFewValues => t!(
            lang,
            "cli.usage.too_few_values",
            arg = arg()?,
            min = number(e, ContextKind::MinValues)?,
            actual = number(e, ContextKind::ActualNumValues)?
        ),
        ErrorKind::WrongNumberOfValues => t!(
            lang,
            "cli.usage.wrong_number_of_values",
            arg = arg()?,
            expected = number(e, ContextKind::ExpectedNumValues)?,
            actual = number(e, ContextKind::ActualNumValues)?
        ),
        ErrorKind::NoEquals => t!(lang, "cli.usage.no_equals", arg = arg()?),
        ErrorKind::InvalidUtf8 => t!(lang, "cli.usage.invalid_utf8").to_string(),
        _ => return None,
    };
    Some(Parts {
        head,
        details,
        tips: tips(e, lang),
    })
}

fn conflict(e: &clap::Error, lang: Lang, details: &mut Vec<String>) -> Option<String> {
    let prior = e.get(ContextKind::PriorArg);
    let others = match prior {
        Some(ContextValue::String(p)) => format!("'{p}'"),
        Some(ContextValue::Strings(ps)) => quoted(ps),
        _ => t!(lang, "cli.usage.conflict_others").to_string(),
    };
    if let Some(arg) = string(e, ContextKind::InvalidArg) {
        if matches!(prior, Some(ContextValue::String(p)) if *p == arg) {
            return Some(t!(lang, "cli.usage.used_twice", arg = arg));
        }
        return Some(t!(lang, "cli.usage.conflict", arg = arg, others = others));
    }
    let name = string(e, ContextKind::InvalidSubcommand)?;
    details.clear();
    Some(t!(
        lang,
        "cli.usage.conflict_command",
        name = name,
        others = others
    ))
}

/// Why a value did not parse. The only typed values booth takes are counts and sizes.
fn why_invalid(e: &clap::Error, lang: Lang) -> String {
    use std::error::Error as _;
    let Some(source) = e.source() else {
        return String::new();
    };
    match source.downcast_ref::<std::num::ParseIntError>() {
        Some(p) if matches!(p.kind(), std::num::IntErrorKind::PosOverflow) => {
            t!(lang, "cli.usage.number_too_large").to_string()
        }
        Some(_) => t!(lang, "cli.usage.not_a_number").to_string(),
        None => source.to_string(),
    }
}

/// clap's "did you mean" and its tips, in `lang`.
fn tips(e: &clap::Error, lang: Lang) -> Vec<String> {
    let mut tips = Vec::new();
    let similar = |kind, one: &str, many: &str, tips: &mut Vec<String>| {
        let names = strings(e, kind);
        let list = quoted(&names);
        match names.len() {
            0 => {}
            1 => tips.push(crate::i18n::format(lang, one, &[("list", &list)])),
            _ => tips.push(crate::i18n::format(lang, many, &[("list", &list)])),
        }
    };
    similar(
        ContextKind::SuggestedSubcommand,
        "cli.usage.similar_subcommand",
        "cli.usage.similar_subcommands",
        &mut tips,
    );
    similar(
        ContextKind::SuggestedArg,
        "cli.usage.similar_argument",
        "cli.usage.similar_arguments",
        &mut tips,
    );
    similar(
        ContextKind::SuggestedValue,
        "cli.usage.similar_value",
        "cli.usage.similar_values",
        &mut tips,
    );
    if let Some(ContextValue::StyledStrs(suggestions)) = e.get(ContextKind::Suggested) {
        for s in suggestions {
            tips.push(clap_tip(&s.to_string(), lang));
        }
    }
    tips
}

/// clap's free-text tips (English), recognised by their shape; an unknown one stays as it is.
fn clap_tip(tip: &str, lang: Lang) -> String {
    let between = |s: &str, pre: &str, post: &str| {
        s.strip_prefix(pre)
            .and_then(|r| r.strip_suffix(post))
            .map(str::to_string)
    };
    if let Some(rest) = tip.strip_prefix("to pass '")
        && let Some((arg, _)) = rest.split_once("' as a value")
    {
        return t!(lang, "cli.usage.pass_as_value", arg = arg);
    }
    if let Some(name) = between(
        tip,
        "subcommand '",
        "' exists; to use it, remove the '--' before it",
    ) {
        return t!(lang, "cli.usage.remove_double_dash", name = name);
    }
    if let Some(usage) = between(tip, "'", "' exists") {
        return t!(lang, "cli.usage.exists_under", usage = usage);
    }
    tip.to_string()
}

/// clap's usage line(s), under our heading.
fn usage(e: &clap::Error, lang: Lang) -> Option<String> {
    let usage = string(e, ContextKind::Usage)?;
    let rest = usage.strip_prefix("Usage:").unwrap_or(&usage);
    Some(format!("{}:{rest}", t!(lang, "cli.help.usage")))
}

/// clap's own message (English) without its "error: " and usage: for kinds we do not know.
fn clap_own(e: &clap::Error) -> Parts {
    let text = e.render().to_string();
    let head = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .collect::<Vec<_>>()
        .join(" ");
    Parts {
        head: head.trim_start_matches("error: ").to_string(),
        details: Vec::new(),
        tips: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    fn refused(lang: Lang, args: &[&str]) -> UsageError {
        let args: Vec<OsString> = std::iter::once("booth")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        let e = crate::cli_help::parse(lang, args, true).expect_err("refused");
        render(&e, lang)
    }

    /// Each common refusal, in both languages: what it must say, and the one-line reason.
    #[test]
    fn common_refusals_in_both_languages() {
        let cases: &[(&[&str], &[&str], &[&str])] = &[
            (
                &["registr"],
                &["没有 'registr' 这个命令", "'register'", "用法: booth"],
                &[
                    "unrecognized subcommand 'registr'",
                    "'register'",
                    "Usage: booth",
                ],
            ),
            (
                &["register", "--nme", "x"],
                &["无法识别的参数 '--nme'", "'--name'"],
                &["unexpected argument '--nme' found", "'--name'"],
            ),
            (
                &["completions", "tcsh"],
                &["'tcsh' 不是", "[可选值：bash, zsh, fish]"],
                &["invalid value 'tcsh'", "[possible values: bash, zsh, fish]"],
            ),
            (
                &["register", "--name", "测"],
                &[
                    "缺少必需的参数：",
                    "--id <ID_NUMBER>",
                    "--employer <EMPLOYER>",
                ],
                &["required arguments were not provided", "--phone <PHONE>"],
            ),
            (
                &["server"],
                &["'booth server' 后面需要一个子命令", "run"],
                &["'booth server' requires a subcommand", "[subcommands: run"],
            ),
            (
                &["card", "1", "--png", "a", "--svg", "b"],
                &["参数 '--png <FILE>' 不能与 '--svg <FILE>' 一起使用"],
                &["the argument '--png <FILE>' cannot be used with '--svg <FILE>'"],
            ),
            (
                &["stats", "--date", "a", "--date", "b"],
                &["参数 '--date <DATE>' 只能用一次"],
                &["cannot be used multiple times"],
            ),
            (
                &["upload", "--batch", "x"],
                &["'x' 不是 '--batch <BATCH>' 可用的值：应为不小于 0 的整数"],
                &["invalid value 'x' for '--batch <BATCH>': expected a whole number"],
            ),
            (
                &["export", "--format"],
                &["'--format <csv|xlsx|json>' 需要一个值"],
                &["a value is required for '--format <csv|xlsx|json>'"],
            ),
            (
                &["void", "1", "2", "--reason", "x"],
                &["无法识别的参数 '2'"],
                &["unexpected argument '2' found"],
            ),
        ];
        for (args, zh, en) in cases {
            let z = refused(Lang::Zh, args);
            assert!(z.text.starts_with("错误："), "{args:?}: {}", z.text);
            assert!(z.text.contains("更多信息请运行 '--help'。"), "{}", z.text);
            for want in *zh {
                assert!(
                    z.text.contains(want),
                    "{args:?} zh lacks {want:?}:\n{}",
                    z.text
                );
            }
            for english in ["error:", "Usage:", "tip:", "required", "For more"] {
                assert!(
                    !z.text.contains(english),
                    "{args:?}: English in\n{}",
                    z.text
                );
            }
            let e = refused(Lang::En, args);
            assert!(e.text.starts_with("error: "), "{}", e.text);
            for want in *en {
                assert!(
                    e.text.contains(want),
                    "{args:?} en lacks {want:?}:\n{}",
                    e.text
                );
            }
            for r in [&z.reason, &e.reason] {
                assert!(!r.contains('\n') && !r.is_empty(), "{args:?}: {r:?}");
            }
        }
    }

    #[test]
    fn the_reason_is_one_line_with_details_and_tips() {
        let r = refused(Lang::Zh, &["register", "--name", "测"]).reason;
        assert!(
            r.starts_with("缺少必需的参数：--id <ID_NUMBER>, --phone"),
            "{r}"
        );
        let r = refused(Lang::Zh, &["registr"]).reason;
        assert_eq!(
            r,
            "没有 'registr' 这个命令；提示：你是不是要用命令 'register'？"
        );
        let r = refused(Lang::En, &["registr"]).reason;
        assert_eq!(
            r,
            "unrecognized subcommand 'registr'; tip: a similar subcommand exists: 'register'"
        );
    }

    /// Refusals booth's own arguments cannot provoke, on a command made for them.
    #[test]
    fn counts_of_values_and_clap_tips() {
        let cmd = || {
            clap::Command::new("t")
                .arg(clap::Arg::new("pair").long("pair").num_args(2))
                .arg(clap::Arg::new("few").long("few").num_args(3..))
                .arg(clap::Arg::new("eq").long("eq").require_equals(true))
                .arg(clap::Arg::new("pos"))
        };
        let render_for = |args: &[&str], lang| {
            let e = cmd().try_get_matches_from(args).expect_err("refused");
            render(&e, lang).text
        };
        let t = render_for(&["t", "--pair", "a"], Lang::Zh);
        assert!(
            t.contains("'--pair <pair> <pair>' 需要 2 个值，给了 1 个"),
            "{t}"
        );
        let t = render_for(&["t", "--few", "a", "b"], Lang::Zh);
        assert!(t.contains("至少需要 3 个值，只给了 2 个"), "{t}");
        let t = render_for(&["t", "--eq", "a"], Lang::Zh);
        assert!(t.contains("需要等号"), "{t}");
        let t = render_for(&["t", "p", "-x"], Lang::Zh);
        assert!(t.contains("提示：要把 '-x' 当作值，请写成 '-- -x'"), "{t}");
        let t = render_for(&["t", "p", "q"], Lang::Zh);
        assert!(t.contains("无法识别的参数 'q'"), "{t}");
    }
}
