//! smart-me's realtime posts, the use case behind `POST /smartme/realtime`: authenticated with the `smartme`
//! secret's Basic credentials, decoded (a post whose framing is broken is refused whole; an invalid item is
//! skipped, logged and counted; a post with no valid item at all is refused, nothing of it being stored), then its
//! valid readings stored.

use super::payload::SkippedItem;
use super::secret::SmartMeSecret;
use super::storage::{StorageSettings, Stored, store_readings};
use super::{PayloadError, decode};
use crate::env::{ConfigError, Vars};
use crate::ports::Deps;
use crate::ports::secrets::SecretError;
use std::time::Duration;

/// Why a post was not stored; the edge answers each in our plain error format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RealtimeError {
    #[error("valid Basic credentials are required")]
    Unauthorized,
    #[error("credentials are temporarily unavailable")]
    CredentialsUnavailable,
    #[error("the receiver is not configured")]
    Unconfigured,
    #[error(transparent)]
    Invalid(#[from] PayloadError),
    /// Every item failed validation: nothing was stored, and the post is refused with the first item's reason.
    #[error("no valid item ({skipped} skipped): {first}")]
    NoValidItem { first: SkippedItem, skipped: usize },
    /// Some readings may be written (idempotently); smart-me delivers again after a non-2xx answer.
    #[error("readings could not be stored; deliver again")]
    NotStored,
}

pub struct Realtime {
    deps: Deps,
    storage: StorageSettings,
}

impl Realtime {
    /// With `SMARTME_RETENTION_DAYS` (400), `SMARTME_WRITE_BUDGET_MS` (3000) and `SMARTME_BATCH_EVENTS` (off).
    pub fn from_vars(deps: Deps, vars: &Vars) -> Result<Self, ConfigError> {
        let retention_days: u64 = vars.parse_or("SMARTME_RETENTION_DAYS", 400)?;
        let storage = StorageSettings {
            retention: Duration::from_secs(retention_days * 86_400),
            write_budget: Duration::from_millis(vars.parse_or("SMARTME_WRITE_BUDGET_MS", 3_000)?),
            batch_events: vars.switch_or("SMARTME_BATCH_EVENTS", false)?,
        };
        Ok(Self { deps, storage })
    }

    /// Receives one post carrying `authorization` (the request's header).
    pub async fn receive(&self, authorization: Option<&str>, body: &[u8]) -> Result<Stored, RealtimeError> {
        let secret = SmartMeSecret::load(self.deps.secrets.as_ref()).await.map_err(|error| {
            tracing::error!(%error, "smartme secret unusable");
            match error {
                SecretError::Unavailable { .. } => RealtimeError::CredentialsUnavailable,
                _ => RealtimeError::Unconfigured,
            }
        })?;
        if !secret.admits(authorization) {
            return Err(RealtimeError::Unauthorized);
        }
        let decoded = decode(body).inspect_err(|error| {
            tracing::warn!(%error, bytes = body.len(), "invalid realtime post");
        })?;
        report_skipped(&decoded.skipped);
        if decoded.readings.is_empty()
            && let Some(first) = decoded.skipped.first()
        {
            return Err(RealtimeError::NoValidItem { first: first.clone(), skipped: decoded.skipped.len() });
        }
        let mut stored =
            store_readings(self.deps.store.as_ref(), &decoded.readings, self.storage, self.deps.clock.now())
                .await
                .map_err(|error| {
                    tracing::error!(%error, "realtime post not fully stored");
                    RealtimeError::NotStored
                })?;
        stored.skipped = decoded.skipped.len();
        Ok(stored)
    }
}

/// The most skipped items one post logs one by one; the rest are counted in a summary line.
const SKIPPED_LOGGED: usize = 10;

/// One WARN line per skipped item (at most [`SKIPPED_LOGGED`]), naming its device and what was wrong.
fn report_skipped(skipped: &[SkippedItem]) {
    for item in skipped.iter().take(SKIPPED_LOGGED) {
        let device_id = item.device_id.map(|id| id.to_string()).unwrap_or_default();
        tracing::warn!(
            item = item.item,
            device_id,
            field = item.field,
            problem = item.problem,
            "realtime item skipped"
        );
    }
    if skipped.len() > SKIPPED_LOGGED {
        tracing::warn!(skipped = skipped.len(), logged = SKIPPED_LOGGED, "more realtime items skipped");
    }
}
