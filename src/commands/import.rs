//! `booth import FILE`: a whole workplace's staff list as registrations.
//!
//! Reads the file ([`crate::roster::read`]), hands its rows to the import policy
//! ([`crate::roster::import`]: validation, batches, rollback) and prints what became of each
//! row. The command exits non-zero when the store failed mid-import (the report names the
//! rows stored and those not), and when it accepted no row and some were refused (all
//! duplicates is a finished re-run, not a failure).

use std::path::Path;

use serde_json::json;

use super::setup::{load_config, open_store};
use super::{CliError, Ctx, Output, emit};
use crate::i18n::Lang;
use crate::member::{Field, FieldError};
use crate::roster::import::{BATCH_ROWS, ImportOptions, ImportOutcome, RowOutcome, import_rows};
use crate::roster::{self, Roster};
use crate::store::{self, StoreError};
use crate::t;

/// Rows per transaction: the domain's, unless `BOOTH_IMPORT_BATCH` says otherwise (tests that
/// need several batches from a small roster).
fn batch_rows() -> usize {
    std::env::var("BOOTH_IMPORT_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(BATCH_ROWS)
}

/// One row of the report (`--json`): `{"row", "status", "member_no", "errors", "warnings"}`.
#[derive(serde::Serialize)]
struct RowReport {
    row: usize,
    status: Status,
    member_no: Option<String>,
    errors: Vec<Problem>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<Problem>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Accepted,
    Rejected,
    Duplicate,
    /// Valid, but not in the store: the store failed (disk full) at or before this row.
    NotStored,
}

#[derive(serde::Serialize)]
struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
    code: &'static str,
    message: String,
}

impl Problem {
    fn of(e: &FieldError, lang: Lang) -> Problem {
        Problem {
            field: Some(e.field.code()),
            code: e.reason.code(),
            message: e.message(lang),
        }
    }
}

pub fn import(
    ctx: &Ctx,
    file: &Path,
    sheet: Option<&str>,
    dry_run: bool,
    consent: bool,
) -> Result<Output, CliError> {
    let lang = ctx.lang;
    // Read the file before asking for the passphrase: a wrong file costs nothing.
    let roster = roster::read(file, sheet).map_err(|e| CliError::new("roster", e.message(lang)))?;
    let mut store = open_store(ctx).map_err(|e| match e.code {
        // Not the single registration's "this entry was not saved": no row was.
        "disk_full" => CliError::new("disk_full", t!(lang, "import.disk_full_at_open")),
        _ => e,
    })?;
    let config = load_config(&store, ctx)?;
    // no consent column and no --consent: every row is refused for it; say how to give it
    let consent_how = (!consent && !roster.columns.iter().any(|(f, _)| *f == Field::Consent))
        .then(|| t!(lang, "import.consent_how").to_string());
    let Roster {
        sheet,
        header_row,
        ignored,
        rows,
        ..
    } = roster;
    let head = Head {
        total: rows.len(),
        sheet,
        header_row,
        ignored,
        dry_run,
        consent_how,
    };
    let progress = progress_bar(ctx, head.total);
    let opts = ImportOptions {
        dry_run,
        consent,
        batch_rows: batch_rows(),
    };
    let outcome = import_rows(
        &mut store,
        rows,
        &config.event(),
        &store::now(),
        opts,
        || {
            if let Some(pb) = &progress {
                pb.inc(1);
            }
        },
    )
    .map_err(|e| CliError::store(e, ctx))?;
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    report(ctx, &head, outcome)
}

/// What the report says before the rows: the file's size and layout, and the run's kind.
struct Head {
    total: usize,
    sheet: Option<String>,
    header_row: usize,
    ignored: Vec<(usize, String)>,
    dry_run: bool,
    /// How to give consent, said when rows were refused and the file and flags gave none.
    consent_how: Option<String>,
}

fn progress_bar(ctx: &Ctx, rows: usize) -> Option<indicatif::ProgressBar> {
    (!ctx.json && super::interactive_stderr()).then(|| {
        let pb = indicatif::ProgressBar::new(rows as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {per_sec} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_message(t!(ctx.lang, "import.progress"));
        pb
    })
}

/// The outcome for people and for scripts, and whether the command failed: the store gave
/// out mid-import, or no row was accepted and some were refused (or the file had none).
fn report(ctx: &Ctx, head: &Head, outcome: ImportOutcome) -> Result<Output, CliError> {
    let lang = ctx.lang;
    let (accepted, rejected) = (outcome.accepted(), outcome.rejected());
    let mut human = human_text(head, &outcome, lang);
    let stored_rows = outcome.rows_where(|o| matches!(o, RowOutcome::Accepted { .. }));
    let not_stored_rows = outcome.rows_where(|o| matches!(o, RowOutcome::NotStored));
    let mut json = json!({
        "total": head.total,
        "accepted": accepted,
        "rejected": rejected,
        "duplicate": outcome.duplicate(),
        "not_stored": not_stored_rows.len(),
        "dry_run": head.dry_run,
        "sheet": head.sheet,
        "header_row": head.header_row,
        "ignored_columns": head
            .ignored
            .iter()
            .map(|(c, h)| json!({ "column": c, "header": h }))
            .collect::<Vec<_>>(),
    });
    let ImportOutcome {
        rows,
        failure,
        flush_failed,
    } = outcome;
    // made last, from the rows themselves: 200,000 of them are not copied
    let reports: Vec<RowReport> = rows
        .into_iter()
        .map(|r| row_report(r.row, r.outcome, lang))
        .collect();
    json["rows"] = serde_json::to_value(reports).unwrap_or_default();

    if let Some(e) = failure {
        let reason = e.diagnose(&ctx.data_dir);
        let message = t!(
            lang,
            "import.store_failed",
            why = store_problem(&reason, lang),
            stored = stored_count_line(&stored_rows, lang),
            not_stored = row_ranges(&not_stored_rows, lang)
        );
        if !ctx.json {
            emit(&mut std::io::stdout(), &safe_lines(&human));
        }
        let code = if matches!(reason, StoreError::DiskFull) {
            "disk_full"
        } else {
            "import_incomplete"
        };
        return Err(CliError::new(code, message).with(json));
    }
    if let Some(e) = flush_failed.map(|e| e.diagnose(&ctx.data_dir)) {
        // Every accepted row is stored; say so, and why the disk needs attention.
        let note = t!(lang, "import.flush_failed", why = store_problem(&e, lang));
        human.push('\n');
        human.push_str(&note);
        json["flush_failed"] = json!(note);
        tracing::warn!(error = %e, "import stored its rows but could not flush them");
    }
    if accepted == 0 && (rejected > 0 || head.total == 0) {
        let mut message = if head.total == 0 {
            t!(lang, "import.no_rows").to_string()
        } else {
            t!(lang, "import.none_accepted", rejected = rejected)
        };
        if let Some(how) = head.consent_how.as_ref().filter(|_| rejected > 0) {
            message.push(' ');
            message.push_str(how);
        }
        if !ctx.json {
            emit(&mut std::io::stdout(), &safe_lines(&human));
        }
        return Err(CliError::new("nothing_imported", message).with(json));
    }
    Ok(Output { human, json })
}

/// The summary line, the sheet and the columns not read, then a line per refused row.
fn human_text(head: &Head, outcome: &ImportOutcome, lang: Lang) -> String {
    let mut human = t!(
        lang,
        "import.summary",
        rows = head.total,
        accepted = outcome.accepted(),
        rejected = outcome.rejected(),
        duplicate = outcome.duplicate()
    );
    if head.dry_run {
        human.push(' ');
        human.push_str(t!(lang, "import.dry_run"));
    }
    if let Some(s) = &head.sheet {
        human.push('\n');
        human.push_str(&t!(lang, "import.sheet", sheet = s, row = head.header_row));
    }
    if !head.ignored.is_empty() {
        human.push('\n');
        let cols = head
            .ignored
            .iter()
            .map(|(_, h)| format!("“{h}”"))
            .collect::<Vec<_>>()
            .join(list_sep(lang));
        human.push_str(&t!(lang, "import.ignored_columns", columns = cols));
    }
    for line in row_lines(outcome, lang) {
        human.push('\n');
        human.push_str(&line);
    }
    if let Some(how) = head.consent_how.as_ref().filter(|_| outcome.rejected() > 0) {
        human.push('\n');
        human.push_str(how);
    }
    human
}

/// The lines for people: each rejected row with its reasons, each duplicate with the number
/// the person already has.
fn row_lines(outcome: &ImportOutcome, lang: Lang) -> Vec<String> {
    outcome
        .rows
        .iter()
        .filter_map(|r| match &r.outcome {
            RowOutcome::Rejected { errors } => Some(t!(
                lang,
                "import.row_rejected",
                row = r.row,
                reasons = errors
                    .iter()
                    .map(|e| e.message(lang))
                    .collect::<Vec<_>>()
                    .join("；")
            )),
            RowOutcome::Duplicate { existing } => Some(t!(
                lang,
                "import.row_duplicate",
                row = r.row,
                reason = duplicate_reason(existing, lang)
            )),
            _ => None,
        })
        .collect()
}

fn duplicate_reason(existing: &crate::card::MemberNo, lang: Lang) -> String {
    t!(
        lang,
        "import.duplicate_in_store",
        member_no = existing.grouped()
    )
}

fn row_report(row: usize, outcome: RowOutcome, lang: Lang) -> RowReport {
    let (status, member_no, errors, warnings) = match outcome {
        RowOutcome::Accepted {
            member_no,
            warnings,
        } => (
            Status::Accepted,
            member_no.map(|n| n.grouped()),
            Vec::new(),
            warnings
                .iter()
                .map(|w| Problem {
                    field: None,
                    code: w.code(),
                    message: w.message(lang),
                })
                .collect(),
        ),
        RowOutcome::Rejected { errors } => (
            Status::Rejected,
            None,
            errors.iter().map(|e| Problem::of(e, lang)).collect(),
            Vec::new(),
        ),
        RowOutcome::Duplicate { existing } => (
            Status::Duplicate,
            Some(existing.grouped()),
            vec![Problem {
                field: Some(Field::IdNumber.code()),
                code: "duplicate",
                message: duplicate_reason(&existing, lang),
            }],
            Vec::new(),
        ),
        RowOutcome::NotStored => (
            Status::NotStored,
            None,
            vec![Problem {
                field: None,
                code: "not_stored",
                message: t!(lang, "import.row_not_stored").into(),
            }],
            Vec::new(),
        ),
    };
    RowReport {
        row,
        status,
        member_no,
        errors,
        warnings,
    }
}

/// What went wrong with the store, without the single registration's "this entry was not
/// saved" (the import report says row by row what was).
fn store_problem(e: &StoreError, lang: Lang) -> String {
    match e {
        StoreError::DiskFull => t!(lang, "import.disk_full").into(),
        e => e.message(lang),
    }
}

fn list_sep(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "、",
        Lang::En => ", ",
    }
}

fn safe_lines(text: &str) -> String {
    text.split('\n')
        .map(crate::member::text::display_safe)
        .collect::<Vec<_>>()
        .join("\n")
}

/// "1,000 rows (rows 2–1001)" or "no row".
fn stored_count_line(rows: &[usize], lang: Lang) -> String {
    if rows.is_empty() {
        t!(lang, "import.stored_none").into()
    } else {
        t!(
            lang,
            "import.stored_rows",
            n = rows.len(),
            rows = row_ranges(rows, lang)
        )
    }
}

/// Row numbers as ranges: `2–1001, 1003, 1005–1010`.
fn row_ranges(rows: &[usize], lang: Lang) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let start = rows[i];
        let mut end = start;
        while i + 1 < rows.len() && rows[i + 1] == end + 1 {
            i += 1;
            end = rows[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}–{end}")
        });
        i += 1;
    }
    parts.join(list_sep(lang))
}
