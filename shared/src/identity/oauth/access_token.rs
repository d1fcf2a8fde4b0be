//! Access tokens: HS256 JWTs with a `kid`, signed with the first key of the `oauth` secret, verified with any.

use super::settings::OAuthSettings;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The claims of our access tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// Our user id.
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    /// `<family id>.<random>`: names the refresh-token family the token belongs to, so revoking the family
    /// revokes its access tokens too.
    pub jti: String,
    /// Space-separated scopes.
    pub scope: String,
    pub client_id: String,
}

impl AccessClaims {
    /// The refresh-token family this token was issued in.
    pub fn family_id(&self) -> &str {
        self.jti.split_once('.').map_or("", |(family, _)| family)
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

/// Why a token was not accepted. Messages are safe to return to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no access token was presented")]
    Missing,
    #[error("the access token is malformed")]
    Malformed,
    #[error("the access token was signed with an unknown key")]
    UnknownKey,
    #[error("the access token's signature is invalid")]
    BadSignature,
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not meant for this API")]
    WrongAudience,
    #[error("the access token was issued by someone else")]
    WrongIssuer,
    #[error("the access token has been revoked")]
    Revoked,
    /// Genuine, but its user is no longer linked with the client the API accepts (403, not 401).
    #[error("the account is not linked")]
    NotLinked,
    /// Genuine, but without the scope the API requires (403, RFC 6750's `insufficient_scope`).
    #[error("the access token lacks the scope this API requires")]
    InsufficientScope,
    #[error("tokens cannot be checked right now; try again")]
    Unavailable,
}

/// Signs `claims` with the current signing key.
pub fn sign(settings: &OAuthSettings, claims: &AccessClaims) -> String {
    let key = settings.signing_key();
    let header = Header { kid: Some(key.kid.clone()), ..Header::new(Algorithm::HS256) };
    // Encoding serializable claims with an HMAC key has no failure mode for these types.
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(key.secret.as_bytes())).unwrap_or_default()
}

/// Checks signature (by `kid`, any configured key), issuer, audience (one of `audiences`) and expiry at `now`.
/// Revocation needs the store: see [`super::grants::Grants::check_not_revoked`].
pub fn verify(settings: &OAuthSettings, token: &str, audiences: &[&str], now: i64) -> Result<AccessClaims, TokenError> {
    let claims = verify_genuine(settings, token, audiences)?;
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// Whether `token` is one of ours for `audiences` (signature under a current key, issuer, audience), whatever its
/// expiry: for the one call that must work with an expired token (Sber's unlink, made whatever we answer).
pub fn verify_genuine(settings: &OAuthSettings, token: &str, audiences: &[&str]) -> Result<AccessClaims, TokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
    if header.alg != Algorithm::HS256 {
        return Err(TokenError::Malformed);
    }
    let kid = header.kid.ok_or(TokenError::UnknownKey)?;
    let key = settings.key(&kid).ok_or(TokenError::UnknownKey)?;
    let mut validation = Validation::new(Algorithm::HS256);
    // Expiry is checked by `verify` against the caller's clock; audience and issuer here, exactly.
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.set_audience(audiences);
    validation.set_issuer(&[settings.issuer.as_str()]);
    let data =
        jsonwebtoken::decode::<AccessClaims>(token, &DecodingKey::from_secret(key.secret.as_bytes()), &validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::InvalidSignature => TokenError::BadSignature,
                    ErrorKind::InvalidAudience => TokenError::WrongAudience,
                    ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
                    _ => TokenError::Malformed,
                }
            })?;
    Ok(data.claims)
}

/// The token of an `Authorization: Bearer <token>` header value (RFC 6750 section 2.1).
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::oauth::settings::SigningKey;

    fn settings(keys: &[(&str, &str)]) -> OAuthSettings {
        OAuthSettings {
            issuer: "https://id.example.com".into(),
            keys: keys
                .iter()
                .map(|(kid, secret)| SigningKey { kid: (*kid).into(), secret: (*secret).into() })
                .collect(),
            clients: vec![],
        }
    }

    fn claims() -> AccessClaims {
        AccessClaims {
            iss: "https://id.example.com".into(),
            sub: "u-1".into(),
            aud: "sber".into(),
            exp: 2_000,
            iat: 1_000,
            jti: "fam.abc".into(),
            scope: "smarthome read".into(),
            client_id: "sber".into(),
        }
    }

    const K1: &str = "first-key-first-key-first-key-32b";
    const K2: &str = "second-key-second-key-second-key";

    #[test]
    fn round_trip_and_every_failure() {
        let current = settings(&[("k1", K1)]);
        let token = sign(&current, &claims());
        assert_eq!(verify(&current, &token, &["sber"], 1_500), Ok(claims()));
        assert_eq!(claims().family_id(), "fam");
        assert!(claims().has_scope("read") && !claims().has_scope("rea"));
        assert_eq!(verify(&current, &token, &["sber"], 2_000), Err(TokenError::Expired));
        assert_eq!(verify(&current, &token, &["smallcase"], 1_500), Err(TokenError::WrongAudience));
        let other_issuer = OAuthSettings { issuer: "https://evil.example.com".into(), ..current.clone() };
        assert_eq!(verify(&other_issuer, &token, &["sber"], 1_500), Err(TokenError::WrongIssuer));
        assert_eq!(verify(&settings(&[("k2", K2)]), &token, &["sber"], 1_500), Err(TokenError::UnknownKey));
        assert_eq!(verify(&settings(&[("k1", K2)]), &token, &["sber"], 1_500), Err(TokenError::BadSignature));
        assert_eq!(verify(&current, "not.a.jwt", &["sber"], 1_500), Err(TokenError::Malformed));
        assert_eq!(verify(&current, "", &["sber"], 1_500), Err(TokenError::Malformed));
    }

    #[test]
    fn rotation_verifies_tokens_of_the_previous_key() {
        let before = settings(&[("k1", K1)]);
        let after = settings(&[("k2", K2), ("k1", K1)]);
        let old = sign(&before, &claims());
        let new = sign(&after, &claims());
        assert!(verify(&after, &old, &["sber"], 1_500).is_ok());
        assert!(verify(&after, &new, &["sber"], 1_500).is_ok());
        assert_eq!(verify(&before, &new, &["sber"], 1_500), Err(TokenError::UnknownKey));
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        use crate::crypto::to_base64url;
        let current = settings(&[("k1", K1)]);
        let body = to_base64url(serde_json::to_string(&claims()).unwrap().as_bytes());
        for header in [r#"{"alg":"none","kid":"k1"}"#, r#"{"alg":"HS512","kid":"k1"}"#] {
            let token = format!("{}.{body}.", to_base64url(header.as_bytes()));
            assert_eq!(verify(&current, &token, &["sber"], 1_500), Err(TokenError::Malformed), "{header}");
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_tokens_are_refused_without_panicking(token in ".{0,300}", parts in "[A-Za-z0-9_.-]{0,200}") {
            let current = settings(&[("k1", K1)]);
            proptest::prop_assert!(verify(&current, &token, &["sber"], 1_500).is_err());
            proptest::prop_assert!(verify(&current, &parts, &["sber"], 1_500).is_err());
            let _ = bearer(&token);
        }

        #[test]
        fn any_change_to_a_signed_token_is_refused(index in 0usize..400, replacement in "[A-Za-z0-9_-]") {
            let current = settings(&[("k1", K1)]);
            let token = sign(&current, &claims());
            let index = index % token.len();
            let mut changed = token.clone();
            changed.replace_range(index..=index, &replacement);
            if changed != token {
                // Base64url's last character may carry unused bits: a change there can decode to the same bytes.
                let decoded_same = index == token.len() - 1 && verify(&current, &changed, &["sber"], 1_500).is_ok();
                proptest::prop_assert!(decoded_same || verify(&current, &changed, &["sber"], 1_500).is_err());
            }
        }
    }

    #[test]
    fn bearer_headers() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearer"), None);
    }
}
