//! Reading the federation's list of unions: a csv (any encoding the roster reader knows) or an
//! xlsx, with the header row `code,name,short,parent` or `代码,名称,简称,上级代码` (SPEC §11).
//! The file's first bytes decide what it is; an xlsx is checked against the roster's limits
//! (a zip that would inflate beyond them is refused before calamine reads it).

use std::io::{Cursor, Read};
use std::path::Path;

use calamine::{Reader, Xlsx};

use super::plan::ImportRow;
use crate::i18n::Lang;
use crate::roster::limits;
use crate::roster::{Cell, RosterError, data_cell};
use crate::t;

/// The columns, in the header's words (English, then Chinese).
const COLUMNS: [(&str, &str); 4] = [
    ("code", "代码"),
    ("name", "名称"),
    ("short", "简称"),
    ("parent", "上级代码"),
];

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{0}")]
    Read(#[from] RosterError),
    #[error("the header row lacks {0:?}")]
    Header(Vec<&'static str>),
    #[error("the file has no rows")]
    Empty,
}

impl FileError {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            FileError::Read(e) => e.message(lang),
            FileError::Header(missing) => {
                t!(lang, "unions.header", missing = missing.join(", "))
            }
            FileError::Empty => t!(lang, "unions.empty_file").into(),
        }
    }
}

/// The rows of a union list file.
pub fn read(path: &Path) -> Result<Vec<ImportRow>, FileError> {
    let mut file = std::fs::File::open(path).map_err(RosterError::from)?;
    limits::check_file_size(file.metadata().map_err(RosterError::from)?.len())?;
    let mut bytes = Vec::new();
    (&mut file)
        .take(limits::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(RosterError::from)?;
    from_bytes(bytes)
}

/// The rows of a union list's bytes (csv or xlsx).
pub fn from_bytes(bytes: Vec<u8>) -> Result<Vec<ImportRow>, FileError> {
    let grid = if bytes.starts_with(b"PK\x03\x04") {
        xlsx_grid(bytes)?
    } else {
        let mut grid = Vec::new();
        crate::roster::csv_rows(bytes, |_, cells| {
            grid.push(cells.iter().map(Cell::plain_text).collect());
            Ok(())
        })?;
        grid
    };
    rows_of(grid)
}

fn xlsx_grid(bytes: Vec<u8>) -> Result<Vec<Vec<String>>, FileError> {
    limits::check_zip(Cursor::new(&bytes))?;
    let spreadsheet = |e: calamine::XlsxError| RosterError::Spreadsheet(e.to_string());
    let mut book = Xlsx::new(Cursor::new(bytes)).map_err(spreadsheet)?;
    let Some(Ok(range)) = book.worksheet_range_at(0) else {
        return Err(FileError::Empty);
    };
    Ok(range
        .rows()
        .map(|row| {
            row.iter()
                .map(|c| data_cell(c.clone()).plain_text())
                .collect()
        })
        .collect())
}

/// The header is the first non-blank row; each later non-blank row is a node.
fn rows_of(grid: Vec<Vec<String>>) -> Result<Vec<ImportRow>, FileError> {
    let mut lines = grid
        .into_iter()
        .enumerate()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
    let Some((_, header)) = lines.next() else {
        return Err(FileError::Empty);
    };
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    let mut at = [0usize; 4];
    let mut missing = Vec::new();
    for (i, (en, zh)) in COLUMNS.iter().enumerate() {
        match header.iter().position(|h| h == en || h == zh) {
            Some(p) => at[i] = p,
            None => missing.push(*en),
        }
    }
    if !missing.is_empty() {
        return Err(FileError::Header(missing));
    }
    Ok(lines
        .map(|(i, cells)| {
            let cell = |k: usize| {
                cells
                    .get(at[k])
                    .map(|c| c.trim().to_string())
                    .unwrap_or_default()
            };
            ImportRow {
                line: i + 1,
                code: cell(0),
                name: cell(1),
                short: cell(2),
                parent: cell(3),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_with_chinese_headings_and_a_bom_is_read() {
        let csv = "\u{feff}代码,名称,简称,上级代码\nC0,北京市总工会,北京市总,\nD1,朝阳区总工会,朝阳区总,C0\n";
        let rows = from_bytes(csv.as_bytes().to_vec()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].code, "D1");
        assert_eq!(rows[1].parent, "C0");
        assert_eq!(rows[1].line, 3, "the header is row 1");
    }

    #[test]
    fn a_header_without_a_parent_column_names_it() {
        let e = from_bytes(b"code,name,short\nC0,x,y\n".to_vec()).unwrap_err();
        assert!(matches!(e, FileError::Header(ref m) if m == &["parent"]));
    }

    #[test]
    fn an_xlsx_list_is_read() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["code", "name", "short", "parent"].iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        sheet.write_number(1, 0, 81110000.0).unwrap();
        sheet.write_string(1, 1, "北京市总工会").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let rows = from_bytes(bytes).unwrap();
        assert_eq!(
            rows[0].code, "81110000",
            "a code typed as a number keeps its digits"
        );
        assert_eq!(rows[0].name, "北京市总工会");
        assert_eq!(rows[0].parent, "");
    }
}
