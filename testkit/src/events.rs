//! The `events/` catalogue: API Gateway HTTP API (payload 2.0) events per function, with the status each must get.
//!
//! `events/manifest.json` maps each event file (relative to `events/`) to `{"function", "status"}`.

use crate::runtime::{FunctionProcess, RuntimeApi};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// One catalogued event.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Expected {
    pub function: String,
    pub status: u16,
}

/// The manifest, by file name relative to `events/`.
pub fn manifest() -> BTreeMap<String, Expected> {
    let path = events_dir().join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

pub fn events_dir() -> PathBuf {
    crate::workspace_root().join("events")
}

/// Feeds every event of `function` through `binary` running under the runtime-API emulator, in one sandbox (as
/// Lambda reuses one), and asserts each answer's status. Returns the process's logs.
pub async fn check_function(function: &str, binary: &str, env: &[(String, String)]) -> String {
    let cases: Vec<(String, Expected)> = manifest().into_iter().filter(|(_, e)| e.function == function).collect();
    assert!(!cases.is_empty(), "events/manifest.json lists no event for {function}");
    let runtime = RuntimeApi::start().await;
    let process = FunctionProcess::spawn(binary, &runtime, function, env);
    if let Err(e) = runtime.first_poll(Duration::from_secs(30)).await {
        let logs = process.stop().await;
        panic!("{function} did not start: {e}\n{logs}");
    }
    let mut failures = Vec::new();
    for (file, expected) in &cases {
        let text = std::fs::read_to_string(events_dir().join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"));
        let event: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {file}: {e}"));
        match runtime.invoke(event, Duration::from_secs(30)).await {
            Ok(outcome) if outcome.status() == Some(expected.status) => {}
            Ok(outcome) => failures.push(format!("{file}: expected {}, got {outcome:?}", expected.status)),
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    let logs = process.stop().await;
    assert!(failures.is_empty(), "{}\n--- logs ---\n{logs}", failures.join("\n"));
    logs
}
