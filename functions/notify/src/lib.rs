//! `notify`: tells Sber what changed, from the table's stream (no HTTP route): state pushes after readings and
//! after confirmed commands, device notifications after links, unlinks and model changes
//! (`shared::partners::sber::notify`). Failed records are reported back to Lambda (`ReportBatchItemFailures`), which
//! retries them and, past its retries, sends them to the dead-letter queue. EventBridge also invokes it on a
//! schedule: the silence check that pushes meters gone offline without a reading (`shared::partners::sber::silence`).

use serde_json::Value;
use shared::Deps;
use shared::edge::lambda::StreamHandler;
use shared::edge::stream_batch::{BatchReport, StreamObserver};
use shared::env::{ConfigError, Vars};
use shared::partners::sber::client::SberClient;
use shared::partners::sber::notify::Notifier;
use shared::partners::sber::settings::SberSettings;
use shared::ports::clock::Clock;
use shared::telemetry::{Counter, MetricSink};
use std::sync::Arc;

/// The function's state, built once per sandbox.
pub struct NotifyFunction {
    notifier: Notifier,
    observer: StreamObserver,
    clock: Clock,
}

impl NotifyFunction {
    pub fn new(deps: Deps, vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            notifier: Notifier {
                store: deps.store,
                secrets: deps.secrets,
                sber: SberClient::from_vars(vars)?,
                settings: SberSettings::from_vars(vars)?,
            },
            observer: StreamObserver::new("notify", "sber", "sber_unavailable", vars),
            clock: deps.clock,
        })
    }

    /// The same function with Sber's retry policy replaced (tests shorten the waits).
    pub fn with_retry(mut self, retry: shared::partners::sber::client::RetryPolicy) -> Self {
        self.notifier.sber.retry = retry;
        self
    }

    pub fn with_sink(mut self, sink: Arc<dyn MetricSink>) -> Self {
        self.observer = self.observer.with_sink(sink);
        self
    }

    /// Handles a DynamoDB stream event, answering the records to retry (`{"batchItemFailures": [...]}`), or
    /// EventBridge's scheduled event (the silence check, answered `{}`).
    pub async fn handle(&self, request_id: &str, event: &Value) -> Value {
        StreamHandler::handle_traced(self, request_id, None, event).await
    }
}

impl StreamHandler for NotifyFunction {
    /// The same, in the X-Ray trace `trace_id` (Lambda's, with the template's `Tracing=Active`).
    async fn handle_traced(&self, request_id: &str, trace_id: Option<&str>, event: &Value) -> Value {
        if is_scheduled(event) {
            return self.observer.observe_scheduled(request_id, trace_id, self.check_silence()).await;
        }
        self.observer
            .observe(request_id, trace_id, event, |changes| async move {
                let outcome = self.notifier.handle(&changes, self.clock.now()).await;
                shared::telemetry::count(Counter::SberStatePushes, outcome.pushes as u64);
                BatchReport { calls: outcome.calls, delivered: outcome.pushes, handed_back: outcome.failed }
            })
            .await
    }
}

impl NotifyFunction {
    /// The silence check, now.
    async fn check_silence(&self) -> BatchReport {
        let outcome = self.notifier.check_silence(self.clock.now()).await;
        shared::telemetry::count(Counter::SberStatePushes, outcome.pushes as u64);
        BatchReport { calls: outcome.calls, delivered: outcome.pushes, handed_back: outcome.failed }
    }
}

/// Whether `event` is EventBridge's scheduled event (`"detail-type": "Scheduled Event"` from `aws.events`).
fn is_scheduled(event: &Value) -> bool {
    event["source"] == "aws.events" && event["detail-type"] == "Scheduled Event"
}
