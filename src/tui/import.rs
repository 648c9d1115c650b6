//! A roster imported from the terminal UI (the import screen, F9): the file path completed as
//! a shell would, the file read off the UI thread, and the rows registered in chunks between
//! frames, so the screen shows progress and Esc stops between two chunks.
//!
//! The rules of a row are `booth import`'s: the same validation as the form, consent from the
//! file's column or from the operator's one answer for a file without one, duplicates named
//! with the member number they have, every chunk one transaction (a stop or a full disk keeps
//! whole chunks, and running the file again completes it without registering anyone twice).
//! (When the import's policy moves into the domain — issue 20 — this runs it instead.)

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};

use crate::i18n::Lang;
use crate::member::{BoothEvent, validate};
use crate::roster::{Roster, RosterRow};
use crate::store::{RegisterError, Store, StoreError};
use crate::t;

/// Rows per transaction: a chunk takes a few tens of milliseconds, so keys are answered
/// between chunks.
pub const CHUNK: usize = 500;

/// What the file holds, for the screen before the import starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RosterSummary {
    pub path: PathBuf,
    pub rows: usize,
    pub sheet: Option<String>,
    pub header_row: usize,
    /// Headings booth does not read.
    pub ignored: Vec<String>,
    /// The file has a consent column (同意…): its cells decide, row by row.
    pub has_consent: bool,
}

impl RosterSummary {
    pub fn of(path: &Path, r: &Roster) -> RosterSummary {
        RosterSummary {
            path: path.to_path_buf(),
            rows: r.rows.len(),
            sheet: r.sheet.clone(),
            header_row: r.header_row,
            ignored: r.ignored.iter().map(|(_, h)| h.clone()).collect(),
            has_consent: r
                .columns
                .iter()
                .any(|(f, _)| *f == crate::member::Field::Consent),
        }
    }
}

/// One row the import did not register, and why (in words).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowProblem {
    pub row: usize,
    pub kind: ProblemKind,
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    Rejected,
    /// Registered here already: the text names the member number.
    Duplicate,
    /// Valid, but not stored (the store failed at or before it).
    NotStored,
}

/// What the import did so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub total: usize,
    pub done: usize,
    pub accepted: usize,
    pub problems: Vec<RowProblem>,
    /// Why it stopped before the end: the operator (`None` message) or the store.
    pub stopped: Option<Option<String>>,
}

impl ImportReport {
    pub fn count(&self, kind: ProblemKind) -> usize {
        self.problems.iter().filter(|p| p.kind == kind).count()
    }

    /// "共 120 行：接受 117，退回 2，重复 1" and how it ended.
    pub fn summary(&self, lang: Lang) -> String {
        let mut s = t!(
            lang,
            "import.summary",
            rows = self.total,
            accepted = self.accepted,
            rejected = self.count(ProblemKind::Rejected),
            duplicate = self.count(ProblemKind::Duplicate)
        );
        match &self.stopped {
            None => {}
            Some(None) => {
                s.push_str("  ");
                s.push_str(&t!(
                    lang,
                    "import_screen.stopped",
                    done = self.done,
                    total = self.total
                ));
            }
            Some(Some(why)) => {
                s.push_str("  ");
                s.push_str(why);
            }
        }
        s
    }
}

/// An import under way: the rows not yet handled and the report so far.
pub struct ImportRun {
    rows: std::vec::IntoIter<RosterRow>,
    /// The operator's yes for a file without a consent column.
    consent_for_all: bool,
    event: BoothEvent,
    now: DateTime<FixedOffset>,
    lang: Lang,
    pub report: ImportReport,
}

impl ImportRun {
    pub fn new(
        roster: Roster,
        consent_for_all: bool,
        event: BoothEvent,
        now: DateTime<FixedOffset>,
        lang: Lang,
    ) -> ImportRun {
        ImportRun {
            report: ImportReport {
                total: roster.rows.len(),
                ..ImportReport::default()
            },
            rows: roster.rows.into_iter(),
            consent_for_all,
            event,
            now,
            lang,
        }
    }

    pub fn finished(&self) -> bool {
        self.report.done >= self.report.total || self.report.stopped.is_some()
    }

    /// Registers up to [`CHUNK`] rows in one transaction. A store failure rolls the chunk
    /// back (its rows and every later one are reported not stored) and ends the run.
    pub fn step(&mut self, store: &mut Store) {
        let lang = self.lang;
        let today = self.now.date_naive();
        let chunk: Vec<RosterRow> = self.rows.by_ref().take(CHUNK).collect();
        let mut problems = Vec::new();
        let mut accepted = 0;
        let result = (|| -> Result<(), StoreError> {
            let mut batch = store.import_batch()?;
            for row in &chunk {
                let mut input = row.input.clone();
                input.consent = self.consent_for_all || row.consent == Some(true);
                let checked = match validate(&input, today) {
                    Ok(v) if row.problems.is_empty() => row
                        .check(&v.member.document)
                        .map(|()| v)
                        .map_err(|e| vec![e]),
                    Ok(_) => Err(row.problems.clone()),
                    Err(mut errors) => {
                        // Excel's lost digits explain a check-character failure better
                        for p in &row.problems {
                            errors.retain(|e| e.field != p.field);
                            errors.push(p.clone());
                        }
                        errors.sort_by_key(|e| e.field);
                        Err(errors)
                    }
                };
                let v = match checked {
                    Ok(v) => v,
                    Err(errors) => {
                        let text = errors
                            .iter()
                            .map(|e| e.message(lang))
                            .collect::<Vec<_>>()
                            .join("；");
                        problems.push(RowProblem {
                            row: row.number,
                            kind: ProblemKind::Rejected,
                            text,
                        });
                        continue;
                    }
                };
                match batch.register(&v, &self.event, &self.now) {
                    Ok(_) => accepted += 1,
                    Err(RegisterError::Duplicate(e)) => problems.push(RowProblem {
                        row: row.number,
                        kind: ProblemKind::Duplicate,
                        text: t!(
                            lang,
                            "import.duplicate_in_store",
                            member_no = e.member_no.grouped()
                        ),
                    }),
                    Err(RegisterError::Store(e)) => return Err(e),
                }
            }
            batch.commit()
        })();
        self.report.done += chunk.len();
        match result {
            Ok(()) => {
                self.report.accepted += accepted;
                self.report.problems.extend(problems);
            }
            Err(e) => {
                let why = e.diagnose(store.dir()).message(lang);
                tracing::warn!("import from the terminal UI stopped on the store");
                // the chunk rolled back: its valid rows, and all after it, are not stored
                self.report.problems.extend(
                    problems
                        .into_iter()
                        .filter(|p| p.kind == ProblemKind::Rejected),
                );
                let rest = chunk
                    .iter()
                    .map(|r| r.number)
                    .chain(self.rows.by_ref().map(|r| r.number));
                let not_stored = t!(lang, "import.row_not_stored").to_string();
                for row in rest {
                    if !self.report.problems.iter().any(|p| p.row == row) {
                        self.report.problems.push(RowProblem {
                            row,
                            kind: ProblemKind::NotStored,
                            text: not_stored.clone(),
                        });
                    }
                }
                self.report.problems.sort_by_key(|p| p.row);
                self.report.done = self.report.total;
                self.report.stopped = Some(Some(why));
            }
        }
    }

    /// The operator stopped it: the rows not handled stay so (a re-run completes the file).
    pub fn stop(&mut self) {
        if !self.finished() {
            self.report.stopped = Some(None);
        }
    }
}

/// Completes a typed path as a shell's Tab does: `~/` is the home folder; the entries of the
/// folder that start with the last part, folders ending in `/`. Returns the new text (the
/// longest common start of the matches) and the matches when there are several. `list`
/// reads a folder: the file system in the app, a fixed list in tests.
pub fn complete_path(
    typed: &str,
    home: Option<&Path>,
    list: impl Fn(&Path) -> Vec<(String, bool)>,
) -> (String, Vec<String>) {
    let expanded = match (typed.strip_prefix("~/"), home) {
        (Some(rest), Some(h)) => format!("{}/{rest}", h.display()),
        _ if typed == "~" => home.map_or(typed.to_string(), |h| format!("{}/", h.display())),
        _ => typed.to_string(),
    };
    let (dir, prefix) = match expanded.rfind('/') {
        Some(i) => (&expanded[..=i], &expanded[i + 1..]),
        None => ("./", expanded.as_str()),
    };
    let mut matches: Vec<(String, bool)> = list(Path::new(dir))
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix))
        // hidden entries only when asked for with a dot
        .filter(|(name, _)| !name.starts_with('.') || prefix.starts_with('.'))
        .collect();
    matches.sort();
    let shown: Vec<String> = matches
        .iter()
        .map(|(n, is_dir)| if *is_dir { format!("{n}/") } else { n.clone() })
        .collect();
    let base = if expanded.contains('/') { dir } else { "" };
    match shown.as_slice() {
        [] => (expanded, Vec::new()),
        [one] => (format!("{base}{one}"), Vec::new()),
        many => {
            let mut common = many[0].clone();
            for m in &many[1..] {
                let n = common
                    .chars()
                    .zip(m.chars())
                    .take_while(|(a, b)| a == b)
                    .count();
                common = common.chars().take(n).collect();
            }
            (format!("{base}{common}"), many.to_vec())
        }
    }
}

/// A folder's entries (name, is a folder), for [`complete_path`]; unreadable: none.
pub fn list_dir(dir: &Path) -> Vec<(String, bool)> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    let is_dir = e.path().is_dir();
                    (e.file_name().to_string_lossy().into_owned(), is_dir)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(dir: &Path) -> Vec<(String, bool)> {
        match dir.to_str().unwrap() {
            "/home/cadre/" => vec![
                ("名单".into(), true),
                ("名册2026.xlsx".into(), false),
                ("名册2025.xlsx".into(), false),
                (".cache".into(), true),
            ],
            "/home/cadre/名单/" => vec![("顺丰.csv".into(), false)],
            _ => Vec::new(),
        }
    }

    #[test]
    fn a_path_completes_as_a_shell_would() {
        let home = Path::new("/home/cadre");
        let c = |t: &str| complete_path(t, Some(home), folder);
        assert_eq!(
            c("~/名单").0,
            "/home/cadre/名单/",
            "one folder: with its slash"
        );
        assert_eq!(
            c("/home/cadre/名单/"),
            ("/home/cadre/名单/顺丰.csv".to_string(), vec![])
        );
        let (text, many) = c("~/名册");
        assert_eq!(text, "/home/cadre/名册202");
        assert_eq!(many, ["名册2025.xlsx", "名册2026.xlsx"]);
        let (text, many) = c("~/");
        assert_eq!(text, "/home/cadre/名");
        assert_eq!(many.len(), 3, "no hidden entries: {many:?}");
        assert_eq!(c("~/x").0, "/home/cadre/x", "nothing matches: as typed");
    }
}
