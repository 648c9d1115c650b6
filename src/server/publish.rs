//! A copy of the verification page and the current bundle for a static HTTPS host
//! (docs/verifier.md, "published copy"): written by `booth server publish-verifier --out DIR`
//! and, with `booth server run --publish-dir DIR`, again by the server whenever the bundle's
//! version moves (a revocation at the console, by `server void`, or in a laptop's upload), so
//! a copy never lags a revocation for long. Each copy written is recorded in the database
//! (`Db::set_published`): the console warns when the newest one is older than the bundle.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::bundle::{self, BundleServeError};
use super::db::Db;
use super::nofollow::WriteError;
use super::page;
use super::state::ServerState;
use crate::card::office::OfficeKey;
use crate::i18n::Lang;
use crate::t;

/// How often `server run --publish-dir` looks at the bundle's version. Revocations made by
/// another process (`server void`) are seen within this.
pub const POLL: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Bundle(#[from] BundleServeError),
    #[error("the bundle's path must end in .json and stay inside the folder")]
    BundlePath,
    #[error("{0}")]
    Write(WriteError),
}

impl PublishError {
    pub fn code(&self) -> &'static str {
        match self {
            PublishError::Bundle(e) => e.code(),
            PublishError::BundlePath => "usage",
            PublishError::Write(WriteError::Symlink(_)) => "symlink",
            PublishError::Write(WriteError::Io { .. }) => "publish",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match self {
            PublishError::Bundle(e) => e.message(lang),
            PublishError::BundlePath => t!(lang, "server.bad_bundle_url").into(),
            PublishError::Write(WriteError::Symlink(path)) => {
                t!(lang, "server.publish_symlink", path = path.display())
            }
            PublishError::Write(WriteError::Io { path, why }) => t!(
                lang,
                "server.publish_write",
                path = path.display(),
                why = why
            ),
        }
    }
}

/// The bundle's path as given (`bundle.json`, `/trust/bundle.json`), relative to the folder.
pub fn bundle_path(given: &str) -> Result<&str, PublishError> {
    let rel = given.trim_start_matches('/');
    if rel.is_empty() || rel.contains("..") || !rel.ends_with(".json") {
        return Err(PublishError::BundlePath);
    }
    Ok(rel)
}

/// Writes the page and the current bundle into `out` and records it: (files, version).
pub async fn publish(
    db: &Db,
    office: &OfficeKey,
    out: &Path,
    bundle_rel: &str,
) -> Result<(usize, u64), PublishError> {
    let rel = bundle_path(bundle_rel)?;
    let state = db.office_state().await.map_err(BundleServeError::from)?;
    let text = bundle::build(db, office, &state).await?;
    let files =
        page::publish(out, &office.fingerprint(), rel, &text).map_err(PublishError::Write)?;
    db.set_published(state.version)
        .await
        .map_err(BundleServeError::from)?;
    Ok((files, state.version))
}

/// `server run --publish-dir`: publishes at start, then whenever the bundle's version is
/// above the one last written. A failure is logged and tried again at the next look.
pub async fn keep_published(state: Arc<ServerState>, out: PathBuf) {
    let (db, office) = (&state.db, &state.office);
    let mut written: Option<u64> = None;
    let mut ticks = tokio::time::interval(POLL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let version = match db.office_state().await {
            Ok(s) => s.version,
            Err(e) => {
                tracing::warn!(error = %e, "publish: cannot read the bundle's version");
                continue;
            }
        };
        if written == Some(version) {
            continue;
        }
        match publish(db, office, &out, "bundle.json").await {
            Ok((files, v)) => {
                tracing::info!(dir = %out.display(), files, version = v, "verification page published");
                written = Some(v);
            }
            Err(e) => {
                tracing::warn!(dir = %out.display(), error = %e, "publish failed; tried again");
            }
        }
    }
}
