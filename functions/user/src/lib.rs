//! `user`: the Sber Smart Home cloud-to-cloud webhook at `/sber/v1/*` (ping, user, devices, query, command, unlink).

use lambda_http::http::StatusCode;
use serde_json::json;
use shared::Deps;
use shared::edge::bearer;
use shared::edge::error::{ApiError, ErrorEnvelope};
use shared::edge::handler::{self, Body, Handler, Request, Response};
use shared::edge::routes::{self, Endpoint, SberEndpoint};
use shared::env::{ConfigError, Vars};
use shared::identity::oauth::AccessVerifier;
use shared::partners::sber::SberHome;
use shared::partners::sber::calls::SberCall;
use shared::partners::smartme::account::SmartMeAccounts;
use shared::partners::smartme::control::DeviceControl;
use std::sync::Arc;

/// Largest body accepted (bytes): 100 device ids or commands fit many times over.
const MAX_BODY: usize = 64 * 1024;

/// The function's state, built once per sandbox.
pub struct UserFunction {
    deps: Deps,
    home: SberHome,
    /// Sber's OAuth client: its tokens (and only its), of users still linked with it, are accepted here.
    verifier: AccessVerifier,
    token_query_param: Option<String>,
}

impl UserFunction {
    pub fn new(deps: Deps, vars: &Vars) -> Result<Self, ConfigError> {
        let accounts = SmartMeAccounts::from_vars(vars, deps.store.clone(), deps.secrets.clone())?;
        Self::with_control(deps, vars, Arc::new(accounts))
    }

    /// The same function with another device-control port.
    pub fn with_control(deps: Deps, vars: &Vars, control: Arc<dyn DeviceControl>) -> Result<Self, ConfigError> {
        let home = SberHome::from_vars(vars, deps.store.clone(), control)?;
        Ok(Self {
            verifier: AccessVerifier::for_linked_client(vars.public_url()?, &home.client_id)
                .requiring_scope(vars.get_or("SBER_REQUIRED_SCOPE", "smarthome")),
            token_query_param: vars.get("SBER_TOKEN_QUERY_PARAM").filter(|p| !p.is_empty()).map(str::to_owned),
            home,
            deps,
        })
    }

    async fn route(&self, request: &Request, endpoint: SberEndpoint) -> Result<serde_json::Value, ApiError> {
        // Sber's availability check carries no token.
        if endpoint == SberEndpoint::Ping {
            return Ok(ping());
        }
        let token = bearer::token_in(request, self.token_query_param.as_deref());
        let unlinking = endpoint == SberEndpoint::Unlink;
        let claims = bearer::authenticate_linked(&self.verifier, &self.deps, token.as_deref(), unlinking).await?;
        let body = || -> Result<&[u8], ApiError> {
            if !handler::content_type_is(request, "application/json") {
                return Err(ApiError::bad_request("the body must be application/json"));
            }
            handler::body_within(request, MAX_BODY)
        };
        let call = match endpoint {
            SberEndpoint::Ping => return Ok(ping()),
            SberEndpoint::User => SberCall::User,
            SberEndpoint::Devices => SberCall::Devices,
            SberEndpoint::Query => SberCall::Query(body()?),
            SberEndpoint::Command => SberCall::Command(body()?),
            SberEndpoint::Unlink => SberCall::Unlink,
        };
        Ok(self.home.answer(call, &claims.sub, self.deps.clock.now()).await?)
    }
}

/// `GET /sber/v1/ping`'s answer.
fn ping() -> serde_json::Value {
    json!({"status": "ok"})
}

#[async_trait::async_trait]
impl Handler for UserFunction {
    async fn handle(&self, request: Request) -> Response<Body> {
        let route = match routes::admit("user", &request) {
            Ok(route) => route,
            Err(refused) => return *refused,
        };
        let endpoint = match route.endpoint {
            Endpoint::Sber(endpoint) => endpoint,
            Endpoint::RetailCrm(_)
            | Endpoint::SmartMeRealtime
            | Endpoint::Webhook
            | Endpoint::OAuth(_)
            | Endpoint::Smallcase(_) => return routes::misrouted(&route),
        };
        // The request log line (with Sber's x-request-id) is written by the telemetry wrapper.
        match self.route(&request, endpoint).await {
            Ok(answer) => handler::json(StatusCode::OK, &answer),
            Err(error) => handler::error(ErrorEnvelope::Sber, &error),
        }
    }
}
