//! The library's shape holds: no two modules need each other, and each layer uses only the layers below it
//! (the edge on everything; partners on identity, the ports and the root helpers; identity on the ports; the
//! ports on the root helpers). Read from the source: every `crate::` path outside comments and unit tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

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
    testkit::assertions::module_graph::dependencies(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), node)
}

#[test]
fn no_module_needs_one_that_needs_it() {
    let graph = dependencies();
    assert!(graph.len() > 15, "the source was not read: {graph:?}");
    let cycles = testkit::assertions::module_graph::on_cycles(&graph);
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
