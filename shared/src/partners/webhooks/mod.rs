//! Verifying signed webhooks: one small verifier per signing scheme behind one function, [`verify`].
//!
//! Order, as every scheme's documentation asks: parse the signature headers (malformed -> [`WebhookError`] with the
//! header named), then check the MAC with every active secret in constant time, then the timestamp in both
//! directions against an injected clock. Only raw body bytes are hashed.

pub mod receiver;
mod schemes;
pub mod signing;
pub mod slack;
pub mod stored;

pub use schemes::Scheme;

use http::HeaderMap;

/// Why a delivery was refused. Messages name what is wrong, never a secret, MAC or expected signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("header {0} is missing")]
    MissingHeader(&'static str),
    #[error("header {header} is malformed: {reason}")]
    MalformedHeader { header: &'static str, reason: &'static str },
    #[error("the body is malformed: {0}")]
    MalformedBody(&'static str),
    #[error("no signature matches")]
    NoMatchingSignature,
    #[error("timestamp outside tolerance")]
    TimestampOutsideTolerance,
}

impl WebhookError {
    /// Whether the sender sent something unreadable (400) rather than something unauthentic (401).
    pub fn is_malformed(&self) -> bool {
        matches!(self, Self::MissingHeader(_) | Self::MalformedHeader { .. } | Self::MalformedBody(_))
    }
}

/// A verified delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The sender's delivery id, or where the scheme has none the SHA-256 of the MAC (so a replay has the same
    /// id, and the id is not a signature).
    pub delivery_id: String,
    /// The signed timestamp, where the scheme has one.
    pub timestamp: Option<i64>,
}

/// The keys a source signs with: the current one first, previous ones still accepted during rotation.
#[derive(Clone)]
pub struct SigningKeys(Vec<Vec<u8>>);

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKeys({} keys, redacted)", self.0.len())
    }
}

impl SigningKeys {
    /// The keys of `scheme` from the secrets as configured (`whsec_<base64>` is decoded for Standard Webhooks).
    pub fn new(scheme: Scheme, secrets: &[String]) -> Result<Self, &'static str> {
        let keys = secrets.iter().map(|s| scheme.key_bytes(s)).collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() || keys.iter().any(Vec::is_empty) {
            return Err("a source needs at least one non-empty secret");
        }
        Ok(Self(keys))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(Vec::as_slice)
    }
}

/// How far in the future a signed timestamp may be (clock skew), however old the tolerance lets it be.
pub const MAX_FUTURE_SKEW_S: i64 = 300;

/// Verifies one delivery of `scheme` at `now` (epoch seconds), accepting timestamps at most `tolerance_s` old
/// and at most [`MAX_FUTURE_SKEW_S`] (or `tolerance_s`, if smaller) ahead.
pub fn verify(
    scheme: Scheme,
    keys: &SigningKeys,
    tolerance_s: i64,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<Verified, WebhookError> {
    let verified = schemes::verify_signature(scheme, keys, headers, body)?;
    let fresh = match verified.timestamp {
        Some(t) if scheme.has_freshness() => {
            now.checked_sub(t).is_some_and(|age| (-MAX_FUTURE_SKEW_S.min(tolerance_s)..=tolerance_s).contains(&age))
        }
        _ => true,
    };
    if fresh { Ok(verified) } else { Err(WebhookError::TimestampOutsideTolerance) }
}
