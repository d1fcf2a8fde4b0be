//! smart-me deliveries while DynamoDB throttles, fails, drops connections, answers late and leaves batches
//! unprocessed: a sender that re-sends every post not answered 200 ends with every reading stored exactly once.

use lambda_http::{Body, Request};
use prost::Message;
use shared::codec::BasicCredentials;
use shared::edge::http::Handler;
use shared::partners::smartme::UtcTicks;
use shared::partners::smartme::bcl::uuid_to_guid;
use shared::partners::smartme::proto::{DeviceData, DeviceDataArray, DeviceValue};
use shared::ports::store::{Query, SortRange, keys};
use std::sync::Arc;
use switchyard_ingest::IngestFunction;
use testkit::faults::{Fault, Faulty, Plan, Service};
use uuid::Uuid;

const USER: &str = "smartme-user";
const PASSWORD: &str = "smartme-password-for-faults";
const READINGS: usize = 10_000;
const DEVICES: usize = 20;
const POWER: [u8; 6] = [1, 0, 1, 7, 0, 255];

/// Reading `k`: its device, its time (ms) and its power, all derived from `k` so the check can recompute them.
fn reading(k: usize, start_ms: i64) -> (Uuid, i64, f64) {
    (Uuid::from_u128(9_000 + (k % DEVICES) as u128), start_ms + (k / DEVICES) as i64 * 1000, k as f64)
}

fn item(k: usize, start_ms: i64) -> DeviceData {
    let (device, ms, power) = reading(k, start_ms);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_readings_through_twenty_percent_faults_are_stored_exactly_once() {
    let mut plan = Plan::every_fault(0.2, &[Service::DynamoDb], 20261123);
    plan.slow = std::time::Duration::from_millis(500);
    let secret = serde_json::json!({"username": USER, "password": PASSWORD});
    let faulty = testkit::faults::deps(plan, &[("smartme", secret)], Default::default()).await;
    let vars = faulty.vars(&[("SMARTME_WRITE_BUDGET_MS", "800")]);
    let Faulty { proxy, deps, direct, .. } = faulty;
    let function = Arc::new(IngestFunction::new(deps, &vars).unwrap());

    let start_ms = shared::ports::clock::now_epoch() * 1000 - 3_600_000;
    let posts = posts(start_ms);
    let queue = Arc::new(std::sync::Mutex::new(posts.into_iter().enumerate().collect::<Vec<_>>()));
    let mut senders = Vec::new();
    for _ in 0..4 {
        let (queue, function) = (queue.clone(), function.clone());
        senders.push(tokio::spawn(async move {
            let (mut stored, mut resent) = (0u64, 0usize);
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
                        break;
                    }
                    assert_eq!(status, 503, "post {index}: only an outage may refuse a valid post: {answer}");
                    assert_eq!(answer["error"], "unavailable", "{answer}");
                    assert!(attempts < 40, "post {index} never got through");
                    resent += 1;
                }
            }
            (stored, resent)
        }));
    }
    let started = std::time::Instant::now();
    let (mut stored, mut resent) = (0, 0);
    for sender in senders {
        let (s, r) = sender.await.unwrap();
        stored += s;
        resent += r;
    }

    let injected = proxy.injected();
    eprintln!("{} requests in {:?}, {resent} re-sends, faults {injected:?}", proxy.requests(), started.elapsed());
    for fault in Fault::GENERAL.iter().chain([&Fault::Unprocessed]) {
        assert!(injected.get(fault).copied().unwrap_or(0) > 0, "{fault:?} was never injected: {injected:?}");
    }
    assert!(resent > 0, "some faults must reach the sender as 503 for the re-sends to be tested");
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
        assert_eq!(latest.i64("t"), Some(newest.1), "device {d}: latest state is the newest reading");
        assert_eq!(latest.get("v").and_then(|v| v.as_map()).unwrap()["1-0:1.7.0*255"].as_f64(), Some(newest.2));
    }
    assert_eq!(total, READINGS, "every reading stored, none lost ({resent} re-sends, faults {injected:?})");
}
