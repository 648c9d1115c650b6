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

pub mod partial;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike};
use rust_xlsxwriter::{ExcelDateTime, Format as XlsxFormat, Workbook};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::card::MemberNo;
use crate::i18n::Lang;
use crate::member::options::ListKind;
use crate::member::text::display_safe;
use crate::member::{BoothEvent, Gender, Member, State};
use crate::store::members::{StateFilter, StoredMember};
use crate::store::{Store, StoreError};
use crate::t;

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
    pub consent_at: DateTime<FixedOffset>,
    pub created_at: DateTime<FixedOffset>,
    /// The laptop's last change, or when the office received it.
    pub updated_at: DateTime<FixedOffset>,
    /// The laptop's queue state; the office has no queue (`None`).
    pub state: Option<State>,
    pub state_reason: Option<String>,
    pub server_member_no: Option<String>,
    pub purged_at: Option<DateTime<FixedOffset>>,
    /// The office's name of the laptop that sent it; the laptop leaves it empty.
    pub device: Option<String>,
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
            consent_at: m.consent_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
            state: Some(m.state),
            state_reason: m.state_reason,
            server_member_no: m.server_member_no,
            purged_at: m.purged_at,
            device: None,
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

/// One exported column: its key (JSON and English header), how to get the value as text, and
/// for dates and times the value itself (xlsx writes it as a date cell).
struct Column {
    key: &'static str,
    value: fn(&ExportRow, Lang) -> String,
    moment: Option<fn(&ExportRow) -> Option<Moment>>,
}

/// A date, or a local time with its offset.
enum Moment {
    Date(NaiveDate),
    Time(DateTime<FixedOffset>),
}

/// A time as CSV writes it: local, with the offset.
fn local_time(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%:z").to_string()
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

/// A value of the record, or empty once the record was purged.
fn of_member(m: &ExportRow, f: impl Fn(&crate::member::Member) -> String) -> String {
    m.member.as_ref().map(f).unwrap_or_default()
}

/// An optional detail of the record (None once purged or not asked).
fn of_detail(
    m: &ExportRow,
    f: impl Fn(&crate::member::Details) -> &Option<String>,
) -> Option<String> {
    m.member.as_ref().and_then(|x| f(&x.details).clone())
}

fn list_label(kind: ListKind, code: &Option<String>, lang: Lang) -> String {
    code.as_deref()
        .map(|c| kind.label(c, lang))
        .unwrap_or_default()
}

const COLUMNS: &[Column] = &[
    Column {
        key: "member_no",
        value: |m, _| m.member_no.grouped(),
        moment: None,
    },
    Column {
        key: "name",
        value: |m, _| of_member(m, |x| x.name.clone()),
        moment: None,
    },
    Column {
        key: "gender",
        value: |m, l| m.gender.map(|g| g.label(l).to_string()).unwrap_or_default(),
        moment: None,
    },
    Column {
        key: "birth_date",
        value: |m, _| m.birth_date.map(|d| d.to_string()).unwrap_or_default(),
        moment: Some(|m| m.birth_date.map(Moment::Date)),
    },
    Column {
        key: "ethnicity",
        value: |m, l| list_label(ListKind::Ethnicity, &of_detail(m, |d| &d.ethnicity), l),
        moment: None,
    },
    Column {
        key: "doc_type",
        value: |m, l| of_member(m, |x| x.document.kind.label(l).to_string()),
        moment: None,
    },
    Column {
        key: "id_number",
        value: |m, _| of_member(m, |x| x.document.number.clone()),
        moment: None,
    },
    Column {
        key: "phone",
        value: |m, _| of_member(m, |x| x.phone.clone()),
        moment: None,
    },
    Column {
        key: "employer",
        value: |m, _| of_member(m, |x| x.employer.clone()),
        moment: None,
    },
    Column {
        key: "employer_uscc",
        value: |m, _| of_member(m, |x| opt(&x.details.employer_uscc)),
        moment: None,
    },
    Column {
        key: "political_status",
        value: |m, l| {
            list_label(
                ListKind::PoliticalStatus,
                &of_detail(m, |d| &d.political_status),
                l,
            )
        },
        moment: None,
    },
    Column {
        key: "education",
        value: |m, l| list_label(ListKind::Education, &of_detail(m, |d| &d.education), l),
        moment: None,
    },
    Column {
        key: "occupation",
        value: |m, _| of_member(m, |x| opt(&x.details.occupation)),
        moment: None,
    },
    Column {
        key: "employment_form",
        value: |m, l| list_label(ListKind::EmploymentForm, &m.employment_form, l),
        moment: None,
    },
    Column {
        key: "migrant_worker",
        value: |m, l| match m.member.as_ref().and_then(|x| x.details.migrant_worker) {
            Some(true) => t!(l, "common.yes").into(),
            Some(false) => t!(l, "common.no").into(),
            None => String::new(),
        },
        moment: None,
    },
    Column {
        key: "needs",
        value: |m, l| {
            let mut v: Vec<String> = m
                .needs
                .iter()
                .filter(|c| *c != "other")
                .map(|c| ListKind::Needs.label(c, l))
                .collect();
            if let Some(o) = m
                .member
                .as_ref()
                .and_then(|x| x.details.needs_other.clone())
            {
                v.push(o);
            }
            v.join(match l {
                Lang::Zh => "、",
                Lang::En => "; ",
            })
        },
        moment: None,
    },
    Column {
        key: "region",
        value: |m, _| opt(&m.region),
        moment: None,
    },
    Column {
        key: "remarks",
        value: |m, _| of_member(m, |x| opt(&x.details.remarks)),
        moment: None,
    },
    Column {
        key: "consent_at",
        value: |m, _| local_time(&m.consent_at),
        moment: Some(|m| Some(Moment::Time(m.consent_at))),
    },
    Column {
        key: "event_date",
        value: |m, _| m.event_date.to_string(),
        moment: Some(|m| Some(Moment::Date(m.event_date))),
    },
    Column {
        key: "place",
        value: |m, _| m.event.place.clone(),
        moment: None,
    },
    Column {
        key: "union",
        value: |m, _| m.event.union.clone(),
        moment: None,
    },
    Column {
        key: "operator",
        value: |m, _| m.event.operator.clone(),
        moment: None,
    },
    Column {
        key: "created_at",
        value: |m, _| local_time(&m.created_at),
        moment: Some(|m| Some(Moment::Time(m.created_at))),
    },
    Column {
        key: "state",
        value: |m, l| m.state.map(|s| s.label(l).to_string()).unwrap_or_default(),
        moment: None,
    },
    Column {
        key: "state_reason",
        value: |m, _| opt(&m.state_reason),
        moment: None,
    },
    Column {
        key: "server_member_no",
        value: |m, _| opt(&m.server_member_no),
        moment: None,
    },
    Column {
        key: "device",
        value: |m, _| opt(&m.device),
        moment: None,
    },
    Column {
        key: "uuid",
        value: |m, _| m.uuid.to_string(),
        moment: None,
    },
];

fn header(key: &str, lang: Lang) -> &'static str {
    crate::i18n::text(lang, &format!("export.col.{key}"))
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

/// Writes the records matching `filter` to `out` (`-`: standard output); returns how many.
/// The `.part` file is noted in the data folder while it exists (see [`partial`]).
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

/// Writes every record of `src` to `out` (`-`: standard output); returns how many.
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
        let count = write_format(src, format, stdout.lock(), lang, &werr)?;
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
        .and_then(|f| write_format(src, format, BufWriter::new(f), lang, &werr))
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

type Werr<'a> = &'a dyn Fn(&dyn std::fmt::Display) -> ExportError;

/// Writes the whole file to `w`, flushed (and synced when it is a file).
fn write_format<W: Write>(
    src: &dyn RecordSource,
    format: ExportFormat,
    mut w: W,
    lang: Lang,
    werr: Werr,
) -> Result<usize, ExportError> {
    let n = match format {
        ExportFormat::Csv => write_csv(src, &mut w, lang, werr)?,
        ExportFormat::Json => write_json(src, &mut w, werr)?,
        ExportFormat::Xlsx => {
            let (mut wb, n) = xlsx_workbook(src, lang, werr)?;
            let bytes = wb.save_to_buffer().map_err(|e| werr(&e))?;
            w.write_all(&bytes).map_err(|e| werr(&e))?;
            n
        }
    };
    w.flush().map_err(|e| werr(&e))?;
    Ok(n)
}

fn write_csv(
    src: &dyn RecordSource,
    file: &mut dyn Write,
    lang: Lang,
    werr: Werr,
) -> Result<usize, ExportError> {
    file.write_all(b"\xEF\xBB\xBF").map_err(|e| werr(&e))?;
    let mut w = csv::Writer::from_writer(file);
    w.write_record(COLUMNS.iter().map(|c| header(c.key, lang)))
        .map_err(|e| werr(&e))?;
    let mut n = 0;
    let mut write_err = None;
    src.for_each_record(&mut |m| {
        if let Err(e) = w.write_record(COLUMNS.iter().map(|c| neutralise(&(c.value)(&m, lang)))) {
            write_err.get_or_insert(e.to_string());
        }
        n += 1;
        Ok(())
    })?;
    if let Some(e) = write_err {
        return Err(werr(&e));
    }
    w.flush().map_err(|e| werr(&e))?;
    Ok(n)
}

fn write_json(src: &dyn RecordSource, w: &mut dyn Write, werr: Werr) -> Result<usize, ExportError> {
    let mut n = 0;
    let mut write_err = None;
    w.write_all(b"{\"records\":[\n").map_err(|e| werr(&e))?;
    src.for_each_record(&mut |m| {
        let sep = if n == 0 { "" } else { ",\n" };
        let json = record_json(&m).to_string();
        if let Err(e) = write!(
            w,
            "{sep}{}",
            crate::member::text::json_escape_hazards(&json)
        ) {
            write_err.get_or_insert(e.to_string());
        }
        n += 1;
        Ok(())
    })?;
    if let Some(e) = write_err {
        return Err(werr(&e));
    }
    writeln!(w, "\n],\"count\":{n}}}").map_err(|e| werr(&e))?;
    Ok(n)
}

/// An Excel date or date-time for a [`Moment`] (local time; the offset is in the format).
fn excel_moment(m: &Moment) -> Result<ExcelDateTime, rust_xlsxwriter::XlsxError> {
    let date = |d: NaiveDate| {
        ExcelDateTime::from_ymd(
            u16::try_from(d.year()).unwrap_or(1900),
            d.month() as u8,
            d.day() as u8,
        )
    };
    match m {
        Moment::Date(d) => date(*d),
        Moment::Time(t) => {
            date(t.date_naive())?.and_hms(t.hour() as u16, t.minute() as u8, t.second())
        }
    }
}

/// The number format of a time at `offset`: `yyyy-mm-dd hh:mm:ss"+08:00"`, the offset as
/// text beside the real date-time value.
fn time_format(offset: FixedOffset) -> XlsxFormat {
    let secs = offset.local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.unsigned_abs();
    XlsxFormat::new().set_num_format(format!(
        "yyyy-mm-dd hh:mm:ss\"{sign}{:02}:{:02}\"",
        secs / 3600,
        secs % 3600 / 60
    ))
}

fn xlsx_workbook(
    src: &dyn RecordSource,
    lang: Lang,
    werr: Werr,
) -> Result<(Workbook, usize), ExportError> {
    let mut wb = Workbook::new();
    let bold = XlsxFormat::new().set_bold();
    let date_format = XlsxFormat::new().set_num_format("yyyy-mm-dd");
    let mut time_formats: HashMap<i32, XlsxFormat> = HashMap::new();
    let ws = wb.add_worksheet();
    ws.set_name(t!(lang, "export.sheet_name"))
        .map_err(|e| werr(&e))?;
    for (i, c) in COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, header(c.key, lang), &bold)
            .map_err(|e| werr(&e))?;
        let width = match c.key {
            "id_number" | "uuid" | "employer" | "region" | "needs" | "remarks" => 22,
            "consent_at" | "created_at" => 26,
            "member_no" | "phone" | "employer_uscc" => 16,
            "birth_date" | "event_date" => 12,
            _ => 10,
        };
        ws.set_column_width(i as u16, width).map_err(|e| werr(&e))?;
    }
    ws.set_freeze_panes(1, 0).map_err(|e| werr(&e))?;
    // Printed by the office: landscape, all columns on one page width, header on every page.
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(0, 0).map_err(|e| werr(&e))?;
    let mut row = 0u32;
    let mut write_err = None;
    src.for_each_record(&mut |m| {
        row += 1;
        for (i, c) in COLUMNS.iter().enumerate() {
            let col = i as u16;
            let moment = c.moment.and_then(|f| f(&m));
            let written = match &moment {
                Some(moment) => excel_moment(moment).and_then(|dt| {
                    let format = match moment {
                        Moment::Date(_) => &date_format,
                        Moment::Time(t) => time_formats
                            .entry(t.offset().local_minus_utc())
                            .or_insert_with(|| time_format(*t.offset())),
                    };
                    ws.write_datetime_with_format(row, col, dt, format)
                        .map(|_| ())
                }),
                // Text otherwise: an 18-digit ID as a number would lose its last digits.
                None => ws
                    .write_string(row, col, neutralise(&(c.value)(&m, lang)))
                    .map(|_| ()),
            };
            if let Err(e) = written {
                write_err.get_or_insert(e.to_string());
            }
        }
        Ok(())
    })?;
    if let Some(e) = write_err {
        return Err(werr(&e));
    }
    if row > 0 {
        ws.autofilter(0, 0, row, COLUMNS.len() as u16 - 1)
            .map_err(|e| werr(&e))?;
    }
    Ok((wb, row as usize))
}

/// The keys of the exported columns, in order (for tests and docs).
pub fn column_keys() -> impl Iterator<Item = &'static str> {
    COLUMNS.iter().map(|c| c.key)
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

    #[test]
    fn every_column_has_both_headers() {
        for key in column_keys() {
            for lang in Lang::ALL {
                let h = header(key, lang);
                assert!(!h.starts_with("export.col."), "missing header {key}");
            }
        }
    }
}
