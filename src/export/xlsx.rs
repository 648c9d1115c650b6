//! xlsx written as a stream: rows go out as they come, in a zip stream, so memory stays flat
//! and the first bytes can leave before the last row is read (the console streams a million
//! members to a browser; the laptop writes as it reads its store). Nothing is written
//! anywhere but the given writer.
//!
//! Hand-written on purpose: rust_xlsxwriter, the maintained crate for writing xlsx, keeps the
//! whole workbook in memory (or in temporary files, in its constant-memory mode) and writes it
//! out only at the end; a server must not put personal data on its disk, and a browser must
//! get its first bytes at once. What is written is a small, fixed subset of SpreadsheetML, its
//! parts and styles as rust_xlsxwriter writes them (checked against its output), except:
//!
//! - text is inline (no shared-string table to hold until the end), never a number: an
//!   18-digit ID as a number would lose its last digits;
//! - cells carry no reference: each is the next in its row, a blank one `<c/>` (half the bytes
//!   and the time of `r="AC12345"` on every cell).
//!
//! Dates and times are real date cells with a date format, times local with the offset in
//! their format (`yyyy-mm-dd hh:mm:ss"+08:00"`, one style per offset met). The header is
//! bold and frozen; columns have their widths; an autofilter covers the data; a sheet prints
//! landscape, one page wide, the header on every page. Past [`ROWS_PER_SHEET`] rows the next
//! sheet begins, with its own header. The parts that list the sheets and the styles are
//! written last, when their number is known.

use std::collections::HashMap;
use std::io::{self, Write};

use chrono::{FixedOffset, NaiveDate, Timelike};
use zip::ZipWriter;
use zip::write::{SimpleFileOptions, StreamWriter};

use super::ExportRow;
use super::columns::{Chosen, Moment, Profile};
use crate::i18n::Lang;

/// Data rows per sheet: Excel's 1,048,576 rows less the header.
pub const ROWS_PER_SHEET: u64 = 1_048_575;

/// Style indexes in `cellXfs`: 0 plain, 1 bold, 2 a date, then one per time offset.
const BOLD: usize = 1;
const DATE: usize = 2;
/// The first custom number format id (the ones below are Excel's built-in formats).
const FIRST_NUM_FMT: usize = 164;

/// A workbook being written.
pub struct Book<W: Write> {
    zip: ZipWriter<StreamWriter<W>>,
    opts: SimpleFileOptions,
    columns: Vec<Chosen>,
    /// The last column's letters (`AC`), for the autofilter's range.
    last_column: String,
    lang: Lang,
    sheet_name: &'static str,
    rows_per_sheet: u64,
    /// Data rows of each sheet begun so far.
    sheets: Vec<u64>,
    /// Time formats met, by offset in seconds, in the order their styles were made.
    offsets: Vec<i32>,
    style_of_offset: HashMap<i32, usize>,
    line: String,
}

impl<W: Write> Book<W> {
    pub fn new(out: W, profile: &Profile, lang: Lang) -> Book<W> {
        let columns = profile.chosen(lang);
        let last_column = column_letters(columns.len().saturating_sub(1));
        Book {
            zip: ZipWriter::new_stream(out),
            opts: SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .compression_level(Some(1)),
            columns,
            last_column,
            lang,
            sheet_name: crate::i18n::text(lang, profile.sheet),
            rows_per_sheet: ROWS_PER_SHEET,
            sheets: Vec::new(),
            offsets: Vec::new(),
            style_of_offset: HashMap::new(),
            line: String::new(),
        }
    }

    /// Fewer rows per sheet (tests of the sheet break).
    pub fn rows_per_sheet(mut self, n: u64) -> Book<W> {
        self.rows_per_sheet = n.max(1);
        self
    }

    fn open_sheet(&mut self) -> io::Result<()> {
        if !self.sheets.is_empty() {
            self.close_sheet()?;
        }
        self.sheets.push(0);
        let n = self.sheets.len();
        self.zip
            .start_file(format!("xl/worksheets/sheet{n}.xml"), self.opts)
            .map_err(io::Error::other)?;
        let mut head = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
             <worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
             xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">\
             <sheetPr><pageSetUpPr fitToPage=\"1\"/></sheetPr>\
             <sheetViews><sheetView workbookViewId=\"0\"><pane ySplit=\"1\" topLeftCell=\"A2\" \
             activePane=\"bottomLeft\" state=\"frozen\"/><selection pane=\"bottomLeft\"/>\
             </sheetView></sheetViews><sheetFormatPr defaultRowHeight=\"15\"/><cols>",
        );
        for (i, c) in self.columns.iter().enumerate() {
            head.push_str(&format!(
                "<col min=\"{n}\" max=\"{n}\" width=\"{w}\" customWidth=\"1\"/>",
                n = i + 1,
                w = excel_width(c.column.width)
            ));
        }
        head.push_str("</cols><sheetData><row r=\"1\">");
        for c in &self.columns {
            push_text_cell(&mut head, Some(BOLD), c.header);
        }
        head.push_str("</row>");
        self.zip.write_all(head.as_bytes())
    }

    fn close_sheet(&mut self) -> io::Result<()> {
        let rows = self.sheets.last().copied().unwrap_or(0);
        let mut tail = String::from("</sheetData>");
        if rows > 0 {
            tail.push_str(&format!("<autoFilter ref=\"{}\"/>", self.data_range(rows)));
        }
        tail.push_str(
            "<pageMargins left=\"0.7\" right=\"0.7\" top=\"0.75\" bottom=\"0.75\" \
             header=\"0.3\" footer=\"0.3\"/>\
             <pageSetup fitToHeight=\"0\" orientation=\"landscape\"/></worksheet>",
        );
        self.zip.write_all(tail.as_bytes())
    }

    /// `A1:AC7`: the header and `rows` data rows.
    fn data_range(&self, rows: u64) -> String {
        format!("A1:{}{}", self.last_column, rows + 1)
    }

    /// The style of a time at `offset`, made the first time the offset is met.
    fn time_style(&mut self, offset: FixedOffset) -> usize {
        let secs = offset.local_minus_utc();
        if let Some(&s) = self.style_of_offset.get(&secs) {
            return s;
        }
        self.offsets.push(secs);
        let style = DATE + self.offsets.len();
        self.style_of_offset.insert(secs, style);
        style
    }

    /// One record as a row of the current sheet (a new sheet when this one is full).
    pub fn row(&mut self, r: &ExportRow) -> io::Result<()> {
        if self.sheets.last().is_none_or(|&n| n == self.rows_per_sheet) {
            self.open_sheet()?;
        }
        let Some(rows) = self.sheets.last_mut() else {
            return Ok(());
        };
        *rows += 1;
        let row_no = *rows + 1;
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        line.push_str("<row r=\"");
        line.push_str(&row_no.to_string());
        line.push_str("\">");
        for i in 0..self.columns.len() {
            let column = self.columns[i].column;
            match column.moment.and_then(|f| f(r)) {
                Some(m) => {
                    let style = match m {
                        Moment::Date(_) => DATE,
                        Moment::Time(t) => self.time_style(*t.offset()),
                    };
                    line.push_str("<c s=\"");
                    line.push_str(&style.to_string());
                    line.push_str("\"><v>");
                    line.push_str(&excel_serial(m));
                    line.push_str("</v></c>");
                }
                None => push_text_cell(
                    &mut line,
                    None,
                    &super::neutralise(&(column.value)(r, self.lang)),
                ),
            }
        }
        line.push_str("</row>");
        let written = self.zip.write_all(line.as_bytes());
        self.line = line;
        written
    }

    /// Ends the last sheet and writes the parts that list the sheets and styles; returns
    /// the writer, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        if self.sheets.is_empty() {
            // no record: still a workbook, with its header
            self.open_sheet()?;
        }
        self.close_sheet()?;
        let parts = [
            ("xl/styles.xml", self.styles()),
            ("xl/workbook.xml", self.workbook()),
            ("xl/_rels/workbook.xml.rels", self.workbook_rels()),
            ("_rels/.rels", ROOT_RELS.to_string()),
            ("[Content_Types].xml", self.content_types()),
        ];
        for (path, text) in parts {
            self.zip
                .start_file(path, self.opts)
                .map_err(io::Error::other)?;
            self.zip.write_all(text.as_bytes())?;
        }
        let mut out = self.zip.finish().map_err(io::Error::other)?.into_inner();
        out.flush()?;
        Ok(out)
    }

    /// Sheet `i` (from 1)'s name: the profile's, numbered when there are several.
    fn sheet_name(&self, i: usize) -> String {
        if self.sheets.len() > 1 {
            format!("{} {i}", self.sheet_name)
        } else {
            self.sheet_name.to_string()
        }
    }

    fn workbook(&self) -> String {
        let mut sheets = String::new();
        // (sort key, element): Excel keeps defined names sorted by name, then by range
        let mut names: Vec<(String, String)> = Vec::new();
        for (i, rows) in self.sheets.iter().enumerate() {
            let n = i + 1;
            let name = self.sheet_name(n);
            sheets.push_str(&format!(
                "<sheet name=\"{}\" sheetId=\"{n}\" r:id=\"rId{n}\"/>",
                xml_attr(&name)
            ));
            // a sheet name in a formula: quoted, its own quotes doubled
            let quoted = format!("'{}'", name.replace('\'', "''"));
            if *rows > 0 {
                let range = format!("{quoted}!{}", absolute(&self.data_range(*rows)));
                names.push((
                    format!("_filterdatabase {range}"),
                    format!(
                        "<definedName name=\"_xlnm._FilterDatabase\" localSheetId=\"{i}\" \
                         hidden=\"1\">{}</definedName>",
                        xml_text(&range)
                    ),
                ));
            }
            let titles = format!("{quoted}!$1:$1");
            names.push((
                format!("print_titles {titles}"),
                format!(
                    "<definedName name=\"_xlnm.Print_Titles\" localSheetId=\"{i}\">{}</definedName>",
                    xml_text(&titles)
                ),
            ));
        }
        names.sort();
        let names: String = names.into_iter().map(|(_, e)| e).collect();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
             <workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
             xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">\
             <bookViews><workbookView/></bookViews><sheets>{sheets}</sheets>\
             <definedNames>{names}</definedNames></workbook>"
        )
    }

    fn workbook_rels(&self) -> String {
        let mut rels = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
             <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">",
        );
        for n in 1..=self.sheets.len() {
            rels.push_str(&format!(
                "<Relationship Id=\"rId{n}\" \
                 Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" \
                 Target=\"worksheets/sheet{n}.xml\"/>"
            ));
        }
        let styles = self.sheets.len() + 1;
        rels.push_str(&format!(
            "<Relationship Id=\"rId{styles}\" \
             Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" \
             Target=\"styles.xml\"/></Relationships>"
        ));
        rels
    }

    fn content_types(&self) -> String {
        let mut types = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
             <Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
             <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
             <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
             <Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
             <Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>",
        );
        for n in 1..=self.sheets.len() {
            types.push_str(&format!(
                "<Override PartName=\"/xl/worksheets/sheet{n}.xml\" \
                 ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
            ));
        }
        types.push_str("</Types>");
        types
    }

    fn styles(&self) -> String {
        let mut formats = vec![(FIRST_NUM_FMT, "yyyy-mm-dd".to_string())];
        for (i, secs) in self.offsets.iter().enumerate() {
            formats.push((FIRST_NUM_FMT + 1 + i, time_format(*secs)));
        }
        let mut out = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
             <styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">\
             <numFmts count=\"{}\">",
            formats.len()
        );
        for (id, code) in &formats {
            out.push_str(&format!(
                "<numFmt numFmtId=\"{id}\" formatCode=\"{}\"/>",
                xml_attr(code)
            ));
        }
        out.push_str(
            "</numFmts><fonts count=\"2\">\
             <font><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font>\
             <font><b/><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font></fonts>\
             <fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill>\
             <fill><patternFill patternType=\"gray125\"/></fill></fills>\
             <borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
             <cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>",
        );
        out.push_str(&format!(
            "<cellXfs count=\"{}\">\
             <xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>\
             <xf numFmtId=\"0\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\"/>",
            DATE + 1 + self.offsets.len()
        ));
        for (id, _) in &formats {
            out.push_str(&format!(
                "<xf numFmtId=\"{id}\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" \
                 applyNumberFormat=\"1\"/>"
            ));
        }
        out.push_str(
            "</cellXfs><cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" \
             builtinId=\"0\"/></cellStyles></styleSheet>",
        );
        out
    }
}

const ROOT_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
    <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
    <Relationship Id=\"rId1\" \
    Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" \
    Target=\"xl/workbook.xml\"/></Relationships>";

/// `A1:AC7` as `$A$1:$AC$7`.
fn absolute(range: &str) -> String {
    range
        .split(':')
        .map(|cell| {
            let digits = cell
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(cell.len());
            format!("${}${}", &cell[..digits], &cell[digits..])
        })
        .collect::<Vec<_>>()
        .join(":")
}

/// `A`, `B`, … `Z`, `AA`, … for column index `i` (from 0).
fn column_letters(i: usize) -> String {
    let mut n = i + 1;
    let mut out = Vec::new();
    while n > 0 {
        let r = (n - 1) % 26;
        out.push(b'A' + r as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Excel's column width for `chars` characters of its default font (what rust_xlsxwriter
/// writes: the characters plus the cell's padding, in 1/256ths).
fn excel_width(chars: u16) -> f64 {
    let max_digit = 7.0;
    let padding = 5.0;
    ((f64::from(chars) * max_digit + padding) / max_digit * 256.0).floor() / 256.0
}

/// A date or local time as Excel's serial number: days since 1899-12-30, the time of day as
/// the fraction.
fn excel_serial(m: Moment) -> String {
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
    let days = |d: NaiveDate| (d - epoch).num_days();
    match m {
        Moment::Date(d) => days(d).to_string(),
        Moment::Time(t) => {
            let secs = t.num_seconds_from_midnight();
            if secs == 0 {
                return days(t.date_naive()).to_string();
            }
            let serial = days(t.date_naive()) as f64 + f64::from(secs) / 86_400.0;
            serial.to_string()
        }
    }
}

/// The number format of a time at an offset of `secs`: `yyyy-mm-dd hh:mm:ss"+08:00"`, the
/// offset as text beside the real date-time value.
fn time_format(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.unsigned_abs();
    format!(
        "yyyy-mm-dd hh:mm:ss\"{sign}{:02}:{:02}\"",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// A text cell, or an empty one for no text (a blank cell still takes its place: cells carry
/// no reference, so each is the next in its row — half the bytes and time of `r="AC12345"`).
fn push_text_cell(out: &mut String, style: Option<usize>, text: &str) {
    if text.is_empty() && style.is_none() {
        out.push_str("<c/>");
        return;
    }
    out.push_str("<c");
    if let Some(s) = style {
        out.push_str(" s=\"");
        out.push_str(&s.to_string());
        out.push('"');
    }
    out.push_str(" t=\"inlineStr\"><is><t xml:space=\"preserve\">");
    push_xml_text(out, text);
    out.push_str("</t></is></c>");
}

/// Text for an XML element, without the characters XML 1.0 cannot hold.
fn push_xml_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

fn xml_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_xml_text(&mut out, s);
    out
}

fn xml_attr(s: &str) -> String {
    xml_text(s).replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_lettered_as_excel_does() {
        let got: Vec<_> = [0, 25, 26, 28, 701, 702].map(column_letters).to_vec();
        assert_eq!(got, ["A", "Z", "AA", "AC", "ZZ", "AAA"]);
        assert_eq!(absolute("A1:AC7"), "$A$1:$AC$7");
    }

    #[test]
    fn serial_dates_count_from_excels_epoch() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert_eq!(excel_serial(Moment::Date(d)), "46350");
        let noon = chrono::DateTime::parse_from_rfc3339("2026-11-24T12:00:00+08:00").unwrap();
        assert_eq!(excel_serial(Moment::Time(noon)), "46350.5");
        assert_eq!(time_format(8 * 3600), "yyyy-mm-dd hh:mm:ss\"+08:00\"");
        assert_eq!(
            time_format(-(5 * 3600 + 30 * 60)),
            "yyyy-mm-dd hh:mm:ss\"-05:30\""
        );
        assert_eq!(excel_width(22), 22.7109375);
    }
}
