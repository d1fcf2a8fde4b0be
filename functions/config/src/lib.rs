//! `config`: answers RetailCRM's connection-configuration request (`GET /retailcrm/config`).

use lambda_http::http::{Method, StatusCode};
use shared::codec::{ApiError, ErrorEnvelope};
use shared::env::{ConfigError, Vars};
use shared::http::{self, Body, Handler, Request, Response};
use shared::retailcrm::ConnectionConfig;

/// The function's state: the answer is fixed by configuration, so it is rendered once at start-up.
pub struct ConfigFunction {
    answer: serde_json::Value,
}

impl ConfigFunction {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self {
            answer: ConnectionConfig::from_vars(vars)?.response_body(),
        })
    }
}

#[async_trait::async_trait]
impl Handler for ConfigFunction {
    async fn handle(&self, request: Request) -> Response<Body> {
        if request.uri().path() != "/retailcrm/config" {
            return http::error(
                ErrorEnvelope::RetailCrm,
                &ApiError::not_found("no such path"),
            );
        }
        // The CRM sends GET; HEAD is answered too so uptime probes work.
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return http::error(
                ErrorEnvelope::RetailCrm,
                &ApiError::method_not_allowed(request.method()),
            );
        }
        http::json(StatusCode::OK, &self.answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function() -> ConfigFunction {
        ConfigFunction::from_vars(&Vars::from_pairs([(
            "SWITCHYARD_PUBLIC_URL",
            "https://api.example.com",
        )]))
        .unwrap()
    }

    fn request(method: Method, path: &str) -> Request {
        let mut request = Request::new(Body::Empty);
        *request.method_mut() = method;
        *request.uri_mut() = path.parse().unwrap();
        request
    }

    fn json(response: Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    #[tokio::test]
    async fn answers_the_configuration() {
        let response = function()
            .handle(request(Method::GET, "/retailcrm/config"))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body = json(response);
        assert_eq!(body["success"], true);
        assert_eq!(
            body["registerUrl"],
            "https://api.example.com/retailcrm/register"
        );
    }

    #[tokio::test]
    async fn wrong_method_and_path_answer_in_the_crm_envelope() {
        let response = function()
            .handle(request(Method::POST, "/retailcrm/config"))
            .await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(json(response)["success"], false);
        let response = function()
            .handle(request(Method::GET, "/retailcrm/other"))
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(json(response)["errorMsg"].is_string());
    }
}
