//! The partition-heat model: the real handlers driven with one second of traffic at a path's target rate, on a
//! store that counts DynamoDB's request units per partition key ([`testkit::capacity::CountingStore`] over an
//! in-memory embedded store). What it answers per path: the hottest partition's write and read units in that
//! second against DynamoDB's per-partition limits (1,000 write, 3,000 read units a second), the table's total, and
//! the same second as the keys were laid out before (a layout change folds its partitions back).
//!
//! Deterministic: the traffic is generated (delivery ids, meters), every key follows from it, and nothing is timed.

use crate::request;
use lambda_http::Body;
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

/// Users of one meter each, linked with Sber (profile, device, token family, Sber's link), made without the
/// password hashing a sign-in costs; their access tokens. Nothing here is counted.
async fn linked_users(store: &CountingStore<EmbeddedStore>, deps: &Deps, users: u64) -> Vec<(String, String)> {
    use shared::identity::oauth::OAuthSettings;
    use shared::identity::oauth::grants::{Grants, Lifetimes};
    use shared::ports::store::{Condition, Item, Store, Value, keys};
    let settings = OAuthSettings::load(deps.secrets.as_ref(), None).await.expect("the oauth secret");
    let client = settings.client("sber").expect("the sber client").clone();
    let now = shared::ports::clock::now_epoch();
    let grants = Grants { store, settings: &settings, lifetimes: Lifetimes::from_vars(&Vars::default()).unwrap(), now };
    let users_store = shared::identity::users::Users::new(store);
    let mut linked = Vec::new();
    for n in 0..users {
        let user = format!("u-model-{n:06}");
        let profile = Item::new(keys::user_profile(&user)).with("login", Value::str(format!("model-{n}")));
        store.put(profile, Condition::Always).await.expect("a profile");
        let meter = meter(n);
        users_store.link_device(&user, &meter.to_string(), "Meter", now).await.expect("a device");
        let tokens = grants.mint(&user, &client, "smarthome").await.expect("a token");
        linked.push((meter.to_string(), format!("Bearer {}", tokens.access_token)));
    }
    linked
}

fn meter(n: u64) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x5eed_0000_0000_4000_8000_0000_0000_0000 | u128::from(n))
}

/// `queries` Sber queries in one second, each from another user asking for its one meter's state.
pub async fn sber_queries(queries: u64) -> Heat {
    let (store, deps, _) = counting_deps();
    let linked = linked_users(&store, &deps, queries).await;
    let sber = switchyard_user::UserFunction::new(deps, &Vars::default()).expect("the user function");
    // Sber links each user once (`GET /sber/v1/user` records it); not part of the second.
    for (_, bearer) in &linked {
        let user = request("GET", "/sber/v1/user", &[("authorization", bearer.clone())], Body::Empty);
        assert_eq!(sber.handle(user).await.status(), 200);
    }
    store.take_partitions();
    for (meter, bearer) in &linked {
        let headers = [("authorization", bearer.clone()), ("content-type", "application/json".to_owned())];
        let body = Body::Text(serde_json::json!({"devices": [meter]}).to_string());
        assert_eq!(sber.handle(request("POST", "/sber/v1/query", &headers, body)).await.status(), 200);
    }
    let request = "a query of one user's one meter".to_owned();
    Heat::of("Sber queries", queries, request, store.take_partitions(), |pk: &str| pk.to_owned())
}

/// `pushes` state pushes in one second: as many meters of as many Sber-linked users changed their latest state,
/// their stream records delivered to notify in batches of 100 (the template's batch size).
pub async fn state_pushes(pushes: u64) -> Heat {
    use shared::ports::store::changes::{Change, ChangeKind, to_stream_event};
    use shared::ports::store::{Store, keys};
    let (store, deps, local) = counting_deps();
    let linked = linked_users(&store, &deps, pushes).await;
    let sber = switchyard_user::UserFunction::new(deps.clone(), &Vars::default()).expect("the user function");
    for (_, bearer) in &linked {
        let user = request("GET", "/sber/v1/user", &[("authorization", bearer.clone())], Body::Empty);
        assert_eq!(sber.handle(user).await.status(), 200);
    }
    let api_key = local["sber"]["api_key"].as_str().expect("the sber key");
    let sber_api = sandbox::sber::FakeSberApi::start(&format!("Bearer {api_key}")).await;
    let vars = Vars::from_pairs([("SBER_API_URL", sber_api.url.as_str())]);
    let notify = switchyard_notify::NotifyFunction::new(deps.clone(), &vars)
        .expect("the notify function")
        .with_sink(Arc::new(shared::telemetry::NoMetrics));
    let ingest = switchyard_ingest::IngestFunction::new(deps, &Vars::default()).expect("the ingest function");
    let auth = shared::codec::BasicCredentials::header_value(
        local["smartme"]["username"].as_str().expect("username"),
        local["smartme"]["password"].as_str().expect("password"),
    );
    // Two readings per meter: the first settles each device's Sber model (a one-time update), the second is the
    // state change whose push is the second measured. Ingest's own part is the ingest path's, not counted here.
    let switch: shared::partners::smartme::obis::Obis = sandbox::smartme::SWITCH_OBIS.parse().expect("OBIS");
    for (round, watts) in [(0_i64, 250.0), (1, 260.0)] {
        let at_ms = (shared::ports::clock::now_epoch() - 30 + round * 10) * 1000;
        let mut changes = Vec::new();
        for (n, (meter, _)) in linked.iter().enumerate() {
            let latest = keys::meter_latest(meter);
            let old = store.get(&latest).await.expect("the latest state");
            // With its relay's state: a meter Sber is offered is one that switches.
            let values = [([1, 0, 1, 7, 0, 255], watts), (switch.0, 1.0)];
            let reading = post::body(vec![post::reading(meter.parse().expect("a meter id"), at_ms, &values)]);
            let headers = [("authorization", auth.clone())];
            let status =
                ingest.handle(request("POST", "/smartme/realtime", &headers, Body::Binary(reading))).await.status();
            assert_eq!(status, 200);
            let new = store.get(&latest).await.expect("the latest state");
            let kind = if old.is_some() { ChangeKind::Modify } else { ChangeKind::Insert };
            let sequence = format!("{round}{n:020}");
            changes.push(Change { sequence, kind, key: latest, old, new, time: None });
        }
        store.take_partitions();
        for batch in changes.chunks(100) {
            let answer = notify.handle("model", &to_stream_event(batch)).await;
            assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
        }
    }
    let load = store.take_partitions();
    let pushed = sber_api.accepted().iter().filter(|c| c.path == "/v1/state").count();
    assert!(pushed > 0, "notify pushed states to Sber");
    let request = format!("a meter's state pushed (stream records in batches of 100; {pushed} calls to Sber in all)");
    Heat::of("state pushes", pushes, request, load, |pk: &str| pk.to_owned())
}
