//! The `events/` catalogue: API Gateway HTTP API (payload 2.0) events per function, with the status each must get.
//!
//! `events/manifest.json` maps each event file (relative to `events/`) to `{"function", "status"}`.

use crate::lambda::runtime::{FunctionProcess, RuntimeApi};
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

/// One run of a function's events in one deployment environment.
pub struct Run {
    /// `default`, `prod` (the samconfig environments), `default, CustomMetrics=off`.
    pub environment: String,
    pub deployment: crate::aws::harness::Deployment,
    /// Everything the process printed.
    pub logs: String,
}

/// A deployment environment: its label, its translated template and the parameters it overrides.
pub struct Environment {
    pub label: String,
    pub translated: crate::aws::template::Translated,
    pub parameters: Vec<(&'static str, &'static str)>,
}

/// The environments every function's events run in: each `samconfig.toml` environment as translated, and the
/// default one with custom metrics off.
pub fn environments() -> Vec<Environment> {
    let mut out: Vec<_> = crate::aws::template::Translated::environments()
        .into_iter()
        .map(|t| Environment { label: t.environment.clone(), translated: t, parameters: Vec::new() })
        .collect();
    out.push(Environment {
        label: "default, CustomMetrics=off".to_owned(),
        translated: crate::aws::template::Translated::load("default"),
        parameters: vec![("CustomMetrics", "off")],
    });
    out
}

/// Feeds every event of `function` through `binary` under the runtime-API emulator, deployed as the translated
/// template configures it in every environment (a fresh stack on moto holding `secrets`, `parameters` overriding
/// the environment's), all events in one sandbox as Lambda reuses one. Asserts each answer's status, and that what
/// Lambda's log-level filter lets through of the output still has every request line and, where metrics are on,
/// every EMF document (none at all where they are off).
pub async fn check_function(
    function: &str,
    binary: &str,
    secrets: &[(&str, serde_json::Value)],
    parameters: &[(&str, &str)],
) -> Vec<Run> {
    let mut runs = Vec::new();
    for Environment { label: environment, translated, parameters: variant } in environments() {
        let all: Vec<(&str, &str)> = parameters.iter().chain(&variant).copied().collect();
        let deployment = crate::aws::harness::Deployment::create(&translated, function, secrets, &all).await;
        let logs = feed_events(function, binary, &deployment.process_env())
            .await
            .unwrap_or_else(|failure| panic!("[{environment}] {failure}"));
        let statuses = logs.1;
        let delivered = crate::lambda::log_filter::delivered(&logs.0, deployment.spec.application_log_level.as_deref());
        let metrics_on = !deployment.spec.environment.get("METRICS_NAMESPACE").is_some_and(|n| n.is_empty());
        if !metrics_on {
            assert!(
                !logs.0.lines().any(|l| l.contains("\"_aws\"")),
                "[{environment}] no EMF document with custom metrics off:\n{}",
                logs.0
            );
        }
        check_telemetry(function, &statuses, &delivered.join("\n"), metrics_on);
        runs.push(Run { environment, deployment, logs: logs.0 });
    }
    runs
}

/// Runs `binary` with `env` under the emulator and feeds it every event of `function`; its logs and the statuses
/// answered, or what went wrong.
async fn feed_events(function: &str, binary: &str, env: &[(String, String)]) -> Result<(String, Vec<u16>), String> {
    let cases: Vec<(String, Expected)> = manifest().into_iter().filter(|(_, e)| e.function == function).collect();
    assert!(!cases.is_empty(), "events/manifest.json lists no event for {function}");
    let runtime = RuntimeApi::start().await;
    let process = FunctionProcess::spawn(binary, &runtime, function, env);
    if let Err(e) = runtime.first_poll(Duration::from_secs(30)).await {
        let logs = process.stop().await;
        return Err(format!("{function} did not start: {e}\n{logs}"));
    }
    let mut failures = Vec::new();
    let mut statuses = Vec::new();
    for (file, expected) in &cases {
        let text = std::fs::read_to_string(events_dir().join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"));
        let event: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {file}: {e}"));
        match runtime.invoke(event, Duration::from_secs(30)).await {
            Ok(outcome) if outcome.status() == Some(expected.status) => statuses.push(effective_status(&outcome)),
            Ok(outcome) => failures.push(format!("{file}: expected {}, got {outcome:?}", expected.status)),
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    let logs = process.stop().await;
    if failures.is_empty() {
        Ok((logs, statuses))
    } else {
        Err(format!("{}\n--- logs ---\n{logs}", failures.join("\n")))
    }
}

/// The status an answer counts as: RetailCRM answers errors with 200 and `"success": false`, which count as 400.
fn effective_status(outcome: &crate::lambda::runtime::Outcome) -> u16 {
    let status = outcome.status().unwrap_or(0);
    let crate::lambda::runtime::Outcome::Response(response) = outcome else { return status };
    let body: Option<serde_json::Value> = response["body"].as_str().and_then(|b| serde_json::from_str(b).ok());
    match body {
        Some(body) if status == 200 && body["success"] == false => 400,
        _ => status,
    }
}

/// Each invocation left one JSON request log line (Lambda's request id, trace id, cold start, function, partner,
/// outcome, latency) and, with `metrics`, one valid EMF request document agreeing with its status, in order.
pub fn check_telemetry(function: &str, statuses: &[u16], logs: &str, metrics: bool) {
    if std::env::var_os("SHOW_LOGS").is_some() {
        eprintln!("{logs}");
    }
    let lines: Vec<serde_json::Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let requests: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["fields"]["message"].as_str().is_some_and(|m| m.starts_with("request"))).collect();
    let documents: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l.get("_aws").is_some() && l.get("Outcome").is_some()).collect();
    assert_eq!(requests.len(), statuses.len(), "one request log line per invocation:\n{logs}");
    let expected_documents = if metrics { statuses.len() } else { 0 };
    assert_eq!(documents.len(), expected_documents, "one EMF request document per invocation:\n{logs}");
    for line in lines.iter().filter(|l| l.get("_aws").is_some()) {
        shared::telemetry::emf::validate(line).unwrap_or_else(|e| panic!("invalid EMF document {line}: {e}"));
    }
    for (i, (status, line)) in statuses.iter().zip(&requests).enumerate() {
        let request = &line["fields"];
        // The README's queries find every line of an invocation by `span.requestId`.
        assert_eq!(line["span"]["requestId"], request["request_id"], "{line}");
        let outcome = match status {
            200..=399 => "accepted",
            400..=499 => "rejected",
            _ => "failed",
        };
        assert_eq!(request["function"], function, "{request}");
        assert!(request["status"] == *status || (*status == 400 && request["status"] == 200), "{request}");
        assert_eq!(request["outcome"], outcome, "{request}");
        assert!(request["request_id"].as_str().is_some_and(|id| !id.is_empty()), "{request}");
        assert!(request["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{request}");
        assert_ne!(request["partner"], "unknown", "{request}");
        // The runtime API's trace header (Lambda's X-Ray trace id) names the invocation's trace.
        let trace = request["trace_id"].as_str().unwrap_or_default();
        assert_eq!(trace.strip_prefix("Root=1-00000000-"), request["request_id"].as_str(), "{request}");
        // The sandbox's first invocation, and only that one, is its cold start.
        assert_eq!(request["cold_start"], i == 0, "{request}");
        let Some(document) = documents.get(i) else { continue };
        assert_eq!(document["ColdStarts"].as_u64(), (i == 0).then_some(1), "{document}");
        assert_eq!(document["Function"], function, "{document}");
        assert_eq!(document["Outcome"], outcome, "{document}");
        assert_eq!(document["RequestId"], request["request_id"], "{document}");
        if outcome != "accepted" {
            assert_eq!(document["Reason"], request["reason"], "{document}");
        }
    }
}
