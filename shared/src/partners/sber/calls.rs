//! The calls Sber's cloud makes to our webhook for a signed-in user (user, devices, query, command, unlink), answered
//! in Sber's shapes; the edge authenticates the user and renders [`CallError`] in Sber's error envelope.

use super::{SberHome, requests};
use crate::identity::oauth::grants;
use crate::ports::store::StoreError;
use serde_json::{Value, json};

/// One of Sber's calls, with its body where it has one.
pub enum SberCall<'a> {
    User,
    Devices,
    Query(&'a [u8]),
    Command(&'a [u8]),
    /// Sber unlinks the user from our OAuth client.
    Unlink,
}

/// Why a call got no answer of its own.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{0}")]
    Malformed(String),
    #[error("the device store is unavailable; try again")]
    Unavailable,
}

fn unavailable(error: StoreError) -> CallError {
    tracing::error!(%error, "store call failed");
    CallError::Unavailable
}

impl SberHome {
    /// Answers `call` for `user` at `now`.
    pub async fn answer(&self, call: SberCall<'_>, user: &str, now: i64) -> Result<Value, CallError> {
        match call {
            SberCall::User => {
                // Sber asks who the user is when it links them: from now on their changes are pushed to Sber.
                self.remember_link(user, now).await.map_err(unavailable)?;
                Ok(json!({"id": user}))
            }
            SberCall::Devices => {
                self.remember_link(user, now).await.map_err(unavailable)?;
                self.devices(user, now).await.map_err(unavailable)
            }
            SberCall::Query(body) => {
                let ids = requests::query(body).map_err(CallError::Malformed)?;
                self.query(user, &ids, now).await.map_err(unavailable)
            }
            SberCall::Command(body) => {
                let commands = requests::command(body).map_err(CallError::Malformed)?;
                self.command(user, &commands, now).await.map_err(unavailable)
            }
            SberCall::Unlink => {
                // Sber unlinks whatever we answer: revoke what we can, and answer 200 even if it was done before.
                let revoked =
                    grants::unlink(self.store.as_ref(), user, &self.client_id, now).await.map_err(unavailable)?;
                self.forget_link(user).await.map_err(unavailable)?;
                tracing::info!(user_id = user, revoked, "unlinked from Sber");
                Ok(json!({}))
            }
        }
    }
}
