//! `ingest`: smart-me's Realtime API posts (`POST /smartme/realtime`, protobuf `DeviceDataArray`) handed to
//! `shared::partners::smartme::realtime`, which authenticates, validates and stores the meter readings.

use lambda_http::http::{HeaderValue, StatusCode, header};
use serde_json::json;
use shared::Deps;
use shared::edge::error::{ApiError, ErrorEnvelope};
use shared::edge::handler::{self, Body, Handler, Request, Response};
use shared::edge::routes;
use shared::env::{ConfigError, Vars};
use shared::partners::smartme::realtime::{Realtime, RealtimeError};
use shared::telemetry::{self, Counter};

/// The function's state, built once per sandbox.
pub struct IngestFunction {
    realtime: Realtime,
    max_body: usize,
}

impl IngestFunction {
    pub fn new(deps: Deps, vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            realtime: Realtime::from_vars(deps, vars)?,
            max_body: vars.parse_or("SMARTME_MAX_BODY_BYTES", 1024 * 1024)?,
        })
    }
}

/// A post not stored, as smart-me is answered (our plain format; 401 asks for Basic credentials).
fn refusal(error: &RealtimeError) -> Response<Body> {
    let mut response = handler::error(ErrorEnvelope::Plain, &ApiError::from(error));
    if matches!(error, RealtimeError::Unauthorized) {
        let challenge = HeaderValue::from_static("Basic realm=\"smart-me\", charset=\"UTF-8\"");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

#[async_trait::async_trait]
impl Handler for IngestFunction {
    async fn handle(&self, request: Request) -> Response<Body> {
        if let Err(refused) = routes::admit("ingest", &request) {
            return *refused;
        }
        let body = match handler::body_within(&request, self.max_body) {
            Ok(body) => body,
            Err(error) => return handler::error(ErrorEnvelope::Plain, &error),
        };
        match self.realtime.receive(handler::header_str(&request, "authorization"), body).await {
            Ok(stored) => {
                tracing::info!(accepted = stored.accepted, stored = stored.stored, "realtime post stored");
                telemetry::count(Counter::ReadingsStored, stored.stored as u64);
                telemetry::count(Counter::Duplicates, stored.already_stored as u64);
                telemetry::count(Counter::LatestStatesDeferred, stored.latest_deferred as u64);
                telemetry::count(Counter::ReadingsSkipped, stored.skipped as u64);
                let mut answer = json!({"accepted": stored.accepted, "stored": stored.stored});
                if stored.latest_deferred > 0 {
                    answer["latestDeferred"] = json!(stored.latest_deferred);
                }
                // Answered 200 all the same: delivering the post again cannot make a skipped item valid.
                if stored.skipped > 0 {
                    answer["skipped"] = json!(stored.skipped);
                }
                handler::json(StatusCode::OK, &answer)
            }
            Err(error) => refusal(&error),
        }
    }
}
