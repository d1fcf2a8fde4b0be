//! Replays, scheme by scheme: a captured delivery re-sent under any variation of what its signature does not cover
//! (delivery-id headers, other headers, a sender's retry) is stored once, on both stores. What the signature covers
//! cannot be varied without the secret (401, nothing stored).

use lambda_http::{Body, Request, RequestExt};
use shared::edge::handler::Handler;
use shared::partners::webhooks::Scheme;
use shared::partners::webhooks::signing::sign_headers;
use shared::ports::store::{Store, keys};
use std::collections::HashMap;
use std::sync::Arc;
use switchyard_webhook::WebhookFunction;
use testkit::aws::harness::Backend;

const SECRET: &str = "whsec_cmVwbGF5LXRlc3Qtc2lnbmluZy1rZXk=";
const SCHEMES: [(&str, Scheme); 5] = [
    ("schurter", Scheme::Schurter),
    ("standard", Scheme::StandardWebhooks),
    ("stripe", Scheme::Stripe),
    ("github", Scheme::Github),
    ("slack", Scheme::Slack),
];

fn now() -> i64 {
    1_795_374_238
}

struct Stack {
    function: WebhookFunction,
    store: Arc<dyn Store>,
    deps: shared::Deps,
}

async fn stack(backend: Backend) -> Stack {
    let names: Vec<String> = SCHEMES.iter().map(|(source, _)| format!("webhook/{source}")).collect();
    let secrets: Vec<(&str, serde_json::Value)> = names
        .iter()
        .zip(SCHEMES)
        .map(|(name, (_, scheme))| {
            (name.as_str(), serde_json::json!({"scheme": scheme, "secret": SECRET, "tolerance_s": 300}))
        })
        .collect();
    let ports = testkit::aws::harness::ports(backend, &secrets).await;
    let function = WebhookFunction::new(
        ports.deps.clone().with_clock(shared::ports::clock::Clock::reading(now)),
        &shared::env::Vars::default(),
    )
    .unwrap();
    Stack { function, store: ports.admin, deps: ports.deps }
}

fn post(source: &str, headers: &[(String, String)], body: &[u8]) -> Request {
    let mut request = Request::new(Body::Binary(body.to_vec()));
    *request.method_mut() = lambda_http::http::Method::POST;
    *request.uri_mut() = format!("/webhooks/{source}").parse().unwrap();
    for (name, value) in headers {
        let name = lambda_http::http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    request.with_path_parameters(HashMap::from([("source".to_owned(), source.to_owned())]))
}

async fn status(stack: &Stack, source: &str, headers: &[(String, String)], body: &[u8]) -> u16 {
    stack.function.handle(post(source, headers, body)).await.status().as_u16()
}

async fn stored(stack: &Stack, source: &str) -> usize {
    testkit::aws::stored_webhooks::items(stack.store.as_ref(), source).await.len()
}

fn with(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut out: Vec<_> = headers.iter().filter(|(n, _)| !n.eq_ignore_ascii_case(name)).cloned().collect();
    out.push((name.to_owned(), value.to_owned()));
    out
}

async fn captured_deliveries_are_stored_once_whatever_is_unsigned(backend: Backend) {
    let stack = stack(backend).await;
    for (source, scheme) in SCHEMES {
        let body = br#"{"id":"evt_42","event_id":"Ev42","type":"thing.happened"}"#;
        let signed = sign_headers(scheme, SECRET, body, now(), "msg_42").unwrap();
        testkit::assertions::leaks::fixture_secrets(signed.iter().map(|(_, v)| v.clone()));
        assert_eq!(status(&stack, source, &signed, body).await, 200, "{source}");
        // Unsigned variations: another delivery id header, other headers.
        let variations = [
            with(&signed, "X-GitHub-Delivery", "replayed-1"),
            with(&signed, "X-GitHub-Delivery", "replayed-2"),
            with(&signed, "X-Slack-Retry-Num", "1"),
            with(&signed, "User-Agent", "attacker/1.0"),
            with(&signed, "X-Request-Id", "r-9"),
        ];
        for headers in &variations {
            assert_eq!(status(&stack, source, headers, body).await, 200, "{source}: accepted as a duplicate");
        }
        assert_eq!(stored(&stack, source).await, 1, "{source}: one captured delivery, stored once");
    }
}

async fn a_senders_retry_is_a_duplicate_and_signed_fields_cannot_vary(backend: Backend) {
    let stack = stack(backend).await;
    let body = br#"{"id":"evt_7","event_id":"Ev7","type":"thing.happened"}"#;
    // Stripe and Slack sign each retry anew (another timestamp): the event id in the signed body dedupes it.
    for (source, scheme) in [("stripe", Scheme::Stripe), ("slack", Scheme::Slack)] {
        for t in [now() - 20, now() - 10, now()] {
            let signed = sign_headers(scheme, SECRET, body, t, "unused").unwrap();
            assert_eq!(status(&stack, source, &signed, body).await, 200, "{source}");
        }
        assert_eq!(stored(&stack, source).await, 1, "{source}: the retries are one event");
    }
    // Standard Webhooks signs its id: a captured delivery under a new webhook-id does not verify.
    let signed = sign_headers(Scheme::StandardWebhooks, SECRET, body, now(), "msg_7").unwrap();
    assert_eq!(status(&stack, "standard", &signed, body).await, 200);
    assert_eq!(status(&stack, "standard", &with(&signed, "webhook-id", "msg_8"), body).await, 401);
    assert_eq!(stored(&stack, "standard").await, 1);
    // Everywhere, another body under a captured signature does not verify.
    for (source, scheme) in SCHEMES {
        let signed = sign_headers(scheme, SECRET, body, now(), "msg_7").unwrap();
        assert_eq!(status(&stack, source, &signed, br#"{"id":"evt_8"}"#).await, 401, "{source}");
    }
}

/// GitHub signs no timestamp: the replay guard is all that stops a captured delivery, so it does not expire (the
/// events it guards are kept for ever too). Replayed after the week the guard used to last, it is still a
/// duplicate; a scheme with a signed timestamp keeps its guard past its tolerance, then lets it expire.
async fn a_github_delivery_replayed_after_a_week_is_still_a_duplicate(backend: Backend) {
    let stack = stack(backend).await;
    let body = br#"{"action":"opened","number":42}"#;
    let signed = sign_headers(Scheme::Github, SECRET, body, now(), "72d3162e-cc78-11e3-81ab-4c9367dc0958").unwrap();
    let first = stack.function.handle(post("github", &signed, body)).await;
    let answer: serde_json::Value = serde_json::from_slice(first.body().as_ref()).unwrap();
    let guard = stack.store.get(&keys::webhook_delivery("github", answer["id"].as_str().unwrap())).await.unwrap();
    assert_eq!(guard.expect("the replay guard").expires_at, None, "kept as long as the event");
    // A scheme with a signed timestamp: its guard outlives its tolerance, then expires.
    let signed_stripe = sign_headers(Scheme::Stripe, SECRET, body, now(), "").unwrap();
    let stripe = stack.function.handle(post("stripe", &signed_stripe, body)).await;
    let answer: serde_json::Value = serde_json::from_slice(stripe.body().as_ref()).unwrap();
    let guard = stack.store.get(&keys::webhook_delivery("stripe", answer["id"].as_str().unwrap())).await.unwrap();
    assert!(guard.is_none_or(|g| g.expires_at.is_some()), "expires (or already did, on the real clock)");
    fn eight_days_later() -> i64 {
        now() + 8 * 86_400
    }
    let later = WebhookFunction::new(
        stack.deps.clone().with_clock(shared::ports::clock::Clock::reading(eight_days_later)),
        &Default::default(),
    )
    .unwrap();
    let replay = later.handle(post("github", &signed, body)).await;
    assert_eq!(replay.status(), 200);
    let answer: serde_json::Value = serde_json::from_slice(replay.body().as_ref()).unwrap();
    assert_eq!(answer["duplicate"], true, "{answer}");
    assert_eq!(stored(&stack, "github").await, 1);
}

testkit::on_both_backends!(
    a_github_delivery_replayed_after_a_week_is_still_a_duplicate,
    captured_deliveries_are_stored_once_whatever_is_unsigned,
    a_senders_retry_is_a_duplicate_and_signed_fields_cannot_vary,
);
