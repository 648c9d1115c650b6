//! `/`: the campaign's figures (db::figures, maintained at ingest) with charts per day,
//! place, needs and employment form, filtered by date range, union, place and device.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Chrome, Viewer, db_failed, svg};
use crate::member::options::ListKind;
use crate::server::db::{Breakdown, FigureFilter};
use crate::server::routes::App;

#[derive(Deserialize, Default, Clone)]
pub struct FilterQuery {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub union: String,
    #[serde(default)]
    pub place: String,
    #[serde(default)]
    pub device: String,
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.chars().take(200).collect())
}

/// A date field: empty is "no bound"; anything else must be `YYYY-MM-DD` (else the message
/// key `bad`).
pub fn date(s: &str, bad: &'static str) -> Result<Option<chrono::NaiveDate>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| bad)
}

impl FilterQuery {
    /// The filter, or the message key for a date that is not one.
    pub fn filter(&self) -> Result<FigureFilter, &'static str> {
        Ok(FigureFilter {
            from: date(&self.from, "console.bad_from")?,
            to: date(&self.to, "console.bad_to")?,
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
    State(app): State<Arc<App>>,
    v: Viewer,
    RawQuery(raw): RawQuery,
    Query(q): Query<FilterQuery>,
) -> Response {
    let here = match &raw {
        Some(r) => format!("/?{r}"),
        None => "/".into(),
    };
    let c = Chrome::new(&v, "dashboard", &here);
    let tr = c.tr;
    let (filter, error) = match q.filter() {
        Ok(f) => (f, None),
        Err(key) => (FigureFilter::default(), Some(key)),
    };
    let (figs, dims) = match tokio::join!(
        app.db.figures(&filter, Breakdown::Dashboard),
        app.db.figure_dimensions()
    ) {
        (Ok(f), Ok(d)) => (f, d),
        (Err(e), _) | (_, Err(e)) => return db_failed(v.lang, &e),
    };
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
    DashboardPage {
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
    .into_response()
}
