//! smart-me, played locally: its OAuth 2.0 authorization server and the REST API, as smart-me's documentation
//! (doc.smart-me.com: "OAuth", "API"; the swagger at smart-me.com) and its official OAuth samples
//! (github.com/eCarUp/smart-me-api-oauth-examples) describe them.
//!
//! - `GET /oauth/authorize`: a sign-in page (login, password, Allow or Decline); `POST /oauth/authorize` answers it
//!   with a 302 to the client's redirect URI carrying `code` and `state`, or `error=access_denied`.
//! - `POST /oauth/token`: `authorization_code` (client id and secret in the form, the exact redirect URI, PKCE
//!   S256; a code works once, and presenting it again revokes what it issued) and `refresh_token` (the refresh
//!   token rotates: the old one stops working). Failures are RFC 6749's `{"error"}` with 400 or 401.
//! - `GET /api/User`, `GET /api/Devices`, `GET /api/Actions/{id}`, `POST /api/Actions`,
//!   `POST /api/RegisterForRealtimeApi`: with a user's `Bearer` access token (their own meters only), or with the
//!   vendor's API key header when one is configured (every meter). A token that expired or was revoked is a 401.
//!
//! Nothing here reads a clock: tokens live until a test expires or revokes them, so tests move time themselves.

use crate::{Answer, json, redirect, reply, serve_http};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{Value, json as j};
use sha2::Digest;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// The ObisCode of the main switch the fake lists for switchable meters.
pub const SWITCH_OBIS: &str = "99-0:12.0.0*255";

/// A registered OAuth client of the vendor.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    pub client_id: String,
    /// `None` for a public client.
    pub client_secret: Option<String>,
    pub redirect_uris: Vec<String>,
}

/// A meter of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct Meter {
    pub id: String,
    pub name: String,
    /// Whether it has a relay (an `OnOffAction`).
    pub switchable: bool,
}

impl Meter {
    pub fn new(id: &str, name: &str, switchable: bool) -> Self {
        Self { id: id.to_owned(), name: name.to_owned(), switchable }
    }
}

/// A smart-me account.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: u64,
    pub username: String,
    pub password: String,
    pub meters: Vec<Meter>,
}

/// One recorded `POST /api/Actions`.
#[derive(Debug, Clone)]
pub struct ActionCall {
    pub body: Value,
    /// The account whose token sent it (`None`: the vendor's key).
    pub account: Option<u64>,
}

/// One recorded `POST /api/RegisterForRealtimeApi`.
#[derive(Debug, Clone)]
pub struct Registration {
    pub body: Value,
    pub account: Option<u64>,
}

struct Code {
    account: u64,
    client_id: String,
    redirect_uri: String,
    challenge: Option<String>,
    scope: String,
    used: bool,
    /// Refresh tokens issued for it, revoked if the code is presented again.
    issued: Vec<String>,
}

struct Access {
    account: u64,
    valid: bool,
}

struct Refresh {
    account: u64,
    client_id: String,
    scope: String,
    valid: bool,
}

#[derive(Default)]
struct State {
    vendor_authorization: Option<String>,
    clients: Vec<OAuthClient>,
    accounts: Vec<Account>,
    /// Meters the vendor's key can switch although no account lists them (the operator-linked setup).
    vendor_switchable: Vec<String>,
    codes: BTreeMap<String, Code>,
    access: BTreeMap<String, Access>,
    refresh: BTreeMap<String, Refresh>,
    actions: Vec<ActionCall>,
    registrations: Vec<Registration>,
    token_requests: usize,
    fail_actions_with: Option<u16>,
    /// How long every REST answer takes (smart-me under load).
    delay: Duration,
    /// Meters whose calls are never answered (held until the caller hangs up).
    held: Vec<String>,
    /// REST calls being answered now, and the most there ever were at once.
    in_flight: usize,
    max_in_flight: usize,
    access_lifetime_s: i64,
}

/// A running smart-me.
pub struct FakeSmartMe {
    pub url: String,
    state: Arc<Mutex<State>>,
}

fn token() -> String {
    let bytes: [u8; 24] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn oauth_error(status: u16, error: &str) -> Answer {
    json(status, &j!({"error": error}))
}

impl FakeSmartMe {
    /// A smart-me with no account, no client, nothing but the vendor's key.
    pub async fn start_empty() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake smart-me");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State { access_lifetime_s: 3600, ..State::default() }));
        let serving = state.clone();
        serve_http(listener, hyper::service::service_fn(move |request| serve(serving.clone(), request)));
        Self { url, state }
    }

    /// A smart-me accepting the vendor's `authorization` header (e.g. `ApiKey <key>`), where the meters
    /// `switchable` have a relay.
    pub async fn start(authorization: &str, switchable: &[&str]) -> Self {
        let fake = Self::start_empty().await;
        fake.accept_vendor(authorization, switchable);
        fake
    }

    /// From now on the vendor's `authorization` header (e.g. `ApiKey <key>`) is accepted, and the meters
    /// `switchable` have a relay.
    pub fn accept_vendor(&self, authorization: &str, switchable: &[&str]) {
        let mut state = self.lock();
        state.vendor_authorization = Some(authorization.to_owned());
        state.vendor_switchable = switchable.iter().map(|s| s.to_string()).collect();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the vendor's OAuth client.
    pub fn add_client(&self, client: OAuthClient) {
        self.lock().clients.push(client);
    }

    /// Adds an account.
    pub fn add_account(&self, account: Account) {
        self.lock().accounts.push(account);
    }

    /// Replaces an account's meters (the person added or removed one at smart-me).
    pub fn set_meters(&self, account: u64, meters: Vec<Meter>) {
        if let Some(found) = self.lock().accounts.iter_mut().find(|a| a.id == account) {
            found.meters = meters;
        }
    }

    /// Every token of `account` stops working (the person revoked the vendor's access at smart-me).
    pub fn revoke(&self, account: u64) {
        let mut state = self.lock();
        state.access.values_mut().filter(|t| t.account == account).for_each(|t| t.valid = false);
        state.refresh.values_mut().filter(|t| t.account == account).for_each(|t| t.valid = false);
    }

    /// Every access token issued so far stops working (their lifetime ran out); refresh tokens still work.
    pub fn expire_access_tokens(&self) {
        self.lock().access.values_mut().for_each(|t| t.valid = false);
    }

    /// The `expires_in` the token endpoint answers.
    pub fn set_access_lifetime(&self, seconds: i64) {
        self.lock().access_lifetime_s = seconds;
    }

    /// How long every REST answer takes from now on.
    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// The vendor's key may switch `meter` too (a relay meter the operator links by hand).
    pub fn add_switchable(&self, meter: &str) {
        self.lock().vendor_switchable.push(meter.to_owned());
    }

    /// Every REST call about `meter` is held from now on, never answered until its caller hangs up (a meter
    /// smart-me cannot reach).
    pub fn hold(&self, meter: &str) {
        self.lock().held.push(meter.to_ascii_lowercase());
    }

    /// The most REST calls that were being answered at once.
    pub fn max_concurrent_calls(&self) -> usize {
        self.lock().max_in_flight
    }

    pub fn fail_with(&self, status: Option<u16>) {
        self.lock().fail_actions_with = status;
    }

    pub fn calls(&self) -> Vec<ActionCall> {
        self.lock().actions.clone()
    }

    pub fn registrations(&self) -> Vec<Value> {
        self.lock().registrations.iter().map(|r| r.body.clone()).collect()
    }

    pub fn registrations_by_account(&self) -> Vec<Registration> {
        self.lock().registrations.clone()
    }

    /// Every credential the fake issued: codes, access and refresh tokens (for the tests' leak check).
    pub fn issued_secrets(&self) -> Vec<String> {
        let state = self.lock();
        state.codes.keys().chain(state.access.keys()).chain(state.refresh.keys()).cloned().collect()
    }

    /// How many token requests (codes and refreshes) reached the token endpoint.
    pub fn token_requests(&self) -> usize {
        self.lock().token_requests
    }

    /// Access tokens currently valid.
    pub fn valid_access_tokens(&self) -> Vec<String> {
        self.lock().access.iter().filter(|(_, t)| t.valid).map(|(k, _)| k.clone()).collect()
    }

    /// What the sign-in page's form does when a person submits it: the 302's location for the authorization request
    /// `authorize_url` (smart-me's `/oauth/authorize` with our client's parameters), signing in as `username`.
    pub fn sign_in(&self, authorize_url: &str, username: &str, password: &str, allow: bool) -> String {
        let url = url::Url::parse(authorize_url).expect("an authorization URL");
        let mut fields: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        fields.insert("username".into(), username.into());
        fields.insert("password".into(), password.into());
        fields.insert("decision".into(), if allow { "allow" } else { "decline" }.into());
        let answer = decide(&mut self.lock(), &fields);
        answer
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("the sign-in page answered {} instead of a redirect", answer.status()))
    }
}

async fn serve(
    state: Arc<Mutex<State>>,
    request: hyper::Request<Incoming>,
) -> Result<Answer, std::convert::Infallible> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let authorization = parts.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let path = parts.uri.path().trim_end_matches('/').to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    if path.starts_with("/api/") {
        let _answering = InFlight::enter(&state);
        let meter = meter_named(&path, &body);
        let (delay, held) = {
            let state = state.lock().unwrap_or_else(|e| e.into_inner());
            (state.delay, meter.is_some_and(|m| state.held.contains(&m)))
        };
        if held {
            std::future::pending::<()>().await;
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    let answer = match (parts.method.as_str(), path.as_str()) {
        ("GET", "/oauth/authorize") => sign_in_page(&state, &form(query.as_bytes())),
        ("POST", "/oauth/authorize") => decide(&mut state, &form(&body)),
        ("POST", "/oauth/token") => token_endpoint(&mut state, &form(&body)),
        (method, api) if api.starts_with("/api/") => rest(&mut state, method, api, &authorization, &body),
        _ => reply(404, "text/plain", "not found"),
    };
    Ok(answer)
}

/// Counts a REST call in flight for as long as it lives (a held call's future is dropped when its caller hangs up).
struct InFlight(Arc<Mutex<State>>);

impl InFlight {
    fn enter(state: &Arc<Mutex<State>>) -> Self {
        let mut locked = state.lock().unwrap_or_else(|e| e.into_inner());
        locked.in_flight += 1;
        locked.max_in_flight = locked.max_in_flight.max(locked.in_flight);
        Self(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).in_flight -= 1;
    }
}

/// The meter a REST call is about, lower-case: `/api/Actions/{id}`, or the `DeviceID` of `POST /api/Actions`.
fn meter_named(path: &str, body: &Bytes) -> Option<String> {
    if let Some(id) = path.strip_prefix("/api/Actions/") {
        return Some(id.to_ascii_lowercase());
    }
    let body: Value = serde_json::from_slice(body).ok()?;
    body["DeviceID"].as_str().map(str::to_ascii_lowercase)
}

/// The client's request, checked as smart-me checks it before showing the page.
fn client_request<'a>(state: &'a State, fields: &BTreeMap<String, String>) -> Result<&'a OAuthClient, String> {
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    let client = state.clients.iter().find(|c| c.client_id == field("client_id")).ok_or("unknown client")?;
    if !client.redirect_uris.iter().any(|u| u == field("redirect_uri")) {
        return Err("unregistered redirect_uri".into());
    }
    if field("response_type") != "code" {
        return Err("unsupported response_type".into());
    }
    if client.client_secret.is_none() && field("code_challenge").is_empty() {
        return Err("public clients must use PKCE".into());
    }
    if !field("code_challenge").is_empty() && field("code_challenge_method") != "S256" {
        return Err("code_challenge_method must be S256".into());
    }
    Ok(client)
}

fn sign_in_page(state: &State, fields: &BTreeMap<String, String>) -> Answer {
    if let Err(reason) = client_request(state, fields) {
        return reply(
            400,
            "text/html; charset=utf-8",
            format!("<!doctype html><title>smart-me</title><p>{}</p>", escape(&reason)),
        );
    }
    let hidden: String = fields
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(k), escape(v)))
        .collect();
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>smart-me sign-in</title></head><body>\
<h1>smart-me</h1><p>Sign in to allow <strong>{}</strong> access to your meters.</p>\
<form method=\"post\" action=\"/oauth/authorize\">{hidden}\
<label>User name <input id=\"username\" name=\"username\" autocomplete=\"username\"></label>\
<label>Password <input id=\"password\" name=\"password\" type=\"password\"></label>\
<button id=\"allow\" name=\"decision\" value=\"allow\">Allow</button>\
<button id=\"decline\" name=\"decision\" value=\"decline\">Decline</button></form></body></html>",
        escape(fields.get("client_id").map(String::as_str).unwrap_or_default())
    );
    reply(200, "text/html; charset=utf-8", page)
}

fn with_params(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(redirect_uri).expect("registered redirect URIs are URLs");
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

fn decide(state: &mut State, fields: &BTreeMap<String, String>) -> Answer {
    if let Err(reason) = client_request(state, fields) {
        return reply(400, "text/plain", reason);
    }
    let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let (redirect_uri, client_state) = (field("redirect_uri"), field("state"));
    if field("decision") != "allow" {
        return redirect(&with_params(&redirect_uri, &[("error", "access_denied"), ("state", &client_state)]));
    }
    let Some(account) =
        state.accounts.iter().find(|a| a.username == field("username") && a.password == field("password"))
    else {
        return reply(
            200,
            "text/html; charset=utf-8",
            "<!doctype html><title>smart-me</title><p>Wrong user name or password.</p>",
        );
    };
    let code = token();
    let challenge = Some(field("code_challenge")).filter(|c| !c.is_empty());
    let entry = Code {
        account: account.id,
        client_id: field("client_id"),
        redirect_uri: redirect_uri.clone(),
        challenge,
        scope: field("scope"),
        used: false,
        issued: Vec::new(),
    };
    state.codes.insert(code.clone(), entry);
    redirect(&with_params(&redirect_uri, &[("code", &code), ("state", &client_state)]))
}

fn token_endpoint(state: &mut State, fields: &BTreeMap<String, String>) -> Answer {
    state.token_requests += 1;
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    let Some(client) = state.clients.iter().find(|c| c.client_id == field("client_id")).cloned() else {
        return oauth_error(401, "invalid_client");
    };
    if client.client_secret.as_deref().is_some_and(|secret| secret != field("client_secret")) {
        return oauth_error(401, "invalid_client");
    }
    let lifetime = state.access_lifetime_s;
    let issue = |state: &mut State, account: u64, scope: &str| {
        let (access, refresh) = (token(), token());
        state.access.insert(access.clone(), Access { account, valid: true });
        let entry = Refresh { account, client_id: client.client_id.clone(), scope: scope.to_owned(), valid: true };
        state.refresh.insert(refresh.clone(), entry);
        let body = j!({"access_token": access, "token_type": "Bearer", "expires_in": lifetime,
            "refresh_token": refresh, "scope": scope});
        (refresh, json(200, &body))
    };
    match field("grant_type") {
        "authorization_code" => {
            let Some(code) = state.codes.get_mut(field("code")) else { return oauth_error(400, "invalid_grant") };
            if code.used {
                // A code presented twice: what it issued is revoked (RFC 6749 section 4.1.2).
                let issued = std::mem::take(&mut code.issued);
                for refresh in issued {
                    if let Some(token) = state.refresh.get_mut(&refresh) {
                        token.valid = false;
                    }
                }
                return oauth_error(400, "invalid_grant");
            }
            let verifier = field("code_verifier");
            let pkce_ok = code.challenge.as_deref().is_none_or(|challenge| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
                    == challenge
            });
            if code.client_id != client.client_id || code.redirect_uri != field("redirect_uri") || !pkce_ok {
                return oauth_error(400, "invalid_grant");
            }
            code.used = true;
            let (account, scope) = (code.account, code.scope.clone());
            let code_key = field("code").to_owned();
            let (refresh, answer) = issue(state, account, &scope);
            if let Some(code) = state.codes.get_mut(&code_key) {
                code.issued.push(refresh);
            }
            answer
        }
        "refresh_token" => {
            let presented = field("refresh_token");
            let Some(entry) = state.refresh.get_mut(presented).filter(|t| t.valid && t.client_id == client.client_id)
            else {
                return oauth_error(400, "invalid_grant");
            };
            // Rotation: the presented token is spent.
            entry.valid = false;
            let (account, scope) = (entry.account, entry.scope.clone());
            issue(state, account, &scope).1
        }
        _ => oauth_error(400, "unsupported_grant_type"),
    }
}

/// Who is calling the REST API: an account's token, or the vendor's key.
enum Caller {
    Account(u64),
    Vendor,
}

fn rest(state: &mut State, method: &str, path: &str, authorization: &str, body: &Bytes) -> Answer {
    let caller = match authorization.strip_prefix("Bearer ") {
        Some(token) => match state.access.get(token).filter(|t| t.valid) {
            Some(access) => Caller::Account(access.account),
            None => return json(401, &j!({"Message": "Authorization has been denied for this request."})),
        },
        None if state.vendor_authorization.as_deref() == Some(authorization) => Caller::Vendor,
        None => return json(401, &j!({"Message": "Authorization has been denied for this request."})),
    };
    let account = match &caller {
        Caller::Account(id) => state.accounts.iter().find(|a| a.id == *id).cloned(),
        Caller::Vendor => None,
    };
    // The meter, if the caller may act on it.
    let meter = |state: &State, id: &str| -> Option<Meter> {
        match &account {
            Some(account) => account.meters.iter().find(|m| m.id.eq_ignore_ascii_case(id)).cloned(),
            None => state
                .accounts
                .iter()
                .flat_map(|a| a.meters.iter())
                .find(|m| m.id.eq_ignore_ascii_case(id))
                .cloned()
                .or_else(|| {
                    state.vendor_switchable.iter().any(|s| s.eq_ignore_ascii_case(id)).then(|| Meter::new(id, "", true))
                }),
        }
    };
    match (method, path) {
        ("GET", "/api/User") => match &account {
            Some(account) => json(200, &j!({"Id": account.id, "Username": account.username})),
            None => json(200, &j!({"Id": 0, "Username": "vendor"})),
        },
        ("GET", "/api/Devices") => {
            let meters: Vec<Meter> = match &account {
                Some(account) => account.meters.clone(),
                None => state.accounts.iter().flat_map(|a| a.meters.clone()).collect(),
            };
            let devices: Vec<Value> = meters
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let mut device = j!({"Id": m.id, "Name": m.name, "Serial": 100_000 + i, "DeviceEnergyType": "MeterTypeElectricity",
                        "ActivePower": 0.42, "ActivePowerUnit": "kW", "CounterReading": 1234.5, "CounterReadingUnit": "kWh"});
                    if m.switchable {
                        device["SwitchOn"] = j!(true);
                    }
                    device
                })
                .collect();
            json(200, &Value::Array(devices))
        }
        ("GET", actions) if actions.starts_with("/api/Actions/") => {
            let id = &actions["/api/Actions/".len()..];
            match meter(state, id) {
                Some(m) if m.switchable => {
                    json(200, &j!([{"Name": "Switch", "ObisCode": SWITCH_OBIS, "ActionType": "OnOffAction"}]))
                }
                Some(_) => json(200, &j!([])),
                None => json(404, &j!({"Message": "No device found"})),
            }
        }
        ("POST", "/api/Actions") => {
            let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let device = body["DeviceID"].as_str().unwrap_or_default().to_owned();
            if meter(state, &device).is_none() {
                return json(404, &j!({"Message": "No device found"}));
            }
            let account = account.as_ref().map(|a| a.id);
            state.actions.push(ActionCall { body, account });
            match state.fail_actions_with {
                Some(status) => json(status, &j!({"Message": "error"})),
                None => reply(204, "text/plain", ""),
            }
        }
        ("POST", "/api/RegisterForRealtimeApi") => {
            let mut registration: Value = serde_json::from_slice(body).unwrap_or_default();
            state
                .registrations
                .push(Registration { body: registration.clone(), account: account.as_ref().map(|a| a.id) });
            registration["Id"] = j!(format!("reg-{}", state.registrations.len()));
            json(200, &registration)
        }
        _ => json(404, &j!({"Message": "No HTTP resource was found"})),
    }
}
