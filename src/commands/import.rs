//! `booth import FILE`: a whole workplace's staff list as registrations.
//!
//! Every row goes through the same validation as the form. A bad row is reported and skipped;
//! the good ones are stored. Rows are committed in batches of [`BATCH`]: a killed import keeps
//! whole batches, and a re-run reports the stored rows as duplicates, registering nobody twice.
//!
//! The report says exactly which rows are stored. When the store fails (a full disk), the
//! batch being written rolls back: its rows and every later row are reported `not_stored`,
//! the rows of committed batches `accepted`, and the command exits non-zero. It also exits
//! non-zero when it accepted no row and some were refused (all duplicates is a finished re-run,
//! not a failure).

use std::collections::HashSet;
use std::path::Path;

use serde_json::json;

use super::setup::{load_config, open_store};
use super::{CliError, Ctx, Output, emit};
use crate::i18n::Lang;
use crate::member::{Field, FieldError, validate};
use crate::roster::{self, Roster, RosterRow};
use crate::store::{self, RegisterError, StoreError};
use crate::t;

/// Rows per transaction. Bigger batches rewrite fewer index pages into the write-ahead log (a
/// page changed by many batches is logged once per batch); a full disk costs at most one batch
/// of work, whose rows the report names. `BOOTH_IMPORT_BATCH` changes it (tests that need
/// several batches from a small roster).
const BATCH: usize = 20_000;

fn batch_size() -> usize {
    std::env::var("BOOTH_IMPORT_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(BATCH)
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

/// What the import has said so far, row by row, and where the open batch began (a batch that
/// rolls back turns its accepted rows into `not_stored` ones).
struct Report {
    rows: Vec<RowReport>,
    human_lines: Vec<String>,
    rejected: usize,
    batch_start: usize,
    batch_numbers: HashSet<String>,
}

impl Report {
    /// The open batch was committed: its rows are stored.
    fn committed(&mut self) {
        self.batch_start = self.rows.len();
        self.batch_numbers.clear();
    }

    /// The open batch rolled back: nothing it registered is stored, and a duplicate of a row
    /// it registered has nothing to be a duplicate of.
    fn rolled_back(&mut self, lang: Lang) {
        for r in &mut self.rows[self.batch_start..] {
            let of_this_batch = r.status == Status::Duplicate
                && r.member_no
                    .as_ref()
                    .is_some_and(|n| self.batch_numbers.contains(n));
            if r.status == Status::Accepted || of_this_batch {
                *r = not_stored(r.row, lang);
            }
        }
        self.committed();
    }
}

/// The settings of one import run.
struct Run<'a> {
    event: &'a crate::member::BoothEvent,
    now: &'a chrono::DateTime<chrono::FixedOffset>,
    dry_run: bool,
    consent_flag: bool,
    lang: Lang,
}

pub fn import(
    ctx: &Ctx,
    file: &Path,
    sheet: Option<&str>,
    dry_run: bool,
    consent_flag: bool,
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
    let event = config.event();
    let now = store::now();

    let progress = (!ctx.json && super::interactive_stderr()).then(|| {
        let pb = indicatif::ProgressBar::new(roster.rows.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {per_sec} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_message(t!(lang, "import.progress"));
        pb
    });

    // no consent column and no --consent: every row is refused for it; say how to give it
    let consent_how = (!consent_flag && !roster.columns.iter().any(|(f, _)| *f == Field::Consent))
        .then(|| t!(lang, "import.consent_how").to_string());
    let Roster {
        sheet,
        header_row,
        ignored,
        rows,
        ..
    } = roster;
    let total = rows.len();
    let mut report = Report {
        rows: Vec::with_capacity(total),
        human_lines: Vec::new(),
        rejected: 0,
        batch_start: 0,
        batch_numbers: HashSet::new(),
    };
    let run = Run {
        event: &event,
        now: &now,
        dry_run,
        consent_flag,
        lang,
    };
    // Batches are committed without waiting for the disk; one flush at the end makes them
    // durable. A power cut mid-import loses only unflushed batches, never integrity, and a
    // re-run completes the roster without registering anyone twice.
    store.bulk_mode(true).map_err(|e| CliError::store(e, ctx))?;
    let mut rows = rows.into_iter();
    let failure = match write_rows(&mut store, &mut rows, &mut report, &run, progress.as_ref()) {
        Ok(()) => None,
        Err(e) => {
            report.rolled_back(lang);
            for row in rows.by_ref() {
                report.rows.push(not_stored(row.number, lang));
            }
            Some(e)
        }
    };
    // The roster's memory goes before the report's JSON is made (200,000 rows at most).
    drop(rows);
    // Leaving bulk mode flushes the committed batches: if that fails (disk full), the rows are
    // stored all the same (in the write-ahead log) and the next start completes the flush.
    let flush_failed = store
        .bulk_mode(false)
        .err()
        .map(|e| e.diagnose(&ctx.data_dir));
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    let accepted = count(&report.rows, Status::Accepted);
    let duplicate = count(&report.rows, Status::Duplicate);
    let not_stored_n = count(&report.rows, Status::NotStored);
    let rejected = report.rejected;
    tracing::info!(
        rows = total,
        accepted,
        rejected,
        duplicate,
        not_stored = not_stored_n,
        dry_run,
        "import finished"
    );

    let mut human = t!(
        lang,
        "import.summary",
        rows = total,
        accepted = accepted,
        rejected = rejected,
        duplicate = duplicate
    );
    if dry_run {
        human.push(' ');
        human.push_str(t!(lang, "import.dry_run"));
    }
    if let Some(s) = &sheet {
        human.push('\n');
        human.push_str(&t!(lang, "import.sheet", sheet = s, row = header_row));
    }
    if !ignored.is_empty() {
        human.push('\n');
        let cols = ignored
            .iter()
            .map(|(_, h)| format!("“{h}”"))
            .collect::<Vec<_>>()
            .join(list_sep(lang));
        human.push_str(&t!(lang, "import.ignored_columns", columns = cols));
    }
    for line in std::mem::take(&mut report.human_lines) {
        human.push('\n');
        human.push_str(&line);
    }
    if let Some(how) = consent_how.as_ref().filter(|_| rejected > 0) {
        human.push('\n');
        human.push_str(how);
    }
    let rows_where = |s: Status| -> Vec<usize> {
        report
            .rows
            .iter()
            .filter(|r| r.status == s)
            .map(|r| r.row)
            .collect()
    };
    let stored_rows = rows_where(Status::Accepted);
    let not_stored_rows = rows_where(Status::NotStored);
    let json = json!({
        "rows": serde_json::to_value(std::mem::take(&mut report.rows)).unwrap_or_default(),
        "total": total,
        "accepted": accepted,
        "rejected": rejected,
        "duplicate": duplicate,
        "not_stored": not_stored_n,
        "dry_run": dry_run,
        "sheet": sheet,
        "header_row": header_row,
        "ignored_columns": ignored
            .iter()
            .map(|(c, h)| json!({ "column": c, "header": h }))
            .collect::<Vec<_>>(),
    });

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
    let mut json = json;
    if let Some(e) = flush_failed {
        // Every accepted row is stored; say so, and why the disk needs attention.
        let note = t!(lang, "import.flush_failed", why = store_problem(&e, lang));
        human.push('\n');
        human.push_str(&note);
        json["flush_failed"] = json!(note);
        tracing::warn!(error = %e, "import stored its rows but could not flush them");
    }
    if accepted == 0 && (rejected > 0 || total == 0) {
        let mut message = if total == 0 {
            t!(lang, "import.no_rows").to_string()
        } else {
            t!(lang, "import.none_accepted", rejected = rejected)
        };
        if let Some(how) = consent_how.filter(|_| rejected > 0) {
            message.push(' ');
            message.push_str(&how);
        }
        if !ctx.json {
            emit(&mut std::io::stdout(), &safe_lines(&human));
        }
        return Err(CliError::new("nothing_imported", message).with(json));
    }
    Ok(Output { human, json })
}

/// Validates and stores the rows in batches. On a store error the open batch is dropped
/// (rolled back) and the error returned; the failing row is already reported `not_stored`.
fn write_rows(
    store: &mut store::Store,
    rows: &mut impl Iterator<Item = RosterRow>,
    report: &mut Report,
    run: &Run,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<(), StoreError> {
    let lang = run.lang;
    let today = run.now.date_naive();
    let batch_rows = batch_size();
    let mut batch = store.import_batch()?;
    let mut in_batch = 0;
    for row in rows.by_ref() {
        if let Some(pb) = progress {
            pb.inc(1);
        }
        let mut input = row.input.clone();
        input.consent = run.consent_flag || row.consent == Some(true);
        let validated = match validate(&input, today) {
            Ok(v) if row.problems.is_empty() => row
                .check(&v.member.document)
                .map(|()| v)
                .map_err(|e| vec![e]),
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
        let v = match validated {
            Ok(v) => v,
            Err(errors) => {
                report.rejected += 1;
                report.human_lines.push(t!(
                    lang,
                    "import.row_rejected",
                    row = row.number,
                    reasons = errors
                        .iter()
                        .map(|e| e.message(lang))
                        .collect::<Vec<_>>()
                        .join("；")
                ));
                report.rows.push(RowReport {
                    row: row.number,
                    status: Status::Rejected,
                    member_no: None,
                    errors: errors.iter().map(|e| Problem::of(e, lang)).collect(),
                    warnings: Vec::new(),
                });
                continue;
            }
        };
        match batch.register(&v, run.event, run.now) {
            Ok(m) => {
                in_batch += 1;
                let member_no = m.member_no.grouped();
                report.batch_numbers.insert(member_no.clone());
                report.rows.push(RowReport {
                    row: row.number,
                    status: Status::Accepted,
                    member_no: (!run.dry_run).then_some(member_no),
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
                });
            }
            Err(RegisterError::Duplicate(existing)) => {
                let member_no = existing.member_no.grouped();
                let reason = t!(lang, "import.duplicate_in_store", member_no = member_no);
                report.human_lines.push(t!(
                    lang,
                    "import.row_duplicate",
                    row = row.number,
                    reason = reason
                ));
                report.rows.push(RowReport {
                    row: row.number,
                    status: Status::Duplicate,
                    member_no: Some(member_no),
                    errors: vec![Problem {
                        field: Some(Field::IdNumber.code()),
                        code: "duplicate",
                        message: reason,
                    }],
                    warnings: Vec::new(),
                });
            }
            Err(RegisterError::Store(e)) => {
                // Disk full or worse: this batch rolls back (dropped on return).
                report.rows.push(not_stored(row.number, lang));
                return Err(e);
            }
        }
        if !run.dry_run && in_batch >= batch_rows {
            batch.commit()?;
            report.committed();
            batch = store.import_batch()?;
            in_batch = 0;
        }
    }
    if run.dry_run {
        drop(batch); // rolls back: a dry run saves nothing
    } else {
        batch.commit()?;
        report.committed();
    }
    Ok(())
}

/// What went wrong with the store, without the single registration's "this entry was not
/// saved" (the import report says row by row what was).
fn store_problem(e: &StoreError, lang: Lang) -> String {
    match e {
        StoreError::DiskFull => t!(lang, "import.disk_full").into(),
        e => e.message(lang),
    }
}

fn count(reports: &[RowReport], s: Status) -> usize {
    reports.iter().filter(|r| r.status == s).count()
}

fn not_stored(row: usize, lang: Lang) -> RowReport {
    RowReport {
        row,
        status: Status::NotStored,
        member_no: None,
        errors: vec![Problem {
            field: None,
            code: "not_stored",
            message: t!(lang, "import.row_not_stored").into(),
        }],
        warnings: Vec::new(),
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
