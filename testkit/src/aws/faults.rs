//! An HTTP proxy on loopback between the AWS SDK and moto_server that injects the faults AWS produces: throttling
//! errors, HTTP 500, dropped connections (before the request reached the service, or after it was applied and
//! the answer was lost), answers that never come before the caller gives up, and partial batches
//! (`UnprocessedItems`, `UnprocessedKeys`). Faults are drawn from a seeded generator, so a failing run can be
//! replayed; a test that needs failures to reach its caller makes an outage on purpose ([`FaultProxy::set_share`]
//! at 1.0, [`FaultProxy::set_operations`] to aim it), never by timing.
//!
//! Nothing here depends on how fast the machine is. A `Slow` answer is held until the caller hangs up (its attempt
//! timeout, whatever that is), so it is late by construction; [`deps`] gives the SDK attempt timeouts far above
//! the longest wait a request can meet in the proxy's queue (one request per concurrent caller, each served by
//! moto in a fraction of a second), so only the faults time out.
//!
//! The proxy hands moto one request at a time: moto applies a transaction on a deep copy of the table and, when
//! a condition fails, puts the copy back, undoing whatever concurrent requests wrote meanwhile. DynamoDB isolates
//! transactions; serialising keeps moto's race out of what the tests judge. Each forward runs on its own task, so
//! a caller that hangs up cannot cut a request off halfway through moto; a request whose caller hung up while it
//! waited for its turn is dropped unsent (AWS would never see it either), so abandoned attempts cannot pile up in
//! front of moto on a slow machine.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// One kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// DynamoDB `ProvisionedThroughputExceededException` (Secrets Manager: `ThrottlingException`), HTTP 400.
    ProvisionedThroughputExceeded,
    /// `ThrottlingException`, HTTP 400.
    Throttling,
    /// `InternalServerError` (Secrets Manager: `InternalServiceError`), HTTP 500.
    ServerError,
    /// The connection is closed before the request is forwarded: nothing happened.
    DropBefore,
    /// The request is applied, then the connection is closed: the caller cannot know it succeeded.
    DropAfter,
    /// The request is applied and its answer held until the caller hangs up (its attempt timeout).
    Slow,
    /// `BatchWriteItem` / `BatchGetItem`: only part of the batch is forwarded; the rest comes back unprocessed.
    Unprocessed,
}

impl Fault {
    /// Every fault that applies to any request.
    pub const GENERAL: [Fault; 6] = [
        Fault::ProvisionedThroughputExceeded,
        Fault::Throttling,
        Fault::ServerError,
        Fault::DropBefore,
        Fault::DropAfter,
        Fault::Slow,
    ];
}

/// How many `Slow` faults [`Plan::every_fault`] allows: each holds its caller for a whole attempt timeout.
pub const SLOW_LIMIT: usize = 4;

/// The SDK attempt timeout [`deps`] configures: far above the longest wait in the proxy's queue (a handful of
/// requests, each served by moto in well under a second even on a slow machine), so only injected faults time out.
pub const ATTEMPT_TIMEOUT_MS: u64 = 3_000;

/// How long a `Slow` answer is held at most when its caller never hangs up (a caller without an attempt timeout).
const HOLD_CAP: Duration = Duration::from_secs(60);

/// Which service's requests get faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    DynamoDb,
    SecretsManager,
}

impl Service {
    fn of(target: &str) -> Option<Self> {
        if target.starts_with("DynamoDB_") {
            Some(Service::DynamoDb)
        } else if target.starts_with("secretsmanager.") {
            Some(Service::SecretsManager)
        } else {
            None
        }
    }
}

/// What to inject.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Share of the chosen services' requests that get a fault (0.0 to 1.0).
    pub share: f64,
    /// The faults drawn from, uniformly; `Unprocessed` applies to batch operations only.
    pub faults: Vec<Fault>,
    pub services: Vec<Service>,
    /// At most this many of a fault, in all (each `Slow` costs its caller an attempt timeout).
    pub limits: BTreeMap<Fault, usize>,
    /// Only these operations (`x-amz-target` suffixes such as `TransactWriteItems`) get faults; empty for all.
    pub operations: Vec<String>,
    pub seed: u64,
}

impl Plan {
    /// `share` of the requests of `services` get any fault, `Unprocessed` included; at most [`SLOW_LIMIT`] `Slow`.
    pub fn every_fault(share: f64, services: &[Service], seed: u64) -> Self {
        let mut faults = Fault::GENERAL.to_vec();
        faults.push(Fault::Unprocessed);
        let limits = BTreeMap::from([(Fault::Slow, SLOW_LIMIT)]);
        Plan { share, faults, services: services.to_vec(), limits, operations: vec![], seed }
    }
}

struct State {
    /// Faults still allowed, when limited.
    remaining: Option<usize>,
    plan: Plan,
    rng: StdRng,
    injected: BTreeMap<Fault, usize>,
    requests: usize,
}

/// A running fault proxy in front of `target`.
pub struct FaultProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    pub async fn start(target: &str, plan: Plan) -> Self {
        let target = target.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fault proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("fault proxy address"));
        let rng = StdRng::seed_from_u64(plan.seed);
        let state = Arc::new(Mutex::new(State { remaining: None, plan, rng, injected: BTreeMap::new(), requests: 0 }));
        let serving = state.clone();
        let target = Arc::new(Target {
            address: target,
            moto: Arc::new(tokio::sync::Mutex::new(())),
            waiting: Arc::new(AtomicBool::new(true)),
        });
        crate::serve_http(
            listener,
            hyper::service::service_fn(move |request| handle(serving.clone(), target.clone(), request)),
        );
        Self { endpoint, state }
    }

    /// Changes the share of faulty requests (0.0 to check the outcome through the proxy without faults).
    pub fn set_share(&self, share: f64) {
        self.state.lock().unwrap().plan.share = share;
    }

    /// Injects at most `count` more faults (then none), for one precise fault at a chosen step.
    pub fn limit(&self, count: usize) {
        self.state.lock().unwrap().remaining = Some(count);
    }

    /// Draws from `faults` from now on.
    pub fn set_faults(&self, faults: &[Fault]) {
        self.state.lock().unwrap().plan.faults = faults.to_vec();
    }

    /// Restricts faults to `operations` (empty: every operation).
    pub fn set_operations(&self, operations: &[&str]) {
        self.state.lock().unwrap().plan.operations = operations.iter().map(|o| o.to_string()).collect();
    }

    /// How many of each fault were injected so far.
    pub fn injected(&self) -> BTreeMap<Fault, usize> {
        self.state.lock().unwrap().injected.clone()
    }

    /// Requests of the chosen services seen so far.
    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    /// The SDK configuration the functions build (`shared::ports::aws::sdk_config`: timeouts, the standard retry mode
    /// with its 3 attempts, HTTP client), aimed at this proxy with the test's credentials ([`crate::aws::moto::caller_key`]:
    /// the role of the function under test). Only the retry backoff is shortened (10 ms initial instead of 1 s) so a test of thousands of
    /// faults runs in seconds.
    pub async fn sdk_config(&self, attempt_ms: u64, operation_ms: u64) -> aws_config::SdkConfig {
        let role = crate::aws::moto::caller_key();
        let vars = shared::env::Vars::from_pairs([
            ("SWITCHYARD_AWS_ATTEMPT_TIMEOUT_MS", attempt_ms.to_string().as_str()),
            ("SWITCHYARD_AWS_OPERATION_TIMEOUT_MS", operation_ms.to_string().as_str()),
        ]);
        let config = shared::ports::aws::sdk_config(&vars).await.expect("sdk config");
        config
            .into_builder()
            .endpoint_url(&self.endpoint)
            .retry_config(aws_config::retry::RetryConfig::standard().with_initial_backoff(Duration::from_millis(10)))
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
                aws_sdk_dynamodb::config::Credentials::new(role, "testing", None, None, "moto"),
            ))
            .build()
    }

    /// Draws the fault for one request of `service` running `operation`, if any.
    fn draw(state: &Mutex<State>, service: Service, operation: &str) -> Option<Fault> {
        let mut state = state.lock().unwrap();
        let operations = &state.plan.operations;
        if !state.plan.services.contains(&service)
            || !(operations.is_empty() || operations.iter().any(|o| o == operation))
        {
            return None;
        }
        state.requests += 1;
        let share = state.plan.share;
        if state.remaining == Some(0) || !state.rng.random_bool(share.clamp(0.0, 1.0)) {
            return None;
        }
        let batch = matches!(operation, "BatchWriteItem" | "BatchGetItem");
        let injected = &state.injected;
        let within_limit =
            |f: &Fault| state.plan.limits.get(f).is_none_or(|limit| injected.get(f).copied().unwrap_or(0) < *limit);
        let faults: Vec<Fault> = state
            .plan
            .faults
            .iter()
            .copied()
            .filter(|f| (batch || *f != Fault::Unprocessed) && within_limit(f))
            .collect();
        if faults.is_empty() {
            return None;
        }
        let fault = faults[state.rng.random_range(0..faults.len())];
        *state.injected.entry(fault).or_default() += 1;
        if let Some(remaining) = state.remaining.as_mut() {
            *remaining -= 1;
        }
        Some(fault)
    }
}

use crate::forward::{Answer, send_to};

async fn handle(state: Arc<Mutex<State>>, target: Arc<Target>, request: hyper::Request<Incoming>) -> Answer {
    // Dropped with this future when the caller hangs up: a forward still waiting for its turn is then not sent.
    let caller = CallerPresent::default();
    let target = &Target { waiting: caller.flag(), ..(*target).clone() };
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(std::io::Error::other)?.to_bytes();
    let amz_target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let operation = amz_target.rsplit('.').next().unwrap_or("").to_owned();
    let fault = Service::of(&amz_target)
        .and_then(|service| FaultProxy::draw(&state, service, &operation).map(|f| (service, f)));
    let dropped = || Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "injected: connection dropped"));
    match fault {
        None => forward(target, &parts, body).await,
        Some((service, Fault::ProvisionedThroughputExceeded)) => Ok(match service {
            Service::DynamoDb => error(
                400,
                "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded.",
            ),
            Service::SecretsManager => error(400, "ThrottlingException", "Rate exceeded"),
        }),
        Some((_, Fault::Throttling)) => Ok(error(400, "ThrottlingException", "Rate exceeded")),
        Some((service, Fault::ServerError)) => Ok(match service {
            Service::DynamoDb => error(500, "com.amazonaws.dynamodb.v20120810#InternalServerError", "injected"),
            Service::SecretsManager => error(500, "InternalServiceError", "injected"),
        }),
        Some((_, Fault::DropBefore)) => dropped(),
        Some((_, Fault::DropAfter)) => {
            forward(target, &parts, body).await?;
            dropped()
        }
        Some((_, Fault::Slow)) => {
            let answer = forward(target, &parts, body).await;
            // Held until the caller hangs up: hyper drops this future then. The cap only ends a hold nobody ends.
            tokio::time::sleep(HOLD_CAP).await;
            answer
        }
        Some((_, Fault::Unprocessed)) => partial_batch(target, &parts, &operation, body).await,
    }
}

fn error(status: u16, kind: &str, message: &str) -> hyper::Response<Full<Bytes>> {
    let body = serde_json::json!({"__type": kind, "message": message}).to_string();
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-errortype", kind.rsplit('#').next().unwrap_or(kind))
        .body(Full::new(Bytes::from(body)))
        .expect("error response")
}

/// Forwards the first half of each table's batch and answers the rest as unprocessed, as DynamoDB does under load.
async fn partial_batch(target: &Target, parts: &http::request::Parts, operation: &str, body: Bytes) -> Answer {
    let Ok(mut request) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return forward(target, parts, body).await;
    };
    let mut held = serde_json::Map::new();
    if let Some(tables) = request["RequestItems"].as_object_mut() {
        for (table, batch) in tables.iter_mut() {
            let get = operation == "BatchGetItem";
            let Some(items) = (if get { batch["Keys"].as_array_mut() } else { batch.as_array_mut() }) else { continue };
            if items.len() < 2 {
                continue;
            }
            let rest = serde_json::Value::Array(items.split_off(items.len() / 2));
            let rest = if get {
                let mut keys = batch.clone();
                keys["Keys"] = rest;
                keys
            } else {
                rest
            };
            held.insert(table.clone(), rest);
        }
    }
    let answer = forward(target, parts, Bytes::from(request.to_string())).await?;
    if held.is_empty() || answer.status() != 200 {
        return Ok(answer);
    }
    let (mut answer_parts, answer_body) = answer.into_parts();
    let answer_body = answer_body.collect().await.map_err(std::io::Error::other)?.to_bytes();
    let mut value: serde_json::Value = serde_json::from_slice(&answer_body).map_err(std::io::Error::other)?;
    let field = if operation == "BatchGetItem" { "UnprocessedKeys" } else { "UnprocessedItems" };
    value[field] = serde_json::Value::Object(held);
    let body = Bytes::from(value.to_string());
    answer_parts.headers.remove("content-length");
    answer_parts.headers.remove("x-amz-crc32");
    Ok(hyper::Response::from_parts(answer_parts, Full::new(body)))
}

/// moto's address, the lock that serialises requests to it (see the module comment), and whether the caller of
/// the request being handled is still there.
#[derive(Clone)]
struct Target {
    address: String,
    moto: Arc<tokio::sync::Mutex<()>>,
    waiting: Arc<AtomicBool>,
}

/// Set while the caller of one request is connected; cleared when its handling is dropped (the caller hung up).
#[derive(Default)]
struct CallerPresent(Arc<AtomicBool>);

impl CallerPresent {
    fn flag(&self) -> Arc<AtomicBool> {
        self.0.store(true, Ordering::SeqCst);
        self.0.clone()
    }
}

impl Drop for CallerPresent {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Sends the request to moto on a task of its own, one request at a time, and returns moto's answer; a request
/// whose caller hung up before its turn came is not sent.
async fn forward(target: &Target, parts: &http::request::Parts, body: Bytes) -> Answer {
    let (address, moto, parts, caller) =
        (target.address.clone(), target.moto.clone(), parts.clone(), target.waiting.clone());
    let task = tokio::spawn(async move {
        let _turn = moto.lock().await;
        if !caller.load(Ordering::SeqCst) {
            return Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "the caller hung up; not sent"));
        }
        send_to(&address, &parts, body).await
    });
    task.await.map_err(std::io::Error::other)?
}

/// A function's dependencies with every AWS call going through a fault proxy, and the same table straight on
/// moto for checking what was stored.
pub struct Faulty {
    pub proxy: FaultProxy,
    pub deps: shared::Deps,
    pub direct: std::sync::Arc<dyn shared::ports::store::Store>,
    pub table: String,
    /// The Secrets Manager prefix the secrets live under (`<prefix><name>` on moto).
    pub prefix: String,
    pub binding: crate::aws::template::Binding,
}

impl Faulty {
    /// The variables the default environment's translated template sets for the function under test on this
    /// stack, with `overrides` (what a test tunes: budgets, its fake partners' URLs).
    pub fn vars(&self, overrides: &[(&str, &str)]) -> shared::env::Vars {
        let translated = crate::aws::template::Translated::load("default");
        let resolver = crate::aws::template::Resolver::new(&translated, &self.binding);
        let spec = resolver.function_named(&crate::aws::moto::function_under_test());
        let mut vars = shared::env::Vars::default();
        for (name, value) in
            spec.environment.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain(overrides.iter().copied())
        {
            vars = vars.with(name, value);
        }
        vars
    }

    /// Every item whose partition key starts with `prefix`, straight from moto, as JSON (strings, numbers and
    /// booleans; other attribute types are null): for checks across partitions, which the store port never needs.
    pub async fn scan(&self, prefix: &str) -> Vec<serde_json::Value> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let client = aws_sdk_dynamodb::Client::new(&crate::aws::moto::sdk_config().await);
        let pages = client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(pk, :prefix)")
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("scan moto");
        let value = |v: &AttributeValue| match v {
            AttributeValue::S(s) => serde_json::json!(s),
            AttributeValue::N(n) => serde_json::json!(n.parse::<f64>().ok()),
            AttributeValue::Bool(b) => serde_json::json!(b),
            _ => serde_json::Value::Null,
        };
        pages.iter().map(|item| item.iter().map(|(k, v)| (k.clone(), value(v))).collect()).collect()
    }
}

/// A fresh table and fresh Secrets Manager secrets (`secrets`, under a unique prefix) on moto, reached through a
/// proxy injecting `plan`: SDK attempts time out after [`ATTEMPT_TIMEOUT_MS`], operations after four of them.
pub async fn deps(
    plan: Plan,
    secrets: &[(&str, serde_json::Value)],
    cache: shared::ports::secrets::CachePolicy,
) -> Faulty {
    deps_with_clock(plan, secrets, cache, None).await
}

/// [`deps`] with the secrets cache on `clock`, for tests that move time past the TTL and the stale window.
pub async fn deps_with_clock(
    plan: Plan,
    secrets: &[(&str, serde_json::Value)],
    cache: shared::ports::secrets::CachePolicy,
    clock: Option<shared::ports::secrets::manager::Clock>,
) -> Faulty {
    use shared::ports::store::dynamo::DynamoStore;
    crate::assertions::leaks::capture_tracing();
    let (binding, direct) = crate::aws::harness::create_stack(secrets).await;
    let (table, prefix) = (binding.table.clone(), format!("{}/", binding.stack));
    let proxy = FaultProxy::start(&crate::aws::moto::endpoint(), plan).await;
    let config = proxy.sdk_config(ATTEMPT_TIMEOUT_MS, 4 * ATTEMPT_TIMEOUT_MS).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table.clone());
    let mut secrets = shared::ports::secrets::SecretsManager::new(
        aws_sdk_secretsmanager::Client::new(&config),
        prefix.clone(),
        cache,
    );
    if let Some(clock) = clock {
        secrets = secrets.with_clock(clock);
    }
    let deps = shared::Deps::new(std::sync::Arc::new(store), std::sync::Arc::new(secrets));
    Faulty { proxy, deps, direct: std::sync::Arc::new(direct), table, prefix, binding }
}
