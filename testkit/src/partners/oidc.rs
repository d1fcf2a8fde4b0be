//! A real OpenID Provider for the OIDC sign-in tests: npm's `oidc-provider` (panva/node-oidc-provider, OpenID
//! Certified, pinned in `testkit/oidc-provider/package.json`, installed by `scripts/test` with `npm ci`), run by
//! Node on a loopback port, plus what a browser does there ([`Agent`]) and a man in the middle of its token
//! endpoint ([`Tamper`]) for the attacks a provider never makes itself.

use crate::http_client::{Reply, send};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, BufReader};

/// A running provider; stopped when dropped.
pub struct OidcProvider {
    /// Where it listens (for its control endpoint); its issuer is this unless the configuration names another.
    pub address: String,
    _child: tokio::process::Child,
}

impl OidcProvider {
    /// Starts the provider with `config` (see `provider.mjs`: `issuer`, `clients`, `account`).
    pub async fn start(config: &Value) -> Self {
        let dir = crate::workspace_root().join("testkit/oidc-provider");
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "oidc-provider is not installed: scripts/test runs `npm ci --prefix testkit/oidc-provider`"
        );
        let mut child = tokio::process::Command::new("node")
            .arg(dir.join("provider.mjs"))
            .arg(config.to_string())
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start node (Node.js is needed for the OIDC tests)");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        // It says where it listens once it serves: that line is the readiness signal.
        let address = loop {
            let line = lines.next_line().await.expect("read the provider").expect("the provider exited");
            if let Some(address) = line.strip_prefix("listening ") {
                break address.trim().to_owned();
            }
        };
        // It keeps writing notices to standard output: read them, or its next write fails and it stops.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { address, _child: child }
    }

    /// Publishes a new signing key first (the old one stays in the JWKS): the provider rotates its keys.
    pub async fn rotate_key(&self) -> Value {
        let reply = send(&self.address, "POST", "/__switchyard/rotate", &[], Bytes::new()).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()
    }
}

/// What a browser does at the provider: follows redirects, keeps its cookies, and submits the provider's sign-in
/// form, until a redirect leaves for `until` (the client's redirect URI).
#[derive(Default)]
pub struct Agent {
    cookies: BTreeMap<String, String>,
}

fn split(url: &url::Url) -> (String, String) {
    let base = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default())
        + &url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = format!("{}{}", url.path(), url.query().map(|q| format!("?{q}")).unwrap_or_default());
    (base, path)
}

impl Agent {
    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep_cookies(&mut self, reply: &Reply) {
        for value in reply.headers.get_all("set-cookie") {
            let Some(pair) = value.to_str().ok().and_then(|v| v.split(';').next()) else { continue };
            let Some((name, value)) = pair.split_once('=') else { continue };
            if value.is_empty() {
                self.cookies.remove(name.trim());
            } else {
                self.cookies.insert(name.trim().to_owned(), value.to_owned());
            }
        }
    }

    async fn request(&mut self, method: &str, url: &url::Url, body: &str) -> Reply {
        let (base, path) = split(url);
        let cookie = self.cookie_header();
        let mut headers = vec![("cookie", cookie.as_str())];
        if method == "POST" {
            headers.push(("content-type", "application/x-www-form-urlencoded"));
        }
        let reply = send(&base, method, &path, &headers, Bytes::from(body.to_owned())).await;
        self.keep_cookies(&reply);
        reply
    }

    /// From `start` (the provider's authorization URL) to the redirect to `until`: its location.
    pub async fn sign_in(&mut self, start: &str, until: &str) -> String {
        let mut url = url::Url::parse(start).expect("an authorization URL");
        let (mut method, mut body) = ("GET", String::new());
        for _ in 0..12 {
            let reply = self.request(method, &url, &body).await;
            if let Some(location) = reply.headers.get("location").and_then(|v| v.to_str().ok()) {
                let next = url.join(location).expect("a redirect");
                if next.as_str().starts_with(until) {
                    return next.to_string();
                }
                (url, method, body) = (next, "GET", String::new());
                continue;
            }
            let html = reply.text();
            // The sign-in form: submit it as it is.
            let Some(action) = html.split("action=\"").nth(1).and_then(|rest| rest.split('"').next()) else {
                panic!("the provider answered {} without a redirect or a form: {html}", reply.status);
            };
            url = url.join(action).expect("the form's action");
            (method, body) = ("POST", "login=alice".to_owned());
        }
        panic!("no redirect to {until} after 12 steps");
    }
}

/// A man in the middle in front of the provider: forwards everything, but answers the token endpoint with another
/// ID token when told (one issued for another client, or to an earlier sign-in).
pub struct Tamper {
    /// Its address: the issuer the provider is configured with, so discovery and every endpoint go through it.
    pub address: String,
    target: Arc<Mutex<Option<String>>>,
    replacement: Arc<Mutex<Option<String>>>,
    /// Every ID token the token endpoint answered, untouched.
    issued: Arc<Mutex<Vec<String>>>,
}

impl Tamper {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = format!("http://{}", listener.local_addr().expect("address"));
        let target: Arc<Mutex<Option<String>>> = Arc::default();
        let replacement: Arc<Mutex<Option<String>>> = Arc::default();
        let issued: Arc<Mutex<Vec<String>>> = Arc::default();
        let (t, r, i) = (target.clone(), replacement.clone(), issued.clone());
        crate::serve_http(
            listener,
            hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let (target, replacement, issued) = (t.clone(), r.clone(), i.clone());
                async move {
                    let (parts, body) = request.into_parts();
                    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    let provider = target.lock().unwrap().clone().expect("the provider behind the tamper");
                    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
                    let mut headers: Vec<(String, String)> = parts
                        .headers
                        .iter()
                        .filter(|(k, _)| *k != "host" && *k != "content-length")
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
                        .collect();
                    // The provider builds its URLs from the host it was asked at: ours (it trusts the proxy).
                    let host = parts.headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or_default();
                    headers.push(("x-forwarded-host".into(), host.to_owned()));
                    headers.push(("x-forwarded-proto".into(), "http".into()));
                    let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    let reply = send(&provider, parts.method.as_str(), &path, &pairs, body).await;
                    let mut answer = reply.body.clone();
                    if parts.uri.path() == "/token" && reply.status == 200 {
                        let mut tokens = reply.json();
                        if let Some(id_token) = tokens["id_token"].as_str() {
                            issued.lock().unwrap().push(id_token.to_owned());
                        }
                        if let Some(other) = replacement.lock().unwrap().take() {
                            tokens["id_token"] = Value::String(other);
                            answer = Bytes::from(tokens.to_string());
                        }
                    }
                    let mut response = hyper::Response::new(Full::new(answer));
                    *response.status_mut() = hyper::StatusCode::from_u16(reply.status).unwrap();
                    for (name, value) in reply.headers.iter().filter(|(k, _)| *k != "content-length") {
                        response.headers_mut().append(name, value.clone());
                    }
                    Ok::<_, std::convert::Infallible>(response)
                }
            }),
        );
        Self { address, target, replacement, issued }
    }

    /// Where the provider listens.
    pub fn forward_to(&self, provider: &str) {
        *self.target.lock().unwrap() = Some(provider.to_owned());
    }

    /// The next token answer carries `id_token` instead of the provider's.
    pub fn replace_next_id_token(&self, id_token: &str) {
        *self.replacement.lock().unwrap() = Some(id_token.to_owned());
    }

    pub fn issued(&self) -> Vec<String> {
        self.issued.lock().unwrap().clone()
    }
}
