//! The outbound events' published JSON Schemas (`schemas/events/<source>.<detail-type>.json`): every event a test
//! sees is checked against the schema its source and detail-type name, formats included.

use serde_json::Value;
use std::path::PathBuf;

fn schemas_dir() -> PathBuf {
    crate::workspace_root().join("schemas").join("events")
}

/// The schema file of `source` and `detail_type` (`Webhook Received` is `webhook-received`).
pub fn schema_path(source: &str, detail_type: &str) -> PathBuf {
    schemas_dir().join(format!("{source}.{}.json", detail_type.to_lowercase().replace(' ', "-")))
}

/// Checks `envelope` (`{"source", "detail-type", "time", "detail"}`) against its schema.
pub fn validate(envelope: &Value) -> Result<(), String> {
    let source = envelope["source"].as_str().ok_or("no source")?;
    let detail_type = envelope["detail-type"].as_str().ok_or("no detail-type")?;
    let path = schema_path(source, detail_type);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let schema: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let url = format!("file://{}", path.display());
    compiler.add_resource(&url, schema).map_err(|e| e.to_string())?;
    let index = compiler.compile(&url, &mut schemas).map_err(|e| format!("{}: {e}", path.display()))?;
    schemas.validate(envelope, index).map_err(|e| format!("{envelope} against {}: {e:#}", path.display()))
}

/// Every schema file, for the test that each kind has one and each file is a kind.
pub fn schema_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(schemas_dir())
        .map(|entries| entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    names.sort();
    names
}
