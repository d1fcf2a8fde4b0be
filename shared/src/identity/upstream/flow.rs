//! The two steps of an upstream sign-in, as the token function's edge calls them: [`start`] at
//! `GET /oauth/authorize` (a validated client request parked, the browser sent upstream) and [`finish`] at
//! `GET /oauth/callback` (the pending request taken, the upstream's answer turned into our code, or an error, for
//! the client).

use super::pending::{self, PendingError};
use super::{Callback, Upstream, UpstreamError, callback_url};
use crate::codec::form::Form;
use crate::identity::oauth::authorize::{AuthorizeRequest, redirect_with};
use crate::identity::oauth::grants::Grants;
use crate::ports::store::Store;

/// Where the browser goes to sign in upstream, and the cookie binding it to this sign-in.
pub struct Departure {
    pub location: String,
    pub cookie: String,
}

/// A callback that finishes nothing for any client: shown to the person as a page, never redirected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// Unknown, expired, used, or another browser's sign-in; or no code at all.
    #[error("{0}")]
    NoMatch(String),
    /// Our store or secrets did not answer: the person may start again.
    #[error("sign-in is unavailable right now; please try again")]
    Unavailable,
}

/// Parks `authorization` and answers where to send the browser (under the API's public `base`) at `now`.
pub async fn start(
    upstream: &dyn Upstream,
    store: &dyn Store,
    authorization: &AuthorizeRequest,
    base: &str,
    now: i64,
) -> Result<Departure, UpstreamError> {
    let started = pending::start(store, authorization, upstream.provider(), now).await.map_err(|error| {
        tracing::error!(%error, "pending authorization not stored");
        UpstreamError::Unavailable("sign-in is unavailable right now".into())
    })?;
    let location = upstream.authorization_url(&started.pending, &started.state, &callback_url(base)).await?;
    Ok(Departure { location, cookie: started.cookie })
}

/// Everything the client's redirect needs once the pending request is known: its location with our code, or
/// with an error code and description (RFC 6749 section 4.1.2.1), the client's state in either.
/// `grants` issues our code (and carries the store and "now").
pub async fn finish(
    upstream: &dyn Upstream,
    grants: &Grants<'_>,
    query: &Form,
    cookie: Option<&str>,
    base: &str,
) -> Result<String, CallbackError> {
    let (store, now) = (grants.store, grants.now);
    let field = |name: &str| query.get(name).ok().flatten().filter(|v| !v.is_empty());
    let Some(state) = field("state") else {
        return Err(CallbackError::NoMatch("The sign-in came back without its state.".into()));
    };
    let pending = match pending::take(store, state, cookie, now).await {
        Ok(pending) => pending,
        Err(PendingError::Store(error)) => {
            tracing::error!(%error, "pending authorization not read");
            return Err(CallbackError::Unavailable);
        }
        Err(error) => {
            tracing::warn!(%error, "upstream callback refused");
            return Err(CallbackError::NoMatch(format!("{}.", capitalised(&error.to_string()))));
        }
    };
    let authorization = &pending.authorization;
    let to_client = |error: &str, description: &str| {
        redirect_with(
            &authorization.redirect_uri,
            &[("error", error), ("error_description", description), ("state", authorization.state.as_str())],
        )
    };
    if pending.provider != upstream.provider() {
        return Err(CallbackError::NoMatch("This sign-in was started with another identity provider.".into()));
    }
    // The person declined (or the upstream refused the request): the client hears it, as the upstream said it.
    if let Some(error) = field("error") {
        let code = if error == "access_denied" { "access_denied" } else { "server_error" };
        tracing::info!(upstream_error = error.chars().take(64).collect::<String>(), "upstream sign-in not granted");
        return Ok(to_client(code, "the sign-in was not completed at the identity provider"));
    }
    let Some(code) = field("code") else {
        return Err(CallbackError::NoMatch("The sign-in came back without a code.".into()));
    };
    let callback = Callback { code: code.to_owned(), issuer: field("iss").map(str::to_owned) };
    match upstream.complete(&pending, &callback, &super::callback_url(base), now).await {
        Ok(user_id) => grants.finish(authorization, &user_id).await.map_err(|_| CallbackError::Unavailable),
        Err(UpstreamError::Unavailable(reason)) => {
            tracing::warn!(reason, "upstream sign-in unavailable");
            Ok(to_client("temporarily_unavailable", "the identity provider is unavailable; try again"))
        }
        Err(UpstreamError::Refused(reason)) => {
            tracing::warn!(reason, "upstream sign-in refused");
            Ok(to_client("access_denied", "the identity provider's answer was refused"))
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}
