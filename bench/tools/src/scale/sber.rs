//! The Sber paths: queries and commands from many linked users, and state pushes from the table's stream.

use super::smartme::{meter, realtime_authorization};
use super::{Billing, Heat, Model, SBER, SMARTME, STREAM_BATCH, unchanged};
use crate::request;
use lambda_http::Body;
use shared::edge::handler::Handler;
use shared::env::Vars;
use shared::partners::smartme::post;
use shared::ports::store::changes::{Change, to_stream_event};
use shared::ports::store::{Condition, Item, Store, Value, keys};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Users of one meter each, linked with Sber (profile, device, token family, Sber's link), made without the
/// password hashing a sign-in costs; their meters and access tokens. Sber's `GET /v1/user` has been called for
/// each (Sber records the link once), and nothing of it is counted.
async fn linked_users(model: &mut Model, users: u64) -> Vec<(String, String)> {
    use shared::identity::oauth::OAuthSettings;
    use shared::identity::oauth::grants::{Grants, Lifetimes};
    let store = model.store.as_ref();
    let settings = OAuthSettings::load(model.deps.secrets.as_ref(), None).await.expect("the oauth secret");
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
    let sber = user_function(model, &Vars::default());
    for (_, bearer) in &linked {
        let user = request("GET", "/sber/v1/user", &[("authorization", bearer.clone())], Body::Empty);
        assert_eq!(sber.handle(user).await.status(), 200);
    }
    model.settle();
    linked
}

fn user_function(model: &Model, vars: &Vars) -> switchyard_user::UserFunction {
    switchyard_user::UserFunction::new(model.deps.clone(), vars).expect("the user function")
}

/// One reading of each meter with its relay's state and `watts` (a meter Sber is offered is one that switches),
/// posted by smart-me; the stream records notify is handed for them. Not counted.
async fn post_switch_readings(model: &mut Model, linked: &[(String, String)], round: i64, watts: f64) -> Vec<Change> {
    let ingest =
        switchyard_ingest::IngestFunction::new(model.deps.clone(), &Vars::default()).expect("the ingest function");
    let auth = realtime_authorization(&model.local);
    let switch: shared::partners::smartme::obis::Obis = sandbox::smartme::SWITCH_OBIS.parse().expect("OBIS");
    let at_ms = (shared::ports::clock::now_epoch() - 30 + round * 10) * 1000;
    for (meter, _) in linked {
        let values = [([1, 0, 1, 7, 0, 255], watts), (switch.0, 1.0)];
        let reading = post::body(vec![post::reading(meter.parse().expect("a meter id"), at_ms, &values)]);
        let headers = [("authorization", auth.clone())];
        let status =
            ingest.handle(request("POST", "/smartme/realtime", &headers, Body::Binary(reading))).await.status();
        assert_eq!(status, 200);
    }
    let changes = model.take_changes(shared::partners::sber::notify::is_relevant);
    model.settle();
    changes
}

/// `queries` Sber queries in one second, each from another user asking for its one meter's state.
pub async fn sber_queries(queries: u64) -> Heat {
    let mut model = Model::new();
    let linked = linked_users(&mut model, queries).await;
    let sber = user_function(&model, &Vars::default());
    for (meter, bearer) in &linked {
        let headers = [("authorization", bearer.clone()), ("content-type", "application/json".to_owned())];
        let body = Body::Text(serde_json::json!({"devices": [meter]}).to_string());
        let query = request("POST", "/sber/v1/query", &headers, body);
        assert_eq!(model.call(&sber, query).await.status(), 200);
    }
    let request = "a query of one user's one meter".to_owned();
    model.heat("Sber queries", (queries, request), BTreeMap::new(), unchanged).await
}

/// `commands` Sber commands in one second, each from another user switching its one meter off through smart-me's
/// API (played locally, the vendor's key switching every meter).
pub async fn sber_commands(commands: u64) -> Heat {
    let mut model = Model::new();
    let linked = linked_users(&mut model, commands).await;
    post_switch_readings(&mut model, &linked, 0, 250.0).await;
    let api_key = model.local["smartme"]["api_key"].as_str().expect("the smart-me key").to_owned();
    let meters: Vec<&str> = linked.iter().map(|(meter, _)| meter.as_str()).collect();
    let smartme = sandbox::smartme::FakeSmartMe::start(&format!("ApiKey {api_key}"), &meters).await;
    let sber = user_function(&model, &Vars::from_pairs([("SMARTME_API_URL", smartme.url.as_str())]));
    for (meter, bearer) in &linked {
        let headers = [("authorization", bearer.clone()), ("content-type", "application/json".to_owned())];
        let off = serde_json::json!({"key": "on_off", "value": {"type": "BOOL", "bool_value": false}});
        let body = Body::Text(serde_json::json!({"devices": {meter: {"states": [off]}}}).to_string());
        let command = model.call(&sber, request("POST", "/sber/v1/command", &headers, body)).await;
        assert_eq!(command.status(), 200);
        let answer: serde_json::Value = serde_json::from_slice(command.body().as_ref()).expect("a JSON answer");
        assert!(answer["devices"].get(meter).is_some(), "the meter switched: {answer}");
    }
    let switched = smartme.calls().len() as u64;
    assert_eq!(switched, commands, "one smart-me action per command");
    let request = "a command switching one user's one meter".to_owned();
    model.heat("Sber commands", (commands, request), BTreeMap::from([(SMARTME, switched)]), unchanged).await
}

/// `pushes` state pushes in one second: as many meters of as many Sber-linked users changed their latest state,
/// their stream records delivered to notify in batches of 100 (the template's batch size).
pub async fn state_pushes(pushes: u64) -> Heat {
    let mut model = Model::new();
    let linked = linked_users(&mut model, pushes).await;
    let api_key = model.local["sber"]["api_key"].as_str().expect("the sber key").to_owned();
    let sber_api = sandbox::sber::FakeSber::start(&format!("Bearer {api_key}")).await;
    let vars = Vars::from_pairs([("SBER_API_URL", sber_api.url.as_str())]);
    let notify = switchyard_notify::NotifyFunction::new(model.deps.clone(), &vars)
        .expect("the notify function")
        .with_sink(Arc::new(shared::telemetry::NoMetrics));
    // Two readings per meter: the first settles each device's Sber model (a one-time update), the second is the
    // state change whose push is the second measured. Ingest's own part is the ingest path's, not counted here.
    let settling = post_switch_readings(&mut model, &linked, 0, 250.0).await;
    for batch in settling.chunks(STREAM_BATCH) {
        assert_eq!(notify.handle("model", &to_stream_event(batch)).await["batchItemFailures"], serde_json::json!([]));
    }
    let changed = post_switch_readings(&mut model, &linked, 1, 260.0).await;
    let before = sber_api.accepted().len();
    for batch in changed.chunks(STREAM_BATCH) {
        let answer = model.timed(notify.handle("model", &to_stream_event(batch))).await;
        assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
    }
    let pushed = sber_api.accepted()[before..].iter().filter(|c| c.path == "/v1/state").count() as u64;
    assert!(pushed > 0, "notify pushed states to Sber");
    let request = "a meter's state pushed (stream records in batches of 100)".to_owned();
    let heat = model.heat("state pushes", (pushes, request), BTreeMap::from([(SBER, pushed)]), unchanged).await;
    // A stream batch is one invocation of notify; no API Gateway.
    Heat {
        billing: Billing { invocations: 1.0 / STREAM_BATCH as f64, api_requests: 0.0, ..Billing::ONE_REQUEST },
        ..heat
    }
}
