//! The laptop's configuration: typed, with defaults, validated when set.
//!
//! Stored in the encrypted database (see [`crate::store::settings`]); `booth config set KEY
//! VALUE` and the setup screen write it. The UI language is mirrored into the clear keyfile so
//! the passphrase prompt speaks the operator's language.

use std::path::PathBuf;

use crate::card::payload::{MAX_UNION_BYTES, check_union_name};
use crate::i18n::Lang;
use crate::store::{BoothEvent, Store, StoreError};
use crate::t;

/// How the printer gets the QR code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum QrMode {
    /// The printer's own QR command (GS ( k, model 2).
    #[default]
    Native,
    /// A raster image (GS v 0), for printers without a QR command.
    Raster,
}

/// Receipt paper width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Paper {
    /// 58 mm paper, 384 dots.
    #[default]
    Mm58,
    /// 80 mm paper, 576 dots.
    Mm80,
}

impl Paper {
    pub fn dots(self) -> u32 {
        match self {
            Paper::Mm58 => 384,
            Paper::Mm80 => 576,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The union's full name, printed on slips.
    pub union: String,
    /// A short name for the QR payload when the full name is longer than 12 characters.
    pub union_short: Option<String>,
    pub place: String,
    pub operator: String,
    pub language: Lang,
    /// `file:/dev/usb/lp0`, `tcp://host:9100`, `lp:QUEUE`; `None` saves slips as PNG.
    pub printer: Option<String>,
    pub paper: Paper,
    pub qr_mode: QrMode,
    /// Minutes without a key before the screen locks; 0 never locks.
    pub idle_lock_minutes: u32,
    /// Days an uploaded record keeps its name, ID number and phone on the laptop.
    pub retention_days: u32,
    pub server: Option<String>,
    pub token: Option<String>,
    /// PEM file of the office's certificate authority (self-signed office certificates).
    pub ca: Option<PathBuf>,
    /// A font file for slips, when the system's CJK fonts should not be used.
    pub font: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            union: "工会".into(),
            union_short: None,
            place: "职工沟通会".into(),
            operator: "经办人".into(),
            language: Lang::Zh,
            printer: None,
            paper: Paper::Mm58,
            qr_mode: QrMode::Native,
            idle_lock_minutes: 5,
            retention_days: 7,
            server: None,
            token: None,
            ca: None,
            font: None,
        }
    }
}

/// Every key `booth config set` accepts, in the order `config list` shows them.
pub const KEYS: &[&str] = &[
    "union",
    "union_short",
    "place",
    "operator",
    "language",
    "printer",
    "paper",
    "qr_mode",
    "idle_lock_minutes",
    "retention_days",
    "server",
    "token",
    "ca",
    "font",
];

/// Why a configuration value is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    UnknownKey(String),
    Invalid { key: String, expected: String },
}

impl ConfigError {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            ConfigError::UnknownKey(k) => {
                t!(
                    lang,
                    "config.unknown_key",
                    key = crate::member::text::display_safe(k),
                    keys = KEYS.join(", ")
                )
            }
            ConfigError::Invalid { key, expected } => {
                t!(lang, "config.invalid", key = key, expected = expected)
            }
        }
    }
}

fn invalid(key: &str, lang: Lang, expected_key: &str) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        expected: crate::i18n::text(lang, expected_key).to_string(),
    }
}

fn text_value(key: &str, value: &str, max: usize, lang: Lang) -> Result<String, ConfigError> {
    match crate::member::record::free_text(value, max, true) {
        Ok(Some(s)) => Ok(s),
        _ => Err(invalid(key, lang, "config.expect_text")),
    }
}

fn optional(value: &str) -> Option<&str> {
    let v = value.trim();
    (!v.is_empty() && v != "none" && v != "无").then_some(v)
}

impl Config {
    /// Reads the configuration; values that no longer parse fall back to their default.
    pub fn load(store: &Store) -> Result<Config, StoreError> {
        let mut c = Config::default();
        for (k, v) in store.settings()? {
            if let Err(e) = c.apply(&k, &v, Lang::En) {
                tracing::warn!(key = k, error = ?e, "ignoring stored setting");
            }
        }
        Ok(c)
    }

    /// Validates and stores one setting.
    pub fn set(store: &mut Store, key: &str, value: &str, lang: Lang) -> Result<Config, SetError> {
        let mut c = Config::load(store)?;
        c.apply(key, value, lang)?;
        if key == "union" && c.union_short.is_none() && check_union_name(&c.union).is_err() {
            return Err(SetError::Config(ConfigError::Invalid {
                key: key.into(),
                expected: t!(lang, "config.union_too_long", max = MAX_UNION_BYTES / 2),
            }));
        }
        let stored = c.get(key).unwrap_or_default();
        store.set_setting(key, (!stored.is_empty()).then_some(stored.as_str()))?;
        if key == "language" {
            store.set_prompt_language(c.language)?;
        }
        Ok(c)
    }

    /// Validates one setting and uses it in this copy only: for values given on a command
    /// line that are stored only once they have proved right (see `upload`).
    pub fn override_with(&mut self, key: &str, value: &str, lang: Lang) -> Result<(), ConfigError> {
        self.apply(key, value, lang)
    }

    fn apply(&mut self, key: &str, value: &str, lang: Lang) -> Result<(), ConfigError> {
        match key {
            "union" => self.union = text_value(key, value, 60, lang)?,
            "union_short" => {
                self.union_short = match optional(value) {
                    None => None,
                    Some(v) => {
                        let v = text_value(key, v, 24, lang)?;
                        check_union_name(&v).map_err(|_| ConfigError::Invalid {
                            key: key.into(),
                            expected: t!(lang, "config.union_too_long", max = MAX_UNION_BYTES / 2),
                        })?;
                        Some(v)
                    }
                }
            }
            "place" => self.place = text_value(key, value, 60, lang)?,
            "operator" => self.operator = text_value(key, value, 40, lang)?,
            "language" => {
                self.language = Lang::parse(value)
                    .ok_or_else(|| invalid(key, lang, "config.expect_language"))?
            }
            "printer" => {
                self.printer = match optional(value) {
                    None => None,
                    Some(v) => {
                        crate::printer::PrinterUri::parse(v)
                            .map_err(|_| invalid(key, lang, "config.expect_printer"))?;
                        Some(v.to_string())
                    }
                }
            }
            "paper" => {
                self.paper = match value.trim().trim_end_matches("mm") {
                    "58" => Paper::Mm58,
                    "80" => Paper::Mm80,
                    _ => return Err(invalid(key, lang, "config.expect_paper")),
                }
            }
            "qr_mode" => {
                self.qr_mode = match value.trim() {
                    "native" => QrMode::Native,
                    "raster" => QrMode::Raster,
                    _ => return Err(invalid(key, lang, "config.expect_qr_mode")),
                }
            }
            "idle_lock_minutes" => {
                self.idle_lock_minutes = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|&m| m <= 24 * 60)
                    .ok_or_else(|| invalid(key, lang, "config.expect_minutes"))?
            }
            "retention_days" => {
                self.retention_days = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|&d| d <= 3650)
                    .ok_or_else(|| invalid(key, lang, "config.expect_days"))?
            }
            "server" => {
                self.server = match optional(value) {
                    None => None,
                    Some(v) if v.starts_with("https://") || v.starts_with("http://") => {
                        Some(v.trim_end_matches('/').to_string())
                    }
                    Some(_) => return Err(invalid(key, lang, "config.expect_url")),
                }
            }
            "token" => self.token = optional(value).map(String::from),
            "ca" => self.ca = optional(value).map(PathBuf::from),
            "font" => self.font = optional(value).map(PathBuf::from),
            _ => return Err(ConfigError::UnknownKey(key.into())),
        }
        Ok(())
    }

    /// The stored text of a setting (`None` for an unknown key).
    pub fn get(&self, key: &str) -> Option<String> {
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        Some(match key {
            "union" => self.union.clone(),
            "union_short" => opt(&self.union_short),
            "place" => self.place.clone(),
            "operator" => self.operator.clone(),
            "language" => self.language.code().into(),
            "printer" => opt(&self.printer),
            "paper" => match self.paper {
                Paper::Mm58 => "58".into(),
                Paper::Mm80 => "80".into(),
            },
            "qr_mode" => match self.qr_mode {
                QrMode::Native => "native".into(),
                QrMode::Raster => "raster".into(),
            },
            "idle_lock_minutes" => self.idle_lock_minutes.to_string(),
            "retention_days" => self.retention_days.to_string(),
            "server" => opt(&self.server),
            "token" => opt(&self.token),
            "ca" => self
                .ca
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            "font" => self
                .font
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            _ => return None,
        })
    }

    /// As [`Config::get`], with the token masked (for `config list`).
    pub fn display(&self, key: &str) -> Option<String> {
        let v = self.get(key)?;
        Some(if key == "token" && !v.is_empty() {
            format!("{}…", v.chars().take(4).collect::<String>())
        } else {
            v
        })
    }

    /// The union name carried by QR payloads.
    pub fn payload_union(&self) -> &str {
        self.union_short.as_deref().unwrap_or(&self.union)
    }

    pub fn event(&self) -> BoothEvent {
        BoothEvent {
            union: self.union.clone(),
            place: self.place.clone(),
            operator: self.operator.clone(),
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_validate_and_reload() {
        let (_d, mut store) = crate::store::test_store();
        Config::set(&mut store, "place", "望京 SOHO", Lang::Zh).unwrap();
        Config::set(&mut store, "paper", "80mm", Lang::Zh).unwrap();
        Config::set(&mut store, "printer", "tcp://127.0.0.1:9100", Lang::Zh).unwrap();
        let c = Config::load(&store).unwrap();
        assert_eq!(c.place, "望京 SOHO");
        assert_eq!(c.paper, Paper::Mm80);
        assert_eq!(c.printer.as_deref(), Some("tcp://127.0.0.1:9100"));
        assert!(matches!(
            Config::set(&mut store, "colour", "red", Lang::Zh),
            Err(SetError::Config(ConfigError::UnknownKey(_)))
        ));
        assert!(Config::set(&mut store, "paper", "57", Lang::Zh).is_err());
        assert!(Config::set(&mut store, "operator", "李\u{1b}[2J", Lang::Zh).is_err());
        assert!(
            Config::set(
                &mut store,
                "union",
                "北京市朝阳区望京街道总工会联合委员会",
                Lang::Zh
            )
            .is_err()
        );
        Config::set(&mut store, "union_short", "望京街道总工会", Lang::Zh).unwrap();
        Config::set(
            &mut store,
            "union",
            "北京市朝阳区望京街道总工会联合委员会",
            Lang::Zh,
        )
        .unwrap();
        let c = Config::load(&store).unwrap();
        assert_eq!(c.payload_union(), "望京街道总工会");
        Config::set(&mut store, "printer", "none", Lang::Zh).unwrap();
        assert_eq!(Config::load(&store).unwrap().printer, None);
    }
}
