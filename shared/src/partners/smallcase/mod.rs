//! smallcase Gateway, the partner-backend side: smallcaseAuthTokens for the client SDK, and transactions created
//! through the Gateway API for our users.

pub mod auth_token;
pub mod client;
pub mod connection;
pub mod for_user;
pub mod postback;
pub mod transaction;

use crate::ports::secrets::{SecretError, Secrets};
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

pub use connection::{
    Connection, ReconcileError, RecordedTransaction, TransactionView, connect, connected_auth_id, disconnect,
    reconcile, record_transaction, recorded,
};
