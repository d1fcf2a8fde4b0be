//! The changes the other functions' writes really make, for the events tests.

use shared::partners::retailcrm::account::{Account, Accounts};
use shared::partners::smallcase::connection;
use shared::partners::smartme::payload::Reading;
use shared::partners::smartme::storage::{StorageSettings, store_readings};
use shared::partners::smartme::{Obis, UtcTicks};
use shared::partners::webhooks::stored::StoredEvent;
use shared::ports::store::changes::{Change, ChangeFeed};
use shared::ports::store::embedded::EmbeddedStore;
use shared::ports::store::{Condition, Store};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const API_KEY: &str = "crm-api-key-must-not-leave";
pub const AUTH_ID: &str = "smallcase-auth-id-must-not-leave";
/// The test's "now": real time, as the store expires items by the wall clock (readings and batches carry a TTL).
pub fn now() -> i64 {
    static NOW: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *NOW.get_or_init(shared::ports::clock::now_epoch)
}

/// The changes the stores' writes make: a webhook delivery, a post of two meters' readings, an installation
/// registered then switched off and its settings saved, a user connecting to smallcase and then being removed, a user
/// added with a meter, Sber linking that user and the vendor unlinking them.
pub async fn changes() -> Vec<Change> {
    let dir = std::env::temp_dir().join(testkit::unique_name("events"));
    std::fs::create_dir_all(&dir).unwrap();
    let collected: Arc<Mutex<Vec<Change>>> = Arc::default();
    let sink = {
        let collected = collected.clone();
        Arc::new(move |changes: Vec<Change>| collected.lock().unwrap().extend(changes))
    };
    // The stream stamps each record with the time of its change: here the test's own "now".
    let store = ChangeFeed::new(EmbeddedStore::open(&dir.join("store.redb")).unwrap(), sink)
        .with_clock(shared::ports::clock::Clock::reading(now));

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
        scopes: None,
        created_at: now(),
        updated_at: now(),
    };
    accounts.save(&account).await.unwrap();
    accounts.record_activity("client-1", Some(false), None, now() + 10).await.unwrap();
    accounts.record_settings("client-1", r#"{"a":1}"#, now() + 20).await.unwrap();

    connection::connect(&store, "u-1", AUTH_ID, now() + 30).await.unwrap();
    connection::disconnect(&store, "u-1").await.unwrap();

    // A user who owns a meter (an owner item in the meter's partition: what tells Sber, no event).
    let users = shared::identity::users::Users::new(&store);
    let user = users.add("meter-owner", "meter-owner-password", now()).await.unwrap();
    users.link_device(&user.id, &uuid::Uuid::from_u128(1).to_string(), "Hall", now()).await.unwrap();

    // Sber links the user, then the vendor unlinks them (what tells Sber `POST /v1/unlink`, no event).
    let link = shared::ports::store::Item::new(shared::ports::store::keys::sber_link(&user.id));
    store.put(link.with("userId", shared::ports::store::Value::str(&user.id)), Condition::Always).await.unwrap();
    shared::partners::sber::request_unlink(&store, &user.id, now()).await.unwrap();
    collected.lock().unwrap().clone()
}
