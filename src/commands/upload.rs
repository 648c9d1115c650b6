//! `upload` and `purge`.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::setup::{load_config, open_store, open_store_no_purge, purge_now};
use super::{CliError, Ctx, Output, interactive_stderr};
use crate::sync::{self, Progress, UploadError, UploadSettings};
use crate::t;

pub struct UploadArgs {
    pub server: Option<String>,
    pub token: Option<String>,
    pub ca: Option<PathBuf>,
    pub batch: usize,
    pub give_up_after: u64,
    pub allow_http: bool,
}

pub fn upload(ctx: &Ctx, a: &UploadArgs) -> Result<Output, CliError> {
    if a.token.is_some() {
        // every local user sees a command line in `ps`
        eprintln!("booth: {}", t!(ctx.lang, "cli.token_flag_warning"));
    }
    let token = a.token.clone().or_else(|| {
        std::env::var("BOOTH_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
    });
    let mut store = open_store(ctx)?;
    // Given once on the command line, remembered for the next day (and the UI) — but only
    // once the office has answered: a mistyped token must not replace the one that works
    // (the office shows a token only once).
    let ca_text =
        a.ca.as_ref()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
            .map(|p| p.display().to_string());
    let given: Vec<(&str, String)> = [
        ("server", a.server.clone()),
        ("token", token),
        ("ca", ca_text),
    ]
    .into_iter()
    .filter_map(|(key, value)| Some((key, value?)))
    .collect();
    let mut config = load_config(&store, ctx)?;
    for (key, value) in &given {
        config
            .apply(key, value, ctx.lang)
            .map_err(|e| CliError::new("config", e.message(ctx.lang)))?;
    }
    let mut settings =
        UploadSettings::from_config(&config, ctx.lang).map_err(|e| upload_error(e, ctx))?;
    settings.batch_size = a.batch.max(1);
    settings.give_up_after = Duration::from_secs(a.give_up_after);
    settings.allow_http = a.allow_http;

    let mut conn = store
        .second_connection()
        .map_err(|e| CliError::store(e, ctx))?;
    let bar = (!ctx.json && interactive_stderr()).then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {per_sec} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    });
    let lang = ctx.lang;
    let mut on_progress = |p: Progress| {
        let Some(b) = &bar else { return };
        match p {
            Progress::Started { queued } => b.set_length(queued),
            Progress::Batch {
                done,
                accepted,
                rejected,
                ..
            } => {
                b.set_position(done);
                b.set_message(t!(
                    lang,
                    "sync.bar",
                    accepted = accepted,
                    rejected = rejected
                ));
            }
            Progress::Retrying {
                attempt,
                wait,
                reason,
                ..
            } => b.set_message(format!(
                "{} — {}",
                reason.message(lang),
                t!(
                    lang,
                    "sync.retrying",
                    attempt = attempt,
                    secs = format!("{:.1}", wait.as_secs_f64())
                )
            )),
        }
    };
    let cancel = AtomicBool::new(false);
    let result = sync::upload(&mut conn, &settings, &mut on_progress, &cancel);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    drop(conn);
    let report = result.map_err(|e| upload_error(e, ctx))?;
    // what this laptop holds for its paired laptops goes too (SPEC §12)
    let relayed = super::peers::relay_held(&mut store, &settings, ctx)?;
    for (key, value) in &given {
        store
            .set_config(key, value, ctx.lang)
            .map_err(|e| CliError::new("config", e.message(ctx.lang)))?;
    }
    let purged = purge_now(&mut store, ctx)?;

    let mut human = report.summary(ctx.lang);
    for r in &report.rejected {
        human.push_str(&format!(
            "\n{}: {}",
            r.member_no,
            crate::member::text::display_safe(&r.reason)
        ));
    }
    if report.voids_reported > 0 {
        human.push_str(&format!(
            "\n{}",
            t!(ctx.lang, "sync.voids_reported", n = report.voids_reported)
        ));
    }
    if report.days_reported > 0 || report.days_rejected > 0 {
        human.push_str(&format!(
            "\n{}",
            t!(
                ctx.lang,
                "sync.days_reported",
                n = report.days_reported,
                refused = report.days_rejected
            )
        ));
    }
    if let Some(v) = report.bundle_version {
        human.push_str(&format!(
            "\n{}",
            t!(ctx.lang, "sync.bundle_version", version = v)
        ));
    }
    if let Some(w) = &report.bundle_warning {
        human.push_str(&format!(
            "\n{}",
            t!(ctx.lang, "sync.bundle_warning", why = w)
        ));
    }
    if purged.purged > 0 {
        human.push_str(&format!(
            "\n{}",
            t!(ctx.lang, "sync.purged", purged = purged.purged)
        ));
    }
    if let Some(r) = &relayed {
        human.push_str(&format!(
            "\n{}",
            t!(
                ctx.lang,
                "peers.relayed",
                delivered = r.records_delivered,
                held = r.still_held
            )
        ));
    }
    Ok(Output {
        human,
        json: json!({
            "sent": report.sent,
            "accepted": report.accepted,
            "already_there": report.already_there,
            "rejected": report.rejected,
            "unanswered": report.unanswered,
            "remaining_queued": report.remaining_queued,
            "batches": report.batches,
            "retries": report.retries,
            "elapsed_ms": report.elapsed.as_millis() as u64,
            "voids_reported": report.voids_reported,
            "days_reported": report.days_reported,
            "days_rejected": report.days_rejected,
            "bundle_version": report.bundle_version,
            "bundle_warning": report.bundle_warning,
            "purged": purged.purged,
            "relayed": relayed,
        }),
    })
}

fn upload_error(e: UploadError, ctx: &Ctx) -> CliError {
    let exit = match e {
        UploadError::NoServer | UploadError::NoToken | UploadError::PlainHttp { .. } => 2,
        UploadError::Unauthorized(_) => 3,
        UploadError::Binding { .. } => 4,
        _ => 1,
    };
    let mut err = CliError::new(e.code(), e.message(ctx.lang));
    err.exit = exit;
    err
}

pub fn purge(ctx: &Ctx) -> Result<Output, CliError> {
    let mut store = open_store_no_purge(ctx)?;
    let days = load_config(&store, ctx)?.retention_days;
    let r = purge_now(&mut store, ctx)?;
    Ok(Output {
        human: t!(ctx.lang, "sync.purged", purged = r.purged),
        json: json!({
            "purged": r.purged,
            "slips_deleted": r.slips_deleted,
            "retention_days": days,
        }),
    })
}
