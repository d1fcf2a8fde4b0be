//! smallcase postbacks: what their checksum covers, when one is fresh, which deliveries are the same one, and
//! what follows a stored one.
//!
//! smallcase's webhook documentation: every postback's `checksum` is the hex HMAC-SHA256, keyed with the
//! `api_secret`, of `timestamp + smallcaseAuthId`. Nothing else in the body is signed, so a postback is a hint:
//! the transaction it names is re-read from the Gateway ([`super::reconcile`]), and only the Gateway's answer
//! connects anyone. Securities transactions send two postbacks (order placed, order completed): the replay guard
//! keys on the signature, the transaction and a status from a fixed set, so an identical re-send is a duplicate
//! while the next status is not, and no variation of an unsigned field makes more than a few distinct deliveries.

use super::client::{SmallcaseClient, TransactionStatus};
use super::{SmallcaseSecret, reconcile, recorded};
use crate::partners::webhooks::WebhookError;
use crate::partners::webhooks::receiver::{Admission, DeliverAgain, DeliveryRules};
use crate::ports::Deps;

/// The fields of a postback that identify it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostbackFields {
    /// Epoch seconds.
    pub timestamp: i64,
    pub transaction_id: Option<String>,
    /// The status as the replay guard counts it: a Gateway status name, or `OTHER`.
    pub status_class: &'static str,
}

/// A transaction id as the Gateway issues them (`TRX_...`): short, visible, safe in a store key.
pub fn valid_transaction_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A postback `timestamp` in epoch seconds: unix seconds or milliseconds (as a number or digits), or an RFC 3339
/// date-time. smallcase does not document the format, so each is taken; anything else is refused.
pub fn timestamp_seconds(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::String(s) => crate::time_text::epoch_seconds(s),
        serde_json::Value::Number(n) => crate::time_text::epoch_seconds(&n.to_string()),
        _ => None,
    }
}

/// The identifying fields of a postback body (already parsed), or why it is malformed.
pub fn fields(body: &serde_json::Value) -> Result<PostbackFields, &'static str> {
    let timestamp = body.get("timestamp").ok_or("timestamp is missing")?;
    let timestamp = timestamp_seconds(timestamp).ok_or("timestamp is neither unix time nor RFC 3339")?;
    let transaction_id = match body.get("transactionId") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(id)) if valid_transaction_id(id) => Some(id.clone()),
        Some(_) => return Err("transactionId is malformed"),
    };
    let status_class = body
        .get("status")
        .and_then(|s| s.as_str())
        .and_then(TransactionStatus::parse)
        .map_or("OTHER", TransactionStatus::name);
    Ok(PostbackFields { timestamp, transaction_id, status_class })
}

/// The rules the webhook receiver applies around storing a postback.
pub struct PostbackRules {
    pub gateway: SmallcaseClient,
}

fn transaction_of(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    fields(&value).ok()?.transaction_id
}

fn deliver_again(what: &str) -> DeliverAgain {
    DeliverAgain(what.to_owned())
}

#[async_trait::async_trait]
impl DeliveryRules for PostbackRules {
    /// What is signed, plus the transaction and the class of its status: a re-send is a duplicate, the order's
    /// second postback (another status) is not, and unsigned variations make at most a few distinct deliveries.
    fn delivery_id(&self, signed_id: &str, body: &[u8]) -> Result<String, WebhookError> {
        let json = crate::codec::json::parse_strict(body)
            .map_err(|_| WebhookError::MalformedBody("not a JSON object with unique keys"))?;
        let fields = fields(&json).map_err(WebhookError::MalformedBody)?;
        let transaction = fields.transaction_id.as_deref().unwrap_or("-");
        Ok(format!("{signed_id}.{transaction}.{}", fields.status_class))
    }

    /// Only postbacks of transactions our users created are kept (the Gateway sends no others); one without a
    /// transaction (a pending action on an invested smallcase) is kept as sent.
    async fn admit(&self, deps: &Deps, body: &[u8]) -> Result<Admission, DeliverAgain> {
        let Some(transaction_id) = transaction_of(body) else { return Ok(Admission::Store) };
        match recorded(deps.store.as_ref(), &transaction_id).await {
            Ok(Some(_)) => Ok(Admission::Store),
            Ok(None) => Ok(Admission::Ignore("no transaction of ours")),
            Err(error) => {
                tracing::error!(%error, "smallcase transaction not readable");
                Err(deliver_again("the postback could not be stored"))
            }
        }
    }

    /// The transaction is re-read from the Gateway until its status is final; until then every delivery of
    /// the postback re-reads it, and a failed re-read is answered 503 so smallcase delivers again.
    async fn follow_up(&self, deps: &Deps, body: &[u8]) -> Result<(), DeliverAgain> {
        let Some(transaction_id) = transaction_of(body) else { return Ok(()) };
        let store = deps.store.as_ref();
        let record = match recorded(store, &transaction_id).await {
            Ok(Some(record)) => record,
            Ok(None) => return Ok(()),
            Err(error) => {
                tracing::error!(%error, "smallcase transaction not readable");
                return Err(deliver_again("the transaction could not be re-read"));
            }
        };
        if record.status.is_some_and(TransactionStatus::is_final) {
            return Ok(());
        }
        let secret = SmallcaseSecret::load(deps.secrets.as_ref()).await.map_err(|error| {
            tracing::error!(%error, "smallcase secret unavailable");
            deliver_again("the transaction could not be re-read")
        })?;
        match reconcile(store, &self.gateway, &secret, &record, deps.clock.now()).await {
            Ok(view) => {
                tracing::info!(
                    transaction_id,
                    status = view.status.name(),
                    connected = view.connected,
                    "smallcase transaction re-read"
                );
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, transaction_id, "smallcase transaction not re-read");
                Err(deliver_again("the transaction could not be re-read from the Gateway"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_in_seconds_milliseconds_and_rfc3339() {
        assert_eq!(timestamp_seconds(&json!("1795374200")), Some(1_795_374_200));
        assert_eq!(timestamp_seconds(&json!(1_795_374_200_123_i64)), Some(1_795_374_200));
        assert_eq!(timestamp_seconds(&json!("2026-11-23T02:38:03Z")), Some(1_795_401_483));
        assert_eq!(timestamp_seconds(&json!("2026-11-23T02:38:03.123Z")), Some(1_795_401_483));
        for bad in [json!(""), json!("yesterday"), json!(null), json!([1]), json!("12345678901234567")] {
            assert_eq!(timestamp_seconds(&bad), None, "{bad}");
        }
    }

    #[test]
    fn fields_and_their_bounds() {
        let f = fields(&json!({"timestamp": "100", "transactionId": "TRX_1", "status": "COMPLETED"})).unwrap();
        assert_eq!(
            f,
            PostbackFields { timestamp: 100, transaction_id: Some("TRX_1".into()), status_class: "COMPLETED" }
        );
        let other = fields(&json!({"timestamp": 100, "status": "PLACED_BY_BROKER"})).unwrap();
        assert_eq!((other.transaction_id, other.status_class), (None, "OTHER"));
        for bad in [
            json!({}),
            json!({"timestamp": "x"}),
            json!({"timestamp": "1", "transactionId": "TRX 1"}),
            json!({"timestamp": "1", "transactionId": 7}),
            json!({"timestamp": "1", "transactionId": "x".repeat(65)}),
        ] {
            assert!(fields(&bad).is_err(), "{bad}");
        }
    }
}
