//! Lambda's event filtering of a DynamoDB stream, as the translated template configures each event source mapping:
//! what a deployed stream function is handed at all. The runner and the tests hand records over by the code's own
//! `is_relevant`; a test holds the two equal, so a filter that drops what the code needs cannot land.
//!
//! The pattern syntax modelled is what the template uses: nested objects, and at the leaves a list of accepted
//! values, each an exact string or `{"prefix": "..."}` (Lambda's filter rule syntax, "Equals" and "Begins with").

use crate::aws::template::Translated;
use serde_json::Value;

/// Whether `record` (one element of a stream event's `Records`) matches `pattern`.
pub fn matches(pattern: &Value, record: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields.iter().all(|(name, inner)| record.get(name).is_some_and(|v| matches(inner, v))),
        Value::Array(accepted) => accepted.iter().any(|rule| match (rule, record) {
            (Value::String(exact), Value::String(value)) => exact == value,
            (Value::Object(op), Value::String(value)) => {
                op.get("prefix").and_then(Value::as_str).is_some_and(|prefix| value.starts_with(prefix))
            }
            _ => false,
        }),
        _ => false,
    }
}

/// The filter patterns of the stream mapping that invokes function `logical_id` (its alias, or itself).
pub fn patterns_of(translated: &Translated, logical_id: &str) -> Vec<Value> {
    let mapping = translated
        .resources()
        .values()
        .find(|r| {
            let target = r["Properties"]["FunctionName"]["Ref"].as_str().unwrap_or_default();
            r["Type"] == "AWS::Lambda::EventSourceMapping"
                && target.strip_suffix("Aliaslive").unwrap_or(target) == logical_id
        })
        .unwrap_or_else(|| panic!("no stream mapping invokes {logical_id}"));
    mapping["Properties"]["FilterCriteria"]["Filters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| serde_json::from_str(f["Pattern"].as_str().expect("a pattern string")).expect("a JSON pattern"))
        .collect()
}

/// Whether any of `patterns` passes `record` (Lambda ORs a mapping's filters).
pub fn passes(patterns: &[Value], record: &Value) -> bool {
    patterns.iter().any(|p| matches(p, record))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equals_and_begins_with_at_the_leaves_all_fields_required() {
        let pattern =
            json!({"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "BATCH#"}, "LATEST"]}}}});
        let record = |name: &str, sk: &str| json!({"eventName": name, "dynamodb": {"Keys": {"sk": {"S": sk}}}});
        assert!(matches(&pattern, &record("INSERT", "BATCH#1")));
        assert!(matches(&pattern, &record("INSERT", "LATEST")));
        assert!(!matches(&pattern, &record("MODIFY", "BATCH#1")));
        assert!(!matches(&pattern, &record("INSERT", "R#1")));
        assert!(!matches(&pattern, &record("INSERT", "LATESTX")));
        assert!(!matches(&pattern, &json!({"eventName": "INSERT"})), "a field the pattern names must be there");
    }
}
