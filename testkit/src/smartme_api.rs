//! A fake smart-me REST API on loopback: `GET /api/Actions/{id}` lists an on/off action for switchable devices,
//! `POST /api/Actions` records the action (204), `POST /api/RegisterForRealtimeApi` records a realtime
//! registration; all only with the expected `Authorization`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// The ObisCode the fake lists for its on/off action.
pub const SWITCH_OBIS: &str = "1-0:99.12.0*255";

/// One recorded `POST /api/Actions`.
#[derive(Debug, Clone)]
pub struct ActionCall {
    pub body: serde_json::Value,
}

struct State {
    switchable: Vec<String>,
    calls: Vec<ActionCall>,
    registrations: Vec<serde_json::Value>,
    /// Answer the POST with this status instead of 204.
    fail_with: Option<u16>,
}

pub struct FakeSmartMe {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeSmartMe {
    /// A fake accepting `authorization` (the full header value), where `switchable` device ids have a switch.
    pub async fn start(authorization: &str, switchable: &[&str]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake smart-me");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State {
            switchable: switchable.iter().map(|s| s.to_string()).collect(),
            calls: Vec::new(),
            registrations: Vec::new(),
            fail_with: None,
        }));
        let serving = state.clone();
        let expected = authorization.to_owned();
        crate::serve_http(
            listener,
            hyper::service::service_fn(move |req| serve(serving.clone(), expected.clone(), req)),
        );
        Self { url, state }
    }

    pub fn calls(&self) -> Vec<ActionCall> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Every `POST /api/RegisterForRealtimeApi` body received.
    pub fn registrations(&self) -> Vec<serde_json::Value> {
        self.state.lock().unwrap().registrations.clone()
    }

    pub fn fail_with(&self, status: Option<u16>) {
        self.state.lock().unwrap().fail_with = status;
    }
}

async fn serve(
    state: Arc<Mutex<State>>,
    expected: String,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    let authorized = request.headers().get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str());
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if !authorized {
        return Ok(reply(401, r#"{"Message": "Authorization has been denied for this request."}"#));
    }
    let mut state = state.lock().unwrap();
    match (method, path.strip_prefix("/api/Actions")) {
        (hyper::Method::GET, Some(rest)) if rest.starts_with('/') => {
            let device = &rest[1..];
            if state.switchable.iter().any(|d| d == device) {
                let actions =
                    serde_json::json!([{"Name": "Switch", "ObisCode": SWITCH_OBIS, "ActionType": "OnOffAction"}]);
                Ok(reply(200, &actions.to_string()))
            } else {
                Ok(reply(200, "[]"))
            }
        }
        (hyper::Method::POST, None) if path == "/api/RegisterForRealtimeApi" => {
            let mut registration: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            state.registrations.push(registration.clone());
            registration["Id"] = serde_json::json!(format!("reg-{}", state.registrations.len()));
            Ok(reply(200, &registration.to_string()))
        }
        (hyper::Method::POST, Some("")) => {
            let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            state.calls.push(ActionCall { body });
            match state.fail_with {
                Some(status) => Ok(reply(status, r#"{"Message": "error"}"#)),
                None => Ok(reply(204, "")),
            }
        }
        _ => Ok(reply(404, r#"{"Message": "No HTTP resource was found"}"#)),
    }
}

fn reply(status: u16, body: &str) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    response
}
