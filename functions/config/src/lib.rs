//! `config`: answers RetailCRM's connection-configuration request (`GET /retailcrm/config`).

use lambda_http::http::StatusCode;
use shared::edge::handler::{self, Body, Handler, Request, Response};
use shared::edge::routes;
use shared::env::{ConfigError, Vars};
use shared::partners::retailcrm::ConnectionConfig;

/// The function's state: configuration read once at start-up.
pub struct ConfigFunction {
    config: ConnectionConfig,
}

impl ConfigFunction {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Self { config: ConnectionConfig::from_vars(vars)? })
    }
}

#[async_trait::async_trait]
impl Handler for ConfigFunction {
    async fn handle(&self, request: Request) -> Response<Body> {
        if let Err(refused) = routes::admit("config", &request) {
            return *refused;
        }
        let base = handler::public_base(&request, self.config.public_url.as_deref());
        handler::json(StatusCode::OK, &self.config.response_body(&base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::Method;

    fn function() -> ConfigFunction {
        ConfigFunction::from_vars(&Vars::from_pairs([("SWITCHYARD_PUBLIC_URL", "https://api.example.com")])).unwrap()
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
        let response = function().handle(request(Method::GET, "/retailcrm/config")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body = json(response);
        assert_eq!(body["success"], true);
        assert_eq!(body["registerUrl"], "https://api.example.com/retailcrm/register");
    }

    #[tokio::test]
    async fn without_a_configured_url_the_request_host_is_used() {
        let function = ConfigFunction::from_vars(&Vars::default()).unwrap();
        let mut req = request(Method::GET, "/retailcrm/config");
        req.headers_mut().insert("host", "abc.execute-api.eu-central-1.amazonaws.com".parse().unwrap());
        let body = json(function.handle(req).await);
        assert_eq!(body["registerUrl"], "https://abc.execute-api.eu-central-1.amazonaws.com/retailcrm/register");
    }

    #[tokio::test]
    async fn wrong_method_and_path_answer_in_the_crm_envelope() {
        let response = function().handle(request(Method::POST, "/retailcrm/config")).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(json(response)["success"], false);
        let response = function().handle(request(Method::GET, "/retailcrm/other")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(json(response)["errorMsg"].is_string());
    }
}
