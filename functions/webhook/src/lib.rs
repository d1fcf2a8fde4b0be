//! `webhook`: receives signed webhooks at `POST /webhooks/{source}` for Schurter and the other common schemes (and
//! answers Slack's URL check), and smallcase Gateway postbacks (re-reading the transaction each names from the
//! Gateway).

use lambda_http::RequestExt;
use lambda_http::http::StatusCode;
use serde_json::json;
use shared::Deps;
use shared::edge::error::{ApiError, ErrorEnvelope};
use shared::edge::handler::{self, Body, Handler, Request, Response};
use shared::edge::routes;
use shared::env::{ConfigError, Vars};
use shared::partners::smallcase::client::SmallcaseClient;
use shared::partners::smallcase::postback::PostbackRules;
use shared::partners::webhooks::Scheme;
use shared::partners::webhooks::receiver::{DeliveryRules, Received, Rulebook, receive};
use shared::partners::webhooks::slack::SlackRules;

/// The function's state, built once per sandbox.
pub struct WebhookFunction {
    deps: Deps,
    max_body: usize,
    postbacks: PostbackRules,
}

impl WebhookFunction {
    pub fn new(deps: Deps, vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            deps,
            max_body: vars.parse_or("WEBHOOK_MAX_BODY_BYTES", 256 * 1024)?,
            postbacks: PostbackRules { gateway: SmallcaseClient::from_vars(vars)? },
        })
    }
}

impl Rulebook for WebhookFunction {
    fn rules(&self, scheme: Scheme) -> Option<&dyn DeliveryRules> {
        match scheme {
            Scheme::Smallcase => Some(&self.postbacks),
            Scheme::Slack => Some(&SlackRules),
            // Their deliveries are stored as verified; nothing of theirs is answered or re-read.
            Scheme::Schurter | Scheme::StandardWebhooks | Scheme::Stripe | Scheme::Github => None,
        }
    }
}

#[async_trait::async_trait]
impl Handler for WebhookFunction {
    async fn handle(&self, request: Request) -> Response<Body> {
        if let Err(refused) = routes::admit("webhook", &request) {
            return *refused;
        }
        let source = request
            .path_parameters_ref()
            .and_then(|p| p.first("source").map(str::to_owned))
            .or_else(|| request.uri().path().strip_prefix("/webhooks/").map(str::to_owned));
        let Some(source) = source else {
            return handler::error(ErrorEnvelope::Plain, &ApiError::not_found("no such path"));
        };
        // Size first: nothing larger than the limit is hashed.
        let body = match handler::body_within(&request, self.max_body) {
            Ok(body) => body,
            Err(error) => return handler::error(ErrorEnvelope::Plain, &error),
        };
        match receive(&self.deps, self, &source, request.headers(), body, self.deps.clock.now()).await {
            Ok(Received::Stored { id }) => {
                tracing::info!(source, delivery_id = id, "webhook stored");
                handler::json(StatusCode::OK, &json!({"received": true, "id": id}))
            }
            Ok(Received::Duplicate { id }) => {
                tracing::info!(source, delivery_id = id, "duplicate webhook");
                shared::telemetry::count(shared::telemetry::Counter::Duplicates, 1);
                handler::json(StatusCode::OK, &json!({"received": true, "duplicate": true, "id": id}))
            }
            Ok(Received::Replied { body }) => {
                tracing::info!(source, "webhook verified and answered (a question about the endpoint)");
                handler::json(StatusCode::OK, &body)
            }
            Ok(Received::Ignored { id, reason }) => {
                tracing::info!(source, delivery_id = id, reason, "webhook verified, not kept");
                handler::json(StatusCode::OK, &json!({"received": true, "ignored": reason, "id": id}))
            }
            Err(error) => handler::error(ErrorEnvelope::Plain, &error.into()),
        }
    }
}
