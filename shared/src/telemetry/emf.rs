//! CloudWatch embedded metric format documents: JSON log lines CloudWatch Logs turns into metrics, so publishing
//! a metric costs a `println!` instead of a `PutMetricData` call on the request path.
//!
//! Dimensions are kept to values from fixed sets (function, error code, partner name): every distinct
//! combination is a billed custom metric, so nothing a caller chooses (paths, sources) becomes a dimension.

use super::record::{Counter, Outcome, RequestRecord};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// The namespace when `METRICS_NAMESPACE` is unset (the template sets `Switchyard/<stack name>`).
pub const DEFAULT_NAMESPACE: &str = "Switchyard";

/// Everything one request publishes.
#[derive(Debug, Clone, Copy)]
pub struct RequestMetrics<'a> {
    pub namespace: &'a str,
    pub function: &'a str,
    pub request_id: &'a str,
    pub outcome: Outcome,
    pub latency: Duration,
    pub record: &'a RequestRecord,
    pub timestamp_ms: u64,
}

/// The request's documents: its outcome, counters and latency by function (and the refusal by reason), then
/// one document per partner it called.
pub fn documents(metrics: &RequestMetrics<'_>) -> Vec<Value> {
    let mut out = vec![request_document(metrics)];
    let mut partners: Vec<&str> = metrics.record.partner_calls.iter().map(|c| c.partner).collect();
    partners.sort_unstable();
    partners.dedup();
    out.extend(partners.into_iter().map(|partner| partner_document(metrics, partner)));
    out
}

fn request_document(m: &RequestMetrics<'_>) -> Value {
    let mut root = Map::new();
    root.insert("Function".into(), m.function.into());
    root.insert("RequestId".into(), m.request_id.into());
    root.insert("Outcome".into(), m.outcome.name().into());
    root.insert("Requests".into(), 1.into());
    root.insert("Accepted".into(), u8::from(m.outcome == Outcome::Accepted).into());
    root.insert("Rejected".into(), u8::from(matches!(m.outcome, Outcome::Rejected(_))).into());
    root.insert("Failed".into(), u8::from(matches!(m.outcome, Outcome::Failed(_))).into());
    root.insert("Latency".into(), millis(m.latency).into());
    let mut by_function = count_metrics(&["Requests", "Accepted", "Rejected", "Failed"]);
    by_function.push(json!({"Name": "Latency", "Unit": "Milliseconds"}));
    // Counters only where a function counts them: a metric that exists costs money every month.
    for counter in Counter::ALL {
        let n = m.record.counter(counter);
        if n > 0 {
            root.insert(counter.metric_name().into(), n.into());
            by_function.extend(count_metrics(&[counter.metric_name()]));
        }
    }
    let mut directives = vec![
        directive(m.namespace, &["Function"], by_function),
        directive(m.namespace, &[], count_metrics(&["Requests", "Rejected", "Failed"])),
    ];
    if let Some(reason) = m.outcome.reason() {
        root.insert("Reason".into(), reason.into());
        let metric = if matches!(m.outcome, Outcome::Failed(_)) { "Failed" } else { "Rejected" };
        directives.push(directive(m.namespace, &["Function", "Reason"], count_metrics(&[metric])));
    }
    root.insert("_aws".into(), json!({"Timestamp": m.timestamp_ms, "CloudWatchMetrics": directives}));
    Value::Object(root)
}

fn partner_document(m: &RequestMetrics<'_>, partner: &str) -> Value {
    let calls: Vec<_> = m.record.partner_calls.iter().filter(|c| c.partner == partner).collect();
    let latencies: Vec<f64> = calls.iter().map(|c| millis(c.elapsed)).collect();
    let failures = calls.iter().filter(|c| !c.ok).count();
    let mut by_partner = count_metrics(&["PartnerCalls", "PartnerCallFailures"]);
    by_partner.push(json!({"Name": "PartnerCallLatency", "Unit": "Milliseconds"}));
    let directives = [
        directive(m.namespace, &["Function", "Partner"], by_partner),
        directive(m.namespace, &[], count_metrics(&["PartnerCallFailures"])),
    ];
    json!({
        "_aws": {"Timestamp": m.timestamp_ms, "CloudWatchMetrics": directives},
        "Function": m.function,
        "Partner": partner,
        "RequestId": m.request_id,
        "PartnerCalls": calls.len(),
        "PartnerCallFailures": failures,
        "PartnerCallLatency": latencies,
    })
}

fn count_metrics(names: &[&str]) -> Vec<Value> {
    names.iter().map(|name| json!({"Name": name, "Unit": "Count"})).collect()
}

/// A metric directive with one dimension set; the empty set gives the stack-wide totals the template's alarms
/// watch (only those, as every published combination is a billed custom metric).
fn directive(namespace: &str, dimensions: &[&str], metrics: Vec<Value>) -> Value {
    json!({"Namespace": namespace, "Dimensions": [dimensions], "Metrics": metrics})
}

fn millis(elapsed: Duration) -> f64 {
    // Microsecond precision is plenty and keeps the log line short.
    (elapsed.as_secs_f64() * 1e6).round() / 1e3
}

/// Checks `document` against the rules of the EMF specification CloudWatch enforces (it silently drops metrics
/// from a document that breaks them): the tests of every document we write go through this.
pub fn validate(document: &Value) -> Result<(), String> {
    let root = document.as_object().ok_or("the document is not a JSON object")?;
    let aws = root.get("_aws").and_then(Value::as_object).ok_or("no _aws object")?;
    aws.get("Timestamp").and_then(Value::as_u64).ok_or("_aws.Timestamp is not a number of milliseconds")?;
    let directives = aws.get("CloudWatchMetrics").and_then(Value::as_array).ok_or("no CloudWatchMetrics array")?;
    if directives.is_empty() {
        return Err("CloudWatchMetrics is empty".into());
    }
    for d in directives {
        let namespace = d.get("Namespace").and_then(Value::as_str).ok_or("a directive has no Namespace")?;
        if namespace.is_empty() || namespace.len() > 255 {
            return Err(format!("bad namespace {namespace:?}"));
        }
        let dimension_sets = d.get("Dimensions").and_then(Value::as_array).ok_or("a directive has no Dimensions")?;
        for set in dimension_sets {
            let set = set.as_array().ok_or("a dimension set is not an array")?;
            if set.len() > 30 {
                return Err("more than 30 dimensions in a set".into());
            }
            for name in set {
                let name = name.as_str().ok_or("a dimension name is not a string")?;
                let value =
                    root.get(name).and_then(Value::as_str).ok_or(format!("dimension {name} has no string value"))?;
                if value.is_empty() || value.len() > 1024 {
                    return Err(format!("dimension {name} has a bad value"));
                }
            }
        }
        let metrics = d.get("Metrics").and_then(Value::as_array).ok_or("a directive has no Metrics")?;
        if metrics.len() > 100 {
            return Err("more than 100 metrics in a directive".into());
        }
        for metric in metrics {
            let name = metric.get("Name").and_then(Value::as_str).ok_or("a metric has no Name")?;
            let numeric = match root.get(name) {
                Some(Value::Number(_)) => true,
                Some(Value::Array(values)) => values.len() <= 100 && values.iter().all(Value::is_number),
                _ => false,
            };
            if !numeric {
                return Err(format!("metric {name} has no numeric value (or over 100 values)"));
            }
            if let Some(unit) = metric.get("Unit") {
                let unit = unit.as_str().ok_or("a Unit is not a string")?;
                if !UNITS.contains(&unit) {
                    return Err(format!("unknown unit {unit}"));
                }
            }
        }
    }
    Ok(())
}

/// The units CloudWatch accepts (those we use and their neighbours).
const UNITS: &[&str] = &["Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Count", "Percent", "None"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::record::PartnerCall;

    fn metrics<'a>(outcome: Outcome, record: &'a RequestRecord) -> RequestMetrics<'a> {
        RequestMetrics {
            namespace: "Switchyard/test",
            function: "register",
            request_id: "req-1",
            outcome,
            latency: Duration::from_micros(12_345),
            record,
            timestamp_ms: 1_790_000_000_000,
        }
    }

    #[test]
    fn an_accepted_request_publishes_one_valid_document() {
        let record = RequestRecord::default();
        let docs = documents(&metrics(Outcome::Accepted, &record));
        assert_eq!(docs.len(), 1);
        validate(&docs[0]).unwrap();
        assert_eq!(docs[0]["Accepted"], 1);
        assert_eq!(docs[0]["Rejected"], 0);
        assert_eq!(docs[0]["Latency"], 12.345);
        assert!(docs[0].get("Reason").is_none());
        // By function, and stack-wide for the template's alarms; no counters this function did not count.
        let directives = docs[0]["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 2);
        assert_eq!(directives[0]["Dimensions"], json!([["Function"]]));
        assert_eq!(directives[1]["Dimensions"], json!([[]]));
        assert!(docs[0].get("ReadingsStored").is_none() && docs[0].get("Duplicates").is_none());
    }

    #[test]
    fn a_rejection_is_also_published_by_reason() {
        let record = RequestRecord::default();
        let doc = &documents(&metrics(Outcome::Rejected("bad_signature"), &record))[0];
        validate(doc).unwrap();
        assert_eq!(doc["Reason"], "bad_signature");
        let by_reason = &doc["_aws"]["CloudWatchMetrics"][2];
        assert_eq!(by_reason["Dimensions"], json!([["Function", "Reason"]]));
        assert_eq!(by_reason["Metrics"][0]["Name"], "Rejected");
        let failed = &documents(&metrics(Outcome::Failed("unavailable"), &record))[0];
        assert_eq!(failed["_aws"]["CloudWatchMetrics"][2]["Metrics"][0]["Name"], "Failed");
    }

    #[test]
    fn partner_calls_are_grouped_by_partner() {
        let mut record = RequestRecord::default();
        for (partner, ms, ok) in [("smartme", 20, true), ("retailcrm", 5, false), ("smartme", 30, false)] {
            record.partner_calls.push(PartnerCall { partner, elapsed: Duration::from_millis(ms), ok });
        }
        let docs = documents(&metrics(Outcome::Accepted, &record));
        assert_eq!(docs.len(), 3);
        for doc in &docs {
            validate(doc).unwrap();
        }
        let smartme = docs.iter().find(|d| d["Partner"] == "smartme").unwrap();
        assert_eq!(smartme["PartnerCalls"], 2);
        assert_eq!(smartme["PartnerCallFailures"], 1);
        assert_eq!(smartme["PartnerCallLatency"], json!([20.0, 30.0]));
    }

    #[test]
    fn validation_catches_what_cloudwatch_would_drop() {
        let record = RequestRecord::default();
        let good = documents(&metrics(Outcome::Rejected("x"), &record)).remove(0);
        for (path, replacement) in
            [("Function", Value::Null), ("Reason", json!(3)), ("Latency", json!("fast")), ("_aws", json!({}))]
        {
            let mut bad = good.clone();
            bad[path] = replacement;
            assert!(validate(&bad).is_err(), "{path}");
        }
        let mut bad_unit = good.clone();
        bad_unit["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Parsecs");
        assert!(validate(&bad_unit).is_err());
    }
}
