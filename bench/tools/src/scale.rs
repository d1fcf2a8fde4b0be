//! The partition-heat model: the real handlers driven with one second of traffic at a path's target rate, on a
//! store that counts DynamoDB's request units per partition key ([`testkit::capacity::CountingStore`] over an
//! in-memory embedded store). What it answers per path: the hottest partition's write and read units in that
//! second against DynamoDB's per-partition limits (1,000 write, 3,000 read units a second), the table's total, and
//! the same second as the keys were laid out before (a layout change folds its partitions back).
//!
//! Deterministic: the traffic is generated (delivery ids, meters), every key follows from it, and nothing is timed.

use lambda_http::{Body, Request};
use shared::Deps;
use shared::edge::http::Handler;
use shared::env::Vars;
use shared::partners::smartme::post;
use shared::ports::secrets::FileSecrets;
use shared::ports::store::embedded::EmbeddedStore;
use std::collections::BTreeMap;
use std::sync::Arc;
use testkit::capacity::{CountingStore, Units};

/// DynamoDB's limits per partition, per second.
pub const PARTITION_WRITE_UNITS: u64 = 1_000;
pub const PARTITION_READ_UNITS: u64 = 3_000;

/// One path's second of traffic, as the model saw it.
#[derive(Debug, Clone)]
pub struct Heat {
    pub path: &'static str,
    /// Requests in the second (the target rate).
    pub requests_per_s: u64,
    /// What one request is.
    pub request: String,
    /// The hottest partition (by write units, then read units) and its units in the second.
    pub hottest: (String, Units),
    /// The same, with the keys as laid out before the latest layout change.
    pub hottest_before: (String, Units),
    /// Every partition's units, summed: the table's load in the second.
    pub table: Units,
    /// How many partitions took load.
    pub partitions: usize,
}

impl Heat {
    fn of(
        path: &'static str,
        requests_per_s: u64,
        request: String,
        load: BTreeMap<String, Units>,
        fold: fn(&str) -> String,
    ) -> Self {
        let hottest = |load: &BTreeMap<String, Units>| {
            load.iter().max_by_key(|(_, u)| (u.write, u.read)).map(|(pk, u)| (pk.clone(), *u)).unwrap_or_default()
        };
        let mut before: BTreeMap<String, Units> = BTreeMap::new();
        for (pk, units) in &load {
            let folded = before.entry(fold(pk)).or_default();
            folded.read += units.read;
            folded.write += units.write;
        }
        let table = load
            .values()
            .fold(Units::default(), |sum, u| Units { read: sum.read + u.read, write: sum.write + u.write });
        Self {
            path,
            requests_per_s,
            request,
            hottest: hottest(&load),
            hottest_before: hottest(&before),
            table,
            partitions: load.len(),
        }
    }

    /// The hottest partition's share of its limit (the larger of writes and reads).
    pub fn hottest_share(&self) -> f64 {
        share(&self.hottest.1)
    }

    pub fn hottest_share_before(&self) -> f64 {
        share(&self.hottest_before.1)
    }
}

fn share(units: &Units) -> f64 {
    (units.write as f64 / PARTITION_WRITE_UNITS as f64).max(units.read as f64 / PARTITION_READ_UNITS as f64)
}

fn counting_deps() -> (Arc<CountingStore<EmbeddedStore>>, Deps, serde_json::Value) {
    let store = Arc::new(CountingStore::new(EmbeddedStore::in_memory().expect("an in-memory store")));
    let local = testkit::stack::local_secrets();
    let deps = Deps::new(store.clone(), Arc::new(FileSecrets::from_json(local.clone()).expect("the secrets")));
    (store, deps, local)
}

fn request(method: &str, path: &str, headers: &[(&str, String)], body: Body) -> Request {
    let mut request = Request::new(body);
    *request.method_mut() = method.parse().expect("a method");
    *request.uri_mut() = path.parse().expect("a path");
    for (name, value) in headers {
        let name = lambda_http::http::HeaderName::from_bytes(name.as_bytes()).expect("a header name");
        request.headers_mut().insert(name, value.parse().expect("a header value"));
    }
    request
}

/// `deliveries` signed deliveries of `body_bytes` each from one GitHub-scheme source, in one second.
pub async fn webhook_one_source(deliveries: u64, body_bytes: usize) -> Heat {
    let (store, deps, local) = counting_deps();
    let webhook = switchyard_webhook::WebhookFunction::new(deps, &Vars::default()).expect("the webhook function");
    let secret = local["webhook/github"]["secrets"][0].as_str().expect("the github secret").to_owned();
    for n in 0..deliveries {
        let body = format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(body_bytes.saturating_sub(24))).into_bytes();
        let mac = shared::crypto::to_hex(&shared::crypto::hmac_sha256(secret.as_bytes(), &[&body]));
        let headers =
            [("x-hub-signature-256", format!("sha256={mac}")), ("x-github-delivery", format!("delivery-{n:08}"))];
        let status = webhook.handle(request("POST", "/webhooks/github", &headers, Body::Binary(body))).await.status();
        assert_eq!(status, 200, "delivery {n}");
    }
    // Before: every event of a source in its one partition (`WHEVT#<source>`).
    let fold = |pk: &str| match pk.strip_prefix("WHEVT#") {
        Some(rest) => format!("WHEVT#{}", rest.split('#').next().unwrap_or(rest)),
        None => pk.to_owned(),
    };
    let request = format!("a {body_bytes}-byte delivery from one source");
    Heat::of("webhook", deliveries, request, store.take_partitions(), fold)
}

/// `readings` readings a second over as many meters (each meter one reading a second), posted by smart-me
/// `per_post` meters to a post.
pub async fn ingest_many_meters(readings: u64, per_post: u64) -> Heat {
    let (store, deps, local) = counting_deps();
    // As deployed with an event bus: each post also writes a batch item per meter for the events function.
    let vars = Vars::from_pairs([("SMARTME_BATCH_EVENTS", "on")]);
    let ingest = switchyard_ingest::IngestFunction::new(deps, &vars).expect("the ingest function");
    let auth = shared::codec::BasicCredentials::header_value(
        local["smartme"]["username"].as_str().expect("username"),
        local["smartme"]["password"].as_str().expect("password"),
    );
    let at_ms = (shared::ports::clock::now_epoch() - 60) * 1000;
    let values = [([1, 0, 1, 8, 0, 255], 1_879_583.2), ([1, 0, 1, 7, 0, 255], 240.0), ([1, 0, 32, 7, 0, 255], 231.0)];
    for first in (0..readings).step_by(per_post as usize) {
        let posted = (first..(first + per_post).min(readings))
            .map(|m| {
                post::reading(
                    uuid::Uuid::from_u128(0x5eed_0000_0000_4000_8000_0000_0000_0000 | u128::from(m)),
                    at_ms,
                    &values,
                )
            })
            .collect();
        let headers = [("authorization", auth.clone())];
        let status = ingest
            .handle(request("POST", "/smartme/realtime", &headers, Body::Binary(post::body(posted))))
            .await
            .status();
        assert_eq!(status, 200, "post from meter {first}");
    }
    let request = format!("a post of {per_post} meters' readings (3 values each)");
    Heat::of("ingest", readings / per_post, request, store.take_partitions(), |pk: &str| pk.to_owned())
}
