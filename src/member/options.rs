//! The pick lists of the optional fields (ethnicity, political status, education, employment
//! form, needs), loaded from `assets/i18n/options.toml` so both languages sit in one file.

use std::sync::OnceLock;

use serde::Deserialize;

use super::text::tidy;
use crate::i18n::Lang;

const OPTIONS: &str = include_str!("../../assets/i18n/options.toml");

/// One entry of a pick list.
#[derive(Debug, Clone, Deserialize)]
pub struct Choice {
    /// Stored and exported code (GB/T code for national lists).
    pub code: String,
    pub zh: String,
    pub en: String,
    /// The key that picks it in the form, where the list is short enough for one.
    #[serde(default)]
    pub key: Option<char>,
}

impl Choice {
    pub fn label(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

#[derive(Debug, Deserialize)]
struct Lists {
    ethnicity: Vec<Choice>,
    political_status: Vec<Choice>,
    education: Vec<Choice>,
    employment_form: Vec<Choice>,
    needs: Vec<Choice>,
}

fn lists() -> &'static Lists {
    static L: OnceLock<Lists> = OnceLock::new();
    L.get_or_init(|| toml::from_str(OPTIONS).expect("assets/i18n/options.toml is valid"))
}

/// The new forms of employment (SPEC §2: 新就业形态), which the office reports apart.
pub const NEW_EMPLOYMENT_FORMS: &[&str] = &[
    "courier",
    "food_delivery",
    "ride_hailing",
    "truck_driver",
    "online_domestic",
    "live_streamer",
];

/// Whether an employment-form code is one of the new forms of employment.
pub fn is_new_employment_form(code: &str) -> bool {
    NEW_EMPLOYMENT_FORMS.contains(&code)
}

/// The optional fields that pick from a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListKind {
    Ethnicity,
    PoliticalStatus,
    Education,
    EmploymentForm,
    Needs,
}

impl ListKind {
    pub fn choices(self) -> &'static [Choice] {
        let l = lists();
        match self {
            ListKind::Ethnicity => &l.ethnicity,
            ListKind::PoliticalStatus => &l.political_status,
            ListKind::Education => &l.education,
            ListKind::EmploymentForm => &l.employment_form,
            ListKind::Needs => &l.needs,
        }
    }

    pub fn by_code(self, code: &str) -> Option<&'static Choice> {
        self.choices().iter().find(|c| c.code == code)
    }

    /// The label of a stored code (the code itself if unknown, e.g. from a newer version).
    pub fn label(self, code: &str, lang: Lang) -> String {
        self.by_code(code)
            .map(|c| c.label(lang).to_string())
            .unwrap_or_else(|| code.to_string())
    }

    /// Finds a choice from what a spreadsheet or operator wrote: its code, either label, or
    /// the label without a trailing 族 ("汉" for 汉族). Case- and width-insensitive.
    pub fn find(self, raw: &str) -> Option<&'static Choice> {
        let s = tidy(raw).to_lowercase();
        if s.is_empty() {
            return None;
        }
        let choices = self.choices();
        choices
            .iter()
            .find(|c| {
                c.code.eq_ignore_ascii_case(&s)
                    || c.zh == s
                    || c.en.to_lowercase() == s
                    || (self == ListKind::Ethnicity && c.zh.trim_end_matches('族') == s)
            })
            // "1" for code "01"
            .or_else(|| {
                s.parse::<u32>()
                    .ok()
                    .and_then(|n| choices.iter().find(|c| c.code.parse::<u32>() == Ok(n)))
            })
            // "中专" for "中专/技校", "法律援助" for "法律援助/维权"
            .or_else(|| {
                choices
                    .iter()
                    .find(|c| c.zh.split('/').any(|part| part == s))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_load_with_both_languages() {
        assert_eq!(ListKind::Ethnicity.choices().len(), 58);
        for kind in [
            ListKind::Ethnicity,
            ListKind::PoliticalStatus,
            ListKind::Education,
            ListKind::EmploymentForm,
            ListKind::Needs,
        ] {
            let choices = kind.choices();
            assert!(!choices.is_empty());
            let mut keys: Vec<_> = choices.iter().filter_map(|c| c.key).collect();
            let n = keys.len();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), n, "{kind:?} has a repeated key");
            for c in choices {
                assert!(!c.zh.is_empty() && !c.en.is_empty());
            }
        }
    }

    #[test]
    fn the_new_forms_of_employment_are_the_six_of_the_list() {
        let zh: Vec<&str> = NEW_EMPLOYMENT_FORMS
            .iter()
            .map(|c| {
                ListKind::EmploymentForm
                    .by_code(c)
                    .expect("in the list")
                    .zh
                    .as_str()
            })
            .collect();
        assert_eq!(
            zh,
            [
                "快递员",
                "外卖配送员",
                "网约车司机",
                "货车司机",
                "网约家政",
                "网络主播"
            ]
        );
        assert!(!is_new_employment_form("labor_contract"));
        assert!(!is_new_employment_form("other"));
    }

    #[test]
    fn finding_what_spreadsheets_write() {
        assert_eq!(ListKind::Ethnicity.find("汉").unwrap().code, "01");
        assert_eq!(ListKind::Ethnicity.find("汉族").unwrap().code, "01");
        assert_eq!(ListKind::Ethnicity.find("1").unwrap().code, "01");
        assert_eq!(ListKind::Ethnicity.find("uyghur").unwrap().code, "05");
        assert_eq!(
            ListKind::EmploymentForm.find("外卖配送员").unwrap().code,
            "food_delivery"
        );
        assert_eq!(
            ListKind::EmploymentForm.find("courier").unwrap().code,
            "courier"
        );
        assert_eq!(ListKind::Needs.find("法律援助").unwrap().code, "legal_aid");
        assert!(ListKind::Education.find("幼儿园").is_none());
    }
}
