//! What a function tells its operator: one structured log line and one set of CloudWatch embedded-metric-format
//! (EMF) metrics per request, written by [`Observed`] around each function's handler.
//!
//! Handlers and domain code add to the current request's record through [`count`] and [`partner_call`] (no-ops
//! outside an observed request, so domain code stays usable from the CLI and tests); the reason of a rejection
//! travels on the response as a [`Reason`] extension set by [`crate::http::error`].

pub mod emf;
mod observed;
mod record;

pub use observed::{MetricSink, NoMetrics, Observed, StdoutMetrics, partner_of};
pub use record::{Counter, Outcome, PartnerCall, Reason, RequestRecord, count, partner_call};

/// Installs the tracing subscriber the Lambda runtime recommends (`AWS_LAMBDA_LOG_FORMAT=JSON` gives JSON lines).
pub fn init_lambda() {
    lambda_http::tracing::init_default_subscriber();
}

/// Serves `handler` as the Lambda function `function` until the sandbox ends, every request observed.
pub async fn run_lambda<H: crate::http::Handler>(
    function: &'static str,
    handler: H,
    vars: &crate::env::Vars,
) -> Result<(), lambda_http::Error> {
    use crate::http::Handler as _;
    let observed = Observed::new(function, handler, vars);
    lambda_http::run(lambda_http::service_fn(|request| async {
        Ok::<_, lambda_http::Error>(observed.handle(request).await)
    }))
    .await
}
