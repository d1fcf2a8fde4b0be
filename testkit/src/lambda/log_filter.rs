//! Lambda's application log-level filter, as documented for runtimes without built-in support ("Log-level
//! filtering", AWS Lambda Developer Guide): with `LogFormat: JSON` and an `ApplicationLogLevel`, a line is a JSON
//! object whose `"level"` names its level; a line that is not JSON, or whose `level` is missing or invalid, or
//! whose `timestamp` is not valid RFC 3339, counts as INFO. Lines below the configured level never reach
//! CloudWatch Logs, so neither do the metrics CloudWatch would extract from them.

/// Lambda's levels, least severe first.
const LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

fn rank(level: &str) -> Option<usize> {
    LEVELS.iter().position(|l| l.eq_ignore_ascii_case(level))
}

/// The level Lambda assigns `line`.
pub fn level_of(line: &str) -> &'static str {
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str::<serde_json::Value>(line) else { return "INFO" };
    let level = object.get("level").and_then(|l| l.as_str()).and_then(rank);
    let timestamp_ok = object.get("timestamp").and_then(|t| t.as_str()).is_some_and(is_rfc3339);
    match (level, timestamp_ok) {
        (Some(rank), true) => LEVELS[rank],
        _ => "INFO",
    }
}

/// The lines of `logs` that Lambda sends to CloudWatch Logs under `application_log_level` (all of them when the
/// function sets none).
pub fn delivered(logs: &str, application_log_level: Option<&str>) -> Vec<String> {
    let threshold = match application_log_level {
        None => return logs.lines().map(str::to_owned).collect(),
        Some(level) => rank(level).unwrap_or_else(|| panic!("{level} is not a Lambda log level")),
    };
    logs.lines().filter(|line| rank(level_of(line)).is_some_and(|r| r >= threshold)).map(str::to_owned).collect()
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, as RFC 3339 section 5.6 defines a date-time.
pub fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| range.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    if b.len() < 20 || !digits(0..4) || b[4] != b'-' || !digits(5..7) || b[7] != b'-' || !digits(8..10) {
        return false;
    }
    if !matches!(b[10], b'T' | b't' | b' ') || !digits(11..13) || b[13] != b':' || !digits(14..16) || b[16] != b':' {
        return false;
    }
    if !digits(17..19) {
        return false;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_without_a_valid_level_and_timestamp_count_as_info() {
        let ts = "2026-11-30T12:00:00.123456Z";
        assert_eq!(level_of(&format!(r#"{{"level":"WARN","timestamp":"{ts}"}}"#)), "WARN");
        assert_eq!(level_of(&format!(r#"{{"level":"debug","timestamp":"{ts}"}}"#)), "DEBUG");
        assert_eq!(level_of(r#"{"level":"WARN"}"#), "INFO", "no timestamp");
        assert_eq!(level_of(r#"{"level":"WARN","timestamp":"yesterday"}"#), "INFO");
        assert_eq!(level_of(&format!(r#"{{"level":"LOUD","timestamp":"{ts}"}}"#)), "INFO");
        assert_eq!(level_of(r#"{"_aws":{"Timestamp":1}}"#), "INFO", "an EMF document");
        assert_eq!(level_of("plain text"), "INFO");
    }

    #[test]
    fn the_filter_keeps_the_configured_level_and_above() {
        let ts = "2026-11-30T12:00:00+01:00";
        let logs = format!(
            "{{\"level\":\"DEBUG\",\"timestamp\":\"{ts}\"}}\n{{\"level\":\"ERROR\",\"timestamp\":\"{ts}\"}}\n{{\"_aws\":{{}}}}"
        );
        assert_eq!(delivered(&logs, Some("WARN")).len(), 1);
        assert_eq!(delivered(&logs, Some("INFO")).len(), 2);
        assert_eq!(delivered(&logs, Some("TRACE")).len(), 3);
        assert_eq!(delivered(&logs, None).len(), 3);
    }

    #[test]
    fn rfc3339() {
        assert!(is_rfc3339("2026-11-30T12:00:00Z"));
        assert!(is_rfc3339("2026-11-30T12:00:00.1-05:30"));
        assert!(!is_rfc3339("2026-11-30T12:00:00"));
        assert!(!is_rfc3339("2026-11-30T12:00:00.Z"));
        assert!(!is_rfc3339("1764504000"));
    }
}
