//! `server run | check-config | init | keys | add-device | revoke-device | void | rotate-key |
//! publish-verifier | export | import-backup | backup | restore | add-user | remove-user | audit | stats`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

mod backup;
mod check_config;
mod import_backup;
mod unions;

use super::{CliError, Ctx, Output};
use crate::card::MemberNo;
use crate::card::bundle::key_text;
use crate::card::enrol::Enrolment;
use crate::card::office::OfficeKey;
use crate::cli::{OfficeKeyArg, ServerAction, ServerSettings};
use crate::export::{ExportFormat, export_from};
use crate::i18n::Lang;
use crate::server::console::session;
use crate::server::db::REVOKED_BY_OFFICE;
use crate::server::db::audit::{AuditEntry, AuditFilter};
use crate::server::db::devices::NewToken;
use crate::server::db::users::Role;
use crate::server::export::ServerSource;
use crate::server::settings::SettingsError;
use crate::server::unions::ROOT;
use crate::server::zone::Zone;
use crate::server::{self, Db, DbError, OfficeState, RunOptions, auth, office};
use crate::t;

pub fn server(ctx: &Ctx, action: &ServerAction) -> Result<Output, CliError> {
    match action {
        ServerAction::Run { config, settings } => run(ctx, config.as_deref(), settings),
        ServerAction::CheckConfig { config, settings } => {
            check_config::run(ctx, config.as_deref(), settings)
        }
        ServerAction::Init {
            db,
            server_url,
            verify_url,
            time_zone,
            key,
        } => init(
            ctx,
            db,
            server_url.as_deref(),
            verify_url.as_deref(),
            time_zone.as_deref(),
            key,
        ),
        ServerAction::Keys { db, key } => keys(ctx, db, key),
        ServerAction::AddDevice {
            name,
            reissue,
            union,
            db,
            server_url,
            key,
        } => add_device(
            ctx,
            NewDevice {
                name,
                reissue: *reissue,
                union: union.as_deref(),
                server_url: server_url.as_deref(),
            },
            db,
            key,
        ),
        ServerAction::RevokeDevice { name, db, .. } => {
            let (rt, db) = open(ctx, db)?;
            rt.block_on(async {
                db.revoke_device(name.clone()).await?;
                db.audit(cli_entry("device.revoke", name)).await
            })
            .map_err(|e| db_error(e, ctx))?;
            Ok(Output {
                human: t!(ctx.lang, "server.revoked", name = name),
                json: json!({ "device": name, "revoked": true }),
            })
        }
        ServerAction::Void {
            member_no,
            reason,
            db,
            ..
        } => void(ctx, member_no, reason, db),
        ServerAction::RotateKey {
            next,
            finish,
            db,
            key,
        } => rotate(ctx, next, *finish, db, key),
        ServerAction::PublishVerifier {
            out,
            bundle_url,
            db,
            key,
        } => publish(ctx, out, bundle_url, db, key),
        ServerAction::Export {
            format, out, db, ..
        } => export(ctx, format, out, db),
        ServerAction::AddUser {
            name,
            role,
            union,
            db,
        } => add_user(ctx, name, role, union, db),
        ServerAction::Unions { action } => unions::run(ctx, action),
        ServerAction::ImportBackup { file, db, key } => import_backup::run(ctx, file, db, key),
        ServerAction::Backup { out, db, key } => backup::backup(ctx, out, db, key),
        ServerAction::Restore { file, db, key } => backup::restore(ctx, file.as_deref(), db, key),
        ServerAction::RemoveUser { name, db } => {
            let (rt, db) = open(ctx, db)?;
            rt.block_on(async {
                db.remove_user(name.clone()).await?;
                db.audit(cli_entry("user.remove", name)).await
            })
            .map_err(|e| db_error(e, ctx))?;
            Ok(Output {
                human: t!(ctx.lang, "server.user_removed", name = name),
                json: json!({ "user": name, "removed": true }),
            })
        }
        ServerAction::UnlockUser { name, db } => {
            let (rt, db) = open(ctx, db)?;
            let rows = rt
                .block_on(async {
                    let rows = db.unlock_user(name.clone()).await?;
                    db.audit(cli_entry("user.unlock", name).count(rows as i64))
                        .await?;
                    Ok(rows)
                })
                .map_err(|e| db_error(e, ctx))?;
            Ok(Output {
                human: t!(ctx.lang, "server.user_unlocked", name = name, rows = rows),
                json: json!({ "user": name, "unlocked": true, "cleared": rows }),
            })
        }
        ServerAction::Audit {
            limit,
            actor,
            action,
            db,
        } => {
            let (rt, db) = open(ctx, db)?;
            let filter = AuditFilter {
                actor: actor.clone(),
                action: action.clone(),
                ..Default::default()
            };
            let mut rows = rt
                .block_on(db.audit_page(&filter, None, (*limit).clamp(1, 1_000_000)))
                .map_err(|e| db_error(e, ctx))?;
            // in the office's time, with its offset (SPEC §14)
            let zone = rt.block_on(db.zone()).map_err(|e| db_error(e, ctx))?;
            for r in &mut rows {
                r.at = zone.rfc3339(&r.at);
            }
            let mut human = t!(ctx.lang, "server.audit_entries", count = rows.len());
            // every value escaped: nothing typed into a filter can make a line of its own
            for r in &rows {
                human.push_str("\n  ");
                human.push_str(&r.line());
            }
            Ok(Output {
                human,
                json: json!({ "entries": rows }),
            })
        }
        ServerAction::Stats { db, union, .. } => {
            let (rt, db) = open(ctx, db)?;
            let s = rt
                .block_on(db.stats(ctx.lang, union.as_deref().unwrap_or(ROOT)))
                .map_err(|e| db_error(e, ctx))?;
            let human = stats_text(&s, ctx.lang);
            Ok(Output {
                human,
                json: serde_json::to_value(&s).unwrap_or_default(),
            })
        }
    }
}

/// `server run`: the settings merged (flags and environment over the file), the office key
/// loaded (made if missing), then the server until SIGINT/SIGTERM.
fn run(ctx: &Ctx, config: Option<&Path>, settings: &ServerSettings) -> Result<Output, CliError> {
    let settings_err = |e: SettingsError| CliError::new("config", e.message(ctx.lang));
    let r = settings
        .with_file(config)
        .and_then(|s| s.resolve())
        .map_err(settings_err)?;
    let key_arg = OfficeKeyArg {
        office_key: r.office_key.clone(),
    };
    let (office, key_file) = office_key(ctx, &r.db, &key_arg)?;
    let previous_office = office::load_previous(&key_file)
        .map_err(|e| CliError::new("office_key", e.message(ctx.lang)))?
        .map(Arc::new);
    let mut limits = server::listener::Limits::for_this_process();
    if let Some(n) = r.max_connections {
        limits.max_connections = n.max(1);
    }
    limits.header_timeout = Duration::from_secs(r.header_timeout.max(1));
    limits.handshake_timeout = limits.header_timeout;
    limits.idle_timeout = Duration::from_secs(r.idle_timeout.max(1));
    let opts = RunOptions {
        listen: r.listen.clone(),
        db: r.db.clone(),
        tls: r.tls.clone(),
        max_body: r.max_body,
        body_memory: r.body_memory,
        limits,
        office: Arc::new(office),
        previous_office,
        metrics_listen: r.metrics_listen.clone(),
        metrics_required: r.metrics_given,
        trusted_proxy: r.trusted_proxy,
        publish_dir: r.publish_dir.clone(),
        lang: ctx.lang,
    };
    server::run(&opts).map_err(|e| CliError::new("server", e.message(ctx.lang)))?;
    Ok(Output {
        human: String::new(),
        json: json!({ "stopped": true }),
    })
}

/// `server stats` for people: the totals, then by device, day and place, needs and forms.
fn stats_text(s: &server::ServerStats, lang: Lang) -> String {
    let line = |name: &str, c: &crate::server::db::Counts| {
        t!(
            lang,
            "server.stats_line",
            name = name,
            meetings = c.meetings,
            consultations = c.consultations,
            registered = c.registered,
            members = c.members
        )
    };
    let mut out = vec![t!(
        lang,
        "server.stats",
        meetings = s.meetings,
        consultations = s.consultations,
        registered = s.registered,
        members = s.members,
        enterprises = s.enterprises
    )];
    out.push(t!(lang, "server.stats_by_device").into());
    out.extend(s.by_device.iter().map(|d| line(&d.device, &d.counts)));
    out.push(t!(lang, "server.stats_by_day").into());
    out.extend(s.by_day.iter().map(|d| line(&d.date, &d.counts)));
    out.push(t!(lang, "server.stats_by_place").into());
    out.extend(s.by_place.iter().map(|p| line(&p.name, &p.counts)));
    out.push(t!(lang, "server.stats_needs").into());
    for n in &s.needs {
        out.push(format!("  {}: {}", n.label, n.count));
    }
    out.push(t!(
        lang,
        "server.stats_forms",
        n = s.new_employment_forms.members
    ));
    for f in &s.employment_forms {
        out.push(format!("  {}: {}", f.label, f.count));
    }
    out.join("\n")
}

/// What the audit log records of a change made on the office's command line: by
/// `cli:<the OS user>` (and who that user came from, under sudo).
fn cli_entry(action: &'static str, target: &str) -> AuditEntry {
    let entry = AuditEntry::new(cli_actor(), action, target).count(1);
    match std::env::var("SUDO_USER") {
        Ok(by) if !by.is_empty() => {
            entry.with("sudo_user", by.chars().take(64).collect::<String>())
        }
        _ => entry,
    }
}

/// `cli:<name>` of the user running this command: the system's user database's name for the
/// real uid (`/etc/passwd`), else the environment's `USER`, else `uid<n>`.
fn cli_actor() -> String {
    #[cfg(unix)]
    let name = {
        let uid = rustix::process::getuid().as_raw();
        let from_passwd = std::fs::read_to_string("/etc/passwd").ok().and_then(|p| {
            p.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
            })
        });
        from_passwd
            .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| format!("uid{uid}"))
    };
    #[cfg(not(unix))]
    let name = std::env::var("USERNAME").unwrap_or_else(|_| "unknown".into());
    format!("cli:{}", name.chars().take(64).collect::<String>())
}

/// `server add-user NAME --role admin|viewer`: the password from `BOOTH_USER_PASSWORD`, else
/// asked twice on the terminal; stored as an Argon2id hash.
fn add_user(ctx: &Ctx, name: &str, role: &str, union: &str, url: &str) -> Result<Output, CliError> {
    if !session::valid_user_name(name) {
        return Err(CliError::new("usage", t!(ctx.lang, "server.bad_user_name")));
    }
    let Some(role) = Role::parse(role) else {
        return Err(CliError::new("usage", t!(ctx.lang, "cli.bad_role")));
    };
    let password = match std::env::var("BOOTH_USER_PASSWORD") {
        Ok(p) if !p.is_empty() => zeroize::Zeroizing::new(p),
        _ => {
            let read = |prompt: String| {
                rpassword::prompt_password(prompt)
                    .map(zeroize::Zeroizing::new)
                    .map_err(|e| CliError::new("password", e.to_string()))
            };
            let first = read(t!(ctx.lang, "server.password_prompt", name = name))?;
            let again = read(t!(ctx.lang, "server.password_again").to_string())?;
            if *first != *again {
                return Err(CliError::new(
                    "password",
                    t!(ctx.lang, "server.password_mismatch"),
                ));
            }
            first
        }
    };
    if !session::acceptable_password(&password) {
        return Err(CliError::new(
            "password",
            t!(ctx.lang, "server.bad_password"),
        ));
    }
    let hash = session::hash_password(&password).map_err(|e| CliError::new("password", e))?;
    let (rt, db) = open(ctx, url)?;
    rt.block_on(async {
        db.add_user(name.to_string(), role, hash, union.to_string())
            .await?;
        db.audit(cli_entry("user.add", &format!("{name} ({})", role.code())).with("union", union))
            .await
    })
    .map_err(|e| db_error(e, ctx))?;
    Ok(Output {
        human: t!(
            ctx.lang,
            "server.user_added",
            name = name,
            role = role.code()
        ),
        json: json!({ "user": name, "role": role.code() }),
    })
}

fn db_error(e: DbError, ctx: &Ctx) -> CliError {
    let code = match e {
        DbError::DeviceExists => "device_exists",
        DbError::NoSuchDevice => "no_such_device",
        DbError::DeviceRevoked => "device_revoked",
        DbError::UserExists => "user_exists",
        DbError::NoSuchUser => "no_such_user",
        DbError::NoSuchUnion => "no_such_union",
        DbError::BadUrl => "usage",
        DbError::Office(code, _) => code,
        _ => "db",
    };
    CliError::new(code, e.message(ctx.lang))
}

fn open(ctx: &Ctx, url: &str) -> Result<(tokio::runtime::Runtime, Db), CliError> {
    let rt = server::runtime().map_err(|e| CliError::new("server", e.to_string()))?;
    let db = rt.block_on(Db::open(url)).map_err(|e| db_error(e, ctx))?;
    Ok((rt, db))
}

/// The office key, made on first use; with the file it lives in.
fn office_key(ctx: &Ctx, db: &str, arg: &OfficeKeyArg) -> Result<(OfficeKey, PathBuf), CliError> {
    let err = |e: office::KeyFileError| CliError::new("office_key", e.message(ctx.lang));
    let path = office::key_path(arg.office_key.as_deref(), db).map_err(err)?;
    let (key, made) = office::load_or_create(&path).map_err(err)?;
    if made {
        // on stderr: stdout may be JSON or the token a script reads
        eprintln!(
            "{}",
            t!(
                ctx.lang,
                "server.office_key_made",
                path = path.display(),
                fingerprint = key.fingerprint()
            )
        );
    }
    Ok((key, path))
}

/// The database, with the office key recorded in it (or checked against it).
fn open_with_key(
    ctx: &Ctx,
    db: &str,
    arg: &OfficeKeyArg,
) -> Result<(tokio::runtime::Runtime, Db, OfficeKey, PathBuf, OfficeState), CliError> {
    let (key, path) = office_key(ctx, db, arg)?;
    let (rt, db) = open(ctx, db)?;
    let state = rt
        .block_on(server::claim_office_key(&db, &key, ctx.lang))
        .map_err(|e| db_error(e, ctx))?;
    Ok((rt, db, key, path, state))
}

fn check_url(ctx: &Ctx, url: &str) -> Result<String, CliError> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(url.trim_end_matches('/').to_string())
    } else {
        Err(CliError::new("usage", t!(ctx.lang, "config.expect_url")))
    }
}

fn init(
    ctx: &Ctx,
    db: &str,
    server_url: Option<&str>,
    verify_url: Option<&str>,
    time_zone: Option<&str>,
    arg: &OfficeKeyArg,
) -> Result<Output, CliError> {
    let url = server_url.map(|u| check_url(ctx, u)).transpose()?;
    // `--verify-url ""` clears it; otherwise an address a QR code can carry
    let page_url = match verify_url.map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(u) if crate::card::trust::valid_verify_url(u) => {
            Some(Some(u.trim_end_matches('/').to_string()))
        }
        Some(_) => {
            return Err(CliError::new(
                "usage",
                t!(ctx.lang, "config.expect_verify_url"),
            ));
        }
    };
    let zone = time_zone
        .map(|z| {
            Zone::parse(z).ok_or_else(|| {
                CliError::new("time_zone", t!(ctx.lang, "server.bad_time_zone", zone = z))
            })
        })
        .transpose()?;
    let (rt, db, key, path, mut state) = open_with_key(ctx, db, arg)?;
    if let Some(zone) = zone {
        rt.block_on(db.set_zone(zone))
            .map_err(|e| db_error(e, ctx))?;
    }
    let zone = rt.block_on(db.zone()).map_err(|e| db_error(e, ctx))?;
    if let Some(page_url) = page_url {
        rt.block_on(db.set_verify_url(page_url))
            .map_err(|e| db_error(e, ctx))?;
        state = rt
            .block_on(db.office_state())
            .map_err(|e| db_error(e, ctx))?;
    }
    let verify_url = rt.block_on(db.verify_url()).map_err(|e| db_error(e, ctx))?;
    if let Some(url) = url {
        state = rt
            .block_on(db.update_office(move |s| {
                Ok((
                    OfficeState {
                        server_url: Some(url),
                        ..s.clone()
                    },
                    false,
                ))
            }))
            .map_err(|e| db_error(e, ctx))?;
    }
    Ok(Output {
        human: t!(
            ctx.lang,
            "server.init_done",
            path = path.display(),
            fingerprint = key.fingerprint(),
            url = state.server_url.clone().unwrap_or_default(),
            zone = zone.name()
        ),
        json: json!({
            "office_key_file": path,
            "fingerprint": key.fingerprint(),
            "public_key": key_text(&key.public()),
            "server_url": state.server_url,
            "verify_url": verify_url,
            "time_zone": zone.name(),
        }),
    })
}

fn keys(ctx: &Ctx, db: &str, arg: &OfficeKeyArg) -> Result<Output, CliError> {
    let (_rt, _db, key, path, state) = open_with_key(ctx, db, arg)?;
    let public = key_text(&key.public());
    let next_fp = office::announced_fingerprint(&state);
    let mut human = format!(
        "booth-office-key/1 ed25519:{public}\n{}",
        t!(
            ctx.lang,
            "server.fingerprint",
            fingerprint = key.fingerprint()
        )
    );
    if let Some(fp) = &next_fp {
        human.push_str(&format!(
            "\n{}",
            t!(ctx.lang, "server.next_fingerprint", fingerprint = fp)
        ));
    }
    Ok(Output {
        human,
        json: json!({
            "public_key": public,
            "fingerprint": key.fingerprint(),
            "file": path,
            "bundle_version": state.version,
            "next_fingerprint": next_fp,
        }),
    })
}

/// What `server add-device` was asked for.
struct NewDevice<'a> {
    name: &'a str,
    reissue: bool,
    union: Option<&'a str>,
    server_url: Option<&'a str>,
}

fn add_device(
    ctx: &Ctx,
    asked: NewDevice<'_>,
    url: &str,
    arg: &OfficeKeyArg,
) -> Result<Output, CliError> {
    let NewDevice {
        name,
        reissue,
        union,
        server_url,
    } = asked;
    if !auth::valid_device_name(name) {
        return Err(CliError::new(
            "usage",
            t!(ctx.lang, "server.bad_device_name"),
        ));
    }
    let given_url = server_url.map(|u| check_url(ctx, u)).transpose()?;
    let (rt, db, key, _, state) = open_with_key(ctx, url, arg)?;
    let token = auth::new_token().map_err(|e| CliError::new("server", e.to_string()))?;
    let new_token = NewToken::of(&token);
    if reissue {
        rt.block_on(async {
            db.reissue_device(name.to_string(), new_token).await?;
            db.audit(cli_entry("device.reissue", name)).await
        })
    } else {
        rt.block_on(async {
            db.add_device(name.to_string(), new_token, union.map(str::to_string))
                .await?;
            db.audit(cli_entry("device.add", name).with("union", union.unwrap_or(ROOT)))
                .await
        })
    }
    .map_err(|e| db_error(e, ctx))?;
    let verify_url = rt.block_on(db.verify_url()).map_err(|e| db_error(e, ctx))?;
    let node = rt
        .block_on(db.device_union(name.to_string()))
        .map_err(|e| db_error(e, ctx))?;
    let code = Enrolment {
        server: given_url.or(state.server_url),
        token: token.clone(),
        office_key: key.fingerprint(),
        device: Some(name.to_string()),
        seal_key: Some(key.seal_key().public().to_text()),
        verify_url,
        union: crate::server::unions::enrol_union(&node),
    }
    .encode();
    // The token stays the last word: scripts read it from there.
    let human = if reissue {
        t!(
            ctx.lang,
            "server.device_reissued",
            name = name,
            code = code,
            token = token
        )
    } else {
        t!(
            ctx.lang,
            "server.device_added",
            name = name,
            code = code,
            token = token
        )
    };
    Ok(Output {
        human,
        json: json!({
            "device": name,
            "reissued": reissue,
            "token": token,
            "enrolment_code": code,
            "office_fingerprint": key.fingerprint(),
            "union": node.code,
        }),
    })
}

fn void(ctx: &Ctx, member_no: &str, reason: &str, db: &str) -> Result<Output, CliError> {
    let no: MemberNo = member_no
        .parse()
        .map_err(|_| CliError::new("member_no", t!(ctx.lang, "cli.bad_member_no")))?;
    let reason = crate::member::record::free_text(reason, 200, true)
        .ok()
        .flatten()
        .ok_or_else(|| CliError::new("invalid", t!(ctx.lang, "cli.void_reason")))?;
    let (rt, db) = open(ctx, db)?;
    let new = rt
        .block_on(async {
            let new = db
                .revoke_member(
                    no.as_str().to_string(),
                    reason,
                    REVOKED_BY_OFFICE,
                    cli_actor(),
                )
                .await?;
            let entry = cli_entry("member.void", no.as_str()).with("already", (!new).to_string());
            db.audit(entry).await?;
            Ok::<_, DbError>(new)
        })
        .map_err(|e| db_error(e, ctx))?;
    let human = if new {
        t!(ctx.lang, "server.member_revoked", member_no = no)
    } else {
        t!(ctx.lang, "server.member_already_revoked", member_no = no)
    };
    Ok(Output {
        human,
        json: json!({ "member_no": no, "revoked": true, "already": !new }),
    })
}

/// `server rotate-key --next FILE [--finish]`: the rules are the office key's
/// ([`office::rotate`]).
fn rotate(
    ctx: &Ctx,
    next: &Path,
    finish: bool,
    db: &str,
    arg: &OfficeKeyArg,
) -> Result<Output, CliError> {
    let (rt, db, current, path, _) = open_with_key(ctx, db, arg)?;
    let step = rt
        .block_on(office::rotate(&db, &current, &path, next, finish))
        .map_err(|e| match e {
            office::RotateError::Db(e) => db_error(e, ctx),
            e => CliError::new(e.code(), e.message(ctx.lang)),
        })?;
    let (done, fp) = match &step {
        office::Rotation::Announced { next, .. } => ("announced", next.fingerprint()),
        office::Rotation::Finished { next, .. } => ("finished", next.fingerprint()),
    };
    rt.block_on(db.audit(cli_entry("office_key.rotate", &fp).with("step", done)))
        .map_err(|e| db_error(e, ctx))?;
    Ok(match step {
        office::Rotation::Announced { next, version } => Output {
            human: t!(
                ctx.lang,
                "server.rotate_announced",
                fingerprint = next.fingerprint(),
                version = version
            ),
            json: json!({
                "announced": next.fingerprint(),
                "bundle_version": version,
            }),
        },
        office::Rotation::Finished {
            next,
            old_file,
            version,
        } => Output {
            human: t!(
                ctx.lang,
                "server.rotate_finished",
                fingerprint = next.fingerprint(),
                path = path.display(),
                old = old_file.display()
            ),
            json: json!({
                "office_key": next.fingerprint(),
                "old_key_file": old_file,
                "bundle_version": version,
            }),
        },
    })
}

fn publish(
    ctx: &Ctx,
    out: &Path,
    bundle_url: &str,
    db: &str,
    arg: &OfficeKeyArg,
) -> Result<Output, CliError> {
    let rel = server::publish::bundle_path(bundle_url)
        .map_err(|e| CliError::new(e.code(), e.message(ctx.lang)))?
        .to_string();
    let (rt, db, key, _, _) = open_with_key(ctx, db, arg)?;
    let (files, version) = rt
        .block_on(server::publish::publish(&db, &key, out, &rel))
        .map_err(|e| CliError::new(e.code(), e.message(ctx.lang)))?;
    Ok(Output {
        human: t!(
            ctx.lang,
            "server.published",
            files = files,
            out = out.display(),
            version = version
        ),
        json: json!({
            "out": out,
            "files": files,
            "bundle": rel,
            "bundle_version": version,
            "fingerprint": key.fingerprint(),
        }),
    })
}

fn export(ctx: &Ctx, format: &str, out: &Path, url: &str) -> Result<Output, CliError> {
    let format = ExportFormat::parse(format)
        .ok_or_else(|| CliError::new("usage", t!(ctx.lang, "cli.bad_format")))?;
    let (rt, db) = open(ctx, url)?;
    let n = export_from(&ServerSource { db: &db, rt: &rt }, format, out, ctx.lang)
        .map_err(|e| CliError::new("export", e.message(ctx.lang)))?;
    // every member's full record: on the record, or not kept
    let entry = cli_entry("export", "")
        .count(n as i64)
        .with("format", format!("{format:?}").to_ascii_lowercase())
        .with("out", out.display().to_string());
    if let Err(e) = rt.block_on(db.audit(entry)) {
        if out.as_os_str() != "-" {
            let _ = std::fs::remove_file(out);
        }
        return Err(db_error(e, ctx));
    }
    Ok(super::records::export_done(ctx, n, out))
}
