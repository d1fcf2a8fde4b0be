//! `register`: RetailCRM's registration request (`POST /retailcrm/register`), the module's lifecycle callbacks
//! (`POST /retailcrm/activity`, `/retailcrm/settings`) and its account page (`GET`/`POST /retailcrm/account`).

mod account_page;

use lambda_http::http::StatusCode;
use shared::Deps;
use shared::edge::error::{ApiError, ErrorEnvelope};
use shared::edge::handler::{self, Body, Handler, Request, Response};
use shared::edge::routes::{self, Endpoint, RetailCrmEndpoint};
use shared::env::{ConfigError, Vars};
use shared::partners::retailcrm::module::{Failure, Module};
use shared::telemetry::Reason;

/// The function's state, built once per sandbox.
pub struct RegisterFunction {
    module: Module,
    /// The status RetailCRM errors are answered with (200 by the CRM's documented rule).
    error_status: StatusCode,
    max_body: usize,
}

impl RegisterFunction {
    pub fn new(deps: Deps, vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            module: Module::new(deps, vars)?,
            error_status: shared::partners::retailcrm::error_status(vars)?,
            max_body: vars.parse_or("RETAILCRM_MAX_BODY_BYTES", 64 * 1024)?,
        })
    }

    fn failure(&self, failure: &Failure) -> Response<Body> {
        let (code, reason) = match failure.retryable {
            true => ("unavailable", Reason::ours("unavailable")),
            false => ("refused", Reason::caller("refused")),
        };
        let error = ApiError::new(self.error_status, code, failure.message.clone());
        let mut response = handler::error(ErrorEnvelope::RetailCrm, &error);
        // RetailCRM errors are answered 200 by default: the status cannot tell whose fault it was.
        response.extensions_mut().insert(reason);
        response
    }
}

/// The CRM's calls that carry a JSON body.
enum Callback {
    Register,
    Activity,
    Settings,
}

#[async_trait::async_trait]
impl Handler for RegisterFunction {
    async fn handle(&self, request: Request) -> Response<Body> {
        let route = match routes::admit("register", &request) {
            Ok(route) => route,
            Err(refused) => return *refused,
        };
        let callback = match route.endpoint {
            Endpoint::RetailCrm(RetailCrmEndpoint::AccountPage) => return account_page::show(self, &request).await,
            Endpoint::RetailCrm(RetailCrmEndpoint::Register) => Callback::Register,
            Endpoint::RetailCrm(RetailCrmEndpoint::Activity) => Callback::Activity,
            Endpoint::RetailCrm(RetailCrmEndpoint::Settings) => Callback::Settings,
            // The configuration is `config`'s; the other partners' routes are other functions'.
            Endpoint::RetailCrm(RetailCrmEndpoint::Config)
            | Endpoint::Sber(_)
            | Endpoint::SmartMeRealtime
            | Endpoint::Webhook
            | Endpoint::OAuth(_)
            | Endpoint::Smallcase(_) => return routes::misrouted(&route),
        };
        let body = match handler::body_within(&request, self.max_body) {
            Ok(body) => body,
            Err(error) => return handler::error(ErrorEnvelope::RetailCrm, &error),
        };
        let outcome = match callback {
            Callback::Register => {
                let base = handler::public_base(&request, self.module.settings().public_url.as_deref());
                self.module.register(body, &base).await
            }
            Callback::Activity => self.module.activity(body).await,
            Callback::Settings => self.module.settings_callback(body).await,
        };
        match outcome {
            Ok(answer) => handler::json(StatusCode::OK, &answer),
            Err(failure) => self.failure(&failure),
        }
    }
}
