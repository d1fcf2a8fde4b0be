//! Where outbound events go: an EventBridge bus when deployed (feature `eventbridge`), a JSON-lines file for the
//! local runner (`switchyard events tail` reads it).

use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

/// PutEvents takes at most ten entries a call.
pub const EVENTS_PER_CALL: usize = 10;

/// One event for the vendor's systems, as EventBridge's PutEvents takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundEvent {
    /// `switchyard.<partner>`.
    pub source: String,
    pub detail_type: String,
    /// Carries `eventId`, stable across redeliveries of the same change: consumers deduplicate on it.
    pub detail: Value,
    /// Epoch seconds of the change.
    pub time: i64,
}

impl OutboundEvent {
    /// The event as the bus shows it to rules and targets (without the id and account EventBridge adds).
    pub fn envelope(&self) -> Value {
        json!({
            "source": self.source,
            "detail-type": self.detail_type,
            "time": crate::time_text::rfc3339(self.time),
            "detail": self.detail,
        })
    }
}

/// Why events were not all published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// The bus took none of them (unreachable, throttled, denied): all may be sent again.
    #[error("the event bus is unavailable: {0}")]
    Unavailable(String),
    /// The bus refused these (by index in the call), and took the others.
    #[error("the event bus refused {} of the events", .0.len())]
    Refused(Vec<usize>),
}

#[async_trait::async_trait]
pub trait EventBus: Send + Sync {
    async fn publish(&self, events: &[OutboundEvent]) -> Result<(), PublishError>;
}

/// Appends each event's envelope as one JSON line to a file.
pub struct FileBus {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileBus {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), lock: Mutex::new(()) }
    }
}

#[async_trait::async_trait]
impl EventBus for FileBus {
    async fn publish(&self, events: &[OutboundEvent]) -> Result<(), PublishError> {
        let _guard = self.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut text = String::new();
        for event in events {
            text.push_str(&event.envelope().to_string());
            text.push('\n');
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| PublishError::Unavailable(format!("{}: {e}", self.path.display())))?;
        file.write_all(text.as_bytes()).map_err(|e| PublishError::Unavailable(e.to_string()))
    }
}

#[cfg(feature = "eventbridge")]
pub use eventbridge::EventBridgeBus;

#[cfg(feature = "eventbridge")]
mod eventbridge {
    use super::{EVENTS_PER_CALL, EventBus, OutboundEvent, PublishError};
    use aws_sdk_eventbridge::types::PutEventsRequestEntry;

    /// An EventBridge event bus, by name or ARN.
    pub struct EventBridgeBus {
        client: aws_sdk_eventbridge::Client,
        bus: String,
    }

    impl EventBridgeBus {
        pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
            Self { client, bus: bus.into() }
        }
    }

    #[async_trait::async_trait]
    impl EventBus for EventBridgeBus {
        async fn publish(&self, events: &[OutboundEvent]) -> Result<(), PublishError> {
            let mut refused = Vec::new();
            for (chunk_index, chunk) in events.chunks(EVENTS_PER_CALL).enumerate() {
                let entries = chunk.iter().map(|event| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus)
                        .source(&event.source)
                        .detail_type(&event.detail_type)
                        .detail(event.detail.to_string())
                        .time(aws_sdk_eventbridge::primitives::DateTime::from_secs(event.time))
                        .build()
                });
                let answer =
                    self.client.put_events().set_entries(Some(entries.collect())).send().await.map_err(|e| {
                        PublishError::Unavailable(aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string())
                    })?;
                // Entries answer in order; a failed one carries an error code.
                for (i, entry) in answer.entries().iter().enumerate() {
                    if entry.error_code().is_some() {
                        refused.push(chunk_index * EVENTS_PER_CALL + i);
                    }
                }
            }
            if refused.is_empty() { Ok(()) } else { Err(PublishError::Refused(refused)) }
        }
    }
}
