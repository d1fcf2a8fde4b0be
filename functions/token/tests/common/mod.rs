//! The token function's test stack: secrets, a user, a fake smallcase Gateway, a movable clock, and a client that
//! drives the authorize form the way a browser and an OAuth client do.
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use lambda_http::http::{HeaderMap, Method};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::Deps;
use shared::edge::handler::Handler;
use shared::env::Vars;
use shared::identity::oauth::{AccessVerifier, TokenError};
use shared::identity::users::Users;
use shared::ports::store::Store;
use std::sync::Arc;
use switchyard_token::TokenFunction;
pub use testkit::aws::harness::Backend;
pub use testkit::partners::smallcase::{FakeSmallcase, Mode};

pub const ISSUER: &str = "https://id.switchyard.test";
pub const K1: &str = "previous-signing-key-previous-signing-key";
pub const K2: &str = "current-signing-key-current-signing-key!";
pub const LOGIN: &str = "alice";
pub const PASSWORD: &str = "correct horse battery staple";
pub const SBER: (&str, &str) = ("sber", "sber-client-secret-from-the-console");
pub const OTHER_SBER: (&str, &str) = ("sber-test", "another-client-secret");
pub const NARROW: (&str, &str) = ("narrow", "narrow-client-secret");
pub const SBER_REDIRECT: &str = "https://gateway.iot.sberdevices.ru/gateway/v1/binder/backward";
pub const APP_REDIRECT: &str = "https://app.example.com/callback";
pub const GATEWAY_NAME: &str = "switchyard-test";
pub const SC_SECRET: &str = "smallcase-jwt-secret-for-tests";
pub const SC_API_SECRET: &str = "smallcase-api-secret-for-tests";

/// The system's time (a test that moves time reads its stack's `time`).
pub fn now() -> i64 {
    shared::ports::clock::now_epoch()
}

pub fn secrets() -> Vec<(&'static str, Value)> {
    let client = |(id, secret): (&str, &str), redirects: &[&str], scopes: &[&str], audience: &str| json!({"client_id": id, "client_secret": secret, "redirect_uris": redirects, "scopes": scopes, "audience": audience});
    let mut narrow = client(NARROW, &[SBER_REDIRECT], &["smarthome"], "sber");
    narrow["grant_types"] = json!(["authorization_code"]);
    let sber = client(
        SBER,
        &[SBER_REDIRECT, "https://gateway-ift-le.iot.pd.sberdevices.ru/"],
        &["smarthome", "devices"],
        "sber",
    );
    vec![
        (
            "oauth",
            json!({
                "issuer": ISSUER,
                "keys": [{"kid": "k2", "secret": K2}, {"kid": "k1", "secret": K1}],
                "clients": [
                    sber,
                    client(OTHER_SBER, &[SBER_REDIRECT], &["smarthome"], "sber"),
                    narrow,
                    {"client_id": "app", "redirect_uris": [APP_REDIRECT], "scopes": ["smallcase"], "audience": "smallcase"},
                ]
            }),
        ),
        ("smallcase", json!({"gateway_name": GATEWAY_NAME, "secret": SC_SECRET, "api_secret": SC_API_SECRET})),
    ]
}

/// The web origin smallcase whitelisted in these tests.
pub const APP_ORIGIN: &str = "https://app.example.com";

pub struct Stack {
    pub function: TokenFunction,
    pub deps: Deps,
    /// The test's own view of the store (seeding, inspecting), signed as the harness on moto.
    pub admin: Arc<dyn Store>,
    pub user_id: String,
    pub gateway: FakeSmallcase,
    /// The function's time (its `deps` read it), moved by the test.
    pub time: testkit::clock::TestTime,
}

pub async fn stack(backend: Backend) -> Stack {
    stack_with_secrets(backend, secrets()).await
}

pub async fn stack_with_secrets(backend: Backend, secrets: Vec<(&'static str, Value)>) -> Stack {
    let gateway = FakeSmallcase::start(GATEWAY_NAME, SC_API_SECRET, SC_SECRET, Mode::Success).await;
    let ports = testkit::aws::harness::ports(backend, &secrets).await;
    let time = testkit::clock::TestTime::new();
    let (deps, admin) = (ports.deps.with_clock(time.clock()), ports.admin);
    testkit::assertions::leaks::fixture_secrets([PASSWORD]);
    let user = Users::new(admin.as_ref()).add(LOGIN, PASSWORD, time.now()).await.unwrap();
    let function = function_with(&deps, &gateway, &[]);
    Stack { function, deps, admin, user_id: user.id, gateway, time }
}

/// The token function over `deps` (and their clock), configured as the tests' stack is, with `overrides` on top.
pub fn function_with(deps: &Deps, gateway: &FakeSmallcase, overrides: &[(&str, &str)]) -> TokenFunction {
    let base = [
        ("SWITCHYARD_PUBLIC_URL", "https://api.switchyard.test"),
        ("SMALLCASE_GATEWAY_URL", gateway.url.as_str()),
        ("SMALLCASE_TIMEOUT_MS", "500"),
        ("SMALLCASE_ALLOWED_ORIGINS", APP_ORIGIN),
        // Far above what these tests hash at once; its own test sets a small budget.
        ("OAUTH_HASH_BURST", "64"),
        // Strict rotation: any reuse revokes (the grace period has tests of its own).
        ("OAUTH_REFRESH_GRACE_S", "0"),
    ];
    let vars = Vars::from_pairs(base.into_iter().chain(overrides.iter().copied()));
    TokenFunction::new(deps.clone(), &vars).unwrap()
}

pub fn get(path_and_query: &str) -> Request {
    let mut request = Request::new(Body::Empty);
    *request.uri_mut() = path_and_query.parse().unwrap();
    request
}

pub fn post(path: &str, body: &str, content_type: &str) -> Request {
    let mut request = Request::new(Body::Text(body.to_owned()));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = path.parse().unwrap();
    if !content_type.is_empty() {
        request.headers_mut().insert("content-type", content_type.parse().unwrap());
    }
    request
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    shared::codec::form::encode(pairs.iter().copied())
}

/// RFC 6749 section 2.3.1: each part form-encoded, then Basic.
pub fn basic((id, secret): (&str, &str)) -> String {
    let encode = |s: &str| form(&[("v", s)])[2..].to_owned();
    shared::codec::basic_auth::BasicCredentials::header_value(&encode(id), &encode(secret))
}

pub fn body_text(response: Response<Body>) -> String {
    String::from_utf8(response.body().as_ref().to_vec()).unwrap()
}

pub fn json_of(response: Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null)
}

pub fn authorize_query(client_id: &str, redirect: &str, scope: &str, state: &str, verifier: Option<&str>) -> String {
    let challenge = verifier.map(shared::identity::oauth::pkce::challenge_of);
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect),
        ("scope", scope),
        ("state", state),
    ];
    if let Some(challenge) = &challenge {
        pairs.push(("code_challenge", challenge));
        pairs.push(("code_challenge_method", "S256"));
    }
    form(&pairs)
}

/// The `code` of a redirect to `redirect` carrying `state`.
pub fn code_from(response: &Response<Body>, redirect: &str, state: &str) -> String {
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(redirect), "{location}");
    let url = url::Url::parse(location).unwrap();
    let pairs: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(pairs.get("state").map(String::as_str), Some(state));
    testkit::assertions::leaks::fixture_secrets([&pairs["code"]]);
    pairs["code"].clone()
}

/// A rendered login form, as a browser holds it: the page and the cookie it was given.
#[derive(Clone)]
pub struct LoginPage {
    pub html: String,
    pub cookie: String,
}

impl LoginPage {
    pub fn read(response: Response<Body>) -> Self {
        let cookie = testkit::partners::upstream::cookie_set_by(&response);
        Self { html: body_text(response), cookie }
    }

    /// The hidden inputs, unescaped.
    pub fn hidden_fields(&self) -> Vec<(String, String)> {
        self.html
            .split("<input type=\"hidden\" ")
            .skip(1)
            .filter_map(|rest| {
                let name = rest.strip_prefix("name=\"")?.split('"').next()?;
                let value = rest.split("value=\"").nth(1)?.split('"').next()?;
                let value = value
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&");
                Some((name.to_owned(), value))
            })
            .collect()
    }

    pub fn hidden(&self, name: &str) -> Option<&str> {
        let start = self.html.find(&format!("name=\"{name}\" value=\""))? + name.len() + 15;
        self.html[start..].split('"').next()
    }

    /// The POST the browser sends when the user signs in.
    pub fn submit(&self, login: &str, password: &str) -> Request {
        let mut pairs = self.hidden_fields();
        pairs.push(("username".into(), login.into()));
        pairs.push(("password".into(), password.into()));
        let body = shared::codec::form::encode(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut request = post("/oauth/authorize", &body, "application/x-www-form-urlencoded");
        if !self.cookie.is_empty() {
            request.headers_mut().insert("cookie", self.cookie.parse().unwrap());
        }
        request
    }
}

impl Stack {
    pub async fn call(&self, request: Request) -> Response<Body> {
        self.function.handle(request).await
    }

    /// POST /oauth/token with Basic client authentication (or none).
    pub async fn token(&self, body: &str, client: Option<(&str, &str)>) -> (u16, Value, HeaderMap) {
        let mut request = post("/oauth/token", body, "application/x-www-form-urlencoded");
        if let Some(client) = client {
            request.headers_mut().insert("authorization", basic(client).parse().unwrap());
        }
        let response = self.call(request).await;
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        let answer = json_of(response);
        let tokens = ["access_token", "refresh_token"].map(|name| answer[name].as_str().unwrap_or_default().to_owned());
        testkit::assertions::leaks::fixture_secrets(tokens);
        (status, answer, headers)
    }

    pub async fn login_page(&self, client_id: &str, redirect: &str, verifier: Option<&str>) -> LoginPage {
        let scope = if client_id == "app" { "smallcase" } else { "smarthome" };
        let query = authorize_query(client_id, redirect, scope, "state-1", verifier);
        let response = self.call(get(&format!("/oauth/authorize?{query}"))).await;
        assert_eq!(response.status(), 200);
        LoginPage::read(response)
    }

    /// A fresh code for the test user.
    pub async fn code_for(&self, client_id: &str, redirect: &str, verifier: Option<&str>) -> String {
        self.code_as(client_id, redirect, verifier, LOGIN, PASSWORD).await
    }

    /// A fresh code for the user `login`.
    pub async fn code_as(
        &self,
        client_id: &str,
        redirect: &str,
        verifier: Option<&str>,
        login: &str,
        password: &str,
    ) -> String {
        let page = self.login_page(client_id, redirect, verifier).await;
        let response = self.call(page.submit(login, password)).await;
        assert_eq!(response.status(), 302, "{}", body_text(response));
        code_from(&response, redirect, "state-1")
    }

    /// The whole linking for a confidential client with `scope`: the token response.
    pub async fn link(&self, client_id: &str, scope: &str) -> Value {
        let query = authorize_query(client_id, SBER_REDIRECT, scope, "st", None);
        let page = LoginPage::read(self.call(get(&format!("/oauth/authorize?{query}"))).await);
        let response = self.call(page.submit(LOGIN, PASSWORD)).await;
        let code = code_from(&response, SBER_REDIRECT, "st");
        let (status, tokens, _) = self
            .token(
                &form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SBER_REDIRECT)]),
                Some(SBER),
            )
            .await;
        assert_eq!(status, 200, "{tokens}");
        tokens
    }

    /// The public app's linking with PKCE (no client secret): the token response.
    pub async fn link_app(&self) -> Value {
        self.link_app_as(LOGIN, PASSWORD).await
    }

    /// The public app's linking for the user `login`.
    pub async fn link_app_as(&self, login: &str, password: &str) -> Value {
        let verifier = "app-verifier-app-verifier-app-verifier-app-verifier";
        let code = self.code_as("app", APP_REDIRECT, Some(verifier), login, password).await;
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", APP_REDIRECT),
            ("client_id", "app"),
            ("code_verifier", verifier),
        ]);
        let (status, tokens, _) = self.token(&body, None).await;
        assert_eq!(status, 200, "{tokens}");
        tokens
    }

    /// Full verification as a protected API does it; the user id on success.
    pub async fn verify(&self, token: &str, audience: &str) -> Result<String, TokenError> {
        let verifier = AccessVerifier::for_audiences(None, vec![audience.to_owned()]);
        verifier.verify(&self.deps, Some(token), self.time.now()).await.map(|c| c.sub)
    }

    pub async fn is_linked(&self, client_id: &str) -> bool {
        let link = self.admin.get(&shared::ports::store::keys::user_link(&self.user_id, client_id)).await.unwrap();
        link.and_then(|l| l.get("linked").and_then(|v| v.as_bool())) == Some(true)
    }
}

/// An independent HS256 check (hmac + base64, not the JWT library under test): header and claims when the
/// signature is `secret`'s.
pub fn decode_hs256(token: &str, secret: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(format!("{header}.{payload}").as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?).ok()?;
    let header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    Some((header, claims))
}

/// An independent HS256 signer, to make tokens the code under test never made.
pub fn sign_hs256(kid: &str, secret: &str, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT", "kid": kid}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}
