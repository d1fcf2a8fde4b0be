//! `user`: the Sber Smart Home cloud-to-cloud webhook at `/sber/v1/*` (ping, user, devices, query, command, unlink).

use lambda_http::http::StatusCode;
use serde_json::json;
use shared::Deps;
use shared::edge::bearer;
use shared::edge::error::{ApiError, ErrorEnvelope};
use shared::edge::handler::{self, Body, Handler, Request, Response};
use shared::edge::routes::{self, Endpoint, SberEndpoint};
use shared::env::{ConfigError, Vars};
use shared::identity::oauth::{AccessClaims, AccessVerifier, TokenError};
use shared::partners::sber::SberHome;
use shared::partners::sber::calls::SberCall;
use shared::partners::sber::settings::SberSettings;
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
    /// The client, whose links Sber's unlink revokes.
    client_id: String,
    token_query_param: Option<String>,
}

impl UserFunction {
    pub fn new(deps: Deps, vars: &Vars) -> Result<Self, ConfigError> {
        let accounts = SmartMeAccounts::from_vars(vars, deps.store.clone(), deps.secrets.clone())?;
        Self::with_control(deps, vars, Arc::new(accounts))
    }

    /// The same function with another device-control port.
    pub fn with_control(deps: Deps, vars: &Vars, control: Arc<dyn DeviceControl>) -> Result<Self, ConfigError> {
        let client_id = vars.get_or("SBER_CLIENT_ID", "sber");
        Ok(Self {
            home: SberHome {
                store: deps.store.clone(),
                control,
                settings: SberSettings::from_vars(vars)?,
                client_id: client_id.to_owned(),
            },
            deps,
            verifier: AccessVerifier::for_linked_client(vars.public_url()?, client_id)
                .requiring_scope(vars.get_or("SBER_REQUIRED_SCOPE", "smarthome")),
            client_id: client_id.to_owned(),
            token_query_param: vars.get("SBER_TOKEN_QUERY_PARAM").filter(|p| !p.is_empty()).map(str::to_owned),
        })
    }

    /// The token's user: 401 for a missing or invalid token, 403 for a user no longer linked with Sber; for
    /// unlinking, see [`AccessVerifier::verify_unlinking`].
    async fn authenticate(&self, request: &Request, unlinking: bool) -> Result<AccessClaims, ApiError> {
        let token = bearer::token_in(request, self.token_query_param.as_deref());
        let verified = if unlinking {
            self.verifier.verify_unlinking(&self.deps, token.as_deref()).await
        } else {
            self.verifier.verify(&self.deps, token.as_deref(), self.deps.clock.now()).await
        };
        verified.map_err(|error| match error {
            TokenError::Unavailable => ApiError::unavailable("authorization cannot be checked right now; try again"),
            TokenError::NotLinked | TokenError::InsufficientScope => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", error.to_string())
            }
            other => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", other.to_string()),
        })
    }

    async fn route(&self, request: &Request, endpoint: SberEndpoint) -> Result<serde_json::Value, ApiError> {
        // Sber's availability check carries no token.
        if endpoint == SberEndpoint::Ping {
            return Ok(ping());
        }
        let claims = self.authenticate(request, endpoint == SberEndpoint::Unlink).await?;
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
            SberEndpoint::Unlink => SberCall::Unlink { client_id: &self.client_id },
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
