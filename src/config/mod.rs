//! The laptop's configuration: a plain typed value with defaults, and one validator per key
//! ([`Config::apply`]) that `booth config set` and the setup screen both call.
//!
//! Reading and writing it is the store's job (`Store::config`, `Store::set_config`): the
//! settings live in the encrypted database.

pub mod printer;

use std::path::PathBuf;

use crate::card::payload::{MAX_UNION_BYTES, check_union_name};
use crate::i18n::Lang;
use crate::member::BoothEvent;
use crate::member::state::{OPERATOR_MAX_CHARS, PLACE_MAX_CHARS, UNION_MAX_CHARS};
use crate::t;
pub use printer::{BadPrinterUri, Paper, PrinterUri, QrMode};

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
    pub printer: Option<PrinterUri>,
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
    /// The office key's fingerprint (from the enrolment code): bundles must be signed by it.
    pub office_key: Option<String>,
    /// The verification page's public address (`https://host`): QR codes then hold
    /// `HTTPS://HOST/V#GH1:…`, which a phone camera opens.
    pub verify_url: Option<String>,
    /// The page's address the office gave (its enrolment code, then each bundle it signs):
    /// used when `verify_url` is not set here (issue 23 item 10). Kept by `booth enroll` and
    /// the upload, not typed.
    pub office_verify_url: Option<String>,
    /// A folder of fonts for slips and card sheets, used instead of the system's.
    pub font_dir: Option<PathBuf>,
    /// The language printed on slips and cards: the members', not the operator's screen's.
    pub slip_language: Lang,
}

impl Config {
    /// The page's address QR codes carry: this laptop's own `verify_url`, else the one the
    /// office gave; none, the code alone.
    pub fn page_url(&self) -> Option<&str> {
        self.verify_url
            .as_deref()
            .or(self.office_verify_url.as_deref())
    }
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
            office_key: None,
            verify_url: None,
            office_verify_url: None,
            font_dir: None,
            slip_language: Lang::Zh,
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
    "office_key",
    "verify_url",
    "office_verify_url",
    "font_dir",
    "slip_language",
];

/// Why a configuration value is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    UnknownKey(String),
    Invalid {
        key: String,
        expected: String,
    },
    /// The union's name (or short name) does not fit the QR payload.
    UnionTooLong {
        key: String,
    },
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
            ConfigError::UnionTooLong { key } => t!(
                lang,
                "config.invalid",
                key = key,
                expected = t!(lang, "config.union_too_long", max = MAX_UNION_BYTES / 2)
            ),
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
    /// This configuration with one setting changed, checked as a whole: what `config set`
    /// and the setup screen store. A union name too long for the QR payload needs
    /// `union_short` first.
    pub fn with_setting(&self, key: &str, value: &str, lang: Lang) -> Result<Config, ConfigError> {
        let mut c = self.clone();
        c.apply(key, value, lang)?;
        if key == "union" && c.union_short.is_none() && check_union_name(&c.union).is_err() {
            return Err(ConfigError::UnionTooLong { key: key.into() });
        }
        Ok(c)
    }

    /// Validates one setting and uses it in this copy only: for values given on a command
    /// line that are stored only once they have proved right (see `upload`), and for stored
    /// settings read back.
    pub fn apply(&mut self, key: &str, value: &str, lang: Lang) -> Result<(), ConfigError> {
        match key {
            "union" => self.union = text_value(key, value, UNION_MAX_CHARS, lang)?,
            "union_short" => {
                self.union_short = match optional(value) {
                    None => None,
                    Some(v) => {
                        let v = text_value(key, v, 24, lang)?;
                        check_union_name(&v)
                            .map_err(|_| ConfigError::UnionTooLong { key: key.into() })?;
                        Some(v)
                    }
                }
            }
            "place" => self.place = text_value(key, value, PLACE_MAX_CHARS, lang)?,
            "operator" => self.operator = text_value(key, value, OPERATOR_MAX_CHARS, lang)?,
            "language" => {
                self.language = Lang::parse(value)
                    .ok_or_else(|| invalid(key, lang, "config.expect_language"))?
            }
            "printer" => {
                self.printer = match optional(value) {
                    None => None,
                    Some(v) => Some(
                        PrinterUri::parse(v)
                            .map_err(|_| invalid(key, lang, "config.expect_printer"))?,
                    ),
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
            "office_key" => {
                self.office_key = match optional(value) {
                    None => None,
                    Some(v) if crate::card::office::is_fingerprint(v) => Some(v.to_string()),
                    Some(_) => return Err(invalid(key, lang, "config.expect_fingerprint")),
                }
            }
            "verify_url" | "office_verify_url" => {
                let url = match optional(value) {
                    None => None,
                    Some(v) if crate::card::trust::valid_verify_url(v) => {
                        Some(v.trim_end_matches('/').to_string())
                    }
                    Some(_) => return Err(invalid(key, lang, "config.expect_verify_url")),
                };
                if key == "verify_url" {
                    self.verify_url = url;
                } else {
                    self.office_verify_url = url;
                }
            }
            "font_dir" => self.font_dir = optional(value).map(PathBuf::from),
            "slip_language" => {
                self.slip_language = Lang::parse(value)
                    .ok_or_else(|| invalid(key, lang, "config.expect_language"))?
            }
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
            "printer" => self
                .printer
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
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
            "office_key" => opt(&self.office_key),
            "verify_url" => opt(&self.verify_url),
            "office_verify_url" => opt(&self.office_verify_url),
            "font_dir" => self
                .font_dir
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            "slip_language" => self.slip_language.code().into(),
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

    pub fn event(&self) -> BoothEvent {
        BoothEvent {
            union: self.union.clone(),
            place: self.place.clone(),
            operator: self.operator.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(c: &Config, key: &str, value: &str) -> Result<Config, ConfigError> {
        c.with_setting(key, value, Lang::Zh)
    }

    #[test]
    fn each_key_is_validated_and_reads_back() {
        let c = Config::default();
        let c = set(&c, "place", "望京 SOHO").unwrap();
        let c = set(&c, "paper", "80mm").unwrap();
        let c = set(&c, "printer", "tcp://127.0.0.1:9100").unwrap();
        assert_eq!(c.place, "望京 SOHO");
        assert_eq!(c.paper, Paper::Mm80);
        assert_eq!(c.get("printer").as_deref(), Some("tcp://127.0.0.1:9100"));
        assert!(matches!(
            set(&c, "colour", "red"),
            Err(ConfigError::UnknownKey(_))
        ));
        assert!(set(&c, "paper", "57").is_err());
        assert!(set(&c, "operator", "李\u{1b}[2J").is_err());
        assert!(set(&c, "printer", "usb").is_err());
        assert_eq!(set(&c, "printer", "none").unwrap().printer, None);
    }

    #[test]
    fn a_long_union_name_needs_its_short_name_first() {
        let long = "北京市朝阳区望京街道总工会联合委员会";
        assert!(set(&Config::default(), "union", long).is_err());
        let c = set(&Config::default(), "union_short", "望京街道总工会").unwrap();
        let c = set(&c, "union", long).unwrap();
        assert_eq!(
            crate::card::payload_union(&c.union, c.union_short.as_deref()),
            "望京街道总工会"
        );
    }

    #[test]
    fn every_key_round_trips_through_its_text() {
        let c = Config {
            union_short: Some("望京工会".into()),
            printer: Some(PrinterUri::parse("lp:Receipt_58").unwrap()),
            ca: Some("/etc/booth/ca.pem".into()),
            office_key: Some("A".repeat(42) + "E"),
            verify_url: Some("https://verify.example.cn".into()),
            office_verify_url: Some("https://verify.office.cn".into()),
            font_dir: Some("/usr/share/booth/fonts".into()),
            slip_language: Lang::En,
            ..Config::default()
        };
        let mut back = Config::default();
        for key in KEYS {
            back.apply(key, &c.get(key).unwrap(), Lang::En).unwrap();
        }
        assert_eq!(back, c);
    }
}
