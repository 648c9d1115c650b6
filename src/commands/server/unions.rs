//! `booth server unions import | list | remove | assign-device` (SPEC §11): the office's
//! union tree, read from the federation's own list.

use std::path::Path;

use serde_json::json;

use super::{cli_entry, db_error, open};
use crate::cli::UnionsAction;
use crate::commands::{CliError, Ctx, Output};
use crate::server::db::unions::{Holds, ImportOutcome};
use crate::server::unions::file;
use crate::t;

pub fn run(ctx: &Ctx, action: &UnionsAction) -> Result<Output, CliError> {
    match action {
        UnionsAction::Import { file, db } => import(ctx, file, db),
        UnionsAction::List { db } => list(ctx, db),
        UnionsAction::Remove { code, db } => remove(ctx, code, db),
        UnionsAction::AssignDevice { name, code, db } => assign(ctx, name, code, db),
    }
}

fn import(ctx: &Ctx, path: &Path, db: &str) -> Result<Output, CliError> {
    let rows = file::read(path).map_err(|e| CliError::new("unions_file", e.message(ctx.lang)))?;
    let (rt, db) = open(ctx, db)?;
    let outcome = rt
        .block_on(db.import_unions(rows))
        .map_err(|e| db_error(e, ctx))?;
    match outcome {
        ImportOutcome::Refused(problems) => {
            let mut message = t!(ctx.lang, "unions.refused", count = problems.len());
            for p in &problems {
                message.push_str("\n  ");
                message.push_str(&p.message(ctx.lang));
            }
            Err(CliError::new("unions_refused", message))
        }
        ImportOutcome::Taken(plan) => {
            let target = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let written = (plan.added + plan.renamed + plan.moved.len()) as i64;
            rt.block_on(db.audit(cli_entry("unions.import", &target).count(written)))
                .map_err(|e| db_error(e, ctx))?;
            Ok(Output {
                human: t!(
                    ctx.lang,
                    "unions.imported",
                    added = plan.added,
                    renamed = plan.renamed,
                    moved = plan.moved.len(),
                    unchanged = plan.unchanged
                ),
                json: serde_json::to_value(&plan).unwrap_or_default(),
            })
        }
    }
}

fn list(ctx: &Ctx, db: &str) -> Result<Output, CliError> {
    let (rt, db) = open(ctx, db)?;
    let tree = rt.block_on(db.union_tree()).map_err(|e| db_error(e, ctx))?;
    let mut human = t!(ctx.lang, "unions.listed", count = tree.len());
    for n in &tree {
        human.push_str(&format!(
            "\n  {}\t{}\t{}\t{}",
            n.code,
            n.name,
            n.short,
            n.parent.as_deref().unwrap_or("-")
        ));
    }
    Ok(Output {
        human,
        json: json!({ "unions": tree }),
    })
}

fn remove(ctx: &Ctx, code: &str, db: &str) -> Result<Output, CliError> {
    let (rt, db) = open(ctx, db)?;
    let held = rt
        .block_on(db.remove_union(code.to_string()))
        .map_err(|e| db_error(e, ctx))?;
    if let Err(holds) = held {
        let message = match holds {
            Holds::Root => t!(ctx.lang, "unions.holds_root").to_string(),
            Holds::Children => t!(ctx.lang, "unions.holds_children", code = code),
            Holds::Devices => t!(ctx.lang, "unions.holds_devices", code = code),
            Holds::Users => t!(ctx.lang, "unions.holds_users", code = code),
        };
        return Err(CliError::new("union_not_empty", message));
    }
    rt.block_on(db.audit(cli_entry("unions.remove", code)))
        .map_err(|e| db_error(e, ctx))?;
    Ok(Output {
        human: t!(ctx.lang, "unions.removed", code = code),
        json: json!({ "code": code, "removed": true }),
    })
}

fn assign(ctx: &Ctx, name: &str, code: &str, db: &str) -> Result<Output, CliError> {
    let (rt, db) = open(ctx, db)?;
    let node = rt
        .block_on(async {
            db.assign_device(name.to_string(), code.to_string()).await?;
            db.audit(cli_entry("unions.assign_device", name).with("union", code))
                .await?;
            db.device_union(name.to_string()).await
        })
        .map_err(|e| db_error(e, ctx))?;
    Ok(Output {
        human: t!(
            ctx.lang,
            "unions.assigned",
            device = name,
            code = code,
            name = node.name
        ),
        json: json!({ "device": name, "union": node }),
    })
}
