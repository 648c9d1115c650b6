//! The campaign's figures at the office (SPEC §8), served from tables kept up to date at
//! ingest rather than counted over the members table per request:
//!
//! - `booth_days`: each laptop's latest summary per booth day, union and place (replaced by
//!   every upload): consultations with their needs, booth sign-ups, voids;
//! - `member_days`, `member_forms`, `member_needs`: the members the office holds, counted
//!   per day, union, place and device (and employment form, need) when they are inserted;
//! - `enterprise_days`, `enterprises`: the distinct employers, per day, union, place and
//!   device, and overall.
//!
//! - `figure_days`: per day, the totals of all of these (migration 5), for requests that
//!   filter by dates only.
//!
//! A figures request reads a few thousand aggregate rows, whatever the number of members
//! (`query`); ingest keeps the tables (`ingest`); `schema` makes them.

mod ingest;
mod query;
mod rollup;
mod schema;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::sql::sql;
use super::{Db, DbError};
use crate::server::unions::Scope;
pub(crate) use ingest::{
    Increments, STORED_RECORDS, increments_of_stored, names_of_days, needs_json,
};
pub(crate) use query::{FigureRow, dimensions, figure_query};
pub use rollup::{ChildFigures, NodeFigures};
pub(crate) use schema::{
    MEETING_SHARE_UPDATE, PG_MIGRATION, PG_MIGRATION_5, PG_OFFICE_VOIDS, SQLITE_MIGRATION,
    SQLITE_MIGRATION_5, SQLITE_OFFICE_VOIDS, booth_day_totals,
};

/// Which part of the campaign a figure covers; `None` = everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FigureFilter {
    /// Inclusive.
    pub from: Option<NaiveDate>,
    /// Inclusive.
    pub to: Option<NaiveDate>,
    pub union: Option<String>,
    pub place: Option<String>,
    pub device: Option<String>,
    /// The part of the union tree counted (a user's scope, or `stats --union`): the devices
    /// of that node and below (SPEC §11).
    #[serde(skip)]
    pub scope: Scope,
}

impl FigureFilter {
    pub(crate) fn is_everything(&self) -> bool {
        *self == FigureFilter::default()
    }
}

/// Which breakdowns a reader wants: the dashboard shows days and places; `server stats`
/// every one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breakdown {
    /// Totals, days and places (`by_union` and `by_device` left empty).
    Dashboard,
    All,
}

/// The dashboard's pick lists: (unions, places, devices), each sorted.
pub type Dimensions = (Vec<String>, Vec<String>, Vec<String>);

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub meetings: u64,
    pub consultations: u64,
    pub registered: u64,
    pub members: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub meetings: u64,
    pub consultations: u64,
    pub registered: u64,
    pub members: u64,
    pub enterprises: u64,
    /// Ascending.
    pub by_day: Vec<(NaiveDate, Counts)>,
    /// Most registered first.
    pub by_place: Vec<(String, Counts)>,
    pub by_union: Vec<(String, Counts)>,
    pub by_device: Vec<(String, Counts)>,
    /// Need code → count (consultations' and members'), most first.
    pub needs: Vec<(String, u64)>,
    /// Employment-form code → members, most first.
    pub employment_forms: Vec<(String, u64)>,
}

impl Db {
    /// The figures for the part of the campaign `filter` names.
    pub async fn figures(
        &self,
        filter: &FigureFilter,
        breakdown: Breakdown,
    ) -> Result<Figures, DbError> {
        let (sql, params) = figure_query(filter, breakdown);
        let rows = self.query(sql, params, FigureRow::of).await?;
        let mut assembly = query::Assembly::default();
        for row in rows {
            assembly.add(row);
        }
        Ok(assembly.into_figures(filter.union.is_some()))
    }

    /// Distinct values for the dashboard's filter pick lists, within `scope` (a scoped user's
    /// lists name only what their part of the tree holds).
    pub async fn figure_dimensions(&self, scope: &Scope) -> Result<Dimensions, DbError> {
        let map = |r: &dyn super::conn::Row| Ok((r.text(0)?, r.text(1)?));
        let rows = match scope {
            Scope::All => {
                self.query(sql!("SELECT kind, name FROM figure_names"), vec![], map)
                    .await?
            }
            Scope::Under(code) => {
                let under = super::unions::devices_under("device", 1);
                let sql = ["booth_days", "member_days"]
                    .iter()
                    .flat_map(|table| {
                        [
                            ("union", "union_name"),
                            ("place", "place"),
                            ("device", "device"),
                        ]
                        .map(|(kind, column)| {
                            format!("SELECT '{kind}', {column} FROM {table} WHERE {under}")
                        })
                    })
                    .collect::<Vec<_>>()
                    .join(" UNION ");
                self.query(sql, super::conn::args![code.as_str()], map)
                    .await?
            }
        };
        Ok(dimensions(rows))
    }
}
