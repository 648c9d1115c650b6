//! `server run | add-device | revoke-device | export | stats`.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::{CliError, Ctx, Output};
use crate::cli::ServerAction;
use crate::export::{ExportFormat, export_from};
use crate::server::export::ServerSource;
use crate::server::{self, Db, DbError, RunOptions, auth};
use crate::t;

pub fn server(ctx: &Ctx, action: &ServerAction) -> Result<Output, CliError> {
    match action {
        ServerAction::Run {
            listen,
            db,
            tls_cert,
            tls_key,
            max_body,
            body_memory,
            max_connections,
            header_timeout,
            idle_timeout,
        } => {
            let mut limits = server::listener::Limits::for_this_process();
            if let Some(n) = max_connections {
                limits.max_connections = (*n).max(1);
            }
            limits.header_timeout = Duration::from_secs((*header_timeout).max(1));
            limits.handshake_timeout = limits.header_timeout;
            limits.idle_timeout = Duration::from_secs((*idle_timeout).max(1));
            let opts = RunOptions {
                listen: listen.clone(),
                db: db.clone(),
                tls: tls_cert.clone().zip(tls_key.clone()),
                max_body: *max_body,
                body_memory: *body_memory,
                limits,
                lang: ctx.lang,
            };
            server::run(&opts).map_err(|e| CliError::new("server", e.message(ctx.lang)))?;
            Ok(Output {
                human: String::new(),
                json: json!({ "stopped": true }),
            })
        }
        ServerAction::AddDevice { name, db } => add_device(ctx, name, db),
        ServerAction::RevokeDevice { name, db } => {
            let (rt, db) = open(ctx, db)?;
            rt.block_on(db.revoke_device(name.clone()))
                .map_err(|e| db_error(e, ctx))?;
            Ok(Output {
                human: t!(ctx.lang, "server.revoked", name = name),
                json: json!({ "device": name, "revoked": true }),
            })
        }
        ServerAction::Export { format, out, db } => export(ctx, format, out, db),
        ServerAction::Stats { db } => {
            let (rt, db) = open(ctx, db)?;
            let s = rt.block_on(db.stats()).map_err(|e| db_error(e, ctx))?;
            let mut human = t!(ctx.lang, "server.stats", members = s.members);
            for d in &s.by_device {
                human.push_str(&format!("\n  {}: {}", d.device, d.members));
            }
            for d in &s.by_day {
                human.push_str(&format!("\n  {}: {}", d.date, d.members));
            }
            Ok(Output {
                human,
                json: serde_json::to_value(&s).unwrap_or_default(),
            })
        }
    }
}

fn db_error(e: DbError, ctx: &Ctx) -> CliError {
    let code = match e {
        DbError::DeviceExists => "device_exists",
        DbError::NoSuchDevice => "no_such_device",
        DbError::BadUrl => "usage",
        _ => "db",
    };
    CliError::new(code, e.message(ctx.lang))
}

fn open(ctx: &Ctx, url: &str) -> Result<(tokio::runtime::Runtime, Db), CliError> {
    let rt = server::runtime().map_err(|e| CliError::new("server", e.to_string()))?;
    let db = rt.block_on(Db::open(url)).map_err(|e| db_error(e, ctx))?;
    Ok((rt, db))
}

fn add_device(ctx: &Ctx, name: &str, url: &str) -> Result<Output, CliError> {
    if !auth::valid_device_name(name) {
        return Err(CliError::new(
            "usage",
            t!(ctx.lang, "server.bad_device_name"),
        ));
    }
    let (rt, db) = open(ctx, url)?;
    let token = auth::new_token().map_err(|e| CliError::new("server", e.to_string()))?;
    rt.block_on(db.add_device(name.to_string(), crate::protocol::token_hash(&token)))
        .map_err(|e| db_error(e, ctx))?;
    Ok(Output {
        human: t!(ctx.lang, "server.device_added", name = name, token = token),
        json: json!({ "device": name, "token": token }),
    })
}

fn export(ctx: &Ctx, format: &str, out: &Path, url: &str) -> Result<Output, CliError> {
    let format = ExportFormat::parse(format)
        .ok_or_else(|| CliError::new("usage", t!(ctx.lang, "cli.bad_format")))?;
    let (rt, db) = open(ctx, url)?;
    let n = export_from(&ServerSource { db: &db, rt: &rt }, format, out, ctx.lang)
        .map_err(|e| CliError::new("export", e.message(ctx.lang)))?;
    Ok(Output {
        human: t!(ctx.lang, "export.done", count = n, path = out.display()),
        json: json!({ "count": n, "path": out }),
    })
}
