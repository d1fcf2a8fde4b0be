//! Sber plays its part end to end against the local stack (token, ingest and user functions on one store):
//! account linking with Sber's redirect URI, user, devices, a smart-me post, query in Sber units, staleness,
//! commands through a fake smart-me API, unlink; on the embedded store and on DynamoDB and Secrets Manager (moto).

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::codec::BasicCredentials;
use shared::edge::handler::Handler;
use shared::env::Vars;
use shared::identity::users::Users;
use shared::partners::smartme::proto::DeviceData;
use testkit::aws::harness::Backend;
use testkit::partners::smartme_api::{FakeSmartMe, SWITCH_OBIS};
use uuid::Uuid;

const SBER_REDIRECT: &str = "https://gateway.iot.sberdevices.ru/gateway/v1/binder/backward";
const CLIENT: (&str, &str) = ("sber", "sber-client-secret-for-tests");
const SIGNING_KEY: &str = "sber-test-signing-key-sber-test-signing-key";
const REALTIME: (&str, &str) = ("smartme-realtime", "smartme-realtime-password");
const API_KEY: &str = "smartme-rest-api-key-for-tests";
const SWITCHABLE: &str = "3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1";
const PLAIN: &str = "0c1622a2-2ca1-4183-9f8e-3bd0fce9b3d1";
const FOREIGN: &str = "11111111-2222-4333-8444-555555555555";

struct Stack {
    admin: std::sync::Arc<dyn shared::ports::store::Store>,
    alice: String,
    token: switchyard_token::TokenFunction,
    ingest: switchyard_ingest::IngestFunction,
    user: switchyard_user::UserFunction,
    smartme: FakeSmartMe,
    /// The functions' time, moved by the test.
    time: testkit::clock::TestTime,
}

async fn stack(backend: Backend) -> Stack {
    stack_with(backend, &[]).await
}

/// The stack with `overrides` of its configuration.
async fn stack_with(backend: Backend, overrides: &[(&str, &str)]) -> Stack {
    let oauth = json!({
        "issuer": "https://api.switchyard.test",
        "keys": [{"kid": "k1", "secret": SIGNING_KEY}],
        "clients": [
            {"client_id": CLIENT.0, "client_secret": CLIENT.1, "redirect_uris": [SBER_REDIRECT], "scopes": ["smarthome"], "audience": "sber"},
            {"client_id": "app", "redirect_uris": ["https://app.example.com/cb"], "scopes": ["smallcase"], "audience": "smallcase"}
        ]
    });
    let smartme = json!({"username": REALTIME.0, "password": REALTIME.1, "api_key": API_KEY});
    let ports = testkit::aws::harness::ports(backend, &[("oauth", oauth), ("smartme", smartme)]).await;
    let time = testkit::clock::TestTime::new();
    let users = Users::new(ports.admin.as_ref());
    let alice = users.add("alice", "alice-password-1", time.now()).await.unwrap();
    users.link_device(&alice.id, SWITCHABLE, "Kitchen", time.now()).await.unwrap();
    users.link_device(&alice.id, PLAIN, "Garage", time.now()).await.unwrap();
    let fake = FakeSmartMe::start(&format!("ApiKey {API_KEY}"), &[SWITCHABLE]).await;
    let base = [
        ("SWITCHYARD_PUBLIC_URL", "https://api.switchyard.test"),
        ("SMARTME_API_URL", fake.url.as_str()),
        ("SBER_CLIENT_ID", CLIENT.0),
        ("SBER_TOKEN_QUERY_PARAM", "access_token"),
        // Strict rotation (the grace period is the token function's test).
        ("OAUTH_REFRESH_GRACE_S", "0"),
    ];
    let vars = Vars::from_pairs(base.into_iter().chain(overrides.iter().copied()));
    Stack {
        admin: ports.admin.clone(),
        alice: alice.id.clone(),
        token: switchyard_token::TokenFunction::new(ports.as_function("token").await.with_clock(time.clock()), &vars)
            .unwrap(),
        ingest: switchyard_ingest::IngestFunction::new(ports.as_function("ingest").await, &vars).unwrap(),
        user: switchyard_user::UserFunction::new(ports.deps.with_clock(time.clock()), &vars).unwrap(),
        smartme: fake,
        time,
    }
}

fn request(method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Request {
    let mut request = Request::new(body.map_or(Body::Empty, |b| Body::Text(b.to_string())));
    *request.method_mut() = method;
    *request.uri_mut() = path.parse().unwrap();
    if let Some(token) = token {
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request.headers_mut().insert("content-type", "application/json".parse().unwrap());
    request.headers_mut().insert("x-request-id", "sber-req-1".parse().unwrap());
    request
}

fn answer(response: Response<Body>) -> (u16, Value) {
    (response.status().as_u16(), serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null))
}

impl Stack {
    /// A reading of `device` taken `seconds_ago` by the functions' time.
    fn reading(&self, device: &str, seconds_ago: i64, values: &[([u8; 6], f64)]) -> DeviceData {
        let at_ms = (self.time.now() - seconds_ago) * 1000;
        shared::partners::smartme::post::reading(Uuid::parse_str(device).unwrap(), at_ms, values)
    }

    async fn sber(&self, method: Method, route: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        answer(self.user.handle(request(method, &format!("/sber/v1/{route}"), token, body.as_ref())).await)
    }

    /// Account linking exactly as Sber drives it: authorize page, the user's credentials, the redirect to Sber's
    /// binder with the code, the code exchanged with the client's Basic credentials.
    async fn link(&self) -> String {
        self.link_tokens().await["access_token"].as_str().unwrap().to_owned()
    }

    /// A refresh-token grant with Sber's client credentials.
    async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        let body = shared::codec::form::encode([("grant_type", "refresh_token"), ("refresh_token", refresh_token)]);
        let mut post = Request::new(Body::Text(body));
        *post.method_mut() = Method::POST;
        *post.uri_mut() = "/oauth/token".parse().unwrap();
        post.headers_mut().insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
        post.headers_mut().insert("authorization", BasicCredentials::header_value(CLIENT.0, CLIENT.1).parse().unwrap());
        answer(self.token.handle(post).await)
    }

    /// The token response of a linking.
    async fn link_tokens(&self) -> Value {
        let query = shared::codec::form::encode([
            ("response_type", "code"),
            ("client_id", CLIENT.0),
            ("redirect_uri", SBER_REDIRECT),
            ("scope", "smarthome"),
            ("state", "sber-state"),
        ]);
        let page = self.token.handle(request(Method::GET, &format!("/oauth/authorize?{query}"), None, None)).await;
        assert_eq!(page.status(), 200);
        let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let html = String::from_utf8(page.body().as_ref().to_vec()).unwrap();
        let csrf = html.split("name=\"csrf_token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let form = format!("{query}&csrf_token={csrf}&username=alice&password=alice-password-1");
        let mut post = Request::new(Body::Text(form));
        *post.method_mut() = Method::POST;
        *post.uri_mut() = "/oauth/authorize".parse().unwrap();
        post.headers_mut().insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
        post.headers_mut().insert("cookie", cookie.parse().unwrap());
        let redirect = self.token.handle(post).await;
        assert_eq!(redirect.status(), 302);
        let location = url::Url::parse(redirect.headers()["location"].to_str().unwrap()).unwrap();
        assert!(location.as_str().starts_with(SBER_REDIRECT));
        let code = location.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
        let exchange = shared::codec::form::encode([
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", SBER_REDIRECT),
        ]);
        let mut post = Request::new(Body::Text(exchange));
        *post.method_mut() = Method::POST;
        *post.uri_mut() = "/oauth/token".parse().unwrap();
        post.headers_mut().insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
        post.headers_mut().insert("authorization", BasicCredentials::header_value(CLIENT.0, CLIENT.1).parse().unwrap());
        let (status, tokens) = answer(self.token.handle(post).await);
        assert_eq!(status, 200, "{tokens}");
        tokens
    }

    async fn ingest(&self, items: Vec<DeviceData>) {
        let mut post = Request::new(Body::Binary(shared::partners::smartme::post::body(items)));
        *post.method_mut() = Method::POST;
        *post.uri_mut() = "/smartme/realtime".parse().unwrap();
        post.headers_mut()
            .insert("authorization", BasicCredentials::header_value(REALTIME.0, REALTIME.1).parse().unwrap());
        let (status, body) = answer(self.ingest.handle(post).await);
        assert_eq!(status, 200, "{body}");
    }
}

fn state<'a>(states: &'a Value, key: &str) -> &'a Value {
    states.as_array().unwrap().iter().find(|s| s["key"] == key).map(|s| &s["value"]).unwrap_or(&Value::Null)
}

/// Every emitted device and state checked against Sber's published category and function table.
fn check_against_spec(devices: &Value, query: &Value) {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(testkit::workspace_root().join("testdata/sber/categories.json")).unwrap(),
    )
    .unwrap();
    for device in devices["devices"].as_array().unwrap() {
        let model = &device["model"];
        let category = &spec["categories"][model["category"].as_str().unwrap()];
        let allowed: Vec<&str> = category["features"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        for feature in model["features"].as_array().unwrap() {
            assert!(allowed.contains(&feature.as_str().unwrap()), "{feature} is not a socket feature");
        }
        for key in ["id", "manufacturer", "model", "category", "features"] {
            assert!(!model[key].is_null(), "model.{key} is required");
        }
        for obligatory in category["obligatory"].as_array().unwrap() {
            assert!(model["features"].as_array().unwrap().contains(obligatory), "{obligatory} is obligatory: {model}");
        }
        assert!(device["partner_meta"].to_string().len() <= 1024);
        let id = device["id"].as_str().unwrap();
        let Some(states) = query["devices"][id]["states"].as_array() else { continue };
        let declared: Vec<&Value> = model["features"].as_array().unwrap().iter().collect();
        assert_eq!(states.len(), declared.len(), "every declared function has a state");
        for state in states {
            let function = &spec["functions"][state["key"].as_str().unwrap()];
            assert_eq!(state["value"]["type"], function["type"], "{state}");
            if let (Some(range), Some(value)) = (function["range"].as_str(), state["value"]["integer_value"].as_str()) {
                let (low, high) = range.split_once(", ").unwrap();
                let value: i64 = value.parse().unwrap();
                assert!(value >= low.parse().unwrap() && value <= high.parse().unwrap(), "{state} outside {range}");
            }
        }
    }
}

/// Every call as Sber makes it, with the meter without a relay offered too (`SBER_UNSWITCHABLE_METERS=socket`, its
/// supply state as `on_off`).
async fn sber_end_to_end(backend: Backend) {
    let stack = stack_with(backend, &[("SBER_UNSWITCHABLE_METERS", "socket")]).await;
    assert_eq!(stack.sber(Method::GET, "ping", None, None).await.0, 200);
    let (status, error) = stack.sber(Method::GET, "user", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(error["code"], 401);
    assert!(error["message"].is_string() && error["details"].is_array());

    let token = stack.link().await;
    let (status, user) = stack.sber(Method::GET, "user", Some(&token), None).await;
    assert_eq!(status, 200);
    assert!(user["id"].as_str().unwrap().starts_with("u-"));
    // Sber's "in parameters" setting: the same token as a query parameter.
    let (status, same) = answer(
        stack.user.handle(request(Method::GET, &format!("/sber/v1/user?access_token={token}"), None, None)).await,
    );
    assert_eq!((status, &same), (200, &user));

    let switch: [u8; 6] = [99, 0, 12, 0, 0, 0];
    stack
        .ingest(vec![
            stack.reading(
                SWITCHABLE,
                5,
                &[
                    ([1, 0, 1, 8, 0, 255], 1_879_583.2),
                    ([1, 0, 2, 8, 0, 255], 12.5),
                    ([1, 0, 1, 7, 0, 255], 24.19),
                    ([1, 0, 32, 7, 0, 255], 231.4),
                    ([1, 0, 31, 7, 0, 255], 1.5),
                    (switch, 1.0),
                ],
            ),
            stack.reading(PLAIN, 3600, &[([1, 0, 1, 7, 0, 255], 80_000.0)]),
        ])
        .await;

    let (status, devices) = stack.sber(Method::GET, "devices", Some(&token), None).await;
    assert_eq!(status, 200, "{devices}");
    let list = devices["devices"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let kitchen = list.iter().find(|d| d["id"] == SWITCHABLE).unwrap();
    assert_eq!(kitchen["name"], "Kitchen");
    assert_eq!(kitchen["model"]["category"], "socket");
    assert_eq!(kitchen["model"]["features"], json!(["online", "on_off", "power", "voltage", "current"]));
    assert_eq!(
        kitchen["partner_meta"]["energy_import"],
        json!({"value": 1_879_583.2, "unit": "Wh", "obis": "1-0:1.8.0*255"})
    );
    let garage = list.iter().find(|d| d["id"] == PLAIN).unwrap();
    assert_eq!(garage["model"], kitchen["model"], "every meter is a valid socket: on_off and online always");

    let body = json!({"devices": [SWITCHABLE, PLAIN, FOREIGN]});
    let (status, query) = stack.sber(Method::POST, "query", Some(&token), Some(body)).await;
    assert_eq!(status, 200, "{query}");
    let states = &query["devices"][SWITCHABLE]["states"];
    assert_eq!(state(states, "online"), &json!({"type": "BOOL", "bool_value": true}));
    assert_eq!(state(states, "on_off"), &json!({"type": "BOOL", "bool_value": true}));
    assert_eq!(state(states, "power"), &json!({"type": "INTEGER", "integer_value": "24"}));
    assert_eq!(state(states, "voltage"), &json!({"type": "INTEGER", "integer_value": "231"}));
    assert_eq!(state(states, "current"), &json!({"type": "INTEGER", "integer_value": "1500"}), "A become mA");
    let garage_states = &query["devices"][PLAIN]["states"];
    assert_eq!(state(garage_states, "online")["bool_value"], false, "an hour-old reading is stale");
    assert_eq!(state(garage_states, "power")["integer_value"], "50000", "clamped to Sber's range");
    assert_eq!(state(garage_states, "on_off")["bool_value"], false, "no switch: its supply state, off while offline");
    assert_eq!(query["errors"], json!([{"id": FOREIGN, "code": 400, "message": "no such device for this user"}]));
    check_against_spec(&devices, &query);

    // Time passes without a new reading: the same meter goes offline after the 5-minute window.
    stack.time.set_ahead(300);
    let (_, later) = stack.sber(Method::POST, "query", Some(&token), Some(json!({"devices": [SWITCHABLE]}))).await;
    assert_eq!(state(&later["devices"][SWITCHABLE]["states"], "online")["bool_value"], false);
    stack.time.set_ahead(0);

    // Commands: the switchable meter goes through smart-me; the other gets a per-device error.
    let command = json!({"devices": {
        SWITCHABLE: {"states": [{"key": "on_off", "value": {"type": "BOOL", "bool_value": false}}]},
        PLAIN: {"states": [{"key": "on_off", "value": {"type": "BOOL", "bool_value": true}}]},
    }});
    let (status, done) = stack.sber(Method::POST, "command", Some(&token), Some(command.clone())).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        done["devices"][SWITCHABLE]["states"],
        json!([{"key": "on_off", "value": {"type": "BOOL", "bool_value": false}}])
    );
    assert!(done["devices"].get(PLAIN).is_none());
    assert_eq!(done["errors"][0]["id"], PLAIN);
    let calls = stack.smartme.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].body, json!({"DeviceID": SWITCHABLE, "Actions": [{"ObisCode": SWITCH_OBIS, "Value": 0.0}]}));
    // smart-me failing: no state is reported that was not confirmed.
    stack.smartme.fail_with(Some(500));
    let (_, failed) = stack.sber(Method::POST, "command", Some(&token), Some(command)).await;
    assert_eq!(failed["devices"], json!({}));
    let errors = failed["errors"].as_array().unwrap();
    let kitchen_error = errors.iter().find(|e| e["id"] == SWITCHABLE).unwrap();
    assert_eq!(kitchen_error["code"], 503);
    assert!(errors.iter().all(|e| shared::partners::sber::ERROR_CODES.contains(&(e["code"].as_u64().unwrap() as u16))));

    // The common error only for what cannot be tied to a device; a malformed id is that entry's error.
    for bad in [json!({"devices": "x"}), json!({"devices": [], "x": 1}), json!([1])] {
        let (status, error) = stack.sber(Method::POST, "query", Some(&token), Some(bad)).await;
        assert_eq!((status, error["code"].as_i64()), (400, Some(400)));
    }
    let mixed = json!({"devices": ["not-a-guid", SWITCHABLE]});
    let (status, answer) = stack.sber(Method::POST, "query", Some(&token), Some(mixed)).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["devices"][SWITCHABLE]["states"].is_array(), "the rest is answered");
    assert_eq!(answer["errors"][0]["id"], "not-a-guid");
    assert_eq!(answer["errors"][0]["code"], 400);
    let mixed = json!({"devices": {"not-a-guid": {"states": []}, PLAIN: {"states": [{"key": "on_off", "value": {"type": "BOOL", "bool_value": true}}]}}});
    let (status, answer) = stack.sber(Method::POST, "command", Some(&token), Some(mixed)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["errors"].as_array().unwrap().len(), 2, "{answer}");

    // Unlink: 200 every time, and the old token is refused with 403 afterwards.
    assert_eq!(stack.sber(Method::POST, "unlink", Some(&token), None).await.0, 200);
    let (status, error) = stack.sber(Method::GET, "devices", Some(&token), None).await;
    assert_eq!((status, error["code"].as_i64()), (403, Some(403)));
    assert_eq!(stack.sber(Method::POST, "unlink", Some(&token), None).await.0, 200, "unlinking again is fine");
    assert_eq!(stack.sber(Method::GET, "user", Some(&token), None).await.0, 403);
    assert_eq!(stack.sber(Method::POST, "unlink", Some("forged"), None).await.0, 401);
    // Linking again works and gets a fresh, valid token.
    let again = stack.link().await;
    assert_eq!(stack.sber(Method::GET, "user", Some(&again), None).await.0, 200);
}

async fn tokens_for_other_apis_are_refused(backend: Backend) {
    let stack = stack(backend).await;
    let token = stack.link().await;
    // Sber's own client and audience, without the `smarthome` scope: forbidden (403), not unknown.
    let payload = token.split('.').nth(1).unwrap();
    let mut claims: Value = serde_json::from_slice(&shared::crypto::from_base64url(payload).unwrap()).unwrap();
    claims["scope"] = json!("profile");
    let header = shared::crypto::to_base64url(br#"{"typ":"JWT","alg":"HS256","kid":"k1"}"#);
    let body = shared::crypto::to_base64url(claims.to_string().as_bytes());
    let mac = shared::crypto::hmac_sha256(SIGNING_KEY.as_bytes(), &[header.as_bytes(), b".", body.as_bytes()]);
    let scopeless = format!("{header}.{body}.{}", shared::crypto::to_base64url(&mac));
    let (status, error) = stack.sber(Method::GET, "devices", Some(&scopeless), None).await;
    assert_eq!((status, error["code"].as_i64()), (403, Some(403)), "{error}");
    let mut forged = token.clone();
    forged.insert(forged.len() - 5, 'x');
    assert_eq!(stack.sber(Method::GET, "user", Some(&forged), None).await.0, 401);
    stack.time.set_ahead(3600);
    assert_eq!(stack.sber(Method::GET, "user", Some(&token), None).await.0, 401, "expired");
}

async fn a_revoked_token_cannot_unlink_a_linked_user(backend: Backend) {
    let stack = stack(backend).await;
    let tokens = stack.link_tokens().await;
    let (access, refresh) = (tokens["access_token"].as_str().unwrap(), tokens["refresh_token"].as_str().unwrap());
    // The refresh token used twice: theft is assumed and the family (this access token included) is revoked.
    assert_eq!(stack.refresh(refresh).await.0, 200);
    assert_eq!(stack.refresh(refresh).await.0, 400);
    assert_eq!(stack.sber(Method::GET, "user", Some(access), None).await.0, 401);
    assert_eq!(stack.sber(Method::POST, "unlink", Some(access), None).await.0, 401, "the thief cannot unlink");
    // A fresh linking still works and can unlink.
    let fresh = stack.link().await;
    assert_eq!(stack.sber(Method::POST, "unlink", Some(&fresh), None).await.0, 200);
}

/// Sber unlinks whatever we answer: a genuine token of the Sber client unlinks even once expired.
async fn an_expired_token_still_unlinks(backend: Backend) {
    let stack = stack(backend).await;
    let token = stack.link().await;
    stack.time.set_ahead(7200);
    assert_eq!(stack.sber(Method::GET, "user", Some(&token), None).await.0, 401, "expired for everything else");
    assert_eq!(stack.sber(Method::POST, "unlink", Some(&token), None).await.0, 200);
    stack.time.set_ahead(0);
    assert_eq!(stack.sber(Method::GET, "user", Some(&token), None).await.0, 403, "the link is gone");
    let mut forged = token.clone();
    forged.insert(forged.len() - 5, 'x');
    assert_eq!(stack.sber(Method::POST, "unlink", Some(&forged), None).await.0, 401, "only genuine tokens");
}

/// Meters in every state (never read, switchable, not switchable, offline) are valid Sber devices.
async fn every_meter_is_a_valid_device_in_every_state(backend: Backend) {
    let stack = stack_with(backend, &[("SBER_UNSWITCHABLE_METERS", "socket")]).await;
    let token = stack.link().await;
    let ids = json!({"devices": [SWITCHABLE, PLAIN]});
    let (_, devices) = stack.sber(Method::GET, "devices", Some(&token), None).await;
    let (_, never_read) = stack.sber(Method::POST, "query", Some(&token), Some(ids.clone())).await;
    check_against_spec(&devices, &never_read);
    assert_eq!(state(&never_read["devices"][PLAIN]["states"], "online")["bool_value"], false);
    stack.ingest(vec![stack.reading(PLAIN, 5, &[([1, 0, 1, 7, 0, 255], 10.0)])]).await;
    let (_, read) = stack.sber(Method::POST, "query", Some(&token), Some(ids.clone())).await;
    check_against_spec(&devices, &read);
    assert_eq!(state(&read["devices"][PLAIN]["states"], "on_off")["bool_value"], true, "on while it reports");
    let (_, devices_after) = stack.sber(Method::GET, "devices", Some(&token), None).await;
    assert_eq!(devices_after["devices"], devices["devices"], "a reading does not change a model");
    stack.time.set_ahead(3600);
    let (_, offline) = stack.sber(Method::POST, "query", Some(&token), Some(ids)).await;
    check_against_spec(&devices, &offline);
    stack.time.set_ahead(0);
}

/// By default Sber is offered only meters that switch: the meter smart-me lists no switch action for is neither in
/// the devices nor answered for, and what was learnt stays on the owner items (smart-me is asked once per meter). A
/// meter whose readings report a switch state is offered from then on.
async fn sber_is_offered_only_meters_that_switch(backend: Backend) {
    let stack = stack(backend).await;
    let token = stack.link().await;
    let (status, devices) = stack.sber(Method::GET, "devices", Some(&token), None).await;
    assert_eq!(status, 200, "{devices}");
    let ids: Vec<&str> = devices["devices"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [SWITCHABLE], "{devices}");
    let owner = |meter: &str| shared::ports::store::keys::meter_owner(meter, &stack.alice);
    let kitchen = stack.admin.get(&owner(SWITCHABLE)).await.unwrap().unwrap();
    assert_eq!(
        (kitchen.bool("switchable"), shared::identity::users::MeterOwner::switch_action_of(&kitchen)),
        (Some(true), Some(SWITCH_OBIS))
    );
    assert_eq!(stack.admin.get(&owner(PLAIN)).await.unwrap().unwrap().bool("switchable"), Some(false));
    let (_, query) =
        stack.sber(Method::POST, "query", Some(&token), Some(json!({"devices": [SWITCHABLE, PLAIN]}))).await;
    assert_eq!(query["errors"], json!([{"id": PLAIN, "code": 400, "message": "no such device for this user"}]));
    check_against_spec(&devices, &query);
    let command =
        json!({"devices": {PLAIN: {"states": [{"key": "on_off", "value": {"type": "BOOL", "bool_value": false}}]}}});
    let (_, refused) = stack.sber(Method::POST, "command", Some(&token), Some(command)).await;
    assert_eq!(refused["errors"][0]["message"], "no such device for this user", "{refused}");
    assert!(stack.smartme.calls().is_empty(), "nothing was switched");
    // A reading with a switch state: the meter switches after all.
    stack.ingest(vec![stack.reading(PLAIN, 5, &[([99, 0, 12, 0, 0, 0], 1.0)])]).await;
    let (_, devices) = stack.sber(Method::GET, "devices", Some(&token), None).await;
    assert_eq!(devices["devices"].as_array().unwrap().len(), 2, "{devices}");
}

/// Sber sends one command for a room: eight meters, smart-me taking 2 s for each call, are switched concurrently
/// and all confirmed within the command's deadline (one after another they would need 16 s).
async fn a_group_command_switches_every_meter_within_the_deadline(backend: Backend) {
    let stack = stack_with(backend, &[("SBER_COMMAND_DEADLINE_MS", "8000")]).await;
    let users = Users::new(stack.admin.as_ref());
    let meters: Vec<String> = (1..=8).map(|n| Uuid::from_u128(0x5000 + n).to_string()).collect();
    for (n, meter) in meters.iter().enumerate() {
        users.link_device(&stack.alice, meter, &format!("Lamp {n}"), stack.time.now()).await.unwrap();
        stack.smartme.add_switchable(meter);
    }
    let token = stack.link().await;
    let (_, devices) = stack.sber(Method::GET, "devices", Some(&token), None).await;
    assert_eq!(devices["devices"].as_array().unwrap().len(), 9, "{devices}");
    stack.smartme.set_delay(std::time::Duration::from_secs(2));
    let on = json!({"states": [{"key": "on_off", "value": {"type": "BOOL", "bool_value": true}}]});
    let command: serde_json::Map<String, Value> = meters.iter().map(|m| (m.clone(), on.clone())).collect();
    let (status, answer) = stack.sber(Method::POST, "command", Some(&token), Some(json!({"devices": command}))).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("errors").is_none(), "{answer}");
    assert_eq!(answer["devices"].as_object().unwrap().len(), 8, "{answer}");
    assert_eq!(stack.smartme.calls().len(), 8, "one smart-me call per meter: its action was learnt before");
    assert_eq!(stack.smartme.max_concurrent_calls(), 8, "switched at once");
}

/// A meter smart-me never answers for does not hold the others: at the deadline it is a per-device 503 in Sber's
/// envelope, and the rest are confirmed.
async fn a_meter_that_never_answers_is_its_own_error(backend: Backend) {
    let stack = stack_with(backend, &[("SBER_COMMAND_DEADLINE_MS", "2000")]).await;
    let token = stack.link().await;
    let (_, devices) = stack.sber(Method::GET, "devices", Some(&token), None).await;
    assert_eq!(devices["devices"].as_array().unwrap().len(), 1);
    let stuck = Uuid::from_u128(0x6000).to_string();
    Users::new(stack.admin.as_ref()).link_device(&stack.alice, &stuck, "Boiler", stack.time.now()).await.unwrap();
    stack.smartme.add_switchable(&stuck);
    let (_, devices) = stack.sber(Method::GET, "devices", Some(&token), None).await;
    assert_eq!(devices["devices"].as_array().unwrap().len(), 2);
    stack.smartme.hold(&stuck);
    let off = json!({"states": [{"key": "on_off", "value": {"type": "BOOL", "bool_value": false}}]});
    let command = json!({"devices": {SWITCHABLE: off.clone(), stuck.as_str(): off}});
    let (status, answer) = stack.sber(Method::POST, "command", Some(&token), Some(command)).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["devices"][SWITCHABLE]["states"].is_array(), "{answer}");
    assert_eq!(answer["errors"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(
        (answer["errors"][0]["id"].as_str(), answer["errors"][0]["code"].as_u64()),
        (Some(stuck.as_str()), Some(503))
    );
}

/// Online follows each meter's own rhythm: one uploading every 15 minutes is online at minute 14 after its newest
/// reading, and offline once two intervals and a minute (31 minutes) have passed.
async fn online_follows_the_meters_own_rhythm(backend: Backend) {
    let stack = stack(backend).await;
    // Stopped: the readings' interval is exactly 15 minutes however long the test takes between them.
    stack.time.freeze();
    let token = stack.link().await;
    let values = [([1, 0, 1, 7, 0, 255], 40.0), ([99, 0, 12, 0, 0, 0], 1.0)];
    stack.ingest(vec![stack.reading(SWITCHABLE, 30 * 60, &values)]).await;
    stack.ingest(vec![stack.reading(SWITCHABLE, 15 * 60, &values)]).await;
    let online_at = |offset: i64| {
        stack.time.set_ahead(offset);
        let body = json!({"devices": [SWITCHABLE]});
        async {
            let (_, answer) = stack.sber(Method::POST, "query", Some(&token), Some(body)).await;
            state(&answer["devices"][SWITCHABLE]["states"], "online")["bool_value"].as_bool()
        }
    };
    assert_eq!(online_at(-60).await, Some(true), "minute 14");
    assert_eq!(online_at(15 * 60).await, Some(true), "minute 30");
    assert_eq!(online_at(16 * 60 + 1).await, Some(false), "past 31 minutes");
    stack.time.set_ahead(0);
}

testkit::on_both_backends!(
    online_follows_the_meters_own_rhythm,
    sber_is_offered_only_meters_that_switch,
    a_group_command_switches_every_meter_within_the_deadline,
    a_meter_that_never_answers_is_its_own_error,
    an_expired_token_still_unlinks,
    every_meter_is_a_valid_device_in_every_state,
    sber_end_to_end,
    tokens_for_other_apis_are_refused,
    a_revoked_token_cannot_unlink_a_linked_user
);
