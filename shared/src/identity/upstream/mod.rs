//! Signing in with an identity the person already has (an *upstream*: smart-me's OAuth 2.0, any OpenID Connect
//! provider) instead of a password of ours. Our authorization server stays what clients (Sber, the vendor's app)
//! talk to: their request is validated as always, parked as a [`pending`] authorization, the browser is sent
//! upstream with our own client, state, PKCE and nonce, and the upstream's callback finishes the client's
//! authorization with a code of ours. Only how the person at the browser is identified changes.
//!
//! | step | what |
//! |---|---|
//! | `GET /oauth/authorize` | the client's request validated; [`pending::start`]; 302 to [`Upstream::authorization_url`] |
//! | upstream | the person signs in there and allows (or declines) our client |
//! | `GET /oauth/callback` | [`pending::take`] (state, browser, once); [`Upstream::complete`] names our user; our code to the client |

pub mod flow;
pub mod identities;
pub mod oidc;
pub mod pending;

use crate::env::{ConfigError, Vars};
use pending::Pending;

/// How the person at the browser is identified (`SIGN_IN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMode {
    /// Our own users: login and password (`switchyard user add`).
    Local,
    /// smart-me accounts (smart-me's OAuth 2.0).
    SmartMe,
    /// Any OpenID Connect provider (`OIDC_ISSUER`).
    Oidc,
}

impl SignInMode {
    pub const VARIABLE: &str = "SIGN_IN";

    /// `SIGN_IN`: `local` (the default), `smartme` or `oidc`.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        match vars.get_or(Self::VARIABLE, "local").trim().to_ascii_lowercase().as_str() {
            "local" => Ok(Self::Local),
            "smartme" => Ok(Self::SmartMe),
            "oidc" => Ok(Self::Oidc),
            _ => Err(ConfigError::new(Self::VARIABLE, "use local, smartme or oidc")),
        }
    }
}

/// What the upstream's callback carried.
#[derive(Clone, PartialEq, Eq)]
pub struct Callback {
    pub code: String,
    /// RFC 9207's `iss`, when the upstream sends it.
    pub issuer: Option<String>,
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callback").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

/// Why an upstream sign-in did not name a user. Messages are safe to show and log (no token, no code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream or our store did not answer as it should right now: the person may try again.
    #[error("{0}")]
    Unavailable(String),
    /// The upstream refused what we sent (the code, our client), or what it sent does not verify.
    #[error("{0}")]
    Refused(String),
}

/// An upstream identity provider as the sign-in flow uses it.
#[async_trait::async_trait]
pub trait Upstream: Send + Sync {
    /// Its name in our records (`smartme`, `oidc`).
    fn provider(&self) -> &'static str;

    /// Where to send the browser for `pending`, with our `state` and our callback `redirect_uri`.
    async fn authorization_url(
        &self,
        pending: &Pending,
        state: &str,
        redirect_uri: &str,
    ) -> Result<String, UpstreamError>;

    /// The person came back with a code: exchange it, verify who they are, and answer our user id for them
    /// (created on their first sign-in), with whatever the upstream's linking keeps (grants, meters) done.
    async fn complete(
        &self,
        pending: &Pending,
        callback: &Callback,
        redirect_uri: &str,
        now: i64,
    ) -> Result<String, UpstreamError>;
}

/// Our callback URL under `base` (the public base of the API).
pub fn callback_url(base: &str) -> String {
    format!("{}/oauth/callback", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_is_read_strictly() {
        assert_eq!(SignInMode::from_vars(&Vars::default()).unwrap(), SignInMode::Local);
        assert_eq!(SignInMode::from_vars(&Vars::from_pairs([("SIGN_IN", "SmartMe")])).unwrap(), SignInMode::SmartMe);
        assert_eq!(SignInMode::from_vars(&Vars::from_pairs([("SIGN_IN", "oidc")])).unwrap(), SignInMode::Oidc);
        assert!(SignInMode::from_vars(&Vars::from_pairs([("SIGN_IN", "saml")])).is_err());
        assert_eq!(callback_url("https://api.example.com/"), "https://api.example.com/oauth/callback");
    }
}
