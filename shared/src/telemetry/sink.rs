//! Where a function's EMF documents go, and whether it publishes any: `METRICS_NAMESPACE`.

use std::io::Write;
use std::sync::Arc;

/// The variable naming the metrics namespace.
pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";

/// Where EMF documents go.
pub trait MetricSink: Send + Sync {
    fn emit(&self, line: &str);
}

/// Standard output, where Lambda's log agent picks EMF lines up; one write per line keeps lines whole.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdoutMetrics;

impl MetricSink for StdoutMetrics {
    fn emit(&self, line: &str) {
        let mut buffered = String::with_capacity(line.len() + 1);
        buffered.push_str(line);
        buffered.push('\n');
        // A closed stdout must not fail the request.
        let _ = std::io::stdout().lock().write_all(buffered.as_bytes());
    }
}

/// No metrics (the local runner: its request log line says the same).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;

impl MetricSink for NoMetrics {
    fn emit(&self, _line: &str) {}
}

/// Where one function's request metrics go: the namespace and sink `METRICS_NAMESPACE` asks for (`Switchyard`
/// when unset; set and empty, as the template's `CustomMetrics=off` sets it, no metrics at all).
pub struct RequestMetricsOut {
    namespace: String,
    sink: Arc<dyn MetricSink>,
}

impl RequestMetricsOut {
    pub fn from_vars(vars: &crate::env::Vars) -> Self {
        let namespace = vars.get_raw(METRICS_NAMESPACE).unwrap_or(super::emf::DEFAULT_NAMESPACE).trim().to_owned();
        let sink: Arc<dyn MetricSink> =
            if namespace.is_empty() { Arc::new(NoMetrics) } else { Arc::new(StdoutMetrics) };
        Self { namespace, sink }
    }

    /// The same namespace, written to `sink`.
    pub fn with_sink(self, sink: Arc<dyn MetricSink>) -> Self {
        Self { sink, ..self }
    }

    /// Writes the EMF documents of one request (or stream batch) of `function`, stamped `timestamp_ms`.
    pub fn publish(
        &self,
        function: &str,
        request_id: &str,
        outcome: super::Outcome,
        latency: std::time::Duration,
        record: &super::RequestRecord,
        timestamp_ms: u64,
    ) {
        let metrics = super::emf::RequestMetrics {
            namespace: &self.namespace,
            function,
            request_id,
            outcome,
            latency,
            record,
            timestamp_ms,
        };
        for document in super::emf::documents(&metrics) {
            self.sink.emit(&document.to_string());
        }
    }
}
