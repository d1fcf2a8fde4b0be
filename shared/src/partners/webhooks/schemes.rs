//! The signing schemes: how each one's headers are read and what bytes it signs.

use super::{SigningKeys, Verified, WebhookError};
use crate::crypto::{from_base64, from_hex, to_hex, verify_hmac_sha256};
use http::HeaderMap;

/// A signing scheme, as named in a source's secret (`"scheme": "schurter"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// Schurter Smart API: `X-Signature: v=1;t=<unix>;sig=<hex or base64>`, signs `t.body`.
    Schurter,
    /// Standard Webhooks and Svix: `webhook-id`/`-timestamp`/`-signature` (or `svix-*`), signs `id.t.body`.
    StandardWebhooks,
    /// Stripe: `Stripe-Signature: t=..,v1=..`, signs `t.body`; only `v1` counts.
    Stripe,
    /// GitHub: `X-Hub-Signature-256: sha256=<hex>`, signs the body.
    Github,
    /// Slack: `X-Slack-Signature: v0=<hex>` and `X-Slack-Request-Timestamp`, signs `v0:t:body`.
    Slack,
    /// smallcase Gateway postbacks: JSON `checksum` = hex HMAC of `timestamp + smallcaseAuthId` (the rest of the body
    /// is not covered, so its fields are hints to re-read, not facts; see `crate::partners::smallcase::postback`).
    Smallcase,
}

impl Scheme {
    /// Whether the scheme signs a timestamp that must be fresh.
    pub fn has_freshness(self) -> bool {
        matches!(self, Self::Schurter | Self::StandardWebhooks | Self::Stripe | Self::Slack | Self::Smallcase)
    }

    /// How old a signed timestamp may be by default (a source's `tolerance_s` overrides it): five minutes, as the
    /// senders that re-sign every retry document; smallcase retries an undelivered postback at about +15 min,
    /// +24 h and +48 h and is not known to re-sign, so its postbacks are taken up to three days old (they are only
    /// hints: the Gateway is re-read for the truth, and replays are deduplicated).
    pub fn default_tolerance_s(self) -> i64 {
        match self {
            Self::Smallcase => 3 * 86_400,
            _ => 300,
        }
    }

    /// The HMAC key for a configured secret.
    pub(super) fn key_bytes(self, secret: &str) -> Result<Vec<u8>, &'static str> {
        match self {
            Self::StandardWebhooks => {
                from_base64(secret.strip_prefix("whsec_").unwrap_or(secret)).ok_or("a whsec_ secret must be base64")
            }
            // Stripe keys with the whole `whsec_...` string; the others with the secret's bytes.
            _ => Ok(secret.as_bytes().to_vec()),
        }
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, WebhookError> {
    let value = headers.get(name).ok_or(WebhookError::MissingHeader(name))?;
    value.to_str().map_err(|_| WebhookError::MalformedHeader { header: name, reason: "not visible ASCII" })
}

fn timestamp(text: &str, header: &'static str) -> Result<i64, WebhookError> {
    let text = text.trim();
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookError::MalformedHeader { header, reason: "the timestamp is not unix seconds" });
    }
    text.parse().map_err(|_| WebhookError::MalformedHeader { header, reason: "the timestamp is not unix seconds" })
}

/// The first (key, signature) pair that matches, in constant time per comparison; the delivery id fallback is the
/// matching signature's hex.
/// Checks the signatures against every key; on a match, answers the delivery's fingerprint: the SHA-256 of the
/// matching MAC, the delivery id of schemes that send none. Replays have the same fingerprint, and unlike the MAC
/// itself it can be logged and stored without handing anyone a valid signature.
fn matching(keys: &SigningKeys, parts: &[&[u8]], signatures: &[Vec<u8>]) -> Result<String, WebhookError> {
    for key in keys.iter() {
        for signature in signatures {
            if verify_hmac_sha256(key, parts, signature) {
                return Ok(to_hex(&crate::crypto::sha256(signature)));
            }
        }
    }
    Err(WebhookError::NoMatchingSignature)
}

pub(super) fn verify_signature(
    scheme: Scheme,
    keys: &SigningKeys,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Verified, WebhookError> {
    match scheme {
        Scheme::Schurter => schurter(keys, headers, body),
        Scheme::StandardWebhooks => standard(keys, headers, body),
        Scheme::Stripe => stripe(keys, headers, body),
        Scheme::Github => github(keys, headers, body),
        Scheme::Slack => slack(keys, headers, body),
        Scheme::Smallcase => smallcase(keys, body),
    }
}

fn schurter(keys: &SigningKeys, headers: &HeaderMap, body: &[u8]) -> Result<Verified, WebhookError> {
    const NAME: &str = "x-signature";
    let value = header(headers, NAME)?;
    let malformed = |reason| WebhookError::MalformedHeader { header: NAME, reason };
    let (mut version, mut t, mut signatures) = (None, None, Vec::new());
    for part in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some(("v", v)) => version = Some(v),
            Some(("t", v)) => t = Some(timestamp(v, NAME)?),
            // The documentation's example is a placeholder: accept hex and base64.
            Some(("sig", v)) => signatures
                .push(from_hex(v).or_else(|| from_base64(v)).ok_or(malformed("sig is neither hex nor base64"))?),
            Some(_) => {}
            None => return Err(malformed("expected key=value pairs separated by ;")),
        }
    }
    if version != Some("1") {
        return Err(malformed("only v=1 is supported"));
    }
    let t = t.ok_or(malformed("t is missing"))?;
    if signatures.is_empty() {
        return Err(malformed("sig is missing"));
    }
    let t_text = t.to_string();
    let id = matching(keys, &[t_text.as_bytes(), b".", body], &signatures)?;
    Ok(Verified { delivery_id: id, timestamp: Some(t) })
}

fn standard(keys: &SigningKeys, headers: &HeaderMap, body: &[u8]) -> Result<Verified, WebhookError> {
    // Svix sends the same headers under its own prefix.
    let (id_name, t_name, sig_name) = if headers.contains_key("webhook-id") {
        ("webhook-id", "webhook-timestamp", "webhook-signature")
    } else if headers.contains_key("svix-id") {
        ("svix-id", "svix-timestamp", "svix-signature")
    } else {
        return Err(WebhookError::MissingHeader("webhook-id"));
    };
    let id = header(headers, id_name)?;
    if id.is_empty() || id.len() > 256 {
        return Err(WebhookError::MalformedHeader { header: id_name, reason: "the id must be 1 to 256 characters" });
    }
    let t = timestamp(header(headers, t_name)?, t_name)?;
    let mut signatures = Vec::new();
    for entry in header(headers, sig_name)?.split(' ').filter(|e| !e.is_empty()) {
        let Some((version, signature)) = entry.split_once(',') else {
            return Err(WebhookError::MalformedHeader { header: sig_name, reason: "expected v1,<base64> entries" });
        };
        // Other versions (v1a: asymmetric) are not ours to check.
        if version == "v1" {
            signatures.push(
                from_base64(signature).ok_or(WebhookError::MalformedHeader {
                    header: sig_name,
                    reason: "a v1 signature is not base64",
                })?,
            );
        }
    }
    if signatures.is_empty() {
        return Err(WebhookError::MalformedHeader { header: sig_name, reason: "no v1 signature" });
    }
    let t_text = t.to_string();
    matching(keys, &[id.as_bytes(), b".", t_text.as_bytes(), b".", body], &signatures)?;
    Ok(Verified { delivery_id: id.to_owned(), timestamp: Some(t) })
}

fn stripe(keys: &SigningKeys, headers: &HeaderMap, body: &[u8]) -> Result<Verified, WebhookError> {
    const NAME: &str = "stripe-signature";
    let value = header(headers, NAME)?;
    let (mut t, mut signatures) = (None, Vec::new());
    for part in value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(timestamp(v, NAME)?),
            Some(("v1", v)) => signatures.push(
                from_hex(v)
                    .ok_or(WebhookError::MalformedHeader { header: NAME, reason: "a v1 signature is not hex" })?,
            ),
            // v0 and future schemes are ignored, so a downgrade cannot pass.
            Some(_) => {}
            None => return Err(WebhookError::MalformedHeader { header: NAME, reason: "expected key=value pairs" }),
        }
    }
    let t = t.ok_or(WebhookError::MalformedHeader { header: NAME, reason: "t is missing" })?;
    if signatures.is_empty() {
        return Err(WebhookError::MalformedHeader { header: NAME, reason: "no v1 signature" });
    }
    let t_text = t.to_string();
    let mac = matching(keys, &[t_text.as_bytes(), b".", body], &signatures)?;
    // Only now, with the MAC checked, is the body read for the event id (signed: Stripe's retries share it).
    Ok(Verified { delivery_id: signed_body_id(body, "id").unwrap_or(mac), timestamp: Some(t) })
}

fn github(keys: &SigningKeys, headers: &HeaderMap, body: &[u8]) -> Result<Verified, WebhookError> {
    const NAME: &str = "x-hub-signature-256";
    let value = header(headers, NAME)?;
    let hex = value
        .strip_prefix("sha256=")
        .ok_or(WebhookError::MalformedHeader { header: NAME, reason: "expected sha256=<hex>" })?;
    let signature = from_hex(hex).ok_or(WebhookError::MalformedHeader { header: NAME, reason: "not hex" })?;
    // GitHub signs neither `X-GitHub-Delivery` nor a timestamp: keyed on the header, one captured delivery
    // re-sent under new ids would be stored every time. The signature is the delivery (the header is kept as
    // metadata); GitHub's own redeliveries send the same body, hence the same key.
    let mac = matching(keys, &[body], &[signature])?;
    Ok(Verified { delivery_id: mac, timestamp: None })
}

fn slack(keys: &SigningKeys, headers: &HeaderMap, body: &[u8]) -> Result<Verified, WebhookError> {
    const NAME: &str = "x-slack-signature";
    let t = timestamp(header(headers, "x-slack-request-timestamp")?, "x-slack-request-timestamp")?;
    let hex = header(headers, NAME)?
        .strip_prefix("v0=")
        .ok_or(WebhookError::MalformedHeader { header: NAME, reason: "expected v0=<hex>" })?;
    let signature = from_hex(hex).ok_or(WebhookError::MalformedHeader { header: NAME, reason: "not hex" })?;
    let t_text = t.to_string();
    let mac = matching(keys, &[b"v0:", t_text.as_bytes(), b":", body], &[signature])?;
    // Slack signs each retry anew (another timestamp), but the Events API's `event_id` is in the signed body: a
    // retry is the same event. Bodies without one (slash commands, forms) are keyed on the signature.
    Ok(Verified { delivery_id: signed_body_id(body, "event_id").unwrap_or(mac), timestamp: Some(t) })
}

/// A delivery id field of a body the MAC covered (only read once it verified): short and printable, or none.
fn signed_body_id(body: &[u8], field: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let id = value.get(field)?.as_str()?;
    (!id.is_empty() && id.len() <= 256 && id.bytes().all(|b| b.is_ascii_graphic())).then(|| id.to_owned())
}

/// The intent of smallcase's mutual fund holdings import, whose postback is signed over its transaction.
const MF_HOLDINGS_IMPORT: &str = "MF_HOLDINGS_IMPORT";

fn smallcase(keys: &SigningKeys, body: &[u8]) -> Result<Verified, WebhookError> {
    // The checksum lives in the body and covers two of its fields, so this scheme must parse before verifying.
    let json = crate::codec::json::parse_strict(body)
        .map_err(|_| WebhookError::MalformedBody("not a JSON object with unique keys"))?;
    let text = |name: &str| match json.get(name) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let checksum = text("checksum").ok_or(WebhookError::MalformedBody("checksum is missing"))?;
    let signature = from_hex(&checksum).ok_or(WebhookError::MalformedBody("checksum is not hex"))?;
    let timestamp = text("timestamp").ok_or(WebhookError::MalformedBody("timestamp is missing"))?;
    // smallcase does not document the format: unix seconds or milliseconds, or RFC 3339, are taken.
    let t = crate::time_text::epoch_seconds(&timestamp)
        .ok_or(WebhookError::MalformedBody("timestamp is neither unix time nor RFC 3339"))?;
    // What the checksum covers depends on the intent: an MF holdings import has no broker account and is signed over
    // its transaction (as public integrations verify it); every other postback over the smallcaseAuthId.
    let covered =
        if text("intent").as_deref() == Some(MF_HOLDINGS_IMPORT) { "transactionId" } else { "smallcaseAuthId" };
    let covered = text(covered).unwrap_or_default();
    let signed = matching(keys, &[timestamp.as_bytes(), covered.as_bytes()], &[signature])?;
    // What is signed; smallcase's delivery rules add the transaction and its status class (a re-send is a
    // duplicate, the order's second postback is not): `crate::partners::smallcase::postback`.
    Ok(Verified { delivery_id: signed, timestamp: Some(t) })
}
