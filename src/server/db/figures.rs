//! TEMPORARY STUB of the figures API (docs: /work/briefs/console-interface.md), owned by the
//! `events` branch: the console codes against this signature; the real module replaces this
//! file when `events` lands on main.

use super::{Db, DbError};

/// Which part of the campaign a figure covers; `None` = everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FigureFilter {
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    pub union: Option<String>,
    pub place: Option<String>,
    pub device: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub meetings: u64,
    pub consultations: u64,
    pub registered: u64,
    pub members: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Figures {
    pub meetings: u64,
    pub consultations: u64,
    pub registered: u64,
    pub members: u64,
    pub enterprises: u64,
    pub by_day: Vec<(chrono::NaiveDate, Counts)>,
    pub by_place: Vec<(String, Counts)>,
    pub by_union: Vec<(String, Counts)>,
    pub by_device: Vec<(String, Counts)>,
    pub needs: Vec<(String, u64)>,
    pub employment_forms: Vec<(String, u64)>,
}

impl Db {
    pub async fn figures(&self, _filter: &FigureFilter) -> Result<Figures, DbError> {
        Ok(Figures::default())
    }

    /// Distinct values for the dashboard's filter pick lists.
    pub async fn figure_dimensions(
        &self,
    ) -> Result<(Vec<String>, Vec<String>, Vec<String>), DbError> {
        Ok((Vec::new(), Vec::new(), Vec::new()))
    }
}
