//! `/members/export?format=csv|xlsx&…`: the members of a filtered view (the list's own
//! filters), streamed as they are read, a page of rows at a time: memory stays flat and the
//! first bytes leave at once, so a million rows neither time out nor fill the server.
//! Nothing is written to the server's disk. The columns are the console profile of the one
//! export table ([`crate::export::CONSOLE_VIEW`]) and the writers are the laptop's; an xlsx
//! file goes out as a zip stream with one sheet per 1,048,575 rows. Admins only; audited with
//! the rows sent: the entry is written by the body itself when it ends or is dropped (a client
//! that leaves at 90 % is audited with what it was sent, `;incomplete`), not by the writer,
//! which may never learn the client left ([`ExportAudit`]).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::Viewer;
use super::members::query::{ListQuery, describe};
pub use crate::export::xlsx::ROWS_PER_SHEET;
use crate::export::{CONSOLE_VIEW, ExportFormat, Writer};
use crate::i18n::Lang;
use crate::server::db::audit::AuditEntry;
use crate::server::db::search::ListRow;
use crate::server::refusal::Refusal;
use crate::server::state::ServerState;
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

pub async fn download(
    State(state): State<Arc<ServerState>>,
    v: Viewer,
    Query(q): Query<ExportQuery>,
) -> Result<Response, Refusal> {
    v.require_admin()?;
    let format = match q.format.as_str() {
        "csv" => Format::Csv,
        // xlsx unless asked: a CSV opened in Excel or WPS loses 18-digit numbers' last digits
        "xlsx" | "" => Format::Xlsx,
        _ => return Err(Refusal::BadFormat),
    };
    let filter = q.list.filter(&v.scope)?;
    // the list's rule for a whole phone or document number holds for its export too
    super::members::full_number::rule(&state, &v, &q.list.q).await?;
    let (tx, rx) = mpsc::channel::<Piece>(4);
    let rt = tokio::runtime::Handle::current();
    let lang = v.lang;
    let audit = ExportAudit {
        state: Arc::clone(&state),
        rt: rt.clone(),
        actor: v.user.clone(),
        scope: v.scope.clone(),
        fields: {
            let mut f = describe(&filter);
            let name = if format == Format::Csv { "csv" } else { "xlsx" };
            f.insert("format".into(), name.into());
            f
        },
        sent: 0,
        written: false,
    };
    tokio::task::spawn_blocking(move || {
        let begun = Arc::new(AtomicU64::new(0));
        let sink = ChanWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
            begun: Arc::clone(&begun),
        };
        let mut source = |before: Option<i64>| {
            rt.block_on(state.db.search_members(&filter, before, PAGE))
                .map_err(io::Error::other)
        };
        let result = match format {
            Format::Csv => write_csv(&mut source, sink, lang, &begun),
            Format::Xlsx => write_xlsx(&mut source, sink, lang, ROWS_PER_SHEET, &begun),
        };
        let end = match result {
            Ok(n) => Piece::Done(n),
            Err(e) => {
                tracing::warn!(error = %e, "console export cut short");
                Piece::Failed(e)
            }
        };
        // the body may be gone already (its entry was written when it was dropped)
        let _ = tx.blocking_send(end);
    });
    let stream = futures_util::stream::unfold((rx, audit), |(mut rx, mut audit)| async move {
        match rx.recv().await? {
            Piece::Chunk(bytes, rows) => {
                audit.sent = rows;
                Some((Ok(bytes), (rx, audit)))
            }
            Piece::Done(n) => {
                audit.done(n).await;
                None
            }
            Piece::Failed(e) => Some((Err(e), (rx, audit))),
        }
    });
    let (ctype, ext) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Xlsx => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    // named in the office's time, as every time it shows (SPEC §14)
    let name = format!("attachment; filename=\"members-{}.{ext}\"", v.zone.stamp());
    Ok((
        [
            (CONTENT_TYPE, ctype.to_string()),
            (CONTENT_DISPOSITION, name),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// What the writer hands the response body: a chunk with the rows begun by the time it was
/// made (so a row cut between two chunks counts as sent), then how it ended.
enum Piece {
    Chunk(Bytes, u64),
    Done(u64),
    Failed(io::Error),
}

/// The export's audit entry, held by the response body: written before the body's end when
/// the whole file went out (the client sees the end only once it is stored), else when the
/// body is dropped — the connection broke (the client left, a network cut) — so it always
/// exists, with the rows the body had handed to the connection. The client may have received
/// fewer (what was still in the network's buffers); never more.
struct ExportAudit {
    state: Arc<ServerState>,
    rt: tokio::runtime::Handle,
    actor: String,
    /// The actor's node: the entry is on the record where its part of the tree sees it.
    scope: crate::server::unions::Scope,
    /// The view and the format.
    fields: BTreeMap<String, String>,
    sent: u64,
    /// Written already.
    written: bool,
}

impl ExportAudit {
    fn entry(&mut self, complete: bool) -> Option<AuditEntry> {
        if std::mem::replace(&mut self.written, true) {
            return None;
        }
        let mut entry = AuditEntry::new(std::mem::take(&mut self.actor), "export", "")
            .count(self.sent as i64)
            .scope(&self.scope);
        entry.fields = std::mem::take(&mut self.fields);
        if !complete {
            entry.fields.insert("incomplete".into(), "true".into());
        }
        Some(entry)
    }

    /// The whole file went out: `n` rows.
    async fn done(&mut self, n: u64) {
        self.sent = n;
        if let Some(entry) = self.entry(true) {
            write_entry(&self.state, entry).await;
        }
    }
}

async fn write_entry(state: &ServerState, entry: AuditEntry) {
    if let Err(e) = state.db.audit(entry).await {
        tracing::error!(error = %e, "console export: audit entry not written");
    }
}

impl Drop for ExportAudit {
    fn drop(&mut self) {
        if let Some(entry) = self.entry(false) {
            let state = Arc::clone(&self.state);
            self.rt
                .spawn(async move { write_entry(&state, entry).await });
        }
    }
}

/// Bytes to the response body in chunks; fails once the client has gone (the export stops).
pub struct ChanWriter {
    tx: mpsc::Sender<Piece>,
    buf: Vec<u8>,
    /// Rows begun so far (the writer's count, read as each chunk leaves).
    begun: Arc<AtomicU64>,
}

impl ChanWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        let rows = self.begun.load(Ordering::Relaxed);
        self.tx
            .blocking_send(Piece::Chunk(chunk, rows))
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

/// The view as CSV: the console's columns, every member of every page once. `begun` counts
/// the rows as they are started.
pub fn write_csv(
    source: &mut Source<'_>,
    out: impl Write,
    lang: Lang,
    begun: &AtomicU64,
) -> io::Result<u64> {
    write_view(
        source,
        Writer::new(ExportFormat::Csv, &CONSOLE_VIEW, out, lang)?,
        begun,
    )
}

/// The view as xlsx, a new sheet every `rows_per_sheet` members.
pub fn write_xlsx(
    source: &mut Source<'_>,
    out: impl Write,
    lang: Lang,
    rows_per_sheet: u64,
    begun: &AtomicU64,
) -> io::Result<u64> {
    let file = Writer::new(ExportFormat::Xlsx, &CONSOLE_VIEW, out, lang)?;
    write_view(source, file.rows_per_sheet(rows_per_sheet), begun)
}

fn write_view<W: Write>(
    source: &mut Source<'_>,
    mut file: Writer<W>,
    begun: &AtomicU64,
) -> io::Result<u64> {
    for_each_row(source, |r| {
        begun.fetch_add(1, Ordering::Relaxed);
        let row = crate::server::export::list_row(r, &CONSOLE_VIEW)
            .map_err(|e| io::Error::other(e.to_string()))?;
        file.row(&row)
    })?;
    Ok(file.finish()?.1)
}

#[cfg(test)]
mod tests {
    use calamine::Reader;

    use super::*;
    use crate::protocol::WireRecord;
    use crate::server::db::search::Review;

    fn number(i: i64) -> crate::card::MemberNo {
        crate::card::MemberNo::new("K7M2QX", i as u32 + 1).unwrap()
    }

    /// `n` members, newest first: the first one whole, the others erased (what stays of an
    /// erased member is all the console's columns need besides the person).
    fn rows(n: i64) -> Vec<ListRow> {
        (0..n)
            .map(|i| ListRow {
                id: n - i,
                uuid: uuid::Uuid::from_u128(i as u128 + 1).to_string(),
                member_no: number(i).as_str().to_string(),
                record: if i == 0 {
                    whole_record()
                } else {
                    r#"{"erased":true,"event_date":"2026-11-01"}"#.into()
                },
                device: "lap-a".into(),
                event_date: "2026-11-01".into(),
                received_at: "2026-11-01T02:00:00.000Z".into(),
                review: if i == 0 {
                    Review::Questioned
                } else {
                    Review::Pending
                },
                status: crate::server::db::search::CardStatus::Valid,
                status_reason: String::new(),
            })
            .collect()
    }

    fn whole_record() -> String {
        let input = crate::member::MemberInput {
            name: "葛婷婷".into(),
            id_number: "11010519491231002X".into(),
            phone: "13800138000".into(),
            employer: "=某某快递有限公司".into(),
            employment_form: "dispatch".into(),
            consent: true,
            ..Default::default()
        };
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let member = crate::member::validate(&input, day).unwrap().member;
        serde_json::to_string(&WireRecord {
            member,
            consent_at: "2026-11-01T09:30:00+08:00".into(),
            created_at: "2026-11-01T09:30:00+08:00".into(),
            event_date: day,
            union: "朝阳区总工会".into(),
            place: "望京".into(),
            operator: "李".into(),
            imported: false,
        })
        .unwrap()
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
        let n = write_csv(
            &mut paged(rows(4_500)),
            &mut out,
            Lang::En,
            &AtomicU64::new(0),
        )
        .unwrap();
        assert_eq!(n, 4_500);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 4_501);
        for i in [0, 4_499] {
            assert!(text.contains(&number(i).grouped()), "{i}");
        }
        // the console's columns, the member number as on the card, no formula left to run
        let first = text.lines().nth(1).unwrap();
        assert_eq!(
            first,
            format!(
                "{},葛婷婷,11010519491231002X,13800138000,'=某某快递有限公司,,Agency (dispatched) work,\
                 朝阳区总工会,望京,2026-11-01,lap-a,valid,,Questioned",
                number(0).grouped()
            )
        );
        assert!(
            text.lines()
                .next()
                .unwrap()
                .starts_with("\u{feff}Member number,Name,")
        );
    }

    #[test]
    fn an_xlsx_past_a_sheets_rows_goes_on_to_more_sheets_and_opens() {
        let mut out = Vec::new();
        let n = write_xlsx(
            &mut paged(rows(7)),
            &mut out,
            Lang::En,
            3,
            &AtomicU64::new(0),
        )
        .unwrap();
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
        write_xlsx(
            &mut paged(Vec::new()),
            &mut out,
            Lang::Zh,
            3,
            &AtomicU64::new(0),
        )
        .unwrap();
        let book = calamine::Xlsx::new(std::io::Cursor::new(out)).unwrap();
        assert_eq!(book.sheet_names().len(), 1);
    }
}
