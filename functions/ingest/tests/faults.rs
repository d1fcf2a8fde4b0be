//! smart-me deliveries while DynamoDB throttles, fails, drops connections, answers late and leaves batches
//! unprocessed, and through two outages: a sender that re-sends (backing off) every post not answered 200 ends
//! with every reading stored exactly once. Nothing in it depends on the machine's speed: the outages start and end
//! on what the senders saw, and the fault proxy's timings are its own (see `testkit::aws::faults`).

use lambda_http::{Body, Request};
use prost::Message;
use shared::codec::BasicCredentials;
use shared::edge::handler::Handler;
use shared::partners::smartme::UtcTicks;
use shared::partners::smartme::bcl::uuid_to_guid;
use shared::partners::smartme::proto::{DeviceData, DeviceDataArray, DeviceValue};
use shared::ports::store::{Query, SortRange, keys};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use switchyard_ingest::IngestFunction;
use testkit::aws::faults::{Fault, Faulty, Plan, Service};
use uuid::Uuid;

const USER: &str = "smartme-user";
const PASSWORD: &str = "smartme-password-for-faults";
const READINGS: usize = 10_000;
const DEVICES: usize = 20;
const POWER: [u8; 6] = [1, 0, 1, 7, 0, 255];
const SENDERS: usize = 4;

/// Reading `k`: its device, its time (ms) and its power, all derived from `k` so the check can recompute them.
fn reading(k: usize, start_ms: i64) -> (Uuid, i64, f64) {
    (Uuid::from_u128(9_000 + (k % DEVICES) as u128), start_ms + (k / DEVICES) as i64 * 1000, k as f64)
}

fn item(k: usize, start_ms: i64) -> DeviceData {
    let (device, ms, power) = reading(k, start_ms);
    item_at(device, ms, power)
}

fn item_at(device: Uuid, ms: i64, power: f64) -> DeviceData {
    DeviceData {
        device_id: uuid_to_guid(device),
        date_time: UtcTicks(ms * 10_000).to_bcl(),
        device_values: vec![
            DeviceValue { obis: vec![1, 0, 1, 8, 0, 255], value: 10.0 * power },
            DeviceValue { obis: POWER.to_vec(), value: power },
        ],
    }
}

fn post(body: Vec<u8>) -> Request {
    let mut request = Request::new(Body::Binary(body));
    *request.method_mut() = lambda_http::http::Method::POST;
    *request.uri_mut() = "/smartme/realtime".parse().unwrap();
    request.headers_mut().insert("authorization", BasicCredentials::header_value(USER, PASSWORD).parse().unwrap());
    request
}

/// Posts of various sizes (1 to 240 readings, across batch boundaries) that together hold every reading once.
fn posts(start_ms: i64) -> Vec<Vec<u8>> {
    let sizes = [1, 3, 25, 26, 50, 99, 100, 101, 150, 240];
    let mut posts = Vec::new();
    let mut next = 0;
    for size in sizes.iter().cycle() {
        if next == READINGS {
            break;
        }
        let end = (next + size).min(READINGS);
        let items = (next..end).map(|k| item(k, start_ms)).collect();
        posts.push(DeviceDataArray { device_data_items: items }.encode_to_vec());
        next = end;
    }
    posts
}

/// What the senders have seen so far, for the outages the test makes.
#[derive(Default)]
struct Progress {
    /// Posts answered 200.
    done: AtomicUsize,
    /// Answers of 503 (each followed by a re-send).
    refused: AtomicUsize,
    changed: tokio::sync::Notify,
}

impl Progress {
    /// Waits until `reached` holds (checked at every change the senders report).
    async fn until(&self, reached: impl Fn(&Self) -> bool) {
        loop {
            let changed = self.changed.notified();
            if reached(self) {
                return;
            }
            changed.await;
        }
    }
}

/// Waits before re-sending as a sender that backs off does: exponentially from 50 ms, capped at 1 s, with jitter.
async fn back_off(attempt: u32) {
    let ceiling_ms = (50u64 << attempt.min(5)).min(1_000);
    tokio::time::sleep(std::time::Duration::from_millis(rand::random_range(ceiling_ms / 2..=ceiling_ms))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_readings_through_twenty_percent_faults_are_stored_exactly_once() {
    let plan = Plan::every_fault(0.2, &[Service::DynamoDb], 20261123);
    let secret = serde_json::json!({"username": USER, "password": PASSWORD});
    let faulty = testkit::aws::faults::deps(plan, &[("smartme", secret)], Default::default()).await;
    let vars = faulty.vars(&[]);
    let Faulty { proxy, deps, direct, .. } = faulty;
    let proxy = Arc::new(proxy);
    let function = Arc::new(IngestFunction::new(deps, &vars).unwrap());

    let start_ms = shared::ports::clock::now_epoch() * 1000 - 3_600_000;
    let posts = posts(start_ms);
    let total = posts.len();
    let queue = Arc::new(std::sync::Mutex::new(posts.into_iter().enumerate().collect::<Vec<_>>()));
    let progress = Arc::new(Progress::default());
    let mut senders = Vec::new();
    for _ in 0..SENDERS {
        let (queue, function, progress) = (queue.clone(), function.clone(), progress.clone());
        senders.push(tokio::spawn(async move {
            let (mut stored, mut resent, mut deferred) = (0u64, 0usize, 0u64);
            loop {
                let next = queue.lock().unwrap().pop();
                let Some((index, body)) = next else { break };
                let mut attempts = 0;
                loop {
                    attempts += 1;
                    let response = function.handle(post(body.clone())).await;
                    let status = response.status().as_u16();
                    let answer: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
                    if status == 200 {
                        stored += answer["stored"].as_u64().unwrap();
                        deferred += answer["latestDeferred"].as_u64().unwrap_or(0);
                        progress.done.fetch_add(1, Ordering::SeqCst);
                        progress.changed.notify_waiters();
                        break;
                    }
                    assert_eq!(status, 503, "post {index}: only an outage may refuse a valid post: {answer}");
                    assert_eq!(answer["error"], "unavailable", "{answer}");
                    assert!(attempts < 40, "post {index} never got through");
                    resent += 1;
                    progress.refused.fetch_add(1, Ordering::SeqCst);
                    progress.changed.notify_waiters();
                    back_off(attempts).await;
                }
            }
            (stored, resent, deferred)
        }));
    }

    // Two outages, made on purpose rather than by timing: after a quarter of the posts every DynamoDB call fails,
    // after two thirds only the batch writes do (posts half written), each until the senders were refused a few
    // times. Between them, 20% of the calls meet a random fault, which the SDK's retries mostly hide.
    let outages = [(total / 4, &[][..]), (2 * total / 3, &["BatchWriteItem"][..])];
    for (after, operations) in outages {
        progress.until(|p| p.done.load(Ordering::SeqCst) >= after).await;
        let refused = progress.refused.load(Ordering::SeqCst);
        proxy.set_operations(operations);
        proxy.set_faults(&[Fault::ServerError, Fault::Throttling, Fault::DropBefore, Fault::DropAfter]);
        proxy.set_share(1.0);
        progress.until(|p| p.refused.load(Ordering::SeqCst) >= refused + SENDERS).await;
        proxy.set_operations(&[]);
        proxy.set_faults(&Plan::every_fault(0.2, &[], 0).faults);
        proxy.set_share(0.2);
    }
    let (mut stored, mut resent, mut deferred) = (0, 0, 0);
    for sender in senders {
        let (s, r, d) = sender.await.unwrap();
        stored += s;
        resent += r;
        deferred += d;
    }

    let injected = proxy.injected();
    eprintln!("{} requests, {resent} re-sends, faults {injected:?}", proxy.requests());
    for fault in Fault::GENERAL.iter().chain([&Fault::Unprocessed]) {
        assert!(injected.get(fault).copied().unwrap_or(0) > 0, "{fault:?} was never injected: {injected:?}");
    }
    assert!(resent >= 2 * SENDERS, "each outage reached the senders as 503s: {resent} re-sends");
    assert!(stored <= READINGS as u64, "a reading was counted as stored twice: {stored}");

    // Checked straight on moto, with patient timeouts.
    let store = direct;
    let mut total = 0;
    for d in 0..DEVICES {
        let device = Uuid::from_u128(9_000 + d as u128);
        let query = Query::partition(keys::meter_partition(&device.to_string()))
            .range(SortRange::Prefix(keys::READING_PREFIX.into()));
        let readings = store.query(&query).await.unwrap();
        let mut keys_seen = std::collections::BTreeSet::new();
        for stored in &readings {
            assert!(keys_seen.insert(stored.key.sk.clone()), "{} stored twice", stored.key.sk);
            let power = stored.get("v").and_then(|v| v.as_map()).unwrap()["1-0:1.7.0*255"].as_f64().unwrap();
            let (owner, ms, expected) = reading(power as usize, start_ms);
            assert_eq!((owner, power), (device, expected));
            assert_eq!(stored.i64("t"), Some(ms), "{}", stored.key.sk);
        }
        total += readings.len();
        let newest = (0..READINGS).filter(|k| k % DEVICES == d).map(|k| reading(k, start_ms)).next_back().unwrap();
        let latest = store.get(&keys::meter_latest(&device.to_string())).await.unwrap().unwrap();
        // A latest state is only ever behind when a 200 said so (`latestDeferred`).
        if deferred == 0 {
            assert_eq!(latest.i64("t"), Some(newest.1), "device {d}: latest state is the newest reading");
            assert_eq!(latest.get("v").and_then(|v| v.as_map()).unwrap()["1-0:1.7.0*255"].as_f64(), Some(newest.2));
        }
    }
    assert_eq!(total, READINGS, "every reading stored, none lost ({resent} re-sends, faults {injected:?})");

    // Each meter's next upload, without faults, moves every latest state to it.
    proxy.set_share(0.0);
    let next_ms = start_ms + (READINGS / DEVICES) as i64 * 1000;
    let next: Vec<DeviceData> =
        (0..DEVICES).map(|d| item_at(Uuid::from_u128(9_000 + d as u128), next_ms, -1.0)).collect();
    let response = function.handle(post(DeviceDataArray { device_data_items: next }.encode_to_vec())).await;
    assert_eq!(response.status(), 200);
    for d in 0..DEVICES {
        let latest = store.get(&keys::meter_latest(&Uuid::from_u128(9_000 + d as u128).to_string())).await.unwrap();
        assert_eq!(latest.unwrap().i64("t"), Some(next_ms), "device {d}: the next reading is the latest state");
    }
}

/// Every reading of a post stored, then the latest states cannot be moved: the post is answered 200 (smart-me
/// must not deliver it again), says so, and the meter's next reading moves the state.
#[tokio::test]
async fn a_latest_state_that_cannot_be_moved_does_not_refuse_a_stored_post() {
    let plan = Plan { faults: vec![Fault::ServerError], ..Plan::every_fault(0.0, &[Service::DynamoDb], 3) };
    let secret = serde_json::json!({"username": USER, "password": PASSWORD});
    let faulty = testkit::aws::faults::deps(plan, &[("smartme", secret)], Default::default()).await;
    let function = IngestFunction::new(faulty.deps.clone(), &faulty.vars(&[])).unwrap();
    let device = Uuid::from_u128(77);
    let start_ms = shared::ports::clock::now_epoch() * 1000 - 60_000;
    let readings = |from: i64| (from..from + 3).map(|s| item_at(device, start_ms + s * 1000, s as f64)).collect();

    faulty.proxy.set_operations(&["UpdateItem"]);
    faulty.proxy.set_share(1.0);
    let response = function.handle(post(DeviceDataArray { device_data_items: readings(0) }.encode_to_vec())).await;
    let answer: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(response.status(), 200, "{answer}");
    assert_eq!(answer, serde_json::json!({"accepted": 3, "stored": 3, "latestDeferred": 1}));
    let latest = keys::meter_latest(&device.to_string());
    assert_eq!(faulty.direct.get(&latest).await.unwrap(), None, "the state was not moved");
    let query = Query::partition(keys::meter_partition(&device.to_string()))
        .range(SortRange::Prefix(keys::READING_PREFIX.into()));
    assert_eq!(faulty.direct.query(&query).await.unwrap().len(), 3, "every reading is stored");

    faulty.proxy.set_share(0.0);
    let response = function.handle(post(DeviceDataArray { device_data_items: readings(3) }.encode_to_vec())).await;
    let answer: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(answer, serde_json::json!({"accepted": 3, "stored": 3}));
    assert_eq!(faulty.direct.get(&latest).await.unwrap().unwrap().i64("t"), Some(start_ms + 5_000));
}
