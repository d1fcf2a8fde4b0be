//! Authorization codes, refresh-token families and revocation, over the store.
//!
//! A *family* is one account linking of a user with a client. Every code exchange starts one; every refresh rotates
//! its single current refresh token. Presenting a code twice, or a refresh token that was already rotated, revokes
//! the family, and with it every access token issued in it (their `jti` names the family) — except a refresh
//! retried within the grace period (`OAUTH_REFRESH_GRACE_S`): a client whose answer was lost presents the same
//! token again, and gets a fresh pair in the same family (the token it never received stops working).

use super::access_token::{self, AccessClaims};
use super::authorize::{AuthorizeRequest, redirect_with};
use super::pkce;
use super::settings::{Client, OAuthSettings};
use crate::crypto::{random_token, sha256, to_hex};
use crate::env::{ConfigError, Vars};
use crate::ports::store::{Condition, Item, Query, SortRange, Store, StoreError, Update, Value, Write, keys};
use serde_json::{Value as Json, json};

/// How long each credential lives, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub access_s: i64,
    pub refresh_s: i64,
    pub code_s: i64,
    /// How long after its rotation a refresh token is still accepted from its client, for a retry whose answer was
    /// lost (0: strict rotation, any reuse revokes).
    pub refresh_grace_s: i64,
}

/// The longest grace period accepted: a retry comes at once, and a longer window only helps a thief.
const MAX_REFRESH_GRACE_S: i64 = 300;

/// How long a used code is remembered, so a second presentation is recognised as reuse.
const USED_CODE_MEMORY_S: i64 = 600;

impl Lifetimes {
    /// `OAUTH_ACCESS_TTL_S` (default one hour), `OAUTH_REFRESH_TTL_S` (default five times the access lifetime,
    /// at least one hour, Sber's rule; a shorter configured value is refused) and `OAUTH_REFRESH_GRACE_S` (default
    /// 60, at most 300; 0 keeps strict rotation).
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let access_s: i64 = vars.parse_or("OAUTH_ACCESS_TTL_S", 3600)?;
        if !(60..=86_400).contains(&access_s) {
            return Err(ConfigError::new("OAUTH_ACCESS_TTL_S", "must be 60 to 86400 seconds"));
        }
        let refresh_s: i64 = vars.parse_or("OAUTH_REFRESH_TTL_S", (5 * access_s).max(3600))?;
        if refresh_s < 3600 || refresh_s <= access_s {
            return Err(ConfigError::new("OAUTH_REFRESH_TTL_S", "must be at least 3600 and longer than access tokens"));
        }
        let refresh_grace_s: i64 = vars.parse_or("OAUTH_REFRESH_GRACE_S", 60)?;
        if !(0..=MAX_REFRESH_GRACE_S).contains(&refresh_grace_s) {
            return Err(ConfigError::new("OAUTH_REFRESH_GRACE_S", "must be 0 to 300 seconds"));
        }
        Ok(Self { access_s, refresh_s, code_s: 60, refresh_grace_s })
    }
}

/// What an authorization code stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeGrant {
    pub user_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    /// Space-separated.
    pub scope: String,
    /// S256 challenge, when the client sent one.
    pub challenge: Option<String>,
}

/// A successful token response (RFC 6749 section 5.1).
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: Option<String>,
    pub scope: String,
    pub claims: AccessClaims,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet").field("claims", &self.claims).finish_non_exhaustive()
    }
}

impl TokenSet {
    pub fn to_json(&self) -> Json {
        let mut body = json!({
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        });
        if let Some(refresh) = &self.refresh_token {
            body["refresh_token"] = Json::String(refresh.clone());
        }
        body
    }
}

/// Why a grant was refused (RFC 6749 section 5.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("the requested scope exceeds what was granted")]
    InvalidScope,
    #[error("the token service is unavailable; try again")]
    Unavailable,
}

impl From<StoreError> for GrantError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "oauth store call failed");
        Self::Unavailable
    }
}

const CODE_INVALID: &str = "the authorization code is invalid or has expired";
const CODE_REUSED: &str = "the authorization code was already used; the tokens issued for it are revoked";
const REFRESH_INVALID: &str = "the refresh token is invalid or has expired";
const REFRESH_REUSED: &str = "the refresh token was already used; every token of its linking is revoked";

/// On a rotated refresh token: the hash of the token it was rotated to.
const SUCCESSOR: &str = "next";

/// A token family, by its key and what names it.
struct FamilyRef<'a> {
    key: &'a crate::ports::store::Key,
    user_id: &'a str,
    client_id: &'a str,
    family_id: &'a str,
}

/// The grant operations, for one request at time `now`.
pub struct Grants<'a> {
    pub store: &'a dyn Store,
    pub settings: &'a OAuthSettings,
    pub lifetimes: Lifetimes,
    pub now: i64,
}

fn token_hash(token: &str) -> String {
    to_hex(&sha256(token.as_bytes()))
}

impl Grants<'_> {
    /// Stores a one-time code for `grant` and returns it; only its hash is stored.
    pub async fn issue_code(&self, grant: &CodeGrant) -> Result<String, GrantError> {
        let code = random_token(32);
        let mut item = Item::new(keys::oauth_code(&token_hash(&code)))
            .with("userId", Value::str(&grant.user_id))
            .with("clientId", Value::str(&grant.client_id))
            .with("redirectUri", Value::str(&grant.redirect_uri))
            .with("scope", Value::str(&grant.scope))
            .with("expiresAt", Value::int(self.now + self.lifetimes.code_s))
            .expiring_at(self.now + USED_CODE_MEMORY_S);
        if let Some(challenge) = &grant.challenge {
            item = item.with("challenge", Value::str(challenge));
        }
        match self.store.put(item, Condition::ItemAbsent).await {
            Ok(()) => Ok(code),
            // 256 random bits do not collide: the item there is ours, put by an attempt whose answer was lost
            // before the SDK retried.
            Err(e) if e.is_condition_failed() => Ok(code),
            Err(e) => Err(e.into()),
        }
    }

    /// Finishes `authorization` for `user_id`, however they signed in: a one-time code for the client, and the
    /// client's redirect location carrying it and the client's state (RFC 6749 section 4.1.2).
    pub async fn finish(&self, authorization: &AuthorizeRequest, user_id: &str) -> Result<String, GrantError> {
        let grant = CodeGrant {
            user_id: user_id.to_owned(),
            client_id: authorization.client_id.clone(),
            redirect_uri: authorization.redirect_uri.clone(),
            scope: authorization.scope.clone(),
            challenge: authorization.code_challenge.clone(),
        };
        let code = self.issue_code(&grant).await?;
        tracing::info!(client_id = authorization.client_id, user_id, "authorization code issued");
        Ok(redirect_with(
            &authorization.redirect_uri,
            &[("code", code.as_str()), ("state", authorization.state.as_str())],
        ))
    }

    /// The `authorization_code` grant: checks the code against the authenticated `client`, the redirect URI and the
    /// PKCE verifier, then marks it used and starts a token family in one transaction.
    pub async fn exchange_code(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<TokenSet, GrantError> {
        let key = keys::oauth_code(&token_hash(code));
        let item = self.store.get(&key).await?.ok_or(GrantError::InvalidGrant(CODE_INVALID))?;
        let field = |name: &str| item.str(name).unwrap_or_default().to_owned();
        let (user_id, code_client) = (field("userId"), field("clientId"));
        if code_client != client.client_id {
            return Err(GrantError::InvalidGrant("the authorization code was issued to another client"));
        }
        if let Some(family) = item.str("family") {
            self.revoke_family(&user_id, &code_client, family).await?;
            return Err(GrantError::InvalidGrant(CODE_REUSED));
        }
        if item.i64("expiresAt").unwrap_or(0) <= self.now {
            return Err(GrantError::InvalidGrant(CODE_INVALID));
        }
        if redirect_uri != Some(field("redirectUri").as_str()) {
            return Err(GrantError::InvalidGrant("redirect_uri does not match the authorization request"));
        }
        match (item.str("challenge"), verifier) {
            (Some(challenge), Some(verifier)) if pkce::verifies(verifier, challenge) => {}
            (Some(_), Some(_)) => return Err(GrantError::InvalidGrant("code_verifier does not match code_challenge")),
            (Some(_), None) => return Err(GrantError::InvalidGrant("code_verifier is required for this code")),
            (None, Some(_)) => {
                return Err(GrantError::InvalidGrant("code_verifier was sent but the authorization had no challenge"));
            }
            (None, None) => {}
        }
        let scope = field("scope");
        let family_id = to_hex(&rand::random::<[u8; 12]>());
        let (mut writes, tokens) = self.start_family(&user_id, client, &family_id, &scope);
        writes.push(Write::Update {
            key: key.clone(),
            update: Update::default().set("family", Value::str(&family_id)).set("usedAt", Value::int(self.now)),
            condition: Condition::AttrAbsent("family".into()),
        });
        match self.store.transact(writes).await {
            Ok(()) => Ok(tokens),
            Err(e) if e.is_condition_failed() => {
                let winner = self.store.get(&key).await?.and_then(|i| i.str("family").map(str::to_owned));
                match winner {
                    // Our own transaction was applied by an attempt whose answer was lost, and the SDK's retry
                    // then found the code used: this exchange succeeded.
                    Some(family) if family == family_id => Ok(tokens),
                    // Redeemed concurrently: whichever exchange won, this presentation is a reuse.
                    Some(family) => {
                        self.revoke_family(&user_id, &code_client, &family).await?;
                        Err(GrantError::InvalidGrant(CODE_REUSED))
                    }
                    None => Err(GrantError::InvalidGrant(CODE_REUSED)),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Starts a family directly (the CLI's `token mint`): no code, same tokens.
    pub async fn mint(&self, user_id: &str, client: &Client, scope: &str) -> Result<TokenSet, GrantError> {
        let family_id = to_hex(&rand::random::<[u8; 12]>());
        let (writes, tokens) = self.start_family(user_id, client, &family_id, scope);
        self.store.transact(writes).await?;
        Ok(tokens)
    }

    /// The writes that start family `family_id` (family, refresh token, link) and the tokens they stand for.
    fn start_family(&self, user_id: &str, client: &Client, family_id: &str, scope: &str) -> (Vec<Write>, TokenSet) {
        let refresh = client.allows_grant("refresh_token").then(|| random_token(32));
        let refresh_hash = refresh.as_deref().map(token_hash).unwrap_or_default();
        let family_expiry = self.now + self.lifetimes.refresh_s;
        let family = Item::new(keys::token_family(user_id, &client.client_id, family_id))
            .with("current", Value::str(&refresh_hash))
            .with("scope", Value::str(scope))
            .with("createdAt", Value::int(self.now))
            .expiring_at(family_expiry);
        let link = Item::new(keys::user_link(user_id, &client.client_id))
            .with("linked", Value::Bool(true))
            .with("linkedAt", Value::int(self.now));
        let mut writes = vec![
            Write::Put { item: family, condition: Condition::ItemAbsent },
            Write::Put { item: link, condition: Condition::Always },
        ];
        if refresh.is_some() {
            writes.push(Write::Put {
                item: self.refresh_item(&refresh_hash, user_id, &client.client_id, family_id, scope),
                condition: Condition::ItemAbsent,
            });
        }
        let tokens = self.tokens(user_id, client, family_id, scope, refresh);
        (writes, tokens)
    }

    fn refresh_item(&self, hash: &str, user_id: &str, client_id: &str, family_id: &str, scope: &str) -> Item {
        Item::new(keys::refresh_token(hash))
            .with("userId", Value::str(user_id))
            .with("clientId", Value::str(client_id))
            .with("family", Value::str(family_id))
            .with("scope", Value::str(scope))
            .with("issuedAt", Value::int(self.now))
            .expiring_at(self.now + self.lifetimes.refresh_s)
    }

    fn tokens(
        &self,
        user_id: &str,
        client: &Client,
        family_id: &str,
        scope: &str,
        refresh: Option<String>,
    ) -> TokenSet {
        let claims = AccessClaims {
            iss: self.settings.issuer.clone(),
            sub: user_id.to_owned(),
            aud: client.audience.clone(),
            exp: self.now + self.lifetimes.access_s,
            iat: self.now,
            jti: format!("{family_id}.{}", random_token(12)),
            scope: scope.to_owned(),
            client_id: client.client_id.clone(),
        };
        TokenSet {
            access_token: access_token::sign(self.settings, &claims),
            expires_in: self.lifetimes.access_s,
            refresh_token: refresh,
            scope: scope.to_owned(),
            claims,
        }
    }

    /// The `refresh_token` grant: rotates the family's refresh token (the old one stops working), optionally
    /// narrowing the access token's scope.
    pub async fn refresh(&self, client: &Client, token: &str, scope: Option<&str>) -> Result<TokenSet, GrantError> {
        let hash = token_hash(token);
        let item =
            self.store.get(&keys::refresh_token(&hash)).await?.ok_or(GrantError::InvalidGrant(REFRESH_INVALID))?;
        let field = |name: &str| item.str(name).unwrap_or_default().to_owned();
        let (user_id, family_id, granted) = (field("userId"), field("family"), field("scope"));
        if field("clientId") != client.client_id {
            return Err(GrantError::InvalidGrant("the refresh token was issued to another client"));
        }
        let family_key = keys::token_family(&user_id, &client.client_id, &family_id);
        let family = self.store.get(&family_key).await?.ok_or(GrantError::InvalidGrant(REFRESH_INVALID))?;
        if family.get("revoked").and_then(Value::as_bool) == Some(true) {
            return Err(GrantError::InvalidGrant("the refresh token has been revoked"));
        }
        let scope = match scope {
            Some(requested) if !requested.split(' ').all(|s| granted.split(' ').any(|g| g == s)) => {
                Err(GrantError::InvalidScope)
            }
            Some(requested) => Ok(requested.to_owned()),
            None => Ok(granted.clone()),
        };
        // Reuse is judged before the scope: a thief's request is a reuse whatever it asks for.
        if family.str("current") != Some(hash.as_str()) {
            return self.retried(client, &hash, &scope).await;
        }
        let scope = scope?;
        let next = random_token(32);
        let next_hash = token_hash(&next);
        let family =
            FamilyRef { key: &family_key, user_id: &user_id, client_id: &client.client_id, family_id: &family_id };
        let writes = self.rotation(&family, &hash, &next_hash, &granted, vec![]);
        match self.store.transact(writes).await {
            Ok(()) => Ok(self.tokens(&user_id, client, &family_id, &scope, Some(next))),
            Err(e) if e.is_condition_failed() => {
                // Our own rotation may have been applied by an attempt whose answer was lost (the SDK retried it
                // and found the token rotated): then only we know the new hash, and this refresh succeeded.
                let family = self.store.get(&family_key).await?;
                if family.as_ref().and_then(|f| f.str("current")) == Some(next_hash.as_str()) {
                    return Ok(self.tokens(&user_id, client, &family_id, &scope, Some(next)));
                }
                // Another request rotated this token first: a retry within the grace period, or two holders of
                // one refresh token (it leaked).
                self.retried(client, &hash, &Ok(scope)).await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A refresh token presented after its rotation (`hash`): within the grace period, from its client, while the
    /// token it was rotated to is still the family's current one (never used), the family rotates on from there and
    /// the client gets a fresh pair; otherwise it is a reuse, and the family is revoked.
    async fn retried(
        &self,
        client: &Client,
        hash: &str,
        scope: &Result<String, GrantError>,
    ) -> Result<TokenSet, GrantError> {
        // Concurrent retries of one refresh race for the same rotation: the loser reads again and follows.
        for _ in 0..3 {
            let item =
                self.store.get(&keys::refresh_token(hash)).await?.ok_or(GrantError::InvalidGrant(REFRESH_INVALID))?;
            let field = |name: &str| item.str(name).unwrap_or_default().to_owned();
            let (user_id, family_id, granted) = (field("userId"), field("family"), field("scope"));
            let family_key = keys::token_family(&user_id, &client.client_id, &family_id);
            let family = self.store.get(&family_key).await?;
            let current = family.as_ref().and_then(|f| f.str("current")).map(str::to_owned);
            let revoked = family.as_ref().is_some_and(|f| f.get("revoked").and_then(Value::as_bool) == Some(true));
            let in_grace = item.i64("usedAt").is_some_and(|used| self.now - used <= self.lifetimes.refresh_grace_s);
            let successor = item.str(SUCCESSOR).map(str::to_owned);
            let (Some(successor), Some(current)) = (successor, current) else { break };
            if self.lifetimes.refresh_grace_s == 0 || !in_grace || revoked || successor != current {
                break;
            }
            let scope = scope.as_deref().map_err(Clone::clone)?;
            let next = random_token(32);
            let next_hash = token_hash(&next);
            // The token the client never received (`successor`) is spent and points on like any rotated token; a
            // further retry of the presented token follows to the newest.
            let retried = Write::Update {
                key: keys::refresh_token(hash),
                update: Update::default().set(SUCCESSOR, Value::str(&next_hash)),
                condition: Condition::Eq(SUCCESSOR.into(), Value::str(&successor)),
            };
            let family =
                FamilyRef { key: &family_key, user_id: &user_id, client_id: &client.client_id, family_id: &family_id };
            let writes = self.rotation(&family, &successor, &next_hash, &granted, vec![retried]);
            match self.store.transact(writes).await {
                Ok(()) => {
                    tracing::info!(user_id, client_id = client.client_id, "refresh retried within the grace period");
                    return Ok(self.tokens(&user_id, client, &family_id, scope, Some(next)));
                }
                Err(e) if e.is_condition_failed() => {
                    let rotated = self.store.get(&family_key).await?;
                    if rotated.as_ref().and_then(|f| f.str("current")) == Some(next_hash.as_str()) {
                        return Ok(self.tokens(&user_id, client, &family_id, scope, Some(next)));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        let item =
            self.store.get(&keys::refresh_token(hash)).await?.ok_or(GrantError::InvalidGrant(REFRESH_INVALID))?;
        let (user_id, family_id) =
            (item.str("userId").unwrap_or_default().to_owned(), item.str("family").unwrap_or_default().to_owned());
        self.revoke_family(&user_id, &client.client_id, &family_id).await?;
        Err(GrantError::InvalidGrant(REFRESH_REUSED))
    }

    /// The writes that rotate `family` from its current refresh token `from` to `next`: the family's pointer (only
    /// from `from`, never once revoked), `from` spent and pointing on to `next` (only once), `next` stored with the
    /// family's full scope `granted` (RFC 6749 section 6); and `more`.
    fn rotation(&self, family: &FamilyRef<'_>, from: &str, next: &str, granted: &str, more: Vec<Write>) -> Vec<Write> {
        let mut writes = vec![
            Write::Update {
                key: family.key.clone(),
                update: Update::default()
                    .set("current", Value::str(next))
                    .set("rotatedAt", Value::int(self.now))
                    .expiring_at(Some(self.now + self.lifetimes.refresh_s)),
                condition: Condition::And(vec![
                    Condition::Eq("current".into(), Value::str(from)),
                    Condition::AttrAbsent("revoked".into()),
                ]),
            },
            Write::Update {
                key: keys::refresh_token(from),
                update: Update::default().set("usedAt", Value::int(self.now)).set(SUCCESSOR, Value::str(next)),
                condition: Condition::And(vec![Condition::ItemPresent, Condition::AttrAbsent("usedAt".into())]),
            },
            Write::Put {
                item: self.refresh_item(next, family.user_id, family.client_id, family.family_id, granted),
                condition: Condition::ItemAbsent,
            },
        ];
        writes.extend(more);
        writes
    }

    /// Marks a family revoked: its refresh token stops refreshing and its access tokens stop verifying.
    async fn revoke_family(&self, user_id: &str, client_id: &str, family_id: &str) -> Result<(), StoreError> {
        tracing::warn!(user_id, client_id, family_id, "token family revoked (reuse detected)");
        revoke(self.store, &keys::token_family(user_id, client_id, family_id), self.now).await.map(|_| ())
    }
}

/// Unlinks `user_id` from `client_id`: the link is marked unlinked and every family of the pair revoked.
/// Idempotent; answers how many families were revoked.
pub async fn unlink(store: &dyn Store, user_id: &str, client_id: &str, now: i64) -> Result<usize, StoreError> {
    let link = Update::default().set("linked", Value::Bool(false)).set("unlinkedAt", Value::int(now));
    store.update(&keys::user_link(user_id, client_id), link, Condition::Always).await?;
    let query =
        Query::partition(keys::user_partition(user_id)).range(SortRange::Prefix(keys::token_family_prefix(client_id)));
    let mut revoked = 0;
    for family in store.query(&query).await? {
        if family.get("revoked").is_none() && revoke(store, &family.key, now).await? {
            revoked += 1;
        }
    }
    Ok(revoked)
}

/// Whether `user_id` is currently linked with `client_id` (an exchange linked them and no unlink followed).
pub async fn is_linked(store: &dyn Store, user_id: &str, client_id: &str) -> Result<bool, StoreError> {
    let link = store.get(&keys::user_link(user_id, client_id)).await?;
    Ok(link.and_then(|l| l.get("linked").and_then(Value::as_bool)) == Some(true))
}

/// Marks the family at `key` revoked; false when it no longer exists (expired), which needs no revoking.
async fn revoke(store: &dyn Store, key: &crate::ports::store::Key, now: i64) -> Result<bool, StoreError> {
    let update = Update::default().set("revoked", Value::Bool(true)).set("revokedAt", Value::int(now));
    match store.update(key, update, Condition::ItemPresent).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_condition_failed() => Ok(false),
        Err(e) => Err(e),
    }
}
