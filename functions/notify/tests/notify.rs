//! Telling Sber: the table's change records (as a stream delivers them) through `notify`, against a fake of Sber's
//! partner API, on both stores. Every push and device body is checked against Sber's published category and
//! feature table (`spec.json`).

use lambda_http::{Body, Request};
use serde_json::{Value, json};
use shared::codec::BasicCredentials;
use shared::edge::handler::Handler;
use shared::env::Vars;
use shared::identity::users::Users;
use shared::partners::sber::client::RetryPolicy;
use shared::partners::smartme::post::reading;
use shared::ports::store::changes::{Change, ChangeFeed, Delivered, deliver};
use shared::ports::store::{Item, Store, Value as Attr, keys};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchyard_notify::NotifyFunction;
use testkit::aws::harness::Backend;
use testkit::partners::sber_api::{Failure, FakeSber};
use uuid::Uuid;

const API_KEY: &str = "sber-studio-api-key-for-tests";
const REALTIME: (&str, &str) = ("smartme-user", "smartme-password-for-notify");
const METER: Uuid = Uuid::from_u128(0x3bd0fce9_9f8e_4183_b3d1_0c1622a22ca1);
const SWITCH: [u8; 6] = [99, 0, 12, 0, 0, 0];

struct Stack {
    notify: NotifyFunction,
    metrics: Arc<testkit::assertions::telemetry::CollectedMetrics>,
    ingest: switchyard_ingest::IngestFunction,
    /// The operator's (and the user function's) writes, fed to the change log too.
    admin: Arc<dyn Store>,
    changes: Arc<Mutex<Vec<Change>>>,
    sber: FakeSber,
    alice: String,
    /// `notify`'s time: the readings' clock, moved on by the test.
    notify_time: testkit::clock::TestTime,
}

fn now() -> i64 {
    shared::ports::clock::now_epoch()
}

async fn stack(backend: Backend) -> Stack {
    let secrets =
        [("sber", json!({"api_key": API_KEY})), ("smartme", json!({"username": REALTIME.0, "password": REALTIME.1}))];
    let ports = testkit::aws::harness::ports(backend, &secrets).await;
    let changes: Arc<Mutex<Vec<Change>>> = Arc::default();
    let sink = {
        let changes = changes.clone();
        Arc::new(move |batch: Vec<Change>| changes.lock().unwrap().extend(batch))
    };
    let admin: Arc<dyn Store> = Arc::new(ChangeFeed::new(ports.admin.clone(), sink.clone()));
    // Every writer's changes reach the log, as a table's stream has them; the images are read by the harness.
    let feed = |store: Arc<dyn Store>| -> Arc<dyn Store> {
        Arc::new(ChangeFeed::observed_by(store, ports.admin.clone(), sink.clone()))
    };
    let ingest_deps = ports.as_function("ingest").await;
    let ingest_deps = shared::Deps { store: feed(ingest_deps.store), ..ingest_deps };
    let notify_deps = shared::Deps { store: feed(ports.deps.store.clone()), ..ports.deps.clone() };
    let sber = FakeSber::start(&format!("Bearer {API_KEY}")).await;
    let vars = Vars::from_pairs([("SBER_API_URL", sber.url.as_str()), ("SBER_TIMEOUT_MS", "1000")]);
    let fast = RetryPolicy { attempts: 3, first_backoff: Duration::from_millis(5), budget: Duration::from_secs(3) };
    let metrics = testkit::assertions::telemetry::CollectedMetrics::new();
    let notify_time = testkit::clock::TestTime::new();
    let notify = NotifyFunction::new(notify_deps.with_clock(notify_time.clock()), &vars)
        .unwrap()
        .with_retry(fast)
        .with_sink(metrics.clone());
    testkit::assertions::leaks::fixture_secrets([API_KEY, REALTIME.1, "alice-password-1"]);
    let alice = Users::new(admin.as_ref()).add("alice", "alice-password-1", now()).await.unwrap().id;
    let ingest = switchyard_ingest::IngestFunction::new(ingest_deps, &Vars::default()).unwrap();
    let stack = Stack { notify, metrics, ingest, admin, changes, sber, alice, notify_time };
    stack.take();
    stack
}

impl Stack {
    fn take(&self) -> Vec<Change> {
        std::mem::take(&mut *self.changes.lock().unwrap())
    }

    /// What Lambda's event source mapping would do with the changes so far (2 retries, then the dead letters).
    async fn deliver(&self) -> Delivered {
        deliver(self.take(), 2, |event| async move { self.notify.handle("test-request", &event).await }).await
    }

    /// Sber linked alice (what the user function records when Sber first asks who she is).
    async fn sber_links_alice(&self) {
        self.sber_links(&self.alice).await;
    }

    async fn sber_links(&self, user: &str) {
        let item = Item::new(keys::sber_link(user)).with("userId", Attr::str(user));
        self.admin.put(item, shared::ports::store::Condition::Always).await.unwrap();
    }

    /// EventBridge's scheduled invocation: the silence check.
    async fn scheduled(&self) -> Value {
        let event = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
        self.notify.handle("scheduled-request", &event).await
    }

    fn pushes(&self) -> Vec<Value> {
        self.sber.accepted().into_iter().filter(|c| c.path == "/v1/state").map(|c| c.body).collect()
    }

    async fn post(&self, values: &[([u8; 6], f64)], seconds_ago: i64) -> u16 {
        let body = shared::partners::smartme::post::body(vec![reading(METER, (now() - seconds_ago) * 1000, values)]);
        let mut request = Request::new(Body::Binary(body));
        *request.method_mut() = lambda_http::http::Method::POST;
        *request.uri_mut() = "/smartme/realtime".parse().unwrap();
        let auth = BasicCredentials::header_value(REALTIME.0, REALTIME.1);
        request.headers_mut().insert("authorization", auth.parse().unwrap());
        self.ingest.handle(request).await.status().as_u16()
    }
}

/// Links `meter` to `user` as a meter that switches (what the user function records once smart-me lists its switch
/// action): Sber is offered it.
async fn link_switching(store: &dyn Store, user: &str, meter: &str, name: &str) {
    Users::new(store).link_device(user, meter, name, now()).await.unwrap();
    let known = shared::identity::users::MeterOwner::switch_known(Some("1-0:99.12.0*255"), false);
    let key = keys::meter_owner(meter, user);
    store.update(&key, known, shared::ports::store::Condition::ItemPresent).await.unwrap();
}

fn spec() -> Value {
    let path = testkit::workspace_root().join("testdata/sber/categories.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A pushed device's states: every obligatory socket feature, each of its type and in its range.
fn check_states(states: &Value) {
    let spec = spec();
    let states = states.as_array().expect("states");
    for obligatory in spec["categories"]["socket"]["obligatory"].as_array().unwrap() {
        assert!(states.iter().any(|s| &s["key"] == obligatory), "{obligatory} missing: {states:?}");
    }
    for state in states {
        let function = &spec["functions"][state["key"].as_str().unwrap()];
        assert_eq!(state["value"]["type"], function["type"], "{state}");
        if let (Some(range), Some(value)) = (function["range"].as_str(), state["value"]["integer_value"].as_str()) {
            let (low, high) = range.split_once(", ").unwrap();
            let value: i64 = value.parse().unwrap();
            assert!((low.parse::<i64>().unwrap()..=high.parse().unwrap()).contains(&value), "{state} outside {range}");
        }
    }
}

fn check_device(device: &Value) {
    let spec = spec();
    let model = &device["model"];
    let category = &spec["categories"][model["category"].as_str().unwrap()];
    let features = model["features"].as_array().unwrap();
    for obligatory in category["obligatory"].as_array().unwrap() {
        assert!(features.contains(obligatory), "{obligatory} is obligatory: {model}");
    }
    for feature in features {
        assert!(category["features"].as_array().unwrap().contains(feature), "{feature}");
    }
}

async fn a_reading_pushes_what_sber_sees_and_a_redelivery_nothing(backend: Backend) {
    let stack = stack(backend).await;
    stack.sber_links_alice().await;
    link_switching(stack.admin.as_ref(), &stack.alice, &METER.to_string(), "Kitchen").await;
    let delivered = stack.deliver().await;
    assert!(delivered.dead_letters.is_empty());
    let added = stack.sber.accepted();
    assert_eq!(added.len(), 1, "{added:?}");
    assert_eq!((added[0].method.as_str(), added[0].path.as_str()), ("POST", "/v1/devices"));
    assert_eq!(added[0].body["user_id"], stack.alice.as_str(), "the id our /v1/user answers");
    check_device(&added[0].body["devices"][0]);

    let values = [([1, 0, 1, 7, 0, 255], 24.19), ([1, 0, 32, 7, 0, 255], 231.4), (SWITCH, 1.0)];
    assert_eq!(stack.post(&values, 2).await, 200);
    stack.deliver().await;
    let calls = stack.sber.accepted();
    let push = calls.iter().find(|c| c.path == "/v1/state").expect("a state push");
    let states = &push.body["devices"][METER.to_string()]["states"];
    check_states(states);
    assert!(
        states
            .as_array()
            .unwrap()
            .contains(&json!({"key": "power", "value": {"type": "INTEGER", "integer_value": "24"}}))
    );
    // The first readings settle the model (power, voltage, no current): Sber is told.
    stack.deliver().await;
    let changed = stack.sber.accepted().into_iter().find(|c| c.method == "PUT").expect("the model change");
    let model = &changed.body["devices"][0]["model"];
    assert_eq!(model["features"], json!(["online", "on_off", "power", "voltage"]));
    assert!(changed.body.get("user_id").is_none(), "PUT carries the devices only, as Sber's page shows it");
    check_device(&changed.body["devices"][0]);

    // Redelivered: nothing changes, nothing is pushed. The same values a second later: the same states.
    let before = stack.sber.calls().len();
    assert_eq!(stack.post(&values, 2).await, 200);
    assert_eq!(stack.post(&values, 1).await, 200);
    stack.deliver().await;
    assert_eq!(stack.sber.calls().len(), before, "no push for what Sber already has");
    // A changed value is pushed.
    assert_eq!(
        stack.post(&[([1, 0, 1, 7, 0, 255], 99.0), ([1, 0, 32, 7, 0, 255], 231.4), (SWITCH, 1.0)], 0).await,
        200
    );
    stack.deliver().await;
    assert_eq!(stack.sber.accepted().last().unwrap().path, "/v1/state");
}

async fn users_sber_has_not_linked_are_never_pushed(backend: Backend) {
    let stack = stack(backend).await;
    let users = Users::new(stack.admin.as_ref());
    users.link_device(&stack.alice, &METER.to_string(), "Kitchen", now()).await.unwrap();
    assert_eq!(stack.post(&[([1, 0, 1, 7, 0, 255], 5.0)], 1).await, 200);
    stack.deliver().await;
    stack.deliver().await;
    // Nor told of removals: Sber never had the devices.
    users.unlink_device(&stack.alice, &METER.to_string()).await.unwrap();
    users.link_device(&stack.alice, &METER.to_string(), "Kitchen", now()).await.unwrap();
    shared::partners::offboarding::remove_user(stack.admin.as_ref(), "alice", now()).await.unwrap();
    let delivered = stack.deliver().await;
    assert!(delivered.dead_letters.is_empty());
    assert!(stack.sber.calls().is_empty(), "{:?}", stack.sber.calls());
}

async fn sber_failing_is_retried_honouring_429_then_dead_lettered(backend: Backend) {
    let stack = stack(backend).await;
    stack.sber_links_alice().await;
    link_switching(stack.admin.as_ref(), &stack.alice, &METER.to_string(), "Kitchen").await;
    stack.deliver().await;
    // A 500 then a 429 (Retry-After 0): both retried inside the call; the push goes through.
    stack.sber.fail_next(&[Failure::ServerError, Failure::TooManyRequests(0)]);
    assert_eq!(stack.post(&[([1, 0, 1, 7, 0, 255], 7.0)], 3).await, 200);
    let delivered = stack.deliver().await;
    assert_eq!(delivered.invocations, 1);
    let pushes: Vec<_> = stack.sber.calls().into_iter().filter(|c| c.path == "/v1/state").collect();
    assert_eq!(pushes.iter().map(|c| c.status).collect::<Vec<_>>(), [500, 429, 200]);
    stack.deliver().await;
    // A Retry-After beyond the budget is not waited for: the record is handed back, and retried by the mapping.
    stack.sber.fail_next(&[Failure::TooManyRequests(3600)]);
    assert_eq!(stack.post(&[([1, 0, 1, 7, 0, 255], 8.0)], 2).await, 200);
    let delivered = stack.deliver().await;
    assert_eq!((delivered.invocations, delivered.dead_letters.len()), (2, 0), "handed back once, then taken");
    // Sber down for good: retried by the mapping, then dead-lettered with nothing lost.
    stack.sber.fail_always(Some(Failure::ServerError));
    assert_eq!(stack.post(&[([1, 0, 1, 7, 0, 255], 9.0)], 1).await, 200);
    let delivered = stack.deliver().await;
    assert_eq!(delivered.invocations, 3, "the first delivery and two retries");
    assert_eq!(delivered.dead_letters.len(), 1);
    assert_eq!(delivered.dead_letters[0].key, keys::meter_latest(&METER.to_string()));
}

async fn device_links_unlinks_and_removals_tell_sber(backend: Backend) {
    let stack = stack(backend).await;
    stack.sber_links_alice().await;
    let users = Users::new(stack.admin.as_ref());
    link_switching(stack.admin.as_ref(), &stack.alice, &METER.to_string(), "Kitchen").await;
    users.link_device(&stack.alice, &METER.to_string(), "Pantry", now()).await.unwrap();
    stack.deliver().await;
    let other = Uuid::from_u128(77).to_string();
    link_switching(stack.admin.as_ref(), &stack.alice, &other, "Garage").await;
    users.unlink_device(&stack.alice, &METER.to_string()).await.unwrap();
    stack.deliver().await;
    shared::partners::offboarding::remove_user(stack.admin.as_ref(), "alice", now()).await.unwrap();
    stack.deliver().await;
    let calls: Vec<(String, Value)> = stack.sber.accepted().into_iter().map(|c| (c.method, c.body)).collect();
    let methods: Vec<&str> = calls.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(methods, ["POST", "DELETE", "POST", "DELETE", "POST"], "{calls:?}");
    assert_eq!(calls[0].1["devices"][0]["name"], "Pantry", "linked and renamed in one batch: the last name");
    assert_eq!(calls[1].1, json!({"device_ids": [METER.to_string()]}));
    assert_eq!(calls[2].1["devices"][0]["id"], other);
    assert_eq!(calls[3].1, json!({"device_ids": [other]}), "removing the user removes their devices");
    assert_eq!(calls[4].1, json!({"user_id": stack.alice}), "and tells Sber to unlink them");
}

/// The vendor unlinks a user (their smart-me grant is gone): Sber hears `POST /v1/unlink {"user_id"}`, once, and
/// the link is forgotten, so nothing more is pushed for them; a Sber that fails keeps the request for the retry.
async fn the_vendors_unlink_reaches_sber_once(backend: Backend) {
    let stack = stack(backend).await;
    stack.sber_links_alice().await;
    stack.take();
    stack.sber.fail_next(&[Failure::ServerError, Failure::ServerError, Failure::ServerError]);
    shared::partners::sber::request_unlink(stack.admin.as_ref(), &stack.alice, now()).await.unwrap();
    let delivered = stack.deliver().await;
    assert!(delivered.dead_letters.is_empty(), "retried until Sber took it: {delivered:?}");
    let unlinks: Vec<Value> =
        stack.sber.accepted().into_iter().filter(|c| c.path == "/v1/unlink").map(|c| c.body).collect();
    assert_eq!(unlinks, [json!({"user_id": stack.alice})]);
    assert!(stack.admin.get(&keys::sber_link(&stack.alice)).await.unwrap().is_none(), "the link is forgotten");
    // Asked again for a user Sber no longer links: nothing to mark, nothing sent.
    shared::partners::sber::request_unlink(stack.admin.as_ref(), &stack.alice, now()).await.unwrap();
    stack.deliver().await;
    assert_eq!(stack.sber.accepted().iter().filter(|c| c.path == "/v1/unlink").count(), 1);
    // And a reading of a meter she owned pushes nothing.
    link_switching(stack.admin.as_ref(), &stack.alice, &METER.to_string(), "Kitchen").await;
    stack.deliver().await;
    assert_eq!(stack.post(&[(SWITCH, 1.0)], 5).await, 200);
    stack.deliver().await;
    assert!(stack.sber.accepted().iter().all(|c| c.path != "/v1/state" && c.path != "/v1/devices"));
}

fn online_in(push: &Value) -> Option<bool> {
    let states = push["devices"][METER.to_string()]["states"].as_array()?;
    states.iter().find(|s| s["key"] == "online").and_then(|s| s["value"]["bool_value"].as_bool())
}

/// A meter that uploads every 15 minutes stays online between its readings (its window is two intervals and a
/// minute); once silent past its window, the scheduled silence check pushes it offline (once), and its next
/// reading brings it back.
async fn a_silent_meter_goes_offline_at_sber_without_a_reading(backend: Backend) {
    let stack = stack(backend).await;
    stack.sber_links_alice().await;
    link_switching(stack.admin.as_ref(), &stack.alice, &METER.to_string(), "Kitchen").await;
    stack.deliver().await;
    // Readings 30 and 15 minutes ago: the meter uploads every 15 minutes.
    let values = [([1, 0, 1, 7, 0, 255], 40.0), (SWITCH, 1.0)];
    let newest = 15 * 60;
    assert_eq!(stack.post(&values, 2 * newest).await, 200);
    stack.deliver().await;
    stack.notify_time.set_ahead(-newest);
    assert_eq!(stack.post(&values, newest).await, 200);
    stack.deliver().await;
    stack.deliver().await;
    assert_eq!(stack.pushes().last().and_then(online_in), Some(true), "{:?}", stack.sber.calls());
    let pushed = stack.pushes().len();
    // Minute 14 after its newest reading: online still, nothing to push.
    stack.notify_time.set_ahead(14 * 60 - newest);
    assert_eq!(stack.scheduled().await, json!({}));
    assert_eq!(stack.pushes().len(), pushed, "online at minute 14");
    // Past its window (31 minutes) and the next check: pushed offline, once.
    stack.notify_time.set_ahead(31 * 60 + 5 * 60 - newest);
    stack.scheduled().await;
    let pushes = stack.pushes();
    assert_eq!(pushes.len(), pushed + 1, "{pushes:?}");
    assert_eq!(online_in(&pushes[pushed]), Some(false));
    check_states(&pushes[pushed]["devices"][METER.to_string()]["states"]);
    stack.scheduled().await;
    assert_eq!(stack.pushes().len(), pushed + 1, "told once");
    // It reports again: online.
    assert_eq!(stack.post(&values, 0).await, 200);
    stack.deliver().await;
    assert_eq!(stack.pushes().last().and_then(online_in), Some(true));
}

/// Sber hears when a meter turns out to switch (a reading of its switch state) and when it turns out not to (no
/// switch action at smart-me): added, then removed. A switch learnt while answering Sber's devices call is not sent
/// again: the answer carried the device.
async fn sber_hears_when_a_meter_turns_out_to_switch_or_not(backend: Backend) {
    let stack = stack(backend).await;
    stack.sber_links_alice().await;
    let users = Users::new(stack.admin.as_ref());
    users.link_device(&stack.alice, &METER.to_string(), "Kitchen", now()).await.unwrap();
    stack.deliver().await;
    assert!(stack.sber.calls().is_empty(), "not known to switch: not offered");
    assert_eq!(stack.post(&[([1, 0, 1, 7, 0, 255], 5.0), (SWITCH, 0.0)], 1).await, 200);
    stack.deliver().await;
    stack.deliver().await;
    let added: Vec<_> = stack.sber.accepted().into_iter().filter(|c| c.path == "/v1/devices").collect();
    assert_eq!(added.len(), 1, "{added:?}");
    assert_eq!((added[0].method.as_str(), &added[0].body["devices"][0]["id"]), ("POST", &json!(METER.to_string())));
    let none = shared::identity::users::MeterOwner::switch_known(None, false);
    let owner = keys::meter_owner(&METER.to_string(), &stack.alice);
    stack.admin.update(&owner, none, shared::ports::store::Condition::ItemPresent).await.unwrap();
    stack.deliver().await;
    let last = stack.sber.accepted().pop().unwrap();
    assert_eq!((last.method.as_str(), last.body.clone()), ("DELETE", json!({"device_ids": [METER.to_string()]})));

    let calls = stack.sber.calls().len();
    let other = Uuid::from_u128(78).to_string();
    users.link_device(&stack.alice, &other, "Hall", now()).await.unwrap();
    let in_answer = shared::identity::users::MeterOwner::switch_known(Some("1-0:99.12.0*255"), true);
    let owner = keys::meter_owner(&other, &stack.alice);
    stack.admin.update(&owner, in_answer, shared::ports::store::Condition::ItemPresent).await.unwrap();
    stack.deliver().await;
    assert_eq!(stack.sber.calls().len(), calls, "the devices answer told Sber");
}

/// Two users hold one meter, one device at Sber (its ids are unique per vendor): when one lets it go, Sber keeps the
/// device while the other still holds it; when the last one does, it is deleted.
async fn a_shared_meter_stays_at_sber_while_another_owner_holds_it(backend: Backend) {
    let stack = stack(backend).await;
    let bob = Users::new(stack.admin.as_ref()).add("bob", "bob-password-1", now()).await.unwrap().id;
    stack.sber_links_alice().await;
    stack.sber_links(&bob).await;
    link_switching(stack.admin.as_ref(), &stack.alice, &METER.to_string(), "Kitchen").await;
    link_switching(stack.admin.as_ref(), &bob, &METER.to_string(), "Flat kitchen").await;
    stack.deliver().await;
    let posted: Vec<Value> =
        stack.sber.accepted().into_iter().filter(|c| c.method == "POST").map(|c| c.body["user_id"].clone()).collect();
    assert_eq!(posted.len(), 2, "{posted:?}");
    let users = Users::new(stack.admin.as_ref());
    users.unlink_device(&stack.alice, &METER.to_string()).await.unwrap();
    stack.deliver().await;
    assert!(stack.sber.calls().iter().all(|c| c.method != "DELETE"), "bob still holds it");
    users.unlink_device(&bob, &METER.to_string()).await.unwrap();
    stack.deliver().await;
    let deletes: Vec<_> = stack.sber.accepted().into_iter().filter(|c| c.method == "DELETE").collect();
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].body, json!({"device_ids": [METER.to_string()]}));
}

/// Every call carries an `X-Request-Id` of its own; a call Sber refuses (4xx) is not retried nor handed back, and
/// is logged with Sber's answer and counted (`SberRefusals`).
async fn a_refused_call_is_logged_with_sbers_answer_and_counted(backend: Backend) {
    let stack = stack(backend).await;
    stack.sber_links_alice().await;
    link_switching(stack.admin.as_ref(), &stack.alice, &METER.to_string(), "Kitchen").await;
    stack.deliver().await;
    stack.sber.fail_next(&[Failure::BadRequest]);
    assert_eq!(stack.post(&[([1, 0, 1, 7, 0, 255], 7.0), (SWITCH, 1.0)], 1).await, 200);
    let (delivered, logs) = testkit::assertions::telemetry::logged(stack.deliver()).await;
    assert!(delivered.dead_letters.is_empty());
    assert_eq!(delivered.invocations, 1, "not handed back");
    let refused: Vec<_> = stack.sber.calls().into_iter().filter(|c| c.status == 400).collect();
    assert_eq!(refused.len(), 1, "not retried");
    let line = logs.iter().find(|l| l["fields"]["message"] == "Sber refused; not sent again").expect("logged");
    assert_eq!(line["fields"]["status"], 400);
    assert!(line["fields"]["answer"].as_str().unwrap().contains("Invalid argument"), "{line}");
    let counted: u64 = stack.metrics.requests().iter().filter_map(|d| d["SberRefusals"].as_u64()).sum();
    assert_eq!(counted, 1);
    let ids: Vec<String> = stack.sber.calls().into_iter().map(|c| c.request_id.expect("an X-Request-Id")).collect();
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "one per call: {ids:?}");
}

testkit::on_both_backends!(
    a_silent_meter_goes_offline_at_sber_without_a_reading,
    sber_hears_when_a_meter_turns_out_to_switch_or_not,
    a_shared_meter_stays_at_sber_while_another_owner_holds_it,
    a_refused_call_is_logged_with_sbers_answer_and_counted,
    a_reading_pushes_what_sber_sees_and_a_redelivery_nothing,
    users_sber_has_not_linked_are_never_pushed,
    sber_failing_is_retried_honouring_429_then_dead_lettered,
    device_links_unlinks_and_removals_tell_sber,
    the_vendors_unlink_reaches_sber_once,
);

/// Sber's partner API chains to a root Lambda's trust store lacks (the Russian Trusted Root CA): without the
/// operator's `SBER_CA_PEM` nothing reaches it and the change is kept for a retry; with it, the call goes through.
#[tokio::test]
async fn sber_behind_a_root_the_platform_lacks_is_reached_only_with_its_ca() {
    let ca = testkit::partners::tls::TestCa::new();
    let sber = testkit::partners::sber_api::start_tls(&format!("Bearer {API_KEY}"), &ca).await;
    let ports = testkit::aws::harness::ports(Backend::Embedded, &[("sber", json!({"api_key": API_KEY}))]).await;
    let changes: Arc<Mutex<Vec<Change>>> = Arc::default();
    let sink = {
        let changes = changes.clone();
        Arc::new(move |batch: Vec<Change>| changes.lock().unwrap().extend(batch))
    };
    let admin: Arc<dyn Store> = Arc::new(ChangeFeed::new(ports.admin.clone(), sink));
    let users = Users::new(admin.as_ref());
    let alice = users.add("alice", "alice-password-1", now()).await.unwrap().id;
    let link = Item::new(keys::sber_link(&alice)).with("userId", Attr::str(&alice));
    admin.put(link, shared::ports::store::Condition::Always).await.unwrap();
    link_switching(admin.as_ref(), &alice, &METER.to_string(), "Kitchen").await;
    let linked = std::mem::take(&mut *changes.lock().unwrap());
    let fast = RetryPolicy { attempts: 1, first_backoff: Duration::from_millis(1), budget: Duration::from_secs(3) };

    let untrusting = Vars::from_pairs([("SBER_API_URL", sber.url.as_str())]);
    let notify = NotifyFunction::new(ports.deps.clone(), &untrusting).unwrap().with_retry(fast);
    let delivered = deliver(linked.clone(), 0, |event| {
        let notify = &notify;
        async move { notify.handle("test-request", &event).await }
    })
    .await;
    assert_eq!(delivered.dead_letters.len(), 1, "the platform's roots alone cannot reach Sber");
    assert!(sber.calls().is_empty(), "no request got past the handshake");

    // On one line, as a CloudFormation parameter carries it.
    let one_line = ca.root_pem.replace('\n', " ");
    let trusting = Vars::from_pairs([("SBER_API_URL", sber.url.as_str()), ("SBER_CA_PEM", one_line.as_str())]);
    let notify = NotifyFunction::new(ports.deps.clone(), &trusting).unwrap().with_retry(fast);
    let delivered = deliver(linked, 0, |event| {
        let notify = &notify;
        async move { notify.handle("test-request", &event).await }
    })
    .await;
    assert!(delivered.dead_letters.is_empty());
    let added = sber.accepted();
    assert_eq!((added.len(), added[0].method.as_str()), (1, "POST"));

    // A value that is no certificate stops the function at its start, not at its first push.
    let broken = Vars::from_pairs([("SBER_CA_PEM", "not a certificate")]);
    let error = NotifyFunction::new(ports.deps.clone(), &broken).err().expect("refused").to_string();
    assert!(error.contains("SBER_CA_PEM"), "{error}");
}
