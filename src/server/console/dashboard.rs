//! `/`: the campaign's figures (db::figures, maintained at ingest) with charts per day,
//! place, needs and employment form, filtered by date range, union, place and device.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::filters::{date, some};
use super::{Chrome, Viewer, svg};
use crate::member::options::ListKind;
use crate::server::db::{Breakdown, FigureFilter};
use crate::server::refusal::Refusal;
use crate::server::state::ServerState;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct FilterQuery {
    pub from: String,
    pub to: String,
    pub union: String,
    pub place: String,
    pub device: String,
}

impl FilterQuery {
    /// The filter, or the refusal of a date that is not one.
    pub fn filter(&self) -> Result<FigureFilter, Refusal> {
        Ok(FigureFilter {
            from: date(&self.from, Refusal::BadFrom)?,
            to: date(&self.to, Refusal::BadTo)?,
            union: some(&self.union),
            place: some(&self.place),
            device: some(&self.device),
        })
    }
}

pub struct Figure {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub c: Chrome,
    pub q: FilterQuery,
    pub error: Option<&'static str>,
    pub figures: Vec<Figure>,
    pub unions: Vec<String>,
    pub places: Vec<String>,
    pub devices: Vec<String>,
    pub chart_days: String,
    pub chart_places: String,
    pub chart_needs: String,
    pub chart_forms: String,
}

/// A campaign may hold thousands of places: the place field is typed, and the browser
/// suggests from the list only while it is short enough to send with every page.
const PLACE_SUGGESTIONS: usize = 500;

fn suggestions(places: Vec<String>) -> Vec<String> {
    if places.len() > PLACE_SUGGESTIONS {
        Vec::new()
    } else {
        places
    }
}

pub async fn page(
    State(state): State<Arc<ServerState>>,
    v: Viewer,
    RawQuery(raw): RawQuery,
    Query(q): Query<FilterQuery>,
) -> Result<Response, Refusal> {
    let here = match &raw {
        Some(r) => format!("/?{r}"),
        None => "/".into(),
    };
    let c = Chrome::new(&v, "dashboard", &here);
    let tr = c.tr;
    let (filter, error) = match q.filter() {
        Ok(f) => (f, None),
        Err(bad) => (FigureFilter::default(), Some(bad.key())),
    };
    let (figs, dims) = tokio::join!(
        state.db.figures(&filter, Breakdown::Dashboard),
        state.db.figure_dimensions()
    );
    let (figs, dims) = (figs?, dims?);
    let figures = [
        ("meetings", "console.fig.meetings", figs.meetings),
        (
            "consultations",
            "console.fig.consultations",
            figs.consultations,
        ),
        ("registered", "console.fig.registered", figs.registered),
        ("members", "console.fig.members", figs.members),
        ("enterprises", "console.fig.enterprises", figs.enterprises),
    ]
    .into_iter()
    .map(|(key, label, n)| Figure {
        key,
        label: tr.t(label),
        value: super::thousands(n),
    })
    .collect();
    // member records rather than booth sign-ups: imports and laptops without day summaries
    // count too
    let days: Vec<(String, u64)> = figs
        .by_day
        .iter()
        .map(|(d, c)| (d.to_string(), c.members))
        .collect();
    let places: Vec<(String, u64)> = figs
        .by_place
        .iter()
        .map(|(p, c)| (p.clone(), c.members))
        .collect();
    let label = |kind: ListKind, rows: &[(String, u64)]| -> Vec<(String, u64)> {
        rows.iter()
            .map(|(code, n)| (kind.label(code, v.lang), *n))
            .collect()
    };
    Ok(DashboardPage {
        chart_days: svg::columns(tr.t("console.chart.by_day"), &days),
        chart_places: svg::bars(tr.t("console.chart.by_place"), &places, 12),
        chart_needs: svg::bars(
            tr.t("console.chart.needs"),
            &label(ListKind::Needs, &figs.needs),
            12,
        ),
        chart_forms: svg::bars(
            tr.t("console.chart.forms"),
            &label(ListKind::EmploymentForm, &figs.employment_forms),
            12,
        ),
        c,
        q,
        error,
        figures,
        unions: dims.0,
        places: suggestions(dims.1),
        devices: dims.2,
    }
    .into_response())
}
