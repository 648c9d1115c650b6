//! Checking a federation's list against the tree the office holds, before anything is
//! written: an import is all or nothing (SPEC §11). A duplicate code, a missing parent or a
//! cycle refuses the whole file, with every problem found named by its row.
//!
//! A re-import updates names and moves nodes; it never deletes one (a node the list no
//! longer has stays, with whatever counts under it: `unions remove` takes it away).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::{MAX_CODE_CHARS, MAX_NAME_CHARS, ROOT, UnionNode};
use crate::i18n::Lang;
use crate::t;

/// One data row of the file, as read (`parent` empty: under the root).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRow {
    /// The row number as a spreadsheet shows it (the header is row 1).
    pub line: usize,
    pub code: String,
    pub name: String,
    pub short: String,
    pub parent: String,
}

/// Why a row (or a set of rows) cannot be taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    EmptyCode {
        line: usize,
    },
    EmptyName {
        line: usize,
        code: String,
    },
    TooLong {
        line: usize,
        code: String,
    },
    /// `root` is the office's own node: the file cannot name it as a node.
    ReservedCode {
        line: usize,
    },
    Duplicate {
        line: usize,
        code: String,
        first_line: usize,
    },
    MissingParent {
        line: usize,
        code: String,
        parent: String,
    },
    /// The nodes of one cycle, as the parents lead from the first.
    Cycle {
        codes: Vec<String>,
    },
}

impl Problem {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            Problem::EmptyCode { line } => t!(lang, "unions.empty_code", line = line),
            Problem::EmptyName { line, code } => {
                t!(lang, "unions.empty_name", line = line, code = code)
            }
            Problem::TooLong { line, code } => t!(
                lang,
                "unions.too_long",
                line = line,
                code = code,
                code_max = MAX_CODE_CHARS,
                name_max = MAX_NAME_CHARS
            ),
            Problem::ReservedCode { line } => t!(lang, "unions.reserved_code", line = line),
            Problem::Duplicate {
                line,
                code,
                first_line,
            } => t!(
                lang,
                "unions.duplicate",
                line = line,
                code = code,
                first_line = first_line
            ),
            Problem::MissingParent { line, code, parent } => t!(
                lang,
                "unions.missing_parent",
                line = line,
                code = code,
                parent = parent
            ),
            Problem::Cycle { codes } => {
                t!(lang, "unions.cycle", codes = codes.join(" → "))
            }
        }
    }
}

/// What an import will do: the nodes to write (new or changed), and the counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    #[serde(skip)]
    pub write: Vec<UnionNode>,
    pub added: usize,
    pub renamed: usize,
    /// The nodes put under another parent (their count in JSON).
    #[serde(serialize_with = "count")]
    pub moved: Vec<String>,
    pub unchanged: usize,
}

fn count<S: serde::Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(v.len() as u64)
}

/// Checks `rows` against the tree `held` (the root included) and says what to write, or
/// every problem found.
pub fn plan(held: &[UnionNode], rows: &[ImportRow]) -> Result<Plan, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for r in rows {
        if r.code.is_empty() {
            problems.push(Problem::EmptyCode { line: r.line });
            continue;
        }
        if r.code == ROOT {
            problems.push(Problem::ReservedCode { line: r.line });
            continue;
        }
        if r.name.is_empty() {
            problems.push(Problem::EmptyName {
                line: r.line,
                code: r.code.clone(),
            });
        }
        if r.code.chars().count() > MAX_CODE_CHARS
            || r.name.chars().count() > MAX_NAME_CHARS
            || r.short.chars().count() > MAX_NAME_CHARS
        {
            problems.push(Problem::TooLong {
                line: r.line,
                code: r.code.clone(),
            });
        }
        if let Some(first_line) = seen.insert(&r.code, r.line) {
            problems.push(Problem::Duplicate {
                line: r.line,
                code: r.code.clone(),
                first_line,
            });
        }
    }
    // The tree after the import: the held parents, with the file's over them.
    let mut parent: HashMap<&str, Option<&str>> = held
        .iter()
        .map(|n| (n.code.as_str(), n.parent.as_deref()))
        .collect();
    for r in rows.iter().filter(|r| !r.code.is_empty() && r.code != ROOT) {
        let p = if r.parent.is_empty() { ROOT } else { &r.parent };
        parent.insert(&r.code, Some(p));
    }
    for r in rows {
        let p = if r.parent.is_empty() { ROOT } else { &r.parent };
        if !r.code.is_empty() && !parent.contains_key(p) {
            problems.push(Problem::MissingParent {
                line: r.line,
                code: r.code.clone(),
                parent: p.to_string(),
            });
        }
    }
    problems.extend(cycles(&parent));
    if !problems.is_empty() {
        return Err(problems);
    }
    let held: HashMap<&str, &UnionNode> = held.iter().map(|n| (n.code.as_str(), n)).collect();
    let mut out = Plan::default();
    for r in rows {
        let node = UnionNode {
            code: r.code.clone(),
            name: r.name.clone(),
            short: r.short.clone(),
            parent: Some(if r.parent.is_empty() {
                ROOT.to_string()
            } else {
                r.parent.clone()
            }),
        };
        match held.get(r.code.as_str()) {
            None => out.added += 1,
            Some(old) if **old == node => {
                out.unchanged += 1;
                continue;
            }
            Some(old) => {
                if old.parent != node.parent {
                    out.moved.push(node.code.clone());
                } else {
                    out.renamed += 1;
                }
            }
        }
        out.write.push(node);
    }
    Ok(out)
}

/// Every cycle of the parent map, each once (nodes whose parents never reach the root).
fn cycles(parent: &HashMap<&str, Option<&str>>) -> Vec<Problem> {
    // 0: not walked yet; 1: on the current walk; 2: known to reach the root or a cycle.
    let mut state: HashMap<&str, u8> = HashMap::new();
    let mut found = Vec::new();
    let mut codes: Vec<&str> = parent.keys().copied().collect();
    codes.sort_unstable();
    for start in codes {
        let mut walk = Vec::new();
        let mut at = Some(start);
        while let Some(code) = at {
            match state.get(code).copied().unwrap_or(0) {
                2 => break,
                1 => {
                    let from = walk.iter().position(|c| *c == code).unwrap_or(0);
                    found.push(Problem::Cycle {
                        codes: walk[from..].iter().map(|c: &&str| c.to_string()).collect(),
                    });
                    break;
                }
                _ => {
                    state.insert(code, 1);
                    walk.push(code);
                    // a parent missing from the map is reported apart: stop there
                    at = parent.get(code).copied().flatten();
                }
            }
        }
        for code in walk {
            state.insert(code, 2);
        }
    }
    found
}

/// The codes whose parent chain passes through `code` (its subtree, itself included), from a
/// list of nodes: what the office's tree says is below a node.
pub fn subtree<'a>(nodes: &'a [UnionNode], code: &str) -> HashSet<&'a str> {
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for n in nodes {
        if let Some(p) = &n.parent {
            children.entry(p.as_str()).or_default().push(&n.code);
        }
    }
    let mut out = HashSet::new();
    let mut stack: Vec<&str> = nodes
        .iter()
        .filter(|n| n.code == code)
        .map(|n| n.code.as_str())
        .collect();
    while let Some(c) = stack.pop() {
        if out.insert(c) {
            stack.extend(children.get(c).into_iter().flatten());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> Vec<UnionNode> {
        vec![UnionNode {
            code: ROOT.into(),
            name: String::new(),
            short: String::new(),
            parent: None,
        }]
    }

    fn row(line: usize, code: &str, parent: &str) -> ImportRow {
        ImportRow {
            line,
            code: code.into(),
            name: format!("{code}总工会"),
            short: code.into(),
            parent: parent.into(),
        }
    }

    #[test]
    fn a_list_in_any_order_is_taken_with_unparented_nodes_under_the_root() {
        let rows = [row(2, "S11", "D1"), row(3, "D1", "C0"), row(4, "C0", "")];
        let p = plan(&root(), &rows).unwrap();
        assert_eq!((p.added, p.moved.len(), p.renamed), (3, 0, 0));
        let c0 = p.write.iter().find(|n| n.code == "C0").unwrap();
        assert_eq!(c0.parent.as_deref(), Some(ROOT));
    }

    #[test]
    fn duplicates_missing_parents_and_cycles_are_all_reported() {
        let rows = [
            row(2, "A", "B"),
            row(3, "B", "A"),
            row(4, "C", "nowhere"),
            row(5, "C", ""),
            row(6, "root", ""),
        ];
        let problems = plan(&root(), &rows).unwrap_err();
        assert!(problems.contains(&Problem::Duplicate {
            line: 5,
            code: "C".into(),
            first_line: 4
        }));
        assert!(problems.contains(&Problem::ReservedCode { line: 6 }));
        assert!(problems.contains(&Problem::MissingParent {
            line: 4,
            code: "C".into(),
            parent: "nowhere".into()
        }));
        let cycles: Vec<_> = problems
            .iter()
            .filter(|p| matches!(p, Problem::Cycle { .. }))
            .collect();
        assert_eq!(cycles.len(), 1, "{problems:?}");
    }

    #[test]
    fn a_reimport_renames_and_moves_and_a_move_under_its_own_child_is_a_cycle() {
        let first = plan(
            &root(),
            &[row(2, "C0", ""), row(3, "D1", "C0"), row(4, "D2", "C0")],
        )
        .unwrap();
        let mut held = root();
        held.extend(first.write);
        let mut renamed = row(2, "D1", "C0");
        renamed.name = "朝阳区总工会".into();
        let p = plan(&held, &[renamed, row(3, "D2", "D1"), row(4, "C0", "")]).unwrap();
        assert_eq!(
            (p.added, p.renamed, p.moved.len(), p.unchanged),
            (0, 1, 1, 1)
        );
        // C0 under D1, which is under C0
        let problems = plan(&held, &[row(2, "C0", "D1")]).unwrap_err();
        assert!(matches!(&problems[..], [Problem::Cycle { codes }] if codes.len() == 2));
    }

    #[test]
    fn a_subtree_holds_the_node_and_everything_below() {
        let mut held = root();
        held.extend(
            plan(
                &root(),
                &[row(2, "C0", ""), row(3, "D1", "C0"), row(4, "S1", "D1")],
            )
            .unwrap()
            .write,
        );
        let d1 = subtree(&held, "D1");
        assert_eq!(d1, ["D1", "S1"].into_iter().collect());
        assert_eq!(subtree(&held, ROOT).len(), 4);
        assert!(subtree(&held, "nope").is_empty());
    }
}
