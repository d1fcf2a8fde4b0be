//! The smart-me realtime path: many meters posting readings.

use super::{Heat, Model, unchanged};
use crate::request;
use lambda_http::Body;
use shared::env::Vars;
use shared::partners::smartme::post;
use std::collections::BTreeMap;

/// The model's `n`th meter.
pub(super) fn meter(n: u64) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x5eed_0000_0000_4000_8000_0000_0000_0000 | u128::from(n))
}

/// The `Authorization` smart-me's realtime posts carry on the local stack.
pub(super) fn realtime_authorization(local: &serde_json::Value) -> String {
    shared::codec::BasicCredentials::header_value(
        local["smartme"]["username"].as_str().expect("username"),
        local["smartme"]["password"].as_str().expect("password"),
    )
}

/// `readings` readings a second over as many meters (each meter one reading a second), posted by smart-me
/// `per_post` meters to a post.
pub async fn ingest_many_meters(readings: u64, per_post: u64) -> Heat {
    let mut model = Model::new();
    // As deployed with an event bus: each post also writes a batch item per meter for the events function.
    let vars = Vars::from_pairs([("SMARTME_BATCH_EVENTS", "on")]);
    let ingest = switchyard_ingest::IngestFunction::new(model.deps.clone(), &vars).expect("the ingest function");
    let auth = realtime_authorization(&model.local);
    let at_ms = (shared::ports::clock::now_epoch() - 60) * 1000;
    let values = [([1, 0, 1, 8, 0, 255], 1_879_583.2), ([1, 0, 1, 7, 0, 255], 240.0), ([1, 0, 32, 7, 0, 255], 231.0)];
    for first in (0..readings).step_by(per_post as usize) {
        let posted =
            (first..(first + per_post).min(readings)).map(|m| post::reading(meter(m), at_ms, &values)).collect();
        let headers = [("authorization", auth.clone())];
        let post = request("POST", "/smartme/realtime", &headers, Body::Binary(post::body(posted)));
        assert_eq!(model.call(&ingest, post).await.status(), 200, "post from meter {first}");
    }
    let request = format!("a post of {per_post} meters' readings (3 values each)");
    model.heat("ingest", (readings / per_post, request), BTreeMap::new(), unchanged).await
}
