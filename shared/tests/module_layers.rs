//! The library's shape holds: no two modules need each other, and each layer uses only the layers below it
//! (the edge on everything; partners on identity, the ports and the root helpers; identity on the ports; the
//! ports on the root helpers). Read from the source: every `crate::` path outside comments and unit tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const GROUPS: [&str; 4] = ["edge", "ports", "identity", "partners"];

/// Which layers each may use (a layer always uses itself; root helpers are `codec`, `crypto`, `env`, `telemetry`, `time_text`).
fn allowed(from: &str, to: &str) -> bool {
    let layer = |node: &str| node.split("::").next().unwrap_or_default().to_owned();
    let (from, to) = (layer(from), layer(to));
    let helpers = ["codec", "crypto", "env", "telemetry", "time_text"];
    match from.as_str() {
        "edge" => true,
        "partners" => ["partners", "identity", "ports"].contains(&to.as_str()) || helpers.contains(&to.as_str()),
        "identity" => ["identity", "ports"].contains(&to.as_str()) || helpers.contains(&to.as_str()),
        "ports" => ["ports", "crypto", "env", "telemetry", "time_text"].contains(&to.as_str()),
        "telemetry" => ["telemetry", "env"].contains(&to.as_str()),
        "codec" => ["codec", "crypto"].contains(&to.as_str()),
        "crypto" | "env" | "time_text" => from == to,
        other => panic!("a module outside the known layers: {other}"),
    }
}

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

/// `edge::handler`, `partners::sber`, `codec`: the unit a dependency is counted between.
fn node(segments: &[&str]) -> Option<String> {
    match segments {
        [group, module, ..] if GROUPS.contains(group) => Some(format!("{group}::{module}")),
        [group] if GROUPS.contains(group) => Some((*group).to_owned()),
        [module, ..] if *module != "lib" => Some((*module).to_owned()),
        _ => None,
    }
}

fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&root).unwrap().with_extension("");
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

#[test]
fn no_module_needs_one_that_needs_it() {
    let graph = dependencies();
    assert!(graph.len() > 15, "the source was not read: {graph:?}");
    // Depth-first search for a path back to the start.
    fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str, seen: &mut BTreeSet<String>) -> bool {
        graph
            .get(from)
            .into_iter()
            .flatten()
            .any(|next| next == to || (seen.insert(next.clone()) && reaches(graph, next, to, seen)))
    }
    let cycles: Vec<&String> = graph.keys().filter(|m| reaches(&graph, m, m, &mut BTreeSet::new())).collect();
    assert!(cycles.is_empty(), "modules on a dependency cycle: {cycles:?}\n{graph:#?}");
}

#[test]
fn each_layer_uses_only_the_layers_below() {
    let mut wrong = Vec::new();
    for (from, tos) in dependencies() {
        for to in tos {
            if !allowed(&from, &to) {
                wrong.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(wrong.is_empty(), "dependencies against the layering: {wrong:#?}");
}
