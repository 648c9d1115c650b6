//! `booth cards`: a whole roster's cards — PDF sheets for a print shop, or slips printed one after
//! another, resuming where an interrupted run stopped.

use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::{Value, json};

use super::setup::{load_config, open_store};
use super::{CliError, Ctx, Output, interactive_stderr};
use crate::cli::CardsArgs;
use crate::config::Config;
use crate::i18n::Lang;
use crate::printer::batch::{BatchEvent, BatchPrint, print_batch, wait_for_paper};
use crate::slip::font::{FontSource, Fonts};
use crate::slip::pdf::write_cards;
use crate::slip::selection::{
    CardsError, Selected, Selection, Skip, office_revocations, parse_members, select, slips,
};
use crate::store::Store;
use crate::t;

pub fn cards(ctx: &Ctx, a: &CardsArgs) -> Result<Output, CliError> {
    let selection = selection(ctx, a)?;
    let store = open_store(ctx)?;
    let config = load_config(&store, ctx)?;
    let revoked = office_revocations(&store);
    let selected = select(&store, &selection, &revoked).map_err(|e| CliError::store(e, ctx))?;
    let skipped = skipped_json(&selected);
    if selected.numbers.is_empty() {
        return Err(
            CliError::new("empty", t!(ctx.lang, "cards.none")).with(json!({
                "cards": 0, "skipped": skipped,
            })),
        );
    }
    let mut out = match &a.pdf {
        Some(path) => pdf(ctx, &store, &config, &selected, path)?,
        None => print(ctx, &store, &config, &selected, a)?,
    };
    if let Value::Object(o) = &mut out.json {
        o.insert("skipped".into(), skipped);
    }
    if !selected.skipped.is_empty() {
        out.human.push('\n');
        out.human.push_str(&skipped_line(ctx.lang, &selected));
    }
    Ok(out)
}

fn selection(ctx: &Ctx, a: &CardsArgs) -> Result<Selection, CliError> {
    if let Some(d) = &a.date {
        let day = chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .map_err(|_| CliError::new("usage", t!(ctx.lang, "cli.bad_date")))?;
        return Ok(Selection::Date(day));
    }
    if let Some(path) = &a.members {
        let text = std::fs::read(path).map_err(|e| {
            CliError::new(
                "read",
                t!(
                    ctx.lang,
                    "cards.members_read",
                    path = path.display(),
                    why = e
                ),
            )
        })?;
        let (numbers, bad) = parse_members(&String::from_utf8_lossy(&text));
        if !bad.is_empty() {
            let lines = bad
                .iter()
                .map(|b| b.line.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(CliError::new(
                "invalid",
                t!(
                    ctx.lang,
                    "cards.members_bad",
                    path = path.display(),
                    lines = lines
                ),
            ));
        }
        return Ok(Selection::Members(numbers));
    }
    Ok(Selection::All)
}

fn skip_reason(lang: Lang, why: Skip) -> &'static str {
    match why {
        Skip::NotFound => t!(lang, "cards.skip_not_found"),
        Skip::Voided => t!(lang, "cards.skip_voided"),
        Skip::Purged => t!(lang, "cards.skip_purged"),
        Skip::Revoked => t!(lang, "cards.skip_revoked"),
    }
}

fn skipped_json(s: &Selected) -> Value {
    s.skipped
        .iter()
        .map(|(no, why)| json!({ "member_no": no, "reason": why.code() }))
        .collect()
}

fn skipped_line(lang: Lang, s: &Selected) -> String {
    let list = s
        .skipped
        .iter()
        .take(20)
        .map(|(no, why)| format!("{no} ({})", skip_reason(lang, *why)))
        .collect::<Vec<_>>()
        .join(", ");
    let more = s.skipped.len().saturating_sub(20);
    let mut line = t!(lang, "cards.skipped", count = s.skipped.len(), list = list);
    if more > 0 {
        line.push_str(&format!(" … (+{more})"));
    }
    line
}

fn progress_bar(ctx: &Ctx, total: usize, message: &str) -> Option<indicatif::ProgressBar> {
    (!ctx.json && interactive_stderr()).then(|| {
        let pb = indicatif::ProgressBar::new(total as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {per_sec} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_message(message.to_string());
        pb
    })
}

fn cards_error(ctx: &Ctx, e: CardsError) -> CliError {
    match e {
        CardsError::Store(e) => CliError::store(e, ctx),
        CardsError::Slip(e) => CliError::new("card", e.message(ctx.lang)),
        CardsError::Pdf(e) => CliError::new("write", t!(ctx.lang, "cards.pdf_failed", why = e)),
        CardsError::Vanished => CliError::new("store", e.to_string()),
    }
}

fn pdf(
    ctx: &Ctx,
    store: &Store,
    config: &Config,
    selected: &Selected,
    path: &Path,
) -> Result<Output, CliError> {
    let fonts = Fonts::get(&FontSource::of(config))
        .map_err(|_| CliError::new("font", t!(ctx.lang, "print.font_missing")))?;
    let total = selected.numbers.len();
    let part = path.with_extension("pdf.part");
    let write_err = |e: std::io::Error| {
        CliError::new(
            "write",
            t!(ctx.lang, "export.write", path = path.display(), why = e),
        )
    };
    let file = std::fs::File::create(&part).map_err(write_err)?;
    let pb = progress_bar(ctx, total, t!(ctx.lang, "cards.progress_pdf"));
    let conn = store
        .second_connection()
        .map_err(|e| CliError::store(e, ctx))?;
    let cards = slips(
        &conn,
        config,
        store.device_key(),
        config.slip_language,
        &selected.numbers,
    );
    let result = write_cards(
        cards,
        total,
        fonts,
        std::io::BufWriter::new(file),
        |done, _| {
            if let Some(pb) = &pb {
                pb.set_position(done as u64);
            }
        },
    );
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    let (w, summary) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return Err(cards_error(ctx, e));
        }
    };
    let file = w.into_inner().map_err(|e| write_err(e.into_error()))?;
    file.sync_all().map_err(write_err)?;
    std::fs::rename(&part, path).map_err(write_err)?;
    let notes: Vec<String> = summary.coverage.note(ctx.lang).into_iter().collect();
    let mut human = t!(
        ctx.lang,
        "cards.pdf_written",
        cards = summary.cards,
        pages = summary.pages,
        path = path.display()
    );
    for n in &notes {
        human.push('\n');
        human.push_str(n);
    }
    Ok(Output {
        human,
        json: json!({
            "path": path, "cards": summary.cards, "pages": summary.pages, "notes": notes,
        }),
    })
}

fn print(
    ctx: &Ctx,
    store: &Store,
    config: &Config,
    selected: &Selected,
    a: &CardsArgs,
) -> Result<Output, CliError> {
    let uri = match &a.printer {
        Some(p) => super::card::printer_arg(ctx, p)?,
        None => config
            .printer
            .clone()
            .ok_or_else(|| CliError::new("printer", t!(ctx.lang, "cards.no_printer")))?,
    };
    let job = BatchPrint::new(config, uri.clone(), a.again);
    let lang = ctx.lang;
    let pb = progress_bar(
        ctx,
        selected.numbers.len(),
        t!(lang, "cards.progress_print"),
    );
    let say = |line: &str| match &pb {
        Some(pb) => pb.println(line),
        None if !ctx.json => eprintln!("{line}"),
        None => {}
    };
    // Enter on the terminal resumes a paused run at once; without a terminal the paper
    // sensor is polled up to --paper-wait.
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let go_on = Arc::new(AtomicBool::new(false));
    let stop = AtomicBool::new(false);
    if interactive {
        let go_on = go_on.clone();
        std::thread::spawn(move || {
            for _ in std::io::stdin().lock().lines() {
                go_on.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        });
    }
    let limit = (!interactive).then(|| Duration::from_secs(a.paper_wait));
    let conn = store
        .second_connection()
        .map_err(|e| CliError::store(e, ctx))?;
    let report = print_batch(
        &conn,
        config,
        store.device_key(),
        config.slip_language,
        &selected.numbers,
        &job,
        |event| match event {
            BatchEvent::Printed { done, .. } | BatchEvent::AlreadyPrinted { done, .. } => {
                if let Some(pb) = &pb {
                    pb.set_position(done as u64);
                }
            }
            BatchEvent::Paused(e) => say(&if interactive {
                t!(lang, "cards.paused", why = e.message(lang))
            } else {
                t!(
                    lang,
                    "cards.paused_waiting",
                    why = e.message(lang),
                    secs = a.paper_wait
                )
            }),
            BatchEvent::Resumed => say(t!(lang, "cards.resumed")),
        },
        |_| {
            wait_for_paper(
                &uri,
                job.timeouts,
                &go_on,
                &stop,
                limit,
                Duration::from_millis(500),
            )
        },
    )
    .map_err(|e| cards_error(ctx, e))?;
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    let json = json!({
        "printer": uri.to_string(),
        "total": report.total,
        "printed": report.printed,
        "already_printed": report.already,
        "run": job.run,
        "stopped": report.stopped.as_ref().map(|e| e.to_string()),
    });
    match &report.stopped {
        None => Ok(Output {
            human: t!(
                lang,
                "cards.printed",
                printed = report.printed,
                total = report.total,
                already = report.already
            ),
            json,
        }),
        Some(e) => Err(CliError::new(
            "printer",
            t!(
                lang,
                "cards.stopped",
                done = report.printed + report.already,
                total = report.total,
                why = e.message(lang)
            ),
        )
        .with(json)),
    }
}
