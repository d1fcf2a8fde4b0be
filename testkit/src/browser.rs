//! A real browser for the tests that only a browser can judge (CORS, Content-Security-Policy, forms): headless
//! Chromium driven over the W3C WebDriver protocol by chromedriver, both from Debian's `chromium` and
//! `chromium-driver` packages (`scripts/test` installs them when missing).
//!
//! Chromium runs with a fresh profile and without its background networking, which this machine's closed network
//! would refuse.

use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;

/// Where Debian puts them; `CHROMIUM` and `CHROMEDRIVER` override.
fn path_of(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// A chromedriver process with one headless Chromium session; both end when dropped.
pub struct Browser {
    driver: String,
    session: String,
    _chromedriver: tokio::process::Child,
    profile: std::path::PathBuf,
}

/// Marks a document that a navigation is expected to replace (see [`Browser::submit`]).
const STAMP: &str = "data-replaced-by-navigation";

/// How long a find waits for its element (and so a submit for its next document) before it fails.
const IMPLICIT_WAIT_MS: u64 = 15_000;

/// One console message the page produced.
#[derive(Debug, Clone)]
pub struct ConsoleEntry {
    pub level: String,
    pub message: String,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless Chromium session.
    pub async fn start() -> Self {
        let chromedriver = path_of("CHROMEDRIVER", "/usr/bin/chromedriver");
        let chromium = path_of("CHROMIUM", "/usr/bin/chromium");
        for binary in [&chromedriver, &chromium] {
            assert!(
                std::path::Path::new(binary).exists(),
                "{binary} is missing: scripts/test installs Debian's chromium and chromium-driver"
            );
        }
        let port = free_port();
        let child = tokio::process::Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {chromedriver}: {e}"));
        let driver = format!("http://127.0.0.1:{port}");
        wait_ready(&driver).await;
        let profile = std::env::temp_dir().join(crate::unique_name("chromium-profile"));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=1200,900", format!("--user-data-dir={}", profile.display()),
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
            "timeouts": {"implicit": IMPLICIT_WAIT_MS},
        }}});
        let answer = call(&driver, "POST", "/session", Some(&capabilities)).await;
        let session = answer["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver opened no session: {answer}"))
            .to_owned();
        Self { driver, session, _chromedriver: child, profile }
    }

    async fn command(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, answer) =
            call_status(&self.driver, method, &format!("/session/{}{path}", self.session), body).await;
        if status != 200 {
            panic!("WebDriver {method} {path}: {}: {}", answer["error"], answer["message"]);
        }
        answer
    }

    pub async fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(&json!({"url": url}))).await;
    }

    /// The cookies the browser holds for the current page, as WebDriver describes them (`name`, `value`, `path`,
    /// `httpOnly`, `secure`, `sameSite`, ...).
    pub async fn cookies(&self) -> Vec<Value> {
        self.command("GET", "/cookie", None).await.as_array().cloned().unwrap_or_default()
    }

    pub async fn current_url(&self) -> String {
        self.command("GET", "/url", None).await.as_str().unwrap_or_default().to_owned()
    }

    /// Runs `script` in the page (an async function body: `arguments` are `args`, the last one the callback).
    pub async fn run_async(&self, script: &str, args: Value) -> Value {
        self.command("POST", "/execute/async", Some(&json!({"script": script, "args": args}))).await
    }

    /// Runs `script` in the page and returns its value.
    pub async fn run(&self, script: &str) -> Value {
        self.command("POST", "/execute/sync", Some(&json!({"script": script, "args": []}))).await
    }

    /// The element matching CSS `selector`.
    pub async fn find(&self, selector: &str) -> String {
        let answer = self.command("POST", "/element", Some(&json!({"using": "css selector", "value": selector}))).await;
        answer
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {selector}"))
            .to_owned()
    }

    pub async fn type_into(&self, selector: &str, text: &str) {
        let element = self.find(selector).await;
        self.command("POST", &format!("/element/{element}/value"), Some(&json!({"text": text}))).await;
    }

    pub async fn click(&self, selector: &str) {
        let element = self.find(selector).await;
        self.command("POST", &format!("/element/{element}/click"), Some(&json!({}))).await;
    }

    /// Clicks `selector`, which submits a form, and returns once the next document is there.
    ///
    /// A click returns when the click is dispatched; the navigation it schedules may not have started, so a
    /// command right after it can still read the old page. The old document is stamped before the click, and the
    /// next one is found by WebDriver's implicit wait as the first `html` without the stamp.
    pub async fn submit(&self, selector: &str) {
        self.run(&format!("document.documentElement.setAttribute('{STAMP}', '')")).await;
        self.click(selector).await;
        self.find(&format!("html:not([{STAMP}])")).await;
    }

    /// The page's text.
    pub async fn text(&self) -> String {
        self.run("return document.body ? document.body.innerText : ''").await.as_str().unwrap_or_default().to_owned()
    }

    /// Console messages since the last call (Content-Security-Policy violations and script errors among them).
    pub async fn console(&self) -> Vec<ConsoleEntry> {
        let answer = self.command("POST", "/se/log", Some(&json!({"type": "browser"}))).await;
        answer
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| ConsoleEntry {
                level: e["level"].as_str().unwrap_or_default().to_owned(),
                message: e["message"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }

    /// A PNG of the viewport, written to `path`.
    pub async fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine;
        let answer = self.command("GET", "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(answer.as_str().unwrap_or_default()).expect("PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, png).expect("write screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Best effort: chromedriver ends the session's Chromium when it is killed anyway.
        let (driver, session) = (self.driver.clone(), self.session.clone());
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = tokio::time::timeout(
                    Duration::from_secs(2),
                    call(&driver, "DELETE", &format!("/session/{session}"), None),
                )
                .await;
            });
        }
        // The profile is ours to remove (a run of the suite left dozens of 6 MB profiles in the temp directory).
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Polls chromedriver's `/status` until it is ready (bounded).
async fn wait_ready(driver: &str) {
    let authority = driver.trim_start_matches("http://").to_owned();
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(&authority).await.is_ok()
            && call(driver, "GET", "/status", None).await["ready"] == true
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not become ready");
}

/// One WebDriver call; its `value`.
async fn call(driver: &str, method: &str, path: &str, body: Option<&Value>) -> Value {
    call_status(driver, method, path, body).await.1
}

/// One WebDriver call: the HTTP status (200 unless WebDriver reports an error) and the `value`.
async fn call_status(driver: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let body = body.map(Value::to_string).unwrap_or_default();
    let headers: &[(&str, &str)] = if method == "POST" { &[("content-type", "application/json")] } else { &[] };
    let reply = crate::http_client::send(driver, method, path, headers, body).await;
    let value = serde_json::from_slice::<Value>(&reply.body).map(|v| v["value"].clone()).unwrap_or(Value::Null);
    (reply.status, value)
}
