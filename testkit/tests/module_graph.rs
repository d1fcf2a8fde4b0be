//! testkit's own shape: its rooms (the assertions, the AWS harness, the Lambda emulator, the partners) and the
//! helpers beside them form no cycle, as rooms or as modules, so each can be read, and changed, from the ones it
//! uses; and the rooms use each other only in one order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const ROOMS: [&str; 4] = ["assertions", "aws", "lambda", "partners"];

/// testkit's units: `room::module` inside a room (or the room itself, at `rooms`), a helper module beside them.
fn graph(rooms: bool) -> BTreeMap<String, BTreeSet<String>> {
    let node = |segments: &[&str]| match segments {
        [room, module, ..] if ROOMS.contains(room) && !rooms => Some(format!("{room}::{module}")),
        [room, ..] if ROOMS.contains(room) => Some((*room).to_owned()),
        [module, ..] if *module != "lib" && *module != "bin" => Some((*module).to_owned()),
        _ => None,
    };
    testkit::assertions::module_graph::dependencies(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), node)
}

#[test]
fn no_testkit_module_needs_one_that_needs_it() {
    let graph = graph(false);
    assert!(graph.len() > 10, "the source was not read: {graph:?}");
    let cycles = testkit::assertions::module_graph::on_cycles(&graph);
    assert!(cycles.is_empty(), "testkit modules on a dependency cycle: {cycles:?}\n{graph:#?}");
}

#[test]
fn the_rooms_use_each_other_in_one_order() {
    let graph = graph(true);
    for room in ROOMS {
        assert!(graph.contains_key(room), "room {room} was not read: {graph:?}");
    }
    let cycles = testkit::assertions::module_graph::on_cycles(&graph);
    assert!(cycles.is_empty(), "testkit rooms on a dependency cycle: {cycles:?}\n{graph:#?}");
    // The assertions stand on nothing of the other rooms: any test may use them, whatever it runs against.
    let assertions_use = &graph["assertions"];
    assert!(
        ROOMS.iter().all(|room| !assertions_use.contains(*room)),
        "the assertions use another room: {assertions_use:?}"
    );
}
