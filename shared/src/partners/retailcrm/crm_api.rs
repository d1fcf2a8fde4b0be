//! The one CRM API call registration makes: `POST {systemUrl}/api/v5/integration-modules/{code}/edit`.

use crate::ports::partner_http::{CallFailure, PartnerClient};
use serde_json::Value;
use std::time::Duration;

/// Why the CRM did not accept the module; messages are for the CRM user and never contain the API key.
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
pub struct CrmApi {
    http: PartnerClient,
}

impl CrmApi {
    pub fn new(timeout: Duration) -> Self {
        Self { http: PartnerClient::new("retailcrm", timeout) }
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
        let request = |client: &reqwest::Client| {
            client
                .post(url)
                .header("X-API-KEY", api_key)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
        };
        let (status, bytes) = self.http.exchange(request).await.map_err(|failure| match failure {
            CallFailure::Timeout(ms) => CrmError::Timeout(ms),
            CallFailure::Unreachable => CrmError::Unreachable,
            CallFailure::BodyLost { status } => CrmError::BadAnswer(status),
        })?;
        let answer: Value = serde_json::from_slice(&bytes).map_err(|_| CrmError::BadAnswer(status))?;
        match answer.get("success").and_then(Value::as_bool) {
            Some(true) if (200..300).contains(&status) => Ok(()),
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
