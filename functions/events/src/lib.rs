//! `events`: publishes what the functions stored to the vendor's EventBridge bus, from the table's stream (no HTTP
//! route; `shared::partners::outbound_events` says which changes make which events). A batch the bus did not
//! take is handed back to Lambda from its first unpublished change (`ReportBatchItemFailures`), which retries it
//! and, past its retries, sends it to the dead-letter queue; a retried change makes the same `eventId`.

use serde_json::{Value, json};
use shared::env::Vars;
use shared::partners::outbound_events;
use shared::ports::event_bus::{EventBus, PublishError};
use shared::ports::store::changes;
use shared::telemetry::{Counter, MetricSink, Outcome, RequestRecord, emf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The function's state, built once per sandbox.
pub struct EventsFunction {
    bus: Arc<dyn EventBus>,
    namespace: String,
    sink: Arc<dyn MetricSink>,
    /// No batch was handled yet: the next is the sandbox's cold start.
    cold: AtomicBool,
}

impl EventsFunction {
    pub fn new(bus: Arc<dyn EventBus>, vars: &Vars) -> Self {
        let (namespace, sink) = shared::telemetry::sink::configured(vars);
        Self { bus, namespace, sink, cold: AtomicBool::new(true) }
    }

    pub fn with_sink(mut self, sink: Arc<dyn MetricSink>) -> Self {
        self.sink = sink;
        self
    }

    /// Handles a DynamoDB stream event; answers the records to retry (`{"batchItemFailures": [...]}`).
    pub async fn handle(&self, request_id: &str, event: &Value) -> Value {
        self.handle_traced(request_id, None, event).await
    }

    /// The same, in the X-Ray trace `trace_id`.
    pub async fn handle_traced(&self, request_id: &str, trace_id: Option<&str>, event: &Value) -> Value {
        let started = Instant::now();
        let cold_start = self.cold.swap(false, Ordering::Relaxed);
        let changes = match changes::from_stream_event(event) {
            Ok(changes) => changes,
            Err(error) => {
                tracing::error!(%error, "stream event unreadable; dropped");
                return json!({"batchItemFailures": []});
            }
        };
        let now = shared::ports::clock::now_epoch();
        // Each event with the position of the change that made it.
        let (positions, events): (Vec<usize>, Vec<_>) = changes
            .iter()
            .enumerate()
            .filter_map(|(i, change)| outbound_events::event_of(change, now).map(|event| (i, event)))
            .unzip();
        let (published, mut record) = RequestRecord::collect(self.bus.publish(&events)).await;
        // Lambda resumes a stream from the first record handed back: every later one goes with it.
        let first_failed = match &published {
            Ok(()) => None,
            Err(PublishError::Unavailable(_)) => positions.first().copied(),
            Err(PublishError::Refused(refused)) => refused.iter().filter_map(|i| positions.get(*i)).min().copied(),
        };
        if let Err(error) = &published {
            tracing::error!(%error, "events not published; handed back");
        }
        let handed_back: Vec<&str> = match first_failed {
            Some(first) => changes[first..].iter().map(|c| c.sequence.as_str()).collect(),
            None => Vec::new(),
        };
        let published_count = match first_failed {
            Some(first) => positions.iter().filter(|p| **p < first).count(),
            None => events.len(),
        };
        record.add(Counter::EventsPublished, published_count as u64);
        record.add(Counter::ColdStarts, u64::from(cold_start));
        let result = if handed_back.is_empty() { Outcome::Accepted } else { Outcome::Failed("bus_unavailable") };
        let latency = started.elapsed();
        tracing::info!(
            target: shared::edge::observed::REQUEST_TARGET,
            request_id,
            trace_id = trace_id.unwrap_or_default(),
            cold_start,
            function = "events",
            partner = "eventbridge",
            records = changes.len(),
            events = events.len(),
            published = published_count,
            handed_back = handed_back.len(),
            outcome = result.name(),
            latency_ms = latency.as_secs_f64() * 1e3,
            "stream batch"
        );
        let metrics = emf::RequestMetrics {
            namespace: &self.namespace,
            function: "events",
            request_id,
            outcome: result,
            latency,
            record: &record,
            timestamp_ms: shared::ports::clock::now_epoch_ms(),
        };
        for document in emf::documents(&metrics) {
            self.sink.emit(&document.to_string());
        }
        let failures: Vec<Value> = handed_back.iter().map(|s| json!({"itemIdentifier": s})).collect();
        json!({"batchItemFailures": failures})
    }
}
