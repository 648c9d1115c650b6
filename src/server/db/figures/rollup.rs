//! A node's figures beside its children's (SPEC §11): one query groups the aggregate tables
//! by "which child of the node is this device under" (or the node itself, for the node's own
//! laptops), so a district's dashboard reads its streets in one pass, not one per street.
//!
//! Meetings sum `meeting_share` (every row of one laptop lies under one child, so each
//! meeting is counted once), members sum the per-device counts (a person is stored once),
//! enterprises are counted distinct per child, and the conversion rate is computed from the
//! sums by whoever shows it, never summed.

use std::collections::HashMap;

use serde::Serialize;

use super::FigureFilter;
use super::query::where_clause;
use crate::server::db::conn::Value;
use crate::server::db::unions::own_devices;
use crate::server::db::{Db, DbError};
use crate::server::unions::UnionNode;

/// The figures of one part of the tree (a child, or the node's own laptops).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeFigures {
    pub meetings: u64,
    pub consultations: u64,
    pub registered: u64,
    pub members: u64,
    pub enterprises: u64,
}

impl NodeFigures {
    /// Sign-ups ÷ (sign-ups + consultations), `None` before anything happened.
    pub fn conversion(&self) -> Option<f64> {
        let all = self.registered + self.consultations;
        (all > 0).then(|| self.registered as f64 / all as f64)
    }
}

/// A child of the node with its figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChildFigures {
    pub code: String,
    pub name: String,
    pub short: String,
    #[serde(flatten)]
    pub figures: NodeFigures,
    /// Computed from this child's sums (`null` before any sign-up or consultation).
    pub conversion: Option<f64>,
}

/// The query: for node `$k`, its devices keyed by the child they are under (the node's own
/// code for its own laptops), then the sums per key; the filter's dates apply.
fn rollup_query(f: &FigureFilter, node: &str) -> (String, Vec<Value>) {
    let dates = FigureFilter {
        from: f.from,
        to: f.to,
        ..Default::default()
    };
    let (cond, mut params) = where_clause(&dates);
    params.push(node.to_string());
    let k = params.len();
    // only the aggregate tables have `event_date`: the dates need no alias
    let dates = cond.replace(" WHERE ", " AND ");
    let kids = format!(
        "(SELECT c.ancestor AS child, d.name AS device FROM unions u
            JOIN union_closure c ON c.ancestor = u.code
            JOIN devices d ON d.union_code = c.descendant WHERE u.parent = ${k}
          UNION ALL SELECT d.union_code, d.name FROM devices d WHERE d.union_code = ${k})"
    );
    let sum = |e: &str| format!("CAST(coalesce(sum({e}), 0) AS BIGINT)");
    let enterprises = if dates.is_empty() {
        // the children's from the employers kept by node (db::unions), the node's own
        // laptops' counted
        format!(
            "SELECT 'e', ue.code, count(*), 0, 0 FROM union_enterprises ue
                JOIN unions u ON u.code = ue.code WHERE u.parent = ${k} GROUP BY ue.code
             UNION ALL SELECT 'e', ${k}::text, count(*), 0, 0 FROM
                (SELECT DISTINCT e.enterprise FROM enterprise_days e
                 JOIN devices d ON d.name = e.device WHERE d.union_code = ${k}) t"
        )
    } else {
        format!(
            "SELECT 'e', t.child, count(*), 0, 0 FROM
                (SELECT k.child, e.enterprise FROM enterprise_days e
                 JOIN {kids} k ON k.device = e.device WHERE 1 = 1{dates} GROUP BY k.child, e.enterprise) t
                GROUP BY t.child"
        )
    };
    let sql = format!(
        "SELECT 'b', k.child, {}, {}, {} FROM booth_days b JOIN {kids} k ON k.device = b.device
            WHERE 1 = 1{} GROUP BY k.child
         UNION ALL SELECT 'm', k.child, {}, 0, 0 FROM member_days m
            JOIN {kids} k ON k.device = m.device WHERE 1 = 1{} GROUP BY k.child
         UNION ALL SELECT 'v', k.child, count(*), 0, 0 FROM office_voids v
            JOIN {kids} k ON k.device = v.device WHERE 1 = 1{} GROUP BY k.child
         UNION ALL {enterprises}",
        sum("b.consultations"),
        sum("b.registrations"),
        sum("b.meeting_share"),
        dates,
        sum("m.n"),
        dates,
        dates,
    );
    (sql, params.into_iter().map(Value::Text).collect())
}

impl Db {
    /// The figures of each child of `node` (in the children's order) and of the node's own
    /// laptops, over the filter's dates.
    pub async fn child_figures(
        &self,
        node: &UnionNode,
        children: &[UnionNode],
        filter: &FigureFilter,
    ) -> Result<(Vec<ChildFigures>, NodeFigures), DbError> {
        let (sql, params) = rollup_query(filter, &node.code);
        let rows = self
            .query(sql, params, |r| {
                Ok((
                    r.text(0)?,
                    r.text(1)?,
                    [r.count(2)?, r.count(3)?, r.count(4)?],
                ))
            })
            .await?;
        let mut by_key: HashMap<String, NodeFigures> = HashMap::new();
        let mut voided = Vec::new();
        for (tag, key, n) in rows {
            let f = by_key.entry(key.clone()).or_default();
            match tag.as_str() {
                "b" => {
                    f.consultations += n[0];
                    f.registered += n[1];
                    f.meetings += n[2];
                }
                "m" => f.members += n[0],
                // the office's voids of booth sign-ups: taken off once every sum is in
                "v" => voided.push((key, n[0])),
                _ => f.enterprises += n[0],
            }
        }
        for (key, n) in voided {
            let f = by_key.entry(key).or_default();
            f.registered = f.registered.saturating_sub(n);
        }
        let own = by_key.remove(&node.code).unwrap_or_default();
        let children = children
            .iter()
            .map(|c| {
                let figures = by_key.remove(&c.code).unwrap_or_default();
                ChildFigures {
                    code: c.code.clone(),
                    name: c.name.clone(),
                    short: c.short.clone(),
                    conversion: figures.conversion(),
                    figures,
                }
            })
            .collect();
        Ok((children, own))
    }

    /// How many laptops (revoked ones included: their history counts) belong to the node
    /// itself, not to a node below it: whether a table of its children needs a row for them.
    pub async fn own_device_count(&self, code: String) -> Result<u64, DbError> {
        self.with(move |c| Box::pin(async move { own_devices(c, &code).await }))
            .await
    }
}
