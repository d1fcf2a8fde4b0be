//! A Lambda runtime-API emulator on loopback: runs a real function binary the way Lambda does, one invocation at
//! a time through `GET /2018-06-01/runtime/invocation/next` and `POST .../{id}/response`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function answered to one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST .../response`: the function's result JSON.
    Response(serde_json::Value),
    /// `POST .../error`: the function reported an error.
    Error(serde_json::Value),
}

impl Outcome {
    /// The HTTP status of an API Gateway proxy response, if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Response(v) => v.get("statusCode").and_then(|s| s.as_u64()).map(|s| s as u16),
            Self::Error(_) => None,
        }
    }
}

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<(String, serde_json::Value)>>,
    queued: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// When the function first asked for work (its init is done).
    first_poll: Mutex<Option<Instant>>,
    polled: Notify,
    init_error: Mutex<Option<serde_json::Value>>,
}

/// A running emulator.
pub struct RuntimeApi {
    address: SocketAddr,
    shared: Arc<Shared>,
    next_id: Mutex<u64>,
}

impl RuntimeApi {
    /// Starts an emulator on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind runtime API");
        let address = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared::default());
        let serving = shared.clone();
        crate::serve_http(listener, hyper::service::service_fn(move |req| serve(serving.clone(), req)));
        Self { address, shared, next_id: Mutex::new(0) }
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Delivers `event` to the function and waits for its answer (at most `timeout`).
    pub async fn invoke(&self, event: serde_json::Value, timeout: Duration) -> Result<Outcome, String> {
        let id = {
            let mut next = self.next_id.lock().unwrap();
            *next += 1;
            format!("00000000-0000-4000-8000-{:012}", *next)
        };
        let (tx, rx) = oneshot::channel();
        self.shared.waiting.lock().unwrap().insert(id.clone(), tx);
        self.shared.queue.lock().unwrap().push_back((id.clone(), event));
        self.shared.queued.notify_one();
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err(format!("invocation {id} was dropped")),
            Err(_) => Err(format!("invocation {id} got no answer within {timeout:?}")),
        }
    }

    /// Waits until the function first asks for work; returns when that happened.
    pub async fn first_poll(&self, timeout: Duration) -> Result<Instant, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.polled.notified();
            if let Some(at) = *self.shared.first_poll.lock().unwrap() {
                return Ok(at);
            }
            if let Some(err) = self.shared.init_error.lock().unwrap().clone() {
                return Err(format!("init failed: {err}"));
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(format!("the function did not ask for work within {timeout:?}"));
            }
        }
    }
}

async fn serve(
    shared: Arc<Shared>,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Ok(reply(404, Bytes::new(), &[]));
    };
    if rest == "/invocation/next" {
        {
            let mut first = shared.first_poll.lock().unwrap();
            if first.is_none() {
                *first = Some(Instant::now());
            }
        }
        shared.polled.notify_waiters();
        loop {
            let notified = shared.queued.notified();
            if let Some((id, event)) = shared.queue.lock().unwrap().pop_front() {
                let deadline = std::time::SystemTime::now() + Duration::from_secs(30);
                let deadline_ms = deadline.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
                let headers = [
                    ("lambda-runtime-aws-request-id", id.clone()),
                    ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
                    (
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:us-east-1:000000000000:function:test".into(),
                    ),
                    ("lambda-runtime-trace-id", format!("Root=1-00000000-{id}")),
                ];
                return Ok(reply(200, Bytes::from(event.to_string()), &headers));
            }
            notified.await;
        }
    }
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    if rest == "/init/error" {
        *shared.init_error.lock().unwrap() = Some(json);
        shared.polled.notify_waiters();
        return Ok(reply(202, Bytes::new(), &[]));
    }
    let Some(rest) = rest.strip_prefix("/invocation/") else {
        return Ok(reply(404, Bytes::new(), &[]));
    };
    let (id, outcome) = match rest.split_once('/') {
        Some((id, "response")) => (id, Outcome::Response(json)),
        Some((id, "error")) => (id, Outcome::Error(json)),
        _ => return Ok(reply(404, Bytes::new(), &[])),
    };
    match shared.waiting.lock().unwrap().remove(id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            Ok(reply(202, Bytes::new(), &[]))
        }
        None => Ok(reply(400, Bytes::new(), &[])),
    }
}

fn reply(status: u16, body: Bytes, headers: &[(&str, String)]) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(body));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) =
            (hyper::header::HeaderName::try_from(*name), hyper::header::HeaderValue::try_from(value))
        {
            response.headers_mut().insert(n, v);
        }
    }
    response
}

/// A function binary running against an emulator; killed when dropped.
pub struct FunctionProcess {
    pub child: tokio::process::Child,
    pub started: Instant,
    function_name: String,
    /// What the process writes, read as it writes (a function at DEBUG fills a pipe nobody reads and blocks).
    drains: Vec<tokio::task::JoinHandle<Vec<u8>>>,
}

/// Reads `pipe` to its end, in the background.
fn drain<R: tokio::io::AsyncRead + Unpin + Send + 'static>(mut pipe: R) -> tokio::task::JoinHandle<Vec<u8>> {
    tokio::spawn(async move {
        let mut kept = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut pipe, &mut kept).await;
        kept
    })
}

impl FunctionProcess {
    /// Starts `binary` with the variables Lambda sets plus `env`.
    pub fn spawn(binary: &str, runtime: &RuntimeApi, function_name: &str, env: &[(String, String)]) -> Self {
        let mut process = Self::start(tokio::process::Command::new(binary), runtime, function_name, env, Stdio::null());
        process.drain_output();
        process
    }

    /// [`Self::spawn`] through `launcher` (a program and its arguments, `binary` appended), which must write one
    /// line to its standard output when ready and then wait for a line on its standard input before it `exec`s
    /// the binary (same pid): a wrapper that moves itself into a CPU share first. [`Self::release`] lets it go.
    pub fn spawn_held(
        launcher: &[String],
        binary: &str,
        runtime: &RuntimeApi,
        function_name: &str,
        env: &[(String, String)],
    ) -> Self {
        let (program, args) = launcher.split_first().expect("a launcher program");
        let mut command = tokio::process::Command::new(program);
        command.args(args).arg(binary);
        Self::start(command, runtime, function_name, env, Stdio::piped())
    }

    /// Waits for a held launcher's ready line, then lets it `exec` the function; `started` is reset to now, so
    /// what the launcher did before (joining a cgroup takes milliseconds) is not counted as the function's.
    pub async fn release(&mut self) -> Result<(), String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let stdout = self.child.stdout.as_mut().ok_or("the launcher's output is not captured")?;
        // Byte by byte: nothing past the ready line may be read from the function's own output.
        let mut byte = [0u8; 1];
        loop {
            match stdout.read(&mut byte).await {
                Ok(1) if byte[0] == b'\n' => break,
                Ok(1) => {}
                _ => return Err("the launcher exited before it was ready".into()),
            }
        }
        let stdin = self.child.stdin.as_mut().ok_or("the launcher's input is not a pipe")?;
        self.started = Instant::now();
        stdin.write_all(b"go\n").await.map_err(|e| format!("release the launcher: {e}"))?;
        self.drain_output();
        Ok(())
    }

    /// Starts reading what the process writes from here on.
    fn drain_output(&mut self) {
        if let Some(stdout) = self.child.stdout.take() {
            self.drains.push(drain(stdout));
        }
        if let Some(stderr) = self.child.stderr.take() {
            self.drains.push(drain(stderr));
        }
    }

    /// Everything the process wrote, once it has exited.
    async fn output(&mut self) -> String {
        let mut logs = String::new();
        for drain in self.drains.drain(..) {
            logs.push_str(&String::from_utf8_lossy(&drain.await.unwrap_or_default()));
        }
        crate::assertions::leaks::keep_logs(&format!("function-{}", self.function_name), &logs);
        logs
    }

    fn start(
        mut command: tokio::process::Command,
        runtime: &RuntimeApi,
        function_name: &str,
        env: &[(String, String)],
        stdin: Stdio,
    ) -> Self {
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", runtime.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function_name}"))
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let program = command.as_std().get_program().to_string_lossy().into_owned();
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        Self { child, started, function_name: function_name.to_owned(), drains: Vec::new() }
    }

    /// Waits for the process to exit by itself; returns its status and everything it logged.
    pub async fn exited(mut self) -> (std::process::ExitStatus, String) {
        self.drain_output();
        let status = self.child.wait().await.expect("wait for the function");
        (status, self.output().await)
    }

    /// Stops the process and returns everything it logged (stdout and stderr).
    pub async fn stop(mut self) -> String {
        self.drain_output();
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        self.output().await
    }
}
