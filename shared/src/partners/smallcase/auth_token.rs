//! The smallcaseAuthToken: an HS256 JWT signed with the Gateway `secret`, whose payload is exactly
//! `{"guest": true}` or `{"smallcaseAuthId": "..."}`, plus `iat` and `exp`.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

#[derive(Serialize)]
#[serde(untagged)]
enum Payload<'a> {
    Guest {
        guest: bool,
        iat: i64,
        exp: i64,
    },
    Connected {
        #[serde(rename = "smallcaseAuthId")]
        smallcase_auth_id: &'a str,
        iat: i64,
        exp: i64,
    },
}

/// A signed token for a connected user (`Some(auth id)`) or a guest (`None`), valid from `now` for `ttl_s`.
pub fn sign(secret: &str, smallcase_auth_id: Option<&str>, now: i64, ttl_s: i64) -> String {
    let (iat, exp) = (now, now + ttl_s);
    let payload = match smallcase_auth_id {
        Some(id) => Payload::Connected { smallcase_auth_id: id, iat, exp },
        None => Payload::Guest { guest: true, iat, exp },
    };
    // The header is exactly {"typ":"JWT","alg":"HS256"}: the Gateway knows no key ids.
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &payload, &EncodingKey::from_secret(secret.as_bytes()))
        .unwrap_or_default()
}

/// The smallcaseAuthId in `token` if it is an HS256 token signed with `secret` (expiry not required: the Gateway's
/// own tokens may carry none); `None` for a guest token or anything that does not verify.
pub fn auth_id_of(token: &str, secret: &str) -> Option<String> {
    use jsonwebtoken::{DecodingKey, Validation};
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let claims =
        jsonwebtoken::decode::<serde_json::Value>(token, &DecodingKey::from_secret(secret.as_bytes()), &validation)
            .ok()?
            .claims;
    claims.get("smallcaseAuthId")?.as_str().map(str::to_owned)
}
