//! A plain HTTP/1.1 client for tests, and a handle on a running `switchyard serve` process.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};

/// A response as a test sees it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request to `base` (`http://host:port`) on a fresh connection.
pub async fn send(base: &str, method: &str, path: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Reply {
    let authority = base.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let stream =
        tokio::net::TcpStream::connect(&authority).await.unwrap_or_else(|e| panic!("connect {authority}: {e}"));
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(connection);
    let mut request = http::Request::builder().method(method).uri(path).header("host", &authority);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body.into())).expect("request");
    let response = sender.send_request(request).await.expect("send request");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("read body").to_bytes();
    Reply { status: parts.status.as_u16(), headers: parts.headers, body }
}

/// A `switchyard serve` process on a free loopback port; killed when dropped.
pub struct Runner {
    pub base: String,
    /// The start banner: every line from `listening on` to the `try` hint.
    pub banner: String,
    child: tokio::process::Child,
}

/// The banner's last line.
const BANNER_END: &str = "try a partner's side";

impl Runner {
    /// Starts the runner binary with its own data directory, the given secrets file and extra environment.
    pub async fn start(binary: &str, data: &std::path::Path, secrets: &std::path::Path, env: &[(&str, &str)]) -> Self {
        Self::start_with(binary, data, secrets, env, &[]).await
    }

    /// [`Self::start`] with more arguments for `serve` (e.g. `--table NAME`).
    pub async fn start_with(
        binary: &str,
        data: &std::path::Path,
        secrets: &std::path::Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Self {
        let mut child = tokio::process::Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .arg("--secrets")
            .arg(secrets)
            .args(args)
            // The partners the runner would call for real are the test's to name.
            .env_remove("SWITCHYARD_PUBLIC_URL")
            .env_remove("SBER_API_URL")
            .env_remove("SMARTME_API_URL")
            .env_remove("SMARTME_OAUTH_URL")
            .env_remove("SMALLCASE_GATEWAY_URL")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        if let Ok(text) = std::fs::read_to_string(secrets) {
            let document = serde_json::from_str(&text).unwrap_or_default();
            crate::assertions::leaks::fixture_secrets(crate::assertions::leaks::secret_values(&document));
        }
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next_line().await.expect("read runner output").expect("runner exited before listening");
        let base =
            first.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line: {first}")).to_owned();
        let mut banner = first + "\n";
        while let Some(line) = lines.next_line().await.expect("read runner output") {
            banner.push_str(&line);
            banner.push('\n');
            if line.starts_with(BANNER_END) {
                break;
            }
        }
        // Keep draining both pipes so the runner never blocks on a full one; what it logs is kept for the leak check.
        let mut errors = BufReader::new(child.stderr.take().expect("stderr")).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                crate::assertions::leaks::keep_logs("runner", &(line + "\n"));
            }
        });
        tokio::spawn(async move {
            while let Ok(Some(line)) = errors.next_line().await {
                crate::assertions::leaks::keep_logs("runner", &(line + "\n"));
            }
        });
        Self { base, banner, child }
    }

    /// Stops the runner and waits until it has exited (its store is free for the CLI again).
    pub async fn stop(mut self) {
        self.child.kill().await.expect("stop the runner");
    }
}
