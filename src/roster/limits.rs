//! What an import may cost, checked before and while a file is read: a roster of a whole
//! workplace fits easily, a zip bomb or a damaged file is refused with a message that says so.
//!
//! Spreadsheets are zip files (xlsx, ods) or compound files (xls, WPS .et) that a few KB can
//! make expand to gigabytes, or that declare millions of cells. Before calamine opens one:
//! - zip: every entry's declared size is checked, and the XML entries are inflated once into a
//!   counter, never into memory, so an entry that lies about its size is caught too (the zip
//!   crate also stops reading an entry at its declared size);
//! - ODS: the cells of content.xml are counted, repeats included, without keeping them;
//! - xls: the cell records and declared dimensions of the workbook stream are scanned.
//!
//! While reading, rows, columns, characters per cell and text in total are bounded (see
//! [`Budget`]). Together these keep an import under 512 MB of memory (docs/reliability.md).

use std::io::{BufReader, Read, Seek};

use quick_xml::events::{BytesStart, Event};

use super::RosterError;

/// Largest file accepted, any format (a 200,000-row CSV roster is about 30 MB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// Data rows (blank rows aside): ten times the largest batch of the SPEC's figures.
pub const MAX_ROWS: usize = 200_000;
/// Columns read per row; cells further right are ignored.
pub const MAX_COLUMNS: usize = 256;
/// Characters kept of one cell: longer than any field allows, so validation still says
/// "too long" (the rest is dropped unread).
pub const MAX_CELL_CHARS: usize = 1_000;
/// Text kept from the whole file (a 200,000-row roster with ten columns holds about 40 MB).
pub const MAX_TEXT_BYTES: usize = 64 << 20;
/// A worksheet's XML, read as a stream (ODS: content.xml, the whole workbook).
pub const MAX_SHEET_XML: u64 = 128 << 20;
/// Any other XML part, which the reader holds whole (shared strings, styles, workbook).
pub const MAX_PART_XML: u64 = 64 << 20;
/// All entries of a zip together, and how many it may have.
pub const MAX_ZIP_TOTAL: u64 = 256 << 20;
pub const MAX_ZIP_ENTRIES: usize = 10_000;
/// Cells an xls or ods sheet may span (calamine holds them, empty or not, as one grid).
pub const MAX_CELLS: u64 = 4_000_000;

/// Which bound a file broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The file itself, in bytes.
    File { bytes: u64 },
    /// A zip entry expands (or claims to expand) beyond what a roster needs.
    Unpacked { entry: String },
    /// More data rows than [`MAX_ROWS`].
    Rows,
    /// A sheet spans more than [`MAX_CELLS`] cells.
    Cells,
    /// More text than [`MAX_TEXT_BYTES`].
    Text,
}

fn too_big(limit: Limit) -> RosterError {
    RosterError::TooBig(limit)
}

/// Refuses a file larger than [`MAX_FILE_BYTES`].
pub fn check_file_size(len: u64) -> Result<(), RosterError> {
    if len > MAX_FILE_BYTES {
        return Err(too_big(Limit::File { bytes: len }));
    }
    Ok(())
}

/// What a zip file holds, by its entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZipKind {
    Xlsx,
    Xlsb,
    Ods,
    /// A zip that is no spreadsheet (a Word document, an archive of files).
    Other,
}

/// Parts a spreadsheet reader will inflate: what they may hold.
fn part_limit(name: &str) -> Option<u64> {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("xl/worksheets/") || lower == "content.xml" {
        Some(MAX_SHEET_XML)
    } else if lower.ends_with(".xml") || lower.ends_with(".rels") {
        Some(MAX_PART_XML)
    } else {
        // Images and other media are never read.
        None
    }
}

/// Counts bytes written to it and keeps none.
struct Counter(u64);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Checks every entry a reader would inflate, by its declared size and by what it really
/// inflates to, and says what the zip is.
pub fn check_zip<R: Read + Seek>(reader: R) -> Result<ZipKind, RosterError> {
    let spreadsheet = |e: zip::result::ZipError| RosterError::Spreadsheet(e.to_string());
    let mut zip = zip::ZipArchive::new(reader).map_err(spreadsheet)?;
    if zip.len() > MAX_ZIP_ENTRIES {
        return Err(too_big(Limit::Unpacked {
            entry: format!("{} entries", zip.len()),
        }));
    }
    let mut names = Vec::with_capacity(zip.len());
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(spreadsheet)?;
        let name = entry.name().map_err(spreadsheet)?.into_owned();
        let declared = entry.size();
        total = total.saturating_add(declared);
        if let Some(limit) = part_limit(&name)
            && declared > limit
        {
            return Err(too_big(Limit::Unpacked { entry: name }));
        }
        if total > MAX_ZIP_TOTAL {
            return Err(too_big(Limit::Unpacked { entry: name }));
        }
        names.push(name);
    }
    // Declared sizes can lie: inflate what will be read, counting, to at most its limit.
    for (i, name) in names.iter().enumerate() {
        let Some(limit) = part_limit(name) else {
            continue;
        };
        let mut entry = zip.by_index(i).map_err(spreadsheet)?;
        let declared = entry.size();
        let mut counter = Counter(0);
        let copied = std::io::copy(&mut (&mut entry).take(limit + 1), &mut counter);
        let lying = || {
            too_big(Limit::Unpacked {
                entry: name.to_string(),
            })
        };
        match copied {
            Ok(n) if n > limit || n > declared => return Err(lying()),
            Ok(_) => {}
            // The zip crate refuses to inflate past the declared size: the same lie.
            Err(e) if e.to_string().contains("declared") => return Err(lying()),
            Err(e) => return Err(RosterError::Spreadsheet(format!("{name}: {e}"))),
        }
    }
    let has = |n: &str| names.iter().any(|x| x.eq_ignore_ascii_case(n));
    Ok(if has("xl/workbook.xml") {
        ZipKind::Xlsx
    } else if has("xl/workbook.bin") {
        ZipKind::Xlsb
    } else if has("content.xml") {
        ZipKind::Ods
    } else {
        ZipKind::Other
    })
}

/// Counts the cells of an ODS file's content.xml as calamine would lay them out (repeats
/// expanded), refusing one whose sheets span more than [`MAX_CELLS`].
pub fn check_ods_cells<R: Read + Seek>(reader: R) -> Result<(), RosterError> {
    let spreadsheet = |e: &dyn std::fmt::Display| RosterError::Spreadsheet(e.to_string());
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| spreadsheet(&e))?;
    let entry = zip.by_name("content.xml").map_err(|e| spreadsheet(&e))?;
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(entry.take(MAX_SHEET_XML + 1)));
    let mut buf = Vec::new();
    let mut sheet = OdsSheet::default();
    let mut all: u64 = 0;
    loop {
        let event = xml.read_event_into(&mut buf).map_err(|e| spreadsheet(&e))?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let empty = matches!(event, Event::Empty(_));
                match e.local_name().as_ref() {
                    "table" => {
                        all = all.saturating_add(sheet.span());
                        sheet = OdsSheet::default();
                    }
                    "table-row" => sheet.start_row(repeat(e, "number-rows-repeated")),
                    "table-cell" | "covered-table-cell" => {
                        let valued = !empty || has_attr(e, "value-type");
                        sheet.cell(repeat(e, "number-columns-repeated"), valued)?;
                    }
                    _ => {}
                }
                if empty && e.local_name().as_ref() == "table-row" {
                    sheet.end_row()?;
                }
            }
            Event::End(e) if e.local_name().as_ref() == "table-row" => sheet.end_row()?,
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
        if all.saturating_add(sheet.span()) > MAX_CELLS {
            return Err(too_big(Limit::Cells));
        }
    }
    Ok(())
}

fn has_attr(e: &BytesStart, local: &str) -> bool {
    e.attributes()
        .flatten()
        .any(|a| a.key.local_name().as_ref() == local)
}

fn repeat(e: &BytesStart, local: &str) -> u64 {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .and_then(|a| a.value.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .max(1)
}

/// One ODS sheet as counted: the rows and columns its valued cells reach, and how many valued
/// cells repeats make.
#[derive(Default)]
struct OdsSheet {
    row: u64,
    row_repeat: u64,
    col: u64,
    row_valued: bool,
    max_row: u64,
    max_col: u64,
    valued: u64,
}

impl OdsSheet {
    fn start_row(&mut self, repeat: u64) {
        self.row_repeat = repeat;
        self.col = 0;
        self.row_valued = false;
    }

    fn cell(&mut self, repeat: u64, valued: bool) -> Result<(), RosterError> {
        self.col = self.col.saturating_add(repeat);
        if valued {
            self.row_valued = true;
            self.max_col = self.max_col.max(self.col);
            self.valued = self
                .valued
                .saturating_add(repeat.saturating_mul(self.row_repeat.max(1)));
            if self.valued > MAX_CELLS {
                return Err(too_big(Limit::Cells));
            }
        }
        Ok(())
    }

    fn end_row(&mut self) -> Result<(), RosterError> {
        self.row = self.row.saturating_add(self.row_repeat.max(1));
        if self.row_valued {
            self.max_row = self.row;
        }
        self.row_repeat = 1;
        Ok(())
    }

    /// The grid calamine makes of this sheet: every valued cell, and the rectangle they span.
    fn span(&self) -> u64 {
        self.max_row.saturating_mul(self.max_col).max(self.valued)
    }
}

/// Looks inside a compound file (xls, WPS .et, or an encrypted Office file): the stream a
/// spreadsheet reader would parse, checked for declared dimensions and cell positions that
/// would make a sheet of more than [`MAX_CELLS`] cells.
pub fn check_compound<R: Read + Seek>(reader: R) -> Result<CompoundKind, RosterError> {
    let spreadsheet = |e: &dyn std::fmt::Display| RosterError::Spreadsheet(e.to_string());
    let mut cfb = cfb::CompoundFile::open(reader).map_err(|e| spreadsheet(&e))?;
    if cfb.is_stream("/EncryptedPackage") {
        return Ok(CompoundKind::Encrypted);
    }
    let Some(path) = ["/Workbook", "/Book", "/WORKBOOK", "/BOOK"]
        .into_iter()
        .find(|p| cfb.is_stream(p))
    else {
        return Ok(CompoundKind::Other);
    };
    let mut data = Vec::new();
    cfb.open_stream(path)
        .map_err(|e| spreadsheet(&e))?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(|e| spreadsheet(&e))?;
    check_file_size(data.len() as u64)?;
    scan_biff(&data)?;
    Ok(CompoundKind::Workbook)
}

/// What a compound file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompoundKind {
    /// An Excel 97–2003 (BIFF) workbook stream: calamine reads it.
    Workbook,
    /// A password-protected Office file.
    Encrypted,
    /// Something else (a Word document, WPS's own format).
    Other,
}

/// The BIFF records that carry a cell, with the offset of their last column (MULRK spans
/// columns).
fn cell_record(typ: u16) -> bool {
    matches!(
        typ,
        0x0006 | 0x00FD | 0x0203 | 0x027E | 0x0204 | 0x0205 | 0x00D6 | 0x00BD
    )
}

fn u16_at(d: &[u8], i: usize) -> Option<u64> {
    d.get(i..i + 2)
        .map(|b| u64::from(u16::from_le_bytes([b[0], b[1]])))
}

fn u32_at(d: &[u8], i: usize) -> Option<u64> {
    d.get(i..i + 4)
        .map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
}

/// Scans a BIFF workbook stream: each sheet's declared dimensions and the rectangle its cells
/// span, all sheets together (calamine reads them all at once).
fn scan_biff(data: &[u8]) -> Result<(), RosterError> {
    #[derive(Default)]
    struct Sheet {
        min: Option<(u64, u64)>,
        max: (u64, u64),
    }
    impl Sheet {
        fn add(&mut self, row: u64, col: u64) {
            let (r0, c0) = self.min.unwrap_or((row, col));
            self.min = Some((r0.min(row), c0.min(col)));
            self.max = (self.max.0.max(row), self.max.1.max(col));
        }
        fn span(&self) -> u64 {
            self.min.map_or(0, |(r0, c0)| {
                (self.max.0 - r0 + 1).saturating_mul(self.max.1 - c0 + 1)
            })
        }
    }
    let mut total: u64 = 0;
    let mut sheet = Sheet::default();
    let mut i = 0usize;
    while i + 4 <= data.len() {
        let typ = u16::from_le_bytes([data[i], data[i + 1]]);
        let len = usize::from(u16::from_le_bytes([data[i + 2], data[i + 3]]));
        let rec = &data[i + 4..(i + 4 + len).min(data.len())];
        i += 4 + len;
        match typ {
            // BOF: a new substream (sheet)
            0x0809 => {
                total = total.saturating_add(sheet.span());
                sheet = Sheet::default();
            }
            // DIMENSIONS: calamine reserves room for what it declares
            0x0200 => {
                let (r0, r1, c0, c1) = if rec.len() >= 14 {
                    (
                        u32_at(rec, 0),
                        u32_at(rec, 4),
                        u16_at(rec, 8),
                        u16_at(rec, 10),
                    )
                } else {
                    (
                        u16_at(rec, 0),
                        u16_at(rec, 2),
                        u16_at(rec, 4),
                        u16_at(rec, 6),
                    )
                };
                let (Some(r0), Some(r1), Some(c0), Some(c1)) = (r0, r1, c0, c1) else {
                    continue;
                };
                if r1 < r0 || c1 < c0 {
                    return Err(RosterError::Spreadsheet(
                        "xls: sheet dimensions end before they start".into(),
                    ));
                }
                if (r1 - r0 + 1).saturating_mul(c1 - c0 + 1) > MAX_CELLS {
                    return Err(too_big(Limit::Cells));
                }
            }
            t if cell_record(t) => {
                let (Some(row), Some(col)) = (u16_at(rec, 0), u16_at(rec, 2)) else {
                    continue;
                };
                sheet.add(row, col);
                if t == 0x00BD
                    && let Some(last) = rec.len().checked_sub(2).and_then(|j| u16_at(rec, j))
                {
                    sheet.add(row, last.max(col));
                }
            }
            _ => {}
        }
        if total.saturating_add(sheet.span()) > MAX_CELLS {
            return Err(too_big(Limit::Cells));
        }
    }
    Ok(())
}

/// Counts rows and text as they are kept, refusing a file past [`MAX_ROWS`] or
/// [`MAX_TEXT_BYTES`].
#[derive(Default)]
pub struct Budget {
    rows: usize,
    text: usize,
}

impl Budget {
    pub fn row(&mut self) -> Result<(), RosterError> {
        self.rows += 1;
        if self.rows > MAX_ROWS {
            return Err(too_big(Limit::Rows));
        }
        Ok(())
    }

    pub fn text(&mut self, bytes: usize) -> Result<(), RosterError> {
        self.text = self.text.saturating_add(bytes);
        if self.text > MAX_TEXT_BYTES {
            return Err(too_big(Limit::Text));
        }
        Ok(())
    }
}

/// A cell's text, cut to [`MAX_CELL_CHARS`] + 1 characters (one over, so that validation
/// still sees it is too long).
pub fn cap_cell(s: &str) -> &str {
    match s.char_indices().nth(MAX_CELL_CHARS + 1) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
