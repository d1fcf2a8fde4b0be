//! A metric sink that keeps the EMF documents a test's requests published, each checked against the EMF rules; and
//! the log lines one piece of work wrote.

use shared::telemetry::MetricSink;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct CollectedMetrics {
    documents: Mutex<Vec<serde_json::Value>>,
}

impl CollectedMetrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Every document so far, in order.
    pub fn documents(&self) -> Vec<serde_json::Value> {
        self.documents.lock().unwrap().clone()
    }

    /// The request documents (one per request), in order.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        self.documents().into_iter().filter(|d| d.get("Outcome").is_some()).collect()
    }

    /// The partner-call documents of `partner`, in order.
    pub fn partner(&self, partner: &str) -> Vec<serde_json::Value> {
        self.documents().into_iter().filter(|d| d["Partner"] == partner).collect()
    }
}

impl MetricSink for CollectedMetrics {
    fn emit(&self, line: &str) {
        assert!(!line.contains('\n'), "an EMF document is one line");
        let document: serde_json::Value = serde_json::from_str(line).expect("an EMF document is JSON");
        shared::telemetry::emf::validate(&document).unwrap_or_else(|e| panic!("invalid EMF document {line}: {e}"));
        self.documents.lock().unwrap().push(document);
    }
}

/// Where a test's subscriber writes: every line kept, for the test to read.
#[derive(Clone, Default)]
pub struct LogLines(Arc<Mutex<Vec<u8>>>);

impl LogLines {
    /// What was written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("log lines are UTF-8")
    }
}

impl std::io::Write for LogLines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogLines {
    type Writer = LogLines;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Runs `work` with the tracing events it writes (every level) kept as JSON lines, as a function's logs are;
/// answers its output and the lines.
pub async fn logged<F: std::future::Future>(work: F) -> (F::Output, Vec<serde_json::Value>) {
    use tracing::instrument::WithSubscriber;
    let lines = LogLines::default();
    let subscriber =
        tracing_subscriber::fmt().json().with_max_level(tracing::Level::TRACE).with_writer(lines.clone()).finish();
    let output = work.with_subscriber(subscriber).await;
    (output, lines.text().lines().map(|l| serde_json::from_str(l).expect("a JSON log line")).collect())
}
