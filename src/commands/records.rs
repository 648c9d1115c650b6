//! `booth register`, `consult`, `void`, `export` and `stats`: the laptop's records.

use std::path::Path;

use chrono::NaiveDate;
use serde_json::json;

use super::setup::{load_config, open_store};
use super::{CliError, Ctx, Output};
use crate::card::MemberNo;
use crate::cli::RegisterArgs;
use crate::export::{self, ExportFormat};
use crate::member::{DocKind, MemberInput, validate};
use crate::store::members::StateFilter;
use crate::store::{self, RegisterError};
use crate::t;

pub fn parse_member_no(ctx: &Ctx, s: &str) -> Result<MemberNo, CliError> {
    s.parse()
        .map_err(|_| CliError::new("member_no", t!(ctx.lang, "cli.bad_member_no")))
}

pub fn register(ctx: &Ctx, a: &RegisterArgs) -> Result<Output, CliError> {
    let doc_type = match &a.doc_type {
        None => DocKind::unstated(&a.id_number),
        Some(kind) => DocKind::parse(kind).ok_or_else(|| {
            CliError::new(
                "invalid",
                t!(
                    ctx.lang,
                    "cli.bad_doc_type",
                    kinds = DocKind::ALL.map(DocKind::code).join(", ")
                ),
            )
        })?,
    };
    let input = MemberInput {
        name: a.name.clone(),
        doc_type,
        id_number: a.id_number.clone(),
        phone: a.phone.clone(),
        employer: a.employer.clone(),
        consent: a.consent,
        ethnicity: a.ethnicity.clone(),
        political_status: a.political_status.clone(),
        education: a.education.clone(),
        occupation: a.occupation.clone(),
        employment_form: a.employment_form.clone(),
        migrant_worker: a.migrant_worker.clone(),
        employer_uscc: a.employer_uscc.clone(),
        needs: a.needs.clone(),
        remarks: a.remarks.clone(),
    };
    let now = store::now();
    // Validate before the passphrase: a typo costs no key derivation.
    let v = validate(&input, now.date_naive()).map_err(|e| CliError::invalid(&e, ctx.lang))?;
    let mut store = open_store(ctx)?;
    let config = load_config(&store, ctx)?;
    // a paired laptop registered this person (SPEC §12): refused as a local duplicate is
    if let Some(hit) = store
        .peer_person(&v.member.document)
        .map_err(|e| CliError::store(e, ctx))?
    {
        return Err(super::peers::peer_duplicate(&hit, ctx));
    }
    let m = match store.register(&v, &config.event(), &now) {
        Ok(m) => m,
        Err(RegisterError::Duplicate(e)) => {
            return Err(CliError::new("duplicate", e.message(ctx.lang)).with(json!({
                "member_no": e.member_no,
                "registered_at": e.created_at,
                "state": e.state,
            })));
        }
        Err(RegisterError::Store(e)) => return Err(CliError::store(e, ctx)),
    };
    let qr = m
        .payload(config.union_short.as_deref(), store.device_key())
        .map_err(|e| CliError::new("card", e.to_string()))?;
    let warnings: Vec<_> = v
        .warnings
        .iter()
        .map(|w| json!({ "code": w.code(), "message": w.message(ctx.lang) }))
        .collect();
    let mut human = t!(ctx.lang, "cli.registered", member_no = m.member_no);
    for w in &v.warnings {
        human.push_str(&format!("\n{}", w.message(ctx.lang)));
    }
    Ok(Output {
        human,
        json: json!({
            "member_no": m.member_no,
            "uuid": m.uuid,
            "qr_payload": qr,
            "state": m.state,
            "doc_type": v.member.document.kind,
            "warnings": warnings,
        }),
    })
}

pub fn consult(ctx: &Ctx, undo: bool, needs: Option<&str>) -> Result<Output, CliError> {
    // checked before the store is opened: a mistyped need counts nobody
    let needs = match needs {
        Some(raw) => consult_needs(ctx, raw)?,
        None => Vec::new(),
    };
    let mut store = open_store(ctx)?;
    let now = store::now();
    if undo {
        store
            .remove_last_consultation(now.date_naive())
            .map_err(|e| CliError::store(e, ctx))?;
    } else {
        store
            .consult(&needs, &now)
            .map_err(|e| CliError::store(e, ctx))?;
    }
    let f = store
        .day_figures(now.date_naive())
        .map_err(|e| CliError::store(e, ctx))?;
    Ok(Output {
        human: t!(
            ctx.lang,
            "cli.consultations_today",
            n = f.counts.consultations
        ),
        json: json!({ "consultations": f.counts.consultations, "needs": needs }),
    })
}

/// `--needs`: codes or names of the needs list (as the form and imports take them), each
/// once; anything else is refused with the list's codes.
fn consult_needs(ctx: &Ctx, raw: &str) -> Result<Vec<String>, CliError> {
    let (codes, unknown) = crate::member::record::split_needs(raw);
    if let Some(first) = unknown.first() {
        let known: Vec<String> = crate::member::options::ListKind::Needs
            .choices()
            .iter()
            .map(|c| format!("{} ({})", c.code, c.label(ctx.lang)))
            .collect();
        return Err(CliError::new(
            "invalid",
            t!(
                ctx.lang,
                "cli.unknown_need",
                need = crate::member::text::display_safe(first)
                    .chars()
                    .take(40)
                    .collect::<String>(),
                known = known.join(", ")
            ),
        ));
    }
    Ok(codes)
}

pub fn void(ctx: &Ctx, member_no: &str, reason: &str) -> Result<Output, CliError> {
    let no = parse_member_no(ctx, member_no)?;
    let reason = crate::member::record::free_text(reason, 200, true)
        .ok()
        .flatten()
        .ok_or_else(|| CliError::new("invalid", t!(ctx.lang, "cli.void_reason")))?;
    let mut store = open_store(ctx)?;
    store
        .void(&no, &reason, &store::now())
        .map_err(|e| CliError::store(e, ctx))?;
    Ok(Output {
        human: t!(ctx.lang, "cli.voided", member_no = no),
        json: json!({ "member_no": no, "state": "voided" }),
    })
}

pub fn export(ctx: &Ctx, format: &str, out: &Path, state: &str) -> Result<Output, CliError> {
    let format = ExportFormat::parse(format)
        .ok_or_else(|| CliError::new("usage", t!(ctx.lang, "cli.bad_format")))?;
    let filter = StateFilter::parse(state)
        .ok_or_else(|| CliError::new("usage", t!(ctx.lang, "cli.bad_state")))?;
    let store = open_store(ctx)?;
    let n = export::export(&store, filter, format, out, ctx.lang)
        .map_err(|e| CliError::new("export", e.message(ctx.lang)))?;
    Ok(export_done(ctx, n, out))
}

/// The line after an export, or nothing when the records went to standard output (which
/// must hold the file alone).
pub fn export_done(ctx: &Ctx, n: usize, out: &Path) -> Output {
    if export::is_stdout(out) {
        return Output {
            human: String::new(),
            json: serde_json::Value::Null,
        };
    }
    Output {
        human: t!(ctx.lang, "export.done", count = n, path = out.display()),
        json: json!({ "count": n, "path": out }),
    }
}

pub fn stats(ctx: &Ctx, date: Option<&str>) -> Result<Output, CliError> {
    let day = match date {
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| CliError::new("usage", t!(ctx.lang, "cli.bad_date")))?,
        None => store::now().date_naive(),
    };
    let store = open_store(ctx)?;
    let f = store
        .day_figures(day)
        .map_err(|e| CliError::store(e, ctx))?;
    let c = &f.counts;
    let human = t!(
        ctx.lang,
        "cli.stats",
        date = day,
        consultations = c.consultations,
        registered = c.registered,
        conversion = format!("{:.0}%", c.conversion * 100.0),
        queued = f.all_days.queued,
        uploaded = c.uploaded,
        voided = c.voided,
        rejected = f.all_days.rejected
    );
    let mut json = serde_json::to_value(&f).unwrap_or_default();
    // The queue is what scripts ask "is everything uploaded?" about: all days, not just one.
    if let serde_json::Value::Object(o) = &mut json {
        o.insert(
            "queue".into(),
            json!({ "queued": f.all_days.queued, "rejected": f.all_days.rejected }),
        );
    }
    Ok(Output { human, json })
}
