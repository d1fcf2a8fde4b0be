//! The webhook path: one busy source's deliveries.

use super::{Heat, Model};
use crate::request;
use lambda_http::Body;
use shared::env::Vars;
use std::collections::BTreeMap;

/// `deliveries` signed deliveries of `body_bytes` each from one GitHub-scheme source, in one second.
pub async fn webhook_one_source(deliveries: u64, body_bytes: usize) -> Heat {
    let mut model = Model::new();
    let webhook =
        switchyard_webhook::WebhookFunction::new(model.deps.clone(), &Vars::default()).expect("the webhook function");
    let secret = model.local["webhook/github"]["secrets"][0].as_str().expect("the github secret").to_owned();
    for n in 0..deliveries {
        let body = format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(body_bytes.saturating_sub(24))).into_bytes();
        let mac = shared::crypto::to_hex(&shared::crypto::hmac_sha256(secret.as_bytes(), &[&body]));
        let headers =
            [("x-hub-signature-256", format!("sha256={mac}")), ("x-github-delivery", format!("delivery-{n:08}"))];
        let delivery = request("POST", "/webhooks/github", &headers, Body::Binary(body));
        assert_eq!(model.call(&webhook, delivery).await.status(), 200, "delivery {n}");
    }
    // Before: every event of a source in its one partition (`WHEVT#<source>`).
    let fold = |pk: &str| match pk.strip_prefix("WHEVT#") {
        Some(rest) => format!("WHEVT#{}", rest.split('#').next().unwrap_or(rest)),
        None => pk.to_owned(),
    };
    let request = format!("a {body_bytes}-byte delivery from one source");
    model.heat("webhook", (deliveries, request), BTreeMap::new(), fold).await
}
