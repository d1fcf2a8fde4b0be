//! The cost model's inputs, measured: DynamoDB read and write request units per request of each kind, counted by
//! [`testkit::aws::capacity::CountingStore`] around the embedded store while the real handlers run.
//!
//! Usage: `capacity [COLDSTART_JSON]`: with the cold-start results, Lambda GB-seconds use each function's warm
//! (5th) invocation median; prints a Markdown table per one million requests.

use lambda_http::Body;
use serde_json::{Value, json};
use shared::Deps;
use shared::codec::BasicCredentials;
use shared::edge::handler::Handler;
use shared::env::Vars;
use shared::identity::oauth::OAuthSettings;
use shared::identity::oauth::grants::{Grants, Lifetimes};
use shared::partners::smartme::post;
use shared::ports::secrets::FileSecrets;
use shared::ports::store::Store;
use shared::ports::store::changes::{Change, ChangeKind, to_stream_event};
use shared::ports::store::embedded::EmbeddedStore;
use std::sync::Arc;
use switchyard_bench::request;
use testkit::aws::capacity::CountingStore;

const METER: &str = "3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1";

/// On-demand prices (us-east-1, USD): DynamoDB per million request units, Lambda arm64 per GB-second and per
/// million requests, HTTP API per million requests.
const WRU_PER_MILLION: f64 = 0.625;
const RRU_PER_MILLION: f64 = 0.125;
const LAMBDA_GB_S: f64 = 0.000_013_333_4;
const LAMBDA_PER_MILLION: f64 = 0.20;
const HTTP_API_PER_MILLION: f64 = 1.00;

/// Ten readings a second apart, ten values each; `power` W of realtime power.
fn ten_readings(start_ms: i64, power: f64) -> Vec<u8> {
    let meter = uuid::Uuid::parse_str(METER).unwrap();
    let values = [
        ([1, 0, 1, 8, 0, 255], 1_879_583.2),
        ([1, 0, 2, 8, 0, 255], 12.5),
        ([1, 0, 1, 7, 0, 255], power),
        ([1, 0, 2, 7, 0, 255], 0.0),
        ([1, 0, 31, 7, 0, 255], 1.1),
        ([1, 0, 32, 7, 0, 255], 231.0),
        ([1, 0, 13, 7, 0, 255], 0.98),
        ([1, 0, 14, 7, 0, 255], 50.0),
        ([1, 0, 1, 8, 1, 255], 1_000_000.0),
        ([99, 0, 12, 0, 0, 0], 1.0),
    ];
    post::body((0..10).map(|i| post::reading(meter, start_ms + i * 1000, &values)).collect())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let durations: Value = std::env::args()
        .nth(1)
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    let warm_ms = |function: &str| -> Option<f64> {
        durations.as_array()?.iter().find(|r| r["function"] == function)?["fifth_invoke_ms"]["median"].as_f64()
    };
    let dir = std::env::temp_dir().join(testkit::unique_name("capacity"));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(CountingStore::new(EmbeddedStore::open(&dir.join("store.redb")).unwrap()));
    let local = testkit::aws::harness::local_secrets();
    let deps = Deps::new(store.clone(), Arc::new(FileSecrets::from_json(local.clone()).unwrap()));
    let vars = Vars::default();
    let now = shared::ports::clock::now_epoch();
    let mut rows = Vec::new();

    // smart-me: a post of 10 readings (10 values each), then its redelivery.
    let ingest = switchyard_ingest::IngestFunction::new(deps.clone(), &vars).unwrap();
    let auth = BasicCredentials::header_value(
        local["smartme"]["username"].as_str().unwrap(),
        local["smartme"]["password"].as_str().unwrap(),
    );
    let post = ten_readings((now - 60) * 1000, 240.0);
    let send = || request("POST", "/smartme/realtime", &[("authorization", auth.clone())], Body::Binary(post.clone()));
    assert_eq!(ingest.handle(send()).await.status(), 200);
    rows.push(("ingest: new post of 10 readings", "ingest", store.take()));
    assert_eq!(ingest.handle(send()).await.status(), 200);
    rows.push(("ingest: the same post delivered again", "ingest", store.take()));

    // Sber: a linked user with that meter queries it.
    let users = shared::identity::users::Users::new(store.as_ref());
    let user = users.add("bench", "bench-password", now).await.unwrap();
    users.link_device(&user.id, METER, "Meter", now).await.unwrap();
    let settings = OAuthSettings::load(deps.secrets.as_ref(), None).await.unwrap();
    let client = settings.client("sber").unwrap().clone();
    let lifetimes = Lifetimes::from_vars(&vars).unwrap();
    let grants = Grants { store: store.as_ref(), settings: &settings, lifetimes, now };
    let tokens = grants.mint(&user.id, &client, "smarthome").await.unwrap();
    store.take();
    let sber = switchyard_user::UserFunction::new(deps.clone(), &vars).unwrap();
    let bearer = format!("Bearer {}", tokens.access_token);
    let query = request(
        "POST",
        "/sber/v1/query",
        &[("authorization", bearer.clone()), ("content-type", "application/json".into())],
        Body::Text(json!({"devices": [METER]}).to_string()),
    );
    assert_eq!(sber.handle(query).await.status(), 200);
    rows.push(("Sber: query of one meter", "user", store.take()));
    // The first devices call records that Sber linked the user (one write, once): measured is every later one.
    let devices = || request("GET", "/sber/v1/devices", &[("authorization", bearer.clone())], Body::Empty);
    assert_eq!(sber.handle(devices()).await.status(), 200);
    store.take();
    assert_eq!(sber.handle(devices()).await.status(), 200);
    rows.push(("Sber: devices (one meter)", "user", store.take()));

    // notify: Sber linked the user; a new post changes the meter's latest state, whose stream record notify
    // turns into one state push. (The first record settles the device's model: a one-time update, left out.)
    let sber_api =
        testkit::partners::sber_api::FakeSber::start(&format!("Bearer {}", local["sber"]["api_key"].as_str().unwrap()))
            .await;
    let notify_vars = Vars::from_pairs([("SBER_API_URL", sber_api.url.as_str())]);
    let notify = switchyard_notify::NotifyFunction::new(deps.clone(), &notify_vars)
        .unwrap()
        .with_sink(Arc::new(shared::telemetry::NoMetrics));
    sber.handle(request(
        "GET",
        "/sber/v1/user",
        &[("authorization", format!("Bearer {}", tokens.access_token))],
        Body::Empty,
    ))
    .await;
    let mut pushes = 0;
    for (k, start_ms, power) in [(1, (now - 30) * 1000, 250.0), (2, (now - 15) * 1000, 260.0)] {
        let latest = shared::ports::store::keys::meter_latest(METER);
        let old = store.get(&latest).await.unwrap();
        let post = ten_readings(start_ms, power);
        let send = request("POST", "/smartme/realtime", &[("authorization", auth.clone())], Body::Binary(post));
        assert_eq!(ingest.handle(send).await.status(), 200);
        let new = store.get(&latest).await.unwrap();
        let change =
            Change { sequence: format!("{k:021}"), kind: ChangeKind::Modify, key: latest, old, new, time: None };
        store.take();
        let answer = notify.handle("bench", &to_stream_event(&[change])).await;
        assert_eq!(answer, json!({"batchItemFailures": []}));
        pushes = sber_api.accepted().iter().filter(|c| c.path == "/v1/state").count();
    }
    assert_eq!(pushes, 2, "each changed reading is one push");
    rows.push(("notify: push of one changed reading (stream record in)", "notify", store.take()));

    // A signed webhook (GitHub scheme, 1 KiB body).
    let webhook = switchyard_webhook::WebhookFunction::new(deps.clone(), &vars).unwrap();
    let body = vec![b'x'; 1024];
    let secret = local["webhook/github"]["secrets"][0].as_str().unwrap();
    let headers: Vec<(&str, String)> = vec![
        (
            "x-hub-signature-256",
            format!("sha256={}", shared::crypto::to_hex(&shared::crypto::hmac_sha256(secret.as_bytes(), &[&body]))),
        ),
        ("x-github-delivery", "bench-delivery-1".into()),
    ];
    assert_eq!(webhook.handle(request("POST", "/webhooks/github", &headers, Body::Binary(body))).await.status(), 200);
    rows.push(("webhook: new 1 KiB delivery", "webhook", store.take()));

    println!(
        "| request | DynamoDB calls | read units | write units | DynamoDB $ per 1M | Lambda GB-s per 1M (128 MB) | Lambda + API $ per 1M |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, function, (reads, writes, calls)) in rows {
        let dynamo = (writes as f64 * WRU_PER_MILLION) + (reads as f64 * RRU_PER_MILLION);
        // notify is invoked by the stream, not through the HTTP API (and Lambda's stream reads are free).
        let api = if function == "notify" { 0.0 } else { HTTP_API_PER_MILLION };
        let (gb_s, compute) = match warm_ms(function) {
            Some(ms) => {
                let gb_s = ms.ceil() / 1000.0 * 0.125 * 1e6;
                (
                    format!("{gb_s:.0} (at {:.0} ms)", ms.ceil()),
                    format!("{:.2}", gb_s * LAMBDA_GB_S + LAMBDA_PER_MILLION + api),
                )
            }
            None => ("-".into(), "-".into()),
        };
        println!("| {name} | {} | {reads} | {writes} | {dynamo:.2} | {gb_s} | {compute} |", calls.join(", "));
    }
}
