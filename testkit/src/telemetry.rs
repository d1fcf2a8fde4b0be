//! A metric sink that keeps the EMF documents a test's requests published, each checked against the EMF rules.

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
