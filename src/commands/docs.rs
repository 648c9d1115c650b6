//! `booth completions SHELL` and `booth man [--out DIR]`: nothing is opened, no data folder is
//! needed. Both follow the language (see `cli_help::docs`).

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use super::{CliError, Ctx, Output};
use crate::cli::CompletionShell;
use crate::cli_help::docs;
use crate::t;

/// Prints the completion script as it is (`--json`: inside an object).
pub fn completions(ctx: &Ctx, shell: CompletionShell) -> Result<Output, CliError> {
    let script = String::from_utf8_lossy(&docs::completions(shell, ctx.lang)).into_owned();
    Ok(raw_or_json(
        ctx,
        script,
        |s| json!({ "shell": format!("{shell:?}").to_lowercase(), "script": s }),
    ))
}

/// Prints `booth.1`, or writes every page into `out`.
pub fn man(ctx: &Ctx, out: Option<&Path>) -> Result<Output, CliError> {
    let pages = docs::man_pages(ctx.lang);
    let Some(dir) = out else {
        let main = pages.into_iter().next().map(|p| p.roff).unwrap_or_default();
        return Ok(raw_or_json(
            ctx,
            main,
            |s| json!({ "page": "booth.1", "roff": s }),
        ));
    };
    let failed = |path: &Path, why: std::io::Error| {
        CliError::new(
            "man",
            t!(
                ctx.lang,
                "cli.man.write_failed",
                path = path.display(),
                why = why
            ),
        )
    };
    std::fs::create_dir_all(dir).map_err(|e| failed(dir, e))?;
    let mut written = Vec::new();
    for page in &pages {
        let path = dir.join(&page.file_name);
        std::fs::write(&path, &page.roff).map_err(|e| failed(&path, e))?;
        written.push(page.file_name.clone());
    }
    Ok(Output {
        human: t!(
            ctx.lang,
            "cli.man.written",
            n = written.len(),
            dir = dir.display()
        ),
        json: json!({ "dir": dir.display().to_string(), "pages": written }),
    })
}

/// Text meant for a file or a pipe goes out byte for byte (the usual output is for people, and
/// is cleaned of control characters); with `--json` it is a field of the object.
fn raw_or_json(ctx: &Ctx, text: String, to_json: impl FnOnce(String) -> Value) -> Output {
    if ctx.json {
        return Output {
            human: String::new(),
            json: to_json(text),
        };
    }
    let mut stdout = std::io::stdout().lock();
    // a reader that went away (`… | head`) is no failure of ours
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    Output {
        human: String::new(),
        json: Value::Null,
    }
}
