//! A fake smallcase Gateway on loopback: answers `POST /gateway/{gateway_name}/transaction` as the Gateway does
//! when both `x-gateway-secret` and `x-gateway-authtoken` are right, and records every call.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// How the fake answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Creates transactions `TRX_1`, `TRX_2`, ...
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
    pub path: String,
    pub api_secret: Option<String>,
    pub auth_token: Option<String>,
    pub body: serde_json::Value,
}

struct State {
    mode: Mode,
    calls: Vec<GatewayCall>,
}

/// A running fake Gateway that accepts `api_secret` for gateway `gateway_name`.
pub struct FakeGateway {
    /// `http://127.0.0.1:<port>`: the value for `SMALLCASE_GATEWAY_URL`.
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeGateway {
    pub async fn start(gateway_name: &str, api_secret: &str, mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake gateway");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State { mode, calls: Vec::new() }));
        let serving = state.clone();
        let expected = (format!("/gateway/{gateway_name}/transaction"), api_secret.to_owned());
        crate::serve_http(
            listener,
            hyper::service::service_fn(move |req| serve(serving.clone(), expected.clone(), req)),
        );
        Self { url, state }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    pub fn calls(&self) -> Vec<GatewayCall> {
        self.state.lock().unwrap().calls.clone()
    }
}

async fn serve(
    state: Arc<Mutex<State>>,
    (expected_path, expected_secret): (String, String),
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (api_secret, auth_token) = (header("x-gateway-secret"), header("x-gateway-authtoken"));
    let path = request.uri().path().to_owned();
    let is_post = request.method() == hyper::Method::POST;
    let bytes = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    let (mode, number) = {
        let mut state = state.lock().unwrap();
        state.calls.push(GatewayCall {
            path: path.clone(),
            api_secret: api_secret.clone(),
            auth_token: auth_token.clone(),
            body,
        });
        (state.mode.clone(), state.calls.len())
    };
    if !is_post || path != expected_path {
        return Ok(reply(404, r#"{"success": false, "errors": ["not found"], "data": null}"#));
    }
    if api_secret.as_deref() != Some(expected_secret.as_str()) {
        return Ok(reply(401, r#"{"success": false, "errors": ["Invalid gateway secret"], "data": null}"#));
    }
    if auth_token.as_deref().is_none_or(|t| t.split('.').count() != 3) {
        return Ok(reply(401, r#"{"success": false, "errors": ["Invalid auth token"], "data": null}"#));
    }
    match mode {
        Mode::Success => Ok(reply(
            200,
            &serde_json::json!({"success": true, "errors": null,
                "data": {"transactionId": format!("TRX_{number}"), "expireAt": "2030-01-01T00:00:00.000Z"}})
            .to_string(),
        )),
        Mode::Refuse => Ok(reply(400, r#"{"success": false, "errors": ["intent not allowed"], "data": null}"#)),
        Mode::ServerError => Ok(reply(500, "<html><body>Internal Server Error</body></html>")),
        Mode::Hang => std::future::pending().await,
    }
}

fn reply(status: u16, body: &str) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    response.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("application/json"));
    response
}
