//! Signed webhook deliveries while DynamoDB and Secrets Manager throttle, fail, drop connections and answer late:
//! every delivery a sender re-sends until it is answered 200 is stored exactly once, and re-sending accepted
//! deliveries stores nothing more.

use lambda_http::{Body, Request, RequestExt};
use shared::crypto::{hmac_sha256, to_hex};
use shared::env::Vars;
use shared::http::Handler;
use shared::store::{Query, keys};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use switchyard_webhook::WebhookFunction;
use testkit::faults::{Fault, Faulty, Plan, Service};

const SECRET: &str = "schurter-secret-for-faults";
const DELIVERIES: usize = 300;

fn delivery(n: usize, t: i64) -> Request {
    let body = format!(r#"{{"event":"device.alarm","deviceId":"d-{n}","sequence":{n}}}"#).into_bytes();
    let mac = hmac_sha256(SECRET.as_bytes(), &[t.to_string().as_bytes(), b".", &body]);
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
    let cache = shared::secrets::CachePolicy { ttl: std::time::Duration::from_secs(1), ..Default::default() };
    let Faulty { proxy, deps, direct, .. } = testkit::faults::deps(plan, &[("webhook/schurter", secret)], cache).await;
    let function = Arc::new(WebhookFunction::new(deps, &Vars::default()).unwrap());
    let t = shared::store::now_epoch();

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

    let events = direct.query(&Query::partition(keys::webhook_event("schurter", "x").pk)).await.unwrap();
    let mut per_delivery: BTreeMap<String, usize> = BTreeMap::new();
    for event in &events {
        *per_delivery.entry(event.str("deliveryId").unwrap().to_owned()).or_default() += 1;
    }
    assert_eq!(events.len(), DELIVERIES, "one event per delivery ({resent} re-sends)");
    for (n, id) in &ids {
        assert_eq!(per_delivery.get(id), Some(&1), "delivery {n} is stored exactly once");
    }
}
