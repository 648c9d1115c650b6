//! Reading a workplace's staff list (CSV or xlsx) into registrations.
//!
//! Spreadsheets arrive as they are: CSV written by Excel on Chinese Windows (GBK/GB18030) or
//! by anything else (UTF-8, with or without BOM, or UTF-16 "Unicode text"), a title row or two
//! above the header, merged title cells, blank rows, ID numbers that Excel turned into numbers.
//! This module finds the header, maps the columns, and yields one [`RosterRow`] per non-blank
//! row; validation is left to [`crate::member::validate`] like every other entry path.

pub mod columns;
mod decode;

use std::path::Path;

use calamine::{Data, Reader, open_workbook_auto};

use crate::i18n::Lang;
use crate::member::{DocKind, Field, FieldError, MemberInput, Reason};
use crate::t;
pub use columns::REQUIRED;

/// How many rows from the top are searched for the header.
const HEADER_SEARCH_ROWS: usize = 30;

/// One cell, as the file had it.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Cell {
    Text(String),
    /// A number cell (xlsx). ID numbers stored this way have lost digits.
    Number(f64),
    #[default]
    Empty,
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => n.to_string(),
            Cell::Empty => String::new(),
        }
    }

    fn is_blank(&self) -> bool {
        match self {
            Cell::Text(s) => s.trim().is_empty(),
            Cell::Number(_) => false,
            Cell::Empty => true,
        }
    }
}

/// A data row: its row number in the file (as a spreadsheet program shows it), the fields as
/// text, the consent cell if there is a consent column, and problems found before validation.
#[derive(Clone, Debug)]
pub struct RosterRow {
    pub number: usize,
    pub input: MemberInput,
    /// `Some(true)` for 是/yes, `Some(false)` for 否/no or an unreadable value, `None` if the
    /// file has no consent column or the cell is empty.
    pub consent: Option<bool>,
    pub problems: Vec<FieldError>,
}

#[derive(Debug)]
pub struct Roster {
    pub header_row: usize,
    pub columns: Vec<(Field, usize)>,
    pub rows: Vec<RosterRow>,
}

#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("unsupported file type; use .csv or .xlsx")]
    FileType,
    #[error("cannot read the spreadsheet: {0}")]
    Spreadsheet(String),
    #[error("no header row found")]
    NoHeader { missing: Vec<Field> },
    #[error("missing required columns")]
    MissingColumns { missing: Vec<Field> },
}

impl RosterError {
    pub fn message(&self, lang: Lang) -> String {
        let names = |fields: &[Field]| {
            fields
                .iter()
                .map(|f| f.label(lang))
                .collect::<Vec<_>>()
                .join(match lang {
                    Lang::Zh => "、",
                    Lang::En => ", ",
                })
        };
        match self {
            RosterError::Io(e) => t!(lang, "import.io", why = e),
            RosterError::FileType => t!(lang, "import.file_type").into(),
            RosterError::Spreadsheet(why) => t!(lang, "import.spreadsheet", why = why),
            RosterError::NoHeader { missing } => {
                t!(lang, "import.no_header", columns = names(missing))
            }
            RosterError::MissingColumns { missing } => {
                t!(lang, "import.missing_columns", columns = names(missing))
            }
        }
    }
}

/// Reads a roster file, by extension.
pub fn read(path: &Path) -> Result<Roster, RosterError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let grid = match ext.as_str() {
        "csv" | "txt" | "tsv" => decode::csv_grid(&std::fs::read(path)?)?,
        "xlsx" | "xlsm" | "xls" | "ods" => xlsx_grid(path)?,
        _ => return Err(RosterError::FileType),
    };
    from_grid(grid)
}

/// Reads CSV bytes (any of the encodings `read` detects).
pub fn from_csv_bytes(bytes: &[u8]) -> Result<Roster, RosterError> {
    from_grid(decode::csv_grid(bytes)?)
}

/// Reads spreadsheet bytes (xlsx, xls, ods), as received over a channel other than a file.
pub fn from_xlsx_bytes(bytes: &[u8]) -> Result<Roster, RosterError> {
    let wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec()))
        .map_err(|e| RosterError::Spreadsheet(e.to_string()))?;
    from_grid(sheet_grid(wb)?)
}

fn xlsx_grid(path: &Path) -> Result<Vec<Vec<Cell>>, RosterError> {
    let wb = open_workbook_auto(path).map_err(|e| RosterError::Spreadsheet(e.to_string()))?;
    sheet_grid(wb)
}

fn sheet_grid<R: Reader<RS>, RS: std::io::Read + std::io::Seek>(
    mut wb: R,
) -> Result<Vec<Vec<Cell>>, RosterError>
where
    R::Error: std::fmt::Display,
{
    let names = wb.sheet_names().to_vec();
    let mut first_err: Option<String> = None;
    // The staff list is usually the first sheet; take the first one with a recognisable header.
    for name in names {
        let range = match wb.worksheet_range(&name) {
            Ok(r) => r,
            Err(e) => {
                first_err.get_or_insert(e.to_string());
                continue;
            }
        };
        let grid: Vec<Vec<Cell>> = range
            .rows()
            .map(|row| {
                row.iter()
                    .map(|c| match c {
                        Data::Empty => Cell::Empty,
                        Data::String(s) => Cell::Text(s.clone()),
                        Data::Float(f) => Cell::Number(*f),
                        Data::Int(i) => Cell::Number(*i as f64),
                        Data::Bool(b) => Cell::Text(if *b { "yes".into() } else { "no".into() }),
                        other => Cell::Text(other.to_string()),
                    })
                    .collect()
            })
            .collect();
        if find_header(&grid).is_some() {
            return Ok(grid);
        }
        if first_err.is_none() {
            // keep the first sheet for the "no header" report
            return Ok(grid);
        }
    }
    Err(RosterError::Spreadsheet(
        first_err.unwrap_or_else(|| "no worksheet".into()),
    ))
}

fn header_cells(row: &[Cell]) -> Vec<String> {
    row.iter().map(Cell::text).collect()
}

/// The first row (within the search window) that names both a name and an ID column.
fn find_header(grid: &[Vec<Cell>]) -> Option<(usize, Vec<(Field, usize)>)> {
    grid.iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .find_map(|(i, row)| {
            let cols = columns::map_header(&header_cells(row));
            let has = |f| cols.iter().any(|(g, _)| *g == f);
            (has(Field::Name) && has(Field::IdNumber)).then_some((i, cols))
        })
}

fn from_grid(grid: Vec<Vec<Cell>>) -> Result<Roster, RosterError> {
    let Some((header, cols)) = find_header(&grid) else {
        // Report what the most header-like row lacks.
        let best = grid
            .iter()
            .take(HEADER_SEARCH_ROWS)
            .map(|r| columns::map_header(&header_cells(r)))
            .max_by_key(|c| c.len())
            .unwrap_or_default();
        let missing = REQUIRED
            .iter()
            .copied()
            .filter(|f| !best.iter().any(|(g, _)| g == f))
            .collect();
        return Err(RosterError::NoHeader { missing });
    };
    let missing: Vec<Field> = REQUIRED
        .iter()
        .copied()
        .filter(|f| !cols.iter().any(|(g, _)| g == f))
        .collect();
    if !missing.is_empty() {
        return Err(RosterError::MissingColumns { missing });
    }
    let mut rows = Vec::new();
    for (i, row) in grid.into_iter().enumerate().skip(header + 1) {
        if row.iter().all(Cell::is_blank) {
            continue;
        }
        rows.push(to_row(i + 1, row, &cols));
    }
    Ok(Roster {
        header_row: header + 1,
        columns: cols,
        rows,
    })
}

/// "1.10105E+17": how an ID number looks after Excel made it a number and saved as CSV.
fn looks_like_excel_float(s: &str) -> bool {
    let s = s.trim().to_ascii_uppercase();
    match s.split_once("E+") {
        Some((mantissa, exp)) => {
            !exp.is_empty()
                && exp.bytes().all(|b| b.is_ascii_digit())
                && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        }
        None => false,
    }
}

fn to_row(number: usize, mut row: Vec<Cell>, cols: &[(Field, usize)]) -> RosterRow {
    let mut input = MemberInput::default();
    let mut consent = None;
    let mut doc_type_stated = false;
    let mut problems = Vec::new();
    for &(field, idx) in cols {
        // Each column is read once: take the cell's text instead of copying it.
        let cell = row.get_mut(idx).map(std::mem::take).unwrap_or(Cell::Empty);
        // An ID number Excel stored as a number has lost its last digits.
        let lost_digits = match &cell {
            Cell::Number(n) => n.abs() >= 1e15,
            Cell::Text(s) => looks_like_excel_float(s),
            Cell::Empty => false,
        };
        let text = match cell {
            Cell::Text(s) => s,
            other => other.text(),
        };
        match field {
            Field::Name => input.name = text,
            Field::IdNumber => {
                if lost_digits {
                    problems.push(FieldError::new(Field::IdNumber, Reason::ExcelNumber));
                }
                input.id_number = text;
            }
            Field::DocType => match DocKind::parse(&text) {
                Some(k) => {
                    input.doc_type = k;
                    doc_type_stated = true;
                }
                None if text.trim().is_empty() => {}
                None => problems.push(FieldError::new(Field::DocType, Reason::NotInList)),
            },
            Field::Phone => input.phone = text,
            Field::Employer => input.employer = text,
            Field::Consent => {
                consent = match crate::member::record::parse_yes_no(&text) {
                    Ok(v) => v,
                    Err(_) => Some(false),
                }
            }
            Field::Ethnicity => input.ethnicity = text,
            Field::PoliticalStatus => input.political_status = text,
            Field::Education => input.education = text,
            Field::Occupation => input.occupation = text,
            Field::EmploymentForm => input.employment_form = text,
            Field::MigrantWorker => input.migrant_worker = text,
            Field::EmployerUscc => input.employer_uscc = text,
            Field::Needs => input.needs = text,
            Field::Remarks => input.remarks = text,
        }
    }
    if !doc_type_stated {
        input.doc_type = DocKind::unstated(&input.id_number);
    }
    RosterRow {
        number,
        input,
        consent,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&[&str]]) -> Vec<Vec<Cell>> {
        rows.iter()
            .map(|r| r.iter().map(|c| Cell::Text(c.to_string())).collect())
            .collect()
    }

    #[test]
    fn header_below_title_rows_and_blank_rows_skipped() {
        let g = grid(&[
            &["某某快递公司职工入会名单", "", ""],
            &[],
            &["序号", "姓名", "身份证号", "手机号", "工作单位", "同意"],
            &[
                "1",
                "葛婷婷",
                "11010519491231002X",
                "13800138000",
                "某公司",
                "是",
            ],
            &["", "", "", "", "", ""],
            &["2", "张三", "x", "1", "某公司", ""],
        ]);
        let r = from_grid(g).unwrap();
        assert_eq!(r.header_row, 3);
        assert_eq!(r.rows.len(), 2);
        assert_eq!(r.rows[0].number, 4);
        assert_eq!(r.rows[0].input.name, "葛婷婷");
        assert_eq!(r.rows[0].consent, Some(true));
        assert_eq!(r.rows[1].number, 6);
        assert_eq!(r.rows[1].consent, None);
    }

    #[test]
    fn missing_required_column_is_named() {
        let g = grid(&[&["姓名", "身份证号", "工作单位"], &["a", "b", "c"]]);
        match from_grid(g) {
            Err(RosterError::MissingColumns { missing }) => assert_eq!(missing, vec![Field::Phone]),
            other => panic!("{other:?}"),
        }
        let g = grid(&[&["foo", "bar"], &["a", "b"]]);
        assert!(matches!(from_grid(g), Err(RosterError::NoHeader { .. })));
    }

    #[test]
    fn excel_numbers_in_the_id_column_are_flagged() {
        let g = vec![
            grid(&[&["姓名", "身份证号", "手机号", "工作单位"]]).remove(0),
            vec![
                Cell::Text("张三".into()),
                Cell::Number(110105194912310000.0),
                Cell::Number(13800138000.0),
                Cell::Text("某公司".into()),
            ],
            grid(&[&["李四", "1.10105E+17", "13800138000", "某公司"]]).remove(0),
        ];
        let r = from_grid(g).unwrap();
        assert_eq!(r.rows[0].input.phone, "13800138000");
        assert_eq!(r.rows[0].problems[0].reason, Reason::ExcelNumber);
        assert_eq!(r.rows[1].problems[0].reason, Reason::ExcelNumber);
    }
}
