//! The office's trust bundle, built from the database and signed with the office key. The
//! body is a function of the database alone (the version's date is stored with it), so every
//! server of one office serves the same bytes for one version.

use super::db::{Db, DbError, OfficeState};
use crate::card::bundle::{self, BundleBody, BundleKey, key_text};
use crate::card::office::OfficeKey;
use crate::i18n::Lang;
use crate::t;

#[derive(Debug, thiserror::Error)]
pub enum BundleServeError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// The database records another office key (rotated): this server's key file is stale.
    #[error("the office key was changed; this server still holds the old one")]
    KeyChanged,
}

impl BundleServeError {
    pub fn code(&self) -> &'static str {
        match self {
            BundleServeError::Db(_) => "db_unavailable",
            BundleServeError::KeyChanged => "office_key_changed",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match self {
            BundleServeError::Db(_) => t!(lang, "server.db_unavailable").into(),
            BundleServeError::KeyChanged => t!(lang, "server.office_key_changed").into(),
        }
    }
}

/// The signed bundle for the database's current state.
pub async fn build(
    db: &Db,
    office: &OfficeKey,
    state: &OfficeState,
) -> Result<String, BundleServeError> {
    let mine = key_text(&office.public());
    if state.office_key.as_deref().is_some_and(|k| k != mine) {
        return Err(BundleServeError::KeyChanged);
    }
    let (keys, revoked) = db.bundle_rows().await?;
    let verify_url = db.verify_url().await?;
    let body = BundleBody {
        version: state.version,
        issued_at: state.issued_at.clone(),
        office_key: mine,
        next_office_key: state.next_office_key.clone(),
        keys: keys
            .into_iter()
            .map(|k| BundleKey {
                key_id: k.key_id,
                key: k.public_key,
                device: k.device,
                union: k.union,
                from: k.from,
                max_seq: k.max_seq,
            })
            .collect(),
        revoked,
        verify_url,
    };
    Ok(bundle::sign(office, &body))
}
