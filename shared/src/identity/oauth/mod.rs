//! Our OAuth 2.0 authorization server (RFC 6749 with PKCE, RFC 7636) for account linking, and the access-token
//! verification every protected route uses.

pub mod access_token;
pub mod authorize;
pub mod client_auth;
pub mod csrf;
pub mod grants;
pub mod login_page;
pub mod pkce;
pub mod settings;
pub mod throttle;

pub use access_token::{AccessClaims, TokenError};
pub use settings::OAuthSettings;

use crate::Deps;
use crate::ports::store::{Store, keys};

/// Verifies bearer access tokens for one API (one or more accepted audiences).
#[derive(Debug, Clone)]
pub struct AccessVerifier {
    /// The issuer when the `oauth` secret names none (the public URL), as the token function uses it.
    pub fallback_issuer: Option<String>,
    pub audiences: Vec<String>,
}

impl AccessVerifier {
    /// Full verification of `token` at `now`: signature by `kid`, issuer, audience, expiry, then revocation.
    pub async fn verify(&self, deps: &Deps, token: Option<&str>, now: i64) -> Result<AccessClaims, TokenError> {
        let token = token.ok_or(TokenError::Missing)?;
        let settings =
            OAuthSettings::load(deps.secrets.as_ref(), self.fallback_issuer.as_deref()).await.map_err(|e| {
                tracing::error!(error = %e, "oauth secret unavailable");
                TokenError::Unavailable
            })?;
        let audiences: Vec<&str> = self.audiences.iter().map(String::as_str).collect();
        let claims = access_token::verify(&settings, token, &audiences, now)?;
        check_not_revoked(deps.store.as_ref(), &claims).await?;
        Ok(claims)
    }
}

/// Fails when the token's family was revoked (code or refresh-token reuse, unlinking) or no longer exists.
pub async fn check_not_revoked(store: &dyn Store, claims: &AccessClaims) -> Result<(), TokenError> {
    let key = keys::token_family(&claims.sub, &claims.client_id, claims.family_id());
    match store.get(&key).await {
        Ok(Some(family)) if family.get("revoked").is_none() => Ok(()),
        Ok(_) => Err(TokenError::Revoked),
        Err(error) => {
            tracing::error!(%error, "token revocation check failed");
            Err(TokenError::Unavailable)
        }
    }
}
