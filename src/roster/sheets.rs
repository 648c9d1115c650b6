//! Spreadsheets (xlsx, xls, ods, WPS .et): what the file really is, which sheet holds the
//! roster, and its rows as cells.
//!
//! The file's first bytes decide, not its name: offices rename files, and web systems export
//! ".xls" files that are really text or HTML. xlsx sheets are streamed cell by cell; xls and
//! ods sheets come whole from calamine, after [`limits`] has counted what they would hold.

use std::io::{Read, Seek, SeekFrom};

use calamine::{Data, DataRef, Ods, Reader, Xls, Xlsx};

use super::limits::{self, CompoundKind, MAX_COLUMNS, ZipKind};
use super::{Builder, Cell, HEADER_SEARCH_ROWS, Roster, RosterError, Unsupported};

/// The kinds of file the first bytes tell apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Magic {
    Zip,
    Compound,
    Other,
}

pub fn magic(head: &[u8]) -> Magic {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Magic::Zip
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Magic::Compound
    } else {
        Magic::Other
    }
}

fn rewind<RS: Seek>(rs: &mut RS) -> Result<(), RosterError> {
    rs.seek(SeekFrom::Start(0))?;
    Ok(())
}

fn calamine_err(e: impl std::fmt::Display) -> RosterError {
    RosterError::Spreadsheet(e.to_string())
}

/// Reads a spreadsheet (zip or compound file) into a roster, from `sheet` if given.
pub fn read_book<RS: Read + Seek>(
    mut rs: RS,
    kind: Magic,
    sheet: Option<&str>,
) -> Result<Roster, RosterError> {
    match kind {
        Magic::Zip => {
            let zip = limits::check_zip(&mut rs)?;
            rewind(&mut rs)?;
            match zip {
                ZipKind::Xlsx => {
                    let wb = guarded(|| Xlsx::new(rs).map_err(xlsx_err))?;
                    xlsx(wb, sheet)
                }
                ZipKind::Ods => {
                    limits::check_ods_cells(&mut rs)?;
                    rewind(&mut rs)?;
                    let wb = guarded(|| Ods::new(rs).map_err(calamine_err))?;
                    whole_sheets(wb, sheet)
                }
                ZipKind::Xlsb => Err(RosterError::Unsupported(Unsupported::Xlsb)),
                ZipKind::Other => Err(RosterError::Unsupported(Unsupported::NotASpreadsheet)),
            }
        }
        Magic::Compound => match limits::check_compound(&mut rs)? {
            CompoundKind::Workbook => {
                rewind(&mut rs)?;
                let wb = guarded(|| Xls::new(rs).map_err(calamine_err))?;
                whole_sheets(wb, sheet)
            }
            CompoundKind::Encrypted => Err(RosterError::Unsupported(Unsupported::Password)),
            CompoundKind::Other => Err(RosterError::Unsupported(Unsupported::WpsOrOther)),
        },
        Magic::Other => Err(RosterError::Unsupported(Unsupported::NotASpreadsheet)),
    }
}

fn xlsx_err(e: calamine::XlsxError) -> RosterError {
    match e {
        calamine::XlsxError::Password => RosterError::Unsupported(Unsupported::Password),
        e => calamine_err(e),
    }
}

/// Runs calamine, turning a panic on a malformed file into an error. (The checks in
/// [`limits`] come first; this is for what they cannot foresee.)
fn guarded<T>(f: impl FnOnce() -> Result<T, RosterError>) -> Result<T, RosterError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(RosterError::Spreadsheet("malformed spreadsheet".into())))
}

/// The sheet to read: the one named (exactly, or ignoring case and spaces), or else the first
/// whose top rows hold a header.
fn choose_sheet(
    names: &[String],
    wanted: Option<&str>,
    mut has_header: impl FnMut(&str) -> Result<bool, RosterError>,
) -> Result<Option<String>, RosterError> {
    if let Some(w) = wanted {
        let squash = |s: &str| {
            s.chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_lowercase)
                .collect::<String>()
        };
        return names
            .iter()
            .find(|n| n.as_str() == w)
            .or_else(|| names.iter().find(|n| squash(n) == squash(w)))
            .cloned()
            .map(Some)
            .ok_or_else(|| RosterError::SheetNotFound {
                name: w.to_string(),
                sheets: names.to_vec(),
            });
    }
    for name in names {
        if has_header(name)? {
            return Ok(Some(name.clone()));
        }
    }
    Ok(None)
}

/// A calamine cell as the roster reads it (also the union list's reader).
pub fn data_cell(d: Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::text(&s),
        Data::Float(f) => Cell::Number(f),
        Data::Int(i) => Cell::Number(i as f64),
        Data::Bool(b) => Cell::Text(if b { "yes".into() } else { "no".into() }),
        other => Cell::text(&other.to_string()),
    }
}

/// Streams an xlsx sheet's cells into rows, calling `row` per row (0-based index) until it
/// says stop (`Ok(false)`).
fn xlsx_rows<RS: Read + Seek>(
    wb: &mut Xlsx<RS>,
    name: &str,
    mut row: impl FnMut(usize, Vec<Cell>) -> Result<bool, RosterError>,
) -> Result<(), RosterError> {
    let mut cells = wb.worksheet_cells_reader(name).map_err(xlsx_err)?;
    let mut current: Option<(u32, Vec<Cell>)> = None;
    loop {
        let next = guarded(|| cells.next_cell().map_err(xlsx_err))?;
        let Some(cell) = next else { break };
        let (r, c) = cell.get_position();
        if current.as_ref().is_some_and(|(cr, _)| *cr != r) {
            let (cr, v) = current.take().expect("checked");
            if !row(cr as usize, v)? {
                return Ok(());
            }
        }
        let (_, v) = current.get_or_insert_with(|| (r, Vec::new()));
        let c = c as usize;
        if c >= MAX_COLUMNS {
            continue;
        }
        let value = match cell.get_value() {
            DataRef::SharedString(s) => Cell::text(s),
            DataRef::String(s) => Cell::text(s),
            DataRef::Empty => Cell::Empty,
            other => data_cell(Data::from(other.clone())),
        };
        if v.len() <= c {
            v.resize(c + 1, Cell::Empty);
        }
        v[c] = value;
    }
    if let Some((cr, v)) = current {
        row(cr as usize, v)?;
    }
    Ok(())
}

fn xlsx<RS: Read + Seek>(mut wb: Xlsx<RS>, sheet: Option<&str>) -> Result<Roster, RosterError> {
    let names = wb.sheet_names();
    let chosen = choose_sheet(&names, sheet, |name| {
        let mut head = Vec::new();
        xlsx_rows(&mut wb, name, |i, cells| {
            if i >= HEADER_SEARCH_ROWS {
                return Ok(false);
            }
            head.push(cells);
            Ok(true)
        })?;
        Ok(super::find_header(&head).is_some())
    })?;
    // No sheet has a header: report on the first, which is where people look.
    let Some(name) = chosen.or_else(|| names.first().cloned()) else {
        return Err(RosterError::Spreadsheet("no worksheet".into()));
    };
    let mut builder = Builder::new(Some(name.clone()), &names);
    xlsx_rows(&mut wb, &name, |i, cells| {
        builder.push(i, cells).map(|()| true)
    })?;
    builder.finish()
}

/// xls and ods: calamine reads every sheet at open; rows come from the chosen one.
fn whole_sheets<RS: Read + Seek, R: Reader<RS>>(
    mut wb: R,
    sheet: Option<&str>,
) -> Result<Roster, RosterError>
where
    R::Error: std::fmt::Display,
{
    let names = wb.sheet_names();
    let mut ranges = Vec::new();
    for name in &names {
        let range = guarded(|| wb.worksheet_range(name).map_err(calamine_err))?;
        ranges.push((name.clone(), range));
    }
    fn rows_of(range: &calamine::Range<Data>) -> impl Iterator<Item = (usize, Vec<Cell>)> + '_ {
        let start = range.start().map_or(0, |(r, _)| r as usize);
        let col0 = range.start().map_or(0, |(_, c)| c as usize);
        range.rows().enumerate().map(move |(i, r)| {
            let mut cells = vec![Cell::Empty; col0.min(MAX_COLUMNS)];
            cells.extend(
                r.iter()
                    .take(MAX_COLUMNS.saturating_sub(col0))
                    .cloned()
                    .map(data_cell),
            );
            (start + i, cells)
        })
    }
    let chosen = choose_sheet(&names, sheet, |name| {
        let range = &ranges.iter().find(|(n, _)| n == name).expect("listed").1;
        let head: Vec<Vec<Cell>> = rows_of(range)
            .take_while(|(i, _)| *i < HEADER_SEARCH_ROWS)
            .map(|(_, c)| c)
            .collect();
        Ok(super::find_header(&head).is_some())
    })?;
    let Some(name) = chosen.or_else(|| names.first().cloned()) else {
        return Err(RosterError::Spreadsheet("no worksheet".into()));
    };
    let index = ranges.iter().position(|(n, _)| *n == name).expect("listed");
    let (_, range) = ranges.swap_remove(index);
    drop(ranges);
    let mut builder = Builder::new(Some(name), &names);
    for (i, cells) in rows_of(&range) {
        builder.push(i, cells)?;
    }
    builder.finish()
}
