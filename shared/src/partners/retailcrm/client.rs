//! The CRM API calls the module makes, with the installation's API key (`X-API-KEY`), to public addresses only:
//!
//! | call | when |
//! |---|---|
//! | `POST {systemUrl}/api/v5/integration-modules/{code}/edit` | registration: the module's description |
//! | `GET {systemUrl}/api/v5/integration-modules/{code}` | a CRM that says it moved: is the new address the same account? |
//! | `POST {systemUrl}/api/v5/integration-modules/{code}/update-scopes` | the scopes the module requires changed (answers a new API key) |

use crate::ports::partner_http::{CallFailure, PartnerClient};
use serde_json::Value;
use std::time::Duration;

/// Why the CRM did not do what was asked; messages are for the CRM user and never contain the API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrmError {
    #[error("the CRM did not answer within {0} ms; try connecting again")]
    Timeout(u64),
    #[error("the CRM could not be reached; try connecting again")]
    Unreachable,
    /// The CRM answered `success: false`: its own message is passed on.
    #[error("the CRM refused the module: {0}")]
    Refused(String),
    #[error("the CRM answered HTTP {0} without a usable body; try connecting again")]
    BadAnswer(u16),
}

/// A client for CRM API calls, with a timeout on every call.
#[derive(Clone, Debug)]
pub struct RetailCrmClient {
    http: PartnerClient,
}

impl RetailCrmClient {
    pub fn new(timeout: Duration) -> Self {
        Self { http: PartnerClient::new("retailcrm", timeout).public_addresses_only() }
    }

    /// Creates or updates the integration module `code` in the CRM at `system_url`.
    pub async fn edit_module(
        &self,
        system_url: &str,
        api_key: &str,
        code: &str,
        module: &Value,
    ) -> Result<(), CrmError> {
        let url = format!("{system_url}/api/v5/integration-modules/{code}/edit");
        let body = crate::codec::form::encode([("integrationModule", module.to_string().as_str())]);
        self.call(api_key, |client| client.post(url).body(body)).await.map(drop)
    }

    /// The integration module `code` as the CRM at `system_url` knows it (`integrationModule`).
    pub async fn integration_module(&self, system_url: &str, api_key: &str, code: &str) -> Result<Value, CrmError> {
        let url = format!("{system_url}/api/v5/integration-modules/{code}");
        let answer = self.call(api_key, |client| client.get(url)).await?;
        Ok(answer.get("integrationModule").cloned().unwrap_or(Value::Null))
    }

    /// Asks the CRM at `system_url` for `scopes` (RetailCRM's simple connection: `requires={"scopes": [...]}`);
    /// answers the API key the CRM issued for them.
    pub async fn update_scopes(
        &self,
        system_url: &str,
        api_key: &str,
        code: &str,
        scopes: &[String],
    ) -> Result<String, CrmError> {
        let url = format!("{system_url}/api/v5/integration-modules/{code}/update-scopes");
        let requires = serde_json::json!({"scopes": scopes}).to_string();
        let body = crate::codec::form::encode([("requires", requires.as_str())]);
        let answer = self.call(api_key, |client| client.post(url).body(body)).await?;
        match answer.get("apiKey").and_then(Value::as_str).filter(|key| !key.is_empty()) {
            Some(key) => Ok(key.to_owned()),
            None => Err(CrmError::Refused("the CRM granted the scopes without an API key".into())),
        }
    }

    /// Sends one call with the API key and reads the CRM's `{"success": ...}` answer.
    async fn call(
        &self,
        api_key: &str,
        build: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Value, CrmError> {
        let request = |client: &reqwest::Client| {
            build(client).header("X-API-KEY", api_key).header("Content-Type", "application/x-www-form-urlencoded")
        };
        let (status, bytes) = self.http.exchange(request).await.map_err(|failure| match failure {
            CallFailure::Timeout(ms) => CrmError::Timeout(ms),
            CallFailure::Unreachable => CrmError::Unreachable,
            CallFailure::BodyLost { status } => CrmError::BadAnswer(status),
        })?;
        let answer: Value = serde_json::from_slice(&bytes).map_err(|_| CrmError::BadAnswer(status))?;
        match answer.get("success").and_then(Value::as_bool) {
            Some(true) if (200..300).contains(&status) => Ok(answer),
            Some(false) => {
                let message = answer.get("errorMsg").and_then(Value::as_str).unwrap_or("no reason given");
                // The CRM's message is shown to the user; keep it short and never echo our key in it.
                let message: String = message.replace(api_key, "***").chars().take(300).collect();
                Err(CrmError::Refused(message))
            }
            _ => Err(CrmError::BadAnswer(status)),
        }
    }
}
