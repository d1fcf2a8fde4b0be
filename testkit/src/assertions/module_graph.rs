//! A crate's module graph, read from its source: every `crate::` path outside comments and unit tests, between
//! the units a caller names. The layer tests of `shared` and of this crate hold their crates' shapes with it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Which units each unit of the crate whose sources are under `src` uses. `node` names the unit of a path's
/// segments (a file's, or a `crate::` path's), `None` for what is not counted.
pub fn dependencies(src: &Path, node: impl Fn(&[&str]) -> Option<String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    sources(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap().with_extension("");
        let mut segments: Vec<String> = relative.iter().map(|s| s.to_string_lossy().into_owned()).collect();
        if segments.last().is_some_and(|s| s == "mod") {
            segments.pop();
        }
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let Some(me) = node(&segments) else { continue };
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let path: Vec<&str> = line[i + 7..]
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                    .next()
                    .unwrap()
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .collect();
                if let Some(other) = node(&path).filter(|o| *o != me) {
                    graph.entry(me.clone()).or_default().insert(other);
                }
            }
        }
    }
    graph
}

/// The units of `graph` on a dependency cycle (a path that leads back to them).
pub fn on_cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str, seen: &mut BTreeSet<String>) -> bool {
        graph
            .get(from)
            .into_iter()
            .flatten()
            .any(|next| next == to || (seen.insert(next.clone()) && reaches(graph, next, to, seen)))
    }
    graph.keys().filter(|m| reaches(graph, m, m, &mut BTreeSet::new())).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_is_found_and_a_chain_is_not() {
        let graph = |edges: &[(&str, &str)]| {
            let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for (from, to) in edges {
                graph.entry((*from).to_owned()).or_default().insert((*to).to_owned());
            }
            graph
        };
        assert!(on_cycles(&graph(&[("a", "b"), ("b", "c")])).is_empty());
        assert_eq!(on_cycles(&graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")])), ["a", "b", "c"]);
    }
}
