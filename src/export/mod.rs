//! The day's records as a file for the union office: xlsx, CSV or JSON.
//!
//! - xlsx and CSV use the column headers a union office recognises (姓名, 性别, 出生日期, 民族,
//!   身份证号, 手机号, 工作单位, …), in the operator's language; CSV is UTF-8 with a BOM so
//!   Excel shows the Chinese text. ID and phone numbers are written as text, never numbers.
//! - Cells starting with `=`, `+`, `-`, `@`, tab or CR get a leading `'` so no spreadsheet
//!   program runs them as formulas (CSV/formula injection).
//! - In xlsx, dates and times are real date cells with a date format (an office can sort and
//!   filter them); times are local, and their format shows the offset (`+08:00`). CSV writes
//!   times as local time with the offset.
//! - JSON is `{"records": [...]}` with stable English keys, for scripts.
//! - `-` as the output writes to standard output.
//! - Files are written to a temporary `.part` name and renamed: a crash never leaves half a
//!   file under the real name. The laptop notes each `.part` in its data folder first
//!   ([`partial`]), so one left by a killed export is removed at the next start.

pub mod columns;
pub mod partial;
pub mod xlsx;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::card::MemberNo;
use crate::i18n::Lang;
use crate::member::state::CardStatus;
use crate::member::text::display_safe;
use crate::member::{BoothEvent, Gender, Member, State};
use crate::store::members::{StateFilter, StoredMember};
use crate::store::{Store, StoreError};
use crate::t;
pub use columns::{CONSOLE_VIEW, OFFICE_COPY, Profile};

/// One exported record: what the laptop's store and the office's database both fill, each
/// with what it knows (the laptop its queue state, the office the device that sent it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportRow {
    pub uuid: Uuid,
    pub member_no: MemberNo,
    /// `None` once purged after upload and the retention period.
    pub member: Option<Member>,
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
    pub region: Option<String>,
    pub employment_form: Option<String>,
    pub needs: Vec<String>,
    pub event: BoothEvent,
    pub event_date: NaiveDate,
    /// `None` only for an erased member at the office (the record no longer says).
    pub consent_at: Option<DateTime<FixedOffset>>,
    pub created_at: Option<DateTime<FixedOffset>>,
    /// The laptop's last change, or when the office received it.
    pub updated_at: DateTime<FixedOffset>,
    /// The laptop's queue state; the office has no queue (`None`).
    pub state: Option<State>,
    pub state_reason: Option<String>,
    pub server_member_no: Option<String>,
    pub purged_at: Option<DateTime<FixedOffset>>,
    /// The office's name of the laptop that sent it; the laptop leaves it empty.
    pub device: Option<String>,
    /// The office's review of the member (待审核 / 已审核 / 有疑问), as the message key of
    /// its label; the laptop has none.
    pub review: Option<&'static str>,
    /// The card's state at the office (有效 / 已作废 / 已撤销) and why; the laptop has its
    /// queue state instead (`state`), and the two share the state columns.
    pub status: Option<CardStatus>,
    pub status_reason: Option<String>,
}

impl From<StoredMember> for ExportRow {
    fn from(m: StoredMember) -> Self {
        ExportRow {
            uuid: m.uuid,
            member_no: m.member_no,
            member: m.member,
            gender: m.facts.gender,
            birth_date: m.facts.birth_date,
            region: m.facts.region,
            employment_form: m.employment_form,
            needs: m.needs,
            event: m.event,
            event_date: m.event_date,
            consent_at: Some(m.consent_at),
            created_at: Some(m.created_at),
            updated_at: m.updated_at,
            state: Some(m.state),
            state_reason: m.state_reason,
            server_member_no: m.server_member_no,
            purged_at: m.purged_at,
            device: None,
            review: None,
            status: None,
            status_reason: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
    Json,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<ExportFormat> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(ExportFormat::Csv),
            "xlsx" => Some(ExportFormat::Xlsx),
            "json" => Some(ExportFormat::Json),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The office's database failed while paging through its records.
    #[error("reading the records: {0}")]
    Source(String),
    #[error("cannot write {path}: {why}")]
    Write { path: PathBuf, why: String },
}

impl ExportError {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            ExportError::Store(e) => e.message(lang),
            ExportError::Source(why) => t!(lang, "export.source", why = why),
            ExportError::Write { path, why } => {
                t!(lang, "export.write", path = path.display(), why = why)
            }
        }
    }
}

/// A cell that no spreadsheet will execute, with hazardous characters replaced.
pub fn neutralise(s: &str) -> String {
    let s = display_safe(s);
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.into_owned(),
    }
}

/// One record as JSON (the `export --format json` shape).
pub fn record_json(m: &ExportRow) -> Value {
    let member = m.member.as_ref();
    json!({
        "uuid": m.uuid,
        "member_no": m.member_no,
        "state": m.state,
        "state_reason": m.state_reason,
        "server_member_no": m.server_member_no,
        "name": member.map(|x| &x.name),
        "doc_type": member.map(|x| x.document.kind),
        "id_number": member.map(|x| &x.document.number),
        "phone": member.map(|x| &x.phone),
        "employer": member.map(|x| &x.employer),
        "details": member.map(|x| &x.details),
        "gender": m.gender,
        "birth_date": m.birth_date,
        "region": m.region,
        "employment_form": m.employment_form,
        "needs": m.needs,
        "union": m.event.union,
        "place": m.event.place,
        "operator": m.event.operator,
        "event_date": m.event_date,
        "consent_at": m.consent_at,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
        "purged_at": m.purged_at,
        "device": m.device,
    })
}

/// The name a file is written under until it is complete.
pub fn tmp_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    out.with_file_name(name)
}

/// `--out -`: standard output.
pub fn is_stdout(out: &Path) -> bool {
    out.as_os_str() == "-"
}

/// Where exported records come from: the laptop's store, or the office server's database.
pub trait RecordSource {
    /// Calls `f` for every record, in order, without loading them all at once.
    fn for_each_record(
        &self,
        f: &mut dyn FnMut(ExportRow) -> Result<(), ExportError>,
    ) -> Result<(), ExportError>;
}

struct StoreSource<'a> {
    store: &'a Store,
    filter: StateFilter,
}

impl RecordSource for StoreSource<'_> {
    fn for_each_record(
        &self,
        f: &mut dyn FnMut(ExportRow) -> Result<(), ExportError>,
    ) -> Result<(), ExportError> {
        self.store.for_each(self.filter, |m| f(m.into()))
    }
}

/// Writes the records matching `filter` to `out` (`-`: standard output), every field
/// ([`OFFICE_COPY`]); returns how many. The `.part` file is noted in the data folder while it
/// exists (see [`partial`]).
pub fn export(
    store: &Store,
    filter: StateFilter,
    format: ExportFormat,
    out: &Path,
    lang: Lang,
) -> Result<usize, ExportError> {
    export_to(
        &StoreSource { store, filter },
        format,
        out,
        lang,
        Some(store.dir()),
    )
}

/// Writes every record of `src` to `out` (`-`: standard output), every field
/// ([`OFFICE_COPY`]); returns how many.
pub fn export_from(
    src: &dyn RecordSource,
    format: ExportFormat,
    out: &Path,
    lang: Lang,
) -> Result<usize, ExportError> {
    export_to(src, format, out, lang, None)
}

fn export_to(
    src: &dyn RecordSource,
    format: ExportFormat,
    out: &Path,
    lang: Lang,
    data_dir: Option<&Path>,
) -> Result<usize, ExportError> {
    let werr = |e: &dyn std::fmt::Display| ExportError::Write {
        path: out.to_path_buf(),
        why: e.to_string(),
    };
    if is_stdout(out) {
        let stdout = std::io::stdout();
        let count = write_all(src, format, stdout.lock(), lang, &werr)?;
        tracing::info!(count, ?format, "exported to standard output");
        return Ok(count);
    }
    let tmp = tmp_path(out);
    // One left by an export of this same file that was killed: it is ours to remove.
    let _ = std::fs::remove_file(&tmp);
    if let Some(dir) = data_dir {
        partial::note(dir, &tmp).map_err(|e| werr(&e))?;
    }
    let written = File::create(&tmp)
        .map_err(|e| werr(&e))
        .and_then(|f| write_all(src, format, BufWriter::new(f), lang, &werr))
        .and_then(|n| std::fs::rename(&tmp, out).map(|()| n).map_err(|e| werr(&e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    if let Some(dir) = data_dir {
        partial::done(dir, &tmp);
    }
    let count = written?;
    tracing::info!(count, ?format, "exported");
    Ok(count)
}

/// Writes every record of `src` as a whole file to `w`, flushed.
fn write_all<W: Write>(
    src: &dyn RecordSource,
    format: ExportFormat,
    w: W,
    lang: Lang,
    werr: &dyn Fn(&dyn std::fmt::Display) -> ExportError,
) -> Result<usize, ExportError> {
    let mut file = Writer::new(format, &OFFICE_COPY, w, lang).map_err(|e| werr(&e))?;
    src.for_each_record(&mut |m| file.row(&m).map_err(|e| werr(&e)))?;
    let (_, n) = file.finish().map_err(|e| werr(&e))?;
    Ok(n as usize)
}

/// An export file being written, one record at a time: the one CSV, JSON and xlsx writer of
/// every export (the laptop's, `booth server export`, the console's).
pub struct Writer<W: Write> {
    kind: Kind<W>,
    rows: u64,
}

#[expect(
    clippy::large_enum_variant,
    reason = "one per file being written: a few hundred bytes more cost nothing"
)]
enum Kind<W: Write> {
    Csv {
        csv: csv::Writer<W>,
        columns: Vec<columns::Chosen>,
        lang: Lang,
    },
    Json(W),
    Xlsx(xlsx::Book<W>),
}

impl<W: Write> Writer<W> {
    /// Starts a file: `profile` picks the columns of CSV and xlsx (JSON holds every field).
    pub fn new(
        format: ExportFormat,
        profile: &Profile,
        mut out: W,
        lang: Lang,
    ) -> io::Result<Self> {
        let kind = match format {
            ExportFormat::Csv => {
                // a BOM: Excel opens UTF-8 CSV as such only with one
                out.write_all(b"\xEF\xBB\xBF")?;
                let columns = profile.chosen(lang);
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(columns.iter().map(|c| c.header))?;
                Kind::Csv { csv, columns, lang }
            }
            ExportFormat::Json => {
                out.write_all(b"{\"records\":[\n")?;
                Kind::Json(out)
            }
            ExportFormat::Xlsx => Kind::Xlsx(xlsx::Book::new(out, profile, lang)),
        };
        Ok(Writer { kind, rows: 0 })
    }

    /// Fewer data rows per xlsx sheet than Excel's limit (tests of the sheet break).
    pub fn rows_per_sheet(mut self, n: u64) -> Self {
        if let Kind::Xlsx(book) = self.kind {
            self.kind = Kind::Xlsx(book.rows_per_sheet(n));
        }
        self
    }

    pub fn row(&mut self, m: &ExportRow) -> io::Result<()> {
        match &mut self.kind {
            Kind::Csv { csv, columns, lang } => csv.write_record(
                columns
                    .iter()
                    .map(|c| neutralise(&(c.column.value)(m, *lang))),
            )?,
            Kind::Json(w) => {
                let sep = if self.rows == 0 { "" } else { ",\n" };
                let json = record_json(m).to_string();
                write!(
                    w,
                    "{sep}{}",
                    crate::member::text::json_escape_hazards(&json)
                )?;
            }
            Kind::Xlsx(book) => book.row(m)?,
        }
        self.rows += 1;
        Ok(())
    }

    /// Ends the file; returns the writer, flushed, and how many records it holds.
    pub fn finish(self) -> io::Result<(W, u64)> {
        let n = self.rows;
        let mut w = match self.kind {
            Kind::Csv { csv, .. } => csv.into_inner().map_err(|e| e.into_error())?,
            Kind::Json(mut w) => {
                writeln!(w, "\n],\"count\":{n}}}")?;
                w
            }
            Kind::Xlsx(book) => book.finish()?,
        };
        w.flush()?;
        Ok((w, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("+1"), "'+1");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("-2+3"), "'-2+3");
        assert_eq!(neutralise("某公司"), "某公司");
        assert_eq!(neutralise("a\u{1b}[2J"), "a\u{fffd}[2J");
    }

    /// A purged record: most cells blank, a few kept (number, dates, place).
    fn purged(seq: u32) -> ExportRow {
        let at = DateTime::parse_from_rfc3339("2026-11-24T09:30:15+08:00").unwrap();
        ExportRow {
            uuid: Uuid::from_u128(u128::from(seq)),
            member_no: MemberNo::new("K7M2QX", seq).unwrap(),
            member: None,
            gender: None,
            birth_date: None,
            region: None,
            employment_form: None,
            needs: Vec::new(),
            event: BoothEvent {
                union: "朝阳区总工会".into(),
                place: "=望京".into(),
                operator: String::new(),
            },
            event_date: at.date_naive(),
            consent_at: Some(at),
            created_at: Some(at),
            updated_at: at,
            state: Some(State::Uploaded),
            state_reason: None,
            server_member_no: None,
            purged_at: Some(at),
            device: None,
            review: None,
            status: None,
            status_reason: None,
        }
    }

    fn file(format: ExportFormat, rows: &[ExportRow]) -> Vec<u8> {
        let mut w = Writer::new(format, &OFFICE_COPY, Vec::new(), Lang::Zh).unwrap();
        for r in rows {
            w.row(r).unwrap();
        }
        let (bytes, n) = w.finish().unwrap();
        assert_eq!(n, rows.len() as u64);
        bytes
    }

    #[test]
    fn xlsx_and_csv_hold_the_same_cells_blanks_keeping_their_places() {
        use calamine::{Data, Reader};
        let rows = [purged(1), purged(2)];
        let csv_bytes = file(ExportFormat::Csv, &rows);
        let mut csv = csv::Reader::from_reader(&csv_bytes[3..]);
        let csv_rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
        let xlsx = file(ExportFormat::Xlsx, &rows);
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx)).unwrap();
        let sheet = book.worksheet_range("会员登记").unwrap();
        assert_eq!(sheet.height(), 3);
        let headers: Vec<String> = sheet
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(headers, csv.headers().unwrap().iter().collect::<Vec<_>>());
        for (i, csv_row) in csv_rows.iter().enumerate() {
            for (j, key) in OFFICE_COPY.keys().enumerate() {
                let cell = sheet.get((i + 1, j)).cloned().unwrap_or(Data::Empty);
                match key {
                    "consent_at" | "created_at" | "event_date" => {
                        assert!(matches!(cell, Data::DateTime(_)), "{key}: {cell:?}")
                    }
                    // a blank is a blank, and the cell after it is in its own column
                    _ if csv_row[j].is_empty() => assert_eq!(cell, Data::Empty, "{key}"),
                    _ => assert_eq!(cell.to_string(), csv_row[j], "{key}"),
                }
            }
        }
        assert_eq!(
            csv_rows[1][0],
            MemberNo::new("K7M2QX", 2).unwrap().grouped()
        );
        assert!(
            csv_rows[0].iter().any(|c| c == "'=望京"),
            "{:?}",
            csv_rows[0]
        );
    }

    #[test]
    fn json_holds_every_record_and_its_count() {
        let v: Value =
            serde_json::from_slice(&file(ExportFormat::Json, &[purged(1), purged(2)])).unwrap();
        assert_eq!(v["count"], 2);
        assert_eq!(
            v["records"][1]["member_no"],
            MemberNo::new("K7M2QX", 2).unwrap().grouped()
        );
        assert_eq!(v["records"][0]["name"], Value::Null);
        assert_eq!(v["records"][0]["place"], "=望京");
    }
}
