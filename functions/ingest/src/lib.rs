//! `ingest`: receives smart-me Realtime API posts (protobuf `DeviceDataArray`) and stores the meter readings.

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use serde_json::json;
use shared::Deps;
use shared::codec::{ApiError, BasicCredentials, ErrorEnvelope};
use shared::edge::http::{self, Body, Handler, Request, Response};
use shared::env::{ConfigError, Vars};
use shared::partners::smartme::storage::{StorageSettings, store_readings};
use shared::ports::secrets::SecretError;
use shared::telemetry::{self, Counter};
use std::time::Duration;

/// The function's state, built once per sandbox.
pub struct IngestFunction {
    deps: Deps,
    max_body: usize,
    storage: StorageSettings,
}

#[derive(serde::Deserialize)]
struct SmartMeSecret {
    username: String,
    password: String,
}

impl IngestFunction {
    pub fn new(deps: Deps, vars: &Vars) -> Result<Self, ConfigError> {
        let retention_days: u64 = vars.parse_or("SMARTME_RETENTION_DAYS", 400)?;
        Ok(Self {
            deps,
            max_body: vars.parse_or("SMARTME_MAX_BODY_BYTES", 1024 * 1024)?,
            storage: StorageSettings {
                retention: Duration::from_secs(retention_days * 86_400),
                write_budget: Duration::from_millis(vars.parse_or("SMARTME_WRITE_BUDGET_MS", 3_000)?),
            },
        })
    }

    /// Checks smart-me's Basic credentials against the `smartme` secret.
    async fn authenticate(&self, request: &Request) -> Result<(), Response<Body>> {
        let secret = match self.deps.secrets.get("smartme").await {
            Ok(secret) => secret,
            Err(error) => {
                tracing::error!(%error, "smartme secret unavailable");
                let message = match error {
                    SecretError::Unavailable { .. } => "credentials are temporarily unavailable",
                    _ => "the receiver is not configured",
                };
                return Err(http::error(ErrorEnvelope::Plain, &ApiError::unavailable(message)));
            }
        };
        let expected: SmartMeSecret = secret.json("smartme").map_err(|error| {
            tracing::error!(%error, "smartme secret malformed");
            http::error(ErrorEnvelope::Plain, &ApiError::unavailable("the receiver is not configured"))
        })?;
        let presented = http::header_str(request, "authorization").and_then(BasicCredentials::parse);
        match presented {
            Some(credentials) if credentials.matches(&expected.username, &expected.password) => Ok(()),
            _ => {
                let error =
                    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "valid Basic credentials are required");
                let mut response = http::error(ErrorEnvelope::Plain, &error);
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"smart-me\", charset=\"UTF-8\""),
                );
                Err(response)
            }
        }
    }
}

#[async_trait::async_trait]
impl Handler for IngestFunction {
    async fn handle(&self, request: Request) -> Response<Body> {
        if request.uri().path() != "/smartme/realtime" {
            return http::error(ErrorEnvelope::Plain, &ApiError::not_found("no such path"));
        }
        if request.method() != Method::POST {
            return http::error(ErrorEnvelope::Plain, &ApiError::method_not_allowed(request.method()));
        }
        if let Err(response) = self.authenticate(&request).await {
            return response;
        }
        let body = match http::body_within(&request, self.max_body) {
            Ok(body) => body,
            Err(error) => return http::error(ErrorEnvelope::Plain, &error),
        };
        // The whole post is validated before anything is written: one bad item rejects it all.
        let readings = match shared::partners::smartme::decode(body) {
            Ok(readings) => readings,
            Err(error) => {
                tracing::warn!(%error, bytes = body.len(), "invalid realtime post");
                let error = ApiError::new(StatusCode::BAD_REQUEST, "invalid_payload", error.to_string());
                return http::error(ErrorEnvelope::Plain, &error);
            }
        };
        match store_readings(self.deps.store.as_ref(), &readings, self.storage).await {
            Ok(stored) => {
                tracing::info!(accepted = stored.accepted, stored = stored.stored, "realtime post stored");
                telemetry::count(Counter::ReadingsStored, stored.stored as u64);
                telemetry::count(Counter::Duplicates, stored.already_stored as u64);
                http::json(StatusCode::OK, &json!({"accepted": stored.accepted, "stored": stored.stored}))
            }
            Err(error) => {
                // smart-me delivers again after a non-2xx answer; what was written is idempotent.
                tracing::error!(%error, "realtime post not fully stored");
                http::error(ErrorEnvelope::Plain, &ApiError::unavailable("readings could not be stored; deliver again"))
            }
        }
    }
}
