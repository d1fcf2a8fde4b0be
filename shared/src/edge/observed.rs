//! The wrapper that observes every request of a function: one log line and its metrics.

use crate::edge::handler::{Body, Handler, Request, Response};
use crate::env::Vars;
use crate::telemetry::sink::RequestMetricsOut;
use crate::telemetry::{Counter, MetricSink, Outcome, Reason, RequestRecord};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The tracing target of the request log line, kept at every log level.
pub const REQUEST_TARGET: &str = "switchyard::request";

/// A function's handler with its requests logged and measured.
pub struct Observed<H> {
    function: &'static str,
    handler: H,
    metrics: RequestMetricsOut,
    /// No request was handled yet: the next is the sandbox's cold start.
    cold: AtomicBool,
}

impl<H: Handler> Observed<H> {
    /// Observes `handler` as `function`, publishing metrics to standard output under `METRICS_NAMESPACE`
    /// (`Switchyard` when unset; set and empty, as the template's `CustomMetrics=off` sets it, no metrics at all).
    pub fn new(function: &'static str, handler: H, vars: &Vars) -> Self {
        Self { function, handler, metrics: RequestMetricsOut::from_vars(vars), cold: AtomicBool::new(true) }
    }

    pub fn with_sink(mut self, sink: Arc<dyn MetricSink>) -> Self {
        self.metrics = self.metrics.with_sink(sink);
        self
    }

    pub fn handler(&self) -> &H {
        &self.handler
    }
}

#[async_trait::async_trait]
impl<H: Handler> Handler for Observed<H> {
    async fn handle(&self, request: Request) -> Response<Body> {
        let started = Instant::now();
        let ids = RequestIds::of(&request);
        let method = crate::telemetry::excerpt::excerpt(request.method().as_str().as_bytes());
        let path = request.uri().path().to_owned();
        // Logged bounded: a caller chooses the path.
        let logged_path = crate::telemetry::excerpt::excerpt(path.as_bytes());
        let cold_start = self.cold.swap(false, Ordering::Relaxed);
        let (response, mut record) = RequestRecord::collect(self.handler.handle(request)).await;
        record.add(Counter::ColdStarts, u64::from(cold_start));
        let latency = started.elapsed();
        let outcome = Outcome::of(response.status(), response.extensions().get::<Reason>().copied());
        let latency_ms = latency.as_secs_f64() * 1e3;
        let status = response.status().as_u16();
        let partner = partner_of(&path);
        // Lambda's invocation id where there is one (the runner has none: API Gateway's id stands in).
        let request_id = ids.lambda.as_deref().or(ids.api.as_deref()).unwrap_or("");
        // Only the path: query strings can carry bearer tokens (Sber's token parameter).
        macro_rules! log {
            ($level:ident, $message:literal) => {
                tracing::$level!(
                    target: REQUEST_TARGET,
                    request_id,
                    api_request_id = ids.api.as_deref().unwrap_or(""),
                    partner_request_id = ids.partner.as_deref().unwrap_or(""),
                    trace_id = ids.trace.as_deref().unwrap_or(""),
                    cold_start,
                    function = self.function,
                    partner,
                    method = %method,
                    path = %logged_path,
                    status,
                    outcome = outcome.name(),
                    reason = outcome.reason().unwrap_or(""),
                    latency_ms,
                    partner_calls = record.partner_calls.len(),
                    $message
                )
            };
        }
        match outcome {
            Outcome::Accepted => log!(info, "request"),
            Outcome::Rejected(_) => log!(warn, "request rejected"),
            Outcome::Failed(_) => log!(error, "request failed"),
        }
        let now_ms = crate::ports::clock::now_epoch_ms();
        self.metrics.publish(self.function, request_id, outcome, latency, &record, now_ms);
        response
    }
}

/// The Lambda invocation id, the API Gateway request id (what a partner sees as `apigw-requestid`), the
/// partner's own id of the call when it sends one (Sber's `x-request-id`), to find a call a partner asks about,
/// and the X-Ray trace id (with the template's `Tracing=Active`), to find its trace.
struct RequestIds {
    lambda: Option<String>,
    api: Option<String>,
    partner: Option<String>,
    trace: Option<String>,
}

impl RequestIds {
    fn of(request: &Request) -> Self {
        use lambda_http::RequestExt;
        use lambda_http::request::RequestContext;
        let context = request.lambda_context_ref();
        let lambda = context.map(|c| c.request_id.clone()).filter(|id| !id.is_empty());
        let trace = context.and_then(|c| c.xray_trace_id.clone()).filter(|id| !id.is_empty());
        let api = match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
            _ => None,
        };
        let partner = crate::edge::handler::header_str(request, "x-request-id")
            .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_owned);
        Self { lambda, api, partner, trace }
    }
}

/// The partner a path belongs to, from a fixed set (the path's first segment names it).
pub fn partner_of(path: &str) -> &'static str {
    match path.trim_start_matches('/').split('/').next().unwrap_or("") {
        "retailcrm" => "retailcrm",
        "sber" => "sber",
        "smartme" => "smartme",
        "webhooks" => "webhook",
        "oauth" => "oauth",
        "smallcase" => "smallcase",
        _ => "unknown",
    }
}
