//! A Sber account linked by signing in with smart-me (`SIGN_IN=smartme`), end to end against smart-me's part
//! played by the sandbox: the smart-me account is our user (the same at every sign-in), its meters are what Sber
//! sees (and follow the account), commands go out under the account's own grant (refreshed when it expires),
//! readings flow through the realtime subscription made at sign-in without any operator step, and a grant the
//! person revoked at smart-me cuts them off Sber. On the embedded store and on DynamoDB and Secrets Manager (moto),
//! each function with its own role.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::codec::BasicCredentials;
use shared::edge::handler::Handler;
use shared::env::Vars;
use shared::ports::store::{Store, keys};
use std::sync::Arc;
use testkit::aws::harness::Backend;
use testkit::partners::smartme_api::{Account, FakeSmartMe, Meter, OAuthClient};
use uuid::Uuid;

const BASE: &str = "https://api.switchyard.test";
const SBER_REDIRECT: &str = "https://gateway.iot.sberdevices.ru/gateway/v1/binder/backward";
const CLIENT: (&str, &str) = ("sber", "sber-client-secret-for-linking");
const SMARTME_CLIENT: (&str, &str) = ("switchyard-vendor", "smartme-oauth-client-secret-for-tests");
const REALTIME: (&str, &str) = ("smartme-realtime", "smartme-realtime-password-for-linking");
const ANNA: (&str, &str) = ("anna", "anna-smartme-password");
const KITCHEN: &str = "3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1";
const GARAGE: &str = "0c1622a2-2ca1-4183-9f8e-3bd0fce9b3d1";
const CELLAR: &str = "5a5a5a5a-1111-4222-8333-444444444444";

struct Stack {
    token: switchyard_token::TokenFunction,
    ingest: switchyard_ingest::IngestFunction,
    user: switchyard_user::UserFunction,
    smartme: FakeSmartMe,
    admin: Arc<dyn Store>,
    /// The functions' time, moved by the test.
    time: testkit::clock::TestTime,
}

async fn stack(backend: Backend) -> Stack {
    let oauth = json!({
        "issuer": BASE,
        "keys": [{"kid": "k1", "secret": "linking-test-signing-key-linking-test-key"}],
        "clients": [{"client_id": CLIENT.0, "client_secret": CLIENT.1, "redirect_uris": [SBER_REDIRECT],
                     "scopes": ["smarthome"], "audience": "sber"}]
    });
    let secrets = [
        ("oauth", oauth),
        ("smartme", json!({"username": REALTIME.0, "password": REALTIME.1})),
        ("smartme-oauth", json!({"client_id": SMARTME_CLIENT.0, "client_secret": SMARTME_CLIENT.1})),
        ("sealing", json!({"keys": [{"kid": "s1", "secret": "sealing-key-for-the-linking-tests-0123456789"}]})),
    ];
    let ports = testkit::aws::harness::ports(backend, &secrets).await;
    let time = testkit::clock::TestTime::new();
    let smartme = FakeSmartMe::start_empty().await;
    smartme.add_client(OAuthClient {
        client_id: SMARTME_CLIENT.0.into(),
        client_secret: Some(SMARTME_CLIENT.1.into()),
        redirect_uris: vec![format!("{BASE}/oauth/callback")],
    });
    smartme.add_account(Account {
        id: 4711,
        username: ANNA.0.into(),
        password: ANNA.1.into(),
        meters: vec![Meter::new(KITCHEN, "Kitchen", true), Meter::new(GARAGE, "Garage", false)],
    });
    smartme.add_account(Account { id: 4712, username: "ben".into(), password: "ben-password".into(), meters: vec![] });
    let vars = Vars::from_pairs([
        ("SWITCHYARD_PUBLIC_URL", BASE),
        ("SIGN_IN", "smartme"),
        ("SMARTME_OAUTH_URL", smartme.url.as_str()),
        ("SMARTME_API_URL", smartme.url.as_str()),
        ("SBER_CLIENT_ID", CLIENT.0),
        // Our own access tokens outlive the smart-me access tokens the tests let expire.
        ("OAUTH_ACCESS_TTL_S", "86400"),
    ]);
    Stack {
        token: switchyard_token::TokenFunction::new(ports.as_function("token").await.with_clock(time.clock()), &vars)
            .unwrap(),
        ingest: switchyard_ingest::IngestFunction::new(ports.as_function("ingest").await, &vars).unwrap(),
        user: switchyard_user::UserFunction::new(ports.deps.clone().with_clock(time.clock()), &vars).unwrap(),
        smartme,
        admin: ports.admin,
        time,
    }
}

fn answer(response: Response<Body>) -> (u16, Value) {
    (response.status().as_u16(), serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null))
}

fn form_post(path: &str, body: String, basic: Option<(&str, &str)>) -> Request {
    let mut post = Request::new(Body::Text(body));
    *post.method_mut() = Method::POST;
    *post.uri_mut() = path.parse().unwrap();
    post.headers_mut().insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
    if let Some((id, secret)) = basic {
        post.headers_mut().insert("authorization", BasicCredentials::header_value(id, secret).parse().unwrap());
    }
    post
}

impl Stack {
    /// Sber's linking with a person signing in with smart-me: the token response.
    async fn link(&self, person: (&str, &str)) -> Value {
        let query = shared::codec::form::encode([
            ("response_type", "code"),
            ("client_id", CLIENT.0),
            ("redirect_uri", SBER_REDIRECT),
            ("scope", "smarthome"),
            ("state", "sber-state"),
        ]);
        let back = testkit::partners::upstream::with_smartme(&self.token, &self.smartme, &query, person, true).await;
        let pairs = testkit::partners::upstream::redirect_query(&back, SBER_REDIRECT);
        assert_eq!(pairs["state"], "sber-state", "Sber's own state comes back");
        let exchange = shared::codec::form::encode([
            ("grant_type", "authorization_code"),
            ("code", pairs["code"].as_str()),
            ("redirect_uri", SBER_REDIRECT),
        ]);
        let (status, tokens) = answer(self.token.handle(form_post("/oauth/token", exchange, Some(CLIENT))).await);
        assert_eq!(status, 200, "{tokens}");
        testkit::assertions::leaks::fixture_secrets([
            tokens["access_token"].as_str().unwrap(),
            tokens["refresh_token"].as_str().unwrap(),
        ]);
        tokens
    }

    async fn sber(&self, method: Method, route: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = Request::new(body.map_or(Body::Empty, |b| Body::Text(b.to_string())));
        *request.method_mut() = method;
        *request.uri_mut() = format!("/sber/v1/{route}").parse().unwrap();
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        request.headers_mut().insert("content-type", "application/json".parse().unwrap());
        answer(self.user.handle(request).await)
    }

    async fn device_ids(&self, token: &str) -> Vec<String> {
        let (status, devices) = self.sber(Method::GET, "devices", token, None).await;
        assert_eq!(status, 200, "{devices}");
        let mut ids: Vec<String> =
            devices["devices"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
        ids.sort();
        ids
    }

    /// smart-me posting a reading of `meter` to what the registration it received names.
    async fn smartme_posts(&self, meter: &str, switch_on: bool) -> Value {
        let registration = self.smartme.registrations().pop().expect("the meters were subscribed at sign-in");
        assert_eq!(registration["ApiUrl"], format!("{BASE}/smartme/realtime"));
        let credentials = BasicCredentials::header_value(
            registration["BasicAuthUsername"].as_str().unwrap(),
            registration["BasicAuthPassword"].as_str().unwrap(),
        );
        let values = [([1, 0, 1, 7, 0, 255], 0.23), ([99, 0, 12, 0, 0, 255], if switch_on { 1.0 } else { 0.0 })];
        let item = shared::partners::smartme::post::reading(
            Uuid::parse_str(meter).unwrap(),
            (self.time.now() - 5) * 1000,
            &values,
        );
        let mut post = Request::new(Body::Binary(shared::partners::smartme::post::body(vec![item])));
        *post.method_mut() = Method::POST;
        *post.uri_mut() = "/smartme/realtime".parse().unwrap();
        post.headers_mut().insert("authorization", credentials.parse().unwrap());
        let (status, body) = answer(self.ingest.handle(post).await);
        assert_eq!(status, 200, "{body}");
        body
    }
}

fn sub_of(access_token: &str) -> String {
    let payload = access_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&shared::crypto::from_base64url(payload).unwrap()).unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}

async fn a_smartme_account_links_sees_its_meters_and_switches_them_under_its_own_grant(backend: Backend) {
    let stack = stack(backend).await;
    let tokens = stack.link(ANNA).await;
    let access = tokens["access_token"].as_str().unwrap();
    let user_id = sub_of(access);
    let profile = stack.admin.get(&keys::user_profile(&user_id)).await.unwrap().unwrap();
    assert_eq!(profile.str("login"), Some("smartme:4711"));
    assert!(profile.get("passwordHash").is_none(), "no password of ours");

    // The account's meters that switch are what Sber sees, named as at smart-me; the garage's meter has no relay
    // (no switch action at smart-me) and is not offered.
    assert_eq!(stack.device_ids(access).await, [KITCHEN]);
    let (_, devices) = stack.sber(Method::GET, "devices", access, None).await;
    let names: Vec<&str> = devices["devices"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Kitchen"], "{devices}");
    assert!(stack.admin.get(&keys::meter_owner(GARAGE, &user_id)).await.unwrap().is_some(), "still the user's meter");

    // Readings flow through the subscription made at sign-in: the account's every meter, with our receiver.
    let registrations = stack.smartme.registrations_by_account();
    assert_eq!(registrations.len(), 1);
    assert_eq!(
        (registrations[0].account, &registrations[0].body["RegistrationType"]),
        (Some(4711), &json!("UserRegistration"))
    );
    assert_eq!(stack.smartme_posts(KITCHEN, false).await["stored"], 1);
    // The meter's device data says kW (and kWh): its 0.23 is 230 W, whatever the deployment's global setting.
    let (_, query) = stack.sber(Method::POST, "query", access, Some(json!({"devices": [KITCHEN]}))).await;
    let power = query["devices"][KITCHEN]["states"].as_array().unwrap().iter().find(|s| s["key"] == "power").cloned();
    assert_eq!(power.unwrap()["value"]["integer_value"], "230", "{query}");

    // A command goes out under the account's own grant, not the vendor's key.
    let command =
        json!({"devices": {KITCHEN: {"states": [{"key": "on_off", "value": {"type": "BOOL", "bool_value": true}}]}}});
    let (status, answer) = stack.sber(Method::POST, "command", access, Some(command.clone())).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("errors").is_none(), "{answer}");
    let calls = stack.smartme.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].account, &calls[0].body["DeviceID"]), (Some(4711), &json!(KITCHEN)));

    // The access token expired: refreshed once, then used again.
    stack.smartme.expire_access_tokens();
    stack.time.advance(3600);
    let requests = stack.smartme.token_requests();
    for _ in 0..2 {
        let (status, answer) = stack.sber(Method::POST, "command", access, Some(command.clone())).await;
        assert!(status == 200 && answer.get("errors").is_none(), "{answer}");
    }
    assert_eq!(stack.smartme.token_requests(), requests + 1, "one refresh for both commands");
    assert_eq!(stack.smartme.calls().len(), 3);

    // The grant is kept sealed: the table holds no token smart-me issued.
    let grant = stack.admin.get(&keys::user_grant(&user_id, "smartme")).await.unwrap().unwrap();
    let sealed = grant.str("sealed").unwrap();
    assert!(sealed.starts_with("v1.s1."));
    for valid in stack.smartme.valid_access_tokens() {
        assert!(!format!("{grant:?}").contains(&valid), "an access token in clear");
    }

    testkit::assertions::leaks::fixture_secrets(stack.smartme.issued_secrets());
    // The same account signing in again is the same user, and is not subscribed twice.
    let again = stack.link(ANNA).await;
    assert_eq!(sub_of(again["access_token"].as_str().unwrap()), user_id);
    assert_eq!(stack.smartme.registrations().len(), 1);
}

async fn meters_follow_the_account(backend: Backend) {
    let stack = stack(backend).await;
    let access = stack.link(ANNA).await["access_token"].as_str().unwrap().to_owned();
    let user_id = sub_of(&access);
    stack.smartme.set_meters(4711, vec![Meter::new(KITCHEN, "Kitchen", true), Meter::new(CELLAR, "Cellar", true)]);
    assert_eq!(stack.device_ids(&access).await, [KITCHEN], "read again only after the cache's age");
    stack.time.advance(61);
    assert_eq!(stack.device_ids(&access).await, [KITCHEN, CELLAR]);
    let owner = |meter: &str| shared::identity::users::MeterOwner::key(meter, &user_id);
    assert!(stack.admin.get(&owner(GARAGE)).await.unwrap().is_none(), "Sber hears of the removal from the owner item");
    assert!(stack.admin.get(&owner(CELLAR)).await.unwrap().is_some());

    // An account without meters links and has none.
    let ben = stack.link(("ben", "ben-password")).await;
    assert_eq!(stack.device_ids(ben["access_token"].as_str().unwrap()).await, Vec::<String>::new());
}

async fn a_grant_revoked_at_smartme_cuts_the_user_off_sber(backend: Backend) {
    let stack = stack(backend).await;
    let access = stack.link(ANNA).await["access_token"].as_str().unwrap().to_owned();
    let user_id = sub_of(&access);
    let (status, _) = stack.sber(Method::GET, "user", &access, None).await;
    assert_eq!(status, 200, "Sber linked the user");
    stack.smartme_posts(KITCHEN, true).await;
    stack.smartme.revoke(4711);
    stack.time.advance(3600 + 61);
    let command =
        json!({"devices": {KITCHEN: {"states": [{"key": "on_off", "value": {"type": "BOOL", "bool_value": false}}]}}});
    let (status, answer) = stack.sber(Method::POST, "command", &access, Some(command)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["errors"][0]["code"], 403, "per device, in Sber's codes: {answer}");
    let link = stack.admin.get(&keys::sber_link(&user_id)).await.unwrap().expect("the Sber link");
    assert!(link.i64("unlinkRequestedAt").is_some(), "notify is asked to send POST /v1/unlink");
    let grant = stack.admin.get(&keys::user_grant(&user_id, "smartme")).await.unwrap().unwrap();
    assert!(grant.get("revokedAt").is_some() && grant.get("sealed").is_none(), "nothing of the grant kept");
    let (status, answer) = stack.sber(Method::GET, "devices", &access, None).await;
    assert_eq!(status, 403, "our tokens Sber holds stop working: {answer}");
}

testkit::on_both_backends!(
    a_smartme_account_links_sees_its_meters_and_switches_them_under_its_own_grant,
    meters_follow_the_account,
    a_grant_revoked_at_smartme_cuts_the_user_off_sber,
);
