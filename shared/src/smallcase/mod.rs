//! smallcase Gateway, the partner-backend side: smallcaseAuthTokens for the client SDK, and transactions created
//! through the Gateway API for our users.

pub mod auth_token;
pub mod gateway;
pub mod transaction;

use crate::secrets::{SecretError, Secrets};
use serde::Deserialize;

/// The secret's name.
pub const SECRET_NAME: &str = "smallcase";

/// The production Gateway API.
pub const DEFAULT_GATEWAY_URL: &str = "https://gatewayapi.smallcase.com";

/// The `smallcase` secret. `secret` signs smallcaseAuthTokens; `api_secret` authenticates backend calls and keys
/// postback checksums: two different values that must never be swapped, so both are named.
#[derive(Clone, Deserialize)]
pub struct SmallcaseSecret {
    pub gateway_name: String,
    pub secret: String,
    pub api_secret: String,
}

impl std::fmt::Debug for SmallcaseSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmallcaseSecret").field("gateway_name", &self.gateway_name).finish_non_exhaustive()
    }
}

impl SmallcaseSecret {
    pub async fn load(secrets: &dyn Secrets) -> Result<Self, SecretError> {
        let secret: Self = secrets.get(SECRET_NAME).await?.json(SECRET_NAME)?;
        let valid_name = !secret.gateway_name.is_empty()
            && secret.gateway_name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid_name || secret.secret.is_empty() || secret.api_secret.is_empty() {
            return Err(SecretError::Malformed {
                name: SECRET_NAME.into(),
                reason: "needs gateway_name ([A-Za-z0-9_-]), secret and api_secret".into(),
            });
        }
        Ok(secret)
    }
}

use crate::store::{Condition, Item, Store, StoreError, Update, Value, keys};

/// The smallcaseAuthId of `user_id`, once a postback has connected them; `None` for a guest.
pub async fn connected_auth_id(store: &dyn Store, user_id: &str) -> Result<Option<String>, StoreError> {
    Ok(store.get(&keys::user_smallcase(user_id)).await?.and_then(|i| i.str("smallcaseAuthId").map(str::to_owned)))
}

/// Records that `user_id` created `transaction_id`, so the postback that carries only the transaction id can
/// connect the user. A merge, not a replace: when the postback came first, its smallcaseAuthId is kept and the
/// user is connected here.
pub async fn record_transaction(
    store: &dyn Store,
    transaction_id: &str,
    user_id: &str,
    intent: &str,
    now: i64,
) -> Result<(), StoreError> {
    let update = Update::default()
        .set("userId", Value::str(user_id))
        .set("intent", Value::str(intent))
        .set("createdAt", Value::int(now));
    let item = store.update(&keys::smallcase_transaction(transaction_id), update, Condition::Always).await?;
    if let Some(auth_id) = item.str("smallcaseAuthId") {
        connect(store, user_id, auth_id, now).await?;
    }
    Ok(())
}

/// Stores `auth_id` as the smallcase account of `user_id`.
pub async fn connect(store: &dyn Store, user_id: &str, auth_id: &str, now: i64) -> Result<(), StoreError> {
    store.put(connection(user_id, auth_id, now), Condition::Always).await
}

/// The item recording that `user_id`'s smallcase account is `auth_id` (written alone or in a postback's transaction).
pub fn connection(user_id: &str, auth_id: &str, now: i64) -> Item {
    Item::new(keys::user_smallcase(user_id))
        .with("smallcaseAuthId", Value::str(auth_id))
        .with("connectedAt", Value::int(now))
}
