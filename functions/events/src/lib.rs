//! `events`: publishes what the functions stored to the vendor's EventBridge bus, from the table's stream (no HTTP
//! route; `shared::partners::outbound_events` says which changes make which events). A batch the bus did not
//! take is handed back to Lambda from its first unpublished change (`ReportBatchItemFailures`), which retries it
//! and, past its retries, sends it to the dead-letter queue; a retried change makes the same `eventId`.

use serde_json::Value;
use shared::edge::lambda::StreamHandler;
use shared::edge::stream_batch::{BatchReport, StreamObserver};
use shared::env::Vars;
use shared::partners::outbound_events;
use shared::ports::clock::Clock;
use shared::ports::event_bus::{EVENTS_PER_CALL, EventBus, PublishError};
use shared::telemetry::{Counter, MetricSink};
use std::sync::Arc;

/// The function's state, built once per sandbox.
pub struct EventsFunction {
    bus: Arc<dyn EventBus>,
    observer: StreamObserver,
    /// Stamps an event only when its stream record carries no time of its own.
    clock: Clock,
}

impl EventsFunction {
    pub fn new(bus: Arc<dyn EventBus>, vars: &Vars) -> Self {
        Self {
            bus,
            observer: StreamObserver::new("events", "eventbridge", "bus_unavailable", vars),
            clock: Clock::SYSTEM,
        }
    }

    /// The same function reading "now" from `clock`.
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    pub fn with_sink(mut self, sink: Arc<dyn MetricSink>) -> Self {
        self.observer = self.observer.with_sink(sink);
        self
    }

    /// Handles a DynamoDB stream event; answers the records to retry (`{"batchItemFailures": [...]}`).
    pub async fn handle(&self, request_id: &str, event: &Value) -> Value {
        StreamHandler::handle_traced(self, request_id, None, event).await
    }
}

impl StreamHandler for EventsFunction {
    /// The same, in the X-Ray trace `trace_id`.
    async fn handle_traced(&self, request_id: &str, trace_id: Option<&str>, event: &Value) -> Value {
        self.observer
            .observe(request_id, trace_id, event, |changes| async move {
                let now = self.clock.now();
                // Each event with the position of the change that made it.
                let (positions, events): (Vec<usize>, Vec<_>) = changes
                    .iter()
                    .enumerate()
                    .filter_map(|(i, change)| outbound_events::event_of(change, now).map(|event| (i, event)))
                    .unzip();
                let published = self.bus.publish(&events).await;
                if let Err(error) = &published {
                    tracing::error!(%error, "events not published; handed back");
                }
                // Lambda resumes a stream from the first record handed back: every later one goes with it.
                let first_failed = match &published {
                    Ok(()) => None,
                    Err(PublishError::Unavailable(_)) => positions.first().copied(),
                    Err(PublishError::Refused(refused)) => {
                        refused.iter().filter_map(|i| positions.get(*i)).min().copied()
                    }
                };
                let delivered = positions.iter().filter(|p| first_failed.is_none_or(|first| **p < first)).count();
                shared::telemetry::count(Counter::EventsPublished, delivered as u64);
                let handed_back = match first_failed {
                    Some(first) => changes[first..].iter().map(|c| c.sequence.clone()).collect(),
                    None => Vec::new(),
                };
                BatchReport { calls: events.len().div_ceil(EVENTS_PER_CALL), delivered, handed_back }
            })
            .await
    }
}
