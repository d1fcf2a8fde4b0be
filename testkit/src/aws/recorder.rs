//! The recording proxy (`aws-recorder`) between the SDKs and moto_server: each AWS call appended to the calls
//! file as [`crate::aws::calls`] reads it, and, with the template's roles, a call a role denies answered as AWS
//! answers it.

use crate::aws::calls::{ACCOUNT, RecordedCall, accesses, credential, function_of, operation};
use crate::forward::send_to;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Serves a recording proxy on `listener` in front of `upstream` (`http://host:port`), appending each AWS call
/// to `out`. With `roles`, a function's call that its role denies in any environment is answered as AWS answers
/// it (`AccessDeniedException`, HTTP 400) and never reaches moto: the suite runs under the template's IAM.
/// Other requests (moto's own API) pass through unrecorded.
pub async fn serve_recorder(
    listener: tokio::net::TcpListener,
    upstream: String,
    out: std::fs::File,
    roles: Option<Arc<crate::aws::roles::Roles>>,
) {
    let upstream = Arc::new(upstream.trim_start_matches("http://").trim_end_matches('/').to_owned());
    let out = Arc::new(Mutex::new(out));
    let items = Arc::new(tokio::sync::RwLock::new(()));
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let (upstream, out, roles, items) = (upstream.clone(), out.clone(), roles.clone(), items.clone());
        async move { record_one(&upstream, &out, roles.as_deref(), &items, request).await }
    });
    crate::serve_http(listener, service);
    std::future::pending::<()>().await;
}

async fn record_one(
    upstream: &str,
    out: &Mutex<std::fs::File>,
    roles: Option<&crate::aws::roles::Roles>,
    items: &tokio::sync::RwLock<()>,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, std::io::Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(std::io::Error::other)?.to_bytes();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (Some((service, operation)), Some((caller, region))) =
        (operation(header("x-amz-target")), credential(header("authorization")))
    else {
        return send_to(upstream, &parts, body).await;
    };
    let request_json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut call = RecordedCall {
        caller,
        service: service.to_owned(),
        operation: operation.to_owned(),
        status: 0,
        error: None,
        denied: false,
        upstream_error: None,
        accesses: Vec::new(),
    };
    let denial = match (roles, function_of(&call.caller)) {
        // Secrets are judged by the ARN moto answers; ask moto first only for reads that change nothing. Tables
        // and buses are named in the request.
        (Some(roles), Some(function)) if service == "dynamodb" || service == "events" => {
            call.accesses = accesses(service, operation, &region, &request_json, &Value::Null);
            roles.denial(function, &call)
        }
        _ => None,
    };
    let answer = match denial {
        Some(denial) => access_denied(&call.caller, &denial)?,
        None if service == "dynamodb" && WRITES.contains(&operation) => {
            let _alone = items.write().await;
            send_to(upstream, &parts, body.clone()).await?
        }
        None if service == "dynamodb" => {
            let _beside_other_reads = items.read().await;
            send_to(upstream, &parts, body.clone()).await?
        }
        None => send_to(upstream, &parts, body.clone()).await?,
    };
    let (answer_parts, answer_body) = answer.into_parts();
    let answer_body = answer_body.collect().await.map_err(std::io::Error::other)?.to_bytes();
    let answer_json: Value = serde_json::from_slice(&answer_body).unwrap_or(Value::Null);
    call.accesses = accesses(service, operation, &region, &request_json, &answer_json);
    call.status = answer_parts.status.as_u16();
    call.error = answer_json["__type"].as_str().map(|t| t.rsplit('#').next().unwrap_or(t).to_owned());
    // A secret read is judged once moto named the secret's ARN (with its suffix), as IAM judges it.
    let secret_denial = match (roles, function_of(&call.caller)) {
        (Some(roles), Some(function)) if service == "secretsmanager" => roles.denial(function, &call),
        _ => None,
    };
    if secret_denial.is_some() {
        call.upstream_error = call.error.take();
        (call.status, call.error) = (400, Some("AccessDeniedException".to_owned()));
    }
    call.denied = call.error.as_deref() == Some("AccessDeniedException");
    let mut line = serde_json::to_string(&call).map_err(std::io::Error::other)?;
    line.push('\n');
    out.lock().unwrap_or_else(|e| e.into_inner()).write_all(line.as_bytes())?;
    match secret_denial {
        Some(denial) => access_denied(&call.caller, &denial),
        None => Ok(hyper::Response::from_parts(answer_parts, Full::new(answer_body))),
    }
}

/// DynamoDB's operations that change items. DynamoDB applies each write to an item atomically (an `ADD` answers
/// every concurrent caller a distinct count); moto_server serves requests on threads and its update reads, computes
/// and stores an item without a lock, so two concurrent `ADD`s can both answer the same count. Seen on a one-core
/// share, where the interpreter switches threads mid-update: the sign-in throttle let ten of forty concurrent
/// attempts through. The recorder runs each write alone (reads beside one another), which is what DynamoDB promises.
const WRITES: &[&str] = &["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"];

/// AWS's answer to a call IAM denies, in the JSON protocols of DynamoDB and Secrets Manager.
fn access_denied(
    caller: &str,
    denial: &crate::aws::roles::Denial,
) -> Result<hyper::Response<Full<Bytes>>, std::io::Error> {
    let message = format!(
        "User: arn:aws:sts::{ACCOUNT}:assumed-role/{caller}/test is not authorized to perform: {} on resource: {} \
         because no identity-based policy allows the {} action ([{}] {})",
        denial.action, denial.resource, denial.action, denial.environment, denial.decision
    );
    let body = serde_json::json!({"__type": "com.amazon.coral.service#AccessDeniedException", "Message": message});
    hyper::Response::builder()
        .status(400)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-errortype", "AccessDeniedException")
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(std::io::Error::other)
}
