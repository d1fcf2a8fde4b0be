//! A fake RetailCRM on loopback: answers the module's `/api/v5/integration-modules/{code}/edit` call the way the
//! CRM does, records what it received, and builds the requests the CRM sends to a module.

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

struct State {
    mode: Mode,
    calls: Vec<EditCall>,
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
        let state = Arc::new(Mutex::new(State { mode, calls: Vec::new() }));
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
    let code = path
        .strip_prefix("/api/v5/integration-modules/")
        .and_then(|rest| rest.strip_suffix("/edit"))
        .map(str::to_owned);
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (api_key, content_type) = (header("x-api-key"), header("content-type"));
    let is_post = request.method() == hyper::Method::POST;
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let Some(code) = code.filter(|_| is_post) else {
        return Ok(reply(404, r#"{"success": false, "errorMsg": "Method not found"}"#));
    };
    let module = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "integrationModule")
        .and_then(|(_, v)| serde_json::from_str(&v).ok())
        .unwrap_or(serde_json::Value::Null);
    let mode = {
        let mut state = state.lock().unwrap();
        state.calls.push(EditCall { code, api_key, content_type, module });
        state.mode.clone()
    };
    match mode {
        Mode::Success => Ok(reply(200, r#"{"success": true, "info": {}}"#)),
        Mode::Refuse(message) => {
            Ok(reply(400, &serde_json::json!({"success": false, "errorMsg": message, "errors": {}}).to_string()))
        }
        Mode::ServerError => Ok(reply(500, "<html><body>Internal Server Error</body></html>")),
        Mode::Hang => std::future::pending().await,
    }
}

fn reply(status: u16, body: &str) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    response
}
