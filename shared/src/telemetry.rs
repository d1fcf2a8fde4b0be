//! Logging set-up for deployed functions: Lambda's advanced logging controls decide level and JSON format.

/// Installs the tracing subscriber the Lambda runtime recommends (`AWS_LAMBDA_LOG_FORMAT=JSON` gives JSON lines).
pub fn init_lambda() {
    lambda_http::tracing::init_default_subscriber();
}
