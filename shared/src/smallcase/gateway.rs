//! The one Gateway API call we make: `POST {gateway}/gateway/{gateway_name}/transaction`.

use super::SmallcaseSecret;
use super::transaction::TransactionRequest;
use crate::partner_http::{CallFailure, PartnerClient};
use serde_json::Value;
use std::time::Duration;

/// A transaction the Gateway created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedTransaction {
    pub transaction_id: String,
    pub expire_at: Option<String>,
}

/// Why the Gateway did not create a transaction; messages never contain credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error("the smallcase Gateway did not answer within {0} ms")]
    Timeout(u64),
    #[error("the smallcase Gateway could not be reached")]
    Unreachable,
    #[error("the smallcase Gateway refused the transaction: {0}")]
    Refused(String),
    #[error("the smallcase Gateway answered HTTP {0} without a transaction id")]
    BadAnswer(u16),
}

/// A Gateway API client with a timeout on every call.
#[derive(Clone, Debug)]
pub struct Gateway {
    http: PartnerClient,
    base: String,
}

impl Gateway {
    pub fn new(base: &str, timeout: Duration) -> Self {
        Self { http: PartnerClient::new("smallcase", timeout), base: base.trim_end_matches('/').to_owned() }
    }

    /// Creates a transaction for the user holding `auth_token`.
    pub async fn create_transaction(
        &self,
        secret: &SmallcaseSecret,
        auth_token: &str,
        request: &TransactionRequest,
    ) -> Result<CreatedTransaction, GatewayError> {
        let url = format!("{}/gateway/{}/transaction", self.base, secret.gateway_name);
        let request = self
            .http
            .client()
            .post(url)
            .header("x-gateway-secret", &secret.api_secret)
            .header("x-gateway-authtoken", auth_token)
            .header("content-type", "application/json")
            .body(request.body.to_string());
        let (status, bytes) = self.http.exchange(request).await.map_err(|failure| match failure {
            CallFailure::Timeout(ms) => GatewayError::Timeout(ms),
            CallFailure::Unreachable | CallFailure::BodyLost { .. } => GatewayError::Unreachable,
        })?;
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if body.get("success") == Some(&Value::Bool(false)) {
            let message = ["errors", "error", "message"]
                .iter()
                .find_map(|k| body.get(*k).filter(|v| !v.is_null()))
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .unwrap_or_else(|| format!("HTTP {status}"));
            return Err(GatewayError::Refused(message.chars().take(300).collect()));
        }
        let data = &body["data"];
        match data["transactionId"].as_str() {
            Some(id) if (200..300).contains(&status) && !id.is_empty() => Ok(CreatedTransaction {
                transaction_id: id.to_owned(),
                expire_at: data["expireAt"].as_str().map(str::to_owned),
            }),
            _ => Err(GatewayError::BadAnswer(status)),
        }
    }
}
