//! Slack's Events API checks a Request URL with a signed `url_verification` (api.slack.com, Events API): the
//! challenge comes back only after the signature and timestamp checks, nothing is stored; an unsigned or stale one
//! gets no challenge. Events after it are stored as any delivery.

use lambda_http::{Body, Request, RequestExt};
use serde_json::{Value, json};
use shared::edge::handler::Handler;
use shared::partners::webhooks::Scheme;
use shared::partners::webhooks::signing::sign_headers;
use shared::ports::store::Store;
use std::collections::HashMap;
use std::sync::Arc;
use switchyard_webhook::WebhookFunction;
use testkit::aws::harness::Backend;

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
// Slack's documented example of a URL check.
const CHECK: &[u8] = br#"{"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}"#;

fn now() -> i64 {
    1_795_374_238
}

async fn stack(backend: Backend) -> (WebhookFunction, Arc<dyn Store>) {
    let secrets = [("webhook/slack", json!({"scheme": Scheme::Slack, "secret": SECRET}))];
    let ports = testkit::aws::harness::ports(backend, &secrets).await;
    testkit::assertions::leaks::fixture_secrets([SECRET]);
    let function = WebhookFunction::new(
        ports.deps.with_clock(shared::ports::clock::Clock::reading(now)),
        &shared::env::Vars::default(),
    )
    .unwrap();
    (function, ports.admin)
}

async fn send(function: &WebhookFunction, headers: &[(String, String)], body: &[u8]) -> (u16, Value) {
    let mut request = Request::new(Body::Binary(body.to_vec()));
    *request.method_mut() = lambda_http::http::Method::POST;
    *request.uri_mut() = "/webhooks/slack".parse().unwrap();
    request.headers_mut().insert("content-type", "application/json".parse().unwrap());
    for (name, value) in headers {
        let name = lambda_http::http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    let request = request.with_path_parameters(HashMap::from([("source".to_owned(), "slack".to_owned())]));
    let response = function.handle(request).await;
    (response.status().as_u16(), serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null))
}

async fn stored(store: &dyn Store) -> usize {
    testkit::aws::stored_webhooks::items(store, "slack").await.len()
}

async fn slacks_url_check_gets_its_challenge_back_and_nothing_is_stored(backend: Backend) {
    let (function, store) = stack(backend).await;
    let signed = sign_headers(Scheme::Slack, SECRET, CHECK, now(), "").unwrap();
    let (status, answer) = send(&function, &signed, CHECK).await;
    assert_eq!((status, answer), (200, json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})));
    assert_eq!(stored(store.as_ref()).await, 0, "a question about the endpoint, not an event");
    // Unsigned, forged or stale: no challenge.
    let (status, answer) = send(&function, &[], CHECK).await;
    assert!(status == 400 && answer.get("challenge").is_none(), "{answer}");
    let forged = sign_headers(Scheme::Slack, "another-signing-secret", CHECK, now(), "").unwrap();
    assert_eq!(send(&function, &forged, CHECK).await.0, 401);
    let stale = sign_headers(Scheme::Slack, SECRET, CHECK, now() - 3600, "").unwrap();
    let (status, answer) = send(&function, &stale, CHECK).await;
    assert!(status == 401 && answer.get("challenge").is_none(), "{answer}");
    // The app's events then arrive and are stored.
    let event = br#"{"type": "event_callback", "event_id": "Ev08MFMKH6", "event": {"type": "app_mention"}}"#;
    let signed = sign_headers(Scheme::Slack, SECRET, event, now(), "").unwrap();
    assert_eq!(send(&function, &signed, event).await.0, 200);
    assert_eq!(stored(store.as_ref()).await, 1);
}

testkit::on_both_backends!(slacks_url_check_gets_its_challenge_back_and_nothing_is_stored);
