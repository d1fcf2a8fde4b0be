//! Receiving a signed webhook for a source: its configuration from the secret `webhook/<source>`, verification,
//! the replay guard and the stored event, written together.

use super::stored::StoredEvent;
use super::{Scheme, SigningKeys, Verified, WebhookError, verify};
use crate::ports::Deps;
use crate::ports::secrets::SecretError;
use crate::ports::store::{Condition, Item, StoreError, Value, Write, keys};
use http::HeaderMap;

/// The longest source name: the name is part of a secret id and of store keys.
pub const MAX_SOURCE_LEN: usize = 32;

/// Whether `source` is a well-formed source name (`[a-z0-9-]`, 1 to 32 characters), checked before any lookup.
pub fn valid_source(source: &str) -> bool {
    !source.is_empty()
        && source.len() <= MAX_SOURCE_LEN
        && source.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[derive(serde::Deserialize)]
struct SourceSecret {
    scheme: Scheme,
    #[serde(default)]
    secrets: Vec<String>,
    /// A single secret, as the template generates it; joins `secrets`.
    secret: Option<String>,
    /// How old a signed timestamp may be; the scheme's default ([`Scheme::default_tolerance_s`]) when absent.
    tolerance_s: Option<i64>,
}

/// What happened to a verified delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Stored {
        id: String,
    },
    Duplicate {
        id: String,
    },
    /// Verified but not kept, for the scheme's reason.
    Ignored {
        id: String,
        reason: &'static str,
    },
    /// Verified, not kept, and answered with the scheme's own body (Slack's URL check).
    Replied {
        body: serde_json::Value,
    },
}

/// Why a delivery was not received; the edge answers each in the sender's format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiveError {
    /// No source of that name is configured (or the name is malformed).
    #[error("unknown webhook source")]
    UnknownSource,
    /// The delivery is unreadable or unauthentic: delivering it again cannot help.
    #[error(transparent)]
    Refused(#[from] WebhookError),
    /// Nothing was decided (keys, store or a scheme's partner unavailable): the sender should deliver again.
    #[error("{0}")]
    Unavailable(String),
}

/// A scheme's rules could not decide now: the sender should deliver again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}; deliver again")]
pub struct DeliverAgain(pub String);

impl From<DeliverAgain> for ReceiveError {
    fn from(again: DeliverAgain) -> Self {
        Self::Unavailable(again.to_string())
    }
}

/// Whether a verified delivery is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Store,
    Ignore(&'static str),
    /// Not an event but a question the sender asks of the endpoint: answered with this body, nothing stored.
    Reply(serde_json::Value),
}

/// A scheme's own rules around storing a verified delivery (smallcase postbacks name a transaction to re-read).
#[async_trait::async_trait]
pub trait DeliveryRules: Send + Sync {
    /// The delivery's id for the replay guard, from the id the scheme's signature gave: a scheme whose signature
    /// covers too little to tell deliveries apart refines it from the body, or refuses a malformed one.
    fn delivery_id(&self, signed_id: &str, _body: &[u8]) -> Result<String, WebhookError> {
        Ok(signed_id.to_owned())
    }
    /// Before storing: whether to keep the delivery at all.
    async fn admit(&self, deps: &Deps, body: &[u8]) -> Result<Admission, DeliverAgain>;
    /// After the delivery is stored, or found stored before (a redelivery): what follows from it. An error is
    /// answered, so the sender delivers again.
    async fn follow_up(&self, deps: &Deps, body: &[u8]) -> Result<(), DeliverAgain>;
}

/// The rules of each scheme that has any.
pub trait Rulebook: Send + Sync {
    fn rules(&self, scheme: Scheme) -> Option<&dyn DeliveryRules>;
}

/// No scheme has rules of its own.
pub struct NoRules;

impl Rulebook for NoRules {
    fn rules(&self, _scheme: Scheme) -> Option<&dyn DeliveryRules> {
        None
    }
}

/// Headers kept with a stored event: the ones that identify, sign or describe it.
const KEPT_HEADERS: [&str; 13] = [
    "content-type",
    "user-agent",
    "x-signature",
    "webhook-id",
    "webhook-timestamp",
    "svix-id",
    "svix-timestamp",
    "stripe-signature",
    "x-hub-signature-256",
    "x-github-delivery",
    "x-github-event",
    "x-slack-request-timestamp",
    "x-slack-signature",
];

/// Verifies and stores one delivery to `source` at `now`, with the rules `rulebook` has for its scheme.
pub async fn receive(
    deps: &Deps,
    rulebook: &dyn Rulebook,
    source: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<Received, ReceiveError> {
    if !valid_source(source) {
        return Err(ReceiveError::UnknownSource);
    }
    let secret = match deps.secrets.get(&format!("webhook/{source}")).await {
        Ok(secret) => secret,
        Err(SecretError::NotFound(_)) => return Err(ReceiveError::UnknownSource),
        Err(error) => {
            tracing::error!(%error, source, "webhook secret unavailable");
            return Err(ReceiveError::Unavailable("the source's keys are temporarily unavailable".into()));
        }
    };
    let misconfigured = || ReceiveError::Unavailable("the source is misconfigured".into());
    let config: SourceSecret = secret.json(&format!("webhook/{source}")).map_err(|error| {
        tracing::error!(%error, source, "webhook secret malformed");
        misconfigured()
    })?;
    let mut secrets = config.secrets;
    secrets.extend(config.secret);
    let tolerance_s = config.tolerance_s.unwrap_or_else(|| config.scheme.default_tolerance_s());
    let keys = SigningKeys::new(config.scheme, &secrets).map_err(|reason| {
        tracing::error!(reason, source, "webhook secret unusable");
        misconfigured()
    })?;
    let refused = |error: WebhookError| {
        tracing::warn!(%error, source, "webhook refused");
        ReceiveError::Refused(error)
    };
    let mut verified = verify(config.scheme, &keys, tolerance_s, headers, body, now).map_err(refused)?;
    let rules = rulebook.rules(config.scheme);
    if let Some(rules) = rules {
        verified.delivery_id = rules.delivery_id(&verified.delivery_id, body).map_err(refused)?;
        match rules.admit(deps, body).await? {
            Admission::Store => {}
            Admission::Ignore(reason) => return Ok(Received::Ignored { id: verified.delivery_id, reason }),
            Admission::Reply(body) => return Ok(Received::Replied { body }),
        }
    }
    let received = store(deps, source, config.scheme, tolerance_s, &verified, headers, body, now).await?;
    if let Some(rules) = rules {
        rules.follow_up(deps, body).await?;
    }
    Ok(received)
}

#[allow(clippy::too_many_arguments)]
async fn store(
    deps: &Deps,
    source: &str,
    scheme: Scheme,
    tolerance_s: i64,
    verified: &Verified,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<Received, ReceiveError> {
    // The replay guard outlives the tolerance window. A scheme that signs no timestamp (GitHub) has nothing else
    // against a replay, so its guard is kept as long as the events are: for ever.
    let guard_expires = scheme.has_freshness().then(|| now + (2 * tolerance_s).max(7 * 86_400));
    let id = verified.delivery_id.clone();
    let kept = KEPT_HEADERS
        .iter()
        .filter_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()).map(|v| (name.to_string(), v.to_owned())))
        .collect();
    let scheme_name = serde_json::to_value(scheme).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let event = StoredEvent {
        source: source.to_owned(),
        scheme: scheme_name,
        delivery_id: id.clone(),
        received_at: now,
        headers: kept,
        body: body.to_vec(),
    }
    .to_item();
    let mut guard = Item::new(keys::webhook_delivery(source, &id)).with("receivedAt", Value::int(now));
    if let Some(expires) = guard_expires {
        guard = guard.expiring_at(expires);
    }
    let writes = vec![
        Write::Put { item: guard, condition: Condition::ItemAbsent },
        Write::Put { item: event, condition: Condition::ItemAbsent },
    ];
    match deps.store.transact(writes).await {
        Ok(()) => Ok(Received::Stored { id }),
        Err(StoreError::ConditionFailed { .. }) => Ok(Received::Duplicate { id }),
        Err(error) => {
            tracing::error!(%error, source, "webhook not stored");
            Err(ReceiveError::Unavailable("the event could not be stored; deliver again".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names() {
        for good in ["schurter", "a", "stripe-live-2", &"a".repeat(32)] {
            assert!(valid_source(good), "{good}");
        }
        for bad in ["", "Schurter", "../etc", "a/b", "a.b", "a b", "ü", &"a".repeat(33), "%2e%2e"] {
            assert!(!valid_source(bad), "{bad}");
        }
    }
}
