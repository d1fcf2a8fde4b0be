//! Signing in at `POST /oauth/authorize`: the form's CSRF pair and fields checked, then the per-login throttle
//! reserved first, then the sandbox's hashing budget, the password checked (a decoy hash for unknown logins, so the
//! answer time tells nothing), then a one-time code for the client (RFC 6749 section 4.1.2). Nothing an anonymous
//! caller sends makes a 5xx: a spent budget is a 429.

use super::authorize::AuthorizeRequest;
use super::csrf;
use super::grants::{Grants, Lifetimes};
use super::settings::OAuthSettings;
use super::throttle::{HashBudget, LoginThrottle, Reservation};
use crate::codec::form::Form;
use crate::env::{ConfigError, Vars};
use crate::identity::users::{Users, password};
use crate::ports::store::Store;

/// Why no code was issued; the edge shows each on the form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// The sandbox's hashing budget is spent: try again in a moment (429 with `Retry-After`).
    #[error("sign-in is busy")]
    Busy,
    /// Too many failed attempts for this login within the window.
    #[error("too many failed sign-ins; retry in {retry_after_s} s")]
    Throttled { retry_after_s: i64 },
    /// The login is unknown or the password wrong (one answer for both).
    #[error("the login or password is incorrect")]
    WrongCredentials,
    /// The store could not answer.
    #[error("sign-in is unavailable")]
    Unavailable,
}

/// Why the sign-in form was not accepted; the edge shows each on the form again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The form's CSRF token does not match its cookie, or is older than a form lives.
    #[error("the sign-in form has expired")]
    Expired,
    /// The login or the password field is missing or empty.
    #[error("the login and password are needed")]
    MissingCredentials,
    #[error(transparent)]
    SignIn(#[from] SignInError),
}

/// The sign-in policy of one function: how failed attempts are counted and how much hashing a sandbox does.
pub struct SignInPolicy {
    pub throttle: LoginThrottle,
    pub hash_budget: HashBudget,
    pub lifetimes: Lifetimes,
}

impl SignInPolicy {
    /// From `OAUTH_LOGIN_MAX_FAILURES` and `OAUTH_LOGIN_WINDOW_S` (the throttle), `OAUTH_HASHES_PER_MINUTE` and
    /// `OAUTH_HASH_BURST` (the sandbox's hashing budget), and the grant lifetimes.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let defaults = LoginThrottle::default();
        let throttle = LoginThrottle {
            max_failures: vars.parse_or("OAUTH_LOGIN_MAX_FAILURES", defaults.max_failures)?,
            window_s: vars.parse_or("OAUTH_LOGIN_WINDOW_S", defaults.window_s)?,
        };
        if throttle.max_failures < 1 || throttle.window_s < 1 {
            return Err(ConfigError::new("OAUTH_LOGIN_WINDOW_S", "the login throttle needs positive values"));
        }
        let hash_budget =
            HashBudget::new(vars.parse_or("OAUTH_HASHES_PER_MINUTE", 120)?, vars.parse_or("OAUTH_HASH_BURST", 4)?);
        Ok(Self { throttle, hash_budget, lifetimes: Lifetimes::from_vars(vars)? })
    }

    /// The sign-in form's submission (`fields`, and the CSRF cookie the browser sent with it) for `authorization`:
    /// the client's redirect location once the form checks out and its credentials sign in.
    pub async fn submit(
        &self,
        store: &dyn Store,
        settings: &OAuthSettings,
        authorization: &AuthorizeRequest,
        (fields, csrf_cookie): (&Form, Option<&str>),
        now: i64,
    ) -> Result<String, SubmitError> {
        let token = fields.get("csrf_token").ok().flatten().unwrap_or_default();
        let keys = settings.keys.iter().map(|k| k.secret.as_bytes());
        if !csrf::verify(keys, token, csrf_cookie, now) {
            return Err(SubmitError::Expired);
        }
        let (Ok(Some(login)), Ok(Some(password))) = (fields.get("username"), fields.get("password")) else {
            return Err(SubmitError::MissingCredentials);
        };
        if login.is_empty() || password.is_empty() {
            return Err(SubmitError::MissingCredentials);
        }
        Ok(self.sign_in(store, settings, authorization, (login, password), now).await?)
    }

    /// Signs `login` in for `authorization` at `now`: the client's redirect location, with a code and the state.
    pub async fn sign_in(
        &self,
        store: &dyn Store,
        settings: &OAuthSettings,
        authorization: &AuthorizeRequest,
        (login, password): (&str, &str),
        now: i64,
    ) -> Result<String, SignInError> {
        // A login that cannot exist is wrong whatever the password: nothing is read, counted or hashed (and no
        // store key is built from it).
        let Ok(throttle_key) = Users::normalize_login(login) else {
            tracing::info!(client_id = authorization.client_id, "sign-in refused: not a login");
            return Err(SignInError::WrongCredentials);
        };
        // Throttled by the normalized login, so spelling variants share one counter; unknown logins count too.
        // The attempt is reserved before the password is hashed, so concurrent attempts cannot overtake the count,
        // and before the hashing budget is touched, so a flood on a locked login spends none of it.
        let window = match self.throttle.reserve(store, &throttle_key, now).await {
            Ok(Reservation::Granted { window }) => window,
            Ok(Reservation::Refused { retry_after_s }) => {
                tracing::warn!("sign-in throttled");
                return Err(SignInError::Throttled { retry_after_s });
            }
            Err(error) => {
                tracing::error!(%error, "throttle check failed");
                return Err(SignInError::Unavailable);
            }
        };
        // A ceiling on hashing per sandbox: past it, the attempt is given back (it was not one) and refused for now.
        if !self.hash_budget.try_take() {
            tracing::warn!("sign-in refused: the sandbox's hashing budget is spent");
            if let Err(error) = self.throttle.release(store, &throttle_key, window).await {
                tracing::warn!(%error, "sign-in reservation not given back");
            }
            return Err(SignInError::Busy);
        }
        let credentials = Users::new(store).credentials(login).await.map_err(|error| {
            tracing::error!(%error, "user lookup failed");
            SignInError::Unavailable
        })?;
        let accepted = password::verify(password, credentials.as_ref().map(|(_, hash)| hash.as_str()));
        let user = match credentials {
            Some((user, _)) if accepted => user,
            _ => {
                tracing::info!(client_id = authorization.client_id, "sign-in refused");
                return Err(SignInError::WrongCredentials);
            }
        };
        // A successful sign-in is not a failed attempt.
        if let Err(error) = self.throttle.release(store, &throttle_key, window).await {
            tracing::warn!(%error, "sign-in reservation not given back");
        }
        let grants = Grants { store, settings, lifetimes: self.lifetimes, now };
        grants.finish(authorization, &user.id).await.map_err(|_| SignInError::Unavailable)
    }
}
