//! `notify`: tells Sber what changed, from the table's stream (no HTTP route): state pushes after readings and
//! after confirmed commands, device notifications after links, unlinks and model changes
//! (`shared::partners::sber::notify`). Failed records are reported back to Lambda (`ReportBatchItemFailures`), which retries
//! them and, past its retries, sends them to the dead-letter queue.

use serde_json::{Value, json};
use shared::Deps;
use shared::env::{ConfigError, Vars};
use shared::partners::sber::features::Units;
use shared::partners::sber::notify::Notifier;
use shared::partners::sber::partner_api::SberApi;
use shared::ports::clock::Clock;
use shared::ports::store::changes;
use shared::telemetry::{Counter, MetricSink, Outcome, RequestRecord, emf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The function's state, built once per sandbox.
pub struct NotifyFunction {
    notifier: Notifier,
    namespace: String,
    sink: Arc<dyn MetricSink>,
    clock: Clock,
    /// No batch was handled yet: the next is the sandbox's cold start.
    cold: AtomicBool,
}

impl NotifyFunction {
    pub fn new(deps: Deps, vars: &Vars) -> Result<Self, ConfigError> {
        let power_to_w: f64 = vars.parse_or("SMARTME_POWER_TO_W", 1.0)?;
        let units = Units { power_to_w, energy_unit: vars.get_or("SMARTME_ENERGY_UNIT", "Wh").to_owned() };
        let (namespace, sink) = shared::telemetry::sink::configured(vars);
        Ok(Self {
            notifier: Notifier {
                store: deps.store,
                secrets: deps.secrets,
                sber: SberApi::from_vars(vars)?,
                units,
                online_window_s: vars.parse_or("SBER_ONLINE_WINDOW_S", 300)?,
            },
            namespace,
            sink,
            clock: deps.clock,
            cold: AtomicBool::new(true),
        })
    }

    /// The same function with Sber's retry policy replaced (tests shorten the waits).
    pub fn with_retry(mut self, retry: shared::partners::sber::partner_api::RetryPolicy) -> Self {
        self.notifier.sber.retry = retry;
        self
    }

    pub fn with_sink(mut self, sink: Arc<dyn MetricSink>) -> Self {
        self.sink = sink;
        self
    }

    /// Handles a DynamoDB stream event; answers the records to retry (`{"batchItemFailures": [...]}`).
    pub async fn handle(&self, request_id: &str, event: &Value) -> Value {
        self.handle_traced(request_id, None, event).await
    }

    /// The same, in the X-Ray trace `trace_id` (Lambda's, with the template's `Tracing=Active`).
    pub async fn handle_traced(&self, request_id: &str, trace_id: Option<&str>, event: &Value) -> Value {
        let started = Instant::now();
        let cold_start = self.cold.swap(false, Ordering::Relaxed);
        let changes = match changes::from_stream_event(event) {
            Ok(changes) => changes,
            Err(error) => {
                // Nothing in it can be read: retrying the same bytes cannot help.
                tracing::error!(%error, "stream event unreadable; dropped");
                return json!({"batchItemFailures": []});
            }
        };
        let (outcome, mut record) = RequestRecord::collect(self.notifier.handle(&changes, self.clock.now())).await;
        record.add(Counter::SberStatePushes, outcome.pushes as u64);
        record.add(Counter::ColdStarts, u64::from(cold_start));
        let result = if outcome.failed.is_empty() { Outcome::Accepted } else { Outcome::Failed("sber_unavailable") };
        let latency = started.elapsed();
        tracing::info!(
            target: shared::edge::observed::REQUEST_TARGET,
            request_id,
            trace_id = trace_id.unwrap_or_default(),
            cold_start,
            function = "notify",
            partner = "sber",
            records = changes.len(),
            calls = outcome.calls,
            pushes = outcome.pushes,
            handed_back = outcome.failed.len(),
            outcome = result.name(),
            latency_ms = latency.as_secs_f64() * 1e3,
            "stream batch"
        );
        let metrics = emf::RequestMetrics {
            namespace: &self.namespace,
            function: "notify",
            request_id,
            outcome: result,
            latency,
            record: &record,
            timestamp_ms: shared::ports::clock::now_epoch_ms(),
        };
        for document in emf::documents(&metrics) {
            self.sink.emit(&document.to_string());
        }
        // For a stream, Lambda retries from the first failed record: every later one is handed back with it.
        let failures: Vec<Value> = outcome.failed.iter().map(|s| json!({"itemIdentifier": s})).collect();
        json!({"batchItemFailures": failures})
    }
}
