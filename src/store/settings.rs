//! Settings, kept inside the encrypted database (the operator's name and the upload token
//! are not for the clear-text folder): raw key/value rows, and the typed [`Config`] read and
//! written through them.

use rusqlite::OptionalExtension;

use super::{Store, StoreError};
use crate::config::{Config, ConfigError};
use crate::i18n::Lang;

/// Why a setting was not stored.
#[derive(Debug)]
pub enum SetError {
    Config(ConfigError),
    Store(StoreError),
}

impl From<ConfigError> for SetError {
    fn from(e: ConfigError) -> Self {
        SetError::Config(e)
    }
}

impl From<StoreError> for SetError {
    fn from(e: StoreError) -> Self {
        SetError::Store(e)
    }
}

impl SetError {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            SetError::Config(e) => e.message(lang),
            SetError::Store(e) => e.message(lang),
        }
    }
}

impl Store {
    /// The configuration; stored values that no longer parse fall back to their default.
    pub fn config(&self) -> Result<Config, StoreError> {
        let mut c = Config::default();
        for (k, v) in self.settings()? {
            if let Err(e) = c.apply(&k, &v, Lang::En) {
                tracing::warn!(key = k, error = ?e, "ignoring stored setting");
            }
        }
        Ok(c)
    }

    /// Validates and stores one setting (the same check for `config set` and setup).
    pub fn set_config(&mut self, key: &str, value: &str, lang: Lang) -> Result<Config, SetError> {
        let c = self.config()?.with_setting(key, value, lang)?;
        let stored = c.get(key).unwrap_or_default();
        self.set_setting(key, (!stored.is_empty()).then_some(stored.as_str()))?;
        if key == "language" {
            self.set_prompt_language(c.language)?;
        }
        Ok(c)
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_setting(&mut self, key: &str, value: Option<&str>) -> Result<(), StoreError> {
        match value {
            Some(v) => {
                write_setting(&self.conn, key, v)?;
                0
            }
            None => self
                .conn
                .execute("DELETE FROM settings WHERE key = ?1", [key])?,
        };
        Ok(())
    }

    pub fn settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, value FROM settings ORDER BY key")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Writes one setting on any connection (the store's own, or a background one).
pub fn write_setting(
    conn: &rusqlite::Connection,
    key: &str,
    value: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        rusqlite::params![key, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_is_validated_stored_and_read_back() {
        let (_d, mut store) = crate::store::test_store();
        store.set_config("place", "望京 SOHO", Lang::Zh).unwrap();
        store
            .set_config("printer", "tcp://127.0.0.1:9100", Lang::Zh)
            .unwrap();
        let c = store.config().unwrap();
        assert_eq!(c.place, "望京 SOHO");
        assert_eq!(c.get("printer").as_deref(), Some("tcp://127.0.0.1:9100"));
        assert!(matches!(
            store.set_config("colour", "red", Lang::Zh),
            Err(SetError::Config(ConfigError::UnknownKey(_)))
        ));
        store.set_config("printer", "none", Lang::Zh).unwrap();
        assert_eq!(store.config().unwrap().printer, None);
        assert_eq!(store.setting("printer").unwrap(), None);
    }
}
