//! `/`: the campaign's figures (db::figures, maintained at ingest) with charts per day,
//! place, needs and employment form, filtered by date range, union, place and device.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::filters::{date, some};
use super::rollup::{self, Crumb, Head, Keep, NodeQuery, Row, Sort};
use super::{Chrome, Viewer, svg};
use crate::member::options::ListKind;
use crate::server::db::{Breakdown, FigureFilter};
use crate::server::refusal::Refusal;
use crate::server::state::ServerState;
use crate::server::unions::Scope;

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
            scope: Scope::All,
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
    /// 转化率: sign-ups ÷ (sign-ups + consultations).
    pub conversion: String,
    /// Laptops that have never uploaded.
    pub silent: Vec<String>,
    /// The node viewed (the user's own unless `?node=` goes below it): its code, and the
    /// user's own node's code.
    pub node: String,
    pub user_node: String,
    /// From the user's node down to the viewed one (empty when there is nothing to show:
    /// the user's own node without children).
    pub crumbs: Vec<Crumb>,
    /// The children's table: headers and rows (no table for a node without children).
    pub heads: Vec<Head>,
    pub rows: Vec<Row>,
    /// The table's name (caption): "下级组织 — 某某总工会".
    pub table_caption: String,
    /// The reset link: the viewed node without filters.
    pub reset: String,
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
    Query(nq): Query<NodeQuery>,
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
    // the node viewed: the user's own, or one below it (anything else does not exist here)
    let user_node = v.scope.code().to_string();
    let wanted = match nq.node.trim() {
        "" => user_node.clone(),
        n => n.to_string(),
    };
    let node = state
        .db
        .union_in_scope(&v.scope, wanted)
        .await?
        .ok_or(Refusal::NotFound)?;
    let scope = Scope::of_code(&node.code);
    let filter = FigureFilter {
        scope: scope.clone(),
        ..filter
    };
    let (figs, dims, devices, children, path, own_devices) = tokio::join!(
        state.db.figures(&filter, Breakdown::Dashboard),
        state.db.figure_dimensions(&scope),
        state.db.device_list(&scope),
        state.db.union_children(node.code.clone()),
        state.db.union_path(node.code.clone()),
        state.db.own_device_count(node.code.clone()),
    );
    let (figs, dims, children, path) = (figs?, dims?, children?, path?);
    let sort = Sort::parse(&nq.sort, &nq.dir);
    let keep = Keep {
        from: q.from.clone(),
        to: q.to.clone(),
        sort,
    };
    let (heads, rows) = if children.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let (kids, own) = state.db.child_figures(&node, &children, &filter).await?;
        let own = (own_devices? > 0).then_some((&node, &own));
        (
            rollup::heads(&tr, &keep, &node.code, &user_node, &sort),
            rollup::rows(
                kids,
                own,
                tr.t("console.tree.own"),
                &keep,
                &user_node,
                &sort,
                v.lang,
            ),
        )
    };
    let crumbs = if node.code != user_node || !children.is_empty() {
        rollup::crumbs(&path, &user_node, &keep, v.lang)
    } else {
        Vec::new()
    };
    let node_label = crate::server::db::node_name(&node, v.lang);
    let table_caption = format!("{} — {node_label}", tr.t("console.tree.children"));
    let reset = Keep::default().href(&node.code, &user_node, &Sort::default());
    // laptops in service the office has never heard from, of the node viewed and below
    let silent: Vec<String> = devices?
        .into_iter()
        .filter(|d| d.revoked_at.is_none() && d.last_upload.is_none())
        .map(|d| d.name)
        .collect();
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
    let conversion = conversion_text(figs.registered, figs.consultations);
    let days = every_day(&figs.by_day, filter.from, filter.to);
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
        chart_days: svg::bars(tr.t("console.chart.by_day"), &days, MAX_DAYS),
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
        conversion,
        silent,
        node: if node.code == user_node {
            String::new()
        } else {
            node.code
        },
        user_node,
        crumbs,
        heads,
        rows,
        table_caption,
        reset,
    }
    .into_response())
}

/// At most this many days are charted (the latest ones).
const MAX_DAYS: usize = 92;

/// Booth sign-ups (现场入会) per day, every day from the first to the last (or the filter's
/// dates) with the empty ones as zero, latest [`MAX_DAYS`]; each labelled `MM-DD`.
fn every_day(
    by_day: &[(chrono::NaiveDate, crate::server::db::figures::Counts)],
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
) -> Vec<(String, u64)> {
    let (Some(first), Some(last)) = (
        from.or(by_day.first().map(|d| d.0)),
        to.or(by_day.last().map(|d| d.0)),
    ) else {
        return Vec::new();
    };
    let first = first.max(last - chrono::Days::new(MAX_DAYS as u64 - 1));
    let mut out = Vec::new();
    let mut day = first;
    while day <= last {
        let n = by_day
            .iter()
            .find(|(d, _)| *d == day)
            .map_or(0, |(_, c)| c.registered);
        out.push((day.format("%m-%d").to_string(), n));
        day = day + chrono::Days::new(1);
    }
    out
}

/// Sign-ups ÷ (sign-ups + consultations), as a percentage with one decimal; "–" for none.
fn conversion_text(registered: u64, consultations: u64) -> String {
    let all = registered + consultations;
    if all == 0 {
        return "–".into();
    }
    format!("{:.1}%", registered as f64 * 100.0 / all as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::db::figures::Counts;

    #[test]
    fn every_day_is_charted_the_empty_ones_as_zero() {
        let d = |day| chrono::NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        let counts = |registered| Counts {
            registered,
            ..Default::default()
        };
        let by_day = [(d(2), counts(5)), (d(5), counts(1))];
        let days = every_day(&by_day, None, None);
        let labels: Vec<&str> = days.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(labels, ["11-02", "11-03", "11-04", "11-05"]);
        assert_eq!(days.iter().map(|x| x.1).collect::<Vec<_>>(), [5, 0, 0, 1]);
        // the filter's dates bound the axis
        assert_eq!(every_day(&by_day, Some(d(1)), Some(d(7))).len(), 7);
        assert!(every_day(&[], None, None).is_empty());
    }

    #[test]
    fn conversion_is_sign_ups_over_sign_ups_and_consultations() {
        assert_eq!(conversion_text(1, 3), "25.0%");
        assert_eq!(conversion_text(0, 0), "–");
    }
}
