//! The text log format (the runner on a terminal): a caller's bytes in any field, the message included, make one
//! bounded line without control characters, so they can neither forge a line nor drive the terminal.

use shared::telemetry::text_fields::BoundedFields;
use testkit::assertions::telemetry::LogLines;

#[test]
fn a_hostile_field_stays_one_bounded_line() {
    let lines = LogLines::default();
    let subscriber = lambda_http::tracing::subscriber::fmt()
        .fmt_fields(BoundedFields)
        .without_time()
        .with_ansi(false)
        .with_writer(lines.clone())
        .finish();
    let hostile = format!("evil\n2026-12-03 INFO forged line\x1b[2J{}", "\u{7}".repeat(70_000));
    tracing::subscriber::with_default(subscriber, || {
        tracing::warn!(system_url = hostile.as_str(), shown = %hostile, "registration {hostile}");
    });
    let text = lines.text();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.len() < 8 * 1024, "{} bytes", text.len());
    assert!(!text.trim_end().chars().any(char::is_control));
    assert!(text.contains("system_url=evil\\n2026-12-03 INFO forged line\\u{1b}[2J"), "{text}");
}
