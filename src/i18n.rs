//! Every user-visible string, in Simplified Chinese and English.
//!
//! The strings live in one file, `assets/i18n/strings.toml`, one table per key with a `zh` and an
//! `en` entry, so a translator sees both languages side by side and a test can prove none is
//! missing. Code asks for a string with the [`t!`](crate::t) macro:
//!
//! ```
//! use booth::{i18n::Lang, t};
//! assert_eq!(t!(Lang::En, "field.name"), "Name");
//! assert_eq!(t!(Lang::Zh, "reason.too_long", max = 40), "不能超过 40 个字符");
//! ```

use std::collections::HashMap;
use std::fmt::{self, Display};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

const STRINGS: &str = include_str!("../assets/i18n/strings.toml");

/// The operator's language. Simplified Chinese unless chosen otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    #[serde(rename = "zh-CN")]
    Zh,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    /// The code stored in the config and accepted on the command line.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Accepts `zh`, `zh-CN`, `zh_CN.UTF-8`, `en`, `en-US`, … (case-insensitive).
    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        if s.starts_with("zh") {
            Some(Lang::Zh)
        } else if s.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The other language: the one-key language switch in the UI.
    pub fn toggled(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

impl Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

struct Entry {
    zh: String,
    en: String,
}

fn catalog() -> &'static HashMap<String, Entry> {
    static CATALOG: OnceLock<HashMap<String, Entry>> = OnceLock::new();
    CATALOG.get_or_init(|| parse_catalog(STRINGS).expect("assets/i18n/strings.toml is valid"))
}

/// Flattens nested tables into dotted keys; a table holding `zh` and `en` strings is an entry.
fn parse_catalog(src: &str) -> Result<HashMap<String, Entry>, String> {
    fn walk(
        prefix: &str,
        table: &toml::Table,
        out: &mut HashMap<String, Entry>,
    ) -> Result<(), String> {
        if let (Some(zh), Some(en)) = (table.get("zh"), table.get("en")) {
            let (Some(zh), Some(en)) = (zh.as_str(), en.as_str()) else {
                return Err(format!("{prefix}: zh and en must be strings"));
            };
            out.insert(
                prefix.to_string(),
                Entry {
                    zh: zh.to_string(),
                    en: en.to_string(),
                },
            );
            return Ok(());
        }
        for (k, v) in table {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(t) => walk(&key, t, out)?,
                _ => return Err(format!("{key}: expected a table with zh and en")),
            }
        }
        Ok(())
    }
    let table: toml::Table = src.parse().map_err(|e| format!("{e}"))?;
    let mut out = HashMap::new();
    walk("", &table, &mut out)?;
    Ok(out)
}

/// The string for `key`; the key itself if it is missing (a test keeps that from happening).
pub fn text(lang: Lang, key: &str) -> &'static str {
    match catalog().get(key) {
        Some(e) => match lang {
            Lang::Zh => e.zh.as_str(),
            Lang::En => e.en.as_str(),
        },
        None => {
            tracing::warn!(key, "missing string");
            // Leaking is bounded: only keys missing from the catalogue reach here.
            Box::leak(key.to_string().into_boxed_str())
        }
    }
}

/// The string for `key` with `{name}` placeholders replaced.
pub fn format(lang: Lang, key: &str, args: &[(&str, &dyn Display)]) -> String {
    let mut s = text(lang, key).to_string();
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), &value.to_string());
    }
    s
}

/// `t!(lang, "key")` → `&'static str`; `t!(lang, "key", name = value, …)` → `String`.
#[macro_export]
macro_rules! t {
    ($lang:expr, $key:literal) => {
        $crate::i18n::text($lang, $key)
    };
    ($lang:expr, $key:literal, $($name:ident = $val:expr),+ $(,)?) => {
        $crate::i18n::format($lang, $key, &[$((stringify!($name), &$val as &dyn std::fmt::Display)),+])
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_parses_and_every_entry_has_both_languages() {
        let cat = parse_catalog(STRINGS).unwrap();
        assert!(cat.len() > 30);
        for (k, e) in &cat {
            assert!(!e.zh.trim().is_empty(), "{k} has no zh");
            assert!(!e.en.trim().is_empty(), "{k} has no en");
            // Placeholders must match across languages, or one language drops a value.
            let ph = |s: &str| {
                let mut v: Vec<String> = s
                    .split('{')
                    .skip(1)
                    .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_string()))
                    .collect();
                v.sort();
                // a value may be named twice in one language and once in the other
                v.dedup();
                v
            };
            assert_eq!(ph(&e.zh), ph(&e.en), "placeholders differ in {k}");
        }
    }

    #[test]
    fn every_key_used_in_the_source_exists() {
        let cat = parse_catalog(STRINGS).unwrap();
        let mut missing = Vec::new();
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut stack = vec![std::path::PathBuf::from(root)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("i18n.rs")
                {
                    let src = std::fs::read_to_string(&path).unwrap();
                    for key in used_keys(&src) {
                        if !cat.contains_key(&key) {
                            missing.push(format!("{}: {key}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keys missing from strings.toml:\n{}",
            missing.join("\n")
        );
    }

    /// Keys passed to `t!(…, "key"…)` and `text(…, "key")`.
    fn used_keys(src: &str) -> Vec<String> {
        let mut keys = Vec::new();
        for marker in ["t!(", "text("] {
            let mut rest = src;
            while let Some(i) = rest.find(marker) {
                rest = &rest[i + marker.len()..];
                // skip the language argument up to the first comma at depth 0
                let mut depth = 0;
                let mut j = None;
                for (k, c) in rest.char_indices() {
                    match c {
                        '(' => depth += 1,
                        ')' if depth == 0 => break,
                        ')' => depth -= 1,
                        ',' if depth == 0 => {
                            j = Some(k);
                            break;
                        }
                        _ => {}
                    }
                }
                let Some(j) = j else { continue };
                let after = rest[j + 1..].trim_start();
                if let Some(lit) = after.strip_prefix('"')
                    && let Some(end) = lit.find('"')
                {
                    let key = &lit[..end];
                    let is_key = key.contains('.')
                        && key.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'
                        });
                    if is_key {
                        keys.push(key.to_string());
                    }
                }
            }
        }
        keys
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            format(Lang::En, "reason.too_long", &[("max", &40)]),
            "must be at most 40 characters"
        );
    }

    #[test]
    fn lang_parsing() {
        assert_eq!(Lang::parse("zh_CN.UTF-8"), Some(Lang::Zh));
        assert_eq!(Lang::parse("EN-us"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }
}
