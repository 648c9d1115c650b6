//! `booth verify PAYLOAD`: a scanned membership code checked against what this laptop trusts
//! (or a given key list or bundle); exit 1 when forged, altered, from an unknown key, or
//! revoked.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::setup::{load_config, open_store};
use super::{CliError, Ctx, Output};
use crate::card::bundle::{self, BundleError};
use crate::card::trust::code_from_text;
use crate::card::{PayloadError, Trust, Verdict, payload};
use crate::store;
use crate::store::trust::{LocalTrustError, read_key_list};
use crate::t;

/// How `verify` decides: where its trust comes from.
pub struct VerifyArgs<'a> {
    pub keys: Option<&'a PathBuf>,
    pub bundle: Option<&'a str>,
    pub office_key: Option<&'a str>,
}

fn read_text(ctx: &Ctx, path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| {
        CliError::new(
            "keys",
            t!(ctx.lang, "cli.keys_read", path = path.display(), why = e),
        )
    })
}

fn bundle_error(ctx: &Ctx, e: BundleError) -> CliError {
    CliError::new("bundle", e.message(ctx.lang)).with(json!({ "reason": e.code() }))
}

fn trust_error(ctx: &Ctx, e: LocalTrustError) -> CliError {
    match e {
        LocalTrustError::Store(e) => CliError::store(e, ctx),
        LocalTrustError::Bundle(e) => bundle_error(ctx, e),
        LocalTrustError::Older { version, newest } => CliError::new("bundle", e.message(ctx.lang))
            .with(json!({ "reason": "bundle_older", "version": version, "newest_seen": newest })),
        e => CliError::new("keys", e.message(ctx.lang)),
    }
}

/// What `verify` trusts. `--keys FILE`: that list only. `--bundle FILE|URL`: that bundle,
/// checked against the office fingerprint (`--office-key`, else this laptop's enrolment).
/// Neither: what this laptop trusts by itself ([`crate::store::Store::local_trust`]).
fn trust(ctx: &Ctx, a: &VerifyArgs<'_>) -> Result<Trust, CliError> {
    if let Some(path) = a.keys {
        return Ok(Trust {
            keys: read_key_list(path).map_err(|e| trust_error(ctx, e))?,
            ..Trust::default()
        });
    }
    if let Some(source) = a.bundle {
        let text = if source.starts_with("https://") || source.starts_with("http://") {
            crate::sync::http::fetch_url(source, None).map_err(|why| {
                CliError::new(
                    "bundle",
                    t!(ctx.lang, "cli.bundle_fetch", url = source, why = why),
                )
            })?
        } else {
            read_text(ctx, Path::new(source))?
        };
        // the enrolled laptop's store, when it is opened anyway, also says which bundle it holds
        let (fp, kept) = match a.office_key {
            Some(fp) if crate::card::office::is_fingerprint(fp) => (fp.to_string(), None),
            Some(_) => {
                return Err(CliError::new(
                    "usage",
                    t!(ctx.lang, "config.expect_fingerprint"),
                ));
            }
            None if store::is_initialised(&ctx.data_dir) => {
                let s = open_store(ctx)?;
                let fp = load_config(&s, ctx)?
                    .office_key
                    .ok_or_else(|| no_office_key(ctx))?;
                let kept = s.kept_bundle().map_err(|e| CliError::store(e, ctx))?;
                (fp, kept)
            }
            None => return Err(no_office_key(ctx)),
        };
        let b = bundle::open(&text, std::slice::from_ref(&fp)).map_err(|e| bundle_error(ctx, e))?;
        let held = kept.and_then(|(version, text)| {
            let k = bundle::open(&text, &[bundle::claimed_fingerprint(&text)?]).ok()?;
            k.trusted_fingerprints().contains(&fp).then_some(version)
        });
        store::trust::take_bundle(&ctx.data_dir, &b, held).map_err(|e| trust_error(ctx, e))?;
        return Ok(Trust::from_bundle(&b));
    }
    let store = open_store(ctx)?;
    let config = load_config(&store, ctx)?;
    store
        .local_trust(config.union)
        .map_err(|e| trust_error(ctx, e))
}

fn no_office_key(ctx: &Ctx) -> CliError {
    CliError::new("no_office_key", t!(ctx.lang, "cli.no_office_key"))
}

pub fn verify(ctx: &Ctx, payload_arg: &str, a: &VerifyArgs<'_>) -> Result<Output, CliError> {
    let text = if payload_arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut s)
            .map_err(|e| CliError::new("usage", e.to_string()))?;
        s
    } else {
        payload_arg.to_string()
    };
    // zbarimg prints "QR-Code:<payload>"; spaces are part of a base45 payload, never trimmed
    let line = payload::trim_line(&text);
    let line = line.strip_prefix("QR-Code:").unwrap_or(line);
    let refused = |e: PayloadError| {
        CliError::new(
            "refused",
            t!(ctx.lang, "verify.refused", why = e.message(ctx.lang)),
        )
        .with(json!({ "verdict": "invalid", "reason": e.code() }))
    };
    let code = code_from_text(line).map_err(refused)?;
    let trust = trust(ctx, a)?;
    let v = match trust.check(&code) {
        Verdict::Valid(v) => v,
        Verdict::Invalid(e) => return Err(refused(e)),
        Verdict::Revoked(v) => {
            let union = crate::member::text::display_safe(&v.card.union).into_owned();
            return Err(CliError::new(
                "revoked",
                t!(
                    ctx.lang,
                    "verify.revoked",
                    member_no = v.card.member_no,
                    union = union,
                    date = v.card.issued
                ),
            )
            .with(json!({
                "verdict": "revoked",
                "reason": "revoked",
                "member_no": v.card.member_no,
                "union": union,
                "issued": v.card.issued,
                "key_id": v.card.key_id(),
            })));
        }
    };
    let union = crate::member::text::display_safe(&v.card.union).into_owned();
    let issuer = crate::member::text::display_safe(&v.key_issuer).into_owned();
    Ok(Output {
        human: t!(
            ctx.lang,
            "verify.ok",
            member_no = v.card.member_no,
            union = union,
            date = v.card.issued,
            key_id = v.card.key_id(),
            issuer = issuer
        ),
        json: json!({
            "valid": true,
            "verdict": "valid",
            "reason": null,
            "member_no": v.card.member_no,
            "union": union,
            "issued": v.card.issued,
            "key_id": v.card.key_id(),
            "key_issuer": issuer,
        }),
    })
}
