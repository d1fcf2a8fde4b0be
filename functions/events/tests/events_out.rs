//! What the `events` function publishes, from the changes the other functions' writes really make (the store's
//! change feed, as the table's stream delivers them): one typed event per kind, each valid against its published
//! JSON Schema, no secret in any, the same `eventId` for a redelivered change, and a batch the bus did not take
//! handed back from its first unpublished change.

use serde_json::{Value, json};
use shared::ports::event_bus::{EventBus, OutboundEvent, PublishError};
use shared::ports::store::changes::to_stream_event;
use std::sync::{Arc, Mutex};
use switchyard_events::EventsFunction;

mod common;

use common::{API_KEY, AUTH_ID, changes, now};

/// A bus that keeps what it takes, or refuses as told.
#[derive(Default)]
struct RecordingBus {
    taken: Mutex<Vec<OutboundEvent>>,
    refuse: Mutex<Option<PublishError>>,
}

#[async_trait::async_trait]
impl EventBus for RecordingBus {
    async fn publish(&self, events: &[OutboundEvent]) -> Result<(), PublishError> {
        if let Some(refusal) = self.refuse.lock().unwrap().take() {
            if let PublishError::Refused(refused) = &refusal {
                let taken = events.iter().enumerate().filter(|(i, _)| !refused.contains(i)).map(|(_, e)| e.clone());
                self.taken.lock().unwrap().extend(taken);
            }
            return Err(refusal);
        }
        self.taken.lock().unwrap().extend_from_slice(events);
        Ok(())
    }
}

fn envelopes(bus: &RecordingBus) -> Vec<Value> {
    bus.taken.lock().unwrap().iter().map(OutboundEvent::envelope).collect()
}

#[tokio::test]
async fn each_kind_is_published_typed_and_without_secrets() {
    let changes = changes().await;
    let bus = Arc::new(RecordingBus::default());
    let function = EventsFunction::new(bus.clone(), &shared::env::Vars::default());
    let answer = function.handle("test", &to_stream_event(&changes)).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));

    let events = envelopes(&bus);
    let kinds: Vec<(&str, &str)> =
        events.iter().map(|e| (e["source"].as_str().unwrap(), e["detail-type"].as_str().unwrap())).collect();
    assert_eq!(
        kinds,
        [
            ("switchyard.webhooks", "Webhook Received"),
            ("switchyard.smartme", "Meter Readings Stored"),
            ("switchyard.smartme", "Meter Readings Stored"),
            ("switchyard.retailcrm", "Installation Registered"),
            ("switchyard.retailcrm", "Installation Activity Changed"),
            ("switchyard.smallcase", "Connection Changed"),
            ("switchyard.smallcase", "Connection Changed"),
        ],
        "one event per change that means something (settings alone and redeliveries mean nothing)"
    );
    for event in &events {
        testkit::assertions::event_schemas::validate(event).unwrap();
    }
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(API_KEY) && !text.contains(AUTH_ID), "no credential leaves: {text}");
    assert!(!text.contains("alarm"), "webhook bodies stay in the table: {text}");

    let webhook = &events[0]["detail"];
    assert_eq!(
        (&webhook["source"], &webhook["deliveryId"], &webhook["bytes"]),
        (&json!("schurter"), &json!("evt-1"), &json!(29))
    );
    let first_meter = &events[1]["detail"];
    assert_eq!(first_meter["deviceId"], uuid::Uuid::from_u128(1).to_string());
    assert_eq!(first_meter["count"], 3);
    assert_eq!(first_meter["oldestReadingAt"], shared::time_text::rfc3339(now() - 60));
    assert_eq!(first_meter["newestReadingAt"], shared::time_text::rfc3339(now() - 30));
    assert_eq!(events[2]["detail"]["count"], 1);
    assert_eq!(events[3]["detail"]["active"], true);
    assert_eq!(events[4]["detail"]["active"], false);
    assert_eq!((&events[5]["detail"]["connected"], &events[6]["detail"]["connected"]), (&json!(true), &json!(false)));
    let ids: std::collections::BTreeSet<&str> =
        events.iter().map(|e| e["detail"]["eventId"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "every event has its own id");

    // Each event carries its change's time (the stream record's), not the time it was published.
    assert!(events.iter().all(|e| e["time"] == shared::time_text::rfc3339(now())), "{events:?}");

    // A redelivered batch (Lambda's retry, here an hour later) makes byte-identical events with the same ids.
    let again = Arc::new(RecordingBus::default());
    let an_hour_later = shared::ports::clock::Clock::reading(|| now() + 3600);
    let later = EventsFunction::new(again.clone(), &shared::env::Vars::default()).with_clock(an_hour_later);
    later.handle("retry", &to_stream_event(&changes)).await;
    assert_eq!(serde_json::to_string(&envelopes(&again)).unwrap(), serde_json::to_string(&events).unwrap());
}

#[tokio::test]
async fn what_the_bus_did_not_take_is_handed_back_from_its_first_change() {
    let changes = changes().await;
    let sequences: Vec<&str> = changes.iter().map(|c| c.sequence.as_str()).collect();
    let position_of_event = |n: usize| {
        changes
            .iter()
            .enumerate()
            .filter(|(_, c)| shared::partners::outbound_events::event_of(c, now()).is_some())
            .nth(n)
            .unwrap()
            .0
    };

    // The bus refused the fourth event: the batch resumes from the change that made it.
    let bus = Arc::new(RecordingBus::default());
    *bus.refuse.lock().unwrap() = Some(PublishError::Refused(vec![3, 5]));
    let function = EventsFunction::new(bus.clone(), &shared::env::Vars::default());
    let answer = function.handle("refused", &to_stream_event(&changes)).await;
    let handed_back: Vec<&str> =
        answer["batchItemFailures"].as_array().unwrap().iter().map(|f| f["itemIdentifier"].as_str().unwrap()).collect();
    assert_eq!(handed_back, sequences[position_of_event(3)..]);

    // Unreachable: everything from the first change that makes an event.
    let bus = Arc::new(RecordingBus::default());
    *bus.refuse.lock().unwrap() = Some(PublishError::Unavailable("throttled".into()));
    let function = EventsFunction::new(bus.clone(), &shared::env::Vars::default());
    let answer = function.handle("down", &to_stream_event(&changes)).await;
    assert_eq!(answer["batchItemFailures"].as_array().unwrap().len(), changes.len() - position_of_event(0));
}

#[test]
fn every_kind_has_a_schema_and_every_schema_a_kind() {
    let expected: Vec<String> = shared::partners::outbound_events::KINDS
        .iter()
        .map(|(source, detail_type)| {
            testkit::assertions::event_schemas::schema_path(source, detail_type)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(testkit::assertions::event_schemas::schema_files(), expected);
}
