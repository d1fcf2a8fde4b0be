//! A stream consumer's batch observed as [`super::observed::Observed`] observes a request: the sandbox's cold start,
//! one `stream batch` line (target [`REQUEST_TARGET`], kept at every log level), its metrics, and the answer Lambda
//! reads (`{"batchItemFailures": [...]}`; for a stream it resumes from the first record handed back).

use super::observed::REQUEST_TARGET;
use crate::env::Vars;
use crate::ports::store::changes::{self, Change};
use crate::telemetry::sink::RequestMetricsOut;
use crate::telemetry::{Counter, MetricSink, Outcome, RequestRecord};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// What handling one batch came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Calls made to the partner (or the bus).
    pub calls: usize,
    /// What reached it: state pushes, events.
    pub delivered: usize,
    /// Sequence numbers handed back, the first failed record's and every later one's.
    pub handed_back: Vec<String>,
}

/// One stream function's observer, built once per sandbox.
pub struct StreamObserver {
    function: &'static str,
    partner: &'static str,
    /// What a handed-back batch counts as (`Failed` by this reason).
    failure: &'static str,
    metrics: RequestMetricsOut,
    /// No batch was handled yet: the next is the sandbox's cold start.
    cold: AtomicBool,
}

impl StreamObserver {
    pub fn new(function: &'static str, partner: &'static str, failure: &'static str, vars: &Vars) -> Self {
        Self { function, partner, failure, metrics: RequestMetricsOut::from_vars(vars), cold: AtomicBool::new(true) }
    }

    pub fn with_sink(mut self, sink: Arc<dyn MetricSink>) -> Self {
        self.metrics = self.metrics.with_sink(sink);
        self
    }

    /// Runs `work` over the changes of the stream event `event` (in the X-Ray trace `trace_id`), and answers Lambda.
    /// A counter `work` adds (`telemetry::count`) is published with the batch's metrics.
    pub async fn observe<F, Fut>(&self, request_id: &str, trace_id: Option<&str>, event: &Value, work: F) -> Value
    where
        F: FnOnce(Vec<Change>) -> Fut,
        Fut: Future<Output = BatchReport>,
    {
        let changes = match changes::from_stream_event(event) {
            Ok(changes) => changes,
            Err(error) => {
                // Nothing in it can be read: retrying the same bytes cannot help.
                tracing::error!(%error, "stream event unreadable; dropped");
                return json!({"batchItemFailures": []});
            }
        };
        let records = changes.len();
        let report = self.run(request_id, trace_id, "stream batch", records, work(changes)).await;
        let failures: Vec<Value> = report.handed_back.iter().map(|s| json!({"itemIdentifier": s})).collect();
        json!({"batchItemFailures": failures})
    }

    /// Runs `work` for a scheduled invocation (EventBridge's `Scheduled Event`), observed as a batch: one
    /// `scheduled run` line and its metrics. What `work` hands back stays for the next run; Lambda is answered `{}`.
    pub async fn observe_scheduled<Fut>(&self, request_id: &str, trace_id: Option<&str>, work: Fut) -> Value
    where
        Fut: Future<Output = BatchReport>,
    {
        self.run(request_id, trace_id, "scheduled run", 0, work).await;
        json!({})
    }

    async fn run<Fut>(
        &self,
        request_id: &str,
        trace_id: Option<&str>,
        line: &'static str,
        records: usize,
        work: Fut,
    ) -> BatchReport
    where
        Fut: Future<Output = BatchReport>,
    {
        let started = Instant::now();
        let cold_start = self.cold.swap(false, Ordering::Relaxed);
        let (report, mut record) = RequestRecord::collect(work).await;
        record.add(Counter::ColdStarts, u64::from(cold_start));
        let outcome = if report.handed_back.is_empty() { Outcome::Accepted } else { Outcome::Failed(self.failure) };
        let latency = started.elapsed();
        tracing::info!(
            target: REQUEST_TARGET,
            request_id,
            trace_id = trace_id.unwrap_or_default(),
            cold_start,
            function = self.function,
            partner = self.partner,
            records,
            calls = report.calls,
            delivered = report.delivered,
            handed_back = report.handed_back.len(),
            outcome = outcome.name(),
            latency_ms = latency.as_secs_f64() * 1e3,
            "{line}"
        );
        let now_ms = crate::ports::clock::now_epoch_ms();
        self.metrics.publish(self.function, request_id, outcome, latency, &record, now_ms);
        report
    }
}
