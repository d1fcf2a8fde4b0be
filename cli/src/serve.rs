//! `switchyard serve`: one HTTP server on loopback in front of all six functions' handlers.

use crate::local_stream::LocalStream;
use crate::{apigw, local_functions};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use shared::Deps;
use shared::edge::error::{ApiError, ErrorEnvelope};
use shared::edge::handler::Handler;
use shared::edge::routes::{self, ROUTES};
use shared::env::{self, Vars};
use shared::ports::store::embedded::EmbeddedStore;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;

/// API Gateway's request payload limit: the runner refuses what the deployed API would refuse.
const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// How long a client may take to send its request headers, and then its body (API Gateway's own integration
/// timeout is 30 s); `SWITCHYARD_RUNNER_READ_TIMEOUT_MS` changes both. A slow or stalled client cannot hold a
/// connection (and its file descriptor) for ever.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

type Handlers = Arc<HashMap<&'static str, Arc<dyn Handler>>>;

/// Serves until interrupted.
pub async fn run(listen: SocketAddr, data: &Path, secrets_path: &Path, table: Option<&str>) -> Result<(), String> {
    let listener = TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let mut vars = Vars::from_process();
    if vars.get(env::PUBLIC_URL).is_none() {
        vars = vars.with(env::PUBLIC_URL, &format!("http://{bound}"));
    }
    init_logging();
    let store: Arc<dyn shared::ports::store::Store> = match table {
        // DynamoDB's wire protocol (moto, DynamoDB Local, a real table) with the usual AWS environment: every path
        // writes the keys a deployed stack writes.
        Some(table) => {
            std::fs::create_dir_all(data).map_err(|e| format!("cannot create {}: {e}", data.display()))?;
            let config = shared::ports::aws::sdk_config(&vars).await.map_err(|e| e.to_string())?;
            let client = aws_sdk_dynamodb::Client::new(&config);
            Arc::new(shared::ports::store::dynamo::DynamoStore::new(client, table))
        }
        None => Arc::new(EmbeddedStore::open(&data.join("store.redb")).map_err(|e| e.to_string())?),
    };
    let secrets_file = Arc::new(crate::secrets_reload::ReloadingSecrets::load(secrets_path.to_owned())?);
    let secrets: Arc<dyn shared::ports::secrets::Secrets> = secrets_file.clone();
    let base = vars.get_or(env::PUBLIC_URL, "").to_owned();
    let (mut vars, sandbox) = crate::sandbox::start(vars, secrets.as_ref(), &base).await?;
    // Changes go to `notify` as the table's stream would take them (Sber pushes, off the request path).
    // And to the local event bus, as a stack with an EventBusName publishes them (`switchyard events tail`).
    if vars.get("SMARTME_BATCH_EVENTS").is_none() {
        vars = vars.with("SMARTME_BATCH_EVENTS", "on");
    }
    let bus = crate::events_tail::local_bus(data);
    let (store, stream) = LocalStream::over(&vars, store, secrets.clone(), Some(bus))?;
    let demo_user = match sandbox.tour.played("smartme") {
        Ok(_) => crate::sandbox::seed_demo_user(store.as_ref()).await?,
        Err(_) => false,
    };
    // The operator CLI reaches this store through the runner while it runs (its file is the runner's).
    crate::store_socket::lend(data, store.clone())?;
    let deps = Deps::new(store, secrets);
    let handlers: Handlers = Arc::new(local_functions::handlers(&vars, &deps)?);
    sandbox.tour.write(data)?;
    // The first line is machine-readable: tests (and scripts) read the bound address from it.
    println!("listening on http://{bound}");
    println!("partners (played here unless their URL is set):");
    for line in &sandbox.banner {
        println!("{line}");
    }
    println!("secrets: {} ({}), read again when it changes", secrets_path.display(), secrets_file.names().join(", "));
    let sign_in = &sandbox.tour.sign_in;
    match demo_user {
        true => println!("sign-in: {sign_in} (this fresh store's user: demo / demo-password)"),
        false => println!("sign-in: {sign_in}"),
    }
    match table {
        Some(table) => println!("store: DynamoDB table {table} (the CLI takes --table {table})"),
        None => println!("store: {} (the CLI uses it through the runner while it runs)", data.display()),
    }
    print_routes();
    println!("try a partner's side: switchyard try retailcrm | sber | smartme | smallcase");
    // The stream starts once the banner is out: its logs (the demo user's seeding among them) come after it.
    tokio::spawn(stream.run());
    let read_timeout = vars
        .parse_or("SWITCHYARD_RUNNER_READ_TIMEOUT_MS", READ_TIMEOUT.as_millis() as u64)
        .map(std::time::Duration::from_millis)
        .map_err(|e| e.to_string())?;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = tokio::signal::ctrl_c() => {
                crate::store_socket::withdraw(data);
                crate::sandbox::Tour::remove(data);
                return Ok(());
            }
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors (EMFILE) or a connection reset before it was taken: the runner keeps
                // serving the connections it has, and takes new ones once some have closed.
                tracing::warn!(%error, "a connection could not be accepted; accepting again shortly");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let handlers = handlers.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| serve_one(handlers.clone(), request, read_timeout));
            // A client hanging up mid-request, or too slow, is its own business: nothing to report.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(read_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Text logs on the terminal, every field bounded and escaped (a caller's bytes cannot forge a line or drive the
/// terminal, so no colours either); `SWITCHYARD_LOG_FORMAT=json` gives the JSON lines a deployed function writes.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(false);
    if std::env::var("SWITCHYARD_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        let _ = builder.json().try_init();
    } else {
        let _ = builder.fmt_fields(shared::telemetry::text_fields::BoundedFields).try_init();
    }
}

fn print_routes() {
    println!("routes:");
    for route in ROUTES {
        println!("  {:<9} {:<5} {}", route.function, route.method, route.path);
    }
}

async fn serve_one(
    handlers: Handlers,
    request: hyper::Request<Incoming>,
    read_timeout: std::time::Duration,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = request.into_parts();
    let Some((route, params)) = routes::find(parts.method.as_str(), parts.uri.path()) else {
        let methods = routes::methods_for(parts.uri.path());
        if methods.is_empty() {
            return Ok(plain_error(&ApiError::not_found(format!(
                "no route for {} {}",
                parts.method,
                parts.uri.path()
            ))));
        }
        let mut response = plain_error(&ApiError::method_not_allowed(&parts.method));
        if let Ok(allow) = http::HeaderValue::from_str(&methods.join(", ")) {
            response.headers_mut().insert(http::header::ALLOW, allow);
        }
        return Ok(response);
    };
    let body = match tokio::time::timeout(read_timeout, Limited::new(body, MAX_REQUEST_BYTES).collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(_)) => return Ok(plain_error(&ApiError::payload_too_large(MAX_REQUEST_BYTES))),
        Err(_) => {
            let slow = ApiError::new(http::StatusCode::REQUEST_TIMEOUT, "request_timeout", "the body came too slowly");
            return Ok(plain_error(&slow));
        }
    };
    let request_id = shared::crypto::random_token(12);
    let event = apigw::event(&parts, &body, &route, &params, &request_id);
    let request = match apigw::request(&event) {
        Ok(request) => request,
        Err(message) => return Ok(plain_error(&ApiError::bad_request(message))),
    };
    let response = handlers[route.function].handle(request).await;
    let (head, bytes) = apigw::into_parts(response);
    let mut out = hyper::Response::new(Full::new(Bytes::from(bytes)));
    *out.status_mut() = head.status;
    *out.headers_mut() = head.headers;
    Ok(out)
}

fn plain_error(error: &ApiError) -> hyper::Response<Full<Bytes>> {
    let body = ErrorEnvelope::Plain.body(error).to_string();
    let mut out = hyper::Response::new(Full::new(Bytes::from(body)));
    *out.status_mut() = error.status;
    out.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    out
}
