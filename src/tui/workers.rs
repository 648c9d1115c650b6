//! Work that must not block a keypress: saving the draft, printing, searching a million
//! records, the day's figures. Each worker is a thread with its own database connection; it
//! reports back through the app's one event channel as typed messages.

use std::collections::HashSet;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use chrono::{DateTime, FixedOffset, NaiveDate};

use super::event::AppEvent;
use crate::member::MemberInput;
use crate::printer::{PrintJob, PrintOutcome};
use crate::store::booth_day::{self, BoothFigures};
use crate::store::members::Summary;
use crate::store::{Store, StoreError, drafts, members};

/// What workers report.
#[derive(Debug)]
pub enum WorkerMsg {
    DraftFailed {
        disk_full: bool,
    },
    Printed {
        member_no: String,
        outcome: PrintOutcome,
    },
    Search {
        seq: u64,
        first_page: bool,
        /// The page, and which of its rows a roster brought in.
        rows: Result<(Vec<Summary>, HashSet<i64>), String>,
    },
    Figures(Result<Box<BoothFigures>, String>),
    UploadProgress(crate::sync::Progress),
    UploadFinished(Result<Box<crate::sync::UploadReport>, crate::sync::UploadError>),
    /// After the laptop's own upload: the records held for paired laptops sent too (what it
    /// came to, in words, and whether all went).
    Relayed {
        text: String,
        ok: bool,
    },
    /// The backup file ("导出到U盘"): what was written, or why not, in words.
    BackupDone {
        text: String,
        ok: bool,
    },
    Cards(super::screens::cards::CardsProgress),
    CardsFinished(super::screens::cards::CardsDone),
    /// A roster file read (or why not, in words).
    RosterRead {
        path: std::path::PathBuf,
        roster: Result<Box<crate::roster::Roster>, String>,
    },
    /// The import's next chunk is due (sent by the app to itself, so keys and frames come
    /// between chunks).
    ImportStep,
    /// The settings' test print: the answer in words, and whether it printed.
    TestPrinted {
        message: String,
        ok: bool,
    },
    /// A command from another process (the local socket) finished: what it changed is shown.
    LocalRan,
    /// A pairing or a forgetting on the peers screen came to this.
    PeersDone {
        text: String,
        ok: bool,
    },
}

pub enum DraftReq {
    Save(Box<MemberInput>, DateTime<FixedOffset>),
    Clear,
    Stop,
}

/// A page of the records list: `before` the last row shown, or the first page.
#[derive(Clone, Debug)]
pub struct SearchReq {
    pub query: String,
    pub before: Option<i64>,
    pub seq: u64,
}

pub struct Workers {
    events: Sender<AppEvent>,
    /// The data folder: where a card PDF being written is noted (see `export::partial`).
    data_dir: std::path::PathBuf,
    draft: Sender<DraftReq>,
    draft_thread: Option<JoinHandle<()>>,
    print: Sender<PrintJob>,
    search: Sender<SearchReq>,
    stats: Sender<NaiveDate>,
    /// print, search, stats: joined on quit, so no thread is still using its database
    /// connection (or printing) while the process ends.
    others: Vec<JoinHandle<()>>,
}

/// Takes the newest request waiting, dropping older ones (a fast typist's keystrokes, a
/// scanner's burst): only the last state matters.
fn latest<T>(rx: &Receiver<T>, first: T) -> T {
    let mut last = first;
    while let Ok(next) = rx.try_recv() {
        last = next;
    }
    last
}

/// Characters typed into the draft's text fields, all together.
fn typed_chars(input: &MemberInput) -> usize {
    let MemberInput {
        name,
        doc_type: _,
        id_number,
        phone,
        employer,
        consent: _,
        ethnicity,
        political_status,
        education,
        occupation,
        employment_form,
        migrant_worker,
        employer_uscc,
        needs,
        remarks,
    } = input;
    [
        name,
        id_number,
        phone,
        employer,
        ethnicity,
        political_status,
        education,
        occupation,
        employment_form,
        migrant_worker,
        employer_uscc,
        needs,
        remarks,
    ]
    .iter()
    .map(|s| s.chars().count())
    .sum()
}

impl Workers {
    pub fn start(store: &Store, events: Sender<AppEvent>) -> Result<Workers, StoreError> {
        let draft_conn = store.second_connection()?;
        let data_dir = store.dir().to_path_buf();
        let search_conn = store.second_connection()?;
        let stats_conn = store.second_connection()?;
        let print_conn = store.second_connection()?;

        let (draft, draft_rx) = mpsc::channel::<DraftReq>();
        let events_for_upload = events.clone();
        let ev = events.clone();
        let draft_thread = std::thread::Builder::new()
            .name("draft".into())
            .spawn(move || {
                while let Ok(first) = draft_rx.recv() {
                    // Only the newest draft matters, but a Stop must not swallow the save
                    // queued before it.
                    let mut stop = false;
                    let mut newest = None;
                    for req in std::iter::once(first).chain(draft_rx.try_iter()) {
                        match req {
                            DraftReq::Stop => stop = true,
                            other => newest = Some(other),
                        }
                    }
                    let r = match &newest {
                        Some(DraftReq::Save(input, at)) => drafts::save(&draft_conn, input, at),
                        Some(DraftReq::Clear) => drafts::clear(&draft_conn),
                        _ => Ok(()),
                    };
                    if r.is_ok() {
                        // Committed (synchronous = FULL): what a test waits for before it
                        // pulls the plug. A count of characters, never what they are.
                        match &newest {
                            Some(DraftReq::Save(input, _)) => {
                                tracing::debug!(target: "draft", chars = typed_chars(input), "draft saved");
                            }
                            Some(DraftReq::Clear) => tracing::debug!(target: "draft", "draft cleared"),
                            _ => {}
                        }
                    }
                    if let Err(e) = r {
                        tracing::warn!(error = %e, "draft not saved");
                        let disk_full = matches!(e.diagnose(&data_dir), StoreError::DiskFull);
                        let _ = ev.send(AppEvent::Worker(WorkerMsg::DraftFailed { disk_full }));
                    }
                    if stop {
                        break;
                    }
                }
            })
            .map_err(StoreError::Io)?;

        let (print, print_rx) = mpsc::channel::<PrintJob>();
        let ev = events.clone();
        let print_thread = std::thread::Builder::new()
            .name("print".into())
            .spawn(move || {
                // Every job is printed: two reprints are two slips.
                while let Ok(job) = print_rx.recv() {
                    let outcome = job.run();
                    // printed on paper: a day's batch print leaves it out unless asked
                    if outcome.printed()
                        && let Err(e) = crate::store::batch::mark_done(
                            &print_conn,
                            crate::printer::batch::KIND,
                            &job.member_no,
                            "registration",
                            &crate::store::now(),
                        )
                    {
                        tracing::warn!(error = %e, "slip printed, not recorded as printed");
                    }
                    let _ = ev.send(AppEvent::Worker(WorkerMsg::Printed {
                        member_no: job.member_no.clone(),
                        outcome,
                    }));
                }
            })
            .map_err(StoreError::Io)?;

        let (search, search_rx) = mpsc::channel::<SearchReq>();
        let ev = events.clone();
        let search_thread = std::thread::Builder::new()
            .name("search".into())
            .spawn(move || {
                while let Ok(first) = search_rx.recv() {
                    let req = latest(&search_rx, first);
                    let rows = members::search(
                        &search_conn,
                        &req.query,
                        req.before,
                        super::screens::records::PAGE,
                    )
                    .and_then(|rows| {
                        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                        Ok((rows, booth_day::imported_among(&search_conn, &ids)?))
                    })
                    .map_err(|e| e.to_string());
                    let _ = ev.send(AppEvent::Worker(WorkerMsg::Search {
                        seq: req.seq,
                        first_page: req.before.is_none(),
                        rows,
                    }));
                }
            })
            .map_err(StoreError::Io)?;

        let (stats_tx, stats_rx) = mpsc::channel::<NaiveDate>();
        let stats_thread = std::thread::Builder::new()
            .name("stats".into())
            .spawn(move || {
                while let Ok(first) = stats_rx.recv() {
                    let day = latest(&stats_rx, first);
                    let f = booth_day::figures(&stats_conn, day)
                        .map(Box::new)
                        .map_err(|e| e.to_string());
                    let _ = events.send(AppEvent::Worker(WorkerMsg::Figures(f)));
                }
            })
            .map_err(StoreError::Io)?;

        Ok(Workers {
            events: events_for_upload,
            data_dir: store.dir().to_path_buf(),
            draft,
            draft_thread: Some(draft_thread),
            print,
            search,
            stats: stats_tx,
            others: vec![print_thread, search_thread, stats_thread],
        })
    }

    pub fn save_draft(&self, input: MemberInput, at: DateTime<FixedOffset>) {
        let _ = self.draft.send(DraftReq::Save(Box::new(input), at));
    }

    pub fn clear_draft(&self) {
        let _ = self.draft.send(DraftReq::Clear);
    }

    pub fn print(&self, job: PrintJob) {
        let _ = self.print.send(job);
    }

    pub fn search(&self, req: SearchReq) {
        let _ = self.search.send(req);
    }

    pub fn figures(&self, day: NaiveDate) {
        let _ = self.stats.send(day);
    }

    /// Runs an upload on its own thread and connection; progress and the result come back as
    /// messages. `cancel` stops it between batches. After this laptop's own records, those it
    /// holds for its paired laptops go too (as `booth upload` does), reported as
    /// [`WorkerMsg::Relayed`].
    pub fn upload(
        &self,
        mut conn: rusqlite::Connection,
        settings: crate::sync::UploadSettings,
        cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
        lang: crate::i18n::Lang,
    ) {
        let ev = self.events.clone();
        let _ = std::thread::Builder::new()
            .name("upload".into())
            .spawn(move || {
                let progress_ev = ev.clone();
                let mut progress = move |p: crate::sync::Progress| {
                    let _ = progress_ev.send(AppEvent::Worker(WorkerMsg::UploadProgress(p)));
                };
                let r =
                    crate::sync::upload(&mut conn, &settings, &mut progress, &cancel).map(Box::new);
                let own_done = r.is_ok();
                let _ = ev.send(AppEvent::Worker(WorkerMsg::UploadFinished(r)));
                let cancelled = cancel.load(std::sync::atomic::Ordering::Relaxed);
                if own_done
                    && !cancelled
                    && let Some((text, ok)) = relay(&mut conn, &settings, lang)
                {
                    let _ = ev.send(AppEvent::Worker(WorkerMsg::Relayed { text, ok }));
                }
            });
    }

    /// Writes the backup file for the office on its own thread and connection.
    pub fn backup(
        &self,
        mut conn: rusqlite::Connection,
        path: std::path::PathBuf,
        lang: crate::i18n::Lang,
    ) {
        let ev = self.events.clone();
        let _ = std::thread::Builder::new()
            .name("backup".into())
            .spawn(move || {
                let (text, ok) = match crate::peers::relay::backup(&mut conn, &path) {
                    Ok(r) => (
                        crate::t!(
                            lang,
                            "peers.backup_done",
                            file = path.display(),
                            own = r.own_records,
                            held = r.held_records
                        ),
                        true,
                    ),
                    Err(e) => (crate::t!(lang, "peers.backup_failed", why = e), false),
                };
                let _ = ev.send(AppEvent::Worker(WorkerMsg::BackupDone { text, ok }));
            });
    }

    /// Makes a batch of cards on its own thread and connection ([`super::batch::run`]);
    /// progress and the end come back as messages.
    #[allow(clippy::too_many_arguments)]
    pub fn cards(
        &self,
        conn: rusqlite::Connection,
        config: crate::config::Config,
        job: super::action::CardsJob,
        revoked: Box<dyn Fn(&crate::card::MemberNo) -> bool + Send>,
        cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
        go_on: std::sync::Arc<std::sync::atomic::AtomicBool>,
        lang: crate::i18n::Lang,
    ) {
        let ev = self.events.clone();
        let data_dir = self.data_dir.clone();
        let _ = std::thread::Builder::new()
            .name("cards".into())
            .spawn(move || {
                let progress_ev = ev.clone();
                let mut report = move |p| {
                    let _ = progress_ev.send(AppEvent::Worker(WorkerMsg::Cards(p)));
                };
                let done = super::batch::run(
                    &conn,
                    &data_dir,
                    &config,
                    &job,
                    &*revoked,
                    &cancel,
                    &go_on,
                    lang,
                    &mut report,
                );
                let _ = ev.send(AppEvent::Worker(WorkerMsg::CardsFinished(done)));
            });
    }

    /// On quit: waits for the last draft to be written, the slip being printed, and the
    /// search and figures threads to close their connections.
    pub fn finish(&mut self) {
        let _ = self.draft.send(DraftReq::Stop);
        if let Some(t) = self.draft_thread.take() {
            let _ = t.join();
        }
        // Hanging up their channels (replacing the senders) ends the other threads' loops.
        self.print = mpsc::channel().0;
        self.search = mpsc::channel().0;
        self.stats = mpsc::channel().0;
        for t in self.others.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The records held for paired laptops, sent to the office after this laptop's own; `None`
/// when it holds none.
fn relay(
    conn: &mut rusqlite::Connection,
    settings: &crate::sync::UploadSettings,
    lang: crate::i18n::Lang,
) -> Option<(String, bool)> {
    use crate::peers::relay::{RelayError, held_total, upload_held};
    let held = held_total(conn).ok()?;
    if held == 0 {
        return None;
    }
    Some(match upload_held(conn, settings) {
        Ok(r) => (
            crate::t!(
                lang,
                "peers.relayed",
                delivered = r.records_delivered,
                held = r.still_held
            ),
            r.refused.is_empty() && r.still_held == 0,
        ),
        Err(e) => {
            let why = match &e {
                RelayError::NotSupported(status) => {
                    crate::t!(lang, "peers.relay_not_supported", status = status)
                }
                RelayError::Store(e) => e.message(lang),
                RelayError::Send(why) => why.clone(),
            };
            (
                crate::t!(lang, "peers.relay_failed", held = held, why = why),
                false,
            )
        }
    })
}
