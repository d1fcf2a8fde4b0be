//! smallcase's Gateway, played locally: answers as the Gateway does when `x-gateway-secret` and
//! `x-gateway-authtoken` are right, and records every call:
//! - `POST /gateway/{gateway_name}/transaction` creates `TRX_1`, `TRX_2`, ... (status INITIALIZED);
//! - `GET /v1/{gateway_name}/engine/transactiondetails?transactionId=` answers a transaction's details: its
//!   status in `transactionDetails.status` and, once the user logged in with a broker, a smallcaseAuthToken
//!   signed with the partner's `secret` carrying the smallcaseAuthId. A connected user's token sees only that
//!   user's transactions, as smallcase documents.
//!
//! What the user does in smallcase's SDK is played with `POST /sandbox/transactions/{id}`
//! (`{"status": "COMPLETED", "authId": "..."}`), for `switchyard try smallcase`.

use crate::{Answer, reply as answer};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// The path under which the user's part of a transaction is played.
pub const TRANSACTIONS_PATH: &str = "/sandbox/transactions/";

/// How the fake answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// As the Gateway does.
    Success,
    /// `{"success": false, "errors": [...]}` with HTTP 400.
    Refuse,
    /// HTTP 500 with an HTML body.
    ServerError,
    /// Never answers.
    Hang,
}

/// One call as the Gateway received it.
#[derive(Debug, Clone)]
pub struct GatewayCall {
    pub method: String,
    pub path: String,
    pub query: String,
    pub api_secret: Option<String>,
    pub auth_token: Option<String>,
    pub body: serde_json::Value,
}

/// A transaction as the fake Gateway knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeTransaction {
    pub intent: String,
    pub status: String,
    /// The broker account the user logged in with, once they did.
    pub auth_id: Option<String>,
    /// The smallcaseAuthId of the token the transaction was created with (`None`: a guest's).
    pub created_as: Option<String>,
}

struct State {
    mode: Mode,
    calls: Vec<GatewayCall>,
    transactions: HashMap<String, FakeTransaction>,
}

/// A running fake Gateway for gateway `gateway_name`, accepting `api_secret` and tokens signed with `secret`.
pub struct FakeSmallcase {
    /// `http://127.0.0.1:<port>`: the value for `SMALLCASE_GATEWAY_URL`.
    pub url: String,
    state: Arc<Mutex<State>>,
}

#[derive(Clone)]
struct Expected {
    gateway_name: String,
    api_secret: String,
    secret: String,
}

impl FakeSmallcase {
    pub async fn start(gateway_name: &str, api_secret: &str, secret: &str, mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake gateway");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State { mode, calls: Vec::new(), transactions: HashMap::new() }));
        let serving = state.clone();
        let expected = Expected {
            gateway_name: gateway_name.to_owned(),
            api_secret: api_secret.to_owned(),
            secret: secret.to_owned(),
        };
        crate::serve_http(
            listener,
            hyper::service::service_fn(move |req| {
                let (state, expected) = (serving.clone(), expected.clone());
                async move { Ok::<_, std::convert::Infallible>(serve(&state, &expected, req).await) }
            }),
        );
        Self { url, state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn calls(&self) -> Vec<GatewayCall> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The details calls so far.
    pub fn detail_calls(&self) -> Vec<GatewayCall> {
        self.calls().into_iter().filter(|c| c.method == "GET").collect()
    }

    /// A transaction as if created through the API by a user holding a guest token (`created_as: None`) or a
    /// connected one; its id.
    pub fn create(&self, intent: &str, created_as: Option<&str>) -> String {
        let mut state = self.state.lock().unwrap();
        let id = format!("TRX_{}", state.transactions.len() + 1);
        let transaction = FakeTransaction {
            intent: intent.to_owned(),
            status: "INITIALIZED".into(),
            auth_id: None,
            created_as: created_as.map(str::to_owned),
        };
        state.transactions.insert(id.clone(), transaction);
        id
    }

    /// What the user did in the SDK: `transaction_id` now has `status`, done with broker account `auth_id`.
    pub fn set_transaction(&self, transaction_id: &str, status: &str, auth_id: Option<&str>) {
        assert!(played(&self.state, transaction_id, status, auth_id), "a transaction the fake created");
    }

    pub fn transaction(&self, transaction_id: &str) -> Option<FakeTransaction> {
        self.state.lock().unwrap().transactions.get(transaction_id).cloned()
    }
}

/// The smallcaseAuthId of a token signed with `secret`: `Some(None)` for a guest's, `None` if it does not verify.
fn token_auth_id(token: &str, secret: &str) -> Option<Option<String>> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let validation = Validation::new(Algorithm::HS256);
    let claims =
        jsonwebtoken::decode::<serde_json::Value>(token, &DecodingKey::from_secret(secret.as_bytes()), &validation)
            .ok()?
            .claims;
    match (claims.get("guest"), claims.get("smallcaseAuthId").and_then(|v| v.as_str())) {
        (Some(serde_json::Value::Bool(true)), None) => Some(None),
        (None, Some(id)) => Some(Some(id.to_owned())),
        _ => None,
    }
}

/// The user's part: `transaction_id` now has `status`, done with broker account `auth_id`; whether it exists.
fn played(state: &Mutex<State>, transaction_id: &str, status: &str, auth_id: Option<&str>) -> bool {
    let mut state = state.lock().unwrap();
    let Some(transaction) = state.transactions.get_mut(transaction_id) else { return false };
    transaction.status = status.to_owned();
    transaction.auth_id = auth_id.map(str::to_owned);
    true
}

async fn serve(state: &Mutex<State>, expected: &Expected, request: hyper::Request<Incoming>) -> Answer {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (api_secret, auth_token) = (header("x-gateway-secret"), header("x-gateway-authtoken"));
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let method = request.method().to_string();
    let bytes = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    if let (true, Some(id)) = (method == "POST", path.strip_prefix(TRANSACTIONS_PATH)) {
        let (status, auth_id) = (body["status"].as_str().unwrap_or("COMPLETED"), body["authId"].as_str());
        return match played(state, id, status, auth_id) {
            true => reply(200, r#"{"success": true}"#),
            false => reply(404, r#"{"success": false, "errors": ["no such transaction"]}"#),
        };
    }
    let mode = {
        let mut state = state.lock().unwrap();
        let call = GatewayCall {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            api_secret: api_secret.clone(),
            auth_token: auth_token.clone(),
            body: body.clone(),
        };
        state.calls.push(call);
        state.mode.clone()
    };
    let create = format!("/gateway/{}/transaction", expected.gateway_name);
    let details = format!("/v1/{}/engine/transactiondetails", expected.gateway_name);
    let route = match (method.as_str(), path.as_str()) {
        ("POST", p) if p == create => Route::Create,
        ("GET", p) if p == details => Route::Details,
        _ => return reply(404, r#"{"success": false, "errors": ["not found"], "data": null}"#),
    };
    if api_secret.as_deref() != Some(expected.api_secret.as_str()) {
        return reply(401, r#"{"success": false, "errors": ["Invalid gateway secret"], "data": null}"#);
    }
    let Some(caller) = auth_token.as_deref().and_then(|t| token_auth_id(t, &expected.secret)) else {
        return reply(401, r#"{"success": false, "errors": ["Invalid auth token"], "data": null}"#);
    };
    match mode {
        Mode::Success => {}
        Mode::Refuse => return reply(400, r#"{"success": false, "errors": ["intent not allowed"], "data": null}"#),
        Mode::ServerError => return reply(500, "<html><body>Internal Server Error</body></html>"),
        Mode::Hang => return std::future::pending().await,
    }
    let mut state = state.lock().unwrap();
    match route {
        Route::Create => {
            let id = format!("TRX_{}", state.transactions.len() + 1);
            let intent = body["intent"].as_str().unwrap_or_default().to_owned();
            let transaction =
                FakeTransaction { intent, status: "INITIALIZED".into(), auth_id: None, created_as: caller };
            state.transactions.insert(id.clone(), transaction);
            reply(
                200,
                &serde_json::json!({"success": true, "errors": null,
                    "data": {"transactionId": id, "expireAt": "2030-01-01T00:00:00.000Z"}})
                .to_string(),
            )
        }
        Route::Details => {
            let id = query.strip_prefix("transactionId=").unwrap_or_default();
            let visible = state.transactions.get(id).filter(|t| caller.is_none() || t.created_as == caller);
            let Some(transaction) = visible else {
                return reply(400, r#"{"success": false, "errors": ["Invalid transactionId"], "data": null}"#);
            };
            let mut details = serde_json::json!({"status": transaction.status, "intent": transaction.intent});
            if let Some(auth_id) = &transaction.auth_id {
                let now = shared::ports::clock::now_epoch();
                let token = shared::partners::smallcase::auth_token::sign(&expected.secret, Some(auth_id), now, 86_400);
                details["success"] = serde_json::json!({"smallcaseAuthToken": token, "broker": "kite"});
            }
            reply(
                200,
                &serde_json::json!({"success": true, "errors": null,
                    "data": {"transactionId": id, "transactionDetails": details}})
                .to_string(),
            )
        }
    }
}

enum Route {
    Create,
    Details,
}

fn reply(status: u16, body: &str) -> Answer {
    answer(status, "application/json", body.to_owned())
}
