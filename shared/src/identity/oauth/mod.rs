//! Our OAuth 2.0 authorization server (RFC 6749 with PKCE, RFC 7636) for account linking, and the access-token
//! verification every protected route uses.

pub mod access_token;
pub mod authorize;
pub mod client_auth;
pub mod csrf;
pub mod error;
pub mod grants;
pub mod login_page;
pub mod pkce;
pub mod settings;
pub mod sign_in;
pub mod throttle;
pub mod token_request;

pub use access_token::{AccessClaims, TokenError};
pub use settings::OAuthSettings;

use crate::ports::Deps;
use crate::ports::store::{Store, keys};

/// Which tokens an API accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepts {
    /// Any client's token for one of these audiences (the smallcase routes).
    Audiences(Vec<String>),
    /// Only tokens issued to this client, for its audience, of a user still linked with it (Sber).
    LinkedClient(String),
}

/// Verifies bearer access tokens for one API.
#[derive(Debug, Clone)]
pub struct AccessVerifier {
    /// The issuer when the `oauth` secret names none (the public URL), as the token function uses it.
    pub fallback_issuer: Option<String>,
    pub accepts: Accepts,
    /// A scope the token must carry (its `scope` claim, space-separated), when the API requires one.
    pub required_scope: Option<String>,
}

impl AccessVerifier {
    pub fn for_audiences(fallback_issuer: Option<String>, audiences: Vec<String>) -> Self {
        Self { fallback_issuer, accepts: Accepts::Audiences(audiences), required_scope: None }
    }

    pub fn for_linked_client(fallback_issuer: Option<String>, client_id: &str) -> Self {
        Self { fallback_issuer, accepts: Accepts::LinkedClient(client_id.to_owned()), required_scope: None }
    }

    /// The same verifier, also requiring `scope` in the token (none when empty): an audience says which API a token
    /// is for, a scope what it may do there.
    pub fn requiring_scope(mut self, scope: &str) -> Self {
        self.required_scope = Some(scope.trim().to_owned()).filter(|s| !s.is_empty());
        self
    }

    /// Full verification of `token` at `now`: signature by `kid`, issuer, audience, expiry, the client's link
    /// where the API needs one, then revocation.
    pub async fn verify(&self, deps: &Deps, token: Option<&str>, now: i64) -> Result<AccessClaims, TokenError> {
        self.check(deps, token, Some(now)).await
    }

    /// Verification for unlinking (a partner unlinks whatever we answer, so the link must go): a genuine token
    /// passes even expired, and so does one of a user already unlinked (unlinking again is a no-op); a revoked
    /// token of a still-linked user does not (a token revoked for theft must not unlink the account).
    pub async fn verify_unlinking(&self, deps: &Deps, token: Option<&str>) -> Result<AccessClaims, TokenError> {
        self.check(deps, token, None).await
    }

    /// `now` is `None` when unlinking: expiry is not checked, and an unlinked user passes.
    async fn check(&self, deps: &Deps, token: Option<&str>, now: Option<i64>) -> Result<AccessClaims, TokenError> {
        let token = token.ok_or(TokenError::Missing)?;
        let settings = OAuthSettings::load_for_request(deps.secrets.as_ref(), self.fallback_issuer.as_deref())
            .await
            .map_err(|_| TokenError::Unavailable)?;
        let audiences: Vec<&str> = match &self.accepts {
            Accepts::Audiences(audiences) => audiences.iter().map(String::as_str).collect(),
            Accepts::LinkedClient(client_id) => match settings.client(client_id) {
                Some(client) => vec![client.audience.as_str()],
                None => {
                    tracing::error!(client_id, "the linked client is no client of the oauth secret");
                    return Err(TokenError::Unavailable);
                }
            },
        };
        let claims = match now {
            Some(now) => access_token::verify(&settings, token, &audiences, now)?,
            None => access_token::verify_genuine(&settings, token, &audiences)?,
        };
        if let Accepts::LinkedClient(client_id) = &self.accepts {
            if &claims.client_id != client_id {
                return Err(TokenError::WrongAudience);
            }
            match grants::is_linked(deps.store.as_ref(), &claims.sub, client_id).await {
                Ok(true) => {}
                Ok(false) if now.is_none() => return Ok(claims),
                Ok(false) => return Err(TokenError::NotLinked),
                Err(error) => {
                    tracing::error!(%error, "link state unavailable");
                    return Err(TokenError::Unavailable);
                }
            }
        }
        // Unlinking needs no scope: any genuine token of the linked client may end the link.
        if let (Some(scope), Some(_)) = (&self.required_scope, now)
            && !claims.scope.split(' ').any(|granted| granted == scope)
        {
            return Err(TokenError::InsufficientScope);
        }
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
