//! Signing as a sender would: the headers (or body field) each scheme sends, for operators testing a source by
//! hand (`switchyard sign`) and for load tests.

use super::Scheme;
use crate::crypto::{hmac_sha256, to_base64, to_hex};

/// The headers a sender of `scheme` sends for `body` at `t` (epoch seconds) with delivery id `id`, signed with
/// `secret` (as configured in the source's secret). Smallcase signs inside the body: it has no headers.
pub fn sign_headers(
    scheme: Scheme,
    secret: &str,
    body: &[u8],
    t: i64,
    id: &str,
) -> Result<Vec<(String, String)>, &'static str> {
    let key = scheme.key_bytes(secret)?;
    let ts = t.to_string();
    let pairs: Vec<(&str, String)> = match scheme {
        Scheme::Schurter => {
            let mac = hmac_sha256(&key, &[ts.as_bytes(), b".", body]);
            vec![("X-Signature", format!("v=1;t={ts};sig={}", to_hex(&mac)))]
        }
        Scheme::StandardWebhooks => {
            let mac = hmac_sha256(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
            vec![
                ("webhook-id", id.to_owned()),
                ("webhook-timestamp", ts),
                ("webhook-signature", format!("v1,{}", to_base64(&mac))),
            ]
        }
        Scheme::Stripe => {
            let mac = hmac_sha256(&key, &[ts.as_bytes(), b".", body]);
            vec![("Stripe-Signature", format!("t={ts},v1={}", to_hex(&mac)))]
        }
        Scheme::Github => {
            let mac = hmac_sha256(&key, &[body]);
            vec![("X-Hub-Signature-256", format!("sha256={}", to_hex(&mac))), ("X-GitHub-Delivery", id.to_owned())]
        }
        Scheme::Slack => {
            let mac = hmac_sha256(&key, &[b"v0:", ts.as_bytes(), b":", body]);
            vec![("X-Slack-Signature", format!("v0={}", to_hex(&mac))), ("X-Slack-Request-Timestamp", ts)]
        }
        Scheme::Smallcase => return Err("smallcase signs fields of the body (checksum), not headers"),
    };
    Ok(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partners::webhooks::{SigningKeys, verify};

    #[test]
    fn signed_headers_verify() {
        for scheme in [Scheme::Schurter, Scheme::StandardWebhooks, Scheme::Stripe, Scheme::Github, Scheme::Slack] {
            let secret = "whsec_c2lnbmluZy1zZWNyZXQ=";
            let pairs = sign_headers(scheme, secret, b"{}", 1_000, "msg_1").unwrap();
            let headers: http::HeaderMap = pairs
                .iter()
                .map(|(k, v)| {
                    (http::HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).unwrap(), v.parse().unwrap())
                })
                .collect();
            let keys = SigningKeys::new(scheme, &[secret.to_owned()]).unwrap();
            assert!(verify(scheme, &keys, 300, &headers, b"{}", 1_000).is_ok(), "{scheme:?}");
        }
        assert!(sign_headers(Scheme::Smallcase, "s", b"{}", 0, "").is_err());
    }
}
