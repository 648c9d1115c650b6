//! The command line's own texts (SPEC §10): help and usage errors in the configured language,
//! shell completions, manual pages. The real binary, except for the table check.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use clap::CommandFactory;
use common::*;
use serde_json::Value;

/// `booth ARGS` with no data folder, no language in the environment, nothing configured.
fn booth_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(booth_bin())
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .env_remove("BOOTH_LANG")
        .env_remove("BOOTH_DATA_DIR")
        .env_remove("LANG")
        .env_remove("LC_ALL")
        .output()
        .expect("run booth")
}

fn booth(args: &[&str]) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().unwrap();
    let out = booth_in(dir.path(), args);
    (dir, out)
}

/// Every command and argument has its Chinese text (and an English one to translate from).
/// When a branch adds a command, this names what `assets/i18n/cli.toml` lacks.
#[test]
fn every_command_and_argument_has_its_chinese_text() {
    let missing = booth::cli_help::table::missing(&booth::cli::Cli::command());
    assert!(
        missing.is_empty(),
        "{} command-line texts lack a translation; add to assets/i18n/cli.toml:\n{}",
        missing.len(),
        booth::cli_help::table::skeleton(&missing)
    );
}

#[test]
fn help_is_chinese_by_default_and_english_when_asked() {
    let (_d, out) = booth(&["--help"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let help = stdout(&out);
    for want in [
        "用法: booth",
        "命令:",
        "选项:",
        "不经界面登记一名职工",
        "显示帮助",
        "显示版本",
    ] {
        assert!(help.contains(want), "no {want:?} in\n{help}");
    }
    for english in [
        "Usage:",
        "Options:",
        "Commands:",
        "Print help",
        "Register one worker",
    ] {
        assert!(!help.contains(english), "{english:?} in\n{help}");
    }

    let (_d, out) = booth(&["--lang", "en", "--help"]);
    let help = stdout(&out);
    for want in [
        "Usage: booth",
        "Commands:",
        "Options:",
        "Register one worker",
        "Print help",
    ] {
        assert!(help.contains(want), "no {want:?} in\n{help}");
    }
    assert!(!help.contains("用法"), "{help}");

    // a subcommand's help: its arguments, defaults and environment variables too
    let (_d, out) = booth(&["upload", "-h"]);
    let help = stdout(&out);
    for want in [
        "每次请求上传的记录数 [默认：500]",
        "[环境变量：BOOTH_DATA_DIR]",
    ] {
        assert!(help.contains(want), "no {want:?} in\n{help}");
    }
    let (_d, out) = booth(&["void", "-h"]);
    let help = stdout(&out);
    assert!(
        help.contains("参数:\n  <MEMBER_NO>  该记录的会员编号"),
        "{help}"
    );
}

#[test]
fn the_language_comes_from_the_environment_and_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(booth_bin())
        .args(["--data-dir"])
        .arg(dir.path().join("data"))
        .args(["stats", "--help"])
        .env("BOOTH_LANG", "en")
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("Usage: booth stats"),
        "{}",
        stdout(&out)
    );

    // a folder whose operator chose English: its help and errors are English without a flag
    let b = Booth::new();
    let out = b.run(&["config", "set", "language", "en"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = b.cmd(&["--help"]).env_remove("LANG").output().unwrap();
    assert!(stdout(&out).contains("Usage: booth"), "{}", stdout(&out));
    let out = b.cmd(&["registr"]).env_remove("LANG").output().unwrap();
    assert!(
        stderr(&out).contains("unrecognized subcommand 'registr'"),
        "{}",
        stderr(&out)
    );
    // and the flag still wins over the folder
    let out = b.cmd(&["--lang", "zh-CN", "registr"]).output().unwrap();
    assert!(
        stderr(&out).contains("没有 'registr' 这个命令"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_typo_is_a_chinese_usage_error_that_names_the_command_meant() {
    let (d, out) = booth(&["registr"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("错误：没有 'registr' 这个命令"), "{err}");
    assert!(err.contains("提示：你是不是要用命令 'register'？"), "{err}");
    assert!(err.contains("用法: booth"), "{err}");
    assert!(stdout(&out).is_empty());
    assert!(
        !d.path().join("data").exists(),
        "a refused command made the data folder"
    );

    let (_d, out) = booth(&["--lang", "en", "registr"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("tip: a similar subcommand exists: 'register'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn scripts_get_the_usage_error_as_json_in_the_language() {
    let (_d, out) = booth(&["registr", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"], "usage");
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.contains("registr") && msg.contains("'register'"),
        "{msg}"
    );
    assert!(msg.contains("没有"), "{msg}");
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));

    // a command without its subcommand: help for people, an error for scripts
    let (_d, out) = booth(&["server"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("用法: booth server"),
        "{}",
        stderr(&out)
    );
    let (_d, out) = booth(&["server", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["error"], "usage");
    assert!(
        v["message"].as_str().unwrap().contains("需要一个子命令"),
        "{v}"
    );
}

#[test]
fn bash_completion_is_a_script_bash_accepts() {
    let (d, out) = booth(&["completions", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let script = stdout(&out);
    assert!(script.contains("register"), "{script}");
    assert!(script.contains("complete -F _booth"), "{script}");
    assert!(
        !d.path().join("data").exists(),
        "completions made a data folder"
    );
    let file = d.path().join("booth.bash");
    std::fs::write(&file, &script).unwrap();
    if let Some(bash) = common::tools::tool("bash", "bash") {
        let check = Command::new(bash).arg("-n").arg(&file).output().unwrap();
        assert!(check.status.success(), "bash -n: {}", stderr(&check));
    }
    for shell in ["zsh", "fish"] {
        let (_d, out) = booth(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        assert!(stdout(&out).contains("server"), "{shell}");
        // descriptions follow the language
        assert!(stdout(&out).contains("不经界面登记一名职工"), "{shell}");
    }
    let (_d, out) = booth(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("[可选值：bash, zsh, fish]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_manual_page_is_roff_that_man_renders() {
    let (d, out) = booth(&["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.starts_with(".TH booth 1 "), "{page}");
    assert!(page.contains("\n.SH 名称\n"), "{page}");
    assert!(page.contains("booth\\-register(1)"), "{page}");
    let (_d, out) = booth(&["--lang", "en", "man"]);
    let english = stdout(&out);
    assert!(english.contains("\n.SH NAME\n") && english.contains("\n.SH OPTIONS\n"));

    let file = d.path().join("booth.1");
    std::fs::write(&file, &page).unwrap();
    // rendered by man-db (required under CI; skipped elsewhere, saying so)
    let Some(man) = common::tools::tool("man", "man-db") else {
        return;
    };
    let shown = Command::new(man)
        .arg("-l")
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("LC_ALL", "C.UTF-8")
        .env("MANWIDTH", "80")
        .output()
        .unwrap();
    assert!(shown.status.success(), "man -l: {}", stderr(&shown));
    let text = stdout(&shown);
    assert!(
        text.contains("booth - 在职工沟通会展台办理工会入会登记"),
        "{text}"
    );
    assert!(text.contains("booth-register(1)"), "{text}");
    // Chinese lines break where they must: no warning, no line past the width
    assert!(!stderr(&shown).contains("warning"), "{}", stderr(&shown));
}

#[test]
fn man_out_writes_a_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let out = booth_in(
        dir.path(),
        &["man", "--out", pages.to_str().unwrap(), "--json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed: Vec<&str> = v["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for name in [
        "booth.1",
        "booth-register.1",
        "booth-server-run.1",
        "booth-man.1",
    ] {
        assert!(listed.contains(&name), "{listed:?}");
        let text = std::fs::read_to_string(pages.join(name)).unwrap();
        assert!(text.starts_with(".TH "), "{name}");
    }
    assert!(
        !listed
            .iter()
            .any(|p| p.contains("help") || p.contains("bench"))
    );
    assert_eq!(std::fs::read_dir(&pages).unwrap().count(), listed.len());

    // a folder that cannot be made is a clear error
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let out = booth_in(
        dir.path(),
        &["man", "--out", blocker.join("man1").to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("无法写入手册页"), "{}", stderr(&out));
}
