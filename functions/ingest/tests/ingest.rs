//! `POST /smartme/realtime` on the embedded store and on DynamoDB + Secrets Manager (moto).

use lambda_http::{Body, Request};
use shared::codec::BasicCredentials;
use shared::edge::handler::Handler;
use shared::env::Vars;
use shared::partners::smartme::post::{body, reading};
use shared::partners::smartme::proto::DeviceData;
use shared::ports::store::{Query, SortRange, Store, keys};
use std::sync::Arc;
use switchyard_ingest::IngestFunction;
use testkit::aws::harness::Backend;
use uuid::Uuid;

const USER: &str = "smartme-user";
const PASSWORD: &str = "smartme-password-for-tests";

struct Stack {
    function: IngestFunction,
    store: Arc<dyn Store>,
}

async fn stack(backend: Backend, extra: &[(&str, &str)]) -> Stack {
    let secret = serde_json::json!({"username": USER, "password": PASSWORD});
    let ports = testkit::aws::harness::ports(backend, &[("smartme", secret)]).await;
    let mut vars = Vars::default();
    for (k, v) in extra {
        vars = vars.with(k, v);
    }
    Stack { function: IngestFunction::new(ports.deps, &vars).unwrap(), store: ports.admin }
}

fn post(body: Vec<u8>, auth: Option<String>) -> Request {
    let mut request = Request::new(Body::Binary(body));
    *request.method_mut() = lambda_http::http::Method::POST;
    *request.uri_mut() = "/smartme/realtime".parse().unwrap();
    request.headers_mut().insert("content-type", "application/octet-stream".parse().unwrap());
    if let Some(auth) = auth {
        request.headers_mut().insert("authorization", auth.parse().unwrap());
    }
    request
}

fn auth() -> Option<String> {
    Some(BasicCredentials::header_value(USER, PASSWORD))
}

fn item(device: Uuid, unix_ms: i64, power: f64) -> DeviceData {
    reading(device, unix_ms, &[([1, 0, 1, 8, 0, 255], 1000.0 + power), ([1, 0, 1, 7, 0, 255], power)])
}

async fn send(
    stack: &Stack,
    body: Vec<u8>,
    auth: Option<String>,
) -> (u16, serde_json::Value, lambda_http::http::HeaderMap) {
    let response = stack.function.handle(post(body, auth)).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, serde_json::from_slice(response.body().as_ref()).unwrap(), headers)
}

async fn readings_of(stack: &Stack, device: Uuid) -> usize {
    let query = Query::partition(keys::meter_partition(&device.to_string()))
        .range(SortRange::Prefix(keys::READING_PREFIX.into()));
    stack.store.query(&query).await.unwrap().len()
}

fn recent_ms() -> i64 {
    shared::ports::clock::now_epoch() * 1000 - 60_000
}

async fn the_official_sample_is_stored_once(backend: Backend) {
    // The sample is from 2019: keep readings long enough for it to be stored.
    let stack = stack(backend, &[("SMARTME_RETENTION_DAYS", "36500")]).await;
    let sample = std::fs::read(testkit::workspace_root().join("testdata/smartme/sample.bin")).unwrap();
    let (status, answer, _) = send(&stack, sample.clone(), auth()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, serde_json::json!({"accepted": 1, "stored": 1}));
    let (status, answer, _) = send(&stack, sample, auth()).await;
    assert_eq!(status, 200);
    assert_eq!(answer, serde_json::json!({"accepted": 1, "stored": 0}), "a redelivery stores nothing new");
    let device: Uuid = "3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1".parse().unwrap();
    let key = keys::meter_reading(&device.to_string(), "2019-10-16T12:20:44.9788512Z");
    let stored = stack.store.get(&key).await.unwrap().unwrap();
    let values = stored.get("v").and_then(|v| v.as_map()).unwrap();
    assert_eq!(values["1-0:1.8.0*255"].as_f64(), Some(1879583.2));
    assert_eq!(values["1-0:1.7.0*255"].as_f64(), Some(24.19));
    let latest = stack.store.get(&keys::meter_latest(&device.to_string())).await.unwrap().unwrap();
    assert_eq!(latest.str("time"), Some("2019-10-16T12:20:44.9788512Z"));
}

async fn bad_credentials_are_refused(backend: Backend) {
    let stack = stack(backend, &[]).await;
    let device = Uuid::from_u128(11);
    let payload = body(vec![item(device, recent_ms(), 5.0)]);
    for credentials in [
        None,
        Some(BasicCredentials::header_value(USER, "wrong")),
        Some("Bearer x".to_owned()),
        Some(BasicCredentials::header_value("other", PASSWORD)),
    ] {
        let (status, answer, headers) = send(&stack, payload.clone(), credentials).await;
        assert_eq!(status, 401, "{answer}");
        assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Basic realm="));
        assert_eq!(answer["error"], "unauthorized");
    }
    assert_eq!(readings_of(&stack, device).await, 0);
}

/// What smart-me can send among good items: a value that is not a number (NaN), an empty Guid, a DateTime of a kind
/// protobuf-net does not define, an Obis that is not 6 bytes. Each such item is skipped and counted; the others are
/// stored and the post answered 200, so smart-me does not deliver again what was stored. A body whose framing is
/// broken, or with no valid item at all, is refused.
async fn a_bad_item_is_skipped_and_the_others_stored(backend: Backend) {
    let stack = stack(backend, &[]).await;
    let good = Uuid::from_u128(21);
    let mut nan = item(Uuid::from_u128(22), recent_ms(), 1.0);
    nan.device_values[0].value = f64::NAN;
    let mut empty = item(good, recent_ms(), 1.0);
    empty.device_id = Default::default();
    let mut kind = item(Uuid::from_u128(23), recent_ms(), 1.0);
    kind.date_time.kind = 9;
    let mut short = item(Uuid::from_u128(24), recent_ms(), 1.0);
    short.device_values[1].obis = vec![1, 0, 1, 7];
    let post = body(vec![item(good, recent_ms(), 1.0), nan, empty, kind, short, item(good, recent_ms() - 1000, 2.0)]);
    let (status, answer, _) = send(&stack, post.clone(), auth()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, serde_json::json!({"accepted": 2, "stored": 2, "skipped": 4}));
    assert_eq!(readings_of(&stack, good).await, 2);
    assert!(stack.store.get(&keys::meter_latest(&good.to_string())).await.unwrap().is_some());
    assert_eq!(readings_of(&stack, Uuid::from_u128(22)).await, 0);
    // smart-me delivering it again: nothing new, the same items skipped.
    let (_, again, _) = send(&stack, post, auth()).await;
    assert_eq!(again, serde_json::json!({"accepted": 2, "stored": 0, "skipped": 4}));
    let (status, answer, _) = send(&stack, b"not protobuf at all".to_vec(), auth()).await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("invalid_payload")));
    // Nothing valid at all: refused with the first item's reason (nothing was stored to protect).
    let mut only_bad = item(Uuid::from_u128(25), recent_ms(), 1.0);
    only_bad.device_values[0].value = f64::INFINITY;
    let (status, answer, _) = send(&stack, body(vec![only_bad]), auth()).await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("invalid_payload")), "{answer}");
    assert_eq!(answer["message"], "no valid item (1 skipped): item 0: DeviceValues[0].Value is not a finite number");
}

async fn oversized_posts_are_refused(backend: Backend) {
    let stack = stack(backend, &[("SMARTME_MAX_BODY_BYTES", "100")]).await;
    let device = Uuid::from_u128(31);
    let items = (0..10).map(|i| item(device, recent_ms() + i, 1.0)).collect();
    let (status, answer, _) = send(&stack, body(items), auth()).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(readings_of(&stack, device).await, 0);
}

async fn out_of_order_deliveries_never_move_latest_back(backend: Backend) {
    let stack = stack(backend, &[]).await;
    let device = Uuid::from_u128(41);
    let t = recent_ms();
    let (status, _, _) = send(&stack, body(vec![item(device, t, 200.0)]), auth()).await;
    assert_eq!(status, 200);
    let (status, answer, _) = send(&stack, body(vec![item(device, t - 5_000, 100.0)]), auth()).await;
    assert_eq!(status, 200);
    assert_eq!(answer["stored"], 1, "the older reading is still stored");
    let latest = stack.store.get(&keys::meter_latest(&device.to_string())).await.unwrap().unwrap();
    assert_eq!(latest.i64("t"), Some(t));
    assert_eq!(latest.get("v").and_then(|v| v.as_map()).unwrap()["1-0:1.7.0*255"].as_f64(), Some(200.0));
    assert_eq!(readings_of(&stack, device).await, 2);
}

async fn large_posts_are_written_in_batches(backend: Backend) {
    let stack = stack(backend, &[]).await;
    let devices: Vec<Uuid> = (0..4).map(|d| Uuid::from_u128(100 + d)).collect();
    let t = recent_ms();
    let items: Vec<DeviceData> = (0..250).map(|i| item(devices[i % 4], t - i as i64 * 1000, i as f64)).collect();
    let (status, answer, _) = send(&stack, body(items.clone()), auth()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, serde_json::json!({"accepted": 250, "stored": 250}));
    let mut total = 0;
    for device in &devices {
        total += readings_of(&stack, *device).await;
        let latest = stack.store.get(&keys::meter_latest(&device.to_string())).await.unwrap().unwrap();
        let newest = (0..250).filter(|i| devices[i % 4] == *device).map(|i| t - i as i64 * 1000).max().unwrap();
        assert_eq!(latest.i64("t"), Some(newest));
    }
    assert_eq!(total, 250);
    // Half of it again, with 10 new readings: only the new ones are stored.
    let mut again: Vec<DeviceData> = items[..125].to_vec();
    again.extend((0..10).map(|i| item(devices[0], t + 1000 + i, 1.0)));
    let (_, answer, _) = send(&stack, body(again), auth()).await;
    assert_eq!(answer, serde_json::json!({"accepted": 135, "stored": 10}));
}

testkit::on_both_backends!(
    the_official_sample_is_stored_once,
    bad_credentials_are_refused,
    a_bad_item_is_skipped_and_the_others_stored,
    oversized_posts_are_refused,
    out_of_order_deliveries_never_move_latest_back,
    large_posts_are_written_in_batches,
);

/// DynamoDB unreachable: the post is answered 503 (smart-me delivers again), and the redelivery stores it all.
#[tokio::test]
async fn an_unreachable_store_answers_503_and_the_redelivery_stores_everything() {
    let (binding, admin) = testkit::aws::harness::create_stack(&[]).await;
    let base = testkit::aws::moto::sdk_config_as(&testkit::aws::calls::role_key("ingest")).await;
    let table = binding.table;
    let proxy = testkit::aws::proxy::Proxy::start(&testkit::aws::moto::endpoint()).await;
    let config = base
        .into_builder()
        .endpoint_url(&proxy.endpoint)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder().operation_timeout(std::time::Duration::from_secs(2)).build(),
        )
        .build();
    let store: Arc<dyn Store> =
        Arc::new(shared::ports::store::dynamo::DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table));
    let secrets = shared::ports::secrets::FileSecrets::from_json(
        serde_json::json!({"smartme": {"username": USER, "password": PASSWORD}}),
    )
    .unwrap();
    let deps = shared::Deps::new(store, Arc::new(secrets));
    let stack = Stack {
        function: IngestFunction::new(deps, &Vars::from_pairs([("SMARTME_WRITE_BUDGET_MS", "300")])).unwrap(),
        store: Arc::new(admin),
    };
    let device = Uuid::from_u128(51);
    let t = recent_ms();
    let post = body((0..30).map(|i| item(device, t - i * 1000, i as f64)).collect());

    proxy.set_down(true);
    let (status, answer, _) = send(&stack, post.clone(), auth()).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"], "unavailable");

    proxy.set_down(false);
    let (status, answer, _) = send(&stack, post, auth()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, serde_json::json!({"accepted": 30, "stored": 30}));
    assert_eq!(readings_of(&stack, device).await, 30);
}

/// Readings stored for the first time and redelivered ones are counted; a refused post counts by its reason.
#[tokio::test]
async fn readings_and_duplicates_are_measured() {
    use shared::edge::observed::Observed;
    let stack = stack(Backend::Embedded, &[]).await;
    let metrics = testkit::assertions::telemetry::CollectedMetrics::new();
    let observed = Observed::new("ingest", stack.function, &Vars::default()).with_sink(metrics.clone());
    let device = Uuid::from_u128(77);
    let first: Vec<_> = (0..3).map(|i| item(device, recent_ms() + i, 1.0)).collect();
    let mut second = first.clone();
    second.extend((3..5).map(|i| item(device, recent_ms() + i, 1.0)));
    for (payload, credentials) in [(body(first), auth()), (body(second), auth()), (body(vec![]), None)] {
        observed.handle(post(payload, credentials)).await;
    }
    let requests = metrics.requests();
    let counts: Vec<_> = requests
        .iter()
        .map(|d| (d["ReadingsStored"].as_u64(), d["Duplicates"].as_u64(), d["Outcome"].clone()))
        .collect();
    assert_eq!(
        counts,
        [(Some(3), None, "accepted".into()), (Some(2), Some(3), "accepted".into()), (None, None, "rejected".into())]
    );
    assert_eq!(requests[2]["Reason"], "unauthorized");
}
