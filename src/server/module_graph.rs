//! A check that the server's modules depend one way: no module in `src/server/` uses one that
//! uses it back, directly or round a longer loop. Edges are read from the source's own paths
//! (`super::…`, `self::…`, `crate::server::…`, `use` groups included; test code left out) and
//! lifted to siblings under their nearest common parent, so a folder (`db/`, `console/`) is
//! one module seen from outside, and a module naming its own parent or child is no edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Every module of `src/server` (`["server", "db", "search"]`) and its file.
fn modules(root: &Path) -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().with_extension("");
                let mut m: Module = vec!["server".into()];
                m.extend(rel.iter().map(|p| p.to_string_lossy().into_owned()));
                if m.last().is_some_and(|l| l == "mod") {
                    m.pop();
                }
                out.insert(m, path);
            }
        }
    }
    out
}

fn ident_at(s: &str) -> Option<(&str, usize)> {
    let t = s.trim_start();
    let skipped = s.len() - t.len();
    if t.starts_with('*') {
        return Some(("*", skipped + 1));
    }
    let n = t
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(t.len(), |(i, _)| i);
    (n > 0 && !t.as_bytes()[0].is_ascii_digit()).then(|| (&t[..n], skipped + n))
}

/// The paths of a use tree (or a plain path) at `s`, and where it ends.
fn tree(s: &str) -> (Vec<Vec<String>>, usize) {
    let t = s.trim_start();
    let skipped = s.len() - t.len();
    if let Some(inner) = t.strip_prefix('{') {
        let (paths, end) = group(inner);
        return (paths, skipped + 1 + end);
    }
    let Some((name, end)) = ident_at(s) else {
        return (vec![vec![]], 0);
    };
    if let Some(rest) = s[end..].strip_prefix("::") {
        let (subs, e) = tree(rest);
        let paths = subs
            .into_iter()
            .map(|p| std::iter::once(name.to_string()).chain(p).collect())
            .collect();
        return (paths, end + 2 + e);
    }
    (vec![vec![name.to_string()]], end)
}

/// `a, b::c, d::{e, f} }`: the group's paths and the index past its `}`.
fn group(s: &str) -> (Vec<Vec<String>>, usize) {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let (paths, end) = tree(&s[i..]);
        out.extend(paths);
        i += end;
        i += s[i..].len() - s[i..].trim_start().len();
        if s[i..].starts_with(',') {
            i += 1;
        } else {
            return (out, i + usize::from(s[i..].starts_with('}')));
        }
    }
}

/// The edges between sibling modules.
fn edges(mods: &BTreeMap<Module, PathBuf>) -> BTreeSet<(Module, Module)> {
    let mut edges = BTreeSet::new();
    for (m, file) in mods {
        let text = std::fs::read_to_string(file).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap_or("");
        for anchor in ["crate::", "super::", "self::"] {
            for (at, _) in text.match_indices(anchor) {
                let before = text[..at].chars().next_back();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let (paths, _) = tree(&text[at + anchor.len()..]);
                for p in paths {
                    let mut target: Module = match anchor {
                        "crate::" if p.first().is_some_and(|f| f == "server") => p,
                        "crate::" => continue,
                        _ => {
                            let mut base = m.clone();
                            if anchor == "super::" {
                                base.pop();
                            }
                            let mut rest = p.as_slice();
                            while rest.first().is_some_and(|f| f == "super") {
                                base.pop();
                                rest = &rest[1..];
                            }
                            base.extend(rest.iter().cloned());
                            base
                        }
                    };
                    while !target.is_empty() && !mods.contains_key(&target) {
                        target.pop();
                    }
                    let common = m.iter().zip(&target).take_while(|(a, b)| a == b).count();
                    if target.is_empty() || common == m.len() || common == target.len() {
                        continue; // itself, or one of its own ancestors or descendants
                    }
                    edges.insert((m[..=common].to_vec(), target[..=common].to_vec()));
                }
            }
        }
    }
    edges
}

/// The modules on some loop (strongly connected components of more than one), by name.
fn loops(edges: &BTreeSet<(Module, Module)>) -> Vec<Vec<String>> {
    let mut next: BTreeMap<&Module, Vec<&Module>> = BTreeMap::new();
    for (a, b) in edges {
        next.entry(a).or_default().push(b);
    }
    let reach = |from: &Module| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(m) = stack.pop() {
            for n in next.get(m).into_iter().flatten() {
                if seen.insert(*n) {
                    stack.push(n);
                }
            }
        }
        seen
    };
    let mut out: BTreeSet<Vec<String>> = BTreeSet::new();
    for m in next.keys() {
        let from_m = reach(m);
        if !from_m.contains(m) {
            continue;
        }
        let comp: Vec<String> = from_m
            .iter()
            .filter(|o| reach(o).contains(m))
            .map(|o| o[1..].join("/"))
            .collect();
        out.insert(comp);
    }
    out.into_iter().collect()
}

#[test]
fn no_module_of_the_server_uses_one_that_uses_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server");
    let mods = modules(&root);
    let edges = edges(&mods);
    // the check reads what it should: the router names the API, the API the shared state
    let has = |a: &str, b: &str| {
        edges
            .iter()
            .any(|(x, y)| x[1..].join("/") == a && y[1..].join("/") == b)
    };
    assert!(has("routes", "api") && has("api", "state") && has("console", "state"));
    let loops = loops(&edges);
    assert!(loops.is_empty(), "modules on a loop: {loops:?}");
}

#[test]
fn a_loop_is_found_when_there_is_one() {
    let dir = tempfile::tempdir().unwrap();
    let write = |p: &str, s: &str| {
        let path = dir.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, s).unwrap();
    };
    write("mod.rs", "pub mod a;\npub mod b;\npub mod c;\n");
    write("a.rs", "use super::{b::{X, Y}, c};\n");
    write(
        "b/mod.rs",
        "use crate::server::c::Z;\n#[cfg(test)]\nuse super::a::W;\n",
    );
    write("c.rs", "fn f() { super::a::g(); }\n");
    let edges = edges(&modules(dir.path()));
    assert_eq!(loops(&edges), vec![vec!["a", "b", "c"]]);
}
