//! `POST /webhooks/{source}` on the embedded store and on DynamoDB + Secrets Manager (moto).

use lambda_http::{Body, Request, RequestExt};
use shared::crypto::{hmac_sha256, to_hex};
use shared::edge::handler::Handler;
use shared::env::Vars;
use shared::ports::store::Store;
use std::collections::HashMap;
use std::sync::Arc;
use switchyard_webhook::WebhookFunction;
use testkit::aws::harness::Backend;

const NOW: i64 = 1_795_374_238;
const CURRENT: &str = "schurter-current-secret";
const PREVIOUS: &str = "schurter-previous-secret";
const SMALLCASE_API_SECRET: &str = "smallcase-api-secret";

fn now() -> i64 {
    NOW
}

struct Stack {
    function: WebhookFunction,
    store: Arc<dyn Store>,
}

async fn stack(backend: Backend) -> Stack {
    let secrets = [
        (
            "webhook/schurter",
            serde_json::json!({"scheme": "schurter", "secrets": [CURRENT, PREVIOUS], "tolerance_s": 300}),
        ),
        ("webhook/smallcase", serde_json::json!({"scheme": "smallcase", "secret": SMALLCASE_API_SECRET})),
    ];
    let ports = testkit::aws::harness::ports(backend, &secrets).await;
    let vars = Vars::from_pairs([("WEBHOOK_MAX_BODY_BYTES", "1024")]);
    Stack {
        function: WebhookFunction::new(ports.deps.with_clock(shared::ports::clock::Clock::reading(now)), &vars)
            .unwrap(),
        store: ports.admin,
    }
}

fn post(source: &str, headers: &[(&str, String)], body: &[u8]) -> Request {
    let mut request = Request::new(Body::Binary(body.to_vec()));
    *request.method_mut() = lambda_http::http::Method::POST;
    *request.uri_mut() = format!("/webhooks/{}", source.replace('/', "%2F")).parse().unwrap();
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(lambda_http::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
    }
    request.with_path_parameters(HashMap::from([("source".to_owned(), source.to_owned())]))
}

fn schurter_headers(secret: &str, t: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    let mac = hmac_sha256(secret.as_bytes(), &[t.to_string().as_bytes(), b".", body]);
    testkit::assertions::leaks::fixture_secrets([to_hex(&mac)]);
    vec![("x-signature", format!("v=1;t={t};sig={}", to_hex(&mac))), ("content-type", "application/json".into())]
}

async fn send(stack: &Stack, request: Request) -> (u16, serde_json::Value) {
    let response = stack.function.handle(request).await;
    (response.status().as_u16(), serde_json::from_slice(response.body().as_ref()).unwrap())
}

async fn events(stack: &Stack, source: &str) -> Vec<shared::ports::store::Item> {
    testkit::aws::stored_webhooks::items(stack.store.as_ref(), source).await
}

const BODY: &[u8] = br#"{"event":"device.alarm","deviceId":"d-1"}"#;

async fn valid_deliveries_are_stored_once(backend: Backend) {
    let stack = stack(backend).await;
    let (status, answer) = send(&stack, post("schurter", &schurter_headers(CURRENT, NOW, BODY), BODY)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["received"], true);
    let id = answer["id"].as_str().unwrap().to_owned();
    let stored = events(&stack, "schurter").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].get("body").and_then(|b| b.as_bytes()), Some(BODY));
    assert_eq!(stored[0].str("deliveryId"), Some(id.as_str()));
    assert_eq!(stored[0].str("scheme"), Some("schurter"));
    assert!(stored[0].get("headers").and_then(|h| h.as_map()).unwrap().contains_key("x-signature"));
    // The same delivery again: answered, not stored again.
    let (status, answer) = send(&stack, post("schurter", &schurter_headers(CURRENT, NOW, BODY), BODY)).await;
    assert_eq!(status, 200);
    assert_eq!(answer["duplicate"], true);
    assert_eq!(answer["id"], id.as_str());
    assert_eq!(events(&stack, "schurter").await.len(), 1);
    // Signed with the previous secret (rotation overlap): accepted.
    let other = br#"{"event":"other"}"#;
    let (status, _) = send(&stack, post("schurter", &schurter_headers(PREVIOUS, NOW - 10, other), other)).await;
    assert_eq!(status, 200);
    assert_eq!(events(&stack, "schurter").await.len(), 2);
}

async fn refusals_have_their_status_and_store_nothing(backend: Backend) {
    let stack = stack(backend).await;
    let cases: Vec<(Request, u16, &str)> = vec![
        (post("schurter", &schurter_headers("wrong-secret", NOW, BODY), BODY), 401, "invalid_signature"),
        (
            post("schurter", &schurter_headers(CURRENT, NOW, BODY), b"{\"event\":\"tampered\"}"),
            401,
            "invalid_signature",
        ),
        (post("schurter", &schurter_headers(CURRENT, NOW - 301, BODY), BODY), 401, "stale"),
        (post("schurter", &schurter_headers(CURRENT, NOW + 301, BODY), BODY), 401, "stale"),
        (post("schurter", &[("x-signature", "t=1".into())], BODY), 400, "malformed"),
        (post("schurter", &[], BODY), 400, "malformed"),
        (post("unknown", &schurter_headers(CURRENT, NOW, BODY), BODY), 404, "not_found"),
        (post("../schurter", &schurter_headers(CURRENT, NOW, BODY), BODY), 404, "not_found"),
        (post("Schurter", &schurter_headers(CURRENT, NOW, BODY), BODY), 404, "not_found"),
        (post("schurter", &schurter_headers(CURRENT, NOW, &[b'x'; 2048]), &[b'x'; 2048]), 413, "payload_too_large"),
    ];
    for (request, status, code) in cases {
        let (got, answer) = send(&stack, request).await;
        assert_eq!((got, answer["error"].as_str().unwrap()), (status, code), "{answer}");
        assert!(answer["message"].is_string());
        assert!(!answer.to_string().contains(CURRENT));
    }
    assert_eq!(answer_message_of_stale(&stack).await, "timestamp outside tolerance");
    assert!(events(&stack, "schurter").await.is_empty());
}

async fn answer_message_of_stale(stack: &Stack) -> String {
    let (_, answer) = send(stack, post("schurter", &schurter_headers(CURRENT, NOW - 999, BODY), BODY)).await;
    answer["message"].as_str().unwrap().to_owned()
}

testkit::on_both_backends!(valid_deliveries_are_stored_once, refusals_have_their_status_and_store_nothing,);

/// Each outcome is published: a stored delivery, its duplicate, and refusals by their error code.
#[tokio::test]
async fn outcomes_duplicates_and_reasons_are_measured() {
    use shared::edge::observed::Observed;
    let stack = stack(Backend::Embedded).await;
    let metrics = testkit::assertions::telemetry::CollectedMetrics::new();
    let observed = Observed::new("webhook", stack.function, &Vars::default()).with_sink(metrics.clone());
    let requests = [
        post("schurter", &schurter_headers(CURRENT, NOW, BODY), BODY),
        post("schurter", &schurter_headers(CURRENT, NOW, BODY), BODY),
        post("schurter", &schurter_headers("wrong-secret", NOW, BODY), BODY),
        post("schurter", &schurter_headers(CURRENT, NOW - 301, BODY), BODY),
    ];
    for request in requests {
        observed.handle(request).await;
    }
    let seen: Vec<_> = metrics
        .requests()
        .iter()
        .map(|d| {
            (d["Outcome"].as_str().unwrap().to_owned(), d["Duplicates"].as_u64().unwrap_or(0), d["Reason"].clone())
        })
        .collect();
    let expected = [
        ("accepted", 0, serde_json::Value::Null),
        ("accepted", 1, serde_json::Value::Null),
        ("rejected", 0, "invalid_signature".into()),
        ("rejected", 0, "stale".into()),
    ];
    assert_eq!(seen, expected.map(|(o, d, r)| (o.to_owned(), d, r)));
}
