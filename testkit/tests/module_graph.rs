//! testkit's own shape: its modules (partner fakes, the AWS harness, the Lambda emulator, the assertions) form no
//! cycle, so each can be read, and changed, from the ones below it.

use std::path::Path;

#[test]
fn no_testkit_module_needs_one_that_needs_it() {
    let node = |segments: &[&str]| match segments {
        [module, ..] if *module != "lib" && *module != "bin" => Some((*module).to_owned()),
        _ => None,
    };
    let graph = testkit::module_graph::dependencies(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), node);
    assert!(graph.len() > 10, "the source was not read: {graph:?}");
    let cycles = testkit::module_graph::on_cycles(&graph);
    assert!(cycles.is_empty(), "testkit modules on a dependency cycle: {cycles:?}\n{graph:#?}");
}
