//! `register`: RetailCRM's registration request (`POST /retailcrm/register`), the module's lifecycle callbacks
//! (`POST /retailcrm/activity`, `/retailcrm/settings`) and its account page (`GET`/`POST /retailcrm/account`).

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

    /// The installation's account page: `clientId` from the query or, as the CRM sends it, a form body.
    async fn account_page(&self, request: &Request) -> Response<Body> {
        use shared::partners::retailcrm::account_page;
        let name = &self.module.settings().name;
        let not_found =
            || shared::edge::web_page::response(StatusCode::NOT_FOUND, account_page::not_found_page(name), None);
        let from_query = request.uri().query().and_then(|q| shared::codec::Form::parse(q.as_bytes()).ok());
        let from_body = match handler::body_within(request, self.max_body) {
            Ok(body) if !body.is_empty() => shared::codec::Form::parse(body).ok(),
            Ok(_) => None,
            Err(error) => return handler::error(ErrorEnvelope::Plain, &error),
        };
        let client_id = [from_body, from_query]
            .into_iter()
            .flatten()
            .find_map(|form| form.get("clientId").ok().flatten().map(str::to_owned));
        let Some(client_id) = client_id else { return not_found() };
        match self.module.installation(&client_id).await {
            Ok(Some(account)) => {
                shared::edge::web_page::response(StatusCode::OK, account_page::page(&account, name), None)
            }
            Ok(None) => not_found(),
            Err(failure) => {
                let error = ApiError::unavailable(failure.message);
                let mut response = shared::edge::web_page::response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    shared::codec::html::document(
                        "Try again",
                        "<h1>Try again</h1>\n<p>The page is unavailable for a moment.</p>\n",
                    ),
                    None,
                );
                response.extensions_mut().insert(Reason::ours(error.code));
                response
            }
        }
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
            Endpoint::RetailCrm(RetailCrmEndpoint::AccountPage) => return self.account_page(&request).await,
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
