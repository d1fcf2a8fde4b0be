//! A user's smart-me grant: the OAuth tokens smart-me issued when they signed in with smart-me, kept sealed in
//! their partition (`USER#<id>` / `GRANT#smartme`) so we can act for them later: switch their meters, read their
//! meter list, subscribe their meters to the Realtime API.
//!
//! The tokens are sealed (AES-256-GCM, `crate::crypto::sealing`) under the stack's key secret `sealing`, with the
//! user id as associated data: the table alone (a backup, an export, a read-only role) yields no usable token.
//! The access token is used until a minute before it expires; then one refresher takes a short lease (a
//! conditional write), refreshes at smart-me, and seals the new pair; a concurrent caller waits for its result
//! instead of presenting the same refresh token twice (smart-me may treat that as reuse). When smart-me says the
//! grant is gone (`invalid_grant`), the grant is marked revoked; the caller cuts the user off
//! ([`crate::partners::offboarding::grant_revoked`]).

use super::oauth::{OAuthError, SmartMeOAuthClient, Tokens};
use crate::crypto::sealing::{SealingError, SealingKeys};
use crate::ports::secrets::Secrets;
use crate::ports::store::{Condition, Item, Store, StoreError, Update, Value, keys};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The provider name of smart-me grants.
pub const PROVIDER: &str = "smartme";

/// The secret holding the keys that seal grants.
pub const SEALING_SECRET: &str = "sealing";

/// An access token is refreshed this long before smart-me says it expires (seconds).
const EXPIRY_MARGIN_S: i64 = 60;

/// When smart-me does not say how long an access token lives (seconds): refreshed at the next use after that.
const ASSUMED_LIFETIME_S: i64 = 900;

/// How long a refresher holds the lease (seconds): longer than one refresh call can take.
const LEASE_S: i64 = 30;

/// Attribute names of the grant item.
mod attr {
    pub const SEALED: &str = "sealed";
    pub const ACCOUNT: &str = "account";
    pub const VERSION: &str = "version";
    pub const LEASE: &str = "refreshLeaseUntil";
    pub const REVOKED: &str = "revokedAt";
    pub const UPDATED: &str = "updatedAt";
    pub const DEVICES_SYNCED: &str = "devicesSyncedAt";
    pub const REALTIME: &str = "realtimeRegisteredAt";
}

/// What is sealed: both tokens and when the access token expires.
#[derive(Serialize, Deserialize)]
struct Sealed {
    access: String,
    refresh: Option<String>,
    access_expires_at: i64,
}

/// Why no access token for a user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// The user never signed in with smart-me.
    #[error("the user has no smart-me grant")]
    None,
    /// smart-me said the grant is gone (the person revoked our access, or the refresh token expired).
    #[error("the user's smart-me grant was revoked")]
    Revoked,
    /// smart-me, the store or the sealing key did not answer in time: try again.
    #[error("the user's smart-me grant cannot be used right now: {0}")]
    Unavailable(String),
}

impl From<StoreError> for GrantError {
    fn from(error: StoreError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

/// A stored grant's bookkeeping, without its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantState {
    /// smart-me's id of the account.
    pub account: String,
    pub revoked: bool,
    pub devices_synced_at: Option<i64>,
    pub realtime_registered_at: Option<i64>,
}

/// Users' smart-me grants over a store.
pub struct Grants<'a> {
    pub store: &'a dyn Store,
    pub secrets: &'a dyn Secrets,
    pub oauth: &'a SmartMeOAuthClient,
}

#[derive(Deserialize)]
struct KeySecret {
    #[serde(default)]
    keys: Vec<KeyEntry>,
    /// The shape the template generates: one random key.
    #[serde(default)]
    secret: Option<String>,
}

#[derive(Deserialize)]
struct KeyEntry {
    kid: String,
    secret: String,
}

/// The sealing keys from the `sealing` secret (`{"keys": [{"kid", "secret"}]}`, or `{"secret"}` as one key `primary`).
pub async fn sealing_keys(secrets: &dyn Secrets) -> Result<SealingKeys, GrantError> {
    let unusable = |reason: String| {
        tracing::error!(reason, "sealing secret unusable");
        GrantError::Unavailable("the sealing key is unavailable".into())
    };
    let shape: KeySecret = secrets.get_json(SEALING_SECRET).await.map_err(|e| unusable(e.to_string()))?;
    let pairs: Vec<(&str, &str)> = if shape.keys.is_empty() {
        shape.secret.as_deref().map(|s| vec![("primary", s)]).unwrap_or_default()
    } else {
        shape.keys.iter().map(|k| (k.kid.as_str(), k.secret.as_str())).collect()
    };
    SealingKeys::new(pairs).map_err(|e| unusable(e.to_string()))
}

fn owner(user_id: &str) -> String {
    format!("smartme-grant\0{user_id}")
}

fn expiry(now: i64, tokens: &Tokens) -> i64 {
    now + tokens.expires_in.filter(|s| *s > 0).unwrap_or(ASSUMED_LIFETIME_S)
}

impl Grants<'_> {
    /// Stores the tokens of a fresh sign-in of `user_id` (smart-me account `account`) at `now`, replacing any
    /// earlier grant (a revoked one too: signing in again grants again).
    pub async fn store_new(&self, user_id: &str, account: &str, tokens: &Tokens, now: i64) -> Result<(), GrantError> {
        let keys = sealing_keys(self.secrets).await?;
        let sealed = Sealed {
            access: tokens.access_token.clone(),
            refresh: tokens.refresh_token.clone(),
            access_expires_at: expiry(now, tokens),
        };
        let plaintext = serde_json::to_vec(&sealed).map_err(|e| GrantError::Unavailable(e.to_string()))?;
        let key = keys::user_grant(user_id, PROVIDER);
        let previous = self.store.get(&key).await?;
        let mut item = Item::new(key)
            .with(attr::SEALED, Value::str(keys.seal(&owner(user_id), &plaintext)))
            .with(attr::ACCOUNT, Value::str(account))
            .with(attr::VERSION, Value::int(previous.as_ref().and_then(|p| p.i64(attr::VERSION)).unwrap_or(0) + 1))
            .with(attr::UPDATED, Value::int(now));
        // The same account signing in again keeps its realtime subscription.
        if let Some(registered) =
            previous.as_ref().filter(|p| p.str(attr::ACCOUNT) == Some(account)).and_then(|p| p.i64(attr::REALTIME))
        {
            item = item.with(attr::REALTIME, Value::int(registered));
        }
        self.store.put(item, Condition::Always).await?;
        Ok(())
    }

    /// The grant's bookkeeping, if the user has one.
    pub async fn state(&self, user_id: &str) -> Result<Option<GrantState>, GrantError> {
        let item = self.store.get(&keys::user_grant(user_id, PROVIDER)).await?;
        Ok(item.map(|item| GrantState {
            account: item.str(attr::ACCOUNT).unwrap_or_default().to_owned(),
            revoked: item.get(attr::REVOKED).is_some(),
            devices_synced_at: item.i64(attr::DEVICES_SYNCED),
            realtime_registered_at: item.i64(attr::REALTIME),
        }))
    }

    /// Records that the user's meters were read from smart-me (`devices`) or subscribed (`realtime`) at `now`.
    pub async fn mark(&self, user_id: &str, what: Mark, now: i64) -> Result<(), GrantError> {
        let name = match what {
            Mark::DevicesSynced => attr::DEVICES_SYNCED,
            Mark::RealtimeRegistered => attr::REALTIME,
        };
        let update = Update::default().set(name, Value::int(now));
        match self.store.update(&keys::user_grant(user_id, PROVIDER), update, Condition::ItemPresent).await {
            Err(e) if !e.is_condition_failed() => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// The `Authorization` value that acts for `user_id` at smart-me now: their access token, refreshed when it is
    /// about to expire.
    pub async fn authorization(&self, user_id: &str, now: i64) -> Result<String, GrantError> {
        let key = keys::user_grant(user_id, PROVIDER);
        // A few rounds: a concurrent refresher's lease is waited out by reading its result.
        for round in 0..8u32 {
            let item = self.store.get(&key).await?.ok_or(GrantError::None)?;
            if item.get(attr::REVOKED).is_some() {
                return Err(GrantError::Revoked);
            }
            let keys = sealing_keys(self.secrets).await?;
            let sealed = open(&keys, user_id, &item)?;
            if sealed.access_expires_at - EXPIRY_MARGIN_S > now {
                return Ok(format!("Bearer {}", sealed.access));
            }
            let version = item.i64(attr::VERSION).unwrap_or(0);
            if item.i64(attr::LEASE).is_some_and(|until| until > now) {
                // Someone is refreshing: their new tokens will be there in a moment.
                tokio::time::sleep(Duration::from_millis(50 << round.min(5))).await;
                continue;
            }
            let lease = Update::default().set(attr::LEASE, Value::int(now + LEASE_S));
            match self.store.update(&key, lease, Condition::Eq(attr::VERSION.into(), Value::int(version))).await {
                Ok(_) => return self.refresh(user_id, &key, version, &keys, sealed, now).await,
                Err(e) if e.is_condition_failed() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(GrantError::Unavailable("the grant is being refreshed elsewhere; try again".into()))
    }

    /// Refreshes the grant at `key` (leased by us at `version`) and seals the new tokens.
    async fn refresh(
        &self,
        user_id: &str,
        key: &crate::ports::store::Key,
        version: i64,
        keys: &SealingKeys,
        sealed: Sealed,
        now: i64,
    ) -> Result<String, GrantError> {
        let Some(refresh_token) = sealed.refresh.as_deref() else {
            // No refresh token (smart-me issued none without `offline_access`): the grant ends with its access token.
            self.revoke(user_id, now).await?;
            return Err(GrantError::Revoked);
        };
        let tokens = match self.oauth.refresh(self.secrets, refresh_token).await {
            Ok(tokens) => tokens,
            Err(OAuthError::GrantGone(_)) => {
                self.revoke(user_id, now).await?;
                return Err(GrantError::Revoked);
            }
            Err(error) => {
                let release = Update::default().remove(attr::LEASE);
                let _ = self.store.update(key, release, Condition::Eq(attr::VERSION.into(), Value::int(version))).await;
                return Err(GrantError::Unavailable(error.to_string()));
            }
        };
        // smart-me may keep the refresh token (no new one in the answer) or rotate it.
        let next = Sealed {
            access: tokens.access_token.clone(),
            refresh: tokens.refresh_token.clone().or(sealed.refresh),
            access_expires_at: expiry(now, &tokens),
        };
        let plaintext = serde_json::to_vec(&next).map_err(|e| GrantError::Unavailable(e.to_string()))?;
        let update = Update::default()
            .set(attr::SEALED, Value::str(keys.seal(&owner(user_id), &plaintext)))
            .set(attr::VERSION, Value::int(version + 1))
            .set(attr::UPDATED, Value::int(now))
            .remove(attr::LEASE);
        self.store.update(key, update, Condition::Eq(attr::VERSION.into(), Value::int(version))).await?;
        Ok(format!("Bearer {}", next.access))
    }

    /// Marks the grant revoked at `now` (smart-me said it is gone); its tokens are dropped.
    pub async fn revoke(&self, user_id: &str, now: i64) -> Result<(), GrantError> {
        let update = Update::default().set(attr::REVOKED, Value::int(now)).remove(attr::SEALED).remove(attr::LEASE);
        match self.store.update(&keys::user_grant(user_id, PROVIDER), update, Condition::ItemPresent).await {
            Err(e) if !e.is_condition_failed() => Err(e.into()),
            _ => {
                tracing::warn!(user_id, "smart-me grant revoked");
                Ok(())
            }
        }
    }
}

/// What [`Grants::mark`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    DevicesSynced,
    RealtimeRegistered,
}

fn open(keys: &SealingKeys, user_id: &str, item: &Item) -> Result<Sealed, GrantError> {
    let text = item.str(attr::SEALED).ok_or(GrantError::Revoked)?;
    let plaintext = keys.open(&owner(user_id), text).map_err(|error| {
        tracing::error!(%error, user_id, "a sealed grant does not open");
        match error {
            SealingError::UnknownKey => GrantError::Unavailable("the grant's sealing key is not configured".into()),
            _ => GrantError::Unavailable("the grant cannot be opened".into()),
        }
    })?;
    serde_json::from_slice(&plaintext).map_err(|_| GrantError::Unavailable("the grant cannot be read".into()))
}
