//! The Gateway API calls we make, and the shapes of their answers, in one place:
//! - `POST {gateway}/gateway/{gateway_name}/transaction` creates a transaction;
//! - `GET {gateway}/v1/{gateway_name}/engine/transactiondetails?transactionId=...` ("Fetch details by
//!   transactionId" in smallcase's API reference) re-reads one: the source of truth for its status and the
//!   smallcaseAuthId it connected, where a postback is only a hint.
//!
//! Both carry `x-gateway-secret` (the `api_secret`) and `x-gateway-authtoken` (a smallcaseAuthToken). Every answer
//! is the envelope `{"success", "errors", "data"}`; `success: false` is a refusal whatever the HTTP status.

use super::SmallcaseSecret;
use super::transaction::TransactionRequest;
use crate::ports::partner_http::{CallFailure, PartnerClient};
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
    #[error("the smallcase Gateway's answer is not a transaction's details: {0}")]
    UnreadableDetails(String),
}

impl GatewayError {
    /// Whether the Gateway may answer if asked again (it was not reached, or timed out or failed on its side).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Timeout(_) | Self::Unreachable) || matches!(self, Self::BadAnswer(s) if *s >= 500)
    }
}

/// A transaction's status as the Gateway reports it (`transactionDetails.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransactionStatus {
    /// Not triggered, or the user has not logged in with a broker yet.
    Initialized,
    /// The user is in the flow after broker login, or left it.
    Used,
    /// Under process (after-market or limit orders).
    Processing,
    /// The user must act first (a repair before a rebalance).
    ActionRequired,
    /// The flow ended with an error.
    Errored,
    /// Done: orders placed (with a final update), holdings imported, account connected.
    Completed,
}

impl TransactionStatus {
    pub const ALL: [TransactionStatus; 6] =
        [Self::Initialized, Self::Used, Self::Processing, Self::ActionRequired, Self::Errored, Self::Completed];

    pub fn name(self) -> &'static str {
        match self {
            Self::Initialized => "INITIALIZED",
            Self::Used => "USED",
            Self::Processing => "PROCESSING",
            Self::ActionRequired => "ACTION_REQUIRED",
            Self::Errored => "ERRORED",
            Self::Completed => "COMPLETED",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// No later answer will differ.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Errored)
    }
}

/// What the Gateway says of one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionDetails {
    pub transaction_id: String,
    pub status: TransactionStatus,
    /// The intent, when the answer names it.
    pub intent: Option<String>,
    /// The broker account the transaction was done with, when the user logged in with one.
    pub smallcase_auth_id: Option<String>,
}

/// A Gateway API client with a timeout on every call.
#[derive(Clone, Debug)]
pub struct SmallcaseClient {
    http: PartnerClient,
    base: String,
}

impl SmallcaseClient {
    pub fn new(base: &str, timeout: Duration) -> Self {
        Self { http: PartnerClient::new("smallcase", timeout), base: base.trim_end_matches('/').to_owned() }
    }

    /// One call: the status and the JSON body (null if it is none), or the refusal a `success: false` body states.
    async fn call(
        &self,
        request: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<(u16, Value), GatewayError> {
        let (status, bytes) = self.http.exchange(request).await.map_err(|failure| match failure {
            CallFailure::Timeout(ms) => GatewayError::Timeout(ms),
            CallFailure::Unreachable | CallFailure::BodyLost { .. } => GatewayError::Unreachable,
        })?;
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if body.get("success") == Some(&Value::Bool(false)) {
            return Err(GatewayError::Refused(refusal(&body, status)));
        }
        Ok((status, body))
    }

    /// The Gateway at `SMALLCASE_GATEWAY_URL` (default [`super::DEFAULT_GATEWAY_URL`]) with a timeout of
    /// `SMALLCASE_TIMEOUT_MS` (default 5000) on every call.
    pub fn from_vars(vars: &crate::env::Vars) -> Result<Self, crate::env::ConfigError> {
        let url = vars.get_or("SMALLCASE_GATEWAY_URL", super::DEFAULT_GATEWAY_URL);
        if url::Url::parse(url).is_err() {
            return Err(crate::env::ConfigError::new("SMALLCASE_GATEWAY_URL", "must be an absolute URL"));
        }
        Ok(Self::new(url, Duration::from_millis(vars.parse_or("SMALLCASE_TIMEOUT_MS", 5_000)?)))
    }

    /// Re-reads `transaction_id` for the user holding `auth_token` (the token type the transaction was created
    /// with: the Gateway answers a connected user's token only for that user's transactions).
    pub async fn transaction_details(
        &self,
        secret: &SmallcaseSecret,
        auth_token: &str,
        transaction_id: &str,
    ) -> Result<TransactionDetails, GatewayError> {
        let id: String = url::form_urlencoded::byte_serialize(transaction_id.as_bytes()).collect();
        let url = format!("{}/v1/{}/engine/transactiondetails?transactionId={id}", self.base, secret.gateway_name);
        let request = |client: &reqwest::Client| {
            client.get(url).header("x-gateway-secret", &secret.api_secret).header("x-gateway-authtoken", auth_token)
        };
        let (status, body) = self.call(request).await?;
        if !(200..300).contains(&status) {
            return Err(GatewayError::BadAnswer(status));
        }
        parse_details(&body, transaction_id, &secret.secret).map_err(GatewayError::UnreadableDetails)
    }

    /// Creates a transaction for the user holding `auth_token`.
    pub async fn create_transaction(
        &self,
        secret: &SmallcaseSecret,
        auth_token: &str,
        request: &TransactionRequest,
    ) -> Result<CreatedTransaction, GatewayError> {
        let url = format!("{}/gateway/{}/transaction", self.base, secret.gateway_name);
        let body = request.body.to_string();
        let request = |client: &reqwest::Client| {
            client
                .post(url)
                .header("x-gateway-secret", &secret.api_secret)
                .header("x-gateway-authtoken", auth_token)
                .header("content-type", "application/json")
                .body(body)
        };
        let (status, body) = self.call(request).await?;
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

/// The Gateway's reason for a refusal, shortened.
fn refusal(body: &Value, status: u16) -> String {
    let message = ["errors", "error", "message"]
        .iter()
        .find_map(|k| body.get(*k).filter(|v| !v.is_null()))
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .unwrap_or_else(|| format!("HTTP {status}"));
    message.chars().take(300).collect()
}

/// The details in a `transactiondetails` answer for `transaction_id`.
///
/// smallcase documents the statuses (`data.transactionDetails.status`) but shows no full answer, so the
/// smallcaseAuthId is looked for where the Gateway's answers carry it: `smallcaseAuthId` beside the status, under
/// `success`, or in `data`, or inside a smallcaseAuthToken (`smallcaseAuthToken` or `authToken` at those places),
/// which counts only when it verifies with our `secret` (the Gateway signs the tokens it returns to a partner with
/// the partner's secret). Places that disagree, an id for another transaction, or an unknown status make the
/// answer unreadable: nothing is acted upon.
pub fn parse_details(body: &Value, transaction_id: &str, secret: &str) -> Result<TransactionDetails, String> {
    let data = body.get("data").filter(|d| d.is_object()).ok_or("no data object")?;
    let details = data.get("transactionDetails").filter(|d| d.is_object()).ok_or("no transactionDetails object")?;
    if let Some(id) = data.get("transactionId").or(details.get("transactionId"))
        && id.as_str() != Some(transaction_id)
    {
        return Err("the answer is for another transaction".into());
    }
    let status = details.get("status").and_then(Value::as_str).ok_or("no transactionDetails.status")?;
    let status = TransactionStatus::parse(status).ok_or_else(|| format!("unknown status {}", truncated(status)))?;
    let intent = match details.get("intent").or(data.get("intent")) {
        None | Some(Value::Null) => None,
        Some(Value::String(intent)) if intent.len() <= 32 => Some(intent.clone()),
        Some(_) => return Err("intent is not a short string".into()),
    };
    let places = [data, details, &details["success"]];
    let mut ids: Vec<String> = Vec::new();
    for place in places {
        if let Some(id) = place.get("smallcaseAuthId").and_then(Value::as_str) {
            ids.push(id.to_owned());
        }
        for field in ["smallcaseAuthToken", "authToken"] {
            if let Some(token) = place.get(field).and_then(Value::as_str) {
                ids.extend(super::auth_token::auth_id_of(token, secret));
            }
        }
    }
    ids.dedup();
    let smallcase_auth_id = match ids.as_slice() {
        [] => None,
        [id] if valid_auth_id(id) => Some(id.clone()),
        [_] => return Err("the smallcaseAuthId is malformed".into()),
        _ => return Err("the answer names more than one smallcaseAuthId".into()),
    };
    Ok(TransactionDetails { transaction_id: transaction_id.to_owned(), status, intent, smallcase_auth_id })
}

/// A smallcaseAuthId as the Gateway issues them (24 hex digits in its examples; any short id of visible ASCII
/// letters, digits, `-` and `_` is taken).
pub fn valid_auth_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn truncated(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "partner-secret";

    fn answer(details: Value) -> Value {
        json!({"success": true, "errors": null, "data": {"transactionId": "TRX_1", "transactionDetails": details}})
    }

    #[test]
    fn reads_status_intent_and_the_auth_id_from_a_verified_token() {
        let token = super::super::auth_token::sign(SECRET, Some("5c4f0b6a0cbd7d332bae9c92"), 1, 60);
        let body =
            answer(json!({"status": "COMPLETED", "intent": "CONNECT", "success": {"smallcaseAuthToken": token}}));
        let details = parse_details(&body, "TRX_1", SECRET).unwrap();
        assert_eq!(details.status, TransactionStatus::Completed);
        assert_eq!(details.intent.as_deref(), Some("CONNECT"));
        assert_eq!(details.smallcase_auth_id.as_deref(), Some("5c4f0b6a0cbd7d332bae9c92"));
        let forged = super::super::auth_token::sign("someone-else", Some("stolen"), 1, 60);
        let body = answer(json!({"status": "COMPLETED", "success": {"smallcaseAuthToken": forged}}));
        assert_eq!(
            parse_details(&body, "TRX_1", SECRET).unwrap().smallcase_auth_id,
            None,
            "unverified tokens count for nothing"
        );
    }

    #[test]
    fn plain_ids_count_and_disagreement_or_strangeness_is_refused() {
        let body = answer(json!({"status": "PROCESSING", "smallcaseAuthId": "abc"}));
        assert_eq!(parse_details(&body, "TRX_1", SECRET).unwrap().smallcase_auth_id.as_deref(), Some("abc"));
        let two =
            answer(json!({"status": "COMPLETED", "smallcaseAuthId": "abc", "success": {"smallcaseAuthId": "xyz"}}));
        assert!(parse_details(&two, "TRX_1", SECRET).is_err());
        for bad in [
            json!({"success": true, "data": null}),
            answer(json!({"status": "DONE"})),
            answer(json!({"intent": "CONNECT"})),
            answer(json!({"status": "COMPLETED", "smallcaseAuthId": "a b"})),
            answer(json!({"status": "COMPLETED", "intent": ["CONNECT"]})),
        ] {
            assert!(parse_details(&bad, "TRX_1", SECRET).is_err(), "{bad}");
        }
        assert!(parse_details(&answer(json!({"status": "USED"})), "TRX_2", SECRET).is_err(), "another transaction");
        let guest = parse_details(&answer(json!({"status": "INITIALIZED"})), "TRX_1", SECRET).unwrap();
        assert_eq!((guest.status, guest.smallcase_auth_id), (TransactionStatus::Initialized, None));
    }

    #[test]
    fn statuses_round_trip_and_only_two_are_final() {
        for status in TransactionStatus::ALL {
            assert_eq!(TransactionStatus::parse(status.name()), Some(status));
        }
        let finals: Vec<_> = TransactionStatus::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, [TransactionStatus::Errored, TransactionStatus::Completed]);
    }
}
