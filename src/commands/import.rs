//! `booth import FILE`: a whole workplace's staff list as registrations.
//!
//! Every row goes through the same validation as the form. A bad row is reported and skipped;
//! the good ones are stored. Rows are committed in batches of [`BATCH`]: a killed import keeps
//! whole batches, and a re-run reports the stored rows as duplicates, registering nobody twice.

use std::path::Path;

use serde_json::json;

use super::setup::{load_config, open_store};
use super::{CliError, Ctx, Output, interactive_stderr};
use crate::member::{Field, validate};
use crate::roster;
use crate::store::{self, RegisterError};
use crate::t;

const BATCH: usize = 20_000;

/// One row of the report (`--json`): `{"row", "status", "member_no", "errors", "warnings"}`.
#[derive(serde::Serialize)]
struct RowReport {
    row: usize,
    status: &'static str,
    member_no: Option<String>,
    errors: Vec<Problem>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<Problem>,
}

#[derive(serde::Serialize)]
struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
    code: &'static str,
    message: String,
}

impl Problem {
    fn of(e: &crate::member::FieldError, lang: crate::i18n::Lang) -> Problem {
        Problem {
            field: Some(e.field.code()),
            code: e.reason.code(),
            message: e.message(lang),
        }
    }
}

#[derive(Default)]
struct Tally {
    accepted: usize,
    rejected: usize,
    duplicate: usize,
}

pub fn import(
    ctx: &Ctx,
    file: &Path,
    dry_run: bool,
    consent_flag: bool,
) -> Result<Output, CliError> {
    let lang = ctx.lang;
    // Read the file before asking for the passphrase: a wrong file costs nothing.
    let roster = roster::read(file).map_err(|e| CliError::new("roster", e.message(lang)))?;
    let mut store = open_store(ctx)?;
    let config = load_config(&store, ctx)?;
    let event = config.event();
    let now = store::now();
    let today = now.date_naive();

    let progress = (!ctx.json && interactive_stderr()).then(|| {
        let pb = indicatif::ProgressBar::new(roster.rows.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {per_sec} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_message(t!(lang, "import.progress"));
        pb
    });

    let mut reports: Vec<RowReport> = Vec::with_capacity(roster.rows.len());
    let mut human_lines: Vec<String> = Vec::new();
    let mut tally = Tally::default();
    // Batches are committed without waiting for the disk; one flush at the end makes them
    // durable. A power cut mid-import loses only unflushed batches, never integrity, and a
    // re-run completes the roster without registering anyone twice.
    store.bulk_mode(true).map_err(|e| CliError::store(e, ctx))?;
    let mut batch = store.batch().map_err(|e| CliError::store(e, ctx))?;
    let mut in_batch = 0;

    let total = roster.rows.len();
    for row in roster.rows {
        let mut input = row.input;
        input.consent = consent_flag || row.consent == Some(true);
        let validated = match validate(&input, today) {
            Ok(v) if row.problems.is_empty() => Ok(v),
            Ok(_) => Err(row.problems.clone()),
            Err(mut errors) => {
                // Excel's lost digits explain a check-character failure better than itself.
                for p in &row.problems {
                    errors.retain(|e| e.field != p.field);
                    errors.push(p.clone());
                }
                errors.sort_by_key(|e| e.field);
                Err(errors)
            }
        };
        let report = match validated {
            Err(errors) => {
                tally.rejected += 1;
                human_lines.push(t!(
                    lang,
                    "import.row_rejected",
                    row = row.number,
                    reasons = errors
                        .iter()
                        .map(|e| e.message(lang))
                        .collect::<Vec<_>>()
                        .join("；")
                ));
                RowReport {
                    row: row.number,
                    status: "rejected",
                    member_no: None,
                    errors: errors.iter().map(|e| Problem::of(e, lang)).collect(),
                    warnings: Vec::new(),
                }
            }
            Ok(v) => match batch.register(&v, &event, &now) {
                Ok(m) => {
                    tally.accepted += 1;
                    in_batch += 1;
                    RowReport {
                        row: row.number,
                        status: "accepted",
                        member_no: (!dry_run).then(|| m.member_no.grouped()),
                        errors: Vec::new(),
                        warnings: v
                            .warnings
                            .iter()
                            .map(|w| Problem {
                                field: None,
                                code: w.code(),
                                message: w.message(lang),
                            })
                            .collect(),
                    }
                }
                Err(RegisterError::Duplicate(existing)) => {
                    tally.duplicate += 1;
                    let reason = t!(
                        lang,
                        "import.duplicate_in_store",
                        member_no = existing.member_no
                    );
                    human_lines.push(t!(
                        lang,
                        "import.row_duplicate",
                        row = row.number,
                        reason = reason
                    ));
                    RowReport {
                        row: row.number,
                        status: "duplicate",
                        member_no: Some(existing.member_no.grouped()),
                        errors: vec![Problem {
                            field: Some(Field::IdNumber.code()),
                            code: "duplicate",
                            message: reason,
                        }],
                        warnings: Vec::new(),
                    }
                }
                Err(RegisterError::Store(e)) => {
                    // Disk full or worse: stop; what was committed stays, this batch rolls back.
                    return Err(
                        CliError::store(e, ctx).with(json!({ "stopped_at_row": row.number }))
                    );
                }
            },
        };
        reports.push(report);
        if !dry_run && in_batch >= BATCH {
            batch.commit().map_err(|e| CliError::store(e, ctx))?;
            batch = store.batch().map_err(|e| CliError::store(e, ctx))?;
            in_batch = 0;
        }
        if let Some(pb) = &progress {
            pb.inc(1);
        }
    }
    if dry_run {
        drop(batch); // rolls back: a dry run saves nothing
    } else {
        batch.commit().map_err(|e| CliError::store(e, ctx))?;
    }
    store
        .bulk_mode(false)
        .map_err(|e| CliError::store(e, ctx))?;
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    tracing::info!(
        rows = total,
        accepted = tally.accepted,
        rejected = tally.rejected,
        duplicate = tally.duplicate,
        dry_run,
        "import finished"
    );

    let mut human = t!(
        lang,
        "import.summary",
        rows = total,
        accepted = tally.accepted,
        rejected = tally.rejected,
        duplicate = tally.duplicate
    );
    if dry_run {
        human.push(' ');
        human.push_str(t!(lang, "import.dry_run"));
    }
    for line in human_lines {
        human.push('\n');
        human.push_str(&line);
    }
    Ok(Output {
        human,
        json: json!({
            "rows": reports,
            "total": total,
            "accepted": tally.accepted,
            "rejected": tally.rejected,
            "duplicate": tally.duplicate,
            "dry_run": dry_run,
            "header_row": roster.header_row,
        }),
    })
}
