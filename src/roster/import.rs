//! A read roster registered in the store: every row through the same validation as the form,
//! rows committed in batches, and an outcome per row that says exactly what is stored.
//!
//! - A bad row is rejected and skipped; the good ones are stored, in batches of
//!   [`ImportOptions::batch_rows`]: a killed import keeps whole batches, and a re-run finds the
//!   stored rows as duplicates, registering nobody twice.
//! - When the store fails (a full disk), the open batch rolls back: its accepted rows, its
//!   duplicates of rows it had registered itself, and every later row become
//!   [`RowOutcome::NotStored`]; the rows of committed batches stay accepted.
//! - A dry run validates and registers inside a batch that is never committed: nothing is
//!   kept, and no member number is reported.

use std::collections::HashSet;

use chrono::{DateTime, FixedOffset};

use super::RosterRow;
use crate::card::MemberNo;
use crate::member::{BoothEvent, FieldError, Validated, Warning, validate};
use crate::store::{RegisterError, Store, StoreError};

/// Rows per transaction. Bigger batches rewrite fewer index pages into the write-ahead log (a
/// page changed by many batches is logged once per batch); a full disk costs at most one batch
/// of work, whose rows the outcome names.
pub const BATCH_ROWS: usize = 20_000;

/// How one import runs.
#[derive(Clone, Copy, Debug)]
pub struct ImportOptions {
    /// Check and report every row, keep nothing.
    pub dry_run: bool,
    /// Signed paper consent forms were collected for every row (`--consent`); without it a
    /// row needs its own consent cell.
    pub consent: bool,
    /// Rows per transaction (see [`BATCH_ROWS`]).
    pub batch_rows: usize,
}

/// What became of one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowOutcome {
    /// Stored (on a dry run: would be; the number is then not reported, it was not kept).
    Accepted {
        member_no: Option<MemberNo>,
        warnings: Vec<Warning>,
    },
    /// Refused by validation, every problem at once.
    Rejected { errors: Vec<FieldError> },
    /// The person is already in the store, under this number.
    Duplicate { existing: MemberNo },
    /// Valid, but not in the store: the store failed (disk full) at or before this row.
    NotStored,
}

/// A row of the file (its number as a spreadsheet program shows it) and its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowResult {
    pub row: usize,
    pub outcome: RowOutcome,
}

/// The whole import: one result per row, in file order, and how the store fared.
#[derive(Debug)]
pub struct ImportOutcome {
    pub rows: Vec<RowResult>,
    /// The store failed mid-import: the batch being written rolled back (its rows and every
    /// later one are [`RowOutcome::NotStored`]).
    pub failure: Option<StoreError>,
    /// The committed rows are stored (in the write-ahead log) but the final flush failed;
    /// the next start completes it.
    pub flush_failed: Option<StoreError>,
}

impl ImportOutcome {
    fn count(&self, f: impl Fn(&RowOutcome) -> bool) -> usize {
        self.rows.iter().filter(|r| f(&r.outcome)).count()
    }

    pub fn accepted(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Accepted { .. }))
    }

    pub fn rejected(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Rejected { .. }))
    }

    pub fn duplicate(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::Duplicate { .. }))
    }

    pub fn not_stored(&self) -> usize {
        self.count(|o| matches!(o, RowOutcome::NotStored))
    }

    /// The row numbers with an outcome of this kind, in file order.
    pub fn rows_where(&self, f: impl Fn(&RowOutcome) -> bool) -> Vec<usize> {
        self.rows
            .iter()
            .filter(|r| f(&r.outcome))
            .map(|r| r.row)
            .collect()
    }
}

/// The outcomes so far, and where the open batch began (a batch that rolls back turns its
/// accepted rows into not-stored ones).
struct Outcomes {
    rows: Vec<RowResult>,
    batch_start: usize,
    /// The numbers the open batch registered: a duplicate of one of them is a duplicate of
    /// nothing once the batch rolls back.
    batch_numbers: HashSet<MemberNo>,
}

impl Outcomes {
    fn push(&mut self, row: usize, outcome: RowOutcome) {
        self.rows.push(RowResult { row, outcome });
    }

    /// The open batch was committed: its rows are stored.
    fn committed(&mut self) {
        self.batch_start = self.rows.len();
        self.batch_numbers.clear();
    }

    /// The open batch rolled back: nothing it registered is stored.
    fn rolled_back(&mut self) {
        for r in &mut self.rows[self.batch_start..] {
            let lost = match &r.outcome {
                RowOutcome::Accepted { .. } => true,
                RowOutcome::Duplicate { existing } => self.batch_numbers.contains(existing),
                _ => false,
            };
            if lost {
                r.outcome = RowOutcome::NotStored;
            }
        }
        self.committed();
    }
}

/// Registers the rows of a roster as `event`'s members at `now`; `on_row` is called once per
/// row read (a progress bar). Fails only when the store cannot be prepared at all; a failure
/// mid-import is in the outcome, with the rows it cost.
pub fn import_rows(
    store: &mut Store,
    rows: Vec<RosterRow>,
    event: &BoothEvent,
    now: &DateTime<FixedOffset>,
    opts: ImportOptions,
    mut on_row: impl FnMut(),
) -> Result<ImportOutcome, StoreError> {
    let mut outcomes = Outcomes {
        rows: Vec::with_capacity(rows.len()),
        batch_start: 0,
        batch_numbers: HashSet::new(),
    };
    // Batches are committed without waiting for the disk; one flush at the end makes them
    // durable. A power cut mid-import loses only unflushed batches, never integrity, and a
    // re-run completes the roster without registering anyone twice.
    store.bulk_mode(true)?;
    let mut rows = rows.into_iter();
    let written = write_rows(
        store,
        &mut rows,
        &mut outcomes,
        event,
        now,
        opts,
        &mut on_row,
    );
    let failure = match written {
        Ok(()) => None,
        Err(e) => {
            outcomes.rolled_back();
            for row in rows.by_ref() {
                outcomes.push(row.number, RowOutcome::NotStored);
            }
            Some(e)
        }
    };
    // The roster's memory goes before the caller builds its report (200,000 rows at most).
    drop(rows);
    // Leaving bulk mode flushes the committed batches: if that fails (disk full), the rows are
    // stored all the same (in the write-ahead log) and the next start completes the flush.
    let flush_failed = store.bulk_mode(false).err();
    let outcome = ImportOutcome {
        rows: outcomes.rows,
        failure,
        flush_failed,
    };
    tracing::info!(
        rows = outcome.rows.len(),
        accepted = outcome.accepted(),
        rejected = outcome.rejected(),
        duplicate = outcome.duplicate(),
        not_stored = outcome.not_stored(),
        dry_run = opts.dry_run,
        "import finished"
    );
    Ok(outcome)
}

/// A row validated as the form validates, with what the roster itself found wrong (Excel's
/// lost digits) in place of the validation's own words for the same field.
fn check_row(
    row: &RosterRow,
    consent: bool,
    today: chrono::NaiveDate,
) -> Result<Validated, Vec<FieldError>> {
    let mut input = row.input.clone();
    input.consent = consent || row.consent == Some(true);
    match validate(&input, today) {
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
    }
}

/// Validates and stores the rows in batches. On a store error the open batch is dropped
/// (rolled back) and the error returned; the failing row is already `NotStored`.
fn write_rows(
    store: &mut Store,
    rows: &mut impl Iterator<Item = RosterRow>,
    out: &mut Outcomes,
    event: &BoothEvent,
    now: &DateTime<FixedOffset>,
    opts: ImportOptions,
    on_row: &mut impl FnMut(),
) -> Result<(), StoreError> {
    let today = now.date_naive();
    let batch_rows = opts.batch_rows.max(1);
    let mut batch = store.import_batch()?;
    let mut in_batch = 0;
    for row in rows.by_ref() {
        on_row();
        let v = match check_row(&row, opts.consent, today) {
            Ok(v) => v,
            Err(errors) => {
                out.push(row.number, RowOutcome::Rejected { errors });
                continue;
            }
        };
        match batch.register(&v, event, now) {
            Ok(m) => {
                in_batch += 1;
                out.batch_numbers.insert(m.member_no.clone());
                let outcome = RowOutcome::Accepted {
                    member_no: (!opts.dry_run).then_some(m.member_no),
                    warnings: v.warnings,
                };
                out.push(row.number, outcome);
            }
            Err(RegisterError::Duplicate(existing)) => {
                let existing = existing.member_no;
                out.push(row.number, RowOutcome::Duplicate { existing });
            }
            Err(RegisterError::Store(e)) => {
                // Disk full or worse: this batch rolls back (dropped on return).
                out.push(row.number, RowOutcome::NotStored);
                return Err(e);
            }
        }
        if !opts.dry_run && in_batch >= batch_rows {
            batch.commit()?;
            out.committed();
            batch = store.import_batch()?;
            in_batch = 0;
        }
    }
    if opts.dry_run {
        drop(batch); // rolls back: a dry run saves nothing
    } else {
        batch.commit()?;
        out.committed();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::MemberInput;

    fn row(number: usize, id: &str) -> RosterRow {
        RosterRow {
            number,
            input: MemberInput {
                name: "葛婷婷".into(),
                id_number: id.into(),
                phone: "13800138000".into(),
                employer: "某公司".into(),
                ..Default::default()
            },
            consent: None,
            problems: Vec::new(),
            stated: None,
        }
    }

    fn opts(dry_run: bool, batch_rows: usize) -> ImportOptions {
        ImportOptions {
            dry_run,
            consent: true,
            batch_rows,
        }
    }

    const A: &str = "11010519491231002X";
    const B: &str = "110105198001010016";
    const C: &str = "110105199001010010";

    #[test]
    fn rows_are_accepted_rejected_or_duplicate_and_a_rerun_registers_nobody_twice() {
        let (_d, mut store) = crate::store::test_store();
        let ev = crate::config::Config::default().event();
        let now = crate::store::now();
        let rows = vec![row(2, A), row(3, "123"), row(4, B), row(5, A)];
        let mut seen = 0;
        let first = import_rows(&mut store, rows.clone(), &ev, &now, opts(false, 2), || {
            seen += 1
        })
        .unwrap();
        assert_eq!(seen, 4);
        assert_eq!(
            (first.accepted(), first.rejected(), first.duplicate()),
            (2, 1, 1)
        );
        let RowOutcome::Accepted {
            member_no: Some(a), ..
        } = &first.rows[0].outcome
        else {
            panic!("{:?}", first.rows[0]);
        };
        // the second A is a duplicate of the first, found in the store by the same INSERT
        assert_eq!(
            first.rows[3].outcome,
            RowOutcome::Duplicate {
                existing: a.clone()
            }
        );
        let again = import_rows(&mut store, rows, &ev, &now, opts(false, 2), || {}).unwrap();
        assert_eq!((again.accepted(), again.duplicate()), (0, 3));
        assert!(again.failure.is_none() && again.flush_failed.is_none());
    }

    #[test]
    fn a_dry_run_keeps_nothing_and_reports_no_number() {
        let (_d, mut store) = crate::store::test_store();
        let ev = crate::config::Config::default().event();
        let now = crate::store::now();
        let dry = import_rows(
            &mut store,
            vec![row(2, A), row(3, C)],
            &ev,
            &now,
            opts(true, 1),
            || {},
        )
        .unwrap();
        assert_eq!(dry.accepted(), 2);
        assert!(dry.rows.iter().all(|r| matches!(
            &r.outcome,
            RowOutcome::Accepted {
                member_no: None,
                ..
            }
        )));
        assert_eq!(store.search("", None, 10).unwrap().len(), 0);
    }

    #[test]
    fn a_rolled_back_batch_loses_its_rows_and_its_own_duplicates_only() {
        let stored = MemberNo::new("K7M2QX", 1).unwrap();
        let in_batch = MemberNo::new("K7M2QX", 2).unwrap();
        let mut o = Outcomes {
            rows: Vec::new(),
            batch_start: 0,
            batch_numbers: HashSet::new(),
        };
        let accepted = |n: &MemberNo| RowOutcome::Accepted {
            member_no: Some(n.clone()),
            warnings: Vec::new(),
        };
        o.push(2, accepted(&stored));
        o.committed();
        o.push(3, accepted(&in_batch));
        o.batch_numbers.insert(in_batch.clone());
        o.push(
            4,
            RowOutcome::Duplicate {
                existing: in_batch.clone(),
            },
        );
        o.push(
            5,
            RowOutcome::Duplicate {
                existing: stored.clone(),
            },
        );
        o.push(6, RowOutcome::Rejected { errors: Vec::new() });
        o.rolled_back();
        let kinds: Vec<_> = o.rows.iter().map(|r| r.outcome.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                accepted(&stored),
                RowOutcome::NotStored,
                RowOutcome::NotStored,
                RowOutcome::Duplicate { existing: stored },
                RowOutcome::Rejected { errors: Vec::new() },
            ]
        );
    }
}
