//! The union tree (SPEC §11): a city's federation, its districts, streets and grassroots
//! unions, one tree at the office under the office's own node (`root`).
//!
//! Laptops belong to a node, users see a node and everything below it. This module is what
//! the tree is, without storage: a node, a user's [`Scope`], reading the federation's list
//! from a file ([`file`]) and checking an import against the tree held ([`plan`]). The
//! database keeps the tree and its closure (`db::unions`).

pub mod file;
pub mod plan;

use serde::Serialize;

/// The office's own node: the tree's root before and after any import.
pub const ROOT: &str = "root";

/// The longest code and name a node may have (a credit code is 18 characters).
pub const MAX_CODE_CHARS: usize = 64;
pub const MAX_NAME_CHARS: usize = 200;

/// One node of the tree. `parent` is `None` for the root only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnionNode {
    pub code: String,
    pub name: String,
    pub short: String,
    pub parent: Option<String>,
}

/// The part of the tree a user (or a command) sees: everything, or one node and its
/// descendants. Queries turn it into a condition (`db::unions::scope_sql`), never a filter
/// applied to results afterwards.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The root's user: every member and device, those of devices the office never assigned
    /// included.
    #[default]
    All,
    /// A node's code: that node and every node below it.
    Under(String),
}

impl Scope {
    /// A user's or a command's scope from its node's code.
    pub fn of_code(code: &str) -> Scope {
        if code == ROOT {
            Scope::All
        } else {
            Scope::Under(code.to_string())
        }
    }

    /// The node's code (`root` for everything).
    pub fn code(&self) -> &str {
        match self {
            Scope::All => ROOT,
            Scope::Under(code) => code,
        }
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A node as an enrolment code carries it: none for the office's own node (a laptop of the
/// office itself is told nothing about its union).
pub fn enrol_union(node: &UnionNode) -> Option<crate::card::enrol::EnrolUnion> {
    (node.code != ROOT).then(|| crate::card::enrol::EnrolUnion {
        code: node.code.clone(),
        name: node.name.clone(),
        short: node.short.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_everything_and_any_other_code_a_subtree() {
        assert_eq!(Scope::of_code("root"), Scope::All);
        assert_eq!(Scope::of_code("D1"), Scope::Under("D1".into()));
        assert_eq!(Scope::of_code("D1").code(), "D1");
        assert_eq!(Scope::All.code(), ROOT);
    }
}
