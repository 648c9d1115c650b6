//! `/members/export?format=csv|xlsx&…`: the members of a filtered view (the list's own
//! filters), streamed as they are read, a page of rows at a time: memory stays flat and the
//! first bytes leave at once, so a million rows neither time out nor fill the server.
//! Nothing is written to the server's disk. An xlsx file is written as a zip stream with one
//! sheet per 1,048,575 rows (a sheet's limit with its header row); its parts that list the
//! sheets come last, when their number is known. Admins only; audited with the row count.

use std::io::{self, Write};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::members::query::{ListQuery, describe};
use super::members::review_label;
use super::{Tr, Viewer};
use crate::export::neutralise;
use crate::i18n::Lang;
use crate::member::options::ListKind;
use crate::protocol::WireRecord;
use crate::server::db::audit::AuditEntry;
use crate::server::db::search::ListRow;
use crate::server::refusal::Refusal;
use crate::server::state::ServerState;

/// Data rows per sheet: Excel's 1,048,576 rows less the header.
pub const ROWS_PER_SHEET: u64 = 1_048_575;
/// Rows read from the database at a time.
const PAGE: i64 = 2_000;
/// Bytes handed to the connection at a time.
const CHUNK: usize = 64 * 1024;

#[derive(Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    pub format: String,
    #[serde(flatten)]
    pub list: ListQuery,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

const COLUMNS: [&str; 12] = [
    "console.col.member_no",
    "field.name",
    "field.id_number",
    "field.phone",
    "field.employer",
    "field.employer_uscc",
    "field.employment_form",
    "console.col.union",
    "console.col.place",
    "console.col.date",
    "console.col.device",
    "console.col.review",
];

/// One member as an export row (full record: exports are the office's copy).
pub fn cells(r: &ListRow, lang: Lang) -> Vec<String> {
    let w = serde_json::from_str::<WireRecord>(&r.record).ok();
    let m = w.as_ref().map(|w| &w.member);
    vec![
        r.member_no.clone(),
        m.map(|m| m.name.clone()).unwrap_or_default(),
        m.map(|m| m.document.number.clone()).unwrap_or_default(),
        m.map(|m| m.phone.clone()).unwrap_or_default(),
        m.map(|m| m.employer.clone()).unwrap_or_default(),
        m.and_then(|m| m.details.employer_uscc.clone())
            .unwrap_or_default(),
        m.and_then(|m| m.details.employment_form.as_deref())
            .map(|f| ListKind::EmploymentForm.label(f, lang))
            .unwrap_or_default(),
        w.as_ref().map(|w| w.union.clone()).unwrap_or_default(),
        w.as_ref().map(|w| w.place.clone()).unwrap_or_default(),
        r.event_date.clone(),
        r.device.clone(),
        review_label(Tr(lang), r.review).to_string(),
    ]
}

pub async fn download(
    State(state): State<Arc<ServerState>>,
    v: Viewer,
    Query(q): Query<ExportQuery>,
) -> Result<Response, Refusal> {
    v.require_admin()?;
    let format = match q.format.as_str() {
        "csv" => Format::Csv,
        "xlsx" => Format::Xlsx,
        _ => return Err(Refusal::BadFormat),
    };
    let filter = q.list.filter()?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, io::Error>>(4);
    let rt = tokio::runtime::Handle::current();
    let lang = v.lang;
    tokio::task::spawn_blocking(move || {
        let sink = ChanWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let mut source = |before: Option<i64>| {
            rt.block_on(state.db.search_members(&filter, before, PAGE))
                .map_err(io::Error::other)
        };
        let result = match format {
            Format::Csv => write_csv(&mut source, sink, lang),
            Format::Xlsx => write_xlsx(&mut source, sink, lang, ROWS_PER_SHEET),
        };
        let (count, ok) = match &result {
            Ok(n) => (*n, true),
            Err(e) => {
                tracing::warn!(error = %e, "console export cut short");
                (0, false)
            }
        };
        let target = format!(
            "{};format={}{}",
            describe(&filter),
            if format == Format::Csv { "csv" } else { "xlsx" },
            if ok { "" } else { ";incomplete" }
        );
        let entry = AuditEntry {
            actor: v.user.clone(),
            action: "export",
            target,
            count: count as i64,
        };
        if let Err(e) = rt.block_on(state.db.audit(entry)) {
            tracing::error!(error = %e, "console export: audit entry not written");
        }
        if let Err(e) = result {
            let _ = tx.blocking_send(Err(e));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let (ctype, ext) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Xlsx => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    let name = format!(
        "attachment; filename=\"members-{}.{ext}\"",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    );
    Ok((
        [
            (CONTENT_TYPE, ctype.to_string()),
            (CONTENT_DISPOSITION, name),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Bytes to the response body in chunks; fails once the client has gone (the export stops).
pub struct ChanWriter {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
}

impl ChanWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client gone"))
    }
}

impl Write for ChanWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Pages of the view, newest first: `source(before)` gives the page below id `before`.
pub type Source<'a> = dyn FnMut(Option<i64>) -> io::Result<Vec<ListRow>> + 'a;

fn for_each_row(
    source: &mut Source<'_>,
    mut f: impl FnMut(&ListRow) -> io::Result<()>,
) -> io::Result<u64> {
    let mut before = None;
    let mut n = 0u64;
    loop {
        let page = source(before)?;
        let Some(last) = page.last() else {
            return Ok(n);
        };
        before = Some(last.id);
        for r in &page {
            f(r)?;
            n += 1;
        }
        if (page.len() as i64) < PAGE {
            return Ok(n);
        }
    }
}

pub fn write_csv(source: &mut Source<'_>, out: impl Write, lang: Lang) -> io::Result<u64> {
    let mut out = out;
    // a BOM: Excel opens UTF-8 CSV as such only with one
    out.write_all(b"\xEF\xBB\xBF")?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(COLUMNS.iter().map(|k| crate::i18n::text(lang, k)))?;
    let n = for_each_row(source, |r| {
        w.write_record(cells(r, lang).iter().map(|c| neutralise(c)))
            .map_err(io::Error::other)
    })?;
    w.flush()?;
    Ok(n)
}

/// Text for an XML element, without the characters XML 1.0 cannot hold.
fn xml_text(s: &str, out: &mut String) {
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

fn xlsx_row(cells: &[String], out: &mut String) {
    out.push_str("<row>");
    for c in cells {
        out.push_str("<c t=\"inlineStr\"><is><t xml:space=\"preserve\">");
        xml_text(c, out);
        out.push_str("</t></is></c>");
    }
    out.push_str("</row>");
}

const SHEET_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
    <worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">\
    <sheetViews><sheetView workbookViewId=\"0\"><pane ySplit=\"1\" topLeftCell=\"A2\" \
    activePane=\"bottomLeft\" state=\"frozen\"/></sheetView></sheetViews><sheetData>";
const SHEET_TAIL: &str = "</sheetData></worksheet>";

pub fn write_xlsx(
    source: &mut Source<'_>,
    out: impl Write,
    lang: Lang,
    rows_per_sheet: u64,
) -> io::Result<u64> {
    use zip::write::SimpleFileOptions;
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    let mut zip = zip::ZipWriter::new_stream(out);
    let header: Vec<String> = COLUMNS
        .iter()
        .map(|k| crate::i18n::text(lang, k).to_string())
        .collect();
    let mut sheets = 0u32;
    let mut in_sheet = 0u64;
    let mut line = String::new();
    let open_sheet = |zip: &mut zip::ZipWriter<_>, n: u32, line: &mut String| -> io::Result<()> {
        zip.start_file(format!("xl/worksheets/sheet{n}.xml"), opts)
            .map_err(io::Error::other)?;
        line.clear();
        line.push_str(SHEET_HEAD);
        xlsx_row(&header, line);
        zip.write_all(line.as_bytes())
    };
    let n = for_each_row(source, |r| {
        if sheets == 0 || in_sheet == rows_per_sheet {
            if sheets > 0 {
                zip.write_all(SHEET_TAIL.as_bytes())?;
            }
            sheets += 1;
            in_sheet = 0;
            open_sheet(&mut zip, sheets, &mut line)?;
        }
        line.clear();
        xlsx_row(&cells(r, lang), &mut line);
        in_sheet += 1;
        zip.write_all(line.as_bytes())
    })?;
    if sheets == 0 {
        sheets = 1;
        open_sheet(&mut zip, 1, &mut line)?;
    }
    zip.write_all(SHEET_TAIL.as_bytes())?;
    let sheet_name = crate::i18n::text(lang, "console.export_sheet");
    let mut types = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
         <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
         <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
         <Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>",
    );
    let mut book = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
         xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheets>",
    );
    let mut rels = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">",
    );
    for i in 1..=sheets {
        types.push_str(&format!(
            "<Override PartName=\"/xl/worksheets/sheet{i}.xml\" \
             ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
        ));
        let mut name = String::new();
        xml_text(&format!("{sheet_name} {i}"), &mut name);
        book.push_str(&format!(
            "<sheet name=\"{name}\" sheetId=\"{i}\" r:id=\"rId{i}\"/>"
        ));
        rels.push_str(&format!(
            "<Relationship Id=\"rId{i}\" \
             Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" \
             Target=\"worksheets/sheet{i}.xml\"/>"
        ));
    }
    types.push_str("</Types>");
    book.push_str("</sheets></workbook>");
    rels.push_str("</Relationships>");
    let root_rels = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
        <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
        <Relationship Id=\"rId1\" \
        Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" \
        Target=\"xl/workbook.xml\"/></Relationships>";
    for (path, text) in [
        ("xl/workbook.xml", book.as_str()),
        ("xl/_rels/workbook.xml.rels", rels.as_str()),
        ("_rels/.rels", root_rels),
        ("[Content_Types].xml", types.as_str()),
    ] {
        zip.start_file(path, opts).map_err(io::Error::other)?;
        zip.write_all(text.as_bytes())?;
    }
    let mut inner = zip.finish().map_err(io::Error::other)?;
    inner.flush()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use calamine::Reader;

    use super::*;
    use crate::server::db::search::Review;

    fn rows(n: i64) -> Vec<ListRow> {
        (0..n)
            .map(|i| ListRow {
                id: n - i,
                uuid: format!("u{i}"),
                member_no: format!("K7M2QX{i:04}"),
                record: "{}".into(),
                device: "lap-a".into(),
                event_date: "2026-11-01".into(),
                received_at: String::new(),
                review: Review::Pending,
            })
            .collect()
    }

    fn paged(all: Vec<ListRow>) -> impl FnMut(Option<i64>) -> io::Result<Vec<ListRow>> {
        move |before| {
            Ok(all
                .iter()
                .filter(|r| before.is_none_or(|b| r.id < b))
                .take(PAGE as usize)
                .cloned()
                .collect())
        }
    }

    #[test]
    fn a_csv_has_the_header_and_every_row_once() {
        let mut out = Vec::new();
        let n = write_csv(&mut paged(rows(4_500)), &mut out, Lang::En).unwrap();
        assert_eq!(n, 4_500);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 4_501);
        assert!(text.contains("K7M2QX4499") && text.contains("K7M2QX0000"));
    }

    #[test]
    fn an_xlsx_past_a_sheets_rows_goes_on_to_more_sheets_and_opens() {
        let mut out = Vec::new();
        let n = write_xlsx(&mut paged(rows(7)), &mut out, Lang::En, 3).unwrap();
        assert_eq!(n, 7);
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(out)).unwrap();
        let names = book.sheet_names();
        assert_eq!(names.len(), 3, "{names:?}");
        let mut data_rows = 0;
        for name in names {
            let range = book.worksheet_range(&name).unwrap();
            assert_eq!(
                range.get((0, 0)).map(|c| c.to_string()).as_deref(),
                Some("Member number")
            );
            data_rows += range.height() - 1;
        }
        assert_eq!(data_rows, 7);
    }

    #[test]
    fn an_empty_view_is_still_a_workbook() {
        let mut out = Vec::new();
        write_xlsx(&mut paged(Vec::new()), &mut out, Lang::Zh, 3).unwrap();
        let book = calamine::Xlsx::new(std::io::Cursor::new(out)).unwrap();
        assert_eq!(book.sheet_names().len(), 1);
    }
}
