//! The dashboard's part of the union tree (SPEC §11): which node is viewed (`?node=`, inside
//! the user's scope or a 404), the breadcrumbs from the user's own node down to it, and the
//! table of its children (plus its own laptops) with drill-down links, sorted on the server
//! (`?sort=` and `?dir=` on the column headers: no script needed).

use std::cmp::Ordering;

use serde::Deserialize;

use super::filters::url_pairs;
use crate::i18n::Lang;
use crate::server::db::figures::{ChildFigures, NodeFigures};
use crate::server::db::node_name;
use crate::server::unions::UnionNode;

/// The tree part of the dashboard's address.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct NodeQuery {
    /// The node viewed (empty: the user's own).
    pub node: String,
    /// The column the children are sorted by (empty: the tree's order, by code).
    pub sort: String,
    /// `asc` or `desc`.
    pub dir: String,
}

/// The columns of the children's table, in order: key and label.
pub const COLUMNS: [(&str, &str); 7] = [
    ("name", "console.tree.col.name"),
    ("meetings", "console.fig.meetings"),
    ("consultations", "console.fig.consultations"),
    ("registered", "console.fig.registered"),
    ("members", "console.tree.col.members"),
    ("enterprises", "console.fig.enterprises"),
    ("conversion", "console.fig.conversion"),
];

/// What a link of the dashboard keeps: the dates (and the sort, for the children's table).
#[derive(Clone, Default)]
pub struct Keep {
    pub from: String,
    pub to: String,
    pub sort: Sort,
}

impl Keep {
    /// `/?node=…` with the dates and the sort kept; the user's own node needs no `node`.
    pub fn href(&self, node: &str, own: &str, sort: &Sort) -> String {
        let node = if node == own { "" } else { node };
        let (key, dir) = match sort.key {
            Some(k) => (k, sort.dir()),
            None => ("", ""),
        };
        let q = url_pairs(&[
            ("node", node),
            ("from", &self.from),
            ("to", &self.to),
            ("sort", key),
            ("dir", dir),
        ]);
        if q.is_empty() {
            "/".into()
        } else {
            format!("/?{q}")
        }
    }
}

/// The children's order: a column and its direction, or the tree's order.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Sort {
    pub key: Option<&'static str>,
    pub desc: bool,
}

impl Sort {
    /// From the address: an unknown column is the tree's order; numbers sort largest first
    /// unless told otherwise, names A→Z.
    pub fn parse(key: &str, dir: &str) -> Sort {
        let Some(&(key, _)) = COLUMNS.iter().find(|(k, _)| *k == key) else {
            return Sort::default();
        };
        let desc = match dir {
            "asc" => false,
            "desc" => true,
            _ => key != "name",
        };
        Sort {
            key: Some(key),
            desc,
        }
    }

    fn dir(&self) -> &'static str {
        if self.desc { "desc" } else { "asc" }
    }

    /// The header link's order: the other direction on the sorted column, else the column's
    /// first direction.
    fn next(&self, key: &'static str) -> Sort {
        if self.key == Some(key) {
            Sort {
                key: Some(key),
                desc: !self.desc,
            }
        } else {
            Sort::parse(key, "")
        }
    }
}

/// A column header: its label, the link that sorts by it, and its state for assistive
/// technology (`aria-sort`, only on the sorted column).
pub struct Head {
    pub key: &'static str,
    pub label: &'static str,
    pub href: String,
    pub aria_sort: Option<&'static str>,
    /// ▲ or ▼ on the sorted column (hidden from screen readers: `aria-sort` says it).
    pub arrow: &'static str,
    pub numeric: bool,
}

/// One row of the table.
pub struct Row {
    pub code: String,
    pub name: String,
    /// The drill-down link (none for the node's own laptops).
    pub href: Option<String>,
    /// The five figures, with thousands separators, in the columns' order.
    pub cells: [String; 5],
    /// Sign-ups ÷ (sign-ups + consultations) as a percentage, "—" before any.
    pub conversion: String,
}

pub fn heads(tr: &super::frame::Tr, keep: &Keep, node: &str, own: &str, sort: &Sort) -> Vec<Head> {
    COLUMNS
        .iter()
        .map(|&(key, label)| {
            let sorted = sort.key == Some(key);
            Head {
                key,
                label: tr.t(label),
                href: keep.href(node, own, &sort.next(key)),
                aria_sort: sorted.then_some(if sort.desc { "descending" } else { "ascending" }),
                arrow: match (sorted, sort.desc) {
                    (false, _) => "",
                    (true, true) => "▼",
                    (true, false) => "▲",
                },
                numeric: key != "name",
            }
        })
        .collect()
}

/// A rate as the table shows it.
pub fn rate_text(rate: Option<f64>) -> String {
    match rate {
        Some(r) => format!("{:.1}%", r * 100.0),
        None => "—".into(),
    }
}

fn cells(f: &NodeFigures) -> [String; 5] {
    [
        f.meetings,
        f.consultations,
        f.registered,
        f.members,
        f.enterprises,
    ]
    .map(super::thousands)
}

fn value(c: &ChildFigures, key: &str) -> u64 {
    let f = &c.figures;
    match key {
        "meetings" => f.meetings,
        "consultations" => f.consultations,
        "registered" => f.registered,
        "members" => f.members,
        _ => f.enterprises,
    }
}

/// Orders the children by `sort` (ties, and the tree's order, by code). Rates compare as
/// rates; a child without any (nothing happened yet) comes after every rate either way.
pub fn sort_children(children: &mut [ChildFigures], sort: &Sort) {
    let Some(key) = sort.key else {
        children.sort_by(|a, b| a.code.cmp(&b.code));
        return;
    };
    children.sort_by(|a, b| {
        let by = match key {
            "name" => a.name.cmp(&b.name),
            "conversion" => match (a.conversion, b.conversion) {
                (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
                // the missing ones last, in both directions
                (Some(_), None) => return Ordering::Less,
                (None, Some(_)) => return Ordering::Greater,
                (None, None) => Ordering::Equal,
            },
            k => value(a, k).cmp(&value(b, k)),
        };
        let by = if sort.desc { by.reverse() } else { by };
        by.then_with(|| a.code.cmp(&b.code))
    });
}

/// The rows: the node's own laptops first (when it has any), then the children, sorted.
#[allow(clippy::too_many_arguments)]
pub fn rows(
    mut children: Vec<ChildFigures>,
    own: Option<(&UnionNode, &NodeFigures)>,
    own_label: &str,
    keep: &Keep,
    user_node: &str,
    sort: &Sort,
    lang: Lang,
) -> Vec<Row> {
    sort_children(&mut children, sort);
    let mut out = Vec::new();
    if let Some((node, f)) = own {
        out.push(Row {
            code: node.code.clone(),
            name: own_label.to_string(),
            href: None,
            cells: cells(f),
            conversion: rate_text(f.conversion()),
        });
    }
    for c in children {
        let shown = UnionNode {
            code: c.code.clone(),
            name: c.name.clone(),
            short: c.short.clone(),
            parent: None,
        };
        let name = match node_name(&shown, lang) {
            n if n.trim().is_empty() => c.code.clone(),
            n => n,
        };
        out.push(Row {
            href: Some(keep.href(&c.code, user_node, sort)),
            cells: cells(&c.figures),
            conversion: rate_text(c.conversion),
            code: c.code,
            name,
        });
    }
    out
}

/// A breadcrumb: a node above the viewed one (a link) or the viewed one itself.
pub struct Crumb {
    pub name: String,
    pub href: String,
    pub current: bool,
}

/// The path from the user's own node down to the viewed one, never above the user's node
/// (`path` is the root→node path of the viewed node).
pub fn crumbs(path: &[UnionNode], user_node: &str, keep: &Keep, lang: Lang) -> Vec<Crumb> {
    let start = path
        .iter()
        .position(|n| n.code == user_node)
        .unwrap_or(path.len().saturating_sub(1));
    let last = path.len().saturating_sub(1);
    path.iter()
        .enumerate()
        .skip(start)
        .map(|(i, n)| Crumb {
            name: match node_name(n, lang) {
                s if s.trim().is_empty() => n.code.clone(),
                s => s,
            },
            href: keep.href(&n.code, user_node, &keep.sort),
            current: i == last,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(code: &str, registered: u64, consultations: u64) -> ChildFigures {
        let figures = NodeFigures {
            registered,
            consultations,
            ..Default::default()
        };
        ChildFigures {
            code: code.into(),
            name: format!("{code}总工会"),
            short: code.into(),
            conversion: figures.conversion(),
            figures,
        }
    }

    fn codes(c: &[ChildFigures]) -> Vec<&str> {
        c.iter().map(|c| c.code.as_str()).collect()
    }

    #[test]
    fn children_sort_by_a_column_either_way_the_rateless_last() {
        let mut c = vec![child("B", 1, 1), child("A", 3, 1), child("C", 0, 0)];
        sort_children(&mut c, &Sort::parse("registered", ""));
        assert_eq!(codes(&c), ["A", "B", "C"]);
        sort_children(&mut c, &Sort::parse("registered", "asc"));
        assert_eq!(codes(&c), ["C", "B", "A"]);
        sort_children(&mut c, &Sort::parse("conversion", "asc"));
        assert_eq!(codes(&c), ["B", "A", "C"]);
        sort_children(&mut c, &Sort::parse("conversion", "desc"));
        assert_eq!(codes(&c), ["A", "B", "C"]);
        sort_children(&mut c, &Sort::parse("nonsense", "desc"));
        assert_eq!(codes(&c), ["A", "B", "C"]);
        sort_children(&mut c, &Sort::parse("name", "desc"));
        assert_eq!(codes(&c), ["C", "B", "A"]);
    }

    #[test]
    fn links_keep_the_dates_and_leave_out_the_users_own_node() {
        let keep = Keep {
            from: "2026-11-01".into(),
            to: String::new(),
            sort: Sort::default(),
        };
        assert_eq!(
            keep.href("D1", "root", &Sort::default()),
            "/?node=D1&from=2026%2D11%2D01"
        );
        assert_eq!(
            Keep::default().href("D1", "D1", &Sort::parse("members", "")),
            "/?sort=members&dir=desc"
        );
        assert_eq!(Keep::default().href("root", "root", &Sort::default()), "/");
        // the sorted column's link turns it round
        assert_eq!(
            Sort::parse("members", "").next("members"),
            Sort::parse("members", "asc")
        );
    }

    #[test]
    fn crumbs_never_go_above_the_users_node() {
        let n = |code: &str| UnionNode {
            code: code.into(),
            name: format!("{code}总工会"),
            short: code.into(),
            parent: None,
        };
        let path = [n("root"), n("C0"), n("D1"), n("S11")];
        let c = crumbs(&path, "D1", &Keep::default(), Lang::Zh);
        let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["D1总工会", "S11总工会"]);
        assert_eq!(c[0].href, "/");
        assert!(c[1].current && !c[0].current);
        assert_eq!(c[1].href, "/?node=S11");
        assert_eq!(rate_text(None), "—");
        assert_eq!(rate_text(Some(0.25)), "25.0%");
    }
}
