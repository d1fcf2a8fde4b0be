//! An authorization waiting upstream: the client's validated request (ours to finish), the PKCE verifier and OIDC
//! nonce we sent upstream, and the browser it belongs to. Keyed by the SHA-256 of the upstream `state`, kept a few
//! minutes, and taken once: a callback whose state is unknown, expired, already used or from another browser
//! finishes nothing.

use crate::crypto::{constant_time_eq, random_token, sha256, to_hex};
use crate::identity::oauth::authorize::AuthorizeRequest;
use crate::identity::oauth::pkce;
use crate::ports::store::{Condition, Item, Store, StoreError, Value, keys};

/// How long a person has to sign in upstream (seconds).
pub const LIFETIME_S: i64 = 600;

/// The cookie binding a pending authorization to the browser that started it (`__Host-` over HTTPS).
/// `SameSite=Lax`: the callback is a top-level navigation from the upstream's site, which a `Strict` cookie would
/// not accompany.
pub const COOKIE: crate::codec::cookie::HostCookie =
    crate::codec::cookie::HostCookie { name: "switchyard_upstream", same_site: "Lax", max_age_s: LIFETIME_S };

/// One pending authorization, as the callback reads it back.
#[derive(Clone, PartialEq, Eq)]
pub struct Pending {
    /// Our client's request, validated when it arrived.
    pub authorization: AuthorizeRequest,
    /// Which upstream the person was sent to.
    pub provider: String,
    /// The PKCE verifier of our request upstream.
    pub verifier: String,
    /// The OpenID Connect nonce the ID token must carry.
    pub nonce: String,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("client_id", &self.authorization.client_id)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// A pending authorization just made: what to send upstream and what to give the browser.
pub struct Started {
    pub pending: Pending,
    /// The upstream `state` (256 random bits; only its hash is stored).
    pub state: String,
    /// The browser's binding, for [`COOKIE`].
    pub cookie: String,
}

/// Why a callback finishes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PendingError {
    #[error("this sign-in is unknown, was already finished, or has expired")]
    Unknown,
    #[error("this sign-in was started in another browser")]
    OtherBrowser,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn hash(text: &str) -> String {
    to_hex(&sha256(text.as_bytes()))
}

/// Attribute names of the stored item.
mod attr {
    pub const CLIENT: &str = "clientId";
    pub const REDIRECT: &str = "redirectUri";
    pub const SCOPE: &str = "scope";
    pub const STATE: &str = "clientState";
    pub const CHALLENGE: &str = "codeChallenge";
    pub const PROVIDER: &str = "provider";
    pub const VERIFIER: &str = "verifier";
    pub const NONCE: &str = "nonce";
    pub const BROWSER: &str = "browser";
    pub const EXPIRES: &str = "expiresAt";
}

/// Stores a pending authorization of `authorization` sent to `provider` at `now`.
pub async fn start(
    store: &dyn Store,
    authorization: &AuthorizeRequest,
    provider: &str,
    now: i64,
) -> Result<Started, StoreError> {
    let (state, cookie) = (random_token(32), random_token(16));
    let pending = Pending {
        authorization: authorization.clone(),
        provider: provider.to_owned(),
        verifier: pkce::new_verifier(),
        nonce: random_token(16),
    };
    let a = &pending.authorization;
    let mut item = Item::new(keys::upstream_pending(&hash(&state)))
        .with(attr::CLIENT, Value::str(&a.client_id))
        .with(attr::REDIRECT, Value::str(&a.redirect_uri))
        .with(attr::SCOPE, Value::str(&a.scope))
        .with(attr::STATE, Value::str(&a.state))
        .with(attr::PROVIDER, Value::str(provider))
        .with(attr::VERIFIER, Value::str(&pending.verifier))
        .with(attr::NONCE, Value::str(&pending.nonce))
        .with(attr::BROWSER, Value::str(hash(&cookie)))
        .with(attr::EXPIRES, Value::int(now + LIFETIME_S))
        .expiring_at(now + LIFETIME_S);
    if let Some(challenge) = &a.code_challenge {
        item = item.with(attr::CHALLENGE, Value::str(challenge));
    }
    store.put(item, Condition::ItemAbsent).await?;
    Ok(Started { pending, state, cookie })
}

/// Takes the pending authorization of upstream `state` for the browser holding `cookie` at `now`: once.
pub async fn take(store: &dyn Store, state: &str, cookie: Option<&str>, now: i64) -> Result<Pending, PendingError> {
    if state.is_empty() || state.len() > 256 {
        return Err(PendingError::Unknown);
    }
    let key = keys::upstream_pending(&hash(state));
    let item = store.get(&key).await?.ok_or(PendingError::Unknown)?;
    if item.i64(attr::EXPIRES).unwrap_or(0) <= now {
        return Err(PendingError::Unknown);
    }
    let browser = item.str(attr::BROWSER).unwrap_or_default();
    // A mismatch leaves the pending authorization in place: someone else's callback cannot cancel the person's.
    if !cookie.is_some_and(|c| constant_time_eq(hash(c).as_bytes(), browser.as_bytes())) {
        return Err(PendingError::OtherBrowser);
    }
    // Taken by the one delete that finds it: a second callback with the same state finds nothing.
    match store.delete(&key, Condition::ItemPresent).await {
        Ok(()) => {}
        Err(e) if e.is_condition_failed() => return Err(PendingError::Unknown),
        Err(e) => return Err(e.into()),
    }
    let field = |name: &str| item.str(name).unwrap_or_default().to_owned();
    Ok(Pending {
        authorization: AuthorizeRequest {
            client_id: field(attr::CLIENT),
            redirect_uri: field(attr::REDIRECT),
            scope: field(attr::SCOPE),
            state: field(attr::STATE),
            code_challenge: item.str(attr::CHALLENGE).map(str::to_owned),
        },
        provider: field(attr::PROVIDER),
        verifier: field(attr::VERIFIER),
        nonce: field(attr::NONCE),
    })
}

/// The `Set-Cookie` value binding the browser (`secure` when served over HTTPS).
pub fn set_cookie(value: &str, secure: bool) -> String {
    COOKIE.set(value, secure)
}

/// Our cookie's value from a `Cookie` header (`secure`: the request came over HTTPS).
pub fn cookie_value(header: &str, secure: bool) -> Option<&str> {
    COOKIE.value(header, secure)
}
