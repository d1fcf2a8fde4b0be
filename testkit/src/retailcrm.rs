//! A fake RetailCRM on loopback: answers the module's calls the way the CRM does (RetailCRM's API v5 and its
//! official PHP client's models): `POST /api/v5/integration-modules/{code}/edit` (records the module, under the
//! key that sent it), `GET /api/v5/integration-modules/{code}` (the module, to its key only), `POST
//! .../{code}/update-scopes` (`requires={"scopes"}`, answers a new API key); and builds the requests the CRM sends
//! to a module.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// How the fake CRM answers `/edit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Success,
    /// `{"success": false, "errorMsg": ...}` with HTTP 400, as the CRM refuses a wrong key.
    Refuse(String),
    /// HTTP 500 with an HTML body.
    ServerError,
    /// Never answers.
    Hang,
}

/// One `/edit` call as the CRM received it.
#[derive(Debug, Clone)]
pub struct EditCall {
    pub code: String,
    pub api_key: Option<String>,
    pub content_type: Option<String>,
    /// The `integrationModule` form field, parsed.
    pub module: serde_json::Value,
}

/// One `update-scopes` call: the scopes asked for, and the key the CRM issued.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopesCall {
    pub code: String,
    pub scopes: serde_json::Value,
    pub issued_key: String,
}

struct State {
    mode: Mode,
    calls: Vec<EditCall>,
    /// The modules this CRM holds, by code: the key that may read them, and the module.
    modules: std::collections::BTreeMap<String, (String, serde_json::Value)>,
    scopes: Vec<ScopesCall>,
}

/// A running fake CRM.
pub struct FakeCrm {
    /// `http://127.0.0.1:<port>`: the CRM's systemUrl.
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeCrm {
    pub async fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake CRM");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state =
            Arc::new(Mutex::new(State { mode, calls: Vec::new(), modules: Default::default(), scopes: Vec::new() }));
        let serving = state.clone();
        crate::serve_http(listener, hyper::service::service_fn(move |req| serve(serving.clone(), req)));
        Self { url, state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    /// Every `/edit` call received so far.
    pub fn calls(&self) -> Vec<EditCall> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Every `update-scopes` call received so far.
    pub fn scopes_calls(&self) -> Vec<ScopesCall> {
        self.state.lock().unwrap().scopes.clone()
    }

    /// This CRM holds `module` under `code`, readable with `api_key` (an account that moved here from another).
    pub fn hold_module(&self, code: &str, api_key: &str, module: serde_json::Value) {
        self.state.lock().unwrap().modules.insert(code.to_owned(), (api_key.to_owned(), module));
    }

    /// The registration body the CRM sends, in the official clients' shape (`register=<JSON>`).
    pub fn register_json_body(&self, secret: &str, api_key: &str) -> String {
        let token = shared::partners::retailcrm::registration::token_for(secret.as_bytes(), api_key);
        let json = serde_json::json!({"token": token, "apiKey": api_key, "systemUrl": self.url}).to_string();
        shared::codec::form::encode([("register", json.as_str())])
    }

    /// The registration body in the documentation's bracket notation (`register[token]=...`).
    pub fn register_bracket_body(&self, secret: &str, api_key: &str) -> String {
        let token = shared::partners::retailcrm::registration::token_for(secret.as_bytes(), api_key);
        shared::codec::form::encode([
            ("register[token]", token.as_str()),
            ("register[apiKey]", api_key),
            ("register[systemUrl]", self.url.as_str()),
        ])
    }
}

async fn serve(
    state: Arc<Mutex<State>>,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    let path = request.uri().path().to_owned();
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (api_key, content_type) = (header("x-api-key"), header("content-type"));
    let method = request.method().clone();
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let Some(rest) = path.strip_prefix("/api/v5/integration-modules/") else {
        return Ok(reply(404, r#"{"success": false, "errorMsg": "Method not found"}"#));
    };
    let field = |name: &str| {
        url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| serde_json::from_str(&v).ok())
            .unwrap_or(serde_json::Value::Null)
    };
    match (method, rest.split_once('/')) {
        (hyper::Method::POST, Some((code, "edit"))) => {
            let module = field("integrationModule");
            // A clientId is the credential of the CRM's callbacks: no log may hold it.
            if let Some(client_id) = module["clientId"].as_str() {
                crate::leaks::fixture_secrets([client_id]);
            }
            let mode = {
                let mut state = state.lock().unwrap();
                let call = EditCall { code: code.to_owned(), api_key: api_key.clone(), content_type, module };
                if matches!(state.mode, Mode::Success) {
                    let held = (api_key.clone().unwrap_or_default(), call.module.clone());
                    state.modules.insert(code.to_owned(), held);
                }
                state.calls.push(call);
                state.mode.clone()
            };
            match mode {
                Mode::Success => Ok(reply(200, r#"{"success": true, "info": {}}"#)),
                Mode::Refuse(message) => {
                    let answer = serde_json::json!({"success": false, "errorMsg": message, "errors": {}});
                    Ok(reply(400, &answer.to_string()))
                }
                Mode::ServerError => Ok(reply(500, "<html><body>Internal Server Error</body></html>")),
                Mode::Hang => std::future::pending().await,
            }
        }
        (hyper::Method::POST, Some((code, "update-scopes"))) => {
            let mut state = state.lock().unwrap();
            let Some((key, _)) = state.modules.get(code).cloned() else {
                return Ok(reply(404, r#"{"success": false, "errorMsg": "Not found"}"#));
            };
            if api_key.as_deref() != Some(key.as_str()) {
                return Ok(reply(403, r#"{"success": false, "errorMsg": "Wrong \"apiKey\" value."}"#));
            }
            let issued_key = format!("key-after-scopes-{}", state.scopes.len() + 1);
            if let Some(held) = state.modules.get_mut(code) {
                held.0 = issued_key.clone();
            }
            let scopes = field("requires")["scopes"].clone();
            state.scopes.push(ScopesCall { code: code.to_owned(), scopes, issued_key: issued_key.clone() });
            Ok(reply(200, &serde_json::json!({"success": true, "apiKey": issued_key}).to_string()))
        }
        (hyper::Method::GET, None) => {
            let state = state.lock().unwrap();
            match state.modules.get(rest) {
                Some((key, module)) if api_key.as_deref() == Some(key.as_str()) => {
                    Ok(reply(200, &serde_json::json!({"success": true, "integrationModule": module}).to_string()))
                }
                Some(_) => Ok(reply(403, r#"{"success": false, "errorMsg": "Wrong \"apiKey\" value."}"#)),
                None => Ok(reply(404, r#"{"success": false, "errorMsg": "Not found"}"#)),
            }
        }
        _ => Ok(reply(404, r#"{"success": false, "errorMsg": "Method not found"}"#)),
    }
}

fn reply(status: u16, body: &str) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    response
}
