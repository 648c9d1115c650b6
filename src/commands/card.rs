//! `booth card` (one member's slip as a PNG, SVG or ESC/POS file) and `booth print` (that
//! slip on the printer).

use std::path::Path;

use serde_json::json;

use super::records::parse_member_no;
use super::setup::{load_config, open_store};
use super::{CliError, Ctx, Output};
use crate::cli::CardArgs;
use crate::config::Config;
use crate::config::PrinterUri;
use crate::printer::{PrintJob, PrintOutcome};
use crate::slip::escpos::Options;
use crate::slip::font::{FontSource, Fonts};
use crate::slip::{Slip, png, svg};
use crate::store::{Store, StoredMember};
use crate::t;

fn member(ctx: &Ctx, store: &Store, no: &str) -> Result<StoredMember, CliError> {
    let no = parse_member_no(ctx, no)?;
    store
        .get(&no)
        .map_err(|e| CliError::store(e, ctx))?
        .ok_or_else(|| CliError::new("not_found", t!(ctx.lang, "cli.no_member", member_no = no)))
}

fn slip(ctx: &Ctx, store: &Store, config: &Config, m: &StoredMember) -> Result<Slip, CliError> {
    Slip::new(m, config, store.device_key(), config.slip_language)
        .map_err(|e| CliError::new("card", e.message(ctx.lang)))
}

/// `--printer`: a printer address as `booth config set printer` takes it.
pub(super) fn printer_arg(ctx: &Ctx, p: &str) -> Result<PrinterUri, CliError> {
    PrinterUri::parse(p).map_err(|_| {
        CliError::new(
            "usage",
            t!(
                ctx.lang,
                "config.invalid",
                key = "--printer",
                expected = t!(ctx.lang, "config.expect_printer")
            ),
        )
    })
}

fn write_file(ctx: &Ctx, path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes).map_err(|e| {
        CliError::new(
            "write",
            t!(ctx.lang, "export.write", path = path.display(), why = e),
        )
    })
}

pub fn card(ctx: &Ctx, a: &CardArgs) -> Result<Output, CliError> {
    let store = open_store(ctx)?;
    let config = load_config(&store, ctx)?;
    let m = member(ctx, &store, &a.member_no)?;
    let s = slip(ctx, &store, &config, &m)?;
    let mut notes = Vec::new();
    let (path, format) = if let Some(p) = &a.output.png {
        let fonts = Fonts::get(&FontSource::of(&config)).ok();
        let coverage = png::write(p, &s, fonts).map_err(|e| {
            CliError::new(
                "write",
                t!(ctx.lang, "export.write", path = p.display(), why = e),
            )
        })?;
        notes.extend(coverage.note(ctx.lang));
        (p, "png")
    } else if let Some(p) = &a.output.svg {
        write_file(ctx, p, svg::render(&s).as_bytes())?;
        (p, "svg")
    } else if let Some(p) = &a.output.escpos {
        let bytes = crate::slip::escpos::slip_bytes(
            &s,
            Options {
                paper: config.paper,
                qr_mode: config.qr_mode,
            },
        );
        write_file(ctx, p, &bytes)?;
        (p, "escpos")
    } else {
        return Err(CliError::new("usage", "--png, --svg or --escpos"));
    };
    let mut human = t!(ctx.lang, "cli.card_written", path = path.display());
    for n in &notes {
        human.push('\n');
        human.push_str(n);
    }
    Ok(Output {
        human,
        json: json!({
            "path": path,
            "format": format,
            "member_no": m.member_no,
            "qr_payload": s.payload,
            "payload_chars": s.payload.len(),
            "qr_version": s.qr.version,
            "qr_ecc": "M",
            "notes": notes,
        }),
    })
}

pub fn print(ctx: &Ctx, no: &str, printer: Option<&str>) -> Result<Output, CliError> {
    let store = open_store(ctx)?;
    let config = load_config(&store, ctx)?;
    let m = member(ctx, &store, no)?;
    let uri = match printer {
        Some(p) => Some(printer_arg(ctx, p)?),
        None => config.printer.clone(),
    };
    let job = PrintJob::for_member(&store, &config, &m, uri)
        .map_err(|e| CliError::new("card", e.message(ctx.lang)))?;
    drop(store); // printing may take seconds: do not hold the folder
    let outcome = job.run();
    let message = outcome.message(ctx.lang);
    let json = match &outcome {
        PrintOutcome::Printed { printer } => json!({ "printed": true, "printer": printer }),
        PrintOutcome::Saved { path, error, .. } => json!({
            "printed": false, "saved_png": path, "printer_error": error.as_ref().map(|e| e.to_string()),
            "notes": outcome.notes(ctx.lang),
        }),
        PrintOutcome::Failed { .. } => json!({ "printed": false }),
    };
    match &outcome {
        PrintOutcome::Printed { .. } | PrintOutcome::Saved { error: None, .. } => Ok(Output {
            human: message,
            json,
        }),
        _ => Err(CliError::new("printer", message).with(json)),
    }
}
