//! Reading a workplace's staff list into registrations.
//!
//! Rosters arrive as they are: CSV or text in any encoding and with `,` `;` or tab, xlsx, xls,
//! ods or WPS files; an instructions sheet (填表说明) before the list; a title row or two above
//! the header; headings worded a dozen ways (`工作单位名称`, `身份证号码（必填）`); blank rows;
//! ID numbers that Excel turned into numbers. This module finds the sheet and the header, maps
//! the columns (listing the ones it ignores), and yields one [`RosterRow`] per non-blank row,
//! within the bounds of [`limits`]. Validation is left to [`crate::member::validate`] like every
//! other entry path.
//!
//! - [`columns`]: headings, by the table in `assets/import/headers.toml`.
//! - `decode`: CSV bytes (encoding, separator) to rows.
//! - `sheets`: spreadsheets to rows, and which sheet.
//! - [`limits`]: what a file may cost.
//! - [`import`]: the rows registered in the store, in batches that roll back whole.

pub mod columns;
mod decode;
pub mod import;
pub mod limits;
mod sheets;

use std::io::Read;
use std::path::Path;

use crate::i18n::Lang;
use crate::member::document::StatedType;
use crate::member::{DocKind, Field, FieldError, MemberInput, Reason};
use crate::t;
pub use columns::{HeaderMap, REQUIRED};
pub use decode::csv_rows;
use limits::Budget;
pub use limits::Limit;
pub use sheets::data_cell;

/// How many rows from the top are searched for the header.
pub const HEADER_SEARCH_ROWS: usize = 30;

/// What `booth import` reads, for messages.
pub const SUPPORTED: &str = ".csv .txt .tsv .xlsx .xlsm .xls .ods .et";

/// One cell, as the file had it.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Cell {
    Text(String),
    /// A number cell (spreadsheets). ID numbers stored this way have lost digits.
    Number(f64),
    #[default]
    Empty,
}

impl Cell {
    /// A text cell, cut to [`limits::MAX_CELL_CHARS`] + 1 characters.
    pub fn text(s: &str) -> Cell {
        if s.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(limits::cap_cell(s).to_string())
        }
    }

    /// The cell as text (a whole number without its `.0`).
    pub fn plain_text(&self) -> String {
        self.as_text()
    }

    fn as_text(&self) -> String {
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
    /// The document type as the row worded it, when it says more than the kind (台湾居民居住证:
    /// the number must begin 830000); checked on the validated number with [`Self::check`].
    pub stated: Option<StatedType>,
}

impl RosterRow {
    /// The row's own wording of its document type, checked against the validated number.
    pub fn check(&self, doc: &crate::member::Document) -> Result<(), FieldError> {
        match &self.stated {
            Some(st) => st
                .check(doc)
                .map_err(|r| FieldError::new(Field::DocType, r)),
            None => Ok(()),
        }
    }
}

#[derive(Debug)]
pub struct Roster {
    /// The sheet read (spreadsheets), and all the file's sheets.
    pub sheet: Option<String>,
    pub sheets: Vec<String>,
    pub header_row: usize,
    pub columns: Vec<(Field, usize)>,
    /// Headed columns booth does not read: (column number from 1, heading).
    pub ignored: Vec<(usize, String)>,
    pub rows: Vec<RosterRow>,
}

/// A kind of file booth cannot read, each with its own advice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsupported {
    /// By its name: neither a table nor a spreadsheet.
    Extension,
    /// A zip or compound file that holds no spreadsheet (a Word document…).
    NotASpreadsheet,
    /// Excel's binary workbook.
    Xlsb,
    /// A password-protected workbook.
    Password,
    /// A WPS .et (or other compound file) that holds no Excel workbook stream.
    WpsOrOther,
    /// A web page saved with a spreadsheet's name.
    Html,
}

#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("unsupported file: {0:?}")]
    Unsupported(Unsupported),
    #[error("cannot read the spreadsheet: {0}")]
    Spreadsheet(String),
    #[error("too big: {0:?}")]
    TooBig(Limit),
    #[error("no sheet named {name}")]
    SheetNotFound { name: String, sheets: Vec<String> },
    #[error("no header row found")]
    NoHeader {
        missing: Vec<Field>,
        sheets: Vec<String>,
    },
    #[error("missing required columns")]
    MissingColumns { missing: Vec<Field> },
}

impl RosterError {
    pub fn message(&self, lang: Lang) -> String {
        let sep = match lang {
            Lang::Zh => "、",
            Lang::En => ", ",
        };
        let names = |fields: &[Field]| {
            fields
                .iter()
                .map(|f| f.label(lang))
                .collect::<Vec<_>>()
                .join(sep)
        };
        let quoted = |names: &[String]| {
            names
                .iter()
                .map(|n| format!("“{}”", crate::member::text::display_safe(n)))
                .collect::<Vec<_>>()
                .join(sep)
        };
        let mb = |b: u64| b.div_ceil(1 << 20);
        match self {
            RosterError::Io(e) => t!(lang, "import.io", why = e),
            RosterError::Unsupported(u) => {
                let why = match u {
                    Unsupported::Extension => t!(lang, "import.why.extension"),
                    Unsupported::NotASpreadsheet => t!(lang, "import.why.not_spreadsheet"),
                    Unsupported::Xlsb => t!(lang, "import.why.xlsb"),
                    Unsupported::Password => t!(lang, "import.why.password"),
                    Unsupported::WpsOrOther => t!(lang, "import.why.wps"),
                    Unsupported::Html => t!(lang, "import.why.html"),
                };
                t!(lang, "import.unsupported", why = why, supported = SUPPORTED)
            }
            RosterError::Spreadsheet(why) => t!(lang, "import.spreadsheet", why = why),
            RosterError::TooBig(limit) => match limit {
                Limit::File { bytes } => t!(
                    lang,
                    "import.too_big.file",
                    size = mb(*bytes),
                    max = mb(limits::MAX_FILE_BYTES)
                ),
                Limit::Unpacked { entry } => t!(
                    lang,
                    "import.too_big.unpacked",
                    entry = crate::member::text::display_safe(entry)
                ),
                Limit::Rows => t!(lang, "import.too_big.rows", max = limits::MAX_ROWS),
                Limit::Cells => t!(lang, "import.too_big.cells", max = limits::MAX_CELLS),
                Limit::Text => t!(
                    lang,
                    "import.too_big.text",
                    max = mb(limits::MAX_TEXT_BYTES as u64)
                ),
            },
            RosterError::SheetNotFound { name, sheets } => t!(
                lang,
                "import.sheet_not_found",
                name = quoted(std::slice::from_ref(name)),
                sheets = quoted(sheets)
            ),
            RosterError::NoHeader { missing, sheets } if sheets.len() > 1 => t!(
                lang,
                "import.no_header_sheets",
                columns = names(missing),
                sheets = quoted(sheets)
            ),
            RosterError::NoHeader { missing, .. } => {
                t!(lang, "import.no_header", columns = names(missing))
            }
            RosterError::MissingColumns { missing } => {
                t!(lang, "import.missing_columns", columns = names(missing))
            }
        }
    }
}

/// Reads a roster file: what it is is decided by its first bytes; `sheet` picks a sheet of a
/// spreadsheet (default: the first with a header).
pub fn read(path: &Path, sheet: Option<&str>) -> Result<Roster, RosterError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let known = matches!(
        ext.as_str(),
        "csv" | "txt" | "tsv" | "xlsx" | "xlsm" | "xls" | "ods" | "et" | "ett" | "xlt" | "xltx"
    );
    if !known {
        return Err(RosterError::Unsupported(Unsupported::Extension));
    }
    let mut file = std::fs::File::open(path)?;
    limits::check_file_size(file.metadata()?.len())?;
    let mut head = [0u8; 8];
    let n = read_up_to(&mut file, &mut head)?;
    use std::io::Seek;
    file.seek(std::io::SeekFrom::Start(0))?;
    match sheets::magic(&head[..n]) {
        sheets::Magic::Other => {
            let mut bytes = Vec::new();
            (&mut file)
                .take(limits::MAX_FILE_BYTES + 1)
                .read_to_end(&mut bytes)?;
            if matches!(ext.as_str(), "csv" | "txt" | "tsv") {
                csv_roster(bytes)
            } else {
                from_text_bytes(bytes)
            }
        }
        kind => sheets::read_book(std::io::BufReader::new(file), kind, sheet),
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// A spreadsheet's name on a file that is neither zip nor compound: a web page, text (some
/// systems export tab-separated text as ".xls"), or a damaged file.
fn from_text_bytes(bytes: Vec<u8>) -> Result<Roster, RosterError> {
    if decode::looks_like_html(&bytes) {
        return Err(RosterError::Unsupported(Unsupported::Html));
    }
    if !decode::looks_like_text(&bytes) {
        return Err(RosterError::Spreadsheet(
            "not an xlsx, xls or ods file".into(),
        ));
    }
    csv_roster(bytes)
}

/// Reads CSV bytes (any of the encodings `decode` detects).
pub fn from_csv_bytes(bytes: &[u8]) -> Result<Roster, RosterError> {
    csv_roster(bytes.to_vec())
}

/// The bytes go once decoded: a large roster is not held twice while its rows are made.
fn csv_roster(bytes: Vec<u8>) -> Result<Roster, RosterError> {
    let mut builder = Builder::new(None, &[]);
    decode::csv_rows(bytes, |i, cells| builder.push(i, cells))?;
    builder.finish()
}

/// Reads spreadsheet bytes (xlsx, xls, ods), as received over a channel other than a file.
pub fn from_xlsx_bytes(bytes: &[u8]) -> Result<Roster, RosterError> {
    limits::check_file_size(bytes.len() as u64)?;
    match sheets::magic(bytes) {
        sheets::Magic::Other => from_text_bytes(bytes.to_vec()),
        kind => sheets::read_book(std::io::Cursor::new(bytes), kind, None),
    }
}

fn header_cells(row: &[Cell]) -> Vec<String> {
    row.iter().map(Cell::as_text).collect()
}

/// The first row (within the search window) that names both a name and an ID column.
fn find_header(grid: &[Vec<Cell>]) -> Option<(usize, HeaderMap)> {
    grid.iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .find_map(|(i, row)| {
            let map = columns::map_header(&header_cells(row));
            (map.has(Field::Name) && map.has(Field::IdNumber)).then_some((i, map))
        })
}

/// Rows in, a roster out: the header is looked for in the first rows, and every non-blank
/// row after it becomes a [`RosterRow`] as it arrives (nothing else is kept).
struct Builder {
    sheet: Option<String>,
    sheets: Vec<String>,
    /// Rows above the header, while it is looked for (for the "missing" report).
    head: Vec<Vec<Cell>>,
    header: Option<(usize, HeaderMap)>,
    rows: Vec<RosterRow>,
    budget: Budget,
}

impl Builder {
    fn new(sheet: Option<String>, sheets: &[String]) -> Builder {
        Builder {
            sheet,
            sheets: sheets.to_vec(),
            head: Vec::new(),
            header: None,
            rows: Vec::new(),
            budget: Budget::default(),
        }
    }

    /// One row, by its 0-based index in the sheet.
    fn push(&mut self, index: usize, cells: Vec<Cell>) -> Result<(), RosterError> {
        let Some((_, map)) = &self.header else {
            if index >= HEADER_SEARCH_ROWS {
                return Err(self.no_header());
            }
            let map = columns::map_header(&header_cells(&cells));
            if map.has(Field::Name) && map.has(Field::IdNumber) {
                let missing: Vec<Field> =
                    REQUIRED.iter().copied().filter(|f| !map.has(*f)).collect();
                if !missing.is_empty() {
                    return Err(RosterError::MissingColumns { missing });
                }
                self.header = Some((index, map));
                self.head = Vec::new();
            } else {
                self.head.push(cells);
            }
            return Ok(());
        };
        if cells.iter().all(Cell::is_blank) {
            return Ok(());
        }
        self.budget.row()?;
        let row = to_row(index + 1, cells, map, &mut self.budget)?;
        self.rows.push(row);
        Ok(())
    }

    fn no_header(&self) -> RosterError {
        // Report what the most header-like row lacks.
        let best = self
            .head
            .iter()
            .map(|r| columns::map_header(&header_cells(r)))
            .max_by_key(|m| m.columns.len())
            .unwrap_or_default();
        let missing = REQUIRED.iter().copied().filter(|f| !best.has(*f)).collect();
        RosterError::NoHeader {
            missing,
            sheets: self.sheets.clone(),
        }
    }

    fn finish(self) -> Result<Roster, RosterError> {
        let Some((header, map)) = self.header else {
            return Err(self.no_header());
        };
        Ok(Roster {
            sheet: self.sheet,
            sheets: self.sheets,
            header_row: header + 1,
            columns: map.columns,
            ignored: map.ignored.into_iter().map(|(i, h)| (i + 1, h)).collect(),
            rows: self.rows,
        })
    }
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

fn to_row(
    number: usize,
    mut row: Vec<Cell>,
    map: &HeaderMap,
    budget: &mut Budget,
) -> Result<RosterRow, RosterError> {
    let mut input = MemberInput::default();
    let mut consent = None;
    let mut stated = None;
    let mut problems = Vec::new();
    for &(field, idx) in &map.columns {
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
            other => other.as_text(),
        };
        budget.text(text.len())?;
        match field {
            Field::Name => input.name = text,
            Field::IdNumber => {
                if lost_digits {
                    problems.push(FieldError::new(Field::IdNumber, Reason::ExcelNumber));
                }
                input.id_number = text;
            }
            Field::DocType => match StatedType::parse(&text) {
                Some(st) => stated = Some(st),
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
    input.doc_type = match (&stated, map.implied_kind) {
        (Some(st), _) => st.kind,
        // A column headed 身份证号 holds resident IDs unless the row says otherwise; the
        // 18-character family's prefix still tells permits and foreign PR IDs apart.
        (None, Some(kind)) => {
            let guessed = DocKind::unstated(&input.id_number);
            if kind == DocKind::ResidentId && guessed == DocKind::Passport {
                problems.push(FieldError::new(Field::IdNumber, Reason::PassportInIdColumn));
            }
            kind
        }
        (None, None) => DocKind::unstated(&input.id_number),
    };
    // Only a narrower wording needs checking later.
    let stated = stated.filter(|s| s.narrower.is_some());
    Ok(RosterRow {
        number,
        input,
        consent,
        problems,
        stated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&[&str]]) -> Vec<Vec<Cell>> {
        rows.iter()
            .map(|r| r.iter().map(|c| Cell::text(c)).collect())
            .collect()
    }

    fn from_grid(g: Vec<Vec<Cell>>) -> Result<Roster, RosterError> {
        let mut b = Builder::new(None, &[]);
        for (i, row) in g.into_iter().enumerate() {
            b.push(i, row)?;
        }
        b.finish()
    }

    #[test]
    fn header_below_title_rows_and_blank_rows_skipped() {
        let g = grid(&[
            &["某某快递公司职工入会名单", "", ""],
            &[],
            &[
                "序号",
                "姓名",
                "身份证号",
                "手机号",
                "工作单位",
                "同意",
                "性别",
            ],
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
        assert_eq!(
            r.ignored,
            vec![(1, "序号".to_string()), (7, "性别".to_string())]
        );
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
    fn employer_name_heading_is_the_employer() {
        // "工作单位名称" was "表格缺少必需的列" before headings were normalised
        let g = grid(&[
            &["姓名", "身份证号码", "手机号码", "工作单位名称"],
            &["张三", "11010519491231002X", "13800138000", "某公司"],
        ]);
        let r = from_grid(g).unwrap();
        assert_eq!(r.rows[0].input.employer, "某公司");
    }

    #[test]
    fn document_types_as_offices_write_them() {
        let g = grid(&[
            &["姓名", "证件类型", "证件号码", "手机号", "工作单位"],
            &[
                "甲",
                "台湾居民居住证",
                "830000199001010011",
                "13800138000",
                "某公司",
            ],
            &["乙", "往来港澳通行证", "H12345678", "13800138000", "某公司"],
            &["丙", "台胞证", "12345678", "13800138000", "某公司"],
            &["丁", "驾驶证", "12345678", "13800138000", "某公司"],
        ]);
        let r = from_grid(g).unwrap();
        assert_eq!(r.rows[0].input.doc_type, DocKind::HmtPermit);
        assert!(
            r.rows[0].stated.is_some(),
            "台湾居民居住证 narrows the rule"
        );
        assert!(r.rows[0].problems.is_empty());
        assert_eq!(r.rows[1].input.doc_type, DocKind::HkMacaoPermit);
        assert_eq!(r.rows[2].input.doc_type, DocKind::TaiwanPermit);
        assert_eq!(r.rows[3].problems[0].reason, Reason::NotInList);
    }

    #[test]
    fn an_id_card_column_holds_resident_ids() {
        let g = grid(&[
            &["姓名", "身份证号", "手机号", "工作单位"],
            &["甲", "O42225199712010525", "13800138000", "某公司"],
            &["乙", "E12345678", "13800138000", "某公司"],
        ]);
        let r = from_grid(g).unwrap();
        assert_eq!(r.rows[0].input.doc_type, DocKind::ResidentId);
        assert_eq!(r.rows[1].input.doc_type, DocKind::ResidentId);
        assert_eq!(r.rows[1].problems[0].reason, Reason::PassportInIdColumn);
        // a neutral heading leaves a passport number a passport
        let g = grid(&[
            &["姓名", "证件号码", "手机号", "工作单位"],
            &["乙", "E12345678", "13800138000", "某公司"],
        ]);
        assert_eq!(
            from_grid(g).unwrap().rows[0].input.doc_type,
            DocKind::Passport
        );
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

    #[test]
    fn rows_past_the_limit_are_refused_not_kept() {
        let mut b = Builder::new(None, &[]);
        b.push(
            0,
            grid(&[&["姓名", "身份证号", "手机号", "工作单位"]]).remove(0),
        )
        .unwrap();
        let row = grid(&[&["张三", "1", "2", "某公司"]]).remove(0);
        for i in 1..=limits::MAX_ROWS {
            b.push(i, row.clone()).unwrap();
        }
        let err = b.push(limits::MAX_ROWS + 1, row).unwrap_err();
        assert!(matches!(err, RosterError::TooBig(Limit::Rows)), "{err:?}");
    }

    #[test]
    fn no_header_in_the_first_rows_stops_reading() {
        let mut b = Builder::new(None, &[]);
        let row = grid(&[&["a", "b"]]).remove(0);
        for i in 0..HEADER_SEARCH_ROWS {
            b.push(i, row.clone()).unwrap();
        }
        assert!(matches!(
            b.push(HEADER_SEARCH_ROWS, row),
            Err(RosterError::NoHeader { .. })
        ));
    }
}
