//! Who acts for a meter's owner at smart-me: the owner's own grant when they signed in with smart-me (their OAuth
//! access token, [`super::grant`]), else the vendor's REST credentials (the `smartme` secret's API key).

use super::grant::{GrantError, Grants};
use super::oauth::SmartMeOAuthClient;
use super::secret::SmartMeSecret;
use crate::ports::secrets::Secrets;
use crate::ports::store::Store;
use std::sync::Arc;

/// Why no credentials act for a user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The user's smart-me grant is gone: nothing acts for them until they sign in with smart-me again.
    #[error("the user's smart-me access was revoked")]
    Revoked,
    #[error("smart-me credentials are unavailable: {0}")]
    Unavailable(String),
}

/// The credentials of one deployment.
pub struct SmartMeAccess {
    pub oauth: SmartMeOAuthClient,
    pub store: Arc<dyn Store>,
    pub secrets: Arc<dyn Secrets>,
}

impl SmartMeAccess {
    pub fn grants(&self) -> Grants<'_> {
        Grants { store: self.store.as_ref(), secrets: self.secrets.as_ref(), oauth: &self.oauth }
    }

    /// The `Authorization` value acting for `user_id` at `now`.
    pub async fn authorization(&self, user_id: &str, now: i64) -> Result<String, AccessError> {
        match self.grants().authorization(user_id, now).await {
            Ok(header) => Ok(header),
            Err(GrantError::Revoked) => Err(AccessError::Revoked),
            Err(GrantError::Unavailable(reason)) => Err(AccessError::Unavailable(reason)),
            Err(GrantError::None) => {
                let secret = SmartMeSecret::load(self.secrets.as_ref())
                    .await
                    .map_err(|e| AccessError::Unavailable(e.to_string()))?;
                secret
                    .rest_auth()
                    .map(|auth| auth.header())
                    .ok_or_else(|| AccessError::Unavailable("the smartme secret holds no REST API credentials".into()))
            }
        }
    }
}
