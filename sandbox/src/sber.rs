//! Sber's partner API, played locally (`POST /v1/state`, `POST`/`PUT`/`DELETE /v1/devices`, `POST /v1/unlink`):
//! checks the project's key in `Authorization` and each body's fields against Sber's pages (a body of another
//! shape is a 400, as Sber's validation answers), records every call with its `X-Request-Id`, and answers as told
//! (success, 400, 500, 429 with `Retry-After`) for a chosen number of calls.
//!
//! `GET /sandbox/calls` lists what it received (without the key), for `switchyard try sber`.

use crate::{Answer, json, reply};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// The path that lists the calls received.
pub const CALLS_PATH: &str = "/sandbox/calls";

/// One call as Sber received it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SberCall {
    pub method: String,
    pub path: String,
    #[serde(skip)]
    pub authorization: Option<String>,
    /// The caller's `X-Request-Id`, if it sent one.
    pub request_id: Option<String>,
    pub body: serde_json::Value,
    /// What the fake answered.
    pub status: u16,
}

/// An answer the fake gives instead of success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    ServerError,
    /// 400 with Sber's common error body.
    BadRequest,
    /// 429 with `Retry-After: <seconds>`.
    TooManyRequests(u64),
}

#[derive(Default)]
struct State {
    calls: Vec<SberCall>,
    /// Answers for the next calls, in order; success once empty.
    planned: VecDeque<Failure>,
    /// Every call fails like this, when set.
    always: Option<Failure>,
}

pub struct FakeSber {
    /// `http(s)://127.0.0.1:<port>`: the value for `SBER_API_URL`.
    pub url: String,
    state: Arc<Mutex<State>>,
    called: Arc<tokio::sync::Notify>,
}

/// The fake's HTTP service, for a caller that serves it itself (over TLS).
#[derive(Clone)]
pub struct SberService {
    state: Arc<Mutex<State>>,
    called: Arc<tokio::sync::Notify>,
    expected: Arc<String>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for SberService {
    type Response = Answer;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, Self::Error>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let answer = serve(&this.state, &this.expected, request).await;
            this.called.notify_waiters();
            Ok(answer)
        })
    }
}

impl FakeSber {
    /// Accepts `Authorization: <expected>`, on plain HTTP.
    pub async fn start(expected: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake Sber API");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (fake, service) = Self::unstarted(url, expected);
        crate::serve_http(listener, service);
        fake
    }

    /// The fake at `url` and the service to serve there (a caller serving over TLS).
    pub fn unstarted(url: String, expected: &str) -> (Self, SberService) {
        let state = Arc::new(Mutex::new(State::default()));
        let called = Arc::new(tokio::sync::Notify::new());
        let service = SberService { state: state.clone(), called: called.clone(), expected: Arc::new(expected.into()) };
        (Self { url, state, called }, service)
    }

    /// Waits (at most `timeout`) until the calls so far satisfy `done`; whether they did.
    pub async fn wait_for(&self, timeout: std::time::Duration, done: impl Fn(&[SberCall]) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let called = self.called.notified();
            if done(&self.calls()) {
                return true;
            }
            if tokio::time::timeout_at(deadline, called).await.is_err() {
                return done(&self.calls());
            }
        }
    }

    pub fn calls(&self) -> Vec<SberCall> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The calls Sber took (2xx).
    pub fn accepted(&self) -> Vec<SberCall> {
        self.calls().into_iter().filter(|c| (200..300).contains(&c.status)).collect()
    }

    /// The next calls get these answers, then success.
    pub fn fail_next(&self, failures: &[Failure]) {
        self.state.lock().unwrap().planned.extend(failures.iter().copied());
    }

    /// Every call gets `failure` (`None`: success again).
    pub fn fail_always(&self, failure: Option<Failure>) {
        self.state.lock().unwrap().always = failure;
    }
}

async fn serve(state: &Mutex<State>, expected: &str, request: hyper::Request<Incoming>) -> Answer {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (authorization, request_id) = (header("authorization"), header("x-request-id"));
    let (method, path) = (request.method().to_string(), request.uri().path().to_owned());
    if method == "GET" && path == CALLS_PATH {
        let calls = state.lock().unwrap().calls.clone();
        return json(200, &serde_json::to_value(calls).unwrap_or_default());
    }
    let bytes = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    let known = matches!(
        (method.as_str(), path.as_str()),
        ("POST", "/v1/state" | "/v1/unlink") | ("POST" | "PUT" | "DELETE", "/v1/devices")
    );
    let mut state = state.lock().unwrap();
    let failure = state.always.or_else(|| state.planned.pop_front());
    let (status, retry_after, answer): (u16, Option<u64>, &str) = if authorization.as_deref() != Some(expected) {
        (401, None, r#"{"code": 401, "message": "unauthorized"}"#)
    } else if !known {
        (404, None, r#"{"code": 404, "message": "not found"}"#)
    } else if !documented(&method, &path, &body) {
        (400, None, r#"{"code": 400, "message": "Invalid argument", "details": ["the body's fields"]}"#)
    } else {
        match failure {
            Some(Failure::ServerError) => (500, None, r#"{"code": 500, "message": "internal"}"#),
            Some(Failure::BadRequest) => {
                (400, None, r#"{"code": 400, "message": "Invalid argument", "details": ["device"]}"#)
            }
            Some(Failure::TooManyRequests(seconds)) => (429, Some(seconds), r#"{"code": 429, "message": "slow down"}"#),
            None => (200, None, "{}"),
        }
    };
    state.calls.push(SberCall { method, path, authorization, request_id, body, status });
    let mut response = reply(status, "application/json", Bytes::from(answer));
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(hyper::header::RETRY_AFTER, seconds.into());
    }
    response
}

/// Whether `body` has exactly the fields Sber's page shows for the call: `POST /v1/devices` `{"user_id", "devices"}`,
/// `PUT /v1/devices` `{"devices"}`, `DELETE /v1/devices` `{"device_ids"}`, `POST /v1/unlink` `{"user_id"}`,
/// `POST /v1/state` `{"devices"}`.
fn documented(method: &str, path: &str, body: &serde_json::Value) -> bool {
    let fields: &[&str] = match (method, path) {
        ("POST", "/v1/devices") => &["devices", "user_id"],
        ("PUT", "/v1/devices") | ("POST", "/v1/state") => &["devices"],
        ("DELETE", "/v1/devices") => &["device_ids"],
        ("POST", "/v1/unlink") => &["user_id"],
        _ => return false,
    };
    let Some(object) = body.as_object() else { return false };
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys == fields
}
