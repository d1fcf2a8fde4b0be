//! What the `events` function publishes, from the changes the other functions' writes really make (the store's
//! change feed, as the table's stream delivers them): one typed event per kind, each valid against its published
//! JSON Schema, no secret in any, the same `eventId` for a redelivered change, and a batch the bus did not take
//! handed back from its first unpublished change.

use serde_json::{Value, json};
use shared::partners::retailcrm::account::{Account, Accounts};
use shared::partners::smallcase::connection;
use shared::partners::smartme::payload::Reading;
use shared::partners::smartme::storage::{StorageSettings, store_readings};
use shared::partners::smartme::{Obis, UtcTicks};
use shared::partners::webhooks::stored::StoredEvent;
use shared::ports::event_bus::{EventBus, OutboundEvent, PublishError};
use shared::ports::store::changes::{Change, ChangeFeed, to_stream_event};
use shared::ports::store::embedded::EmbeddedStore;
use shared::ports::store::{Condition, Store};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchyard_events::EventsFunction;

const API_KEY: &str = "crm-api-key-must-not-leave";
const AUTH_ID: &str = "smallcase-auth-id-must-not-leave";
/// The test's "now": real time, as the store expires items by the wall clock (readings and batches carry a TTL).
fn now() -> i64 {
    static NOW: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *NOW.get_or_init(shared::ports::clock::now_epoch)
}

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

/// The changes the stores' writes make: a webhook delivery, a post of two meters' readings, an installation
/// registered then switched off and its settings saved, a user connecting to smallcase and then being removed.
async fn changes() -> Vec<Change> {
    let dir = std::env::temp_dir().join(testkit::unique_name("events"));
    std::fs::create_dir_all(&dir).unwrap();
    let collected: Arc<Mutex<Vec<Change>>> = Arc::default();
    let sink = {
        let collected = collected.clone();
        Arc::new(move |changes: Vec<Change>| collected.lock().unwrap().extend(changes))
    };
    let store = ChangeFeed::new(EmbeddedStore::open(&dir.join("store.redb")).unwrap(), sink);

    let delivery = StoredEvent {
        source: "schurter".into(),
        scheme: "schurter".into(),
        delivery_id: "evt-1".into(),
        received_at: now(),
        headers: Default::default(),
        body: br#"{"device":"S-1","alarm":true}"#.to_vec(),
    };
    store.put(delivery.to_item(), Condition::ItemAbsent).await.unwrap();

    let reading = |device: u128, second: i64| Reading {
        device_id: uuid::Uuid::from_u128(device),
        time: UtcTicks((now() - 60 + second) * 10_000_000),
        values: [(Obis::electricity(1, 8, 0), 1234.5)].into(),
    };
    let readings = [reading(1, 0), reading(1, 30), reading(1, 15), reading(2, 5)];
    let settings = StorageSettings {
        retention: Duration::from_secs(86_400),
        write_budget: Duration::from_secs(3),
        batch_events: true,
    };
    store_readings(&store, &readings, settings, now()).await.unwrap();
    // Redelivered by smart-me: nothing new stored, no second batch.
    store_readings(&store, &readings, settings, now() + 1).await.unwrap();

    let accounts = Accounts::new(&store);
    let account = Account {
        client_id: "client-1".into(),
        code: "switchyard".into(),
        system_url: "https://shop.retailcrm.ru".into(),
        api_key: API_KEY.into(),
        active: true,
        freeze: false,
        settings: None,
        created_at: now(),
        updated_at: now(),
    };
    accounts.save(&account).await.unwrap();
    accounts.record_activity("client-1", Some(false), None, now() + 10).await.unwrap();
    accounts.record_settings("client-1", r#"{"a":1}"#, now() + 20).await.unwrap();

    connection::connect(&store, "u-1", AUTH_ID, now() + 30).await.unwrap();
    connection::disconnect(&store, "u-1").await.unwrap();
    collected.lock().unwrap().clone()
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
        testkit::event_schemas::validate(event).unwrap();
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
    assert_eq!(first_meter["oldestReadingAt"], shared::ports::clock::rfc3339(now() - 60));
    assert_eq!(first_meter["newestReadingAt"], shared::ports::clock::rfc3339(now() - 30));
    assert_eq!(events[2]["detail"]["count"], 1);
    assert_eq!(events[3]["detail"]["active"], true);
    assert_eq!(events[4]["detail"]["active"], false);
    assert_eq!((&events[5]["detail"]["connected"], &events[6]["detail"]["connected"]), (&json!(true), &json!(false)));
    let ids: std::collections::BTreeSet<&str> =
        events.iter().map(|e| e["detail"]["eventId"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "every event has its own id");

    // A redelivered batch (Lambda's retry) makes the same events with the same ids.
    let again = Arc::new(RecordingBus::default());
    EventsFunction::new(again.clone(), &shared::env::Vars::default()).handle("retry", &to_stream_event(&changes)).await;
    assert_eq!(envelopes(&again), events);
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
            testkit::event_schemas::schema_path(source, detail_type).file_name().unwrap().to_string_lossy().into_owned()
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(testkit::event_schemas::schema_files(), expected);
}
