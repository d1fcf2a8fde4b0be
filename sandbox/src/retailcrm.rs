//! RetailCRM, played locally: answers the module's calls the way the CRM does (RetailCRM's API v5 and its official
//! PHP client's models): `POST /api/v5/integration-modules/{code}/edit` (records the module, under the key that
//! sent it), `GET /api/v5/integration-modules/{code}` (the module, to its key only), `POST .../{code}/update-scopes`
//! (`requires={"scopes"}`, answers a new API key); and builds the requests the CRM sends to a module.
//!
//! `GET /sandbox/modules` lists the modules it holds (for `switchyard try retailcrm`, which opens the account page
//! as the CRM does).

use crate::{Answer, reply};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// The path that lists the modules the CRM holds.
pub const MODULES_PATH: &str = "/sandbox/modules";

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

/// Told of every clientId a module sends (the tests' leak check registers them as secrets).
pub type ClientIdObserver = Arc<dyn Fn(&str) + Send + Sync>;

struct State {
    mode: Mode,
    calls: Vec<EditCall>,
    /// The modules this CRM holds, by code: the key that may read them, and the module.
    modules: BTreeMap<String, (String, serde_json::Value)>,
    scopes: Vec<ScopesCall>,
}

/// A running fake CRM.
pub struct FakeRetailCrm {
    /// `http://127.0.0.1:<port>`: the CRM's systemUrl.
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeRetailCrm {
    pub async fn start(mode: Mode) -> Self {
        Self::observed(mode, None).await
    }

    /// As [`Self::start`], telling `observer` of each clientId a module sends.
    pub async fn observed(mode: Mode, observer: Option<ClientIdObserver>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake CRM");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state =
            Arc::new(Mutex::new(State { mode, calls: Vec::new(), modules: BTreeMap::new(), scopes: Vec::new() }));
        let serving = state.clone();
        crate::serve_http(
            listener,
            hyper::service::service_fn(move |req| {
                let (state, observer) = (serving.clone(), observer.clone());
                async move { Ok::<_, std::convert::Infallible>(serve(&state, observer.as_deref(), req).await) }
            }),
        );
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
        register_json_body(&self.url, secret, api_key)
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

/// The registration body a CRM at `system_url` sends, in the official clients' shape (`register=<JSON>`), its
/// token the HMAC of `api_key` under the module's `secret`.
pub fn register_json_body(system_url: &str, secret: &str, api_key: &str) -> String {
    let token = shared::partners::retailcrm::registration::token_for(secret.as_bytes(), api_key);
    let json = serde_json::json!({"token": token, "apiKey": api_key, "systemUrl": system_url}).to_string();
    shared::codec::form::encode([("register", json.as_str())])
}

async fn serve(
    state: &Mutex<State>,
    observer: Option<&(dyn Fn(&str) + Send + Sync)>,
    request: hyper::Request<Incoming>,
) -> Answer {
    let path = request.uri().path().to_owned();
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (api_key, content_type) = (header("x-api-key"), header("content-type"));
    let method = request.method().clone();
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if method == hyper::Method::GET && path == MODULES_PATH {
        let modules: BTreeMap<String, serde_json::Value> =
            state.lock().unwrap().modules.iter().map(|(code, (_, module))| (code.clone(), module.clone())).collect();
        return crate::json(200, &serde_json::to_value(modules).unwrap_or_default());
    }
    let Some(rest) = path.strip_prefix("/api/v5/integration-modules/") else {
        return answer(404, r#"{"success": false, "errorMsg": "Method not found"}"#);
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
            if let (Some(observer), Some(client_id)) = (observer, module["clientId"].as_str()) {
                observer(client_id);
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
                Mode::Success => answer(200, r#"{"success": true, "info": {}}"#),
                Mode::Refuse(message) => {
                    answer(400, &serde_json::json!({"success": false, "errorMsg": message, "errors": {}}).to_string())
                }
                Mode::ServerError => reply(500, "text/html", "<html><body>Internal Server Error</body></html>"),
                Mode::Hang => std::future::pending().await,
            }
        }
        (hyper::Method::POST, Some((code, "update-scopes"))) => {
            let mut state = state.lock().unwrap();
            let Some((key, _)) = state.modules.get(code).cloned() else {
                return answer(404, r#"{"success": false, "errorMsg": "Not found"}"#);
            };
            if api_key.as_deref() != Some(key.as_str()) {
                return answer(403, r#"{"success": false, "errorMsg": "Wrong \"apiKey\" value."}"#);
            }
            let issued_key = format!("key-after-scopes-{}", state.scopes.len() + 1);
            if let Some(held) = state.modules.get_mut(code) {
                held.0 = issued_key.clone();
            }
            let scopes = field("requires")["scopes"].clone();
            state.scopes.push(ScopesCall { code: code.to_owned(), scopes, issued_key: issued_key.clone() });
            answer(200, &serde_json::json!({"success": true, "apiKey": issued_key}).to_string())
        }
        (hyper::Method::GET, None) => {
            let state = state.lock().unwrap();
            match state.modules.get(rest) {
                Some((key, module)) if api_key.as_deref() == Some(key.as_str()) => {
                    answer(200, &serde_json::json!({"success": true, "integrationModule": module}).to_string())
                }
                Some(_) => answer(403, r#"{"success": false, "errorMsg": "Wrong \"apiKey\" value."}"#),
                None => answer(404, r#"{"success": false, "errorMsg": "Not found"}"#),
            }
        }
        _ => answer(404, r#"{"success": false, "errorMsg": "Method not found"}"#),
    }
}

fn answer(status: u16, body: &str) -> Answer {
    reply(status, "application/json", Bytes::from(body.to_owned()))
}
