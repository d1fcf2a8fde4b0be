//! Sber's partner API, the vendor-to-Sber direction (`{SBER_API_URL}/v1/...`, authorized with the project's
//! SmartMarket Studio API key): state pushes and device notifications, each retried with backoff inside a time
//! budget, honouring Sber's 429 `Retry-After`. Every call carries an `X-Request-Id` of its own (the same on its
//! retries), which Sber's support asks for when a call is looked into.
//!
//! | call | body |
//! |---|---|
//! | `POST /v1/state` | `{"devices": {"<id>": {"states": [...]}}}` |
//! | `POST /v1/devices` | `{"user_id", "devices": [<device>...]}` (added) |
//! | `PUT /v1/devices` | `{"devices": [<device>...]}` (changed: name, model; no `user_id`, as Sber's page shows it) |
//! | `DELETE /v1/devices` | `{"device_ids": [...]}` (removed) |
//! | `POST /v1/unlink` | `{"user_id"}` (the vendor unlinked the user) |

use crate::ports::partner_http::{CallFailure, PartnerClient};
use crate::ports::secrets::{SecretError, Secrets};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Sber's partner API in production.
pub const DEFAULT_API_URL: &str = "https://partners.iot.sberdevices.ru";

/// Why a call did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// Sber may take it later (5xx, 429, unreachable, timeout): the change is retried.
    #[error("Sber did not take the call: {0}")]
    Retryable(String),
    /// Sber refused it (4xx): sending it again cannot help. `answer` is Sber's body as a log field (bounded,
    /// escaped).
    #[error("Sber refused the call: HTTP {status}")]
    Refused { status: u16, answer: String },
}

/// How a call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    /// The most one call may take, waits included.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { attempts: 4, first_backoff: Duration::from_millis(200), budget: Duration::from_secs(10) }
    }
}

/// The partner API client.
pub struct SberClient {
    http: PartnerClient,
    base: String,
    /// The `Authorization` scheme before the key (`Bearer` by default; empty sends the bare key).
    scheme: String,
    pub retry: RetryPolicy,
}

#[derive(serde::Deserialize)]
struct ApiKey {
    api_key: String,
}

impl SberClient {
    pub fn new(base: &str, scheme: &str, timeout: Duration) -> Self {
        Self {
            http: PartnerClient::new("sber", timeout),
            base: base.trim_end_matches('/').to_owned(),
            scheme: scheme.to_owned(),
            retry: RetryPolicy::default(),
        }
    }

    /// The API at `SBER_API_URL` with `SBER_API_KEY_SCHEME` and `SBER_TIMEOUT_MS`.
    pub fn from_vars(vars: &crate::env::Vars) -> Result<Self, crate::env::ConfigError> {
        let url = vars.get_or("SBER_API_URL", DEFAULT_API_URL);
        if url::Url::parse(url).is_err() {
            return Err(crate::env::ConfigError::new("SBER_API_URL", "must be an absolute URL"));
        }
        let scheme = vars.get_raw("SBER_API_KEY_SCHEME").unwrap_or("Bearer");
        let mut api = Self::new(url, scheme.trim(), Duration::from_millis(vars.parse_or("SBER_TIMEOUT_MS", 5_000)?));
        // Sber's partner API presents certificates of the Russian Trusted Root CA, which Lambda's trust store
        // lacks: the operator supplies that root here.
        if let Some(pem) = vars.get_raw("SBER_CA_PEM").map(str::trim).filter(|pem| !pem.is_empty()) {
            let trusting = api.http.clone().trusting(pem);
            api.http = trusting.map_err(|e| crate::env::ConfigError::new("SBER_CA_PEM", &e))?;
        }
        Ok(api)
    }

    /// The `Authorization` value for the project's key in the `sber` secret.
    pub async fn authorization(&self, secrets: &dyn Secrets) -> Result<String, SecretError> {
        let key: ApiKey = secrets.get("sber").await?.json("sber")?;
        if key.api_key.is_empty() {
            return Err(SecretError::Malformed { name: "sber".into(), reason: "api_key is empty".into() });
        }
        Ok(if self.scheme.is_empty() { key.api_key } else { format!("{} {}", self.scheme, key.api_key) })
    }

    /// Sends `body` with `method` to `path`, retrying what Sber may take later.
    pub async fn send(&self, authorization: &str, method: &str, path: &str, body: &Value) -> Result<(), PushError> {
        let started = Instant::now();
        let url = format!("{}{path}", self.base);
        let method: reqwest::Method =
            method.parse().map_err(|_| PushError::Refused { status: 0, answer: String::new() })?;
        let text = body.to_string();
        let request_id = uuid::Builder::from_random_bytes(rand::random()).into_uuid().to_string();
        let mut last = String::new();
        for attempt in 0..self.retry.attempts {
            let request = |client: &reqwest::Client| {
                client
                    .request(method.clone(), &url)
                    .header("authorization", authorization)
                    .header("content-type", "application/json")
                    .header("x-request-id", &request_id)
                    .body(text.clone())
            };
            let wait = match self.http.exchange_with_headers(request).await {
                Ok((status, _, answer)) if (200..300).contains(&status) => {
                    report_partial_failures(path, &answer);
                    return Ok(());
                }
                Ok((429, retry_after, _)) => {
                    last = "HTTP 429".into();
                    retry_after.unwrap_or_else(|| self.backoff(attempt))
                }
                Ok((status, _, _)) if status >= 500 => {
                    last = format!("HTTP {status}");
                    self.backoff(attempt)
                }
                Ok((status, _, answer)) => {
                    return Err(PushError::Refused { status, answer: crate::telemetry::excerpt::excerpt(&answer) });
                }
                Err(failure) => {
                    last = match failure {
                        CallFailure::Timeout(ms) => format!("no answer within {ms} ms"),
                        CallFailure::Unreachable => "unreachable".into(),
                        CallFailure::BodyLost { status } => format!("HTTP {status}, body lost"),
                    };
                    self.backoff(attempt)
                }
            };
            if attempt + 1 == self.retry.attempts || started.elapsed() + wait > self.retry.budget {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        Err(PushError::Retryable(last))
    }

    /// Exponential backoff with full jitter: a random wait up to `first_backoff * 2^attempt`.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.retry.first_backoff.saturating_mul(1 << attempt.min(10));
        ceiling.mul_f64(rand::random::<f64>())
    }
}

/// Sber answers partial failures with 200 and `{"errors": [...]}`: logged, not retried (the same devices would
/// fail again).
fn report_partial_failures(path: &str, answer: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(answer) else { return };
    if let Some(errors) = value.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty()) {
        tracing::warn!(path, errors = errors.len(), first = %errors[0], "Sber refused some devices");
    }
}
