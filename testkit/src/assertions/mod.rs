//! What the tests hold the code to beyond a single answer: no fixture secret in any answer or log, the crates'
//! module graphs, the outbound events' published schemas, and the EMF metrics and log lines of a piece of work.

pub mod event_schemas;
pub mod leaks;
pub mod module_graph;
pub mod telemetry;
