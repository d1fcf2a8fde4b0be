//! Signed webhook deliveries while DynamoDB and Secrets Manager throttle, fail, drop connections and answer late:
//! every delivery a sender re-sends until it is answered 200 is stored exactly once, and re-sending accepted
//! deliveries stores nothing more.

use lambda_http::{Body, Request, RequestExt};
use shared::crypto::{hmac_sha256, to_hex};
use shared::edge::handler::Handler;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use switchyard_webhook::WebhookFunction;
use testkit::aws::faults::{Fault, Faulty, Plan, Service};

const SECRET: &str = "schurter-secret-for-faults";
const DELIVERIES: usize = 300;

fn delivery(n: usize, t: i64) -> Request {
    let body = format!(r#"{{"event":"device.alarm","deviceId":"d-{n}","sequence":{n}}}"#).into_bytes();
    let mac = hmac_sha256(SECRET.as_bytes(), &[t.to_string().as_bytes(), b".", &body]);
    testkit::assertions::leaks::fixture_secrets([to_hex(&mac)]);
    let mut request = Request::new(Body::Binary(body));
    *request.method_mut() = lambda_http::http::Method::POST;
    *request.uri_mut() = "/webhooks/schurter".parse().unwrap();
    let signature = format!("v=1;t={t};sig={}", to_hex(&mac));
    request.headers_mut().insert("x-signature", signature.parse().unwrap());
    request.headers_mut().insert("content-type", "application/json".parse().unwrap());
    request.with_path_parameters(HashMap::from([("source".to_owned(), "schurter".to_owned())]))
}

/// Sends delivery `n` until it is answered 200; the answers before that must be 503s.
async fn deliver(function: &WebhookFunction, n: usize, t: i64) -> (serde_json::Value, usize) {
    for attempt in 1..=40 {
        let response = function.handle(delivery(n, t)).await;
        let status = response.status().as_u16();
        let answer: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        if status == 200 {
            return (answer, attempt - 1);
        }
        assert_eq!(status, 503, "delivery {n}: only an outage may refuse a valid delivery: {answer}");
    }
    panic!("delivery {n} never got through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deliveries_through_faults_are_stored_exactly_once() {
    let plan = Plan::every_fault(0.2, &[Service::DynamoDb, Service::SecretsManager], 7);
    let secret = serde_json::json!({"scheme": "schurter", "secret": SECRET, "tolerance_s": 300});
    // A one-second secrets cache, so Secrets Manager is asked again (and faulted) during the run.
    let cache = shared::ports::secrets::CachePolicy { ttl: std::time::Duration::from_secs(1), ..Default::default() };
    let faulty = testkit::aws::faults::deps(plan, &[("webhook/schurter", secret)], cache).await;
    let function = Arc::new(WebhookFunction::new(faulty.deps.clone(), &faulty.vars(&[])).unwrap());
    let Faulty { proxy, direct, .. } = faulty;
    let t = shared::ports::clock::now_epoch();

    // An outage first: every AWS call fails, so the first deliveries are refused and must be sent again.
    proxy.set_share(1.0);
    let outage: Vec<_> = (0..3).map(|n| (function.clone(), n)).collect();
    for (function, n) in outage {
        let response = function.handle(delivery(n, t)).await;
        assert_eq!(response.status(), 503, "delivery {n} during the outage");
    }
    proxy.set_share(0.2);

    let mut senders = Vec::new();
    for worker in 0..4 {
        let function = function.clone();
        senders.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for n in (worker..DELIVERIES).step_by(4) {
                let (answer, resent) = deliver(&function, n, t).await;
                answers.push((n, answer, resent));
            }
            answers
        }));
    }
    let mut ids = BTreeMap::new();
    let mut resent = 3;
    for sender in senders {
        for (n, answer, r) in sender.await.unwrap() {
            assert_eq!(answer["received"], true, "{answer}");
            ids.insert(n, answer["id"].as_str().unwrap().to_owned());
            resent += r;
        }
    }
    // Senders that lost our answer deliver again: nothing new is stored.
    for n in (0..DELIVERIES).step_by(10) {
        let (answer, _) = deliver(&function, n, t).await;
        assert_eq!(answer["duplicate"], true, "delivery {n} again: {answer}");
        assert_eq!(answer["id"], ids[&n].as_str());
    }

    let injected = proxy.injected();
    eprintln!("{} AWS requests, {resent} re-sends, faults {injected:?}", proxy.requests());
    for fault in Fault::GENERAL {
        assert!(injected.get(&fault).copied().unwrap_or(0) > 0, "{fault:?} was never injected: {injected:?}");
    }

    let events = testkit::aws::stored_webhooks::items(&direct, "schurter").await;
    let mut per_delivery: BTreeMap<String, usize> = BTreeMap::new();
    for event in &events {
        *per_delivery.entry(event.str("deliveryId").unwrap().to_owned()).or_default() += 1;
    }
    assert_eq!(events.len(), DELIVERIES, "one event per delivery ({resent} re-sends)");
    for (n, id) in &ids {
        assert_eq!(per_delivery.get(id), Some(&1), "delivery {n} is stored exactly once");
    }
}

/// A delivery signed with `key` (body varies with `n`, so each is a new delivery).
fn signed_with(key: &str, n: usize, t: i64) -> Request {
    let body = format!(r#"{{"event":"rotation","n":{n}}}"#).into_bytes();
    let mac = hmac_sha256(key.as_bytes(), &[t.to_string().as_bytes(), b".", &body]);
    testkit::assertions::leaks::fixture_secrets([to_hex(&mac)]);
    let mut request = Request::new(Body::Binary(body));
    *request.method_mut() = lambda_http::http::Method::POST;
    *request.uri_mut() = "/webhooks/rotating".parse().unwrap();
    request.headers_mut().insert("x-signature", format!("v=1;t={t};sig={}", to_hex(&mac)).parse().unwrap());
    request.with_path_parameters(HashMap::from([("source".to_owned(), "rotating".to_owned())]))
}

/// Rotation: a new AWSCURRENT is used after the cache TTL, the previous key keeps verifying while the secret lists
/// it. Secrets Manager failing: the cached secret is served for the stale window after the TTL, then deliveries
/// are refused with 503 and nothing is stored (never accepted without the secret).
#[tokio::test]
async fn rotation_is_picked_up_after_the_ttl_and_an_outage_fails_closed_after_the_stale_window() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};
    let offset_s = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let clock_offset = offset_s.clone();
    let clock: shared::ports::secrets::manager::Clock =
        Arc::new(move || start + Duration::from_secs(clock_offset.load(Ordering::SeqCst)));
    let advance = |seconds: u64| offset_s.fetch_add(seconds, Ordering::SeqCst);
    let plan = Plan {
        faults: vec![Fault::Throttling, Fault::ServerError, Fault::DropBefore],
        ..Plan::every_fault(0.0, &[Service::SecretsManager], 3)
    };
    let secret = serde_json::json!({"scheme": "schurter", "secrets": ["key-1"]});
    // TTL 300 s, stale window 900 s.
    let policy = shared::ports::secrets::CachePolicy::default();
    let faulty =
        testkit::aws::faults::deps_with_clock(plan, &[("webhook/rotating", secret)], policy, Some(clock)).await;
    let (proxy, deps, store) = (&faulty.proxy, faulty.deps.clone(), faulty.direct.clone());
    let base = testkit::aws::moto::sdk_config().await;
    let id = format!("{}webhook/rotating", faulty.prefix);
    let function = WebhookFunction::new(deps, &faulty.vars(&[])).unwrap();
    let t = shared::ports::clock::now_epoch();
    let mut n = 0;
    let mut status_with = async |key: &str| {
        n += 1;
        function.handle(signed_with(key, n, t)).await.status().as_u16()
    };
    let events = async || testkit::aws::stored_webhooks::items(store.as_ref(), "rotating").await.len();

    assert_eq!(status_with("key-1").await, 200);
    testkit::aws::moto::put_secret(&base, &id, r#"{"scheme": "schurter", "secrets": ["key-2", "key-1"]}"#).await;
    advance(299);
    assert_eq!(status_with("key-2").await, 401, "the cached secret is used until the TTL ends");
    advance(2);
    assert_eq!(status_with("key-2").await, 200, "the new AWSCURRENT after the TTL");
    assert_eq!(status_with("key-1").await, 200, "the previous key verifies during the overlap");

    proxy.set_share(1.0);
    advance(301 + 898);
    assert_eq!(status_with("key-2").await, 200, "Secrets Manager failing: the stale secret inside the window");
    assert_eq!(status_with("wrong-key").await, 401, "and it still refuses what it does not verify");
    let stored = events().await;
    advance(3);
    for key in ["key-2", "key-1", "wrong-key"] {
        assert_eq!(status_with(key).await, 503, "{key}: after the stale window, fail closed");
    }
    assert_eq!(events().await, stored, "nothing accepted without the secret");
    assert!(proxy.injected().values().sum::<usize>() > 0);

    proxy.set_share(0.0);
    assert_eq!(status_with("key-2").await, 200, "served again once Secrets Manager answers");
}
